// Package draft turns a dictated transcript into a DRAFT time entry that the
// timekeeper reviews: matter, date, hours, UTBMS activity (and task for
// litigation matters), a billing narrative, billable flag, a confidence and
// warnings.
//
// Three engines implement Drafter: "rules" (default; no model, no network),
// "ollama" (local LLM with a JSON schema) and "azure" (Azure OpenAI with a
// strict json_schema response format). The LLM engines send only the
// transcript text, today's date and the open matters' ids, numbers, names and
// clients; their answers pass through the same Validate as rules drafts, and
// on any failure the rules draft is returned with a warning naming it.
//
// Decisions (documented here, tested in rules_test.go):
//   - No duration heard: hours is 0 and the warning "no duration heard" is set;
//     a draft with hours 0 is not approvable until the timekeeper fills it in.
//   - A matter is only set when the transcript names exactly one open matter
//     (number, id, client, caption or a distinctive short form of them, with
//     tolerance for recogniser spellings). Otherwise matter is null with a
//     warning; a matter is never guessed.
//   - A bare or "on"/"last" weekday is its most recent past occurrence; said
//     on that same weekday it means one week ago (today is said "today").
//     "this <weekday>" is the most recent occurrence including today.
//   - A month and day after today means that day last year. "the 12th" is the
//     most recent 12th. A day that does not exist (February 29 in a common
//     year) is not used: the date falls back to today with a warning.
//   - Narratives start with a past-tense verb ("Drafted ...", "Reviewed ...").
//   - Hours are rounded up to the firm's increment (default 6 minutes = 0.1 h)
//     and kept as whole minutes internally; Hours is derived from them.
package draft

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"dictum/internal/billing"
)

// Matter is one open matter of the firm.
type Matter struct {
	ID     string `json:"id"`
	Number string `json:"number"`
	Client string `json:"client"`
	Name   string `json:"name"`
	// Litigation marks matters that take UTBMS litigation task codes. When the
	// matters file has no "litigation" field it is derived from the caption
	// (see IsLitigationCaption).
	Litigation bool `json:"litigation"`
}

// Request is one transcript to draft.
type Request struct {
	Text string
	// Today is the civil date in the firm's time zone; only its year, month
	// and day are used.
	Today   time.Time
	Matters []Matter
	// Aliases are the dictating lawyer's own aliases and the firm's; they only
	// fill a matter the text does not name (see Alias).
	Aliases []Alias
}

// Draft is a draft time entry. JSON field order and names are the contract of
// `dictum draft`.
type Draft struct {
	Matter     *string  `json:"matter"`
	Date       string   `json:"date"`
	Hours      float64  `json:"hours"`
	Activity   string   `json:"activity"`
	Task       *string  `json:"task"`
	Narrative  string   `json:"narrative"`
	Billable   bool     `json:"billable"`
	Confidence float64  `json:"confidence"`
	Warnings   []string `json:"warnings"`
	// Minutes is the authoritative duration (rounded up to the increment);
	// Hours is derived from it.
	Minutes int `json:"-"`
	// Engine names the engine that produced the draft ("rules", "ollama",
	// "azure"); a fallback to rules reports "rules".
	Engine string `json:"-"`
}

// Drafter drafts time entries from transcripts.
type Drafter interface {
	Draft(ctx context.Context, req Request) (Draft, error)
	Name() string
}

// Engine names.
const (
	EngineRules  = "rules"
	EngineOllama = "ollama"
	EngineAzure  = "azure"
)

// Defaults applied by New and Validate when a Config field is zero.
const (
	DefaultIncrementMinutes = billing.DefaultIncrementMinutes
	DefaultLookbackDays     = 60
	DefaultLLMTimeout       = 30 * time.Second
	DefaultLLMRetries       = 2
	DefaultNumPredict       = 1024
	// MaxRetryAfter bounds how long a server may ask us to wait; a longer
	// Retry-After ends the attempts (the rules draft is used).
	MaxRetryAfter = 30 * time.Second
)

// Config selects and configures the engine.
type Config struct {
	Engine           string // rules (default), ollama, azure
	IncrementMinutes int    // billing increment in minutes, 1..60; default 6
	LookbackDays     int    // oldest date accepted, in days before today; default 60
	Ollama           OllamaConfig
	Azure            AzureConfig
}

// OllamaConfig configures the ollama engine.
type OllamaConfig struct {
	Host       string        // e.g. http://127.0.0.1:11434; required
	Model      string        // required
	Timeout    time.Duration // per attempt; default 30s
	Retries    int           // retries on 429/5xx/connection errors; default 2, negative = none
	NumPredict int           // token limit of the answer; default 1024
	// HTTPClient is optional (custom CA, proxy); nil uses a plain client.
	HTTPClient *http.Client
}

// AzureConfig configures the azure engine.
type AzureConfig struct {
	Endpoint   string // https://<resource>.openai.azure.com; required
	Deployment string // deployment name, used as the model; required
	APIVersion string // e.g. 2024-10-21; required
	APIKey     string // required; never logged
	Timeout    time.Duration
	Retries    int
	// HTTPClient is optional; it must be an *http.Client with a Transport.
	HTTPClient *http.Client
}

func (c Config) increment() int {
	if c.IncrementMinutes <= 0 || c.IncrementMinutes > 60 {
		return DefaultIncrementMinutes
	}
	return c.IncrementMinutes
}

func (c Config) lookback() int {
	if c.LookbackDays <= 0 {
		return DefaultLookbackDays
	}
	return c.LookbackDays
}

// New returns the engine named by cfg.Engine. The LLM engines wrap a rules
// engine used as fallback. Constructors never contact the network.
func New(cfg Config) (Drafter, error) {
	if cfg.IncrementMinutes < 0 || cfg.IncrementMinutes > 60 {
		return nil, fmt.Errorf("draft: increment %d minutes out of range 1..60", cfg.IncrementMinutes)
	}
	if cfg.LookbackDays < 0 {
		return nil, fmt.Errorf("draft: look-back %d days must not be negative", cfg.LookbackDays)
	}
	rules := &Rules{cfg: cfg}
	switch strings.ToLower(strings.TrimSpace(cfg.Engine)) {
	case "", EngineRules:
		return rules, nil
	case EngineOllama:
		return newOllama(cfg, rules)
	case EngineAzure:
		return newAzure(cfg, rules)
	default:
		return nil, fmt.Errorf("draft: unknown engine %q (want rules, ollama or azure)", cfg.Engine)
	}
}

func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func strPtr(s string) *string { return &s }
