package draft

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeMatters(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "matters.json")
	b, err := json.Marshal(testMatters(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := RunCLI(args, strings.NewReader(stdin), &out, &errb, Config{})
	return code, out.String(), errb.String()
}

func TestCLISingle(t *testing.T) {
	m := writeMatters(t)
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"args", "", []string{"--matters", m, "--today", "2026-11-20", "point", "three", "on", "Smith", "v.", "Jones,", "drafting", "the", "motion"}},
		{"flags after text", "", []string{"point three on Smith v. Jones, drafting the motion", "--matters", m, "--today=2026-11-20"}},
		{"stdin", "point three on Smith v. Jones, drafting the motion\n", []string{"--matters", m, "--today", "2026-11-20", "--engine", "rules"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.stdin, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal([]byte(out), &raw); err != nil {
				t.Fatalf("output %q: %v", out, err)
			}
			for _, k := range []string{"matter", "date", "hours", "activity", "task", "narrative", "billable", "confidence", "warnings"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("output lacks %q", k)
				}
			}
			if len(raw) != 9 {
				t.Errorf("output has %d fields: %s", len(raw), out)
			}
			if string(raw["matter"]) != `"M-1004"` || string(raw["hours"]) != "0.3" || string(raw["date"]) != `"2026-11-20"` ||
				string(raw["task"]) != `"L250"` || string(raw["warnings"]) != "[]" {
				t.Errorf("output = %s", out)
			}
			if strings.Count(out, "\n") != 1 {
				t.Errorf("want one line, got %q", out)
			}
		})
	}
}

func TestCLIErrors(t *testing.T) {
	m := writeMatters(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"id": 1}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no matters", []string{"text"}, 2, "--matters"},
		{"bad today", []string{"--matters", m, "--today", "20.11.2026", "x"}, 2, "--today"},
		{"missing file", []string{"--matters", filepath.Join(t.TempDir(), "none.json"), "x"}, 1, "load matters"},
		{"bad file", []string{"--matters", bad, "x"}, 1, "load matters"},
		{"bad engine", []string{"--matters", m, "--engine", "gpt", "x"}, 2, "unknown engine"},
		{"ollama unconfigured", []string{"--matters", m, "--engine", "ollama", "x"}, 2, "ollama host is empty"},
		{"batch and text", []string{"--matters", m, "--batch", "x"}, 2, "exclude"},
		{"unknown flag", []string{"--matters", m, "--nope"}, 2, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, "", tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.msg) || out != "" {
				t.Fatalf("exit %d stdout %q stderr %q", code, out, errs)
			}
		})
	}
}

func TestCLIBatch(t *testing.T) {
	m := writeMatters(t)
	in := strings.Join([]string{
		`{"id":"a","text":"Whitfeld, reviewed will, point 4"}`,
		`not json`,
		``,
		`{"id":7,"text":"Friday, Harbour Point, organized documents, 2 hours thirty"}`,
		`{"id":"q"}`,
		`{"id":{"x":1},"text":"a"}`,
		`{"text":"Drafted a demand letter, one hour."}`,
		`{"id":"long","text":"` + strings.Repeat("a", maxBatchLine) + `"}`,
		`{"id":"last","text":"Smith v Jones point one"}`, // no final newline
	}, "\n")
	code, out, errs := runCLI(t, in, "--matters", m, "--today", "2026-11-20", "--batch")
	if code != 1 || !strings.Contains(errs, "4 input line(s)") {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []struct{ id, matter, err string }{
		{`"a"`, `"M-1001"`, ""},
		{`null`, ``, "line 2 is not a JSON object"},
		{`7`, `"M-1012"`, ""},
		{`"q"`, ``, `no "text"`},
		{`null`, ``, "id must be"},
		{`null`, `null`, ""},
		{`null`, ``, "longer than"},
		{`"last"`, `"M-1004"`, ""},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d output lines for %d inputs:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(lines[i]), &raw); err != nil {
			t.Fatalf("line %d %q: %v", i, lines[i], err)
		}
		if string(raw["id"]) != w.id {
			t.Errorf("line %d id = %s, want %s", i, raw["id"], w.id)
		}
		if w.err != "" {
			var msg string
			_ = json.Unmarshal(raw["error"], &msg)
			if !strings.Contains(msg, w.err) {
				t.Errorf("line %d error = %s, want %q", i, raw["error"], w.err)
			}
			continue
		}
		if string(raw["matter"]) != w.matter || raw["error"] != nil {
			t.Errorf("line %d = %s", i, lines[i])
		}
		if !strings.HasPrefix(lines[i], `{"id":`) {
			t.Errorf("line %d does not start with the id: %s", i, lines[i])
		}
	}
}
