package draft

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeModel is a scripted model server. Each request takes the next step;
// the last step repeats.
type fakeModel struct {
	errBody string // body of error answers
	mu      sync.Mutex
	steps   []step
	bodies  []map[string]any
	hdrs    []http.Header
	urls    []string
}

type step struct {
	status     int
	retryAfter string
	content    string // model answer text (wrapped in the wire format)
	raw        string // raw body instead of a wrapped answer
	hang       bool   // never answer (until the client gives up)
}

func (f *fakeModel) next(r *http.Request) step {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	f.bodies = append(f.bodies, m)
	f.hdrs = append(f.hdrs, r.Header.Clone())
	f.urls = append(f.urls, r.URL.String())
	i := len(f.bodies) - 1
	if i >= len(f.steps) {
		i = len(f.steps) - 1
	}
	return f.steps[i]
}

func (f *fakeModel) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.bodies)
}

func (f *fakeModel) serve(w http.ResponseWriter, r *http.Request, wrap func(string) string) {
	s := f.next(r)
	if s.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	if s.retryAfter != "" {
		w.Header().Set("Retry-After", s.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	status := s.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	switch {
	case s.raw != "":
		io.WriteString(w, s.raw)
	case status >= 400 && f.errBody != "":
		io.WriteString(w, f.errBody)
	case status >= 400:
		io.WriteString(w, `{"error":"overloaded"}`)
	default:
		io.WriteString(w, wrap(s.content))
	}
}

func ollamaWire(content string) string {
	b, _ := json.Marshal(map[string]any{
		"model": "tiny", "created_at": time.Now().UTC().Format(time.RFC3339Nano),
		"message": map[string]any{"role": "assistant", "content": content},
		"done":    true, "done_reason": "stop",
	})
	return string(b)
}

func azureWire(content string) string {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "dep",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content, "refusal": nil}}},
	})
	return string(b)
}

const goodAnswer = `{"matter":"M-1004","date":"2026-11-19","hours":0.25,"activity":"A103","task":"L350",` +
	`"narrative":"Drafted motion to compel discovery responses.","billable":true}`

const transcript = "Yesterday, Smith v Jones, drafting the motion to compel, quarter hour."

type sleepRecorder struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

type engineCase struct {
	name      string
	steps     []step
	check     func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder)
	text      string
	timeout   time.Duration
	wantCalls int
}

