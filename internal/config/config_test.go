package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dictum.toml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsValidate(t *testing.T) {
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestFileAndEnv(t *testing.T) {
	p := writeFile(t, `
data_dir = "/srv/dictum"
[transcribe]
model = "tiny.en"
workers = 2
[draft.ollama]
timeout = "5s"
`)
	c, warn, err := Load(p, true, []string{"DICTUM_TRANSCRIBE_MODEL=/models/x.bin", "DICTUM_SERVER_LISTEN=0.0.0.0:9000", "DICTUM_BOGUS=1", "DICTUM_CACHE=/x", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/srv/dictum" || c.Trans.Workers != 2 || c.Draft.Ollama.Timeout.Duration != 5*time.Second {
		t.Fatalf("file not applied: %+v", c)
	}
	if c.Trans.Model != "/models/x.bin" || c.Server.Listen != "0.0.0.0:9000" {
		t.Fatalf("env not applied: %q %q", c.Trans.Model, c.Server.Listen)
	}
	if len(warn) != 1 || !strings.Contains(warn[0], "DICTUM_BOGUS") {
		t.Fatalf("warnings %v", warn)
	}
}

// transcribe.trim_silence is on by default; the file or the environment turn it off.
func TestTrimSilenceKey(t *testing.T) {
	if !Defaults().Trans.TrimSilence {
		t.Fatal("trim_silence is off by default")
	}
	c, _, err := Load(writeFile(t, "[transcribe]\ntrim_silence = false\n"), true, nil)
	if err != nil || c.Trans.TrimSilence {
		t.Fatalf("file: %v %v", err, c.Trans.TrimSilence)
	}
	c, _, err = Load(writeFile(t, ""), true, []string{"DICTUM_TRANSCRIBE_TRIM_SILENCE=false"})
	if err != nil || c.Trans.TrimSilence {
		t.Fatalf("env: %v %v", err, c.Trans.TrimSilence)
	}
	if _, _, err := Load(writeFile(t, ""), true, []string{"DICTUM_TRANSCRIBE_TRIM_SILENCE=maybe"}); err == nil || !strings.Contains(err.Error(), "transcribe.trim_silence") {
		t.Fatalf("bad env value: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name, file string
		env        []string
		wantKey    string
		wantMsg    string
	}{
		{"unknown key", "[transcribe]\nmodle = \"x\"\n", nil, "transcribe.modle", "unknown key"},
		{"unknown section", "[nope]\na = 1\n", nil, "nope", "unknown key"},
		{"bad duration", "[auth]\nsession_idle = \"soon\"\n", nil, "", "duration"},
		{"bad toml", "data_dir = \n", nil, "", "config file"},
		{"env bad int", "", []string{"DICTUM_TRANSCRIBE_WORKERS=two"}, "transcribe.workers", "whole number"},
		{"env bad bool", "", []string{"DICTUM_SERVER_INSECURE_HTTP=maybe"}, "server.insecure_http", "true or false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, tc.file)
			_, _, err := Load(p, true, tc.env)
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.Contains(err.Error(), tc.wantKey) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %q should name %q and say %q", err, tc.wantKey, tc.wantMsg)
			}
		})
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing.toml"), true, nil); err == nil {
		t.Fatal("missing explicit file must be an error")
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "missing.toml"), false, nil); err != nil {
		t.Fatalf("missing default file is fine: %v", err)
	}
}

