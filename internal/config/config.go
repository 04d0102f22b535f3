// Package config loads Dictum's configuration: embedded defaults, then the TOML file
// (/etc/dictum/dictum.toml or --config), then DICTUM_* environment variables. Every key
// has a documented default; an unknown key in the file is an error, never ignored.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/robfig/cron/v3"

	"dictum/internal/platform"
)

// DefaultPath is where the config file is looked for when --config is not given:
// /etc/dictum/dictum.toml on Linux, %ProgramData%\Dictum\dictum.toml on Windows.
var DefaultPath = platform.DefaultConfigFile()

// Duration is a time.Duration written as "30s", "12h" in TOML and env.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration like 30s or 12h: %q", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText writes a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is the whole configuration. The `doc` tags are printed by `dictum config defaults`.
type Config struct {
	DataDir string `toml:"data_dir" doc:"Directory for the database, blobs, models and keys."`
	Firm    Firm   `toml:"firm"`
	Server  Server `toml:"server"`
	ACME    ACME   `toml:"acme"`
	Keys    Keys   `toml:"keys"`
	Auth    Auth   `toml:"auth"`
	Limits  Limits `toml:"limits"`
	Trans   Trans  `toml:"transcribe"`
	Draft   Draft  `toml:"draft"`
	Clio    Clio   `toml:"clio"`
	Backup  Backup `toml:"backup"`
	Log     Log    `toml:"log"`

	Retention Retention `toml:"retention"`
	LDAP      LDAP      `toml:"ldap"`
}

// LDAP configures sign-in with the firm's Active Directory or OpenLDAP. It is on when url is set.
type LDAP struct {
	URL              string     `toml:"url" doc:"Directory server, ldaps://dc1.firm.local:636 or ldap://...:389 with start_tls (empty: directory sign-in is off)."`
	StartTLS         bool       `toml:"start_tls" doc:"Upgrade an ldap:// connection with StartTLS before binding."`
	Insecure         bool       `toml:"insecure" doc:"Allow a plain ldap:// connection without TLS (passwords cross the network in clear; lab use only)."`
	CAFile           string     `toml:"ca_file" doc:"PEM file with the CA that signed the directory's certificate (empty: the system's roots)."`
	BindDN           string     `toml:"bind_dn" doc:"Service account DN used to find users and read groups, e.g. CN=svc-dictum,OU=Service,DC=firm,DC=local."`
	BindPasswordFile string     `toml:"bind_password_file" doc:"File holding the service account's password, readable by dictum only (the password never goes in the TOML)."`
	UserBase         string     `toml:"user_base" doc:"Subtree searched for users, e.g. OU=Staff,DC=firm,DC=local."`
	UserFilter       string     `toml:"user_filter" doc:"Filter finding a user; {username} is replaced by the escaped login name: (sAMAccountName={username}) for AD, (uid={username}) for OpenLDAP."`
	RoleGroups       RoleGroups `toml:"role_groups" doc:"Group DNs that grant each Dictum role; a user in none of them cannot sign in."`
	NestedGroups     bool       `toml:"nested_groups" doc:"Count nested group membership (Active Directory's LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941)."`
	DisplayNameAttr  string     `toml:"display_name_attribute" doc:"Attribute with the user's display name."`
	EmailAttr        string     `toml:"email_attribute" doc:"Attribute with the user's e-mail address."`
	TimekeeperIDAttr string     `toml:"timekeeper_id_attribute" doc:"Attribute with the user's timekeeper id (empty: none)."`
	DisabledFilter   string     `toml:"disabled_filter" doc:"Extra filter matching disabled accounts for directories without userAccountControl, e.g. (pwdAccountLockedTime=*) (empty: none; AD's userAccountControl bit 2 is always honoured)."`
	LocalUsers       []string   `toml:"local_users" doc:"Local (non-directory) accounts that may still sign in while LDAP is on: break-glass admins."`
	SyncSchedule     string     `toml:"sync_schedule" doc:"Cron spec of the leaver sync (disables users gone, disabled or out of every mapped group); empty: only 'dictum ldap sync'."`
	Timeout          Duration   `toml:"timeout" doc:"Network timeout for each directory operation."`
}

// RoleGroups maps Dictum roles to directory group DNs.
type RoleGroups struct {
	Admin      string `toml:"admin" doc:"Group DN whose members are Dictum admins."`
	Billing    string `toml:"billing" doc:"Group DN whose members are billing staff."`
	Timekeeper string `toml:"timekeeper" doc:"Group DN whose members are timekeepers."`
}