func engineCases() []engineCase {
	warnHas := func(t *testing.T, d Draft, sub string) {
		t.Helper()
		if !strings.Contains(strings.Join(d.Warnings, "|"), sub) {
			t.Fatalf("warnings %q lack %q", d.Warnings, sub)
		}
	}
	return []engineCase{
		{name: "success", steps: []step{{content: goodAnswer}}, wantCalls: 1,
			check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
				if deref(d.Matter) != "M-1004" || d.Date != "2026-11-19" || d.Hours != 0.3 || d.Activity != "A103" ||
					deref(d.Task) != "L350" || d.Narrative != "Drafted motion to compel discovery responses." || !d.Billable {
					t.Fatalf("draft = %+v", d)
				}
				if len(d.Warnings) != 0 || d.Confidence < 0.9 {
					t.Fatalf("warnings %v confidence %v", d.Warnings, d.Confidence)
				}
			}},
		{name: "429 then success", steps: []step{{status: 429, retryAfter: "2"}, {content: goodAnswer}}, wantCalls: 2,
			check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
				if deref(d.Matter) != "M-1004" || len(d.Warnings) != 0 {
					t.Fatalf("draft = %+v", d)
				}
				if len(sl.delays) != 1 || sl.delays[0] != 2*time.Second {
					t.Fatalf("waited %v, want the server's Retry-After 2s", sl.delays)
				}
			}},
		{name: "429 asking too long", steps: []step{{status: 429, retryAfter: "3600"}}, wantCalls: 1,
			check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
				warnHas(t, d, "unavailable (rate limited, HTTP 429")
				warnHas(t, d, "drafted by rules")
				if len(sl.delays) != 0 {
					t.Fatalf("waited %v", sl.delays)
				}
			}},
		{name: "500", steps: []step{{status: 500}}, wantCalls: 3,
			check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
				warnHas(t, d, "unavailable (HTTP 500 after 3 attempts); drafted by rules")
				if len(sl.delays) != 2 || sl.delays[0] <= 0 || sl.delays[1] <= sl.delays[0]/2 {
					t.Fatalf("backoff %v", sl.delays)
				}
				// the rules draft is complete
				if deref(d.Matter) != "M-1004" || d.Hours != 0.3 || d.Date != "2026-11-19" || d.Engine != EngineRules {
					t.Fatalf("fallback draft = %+v", d)
				}
			}},
		{name: "timeout", steps: []step{{hang: true}}, timeout: 150 * time.Millisecond, wantCalls: 1,
			check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
				warnHas(t, d, "unavailable (timeout after 150ms); drafted by rules")
				if d.Engine != EngineRules || deref(d.Matter) != "M-1004" {
					t.Fatalf("draft = %+v", d)
				}
			}},
		{name: "malformed JSON", steps: []step{{content: `{"matter": "M-1004", "hours": `}}, wantCalls: 1,
			check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
				warnHas(t, d, "unavailable (malformed answer); drafted by rules")
				if d.Engine != EngineRules {
					t.Fatalf("engine %s", d.Engine)
				}
			}},
		{name: "matter not in list", wantCalls: 1,
			steps: []step{{content: strings.Replace(goodAnswer, "M-1004", "M-9999", 1)}},
			check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
				if d.Matter != nil || d.Task != nil {
					t.Fatalf("matter %v task %v", deref(d.Matter), deref(d.Task))
				}
				warnHas(t, d, `matter "M-9999" is not an open matter`)
			}},
		{name: "matter not said", wantCalls: 1, text: "Drafted a demand letter, one hour.",
			steps: []step{{content: strings.Replace(goodAnswer, "M-1004", "M-1001", 1)}},
			check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
				if d.Matter != nil {
					t.Fatalf("a guessed matter survived: %v", deref(d.Matter))
				}
				warnHas(t, d, "does not name it")
			}},
		{name: "schema violations", wantCalls: 1,
			steps: []step{{content: `{"matter":"M-1001","date":"2027-01-05","hours":"two","activity":"A999",` +
				`"task":"L250","narrative":"  reviewed\nfile ","billable":"yes","extra":1}`}},
			text: "Whitfield estate, reviewed file",
			check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
				if deref(d.Matter) != "M-1001" || d.Date != "2026-11-20" || d.Hours != 0 || d.Activity != "" || d.Task != nil {
					t.Fatalf("draft = %+v", d)
				}
				if d.Narrative != "Reviewed file." || !d.Billable {
					t.Fatalf("narrative %q billable %v", d.Narrative, d.Billable)
				}
				for _, w := range []string{`"hours" missing or of the wrong type`, `"billable" missing`, "in the future",
					`activity "A999"`, "task L250 dropped: matter M-1001 is not a litigation matter", WarnNoDuration} {
					warnHas(t, d, w)
				}
			}},
		{name: "hours too many", wantCalls: 1,
			steps: []step{{content: strings.Replace(goodAnswer, `"hours":0.25`, `"hours":30`, 1)}},
			check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
				if d.Hours != 0 {
					t.Fatalf("hours %v", d.Hours)
				}
				warnHas(t, d, "more than 24")
			}},
	}
}

func checkCommonRequest(t *testing.T, body map[string]any, allowedTop []string) {
	t.Helper()
	allowed := map[string]bool{}
	for _, k := range allowedTop {
		allowed[k] = true
	}
	for k := range body {
		if !allowed[k] {
			t.Errorf("request carries unexpected field %q", k)
		}
	}
	msgs, _ := body["messages"].([]any)
	if len(msgs) != 2 {
		t.Fatalf("messages = %v", body["messages"])
	}
	for _, m := range msgs {
		mm := m.(map[string]any)
		for k := range mm {
			if k != "role" && k != "content" {
				t.Errorf("message carries %q (only text is sent)", k)
			}
		}
	}
	user := msgs[1].(map[string]any)["content"].(string)
	var in map[string]any
	if err := json.Unmarshal([]byte(user), &in); err != nil {
		t.Fatalf("user message is not the JSON prompt: %v", err)
	}
	for k := range in {
		switch k {
		case "today", "weekday", "open_matters", "transcript":
		default:
			t.Errorf("prompt carries %q", k)
		}
	}
	if in["today"] != "2026-11-20" || !strings.Contains(in["transcript"].(string), "Smith v Jones") &&
		!strings.Contains(in["transcript"].(string), "Whitfield") && !strings.Contains(in["transcript"].(string), "demand") {
		t.Errorf("prompt = %v", in)
	}
	if ms, _ := in["open_matters"].([]any); len(ms) != 12 {
		t.Errorf("open_matters has %d entries", len(ms))
	}
}

