package main

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// `dictum serve` with transcribe.backend = openai (set by the environment): a recording
// uploaded as 44.1 kHz stereo reaches the backend as 16 kHz mono WAV (decoded, never the
// uploaded file), over TLS verified against the configured CA, with the bearer key from
// backend_key_file; the key is never in the server's log; the local model is not needed.
func TestServeTranscribesOnARemoteBackend(t *testing.T) {
	var mu sync.Mutex
	var gotWAV []byte
	var gotAuth, gotPath, gotModel string
	backend := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/models" {
			_, _ = io.WriteString(w, `{"data":[]}`)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
		if err := r.ParseMultipartForm(64 << 20); err == nil {
			gotModel = r.FormValue("model")
			if f, _, err := r.FormFile("file"); err == nil {
				gotWAV, _ = io.ReadAll(f)
			}
		}
		_, _ = io.WriteString(w, `{"text":"Point three hours drafting the motion to compel.","segments":[{"start":0,"end":2.5,"text":"Point three hours drafting the motion to compel."}]}`)
	}))
	defer backend.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: backend.Certificate().Raw}), 0o644)
	key := filepath.Join(dir, "backend.key")
	os.WriteFile(key, []byte("sk-secret-backend-key\n"), 0o600)

	data := initData(t)
	tok := strings.TrimSpace(dictum(t, "", nil, "token", "create", "--data", data, "--username", "boss").stdout)
	addr := freePort(t)
	cmd, logf := startProc(t, data, addr, "DICTUM_TRANSCRIBE_BACKEND=openai", "DICTUM_TRANSCRIBE_BACKEND_URLS="+backend.URL,
		"DICTUM_TRANSCRIBE_BACKEND_CA_FILE="+ca, "DICTUM_TRANSCRIBE_BACKEND_KEY_FILE="+key, "DICTUM_TRANSCRIBE_BACKEND_MODEL=whisper-large-v3",
		"DICTUM_TRANSCRIBE_MODEL="+filepath.Join(dir, "no-local-model.bin"))
	_ = cmd
	deadline := time.Now().Add(30 * time.Second)
	for {
		if res, err := http.Get("http://" + addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("server not ready: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// 3 s of a 44.1 kHz stereo tone as the upload.
	const rate, secs = 44100, 3
	n := rate * secs
	var up bytes.Buffer
	up.WriteString("RIFF")
	binary.Write(&up, binary.LittleEndian, uint32(36+n*4))
	up.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(2), uint32(rate), uint32(rate * 4), uint16(4), uint16(16)} {
		binary.Write(&up, binary.LittleEndian, v)
	}
	up.WriteString("data")
	binary.Write(&up, binary.LittleEndian, uint32(n*4))
	for i := range n {
		v := int16((i%100 - 50) * 300)
		binary.Write(&up, binary.LittleEndian, []int16{v, v})
	}
	code, m := api(t, "POST", "http://"+addr+"/api/v1/recordings", tok, &up, "audio/wav")
	if code != 202 {
		t.Fatalf("upload: %d %v", code, m)
	}
	id := m["id"].(string)
	for deadline := time.Now().Add(60 * time.Second); ; {
		_, m = api(t, "GET", "http://"+addr+"/api/v1/recordings/"+id, tok, nil, "")
		if m["status"] == "done" {
			break
		}
		if m["status"] == "failed" || time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("recording %v; log: %s", m, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if gotPath != "/v1/audio/transcriptions" || gotAuth != "Bearer sk-secret-backend-key" || gotModel != "whisper-large-v3" {
		t.Fatalf("backend got path %q auth %q model %q", gotPath, gotAuth, gotModel)
	}
	if len(gotWAV) < 44 || binary.LittleEndian.Uint16(gotWAV[22:]) != 1 || binary.LittleEndian.Uint32(gotWAV[24:]) != 16000 {
		t.Fatalf("backend did not get 16 kHz mono WAV (%d bytes)", len(gotWAV))
	}
	if bytes.Equal(gotWAV, up.Bytes()) || len(gotWAV) > 44+2*16000*secs {
		t.Fatal("backend got the uploaded file, not the decoded audio")
	}
	if m["transcript"] == nil || !strings.Contains(m["transcript"].(string), "motion to compel") {
		t.Fatalf("transcript %v", m["transcript"])
	}
	b, _ := os.ReadFile(logf.Name())
	if strings.Contains(string(b), "sk-secret-backend-key") {
		t.Fatal("the backend key is in the server log")
	}
	if !strings.Contains(string(b), "transcription on remote backends") {
		t.Fatalf("server log does not say transcription is remote: %s", b)
	}
}
