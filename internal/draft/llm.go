package draft

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"dictum/internal/httpretry"
	"dictum/internal/utbms"
)

// llmCall makes one attempt: it sends the system and user messages with the
// answer schema and returns the model's answer text.
type llmCall func(ctx context.Context, system, user string, schema map[string]any) (string, error)

// llmEngine is the part shared by the ollama and azure engines: prompt,
// schema, retries, validation and the rules fallback.
type llmEngine struct {
	name    string
	cfg     Config
	rules   *Rules
	timeout time.Duration
	retries int
	call    llmCall
	// sleep waits between attempts; tests replace it to record the delays.
	sleep func(ctx context.Context, d time.Duration) error
}

func newLLMEngine(name string, cfg Config, rules *Rules, timeout time.Duration, retries int) *llmEngine {
	if timeout <= 0 {
		timeout = DefaultLLMTimeout
	}
	switch {
	case retries == 0:
		retries = DefaultLLMRetries
	case retries < 0:
		retries = 0
	}
	return &llmEngine{name: name, cfg: cfg, rules: rules, timeout: timeout, retries: retries, sleep: httpretry.Sleep}
}

// Name implements Drafter.
func (e *llmEngine) Name() string { return e.name }

// statusError is an HTTP failure of the model server.
type statusError struct {
	code       int
	retryAfter time.Duration
	hasAfter   bool
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d", e.code) }

func (e *statusError) retryable() bool {
	return e.code == http.StatusTooManyRequests || e.code == http.StatusRequestTimeout || e.code >= 500
}

// answerError is a model answer that cannot be used.
type answerError struct{ msg string }

func (e *answerError) Error() string { return e.msg }

// backoff is the wait before retry n (0-based) without a Retry-After:
// 0.5s, 1s, 2s ... capped at 8s, with +-20% jitter.
func backoff(n int) time.Duration {
	return httpretry.Jitter(httpretry.Backoff(500*time.Millisecond, n, 4), 20)
}

// attempt runs e.call with the per-attempt timeout and retries on 429/5xx
// and connection failures. Timeouts are not retried.
func (e *llmEngine) attempt(ctx context.Context, system, user string, schema map[string]any) (string, error) {
	var lastErr error
	for n := 0; n <= e.retries; n++ {
		actx, cancel := context.WithTimeout(ctx, e.timeout)
		out, err := e.call(actx, system, user, schema)
		timedOut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if timedOut || errors.Is(err, context.DeadlineExceeded) {
			return "", fmt.Errorf("timeout after %s", e.timeout)
		}
		lastErr = err
		var wait time.Duration
		var se *statusError
		var ae *answerError
		switch {
		case errors.As(err, &ae):
			return "", err
		case errors.As(err, &se):
			if !se.retryable() {
				return "", err
			}
			wait = backoff(n)
			if se.hasAfter {
				if se.retryAfter > MaxRetryAfter {
					return "", fmt.Errorf("%w, asked to retry after %s (more than %s)", err, se.retryAfter.Round(time.Second), MaxRetryAfter)
				}
				wait = se.retryAfter
			}
		case isConnErr(err):
			wait = backoff(n)
		default:
			return "", err
		}
		if n == e.retries {
			break
		}
		if err := e.sleep(ctx, wait); err != nil {
			return "", err
		}
	}
	if e.retries > 0 {
		return "", fmt.Errorf("%w after %d attempts", lastErr, e.retries+1)
	}
	return "", lastErr
}

func isConnErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne)
}

// describe turns an error into a short reason for a warning. It never
// includes server bodies (they may echo the transcript).
func describe(err error) string {
	var se *statusError
	var ae *answerError
	switch {
	case errors.As(err, &ae):
		return ae.msg
	case errors.As(err, &se):
		s := err.Error()
		if se.code == http.StatusTooManyRequests {
			s = "rate limited, " + s
		}
		return s
	case strings.HasPrefix(err.Error(), "timeout after"):
		return err.Error()
	case isConnErr(err):
		return "connection failed"
	}
	return "request failed"
}