func checkSchema(t *testing.T, schema any) {
	t.Helper()
	s, ok := schema.(map[string]any)
	if !ok {
		t.Fatalf("schema = %T", schema)
	}
	req, _ := s["required"].([]any)
	if len(req) != 7 || s["additionalProperties"] != false {
		t.Fatalf("schema required=%v additionalProperties=%v", req, s["additionalProperties"])
	}
	props := s["properties"].(map[string]any)
	enum := props["matter"].(map[string]any)["enum"].([]any)
	if len(enum) != 13 || enum[0] != "M-1001" || enum[12] != nil {
		t.Fatalf("matter enum = %v", enum)
	}
	if acts := props["activity"].(map[string]any)["enum"].([]any); len(acts) != 11 {
		t.Fatalf("activity enum = %v", acts)
	}
}

func TestOllamaProtocol(t *testing.T) {
	ms := testMatters(t)
	for _, tc := range engineCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeModel{steps: tc.steps}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/api/chat" {
					http.NotFound(w, r)
					return
				}
				f.serve(w, r, ollamaWire)
			}))
			defer srv.Close()
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			dr, err := New(Config{Engine: "ollama", Ollama: OllamaConfig{Host: srv.URL, Model: "tiny", Timeout: timeout, NumPredict: 2000}})
			if err != nil {
				t.Fatal(err)
			}
			sl := &sleepRecorder{}
			dr.(*llmEngine).sleep = sl.sleep
			text := tc.text
			if text == "" {
				text = transcript
			}
			d, err := dr.Draft(context.Background(), Request{Text: text, Today: friday, Matters: ms})
			if err != nil {
				t.Fatal(err)
			}
			if f.calls() != tc.wantCalls {
				t.Fatalf("%d calls, want %d", f.calls(), tc.wantCalls)
			}
			body := f.bodies[0]
			checkCommonRequest(t, body, []string{"model", "messages", "stream", "format", "options"})
			if body["stream"] != false || body["model"] != "tiny" {
				t.Errorf("stream=%v model=%v", body["stream"], body["model"])
			}
			opts, _ := body["options"].(map[string]any)
			if opts["temperature"] != float64(0) || opts["num_predict"] != float64(2000) {
				t.Errorf("options = %v", opts)
			}
			checkSchema(t, body["format"])
			tc.check(t, d, f, sl)
			again := d
			Validate(&again, Request{Text: text, Today: friday, Matters: ms}, Config{})
			if !equalDrafts(again, d) {
				t.Fatalf("draft not valid: %+v -> %+v", d, again)
			}
		})
	}
}

func TestAzureProtocol(t *testing.T) {
	ms := testMatters(t)
	const key = "test-key-0123"
	cases := engineCases()
	// a gateway's error page instead of Azure's JSON error
	cases = append(cases, engineCase{name: "502 html", steps: []step{{status: 502, raw: "<html>bad gateway</html>"}, {content: goodAnswer}},
		wantCalls: 2, check: func(t *testing.T, d Draft, f *fakeModel, sl *sleepRecorder) {
			if deref(d.Matter) != "M-1004" || len(d.Warnings) != 0 || len(sl.delays) != 1 {
				t.Fatalf("draft %+v delays %v", d, sl.delays)
			}
		}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeModel{steps: tc.steps, errBody: `{"error":{"code":"429","message":"Rate limit is exceeded."}}`}
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/openai/deployments/dep/chat/completions" ||
					r.URL.Query().Get("api-version") != "2024-10-21" || r.Header.Get("Api-Key") != key {
					t.Errorf("unexpected request %s %s key=%t", r.Method, r.URL, r.Header.Get("Api-Key") == key)
					http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
					return
				}
				f.serve(w, r, azureWire)
			}))
			defer srv.Close()
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			dr, err := New(Config{Engine: "azure", Azure: AzureConfig{Endpoint: srv.URL, Deployment: "dep",
				APIVersion: "2024-10-21", APIKey: key, Timeout: timeout, HTTPClient: srv.Client()}})
			if err != nil {
				t.Fatal(err)
			}
			sl := &sleepRecorder{}
			dr.(*llmEngine).sleep = sl.sleep
			text := tc.text
			if text == "" {
				text = transcript
			}
			d, err := dr.Draft(context.Background(), Request{Text: text, Today: friday, Matters: ms})
			if err != nil {
				t.Fatal(err)
			}
			if f.calls() != tc.wantCalls {
				t.Fatalf("%d calls, want %d", f.calls(), tc.wantCalls)
			}
			if f.hdrs[0].Get("Authorization") != "" {
				t.Errorf("Authorization header sent to Azure")
			}
			body := f.bodies[0]
			checkCommonRequest(t, body, []string{"model", "messages", "response_format", "temperature"})
			rf, _ := body["response_format"].(map[string]any)
			js, _ := rf["json_schema"].(map[string]any)
			if rf["type"] != "json_schema" || js["strict"] != true || js["name"] != "time_entry" {
				t.Fatalf("response_format = %v", rf)
			}
			checkSchema(t, js["schema"])
			tc.check(t, d, f, sl)
			for _, w := range d.Warnings {
				if strings.Contains(w, key) {
					t.Fatalf("a warning carries the key: %q", w)
				}
			}
		})
	}
}