// Enabled reports whether directory sign-in is configured.
func (l LDAP) Enabled() bool { return l.URL != "" }

// Backup configures encrypted backups and restore drills.
type Backup struct {
	Schedule      string `toml:"schedule" doc:"Cron spec for scheduled backups (empty: only on demand); default daily at 02:30."`
	Dir           string `toml:"dir" doc:"Directory backups are written to, e.g. a mounted NAS (empty: <data_dir>/backups)."`
	KeepDaily     int    `toml:"keep_daily" doc:"Rotation: keep the newest backup of each of this many most recent days."`
	KeepWeekly    int    `toml:"keep_weekly" doc:"Rotation: also keep the newest backup of each of this many most recent ISO weeks."`
	DrillSchedule string `toml:"drill_schedule" doc:"Cron spec for the restore drill (restore the newest backup into a scratch dir and check it); empty: off. Default weekly, Sunday 04:00."`
}

// Firm holds firm-wide settings.
type Firm struct {
	Name     string `toml:"name" doc:"Firm name shown in the UI and exports."`
	Timezone string `toml:"timezone" doc:"IANA time zone for civil dates (entry dates, 'today')."`
}

// Server holds listener settings.
type Server struct {
	Listen       string   `toml:"listen" doc:"Address to listen on (host:port)."`
	TLS          string   `toml:"tls" doc:"TLS mode: local (firm CA made at init), acme (DNS-01) or off; empty: off on a loopback address, else local."`
	Hosts        []string `toml:"hosts" doc:"Host names and IPs the certificate covers (empty: this machine's name and LAN addresses)."`
	DNSNames     []string `toml:"ca_dns_names" doc:"DNS names (and their subdomains) the firm root may certify, fixed at init (empty: the hostname)."`
	RedirectFrom string   `toml:"redirect_listen" doc:"Plain-HTTP listener that redirects to HTTPS and serves /ca.crt, e.g. :80 (empty: none)."`
	InsecureHTTP bool     `toml:"insecure_http" doc:"Allow plain HTTP on a non-loopback address (not recommended)."`
	ShutdownWait Duration `toml:"shutdown_timeout" doc:"How long graceful shutdown waits for requests and jobs."`
}

// ACME configures certificates from an ACME CA with the DNS-01 challenge.
type ACME struct {
	Directory       string `toml:"directory" doc:"ACME directory URL (empty: Let's Encrypt); an internal CA's URL works too."`
	Email           string `toml:"email" doc:"Contact email for the ACME account (accepting the CA's terms of service)."`
	DNSProvider     string `toml:"dns_provider" doc:"DNS provider for DNS-01: cloudflare, route53 or rfc2136."`
	CredentialsFile string `toml:"dns_credentials_file" doc:"File (0600) with KEY=VALUE lines for the DNS provider (e.g. api_token=...)."`
	CARootFile      string `toml:"ca_root_file" doc:"PEM root of an internal ACME CA, to trust its directory."`
}

// Keys holds key file locations.
type Keys struct {
	MasterFile string `toml:"master_file" doc:"Master key file (0600). Empty: <data_dir>/master.key, or $CREDENTIALS_DIRECTORY/master.key under systemd."`
}

// Auth holds session and password settings.
type Auth struct {
	SessionIdle     Duration `toml:"session_idle" doc:"A session ends after this much inactivity."`
	SessionMax      Duration `toml:"session_max" doc:"A session ends this long after login, active or not."`
	Argon2MemoryKiB uint32   `toml:"argon2_memory_kib" doc:"argon2id memory per hash in KiB (OWASP minimum 19456)."`
	Argon2Time      uint32   `toml:"argon2_time" doc:"argon2id iterations."`
	Argon2Threads   uint8    `toml:"argon2_threads" doc:"argon2id parallelism."`
	MinPassword     int      `toml:"min_password_length" doc:"Minimum password length."`
}

