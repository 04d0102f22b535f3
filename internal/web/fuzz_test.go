package web

import (
	"strings"
	"testing"
)

// FuzzAPIBodies sends arbitrary bodies to the JSON endpoints: the answer is never a 5xx,
// always the error shape for 4xx, and the store stays usable.
func FuzzAPIBodies(f *testing.F) {
	for _, s := range []string{`{"narrative":"x","hours":0.3}`, `{"matter":null,"task":null}`, `{"hours":1e308}`, `{"date":"2026-02-30"}`,
		`{"ids":["a","b"]}`, `{"number":"1","client":"c","name":"n"}`, `[]`, `null`, `{"hours":"0.3"}`, "{\"narrative\":\"\\u0000\"}", `{"format":"ledes"}`} {
		f.Add(s)
	}
	r := newRig(f, func(c *configT) { c.Limits.RequestsPerMin = 1 << 30 })
	entryID := r.entry("alice", map[string]any{"narrative": "seed"})["id"].(string)
	f.Fuzz(func(t *testing.T, body string) {
		r.t = t
		for _, rt := range []struct{ method, path, as string }{
			{"POST", "/api/v1/entries", "alice"},
			{"PATCH", "/api/v1/entries/" + entryID, "alice"},
			{"POST", "/api/v1/entries/approve", "alice"},
			{"POST", "/api/v1/matters", "ada"},
			{"PATCH", "/api/v1/users/bob", "ada"},
			{"POST", "/api/v1/exports", "bill"},
			{"POST", "/api/v1/session", ""},
		} {
			res := r.do(rt.method, rt.path, rt.as, body, "Content-Type", "application/json")
			if res.Status >= 500 {
				t.Fatalf("%s %s with %q: %d %s", rt.method, rt.path, body, res.Status, res.Body)
			}
			if res.Status >= 400 && res.Status != 429 && !strings.Contains(string(res.Body), `"error"`) {
				t.Fatalf("%s %s: %d without the error shape: %s", rt.method, rt.path, res.Status, res.Body)
			}
		}
		if res := r.do("GET", "/api/v1/entries/"+entryID, "alice", nil); res.Status != 200 {
			t.Fatalf("store unusable after %q: %d", body, res.Status)
		}
	})
}

// FuzzMatterCSV feeds arbitrary CSV to the matter import parser: it never panics, and every
// row it accepts has the fields a matter needs.
func FuzzMatterCSV(f *testing.F) {
	for _, s := range []string{"number,client,name\n2026-1,Acme,Acme - MSA\n", "number,client,name,status,litigation\n1,\"A, Inc.\",\"X v. Y\",open,true\n",
		"\xef\xbb\xbfnumber;client;name\n", "number,client\n1,2\n", "\"unterminated\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := parseMatterCSV(data, map[string]bool{})
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Err == "" && (strings.TrimSpace(r.Number) == "" || strings.TrimSpace(r.Client) == "" || strings.TrimSpace(r.Name) == "") {
				t.Fatalf("accepted an incomplete row: %+v", r)
			}
		}
	})
}