func equalDrafts(a, b Draft) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb) && a.Minutes == b.Minutes
}

func TestConstructors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"rules default", Config{}, true},
		{"rules named", Config{Engine: "Rules"}, true},
		{"unknown", Config{Engine: "gpt"}, false},
		{"bad increment", Config{IncrementMinutes: 90}, false},
		{"ollama no host", Config{Engine: "ollama", Ollama: OllamaConfig{Model: "m"}}, false},
		{"ollama no model", Config{Engine: "ollama", Ollama: OllamaConfig{Host: "127.0.0.1:11434"}}, false},
		{"ollama bare host", Config{Engine: "ollama", Ollama: OllamaConfig{Host: "127.0.0.1:11434", Model: "m"}}, true},
		{"ollama bad scheme", Config{Engine: "ollama", Ollama: OllamaConfig{Host: "ftp://x", Model: "m"}}, false},
		{"azure no endpoint", Config{Engine: "azure", Azure: AzureConfig{Deployment: "d", APIVersion: "v", APIKey: "k"}}, false},
		{"azure http", Config{Engine: "azure", Azure: AzureConfig{Endpoint: "http://x.openai.azure.com", Deployment: "d", APIVersion: "v", APIKey: "k"}}, false},
		{"azure no key", Config{Engine: "azure", Azure: AzureConfig{Endpoint: "https://x.openai.azure.com", Deployment: "d", APIVersion: "v"}}, false},
		{"azure no version", Config{Engine: "azure", Azure: AzureConfig{Endpoint: "https://x.openai.azure.com", Deployment: "d", APIKey: "k"}}, false},
		{"azure ok", Config{Engine: "azure", Azure: AzureConfig{Endpoint: "https://x.openai.azure.com", Deployment: "d", APIVersion: "v", APIKey: "k"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(tc.cfg)
			if (err == nil) != tc.ok {
				t.Fatalf("New: err = %v, want ok=%v", err, tc.ok)
			}
			if err == nil && d.Name() == "" {
				t.Fatal("no name")
			}
		})
	}
}

func TestLLMCancelledContext(t *testing.T) {
	f := &fakeModel{steps: []step{{hang: true}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, ollamaWire) }))
	defer srv.Close()
	dr, err := New(Config{Engine: "ollama", Ollama: OllamaConfig{Host: srv.URL, Model: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := dr.Draft(ctx, Request{Text: transcript, Today: friday, Matters: testMatters(t)}); err == nil {
		t.Fatal("a cancelled caller got a draft instead of an error")
	}
}

func TestOllamaConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	host := srv.URL
	srv.Close() // nothing listens there now
	dr, err := New(Config{Engine: "ollama", Ollama: OllamaConfig{Host: host, Model: "m", Retries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := dr.Draft(context.Background(), Request{Text: transcript, Today: friday, Matters: testMatters(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !has(d.Warnings, "ollama unavailable (connection failed); drafted by rules") {
		t.Fatalf("warnings %v", d.Warnings)
	}
}