// Limits holds request limits.
type Limits struct {
	MaxUploadMB    int64    `toml:"max_upload_mb" doc:"Largest audio upload in MB (refused mid-stream with 413)."`
	MaxAudio       Duration `toml:"max_audio_duration" doc:"Longest audio accepted (413 beyond it)."`
	MaxJSONKB      int      `toml:"max_json_kb" doc:"Largest JSON request body in KiB."`
	RequestsPerMin int      `toml:"requests_per_minute" doc:"API requests per minute per user and per IP."`
	UploadsPerHour int      `toml:"uploads_per_hour" doc:"Audio uploads per hour per user."`
	LoginFailures  int      `toml:"login_failures" doc:"Failed logins before backoff starts (per account and per IP)."`
	UploadDailyMB  int64    `toml:"upload_daily_mb" doc:"Audio a user may upload in any 24 hours, in MB (429 past it)."`
	MaxConnsPerIP  int      `toml:"max_conns_per_ip" doc:"Open connections allowed from one client IP (0: no cap; raise it for a terminal server or proxy)."`
	ReadTimeout    Duration `toml:"read_timeout" doc:"Time to read a request's headers and body (uploads get upload_read_timeout)."`
	UploadTimeout  Duration `toml:"upload_read_timeout" doc:"Time to read an audio upload's body."`
}

// Trans holds transcription settings.
type Trans struct {
	Model         string `toml:"model" doc:"Whisper model: a catalogue name (base.en) or a file path."`
	ModelBaseURL  string `toml:"model_base_url" doc:"Where 'dictum model pull' downloads from (a mirror may be set)."`
	Workers       int    `toml:"workers" doc:"Concurrent transcription jobs."`
	Threads       int    `toml:"threads" doc:"CPU threads per transcription job."`
	Language      string `toml:"language" doc:"Spoken language code for whisper (en)."`
	InitialPrompt string `toml:"initial_prompt" doc:"Extra text for whisper's prompt; matter and client names are added automatically."`
	MaxAttempts   int    `toml:"max_attempts" doc:"A job that fails this many times is marked failed."`
	FFmpeg        string `toml:"ffmpeg" doc:"Path to ffmpeg for M4A/AAC; empty looks it up on PATH; '-' disables."`
	NoFallback    bool   `toml:"no_temperature_fallback" doc:"Disable whisper's temperature fallback (faster, for tests)."`
	// Remote backends (docs/scaling.md): the queue stays here, whisper runs elsewhere.
	Backend           string   `toml:"backend" doc:"Where speech is recognised: local (this server), whisper-server (whisper.cpp's HTTP server), openai (any OpenAI-compatible /v1/audio/transcriptions server) or azure (an Azure OpenAI whisper deployment)."`
	BackendURLs       []string `toml:"backend_urls" doc:"Base URLs of the remote backends, e.g. [\"https://gpu1.firm.local:8178\"]; used concurrently (comma-separated in DICTUM_TRANSCRIBE_BACKEND_URLS)."`
	BackendSlots      int      `toml:"backend_slots" doc:"Jobs in flight per backend URL."`
	BackendKeyFile    string   `toml:"backend_key_file" doc:"File (0600) holding a bearer key sent to the backends (Azure: the api-key); empty: none. Never logged."`
	BackendCAFile     string   `toml:"backend_ca_file" doc:"PEM CA that https backends are verified against (empty: the firm CA <data_dir>/ca/ca.crt when present, plus the system roots)."`
	BackendModel      string   `toml:"backend_model" doc:"Model name sent to an openai backend; the deployment name for azure."`
	BackendAPIVersion string   `toml:"backend_api_version" doc:"Azure OpenAI API version (azure backend only)."`
	BackendTimeout    Duration `toml:"backend_timeout" doc:"Longest one remote transcription may take before another backend is tried."`
	FallbackLocal     bool     `toml:"fallback_local" doc:"When no remote backend answers, transcribe on this server instead of waiting (needs the local model)."`
	TrimSilence       bool     `toml:"trim_silence" doc:"Drop leading and trailing silence and shorten pauses over 0.6 s before whisper (energy-based, relative to the recording's noise floor); timestamps stay those of the original audio."`
}

// Draft holds drafting settings.
type Draft struct {
	Engine           string `toml:"engine" doc:"Drafting engine: rules (built in), ollama or azure."`
	IncrementMinutes int    `toml:"increment_minutes" doc:"Billing increment; hours round up to it (6 = tenths)."`
	LookbackDays     int    `toml:"lookback_days" doc:"Oldest date a draft may carry, in days before today."`
	Ollama           Ollama `toml:"ollama"`
	Azure            Azure  `toml:"azure"`
}

// Ollama configures a local Ollama server.
type Ollama struct {
	Host    string   `toml:"host" doc:"Ollama base URL, e.g. http://127.0.0.1:11434 (nothing is sent unless set)."`
	Model   string   `toml:"model" doc:"Ollama model name."`
	Timeout Duration `toml:"timeout" doc:"Per-request timeout."`
	Retries int      `toml:"retries" doc:"Retries on 429/5xx."`
}

