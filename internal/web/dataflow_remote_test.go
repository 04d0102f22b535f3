package web

import (
	"strings"
	"testing"
)

// With remote transcription backends every URL is listed, with exactly what it receives
// (the audio as WAV, never the uploaded file, and the prompt with matter names); nothing
// is listed, and nothing leaves, by default.
func TestDataFlowListsRemoteBackends(t *testing.T) {
	def := newRig(t).do("GET", "/api/v1/dataflow", "ada", nil)
	if strings.Contains(string(def.Body), "Speech recognition:") || def.json(t)["nothing_leaves"] != true {
		t.Fatalf("default config lists a remote backend: %s", def.Body)
	}
	r := newRig(t, func(c *configT) {
		c.Trans.Backend = "whisper-server"
		c.Trans.BackendURLs = []string{"https://gpu1.firm.local:8178", "http://gpu2.firm.local:8178"}
		c.Trans.BackendSlots = 2
		c.Trans.BackendKeyFile = "/etc/dictum/backend.key"
	})
	res := r.do("GET", "/api/v1/dataflow", "ada", nil)
	if res.Status != 200 || res.json(t)["nothing_leaves"] != false {
		t.Fatalf("remote config: %d %s", res.Status, res.Body)
	}
	body := string(res.Body)
	for _, want := range []string{"gpu1.firm.local:8178", "gpu2.firm.local:8178", "whisper-server (POST /inference)",
		"16 kHz mono WAV", "never the uploaded file", "matter names", "TLS verified against the firm CA",
		"plain HTTP (audio readable on the network", "bearer key from /etc/dictum/backend.key", "up to 2 at once", "remote whisper-server backend(s)"} {
		if !strings.Contains(body, want) {
			t.Errorf("dataflow lacks %q: %s", want, body)
		}
	}
	page := r.do("GET", "/admin/dataflow", "ada", nil, "Accept", "text/html")
	if page.Status != 200 || !strings.Contains(string(page.Body), "gpu2.firm.local:8178") || !strings.Contains(string(page.Body), "never the uploaded file") {
		t.Fatalf("page: %d", page.Status)
	}
}
