//go:build ollama

package draft

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestOllamaIntegration drafts through a REAL Ollama server (scripts/test-ollama.sh:
// `make test-ollama` builds it from its Go module and loads a random-weight GGUF). The
// model's words are gibberish; what is tested is the path: the engine's request, the
// server's schema-constrained sampling, parsing the answer, grounding and validation,
// for one entry and for a whole day split into entries.
func TestOllamaIntegration(t *testing.T) {
	host, model := os.Getenv("DICTUM_TEST_OLLAMA_HOST"), os.Getenv("DICTUM_TEST_OLLAMA_MODEL")
	if host == "" || model == "" {
		t.Skip("run through make test-ollama (DICTUM_TEST_OLLAMA_HOST, DICTUM_TEST_OLLAMA_MODEL)")
	}
	cfg := Config{Engine: EngineOllama, Ollama: OllamaConfig{Host: host, Model: model, Timeout: 10 * time.Minute, Retries: -1, NumPredict: 2000}}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ms := dayMatters(t)
	ctx := context.Background()
	check := func(name string, dr Draft) {
		t.Helper()
		if dr.Engine != EngineOllama {
			t.Errorf("%s: drafted by %q, not by the model (warnings %v)", name, dr.Engine, dr.Warnings)
		}
		for _, w := range dr.Warnings {
			if strings.Contains(w, "unavailable") {
				t.Errorf("%s: fell back: %s", name, w)
			}
		}
		if dr.Matter != nil {
			found := false
			for _, m := range ms {
				found = found || m.ID == *dr.Matter
			}
			if !found {
				t.Errorf("%s: matter %q is not an open matter", name, *dr.Matter)
			}
		}
		if _, err := time.Parse(time.DateOnly, dr.Date); err != nil || dr.Hours < 0 || dr.Hours > 24 || dr.Confidence < 0 || dr.Confidence > 1 {
			t.Errorf("%s: not a valid draft: %+v", name, dr)
		}
		t.Logf("%s: matter=%v date=%s hours=%v activity=%s narrative=%.60q", name, dr.Matter, dr.Date, dr.Hours, dr.Activity, dr.Narrative)
	}
	one, err := d.Draft(ctx, Request{Text: "Point three on Smith v. Jones, drafting the motion to compel.", Today: dayToday, Matters: ms})
	if err != nil {
		t.Fatal(err)
	}
	check("single", one)
	parts, err := DraftMulti(ctx, d, Request{Text: "Whitfield estate, point four, reviewing the appraisal. Then an hour on Brightline, drafting the stock purchase agreement. And ten minutes on a call with Keisha Thompson.",
		Today: dayToday, Matters: ms}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 {
		t.Fatalf("day dictation gave %d entries, want 3", len(parts))
	}
	for i, p := range parts {
		check("day entry "+string(rune('1'+i)), p.Draft)
	}
}