// Azure configures the firm's Azure OpenAI deployment.
type Azure struct {
	Endpoint   string   `toml:"endpoint" doc:"https://<resource>.openai.azure.com (nothing is sent unless set)."`
	Deployment string   `toml:"deployment" doc:"Deployment name."`
	APIVersion string   `toml:"api_version" doc:"Azure OpenAI API version."`
	APIKeyFile string   `toml:"api_key_file" doc:"File (0600) holding the API key; or set DICTUM_DRAFT_AZURE_API_KEY."`
	APIKey     string   `toml:"api_key" doc:"The API key itself (prefer api_key_file); never logged." secret:"true"`
	Timeout    Duration `toml:"timeout" doc:"Per-request timeout."`
	Retries    int      `toml:"retries" doc:"Retries on 429/5xx."`
}

// Clio configures the connection to the firm's Clio account (nothing is sent unless set).
type Clio struct {
	ClientID         string `toml:"client_id" doc:"OAuth client id of the firm's Clio developer app (empty: Clio is off)."`
	ClientSecret     string `toml:"client_secret" doc:"OAuth client secret (prefer client_secret_file); never logged." secret:"true"`
	ClientSecretFile string `toml:"client_secret_file" doc:"File (0600) holding the client secret; or set DICTUM_CLIO_CLIENT_SECRET."`
	Region           string `toml:"region" doc:"Clio region: us, ca, eu or au (chooses the host)."`
	RedirectURL      string `toml:"redirect_url" doc:"OAuth redirect URL registered with Clio, e.g. https://dictum.firm.local/clio/callback."`
	BaseURL          string `toml:"base_url" doc:"Override the Clio host (tests, proxies); empty uses the region's host."`
	SyncSchedule     string `toml:"sync_schedule" doc:"Cron spec for pushing approved entries (empty: only on demand), e.g. '0 */2 * * *'."`
}

// Retention schedules the retention job; the policy itself (window, auto-delete, audio
// window) is a firm setting an admin changes in the web app.
type Retention struct {
	Schedule string `toml:"schedule" doc:"Cron spec of the retention run (it deletes only what the firm's retention settings allow; auto-delete is off by default); empty: only 'dictum retention run'."`
}

// Log holds logging settings.
type Log struct {
	Level string `toml:"level" doc:"debug, info, warn or error."`
	File  string `toml:"file" doc:"Write the JSON log to this file (absolute path), rotated by size; empty: standard output (the journal under systemd), or <data_dir>/logs/dictum.log when running as a Windows service."`
	MaxMB int    `toml:"max_mb" doc:"Rotate the log file when it reaches this many MiB."`
	Keep  int    `toml:"keep" doc:"Rotated log files kept (dictum.log.1 is the newest); older ones are deleted."`
}

// Defaults returns the embedded defaults.
func Defaults() Config {
	return Config{
		DataDir: platform.DefaultDataDir(), // /var/lib/dictum; %ProgramData%\Dictum on Windows
		Firm:    Firm{Name: "", Timezone: "Local"},
		Server:  Server{Listen: "127.0.0.1:8080", TLS: "", ShutdownWait: Duration{30 * time.Second}},
		Auth: Auth{SessionIdle: Duration{8 * time.Hour}, SessionMax: Duration{7 * 24 * time.Hour},
			Argon2MemoryKiB: 47104, Argon2Time: 1, Argon2Threads: 1, MinPassword: 10},
		Limits: Limits{MaxUploadMB: 200, MaxAudio: Duration{2 * time.Hour}, MaxJSONKB: 256,
			RequestsPerMin: 600, UploadsPerHour: 120, LoginFailures: 5,
			UploadDailyMB: 2048, MaxConnsPerIP: 64, ReadTimeout: Duration{time.Minute}, UploadTimeout: Duration{10 * time.Minute}},
		Trans: Trans{Model: "base.en", ModelBaseURL: "https://huggingface.co/ggerganov/whisper.cpp/resolve/main",
			Workers: 1, Threads: 2, Language: "en", MaxAttempts: 3, TrimSilence: true,
			Backend: "local", BackendSlots: 1, BackendModel: "whisper-1", BackendAPIVersion: "2024-06-01", BackendTimeout: Duration{10 * time.Minute}},
		Draft: Draft{Engine: "rules", IncrementMinutes: 6, LookbackDays: 60,
			Ollama: Ollama{Model: "llama3.2", Timeout: Duration{60 * time.Second}, Retries: 2},
			Azure:  Azure{APIVersion: "2024-10-21", Timeout: Duration{30 * time.Second}, Retries: 2}},
		Clio:      Clio{Region: "us"},
		Backup:    Backup{Schedule: "30 2 * * *", KeepDaily: 7, KeepWeekly: 4, DrillSchedule: "0 4 * * 0"},
		Log:       Log{Level: "info", MaxMB: 10, Keep: 5},
		Retention: Retention{Schedule: "15 3 * * *"},
		LDAP: LDAP{UserFilter: "(sAMAccountName={username})", DisplayNameAttr: "displayName", EmailAttr: "mail",
			TimekeeperIDAttr: "employeeID", SyncSchedule: "*/15 * * * *", Timeout: Duration{10 * time.Second}},
	}
}

