package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

type dictOut struct {
	Entries []struct {
		ID       string   `json:"id"`
		Matter   *string  `json:"matter"`
		Warnings []string `json:"warnings"`
	} `json:"entries"`
}

func (r *rig) dictate(as, text string) dictOut {
	r.T().Helper()
	res := r.do("POST", "/api/v1/dictations", as, map[string]any{"text": text})
	if res.Status != 201 {
		r.T().Fatalf("dictation by %s: %d %s", as, res.Status, res.Body)
	}
	var out dictOut
	if err := json.Unmarshal(res.Body, &out); err != nil {
		r.T().Fatal(err)
	}
	return out
}

func matterOf(o dictOut, k int) string {
	if k >= len(o.Entries) || o.Entries[k].Matter == nil {
		return ""
	}
	return *o.Entries[k].Matter
}

func TestAliasesAPI(t *testing.T) {
	r := newRig(t)
	marina := r.matter("2026-050", "Seaview Holdings", "Seaview marina purchase")
	smith := r.matter("2026-002", "Daniel Smith", "Smith v. Jones")
	closed := r.matter("2025-001", "Old Client", "Old matter")
	if res := r.do("PATCH", "/api/v1/matters/"+closed, "bill", map[string]any{"status": "closed"}); res.Status != 200 {
		t.Fatalf("close: %d %s", res.Status, res.Body)
	}

	res := r.do("POST", "/api/v1/aliases", "alice", map[string]any{"phrase": "The Marina  Deal", "matter": marina, "scope": "user"})
	if res.Status != 201 {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	if m := res.json(t); m["phrase"] != "marina deal" || m["scope"] != "user" || m["matter"] != marina || m["source"] != "manual" {
		t.Fatalf("alias: %s", res.Body)
	}
	for _, tc := range []struct {
		as, body string
		status   int
		msg      string
	}{
		{"alice", `{"phrase":"bayside","matter":"` + marina + `","scope":"firm"}`, 403, "only an administrator"},
		{"bill", `{"phrase":"bayside","matter":"` + marina + `","scope":"firm"}`, 403, "only an administrator"},
		{"alice", `{"phrase":"old thing","matter":"` + closed + `"}`, 422, "is closed"},
		{"alice", `{"phrase":"old thing","matter":"nope"}`, 422, "does not exist"},
		{"alice", `{"phrase":"the","matter":"` + marina + `"}`, 422, "no words"},
		{"alice", `{"phrase":"the file","matter":"` + marina + `"}`, 422, "only common words"},
		{"alice", `{"phrase":"marina","matter":""}`, 422, "matter"},
		{"alice", `{"phrase":"marina","matter":"` + marina + `","scope":"everyone"}`, 422, "want \\\"user\\\" or \\\"firm\\\""},
	} {
		res := r.do("POST", "/api/v1/aliases", tc.as, tc.body)
		if res.Status != tc.status || !strings.Contains(string(res.Body), tc.msg) {
			t.Errorf("%s %s: %d %s; want %d %q", tc.as, tc.body, res.Status, res.Body, tc.status, tc.msg)
		}
	}
	if res := r.do("POST", "/api/v1/aliases", "ada", map[string]any{"phrase": "lighthouse project", "matter": smith, "scope": "firm"}); res.Status != 201 {
		t.Fatalf("firm alias by admin: %d %s", res.Status, res.Body)
	}
	list := func(as string) []string {
		var out struct {
			Aliases []struct{ Phrase, Scope string }
		}
		_ = json.Unmarshal(r.do("GET", "/api/v1/aliases", as, nil).Body, &out)
		var got []string
		for _, a := range out.Aliases {
			got = append(got, a.Scope+":"+a.Phrase)
		}
		return got
	}
	if got := strings.Join(list("alice"), ","); got != "user:marina deal,firm:lighthouse project" {
		t.Errorf("alice's aliases: %s", got)
	}
	if got := strings.Join(list("bob"), ","); got != "firm:lighthouse project" {
		t.Errorf("bob's aliases: %s (alice's must not show)", got)
	}

	// drafting: the alias names the matter for alice, not for bob; an explicit matter wins
	text := "Twenty minutes on the marina deal calling the broker."
	o := r.dictate("alice", text)
	if matterOf(o, 0) != marina || !strings.Contains(strings.Join(o.Entries[0].Warnings, "|"), "matter from your alias 'marina deal'") {
		t.Errorf("alice's draft: %+v", o.Entries)
	}
	if o := r.dictate("bob", text); matterOf(o, 0) != "" {
		t.Errorf("alice's alias changed bob's draft: %+v", o.Entries)
	}
	if o := r.dictate("alice", "Smith v. Jones, twenty minutes on the marina deal issue."); matterOf(o, 0) != smith {
		t.Errorf("explicit matter lost to the alias: %+v", o.Entries)
	}
	if o := r.dictate("bob", "An hour on the lighthouse project drafting bylaws."); matterOf(o, 0) != smith {
		t.Errorf("firm alias not used for bob: %+v", o.Entries)
	}

	// delete by phrase; audited
	if res := r.do("DELETE", "/api/v1/aliases?phrase=marina+deal&scope=user", "bob", nil); res.Status != 404 {
		t.Errorf("bob deletes alice's alias phrase: %d", res.Status)
	}
	if res := r.do("DELETE", "/api/v1/aliases?phrase=marina+deal&scope=user", "alice", nil); res.Status != 204 {
		t.Fatalf("delete: %d %s", res.Status, res.Body)
	}
	if res := r.do("DELETE", "/api/v1/aliases?phrase=lighthouse+project&scope=firm", "alice", nil); res.Status != 403 {
		t.Errorf("a timekeeper deletes a firm alias: %d", res.Status)
	}
	if o := r.dictate("alice", text); matterOf(o, 0) != "" {
		t.Errorf("deleted alias still used: %+v", o.Entries)
	}
	rows := r.auditActions(t, "alias")
	if rows != "alias.create,alias.create,alias.delete" {
		t.Errorf("audit: %s", rows)
	}
}

// auditActions lists the audit actions on objects of a type, oldest first.
func (r *rig) auditActions(t *testing.T, objType string) string {
	t.Helper()
	var out []string
	rows, err := r.st.DB().QueryContext(context.Background(), "SELECT action FROM audit_events WHERE object_type = ? ORDER BY id", objType)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		_ = rows.Scan(&a)
		out = append(out, a)
	}
	return strings.Join(out, ",")
}

