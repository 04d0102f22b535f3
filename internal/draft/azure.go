package draft

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"dictum/internal/httpretry"
)

func newAzure(cfg Config, rules *Rules) (Drafter, error) {
	ac := cfg.Azure
	ep := strings.TrimSpace(ac.Endpoint)
	if ep == "" {
		return nil, errors.New("draft: azure endpoint is empty")
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("draft: azure endpoint %q is not a URL", ep)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("draft: azure endpoint %q must use https", ep)
	}
	if u.User != nil {
		return nil, errors.New("draft: azure endpoint must not carry credentials")
	}
	if strings.TrimSpace(ac.Deployment) == "" {
		return nil, errors.New("draft: azure deployment is empty")
	}
	if strings.TrimSpace(ac.APIVersion) == "" {
		return nil, errors.New("draft: azure api version is empty")
	}
	if strings.TrimSpace(ac.APIKey) == "" {
		return nil, errors.New("draft: azure api key is empty")
	}
	opts := []option.RequestOption{
		azure.WithEndpoint(ep, strings.TrimSpace(ac.APIVersion)),
		azure.WithAPIKey(strings.TrimSpace(ac.APIKey)),
		option.WithMaxRetries(0), // retries are ours, shared with ollama
	}
	// the recording transport reports status and Retry-After even when an
	// error body is not Azure's JSON (a gateway's HTML page)
	hc := recordingClient(ac.HTTPClient)
	opts = append(opts, option.WithHTTPClient(hc))
	client := openai.NewClient(opts...)
	deployment := strings.TrimSpace(ac.Deployment)
	e := newLLMEngine(EngineAzure, cfg, rules, ac.Timeout, ac.Retries)
	e.call = func(ctx context.Context, system, user string, schema map[string]any) (string, error) {
		params := openai.ChatCompletionNewParams{
			Model: shared.ChatModel(deployment),
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.SystemMessage(system),
				openai.UserMessage(user),
			},
			ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{
				OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
					JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
						Name:   "time_entry",
						Strict: openai.Bool(true),
						Schema: schema,
					},
				},
			},
			Temperature: openai.Float(0),
		}
		ri := &respInfo{}
		ctx = context.WithValue(ctx, respInfoKey{}, ri)
		resp, err := client.Chat.Completions.New(ctx, params)
		if ri.status >= 400 {
			return "", &statusError{code: ri.status, retryAfter: ri.retryAfter, hasAfter: ri.hasAfter}
		}
		if err != nil {
			var apiErr *openai.Error
			if errors.As(err, &apiErr) {
				se := &statusError{code: apiErr.StatusCode}
				if apiErr.Response != nil {
					se.retryAfter, se.hasAfter = httpretry.ParseRetryHeaders(apiErr.Response.Header, time.Now())
				}
				return "", se
			}
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if isConnErr(err) {
				return "", fmt.Errorf("azure chat: %w", err)
			}
			// a 2xx body that is not a chat completion
			return "", &answerError{msg: "malformed answer"}
		}
		if len(resp.Choices) == 0 {
			return "", &answerError{msg: "answer has no choices"}
		}
		ch := resp.Choices[0]
		if ch.Message.Refusal != "" {
			return "", &answerError{msg: "model refused"}
		}
		if ch.FinishReason == "length" {
			return "", &answerError{msg: "answer cut off"}
		}
		if ch.FinishReason == "content_filter" {
			return "", &answerError{msg: "answer blocked by content filter"}
		}
		return ch.Message.Content, nil
	}
	return e, nil
}