// KeyError names a bad configuration key and why it is bad.
type KeyError struct {
	Key    string // dotted key, e.g. transcribe.workers
	Source string // file path or env variable
	Reason string
}

func (e *KeyError) Error() string {
	if e.Source != "" {
		return fmt.Sprintf("config %s (%s): %s", e.Key, e.Source, e.Reason)
	}
	return fmt.Sprintf("config %s: %s", e.Key, e.Reason)
}

// Errors is a list of configuration problems.
type Errors []error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap exposes the individual problems to errors.Is/As.
func (es Errors) Unwrap() []error { return es }

// Load builds the configuration: defaults, then the file at path (if path is "" the default
// path is used when it exists), then the environment. explicit says whether the path was
// given by the user, in which case a missing file is an error.
func Load(path string, explicit bool, environ []string) (Config, []string, error) {
	cfg := Defaults()
	var warnings []string
	if path == "" {
		path = DefaultPath
	}
	if b, err := os.ReadFile(path); err == nil {
		md, err := toml.Decode(string(b), &cfg)
		if err != nil {
			return cfg, nil, fmt.Errorf("config file %s: %w", path, err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			var es Errors
			for _, k := range und {
				es = append(es, &KeyError{Key: k.String(), Source: path, Reason: "unknown key (see `dictum config defaults`)"})
			}
			return cfg, nil, es
		}
	} else if !errors.Is(err, os.ErrNotExist) || explicit {
		return cfg, nil, fmt.Errorf("config file %s: %w", path, err)
	}
	w, err := applyEnv(&cfg, environ)
	warnings = append(warnings, w...)
	if err != nil {
		return cfg, warnings, err
	}
	return cfg, warnings, nil
}

// nonConfigEnv are DICTUM_* variables that are not configuration keys.
var nonConfigEnv = map[string]bool{"DICTUM_CONFIG": true, "DICTUM_DATA": true, "DICTUM_CACHE": true,
	"DICTUM_WHISPER_PREFIX": true, "DICTUM_SQLCIPHER_PREFIX": true, "DICTUM_TEST_MODEL": true}

type field struct {
	key    string
	env    string
	v      reflect.Value
	doc    string
	secret bool
}

func fields(cfg *Config) []field {
	var out []field
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			name := sf.Tag.Get("toml")
			if name == "" || !sf.IsExported() {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct && fv.Type() != reflect.TypeOf(Duration{}) {
				walk(fv, key)
				continue
			}
			env := "DICTUM_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
			out = append(out, field{key: key, env: env, v: fv, doc: sf.Tag.Get("doc"), secret: sf.Tag.Get("secret") == "true"})
		}
	}
	walk(reflect.ValueOf(cfg).Elem(), "")
	return out
}

func applyEnv(cfg *Config, environ []string) ([]string, error) {
	byEnv := map[string]field{}
	for _, f := range fields(cfg) {
		byEnv[f.env] = f
	}
	var warnings []string
	var es Errors
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "DICTUM_") || nonConfigEnv[name] {
			continue
		}
		f, ok := byEnv[name]
		if !ok {
			warnings = append(warnings, fmt.Sprintf("environment variable %s is not a configuration key; ignored", name))
			continue
		}
		if err := setValue(f.v, val); err != nil {
			es = append(es, &KeyError{Key: f.key, Source: name, Reason: err.Error()})
		}
	}
	if len(es) > 0 {
		return warnings, es
	}
	return warnings, nil
}