// The learning loop: alice corrects the matter of a draft; her next dictation uses the
// phrase; bob's does not; a matter said explicitly still wins; a closed matter is never used.
func TestAliasLearnedFromACorrection(t *testing.T) {
	r := newRig(t)
	bayside := r.matter("2026-060", "Bayside Partners", "Bayside Partners credit facility")
	smith := r.matter("2026-002", "Daniel Smith", "Smith v. Jones")
	o := r.dictate("alice", "Half an hour on the harbor refinancing reviewing the loan documents.")
	if matterOf(o, 0) != "" {
		t.Fatalf("first draft guessed a matter: %+v", o.Entries)
	}
	res := r.do("PATCH", "/api/v1/entries/"+o.Entries[0].ID, "alice", map[string]any{"matter": bayside})
	if res.Status != 200 {
		t.Fatalf("correct: %d %s", res.Status, res.Body)
	}
	la, _ := res.json(t)["learned_alias"].(map[string]any)
	if la == nil || la["phrase"] != "harbor refinancing" || la["matter"] != bayside || la["source"] != "learned" || la["scope"] != "user" {
		t.Fatalf("learned: %s", res.Body)
	}
	o = r.dictate("alice", "Point two on the harbor refinancing emailing the lender.")
	if matterOf(o, 0) != bayside || !strings.Contains(strings.Join(o.Entries[0].Warnings, "|"), "matter from your alias 'harbor refinancing'") {
		t.Errorf("next draft: %+v", o.Entries)
	}
	if o := r.dictate("bob", "Point two on the harbor refinancing emailing the lender."); matterOf(o, 0) != "" {
		t.Errorf("leaked to bob: %+v", o.Entries)
	}
	if o := r.dictate("alice", "Smith v. Jones, point two on the harbor refinancing question."); matterOf(o, 0) != smith {
		t.Errorf("explicit matter: %+v", o.Entries)
	}
	// a manual entry or someone else's edit teaches nothing
	o = r.dictate("alice", "Point three on the lakeview acquisition drafting the APA.")
	if res := r.do("PATCH", "/api/v1/entries/"+o.Entries[0].ID, "bill", map[string]any{"matter": bayside}); res.Status == 200 && strings.Contains(string(res.Body), "learned_alias") {
		t.Errorf("billing's edit taught alice an alias: %s", res.Body)
	}
	// closing the matter stops the alias
	if res := r.do("PATCH", "/api/v1/matters/"+bayside, "bill", map[string]any{"status": "closed"}); res.Status != 200 {
		t.Fatalf("close: %d %s", res.Status, res.Body)
	}
	if o := r.dictate("alice", "Point two on the harbor refinancing emailing the lender."); matterOf(o, 0) != "" {
		t.Errorf("alias of a closed matter used: %+v", o.Entries)
	}
	if got := r.auditActions(t, "alias"); got != "alias.learn" {
		t.Errorf("audit: %s", got)
	}
}

