package draft

import "testing"

// Ollama's grammar gets bounded free text; the shared schema (Azure strict) stays as is.
func TestBoundedSchema(t *testing.T) {
	base := answerSchema(Request{Matters: []Matter{{ID: "M-1"}}})
	b := boundedSchema(base)
	props := b["properties"].(map[string]any)
	if props["narrative"].(map[string]any)["maxLength"] != 400 || props["date"].(map[string]any)["maxLength"] != 10 {
		t.Fatalf("bounded: %v", props)
	}
	for _, f := range []string{"narrative", "date"} {
		if _, ok := base["properties"].(map[string]any)[f].(map[string]any)["maxLength"]; ok {
			t.Errorf("the shared schema's %s was changed", f)
		}
	}
	if b["required"] == nil || b["additionalProperties"] != false {
		t.Errorf("bounded schema lost its shape: %v", b)
	}
}