func setValue(v reflect.Value, s string) error {
	if u, ok := v.Addr().Interface().(interface{ UnmarshalText([]byte) error }); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Slice: // []string: comma-separated
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not true or false: %q", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", s)
		}
		v.SetInt(n)
	case reflect.Uint8, reflect.Uint32:
		n, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("not a whole number in range: %q", s)
		}
		v.SetUint(n)
	default:
		return fmt.Errorf("unsupported type %s", v.Kind())
	}
	return nil
}

// Validate checks every value and names each bad key with the reason.
func (c *Config) Validate() error {
	var es Errors
	bad := func(key, format string, a ...any) {
		es = append(es, &KeyError{Key: key, Reason: fmt.Sprintf(format, a...)})
	}
	if c.DataDir == "" || !filepath.IsAbs(c.DataDir) {
		bad("data_dir", "must be an absolute path, got %q", c.DataDir)
	}
	if _, err := c.Location(); err != nil {
		bad("firm.timezone", "unknown time zone %q", c.Firm.Timezone)
	}
	if host, port, err := net.SplitHostPort(c.Server.Listen); err != nil {
		bad("server.listen", "must be host:port, got %q", c.Server.Listen)
	} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		bad("server.listen", "bad port %q", port)
	} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		bad("server.listen", "host must be an IP address or localhost, got %q", host)
	}
	switch c.Server.TLS {
	case "", "off", "local", "acme":
	default:
		bad("server.tls", "must be off, local or acme, got %q", c.Server.TLS)
	}
	if c.Server.ShutdownWait.Duration < 0 {
		bad("server.shutdown_timeout", "must not be negative")
	}
	if c.Auth.SessionIdle.Duration < time.Minute {
		bad("auth.session_idle", "must be at least 1m")
	}
	if c.Auth.SessionMax.Duration < c.Auth.SessionIdle.Duration {
		bad("auth.session_max", "must be at least auth.session_idle")
	}
	if c.Auth.Argon2MemoryKiB < 8*1024 {
		bad("auth.argon2_memory_kib", "must be at least 8192 (OWASP recommends >= 19456)")
	}
	if c.Auth.Argon2Time < 1 || c.Auth.Argon2Threads < 1 {
		bad("auth.argon2_time", "argon2_time and argon2_threads must be at least 1")
	}
	if c.Auth.MinPassword < 8 {
		bad("auth.min_password_length", "must be at least 8")
	}
	if c.Limits.MaxUploadMB < 1 {
		bad("limits.max_upload_mb", "must be at least 1")
	}
	if c.Limits.MaxAudio.Duration < time.Second {
		bad("limits.max_audio_duration", "must be at least 1s")
	}
	if c.Limits.MaxJSONKB < 1 {
		bad("limits.max_json_kb", "must be at least 1")
	}
	if c.Limits.RequestsPerMin < 1 || c.Limits.UploadsPerHour < 1 || c.Limits.LoginFailures < 1 {
		bad("limits", "requests_per_minute, uploads_per_hour and login_failures must be at least 1")
	}
	if c.Limits.UploadDailyMB < 1 {
		bad("limits.upload_daily_mb", "must be at least 1")
	}
	if c.Limits.MaxConnsPerIP < 0 {
		bad("limits.max_conns_per_ip", "must be 0 (no cap) or more, got %d", c.Limits.MaxConnsPerIP)
	}
	if c.Limits.ReadTimeout.Duration < time.Second {
		bad("limits.read_timeout", "must be at least 1s")
	}
	if c.Limits.UploadTimeout.Duration < c.Limits.ReadTimeout.Duration {
		bad("limits.upload_read_timeout", "must be at least limits.read_timeout")
	}
	if c.Trans.Model == "" {
		bad("transcribe.model", "must name a catalogue model (base.en) or a file")
	}
	if c.Trans.Workers < 1 || c.Trans.Workers > 64 {
		bad("transcribe.workers", "must be between 1 and 64, got %d", c.Trans.Workers)
	}
	if c.Trans.Threads < 1 || c.Trans.Threads > 256 {
		bad("transcribe.threads", "must be between 1 and 256, got %d", c.Trans.Threads)
	}
	if c.Trans.MaxAttempts < 1 {
		bad("transcribe.max_attempts", "must be at least 1")
	}
	switch c.Trans.Backend {
	case "local":
	case "whisper-server", "openai", "azure":
		if len(c.Trans.BackendURLs) == 0 {
			bad("transcribe.backend_urls", "at least one URL is needed when transcribe.backend is %s", c.Trans.Backend)
		}
		for _, raw := range c.Trans.BackendURLs {
			u, err := url.Parse(raw)
			switch {
			case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
				bad("transcribe.backend_urls", "%q is not an http(s) URL", raw)
			case u.User != nil || u.RawQuery != "":
				bad("transcribe.backend_urls", "%q must not carry credentials or a query (use backend_key_file)", u.Host)
			case c.Trans.Backend == "azure" && u.Scheme != "https":
				bad("transcribe.backend_urls", "azure endpoint %q must use https", raw)
			}
		}
		if c.Trans.Backend == "azure" && (c.Trans.BackendKeyFile == "" || c.Trans.BackendModel == "" || c.Trans.BackendAPIVersion == "") {
			bad("transcribe.backend_key_file", "azure needs backend_key_file, backend_model (the deployment) and backend_api_version")
		}
	default:
		bad("transcribe.backend", "must be local, whisper-server, openai or azure, got %q", c.Trans.Backend)
	}
	if c.Trans.BackendSlots < 1 || c.Trans.BackendSlots > 64 {
		bad("transcribe.backend_slots", "must be between 1 and 64, got %d", c.Trans.BackendSlots)
	}
	if c.Trans.BackendTimeout.Duration < time.Second {
		bad("transcribe.backend_timeout", "must be at least 1s")
	}
	switch c.Draft.Engine {
	case "rules":
	case "ollama":
		if c.Draft.Ollama.Host == "" {
			bad("draft.ollama.host", "must be set when draft.engine is ollama")
		}
	case "azure":
		if c.Draft.Azure.Endpoint == "" || c.Draft.Azure.Deployment == "" {
			bad("draft.azure.endpoint", "endpoint and deployment must be set when draft.engine is azure")
		}
		if c.Draft.Azure.APIKey == "" && c.Draft.Azure.APIKeyFile == "" {
			bad("draft.azure.api_key_file", "an API key file (or DICTUM_DRAFT_AZURE_API_KEY) is needed when draft.engine is azure")
		}
	default:
		bad("draft.engine", "must be rules, ollama or azure, got %q", c.Draft.Engine)
	}
	if m := c.Draft.IncrementMinutes; m < 1 || m > 60 || 60%m != 0 {
		bad("draft.increment_minutes", "must divide an hour (1, 2, 3, 5, 6, 10, 15, 30, 60), got %d", m)
	}
	if c.Draft.LookbackDays < 1 || c.Draft.LookbackDays > 3660 {
		bad("draft.lookback_days", "must be between 1 and 3660")
	}
	switch c.Clio.Region {
	case "us", "ca", "eu", "au":
	default:
		bad("clio.region", "must be us, ca, eu or au, got %q", c.Clio.Region)
	}
	if c.Clio.ClientID != "" && c.Clio.RedirectURL == "" {
		bad("clio.redirect_url", "must be set when clio.client_id is set")
	}
	for key, spec := range map[string]string{"backup.schedule": c.Backup.Schedule, "backup.drill_schedule": c.Backup.DrillSchedule, "retention.schedule": c.Retention.Schedule} {
		if spec != "" {
			if _, err := cronParser.Parse(spec); err != nil {
				bad(key, "not a cron spec %q: %v (want five fields like '30 2 * * *', or @daily)", spec, err)
			}
		}
	}
	if c.Backup.Dir != "" && !filepath.IsAbs(c.Backup.Dir) {
		bad("backup.dir", "must be an absolute path, got %q", c.Backup.Dir)
	}
	if c.Backup.KeepDaily < 1 || c.Backup.KeepDaily > 3660 {
		bad("backup.keep_daily", "must be between 1 and 3660, got %d", c.Backup.KeepDaily)
	}
	if c.Backup.KeepWeekly < 0 || c.Backup.KeepWeekly > 520 {
		bad("backup.keep_weekly", "must be between 0 and 520, got %d", c.Backup.KeepWeekly)
	}
	c.validateLDAP(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.File != "" && !filepath.IsAbs(c.Log.File) {
		bad("log.file", "must be an absolute path, got %q", c.Log.File)
	}
	if c.Log.MaxMB < 1 || c.Log.MaxMB > 10240 {
		bad("log.max_mb", "must be between 1 and 10240, got %d", c.Log.MaxMB)
	}
	if c.Log.Keep < 0 || c.Log.Keep > 100 {
		bad("log.keep", "must be between 0 and 100, got %d", c.Log.Keep)
	}
	if len(es) > 0 {
		return es
	}
	return nil
}

