package draft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"dictum/internal/httpretry"
)

// respInfoKey carries a *respInfo in a request context so the transport can
// report the status and Retry-After of the answer (the ollama client does not
// expose headers, and returns no error for an empty error body).
type respInfoKey struct{}

type respInfo struct {
	status     int
	retryAfter time.Duration
	hasAfter   bool
}

type recordingTransport struct{ base http.RoundTripper }

func (t recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if resp != nil {
		if ri, ok := r.Context().Value(respInfoKey{}).(*respInfo); ok {
			ri.status = resp.StatusCode
			ri.retryAfter, ri.hasAfter = httpretry.ParseRetryHeaders(resp.Header, time.Now())
		}
	}
	return resp, err
}

// parseHost accepts "host:port", "http://host:port" or "https://host".
func parseHost(host string) (*url.URL, error) {
	h := strings.TrimSpace(host)
	if h == "" {
		return nil, errors.New("ollama host is empty")
	}
	if !strings.Contains(h, "://") {
		h = "http://" + h
	}
	u, err := url.Parse(h)
	if err != nil {
		return nil, fmt.Errorf("ollama host %q: %w", host, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ollama host %q: want http(s)://host:port", host)
	}
	if u.User != nil {
		return nil, fmt.Errorf("ollama host must not carry credentials")
	}
	return u, nil
}

// boundedSchema caps the free-text fields of the answer for Ollama, whose sampler turns
// the schema into a grammar: a model that keeps writing (a looping or weak model) is then
// made to close its JSON instead of running into num_predict. The narrative cap is the
// longest narrative Validate keeps; a date is ten characters. (Azure's strict mode does
// not take these keywords, so the shared schema stays without them.)
func boundedSchema(schema map[string]any) map[string]any {
	props, ok := schema["properties"].(map[string]any)
	if !ok {
		return schema
	}
	out := make(map[string]any, len(schema))
	for k, v := range schema {
		out[k] = v
	}
	np := make(map[string]any, len(props))
	for k, v := range props {
		np[k] = v
	}
	for field, limit := range map[string]int{"narrative": 400, "date": 10} {
		if p, ok := props[field].(map[string]any); ok {
			q := make(map[string]any, len(p)+1)
			for k, v := range p {
				q[k] = v
			}
			q["maxLength"] = limit
			np[field] = q
		}
	}
	out["properties"] = np
	return out
}

func newOllama(cfg Config, rules *Rules) (Drafter, error) {
	oc := cfg.Ollama
	base, err := parseHost(oc.Host)
	if err != nil {
		return nil, fmt.Errorf("draft: %w", err)
	}
	if strings.TrimSpace(oc.Model) == "" {
		return nil, errors.New("draft: ollama model is empty")
	}
	hc := recordingClient(oc.HTTPClient)
	client := api.NewClient(base, hc)
	numPredict := oc.NumPredict
	if numPredict <= 0 {
		numPredict = DefaultNumPredict
	}
	model := strings.TrimSpace(oc.Model)
	e := newLLMEngine(EngineOllama, cfg, rules, oc.Timeout, oc.Retries)
	e.call = func(ctx context.Context, system, user string, schema map[string]any) (string, error) {
		format, err := json.Marshal(boundedSchema(schema))
		if err != nil {
			return "", fmt.Errorf("encode schema: %w", err)
		}
		stream := false
		req := &api.ChatRequest{
			Model: model,
			Messages: []api.Message{
				{Role: "system", Content: system},
				{Role: "user", Content: user},
			},
			Stream:  &stream,
			Format:  format,
			Options: map[string]any{"temperature": 0, "num_predict": numPredict, "seed": 1},
		}
		ri := &respInfo{}
		ctx = context.WithValue(ctx, respInfoKey{}, ri)
		var sb strings.Builder
		done := false
		err = client.Chat(ctx, req, func(r api.ChatResponse) error {
			sb.WriteString(r.Message.Content)
			if r.Done {
				done = true
				if r.DoneReason == "length" {
					return &answerError{msg: "answer cut off at num_predict"}
				}
			}
			return nil
		})
		if ri.status >= 400 {
			return "", &statusError{code: ri.status, retryAfter: ri.retryAfter, hasAfter: ri.hasAfter}
		}
		if err != nil {
			var se api.StatusError
			if errors.As(err, &se) {
				return "", &statusError{code: se.StatusCode}
			}
			var ae *answerError
			if errors.As(err, &ae) {
				return "", err
			}
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if isConnErr(err) {
				return "", fmt.Errorf("ollama chat: %w", err)
			}
			// the client turns a non-JSON body into an error carrying the body
			return "", &answerError{msg: "malformed answer"}
		}
		if !done {
			return "", &answerError{msg: "incomplete answer"}
		}
		return sb.String(), nil
	}
	return e, nil
}