// An activity correction teaches the words of the work ("went over" -> A104) to the
// lawyer's next drafts only; activity aliases can also be set by hand.
func TestActivityAliasLearned(t *testing.T) {
	r := newRig(t)
	r.matter("2026-002", "Daniel Smith", "Smith v. Jones")
	res := r.do("POST", "/api/v1/dictations", "alice", map[string]any{"text": "Point four on Smith v. Jones, went over the lease."})
	var o struct {
		Entries []struct {
			ID       string   `json:"id"`
			Activity *string  `json:"activity"`
			Warnings []string `json:"warnings"`
		}
	}
	if err := json.Unmarshal(res.Body, &o); err != nil || len(o.Entries) != 1 {
		t.Fatalf("%v %s", err, res.Body)
	}
	if o.Entries[0].Activity != nil && *o.Entries[0].Activity == "A104" {
		t.Fatalf("the engine already says A104; the test needs a correction: %s", res.Body)
	}
	res = r.do("PATCH", "/api/v1/entries/"+o.Entries[0].ID, "alice", map[string]any{"activity": "A104"})
	la, _ := res.json(t)["learned_alias"].(map[string]any)
	if res.Status != 200 || la == nil || la["phrase"] != "went over" || la["kind"] != "activity" || la["activity"] != "A104" {
		t.Fatalf("learned: %d %s", res.Status, res.Body)
	}
	next := func(as string) (string, string) {
		res := r.do("POST", "/api/v1/dictations", as, map[string]any{"text": "Point two on Smith v. Jones, went over the deposition outline."})
		var o struct {
			Entries []struct {
				Activity *string  `json:"activity"`
				Warnings []string `json:"warnings"`
			}
		}
		_ = json.Unmarshal(res.Body, &o)
		a := ""
		if o.Entries[0].Activity != nil {
			a = *o.Entries[0].Activity
		}
		return a, strings.Join(o.Entries[0].Warnings, "|")
	}
	if a, w := next("alice"); a != "A104" || !strings.Contains(w, "activity from your alias 'went over'") {
		t.Errorf("alice's next draft: %s %s", a, w)
	}
	if _, w := next("bob"); strings.Contains(w, "alias") {
		t.Errorf("alice's activity alias reached bob: %s", w)
	}
	for _, tc := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{"phrase":"looked into","activity":"a102"}`, 201, `"activity":"A102"`},
		{`{"phrase":"looked into","activity":"A999"}`, 422, "not a UTBMS activity"},
		{`{"phrase":"looked into","activity":"A102","matter":"x"}`, 422, "not both"},
	} {
		if res := r.do("POST", "/api/v1/aliases", "alice", tc.body); res.Status != tc.status || !strings.Contains(string(res.Body), tc.msg) {
			t.Errorf("%s: %d %s", tc.body, res.Status, res.Body)
		}
	}
	if res := r.do("DELETE", "/api/v1/aliases?phrase=went+over&kind=activity", "alice", nil); res.Status != 204 {
		t.Errorf("delete activity alias: %d %s", res.Status, res.Body)
	}
	if page := r.do("GET", "/account", "alice", nil); page.Status != 200 || !strings.Contains(string(page.Body), "Activity A102") {
		t.Errorf("account page: %d", page.Status)
	}
}
