package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dictum draft --multi prints {"id","entries"} per input; without it the output is one draft.
func TestDraftMultiCLI(t *testing.T) {
	mf := filepath.Join(t.TempDir(), "matters.json")
	os.WriteFile(mf, []byte(`[{"id":"M-1","number":"2026-0001","client":"Harold Whitfield","name":"Estate of Harold Whitfield"},
		{"id":"M-2","number":"2026-0002","client":"Brightline Software Corp.","name":"Brightline - Series A financing"}]`), 0o600)
	text := "Yesterday: Whitfield estate, point four, reviewing the appraisal. Then an hour on Brightline, drafting the stock purchase agreement."
	r := dictum(t, "", nil, "draft", "--multi", "--matters", mf, "--today", "2026-11-20", text)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var out struct {
		ID      any `json:"id"`
		Entries []struct {
			Matter *string `json:"matter"`
			Date   string  `json:"date"`
			Hours  float64 `json:"hours"`
			Span   string  `json:"span"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if out.ID != nil || len(out.Entries) != 2 || *out.Entries[0].Matter != "M-1" || *out.Entries[1].Matter != "M-2" ||
		out.Entries[1].Date != "2026-11-19" || out.Entries[1].Hours != 1 || !strings.HasPrefix(out.Entries[1].Span, "Then an hour") {
		t.Fatalf("output: %s", r.stdout)
	}
	r = dictum(t, `{"id":1,"text":"`+text+`"}`+"\n", nil, "draft", "--multi", "--batch", "--matters", mf, "--today", "2026-11-20")
	if r.code != 0 || !strings.HasPrefix(r.stdout, `{"id":1,"entries":[{"matter":"M-1"`) || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("batch: %d %s %s", r.code, r.stdout, r.stderr)
	}
	r = dictum(t, "", nil, "draft", "--matters", mf, "--today", "2026-11-20", text)
	if r.code != 0 || strings.Contains(r.stdout, `"entries"`) || !strings.HasPrefix(r.stdout, `{"matter":`) {
		t.Fatalf("without --multi: %d %s", r.code, r.stdout)
	}
}