// Draft implements Drafter. A failure of the model gives the rules draft
// with a warning; only a cancelled ctx is returned as an error.
func (e *llmEngine) Draft(ctx context.Context, req Request) (Draft, error) {
	if err := ctx.Err(); err != nil {
		return Draft{}, fmt.Errorf("%s draft: %w", e.name, err)
	}
	text := req.Text
	if len(text) > maxTextBytes {
		text = text[:maxTextBytes]
	}
	system, user, err := prompt(text, req)
	if err != nil {
		return Draft{}, fmt.Errorf("%s draft: %w", e.name, err)
	}
	content, err := e.attempt(ctx, system, user, answerSchema(req))
	if err != nil && ctx.Err() != nil {
		return Draft{}, fmt.Errorf("%s draft: %w", e.name, ctx.Err())
	}
	var d Draft
	if err == nil {
		d, err = parseAnswer(content, req)
	}
	if err != nil {
		fb := e.rules.draft(req)
		fb.Warnings = append(fb.Warnings, fmt.Sprintf("%s unavailable (%s); drafted by rules", e.name, describe(err)))
		Validate(&fb, req, e.cfg)
		return fb, nil
	}
	d.Engine = e.name
	groundMatter(&d, req, e.rules.index(req.Matters).ms)
	Validate(&d, req, e.cfg)
	d.Confidence = llmConfidence(d)
	Validate(&d, req, e.cfg)
	return d, nil
}

func llmConfidence(d Draft) float64 {
	c := 0.1
	if d.Matter != nil {
		c += 0.35
	}
	if d.Minutes > 0 {
		c += 0.3
	}
	if d.Activity != "" {
		c += 0.15
	}
	if len(strings.Fields(d.Narrative)) >= 3 {
		c += 0.1
	}
	return c - 0.05*float64(len(d.Warnings))
}

// groundMatter drops a matter the model chose that the transcript gives no
// evidence for (a model may guess; a draft must not).
func groundMatter(d *Draft, req Request, idx []matterIndex) {
	if d.Matter == nil {
		return
	}
	j := -1
	for i, m := range req.Matters {
		if m.ID == *d.Matter {
			j = i
		}
	}
	if j < 0 {
		return // Validate reports unknown ids
	}
	toks := tokenize(req.Text)
	findDate(toks, civil(req.Today))
	findDurations(toks)
	mr := findMatter(toks, idx)
	switch {
	case mr.idx == j:
	case mr.idx >= 0:
		d.Warnings = append(d.Warnings, fmt.Sprintf("model chose matter %s but the dictation names %s; pick the matter", *d.Matter, req.Matters[mr.idx].ID))
		d.Matter = nil
	case strings.Contains(mr.warning, req.Matters[j].ID):
		d.Warnings = append(d.Warnings, mr.warning)
		d.Matter = nil
	default:
		d.Warnings = append(d.Warnings, fmt.Sprintf("model chose matter %s but the dictation does not name it; pick the matter", *d.Matter))
		d.Matter = nil
	}
}

const systemPrompt = `You turn a lawyer's dictated time entry into a draft time entry.
Answer with one JSON object that follows the given schema, nothing else.
- matter: the id of the open matter the dictation names (by client, caption, matter number or a short form), or null when none is named or it is ambiguous. Never guess.
- date: YYYY-MM-DD of the work. No date said means today. "yesterday" is the day before today; a weekday is its most recent past occurrence; a month and day after today means last year. Never a future date.
- hours: the time spoken, as a number of hours (45 minutes = 0.75, "point three" = 0.3). A spoken correction wins ("two hours, no, make that two and a quarter" = 2.25). 0 when no time is said.
- activity: UTBMS code. A101 plan and prepare for, A102 research, A103 draft/revise, A104 review/analyze, A105 communicate within the firm, A106 communicate with client, A107 communicate with opposing or other outside counsel, A108 communicate with other external parties (court staff, experts, appraisers), A109 appear for/attend (hearings, depositions, mediations), A110 manage data/files, A111 other.
- task: UTBMS litigation task code (L110..L530) only when the matter is marked litigation, else null.
- narrative: one billing line starting with a past-tense verb ("Drafted motion to compel discovery responses."), without filler words, the duration, the date or the matter reference.
- billable: false only when the dictation says no charge, non-billable or do not bill.`