func TestValidateNamesKeys(t *testing.T) {
	cases := []struct {
		mut func(*Config)
		key string
	}{
		{func(c *Config) { c.DataDir = "relative" }, "data_dir"},
		{func(c *Config) { c.Firm.Timezone = "Mars/Olympus" }, "firm.timezone"},
		{func(c *Config) { c.Server.Listen = "8080" }, "server.listen"},
		{func(c *Config) { c.Server.TLS = "maybe" }, "server.tls"},
		{func(c *Config) { c.Trans.Workers = 0 }, "transcribe.workers"},
		{func(c *Config) { c.Draft.Engine = "gpt" }, "draft.engine"},
		{func(c *Config) { c.Draft.Engine = "ollama" }, "draft.ollama.host"},
		{func(c *Config) { c.Draft.IncrementMinutes = 7 }, "draft.increment_minutes"},
		{func(c *Config) { c.Log.Level = "loud" }, "log.level"},
		{func(c *Config) { c.Log.File = "logs/dictum.log" }, "log.file"},
		{func(c *Config) { c.Log.MaxMB = 0 }, "log.max_mb"},
		{func(c *Config) { c.Log.Keep = -1 }, "log.keep"},
		{func(c *Config) { c.Log.Keep = 101 }, "log.keep"},
		{func(c *Config) { c.Limits.MaxUploadMB = 0 }, "limits.max_upload_mb"},
		{func(c *Config) { c.Backup.Schedule = "daily at 2" }, "backup.schedule"},
		{func(c *Config) { c.Backup.DrillSchedule = "61 * * * *" }, "backup.drill_schedule"},
		{func(c *Config) { c.Backup.Dir = "nas/backups" }, "backup.dir"},
		{func(c *Config) { c.Backup.KeepDaily = 0 }, "backup.keep_daily"},
		{func(c *Config) { c.Backup.KeepWeekly = -1 }, "backup.keep_weekly"},
		{func(c *Config) { c.Limits.UploadDailyMB = 0 }, "limits.upload_daily_mb"},
		{func(c *Config) { c.Limits.MaxConnsPerIP = -1 }, "limits.max_conns_per_ip"},
		{func(c *Config) { c.Limits.ReadTimeout.Duration = 0 }, "limits.read_timeout"},
		{func(c *Config) { c.Limits.UploadTimeout.Duration = time.Second }, "limits.upload_read_timeout"},
		{func(c *Config) { c.Retention.Schedule = "daily at three" }, "retention.schedule"},
		{func(c *Config) { c.LDAP.SyncSchedule = "every 15 minutes" }, "ldap.sync_schedule"},
		{func(c *Config) { ldapOn(c); c.LDAP.URL = "http://dc1" }, "ldap.url"},
		{func(c *Config) { ldapOn(c); c.LDAP.URL = "ldap://dc1" }, "ldap.url"},
		{func(c *Config) { ldapOn(c); c.LDAP.StartTLS = true }, "ldap.start_tls"},
		{func(c *Config) { ldapOn(c); c.LDAP.BindDN = "" }, "ldap.bind_dn"},
		{func(c *Config) { ldapOn(c); c.LDAP.BindPasswordFile = "" }, "ldap.bind_password_file"},
		{func(c *Config) { ldapOn(c); c.LDAP.BindPasswordFile = "pw.txt" }, "ldap.bind_password_file"},
		{func(c *Config) { ldapOn(c); c.LDAP.UserBase = "" }, "ldap.user_base"},
		{func(c *Config) { ldapOn(c); c.LDAP.UserFilter = "(uid=admin)" }, "ldap.user_filter"},
		{func(c *Config) { ldapOn(c); c.LDAP.UserFilter = "(uid={username}" }, "ldap.user_filter"},
		{func(c *Config) { ldapOn(c); c.LDAP.DisabledFilter = "locked" }, "ldap.disabled_filter"},
		{func(c *Config) { ldapOn(c); c.LDAP.RoleGroups = RoleGroups{} }, "ldap.role_groups"},
		{func(c *Config) { ldapOn(c); c.LDAP.RoleGroups.Billing = "not a dn" }, "ldap.role_groups.billing"},
		{func(c *Config) { ldapOn(c); c.LDAP.CAFile = "ca.pem" }, "ldap.ca_file"},
		{func(c *Config) { ldapOn(c); c.LDAP.Timeout.Duration = 0 }, "ldap.timeout"},
	}
	for _, tc := range cases {
		c := Defaults()
		tc.mut(&c)
		err := c.Validate()
		var ke *KeyError
		if err == nil || !errors.As(err, &ke) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: got %v", tc.key, err)
		}
	}
}