// Location is the firm's time zone.
func (c *Config) Location() (*time.Location, error) {
	if c.Firm.Timezone == "" || c.Firm.Timezone == "Local" {
		return time.Local, nil
	}
	return time.LoadLocation(c.Firm.Timezone)
}

// LogFile is where the JSON log goes: log.file, else <data_dir>/logs/dictum.log when
// running as a Windows service (nobody reads its standard output), else "" (stdout).
func (c *Config) LogFile(service bool) string {
	if c.Log.File != "" {
		return c.Log.File
	}
	if service {
		return filepath.Join(c.DataDir, "logs", "dictum.log")
	}
	return ""
}

// MasterKeyPath resolves where the master key lives.
func (c *Config) MasterKeyPath() string {
	if c.Keys.MasterFile != "" {
		return c.Keys.MasterFile
	}
	if d := os.Getenv("CREDENTIALS_DIRECTORY"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "master.key")); err == nil {
			return filepath.Join(d, "master.key")
		}
	}
	return filepath.Join(c.DataDir, "master.key")
}

// DBPath is the database file.
func (c *Config) DBPath() string { return filepath.Join(c.DataDir, "dictum.db") }

// BackupDir is where backup files are written.
func (c *Config) BackupDir() string {
	if c.Backup.Dir != "" {
		return c.Backup.Dir
	}
	return filepath.Join(c.DataDir, "backups")
}

