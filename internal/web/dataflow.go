package web

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"dictum/internal/config"

	"github.com/gofiber/fiber/v2"
)

// Component is a part of Dictum and whether it runs in this configuration.
type Component struct {
	Name    string `json:"name"`
	Running bool   `json:"running"`
	Detail  string `json:"detail"`
}

// Flow is an external host that receives data, what it gets and when.
type Flow struct {
	Host    string `json:"host"`
	Purpose string `json:"purpose"`
	Data    string `json:"data"`
	When    string `json:"when"`
}

// DataFlow describes, from the live configuration, what runs and what leaves the server.
type DataFlow struct {
	Components    []Component `json:"components"`
	Flows         []Flow      `json:"flows"`
	NothingLeaves bool        `json:"nothing_leaves"`
	// ShareLinks is what client share links expose, to whom, and how many are live.
	ShareLinks ShareLinkFlow `json:"share_links"`
}

// ShareLinkFlow describes client share links: the one way client data is read from
// outside the firm without a Dictum account.
type ShareLinkFlow struct {
	Active  int    `json:"active"`
	Who     string `json:"who"`
	Exposes string `json:"exposes"`
	Never   string `json:"never"`
	Limits  string `json:"limits"`
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
}

func (s *Server) dataFlow(c *fiber.Ctx) DataFlow {
	cfg := s.Config
	tlsMode := "off (loopback or behind a TLS proxy)"
	if s.TLS {
		tlsMode = "on"
	}
	d := DataFlow{Components: []Component{
		{"Web app and API", true, "listening on " + cfg.Server.Listen + "; TLS " + tlsMode},
		{"Encrypted store", true, "SQLCipher database and AES-256-GCM blobs in " + cfg.DataDir},
		speechComponent(cfg),
		{"Drafting", true, "engine " + cfg.Draft.Engine},
		{"Clio sync", cfg.Clio.ClientID != "", "region " + cfg.Clio.Region + scheduleText(cfg.Clio.SyncSchedule)},
	}}
	d.Flows = append(d.Flows, transcriptionFlows(cfg)...)
	switch cfg.Draft.Engine {
	case "ollama":
		d.Flows = append(d.Flows, Flow{hostOf(cfg.Draft.Ollama.Host), "Drafting (Ollama, model " + cfg.Draft.Ollama.Model + ")",
			"transcript text, today's date, open matters (id, number, client, name)", "for every finished transcript"})
	case "azure":
		d.Flows = append(d.Flows, Flow{hostOf(cfg.Draft.Azure.Endpoint), "Drafting (Azure OpenAI deployment " + cfg.Draft.Azure.Deployment + ")",
			"transcript text, today's date, open matters (id, number, client, name)", "for every finished transcript"})
	}
	if cfg.Clio.ClientID != "" {
		host := cfg.Clio.BaseURL
		if host == "" {
			host = map[string]string{"us": "app.clio.com", "ca": "ca.app.clio.com", "eu": "eu.app.clio.com", "au": "au.app.clio.com"}[cfg.Clio.Region]
		}
		connected := "not connected yet"
		if conn, err := s.Store.ClioConnection(c.UserContext()); err == nil && conn != nil && conn.Connected {
			connected = "connected"
		}
		d.Flows = append(d.Flows, Flow{hostOf(host), "Clio (" + connected + ")",
			"approved entries only: date, hours, narrative, Clio matter and user ids; reads clients, matters and users",
			"when billing presses Sync, runs `dictum clio sync`" + scheduleText(cfg.Clio.SyncSchedule)})
	}
	if s.TLS && cfg.Server.TLS == "acme" {
		dir := cfg.ACME.Directory
		if dir == "" {
			dir = "acme-v02.api.letsencrypt.org"
		}
		d.Flows = append(d.Flows, Flow{hostOf(dir), "TLS certificates (ACME)", "the server's host names and a certificate request (no client data)", "at start and before expiry"},
			Flow{cfg.ACME.DNSProvider, "DNS-01 challenge", "a TXT record for the host names", "when a certificate is issued or renewed"})
	}
	d.Flows = append(d.Flows, Flow{hostOf(cfg.Trans.ModelBaseURL), "Speech model download", "an HTTP request for a model file (no client data)",
		"only when an admin runs `dictum model pull`"})
	d.ShareLinks = ShareLinkFlow{
		Who:     "anyone holding the link (billing or an admin creates it for one matter and one date range and sends it to the client); no account is needed",
		Exposes: "the firm's name; the matter's number, name and client; its approved, exported and synced entries in the range: date, timekeeper name, hours, activity and task codes, narrative, billable, rate and amount, with totals; as a page and as a CSV",
		Never:   "drafts, audio, transcripts, other matters, entries outside the range, user accounts",
		Limits:  "expires after 14 days by default (at most 90), revocable at once, 100 requests an hour per link, guessing backs off per IP address; every view is in the audit trail with the link, IP address and time; pages are marked noindex and send no referrer",
	}
	if n, err := s.Store.ActiveShares(c.UserContext(), s.Now().UTC().Format(time.RFC3339)); err == nil {
		d.ShareLinks.Active = n
	}
	d.NothingLeaves = !cfg.RemoteTranscription() && cfg.Draft.Engine == "rules" && cfg.Clio.ClientID == "" && !(s.TLS && cfg.Server.TLS == "acme") && d.ShareLinks.Active == 0
	return d
}