// prompt builds the messages. Only the transcript, today's date and the
// matters' ids, numbers, names and clients are sent.
func prompt(text string, req Request) (string, string, error) {
	type pm struct {
		ID         string `json:"id"`
		Number     string `json:"number"`
		Client     string `json:"client"`
		Name       string `json:"name"`
		Litigation bool   `json:"litigation"`
	}
	in := struct {
		Today      string `json:"today"`
		Weekday    string `json:"weekday"`
		Matters    []pm   `json:"open_matters"`
		Transcript string `json:"transcript"`
	}{
		Today:      civil(req.Today).Format(time.DateOnly),
		Weekday:    civil(req.Today).Weekday().String(),
		Matters:    make([]pm, 0, len(req.Matters)),
		Transcript: text,
	}
	for _, m := range req.Matters {
		in.Matters = append(in.Matters, pm{m.ID, m.Number, m.Client, m.Name, m.Litigation})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(in); err != nil {
		return "", "", fmt.Errorf("encode prompt: %w", err)
	}
	return systemPrompt, strings.TrimSpace(buf.String()), nil
}

// answerSchema is the JSON schema of the model's answer; it is strict
// (every property required, no others) so Azure's strict mode accepts it.
func answerSchema(req Request) map[string]any {
	ids := make([]any, 0, len(req.Matters)+1)
	for _, m := range req.Matters {
		ids = append(ids, m.ID)
	}
	ids = append(ids, nil)
	acts := utbms.Sorted(utbms.Activities)
	tasks := make([]any, 0, len(utbms.LitigationTasks)+1)
	for _, t := range utbms.Sorted(utbms.LitigationTasks) {
		tasks = append(tasks, t)
	}
	tasks = append(tasks, nil)
	return map[string]any{
		"type": "object",
		"properties": map[string]any{
			"matter":    map[string]any{"type": []string{"string", "null"}, "enum": ids},
			"date":      map[string]any{"type": "string", "description": "YYYY-MM-DD"},
			"hours":     map[string]any{"type": "number"},
			"activity":  map[string]any{"type": "string", "enum": acts},
			"task":      map[string]any{"type": []string{"string", "null"}, "enum": tasks},
			"narrative": map[string]any{"type": "string"},
			"billable":  map[string]any{"type": "boolean"},
		},
		"required":             []string{"matter", "date", "hours", "activity", "task", "narrative", "billable"},
		"additionalProperties": false,
	}
}

// parseAnswer reads the model's JSON answer. Malformed JSON is an error (the
// caller falls back to rules); a field of the wrong type is dropped with a
// warning and the rest is kept for Validate.
func parseAnswer(content string, req Request) (Draft, error) {
	s := strings.TrimSpace(content)
	// some models wrap JSON in a code fence despite the schema
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```json")
		s = strings.TrimPrefix(s, "```")
		s = strings.TrimSuffix(strings.TrimSpace(s), "```")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &fields); err != nil || fields == nil {
		return Draft{}, &answerError{msg: "malformed answer"}
	}
	d := Draft{Billable: true, Warnings: []string{}, Date: civil(req.Today).Format(time.DateOnly)}
	bad := func(name string) {
		d.Warnings = append(d.Warnings, fmt.Sprintf("model answer field %q missing or of the wrong type; dropped", name))
	}
	get := func(name string, into any) bool {
		raw, ok := fields[name]
		if !ok {
			bad(name)
			return false
		}
		if err := json.Unmarshal(raw, into); err != nil {
			bad(name)
			return false
		}
		return true
	}
	var matter *string
	if get("matter", &matter) && matter != nil {
		d.Matter = strPtr(*matter)
	}
	var date string
	if get("date", &date) {
		d.Date = date
	}
	var hours float64
	if get("hours", &hours) {
		d.Hours = hours
	}
	get("activity", &d.Activity)
	var task *string
	if get("task", &task) && task != nil {
		d.Task = strPtr(*task)
	}
	get("narrative", &d.Narrative)
	var billable bool
	if get("billable", &billable) {
		d.Billable = billable
	}
	return d, nil
}

// recordingClient copies the caller's HTTP client (or a plain one) with its transport
// wrapped by recordingTransport, so status and Retry-After are seen whatever the body.
func recordingClient(base *http.Client) *http.Client {
	hc := &http.Client{}
	if base != nil {
		c := *base
		hc = &c
	}
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	hc.Transport = recordingTransport{base: rt}
	return hc
}