func TestDescribeMasksSecrets(t *testing.T) {
	c := Defaults()
	c.Draft.Azure.APIKey = "sk-very-secret"
	for _, l := range c.Describe() {
		if strings.Contains(l, "sk-very-secret") {
			t.Fatal("secret printed")
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("data_dir = \"/x\"\n[transcribe]\nworkers = 3\n")
	f.Add("[draft.azure]\ntimeout = \"1s\"\n")
	f.Add("\x00[[")
	f.Fuzz(func(t *testing.T, s string) {
		p := filepath.Join(t.TempDir(), "c.toml")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		c, _, err := Load(p, true, nil)
		if err == nil {
			_ = c.Validate()
		}
	})
}

func TestEnvList(t *testing.T) {
	c, _, err := Load(writeFile(t, ""), true, []string{"DICTUM_SERVER_HOSTS=dictum.firm.lan, 10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Server.Hosts) != 2 || c.Server.Hosts[1] != "10.0.0.5" {
		t.Fatalf("hosts %v", c.Server.Hosts)
	}
}

// ldapOn sets a valid [ldap] section.
func ldapOn(c *Config) {
	c.LDAP.URL = "ldaps://dc1.firm.local"
	c.LDAP.BindDN = "CN=svc-dictum,OU=Service,DC=firm,DC=local"
	c.LDAP.BindPasswordFile = "/etc/dictum/ldap.pw"
	c.LDAP.UserBase = "OU=Staff,DC=firm,DC=local"
	c.LDAP.RoleGroups = RoleGroups{Admin: "CN=Dictum Admins,OU=Groups,DC=firm,DC=local"}
}

// The [ldap] section's contract: key names from the issue, defaults, a valid AD setup.
func TestLDAPKeys(t *testing.T) {
	d := Defaults()
	if d.LDAP.Enabled() || d.LDAP.UserFilter != "(sAMAccountName={username})" || d.LDAP.SyncSchedule != "*/15 * * * *" {
		t.Fatalf("defaults: %+v", d.LDAP)
	}
	c, _, err := Load(writeFile(t, `[ldap]
url = "ldap://dc1.firm.local"
start_tls = true
ca_file = "/etc/dictum/firm-ca.pem"
bind_dn = "CN=svc-dictum,OU=Service,DC=firm,DC=local"
bind_password_file = "/etc/dictum/ldap.pw"
user_base = "OU=Staff,DC=firm,DC=local"
user_filter = "(sAMAccountName={username})"
role_groups = { admin = "CN=Dictum Admins,OU=Groups,DC=firm,DC=local", billing = "CN=Billing,OU=Groups,DC=firm,DC=local", timekeeper = "CN=Lawyers,OU=Groups,DC=firm,DC=local" }
nested_groups = true
local_users = ["breakglass"]
`), true, []string{"DICTUM_LDAP_SYNC_SCHEDULE=*/5 * * * *"})
	if err != nil {
		t.Fatal(err)
	}
	l := c.LDAP
	if !l.Enabled() || !l.StartTLS || l.RoleGroups.Billing != "CN=Billing,OU=Groups,DC=firm,DC=local" || !l.NestedGroups ||
		len(l.LocalUsers) != 1 || l.SyncSchedule != "*/5 * * * *" {
		t.Fatalf("not applied: %+v", l)
	}
	if _, _, err := Load(writeFile(t, "[ldap]\nbind_password = \"secret\"\n"), true, nil); err == nil || !strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("a password in the TOML must be refused: %v", err)
	}
}

// The remote-backend keys: local by default; the file and the environment (URLs
// comma-separated) choose whisper-server backends.
func TestBackendKeys(t *testing.T) {
	d := Defaults()
	if d.Trans.Backend != "local" || d.Trans.BackendSlots != 1 || d.Trans.FallbackLocal || d.RemoteTranscription() {
		t.Fatalf("defaults: %+v", d.Trans)
	}
	c, _, err := Load(writeFile(t, "[transcribe]\nbackend = \"whisper-server\"\nbackend_urls = [\"http://127.0.0.1:8178\"]\nbackend_slots = 2\nfallback_local = true\n"), true, nil)
	if err != nil || c.Trans.Backend != "whisper-server" || len(c.Trans.BackendURLs) != 1 || c.Trans.BackendSlots != 2 || !c.Trans.FallbackLocal || !c.RemoteTranscription() {
		t.Fatalf("file: %v %+v", err, c.Trans)
	}
	c, _, err = Load(writeFile(t, ""), true, []string{"DICTUM_TRANSCRIBE_BACKEND=openai", "DICTUM_TRANSCRIBE_BACKEND_URLS=https://gpu1.firm.local:8000, https://gpu2.firm.local:8000"})
	if err != nil || c.Trans.Backend != "openai" || len(c.Trans.BackendURLs) != 2 || c.Trans.BackendURLs[1] != "https://gpu2.firm.local:8000" {
		t.Fatalf("env: %v %+v", err, c.Trans)
	}
}

// Bad remote-backend settings are refused by Validate, naming the key.
func TestBackendValidate(t *testing.T) {
	cases := []struct {
		name, file string
		env        []string
		wantKey    string
		wantMsg    string
	}{
		{"unknown backend", "", []string{"DICTUM_TRANSCRIBE_BACKEND=gpu"}, "transcribe.backend", "must be local, whisper-server, openai or azure"},
		{"remote backend without urls", "[transcribe]\nbackend = \"whisper-server\"\n", nil, "transcribe.backend_urls", "at least one URL"},
		{"backend url not http", "", []string{"DICTUM_TRANSCRIBE_BACKEND=openai", "DICTUM_TRANSCRIBE_BACKEND_URLS=gpu1:8178"}, "transcribe.backend_urls", "not an http(s) URL"},
		{"backend url with credentials", "", []string{"DICTUM_TRANSCRIBE_BACKEND=openai", "DICTUM_TRANSCRIBE_BACKEND_URLS=https://u:p@gpu1"}, "transcribe.backend_urls", "must not carry credentials"},
		{"azure over http", "[transcribe]\nbackend = \"azure\"\nbackend_urls = [\"http://x.openai.azure.com\"]\nbackend_key_file = \"/k\"\n", nil, "transcribe.backend_urls", "must use https"},
		{"azure without key", "[transcribe]\nbackend = \"azure\"\nbackend_urls = [\"https://x.openai.azure.com\"]\n", nil, "transcribe.backend_key_file", "azure needs backend_key_file"},
		{"zero slots", "[transcribe]\nbackend_slots = 0\n", nil, "transcribe.backend_slots", "between 1 and 64"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := Load(writeFile(t, tc.file), true, tc.env)
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatal("expected an error")
			}
			if !strings.Contains(err.Error(), tc.wantKey) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %q should name %q and say %q", err, tc.wantKey, tc.wantMsg)
			}
		})
	}
}