func speechComponent(cfg *config.Config) Component {
	local := "on this server, model " + cfg.Trans.Model + ", " + itoa(cfg.Trans.Workers) + " worker(s) x " + itoa(cfg.Trans.Threads) + " thread(s)"
	if !cfg.RemoteTranscription() {
		return Component{"Speech recognition (whisper.cpp)", true, local}
	}
	detail := "on " + itoa(len(cfg.Trans.BackendURLs)) + " remote " + cfg.Trans.Backend + " backend(s) x " + itoa(cfg.Trans.BackendSlots) + " slot(s); the queue stays on this server"
	if cfg.Trans.FallbackLocal {
		detail += "; when none answers: " + local
	}
	return Component{"Speech recognition (remote backends)", true, detail}
}

// transcriptionFlows lists every remote transcription backend and exactly what it receives.
func transcriptionFlows(cfg *config.Config) []Flow {
	if !cfg.RemoteTranscription() {
		return nil
	}
	kind := map[string]string{"whisper-server": "whisper.cpp whisper-server (POST /inference)",
		"openai": "OpenAI-compatible server (POST /v1/audio/transcriptions, model " + cfg.Trans.BackendModel + ")",
		"azure":  "Azure OpenAI deployment " + cfg.Trans.BackendModel}[cfg.Trans.Backend]
	auth := "no key"
	if cfg.Trans.BackendKeyFile != "" {
		auth = "a bearer key from " + cfg.Trans.BackendKeyFile
	}
	var out []Flow
	for _, raw := range cfg.Trans.BackendURLs {
		data := "each recording's audio (decoded to 16 kHz mono WAV"
		if cfg.Trans.TrimSilence {
			data += ", silence trimmed"
		}
		data += "; never the uploaded file), the language, and the whisper prompt: the lawyer's open matters' client and matter names and the firm's prompt text; " + auth
		if strings.HasPrefix(raw, "https://") {
			data += "; TLS verified against " + map[bool]string{true: cfg.Trans.BackendCAFile, false: "the firm CA and the system roots"}[cfg.Trans.BackendCAFile != ""]
		} else {
			data += "; plain HTTP (audio readable on the network: use https)"
		}
		out = append(out, Flow{hostOf(raw), "Speech recognition: " + kind, data, "for every recording, up to " + itoa(cfg.Trans.BackendSlots) + " at once; health check every 15 s"})
	}
	return out
}

func scheduleText(spec string) string {
	if spec == "" {
		return ""
	}
	return ", and on the schedule " + spec
}

func itoa(n int) string { return strconv.Itoa(n) }

// apiDataFlow is the data-flow description for scripts and audits (admin).
func (s *Server) apiDataFlow(c *fiber.Ctx) error {
	return c.JSON(s.dataFlow(c))
}

func (s *Server) uiDataFlow(c *fiber.Ctx) error {
	return s.render(c, 200, "dataflow", page{Title: "Data flow", Page: "admin", Nav: "dataflow", D: s.dataFlow(c)})
}