// cronParser accepts what internal/scheduler accepts (five fields or a descriptor).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// BlobDir is where encrypted blobs live.
func (c *Config) BlobDir() string { return filepath.Join(c.DataDir, "blobs") }

// ModelsDir is where whisper models live.
func (c *Config) ModelsDir() string { return filepath.Join(c.DataDir, "models") }

// AzureKey returns the Azure API key from the config, env (already applied) or key file.
func (c *Config) AzureKey() (string, error) {
	if c.Draft.Azure.APIKey != "" {
		return c.Draft.Azure.APIKey, nil
	}
	if c.Draft.Azure.APIKeyFile == "" {
		return "", nil
	}
	return readSecretFile("draft.azure.api_key_file", c.Draft.Azure.APIKeyFile)
}

// BackendKey returns the bearer key for remote transcription backends ("" when none).
func (c *Config) BackendKey() (string, error) {
	if c.Trans.BackendKeyFile == "" {
		return "", nil
	}
	return readSecretFile("transcribe.backend_key_file", c.Trans.BackendKeyFile)
}

// RemoteTranscription says whether recordings' audio leaves this server for transcription.
func (c *Config) RemoteTranscription() bool {
	return c.Trans.Backend != "" && c.Trans.Backend != "local"
}

// ACMECredentials reads the DNS provider credentials file (KEY=VALUE lines).
func (c *Config) ACMECredentials() (map[string]string, error) {
	out := map[string]string{}
	if c.ACME.CredentialsFile == "" {
		return out, nil
	}
	body, err := readSecretFile("acme.dns_credentials_file", c.ACME.CredentialsFile)
	if err != nil {
		return nil, err
	}
	for i, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("acme.dns_credentials_file line %d: want KEY=VALUE", i+1)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// ClioSecret returns the Clio client secret from the config, env (already applied) or file.
func (c *Config) ClioSecret() (string, error) {
	if c.Clio.ClientSecret != "" {
		return c.Clio.ClientSecret, nil
	}
	if c.Clio.ClientSecretFile == "" {
		return "", nil
	}
	return readSecretFile("clio.client_secret_file", c.Clio.ClientSecretFile)
}

func readSecretFile(key, path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	if platform.TooOpen(fi) {
		return "", fmt.Errorf("%s %s is readable by group or others; chmod 600 it", key, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Describe lists every key with its env name, current value and doc (secrets masked).
func (c *Config) Describe() []string {
	fs := fields(c)
	sort.Slice(fs, func(i, j int) bool { return fs[i].key < fs[j].key })
	var out []string
	for _, f := range fs {
		val := fmt.Sprint(f.v.Interface())
		if d, ok := f.v.Interface().(Duration); ok {
			val = d.String()
		}
		if f.secret && val != "" {
			val = "(set)"
		}
		out = append(out, fmt.Sprintf("%-34s %-40s %s\n    %s", f.key, strconv.Quote(val), f.env, f.doc))
	}
	return out
}
