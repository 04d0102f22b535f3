package web

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"dictum/internal/audio"
	"dictum/internal/exports"
	"dictum/internal/testrig"
)

// listen serves the rig on a real listener on 127.0.0.1 and returns its address.
func (r *rig) listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.srv.App().Listener(ln)
	t.Cleanup(func() { r.srv.App().Shutdown() })
	return ln.Addr().String()
}

// sendChunked sends head (request line and headers, without the blank line) with a chunked
// body of up to total bytes, written from one reused 64 KiB chunk while the answer is read:
// a server that stops reading early answers before the client is done. It returns the
// answer and how many body bytes the client managed to send.
func sendChunked(t *testing.T, addr, head string, total int64) (*http.Response, []byte, int64) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head+"Transfer-Encoding: chunked\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	chunk := append([]byte(fmt.Sprintf("%x\r\n", 64<<10)), append(bytes.Repeat([]byte("a"), 64<<10), "\r\n"...)...)
	sent := make(chan int64, 1)
	go func() {
		var n int64
		for n < total {
			if _, err := conn.Write(chunk); err != nil {
				break
			}
			n += 64 << 10
		}
		io.WriteString(conn, "0\r\n\r\n")
		sent <- n
	}()
	conn.SetReadDeadline(time.Now().Add(2 * time.Minute)) // a hang fails instead of blocking the suite
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a large chunked body: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	conn.Close() // unblocks the writer if the server stopped reading
	return res, body, <-sent
}

func heapAllocated() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

func rssKiB() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

// A 300 MB chunked body, to the login form, the JSON login or an authenticated JSON route,
// is answered 413 after the route's cap is read: the server allocates a few hundred KiB for
// it, not 300 MB (the measure is the Go heap's total allocations, which bounds RSS growth;
// before the cap, /login read the whole body into memory).
func TestHugeChunkedBodyIsCappedWhileReading(t *testing.T) {
	r := newRig(t)
	addr := r.listen(t)
	const total = 300 << 20
	for _, tc := range []struct{ name, head string }{
		{"login form", "POST /login HTTP/1.1\r\nHost: dictum\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: text/html\r\n"},
		{"api session", "POST /api/v1/session HTTP/1.1\r\nHost: dictum\r\nContent-Type: application/json\r\n"},
		{"api tokens", "POST /api/v1/tokens HTTP/1.1\r\nHost: dictum\r\nContent-Type: application/json\r\nAuthorization: Bearer " + r.tokens["alice"] + "\r\n"},
		{"page form", "POST /account/password HTTP/1.1\r\nHost: dictum\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: Bearer " + r.tokens["alice"] + "\r\n"},
		{"get with a body", "GET /healthz HTTP/1.1\r\nHost: dictum\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rss0, before := rssKiB(), heapAllocated()
			res, body, sent := sendChunked(t, addr, tc.head, total)
			grew := heapAllocated() - before
			t.Logf("%s: %d after %d MiB sent; heap allocations %d KiB; RSS %d -> %d KiB", tc.name, res.StatusCode, sent>>20, grew>>10, rss0, rssKiB())
			if res.StatusCode != 413 {
				t.Fatalf("want 413, got %d %s", res.StatusCode, body)
			}
			if grew > 8<<20 {
				t.Fatalf("the server allocated %d MiB for a body it refused (cap %d KiB)", grew>>20, r.cfg.Limits.MaxJSONKB)
			}
			if sent >= total {
				t.Fatal("the server read the whole 300 MB body before answering")
			}
		})
	}
	// A declared Content-Length past the cap is refused without reading on (fasthttp reads
	// the first 8 KiB before any handler runs; the rest is never sent here).
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: dictum\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\nusername=%s", int64(total), strings.Repeat("x", 16<<10))
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != 413 {
		t.Fatalf("declared 300 MB: %v %v", res, err)
	}
}

// A body under the cap still works when it arrives chunked, and the connection stays
// usable for the next request (the stream was read to its end).
func TestChunkedBodyUnderCapKeepsConnection(t *testing.T) {
	r := newRig(t)
	addr := r.listen(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	form := "username=alice&password=password-alice"
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: dictum\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(form), form)
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: dictum\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Set-Cookie"), "dictum_session=") {
		t.Fatalf("chunked login: %d %v", res.StatusCode, res.Header)
	}
	res, err = http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("next request on the connection: %v %v", res, err)
	}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// Compressed request bodies are refused (415) everywhere: nothing inflates a small body
// into a large one. Before, fiber's c.Body() inflated without a limit (POST /api/v1/tokens).
func TestCompressedBodiesRefused(t *testing.T) {
	r := newRig(t)
	bomb := gzipped(make([]byte, 64<<20)) // 64 MiB of zeros in ~64 KiB
	for _, tc := range []struct {
		method, path, as, ct, enc string
	}{
		{"POST", "/api/v1/tokens", "alice", "application/json", "gzip"},
		{"POST", "/api/v1/session", "", "application/json", "gzip"},
		{"POST", "/login", "", "application/x-www-form-urlencoded", "gzip"},
		{"POST", "/api/v1/entries", "alice", "application/json", "deflate"},
		{"PATCH", "/api/v1/settings", "ada", "application/json", "br"},
		{"POST", "/api/v1/recordings", "alice", "audio/wav", "gzip"},
		{"POST", "/api/v1/tokens", "alice", "application/json", "identity, gzip"},
	} {
		res := r.do(tc.method, tc.path, tc.as, bomb, "Content-Type", tc.ct, "Content-Encoding", tc.enc)
		if res.Status != 415 || res.errCode(t) != "unsupported_media_type" {
			t.Errorf("%s %s with Content-Encoding %s: %d %s", tc.method, tc.path, tc.enc, res.Status, res.Body)
		}
	}
	if list, _ := r.st.Tokens(context.Background(), "alice"); len(list) != 1 {
		t.Errorf("a refused request created a token: %d tokens", len(list))
	}
	// identity is no encoding.
	if res := r.do("POST", "/api/v1/tokens", "alice", []byte(`{"name":"ci","password":"password-alice"}`), "Content-Type", "application/json", "Content-Encoding", "identity"); res.Status != 201 {
		t.Errorf("identity: %d %s", res.Status, res.Body)
	}
}

// Bodies past the route's cap are refused on every kind of route; the matter import takes
// a larger form, but not an unbounded one.
func TestBodyCapPerRoute(t *testing.T) {
	r := newRig(t, func(c *configT) { c.Limits.MaxJSONKB = 4 })
	big := bytes.Repeat([]byte("x"), 5<<10)
	for _, tc := range []struct{ method, path, as, ct string }{
		{"POST", "/api/v1/session", "", "application/json"},
		{"POST", "/login", "", "application/x-www-form-urlencoded"},
		{"POST", "/api/v1/entries", "alice", "application/json"},
		{"POST", "/admin/users", "ada", "application/x-www-form-urlencoded"},
		{"GET", "/api/v1/me", "alice", "application/json"},
	} {
		if res := r.do(tc.method, tc.path, tc.as, big, "Content-Type", tc.ct); res.Status != 413 {
			t.Errorf("%s %s with 5 KiB (cap 4 KiB): %d %s", tc.method, tc.path, res.Status, res.Body)
		}
	}
	// The import form holds a CSV of up to 1 MiB.
	csv := "number,client,name\nM-1,Client,Name\n" + strings.Repeat("# padding line\n", 5000)
	res := r.do("POST", "/admin/matters/import", "bill", []byte("csv="+url.QueryEscape(csv)), "Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html")
	if res.Status != 200 {
		t.Errorf("import form of %d KiB: %d", len(csv)>>10, res.Status)
	}
	res = r.do("POST", "/admin/matters/import", "bill", bytes.Repeat([]byte("x"), importBodyCap+1), "Content-Type", "application/x-www-form-urlencoded")
	if res.Status != 413 {
		t.Errorf("import form past its cap: %d", res.Status)
	}
}

// The matter import parses its multipart form in memory: no client list lands in a
// plaintext temp file (before, fasthttp's parser spilled any file part over 8 KiB to
// $TMPDIR). A file over the import limit is refused with the page's message.
func TestMatterImportWritesNoTempFile(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	watch := watchCreates(t, tmp)
	r := newRig(t)
	var csv strings.Builder
	csv.WriteString("number,client,name\n")
	for i := 0; csv.Len() < 200<<10; i++ {
		fmt.Fprintf(&csv, "M-%05d,Confidential Client %d,Confidential v. Matter %d\n", i, i, i)
	}
	body, ct := multipartFile(t, "file", "matters.csv", []byte(csv.String()))
	res := r.do("POST", "/admin/matters/import", "bill", body, "Content-Type", ct, "Accept", "text/html")
	if res.Status != 200 || !strings.Contains(string(res.Body), "row(s) ready to import") {
		t.Fatalf("import preview: %d %.300s", res.Status, res.Body)
	}
	if created := watch(); len(created) > 0 {
		t.Fatalf("the import wrote temp file(s) %v", created)
	}
	body, ct = multipartFile(t, "file", "matters.csv", bytes.Repeat([]byte("M-1,C,N\n"), (maxImportBytes/8)+1))
	res = r.do("POST", "/admin/matters/import", "bill", body, "Content-Type", ct, "Accept", "text/html")
	if res.Status != 413 || !strings.Contains(string(res.Body), "larger than 1024 KiB") {
		t.Fatalf("oversized import: %d %.300s", res.Status, res.Body)
	}
	if created := watch(); len(created) > 0 {
		t.Fatalf("the import wrote temp file(s) %v", created)
	}
}

func multipartFile(t *testing.T, field, name string, data []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

// A WAV with HTML appended, uploaded as text/html, is served as audio/wav (the format the
// server decoded), never as the uploader's type, with nosniff and a sandbox.
func TestUploadedAudioServedAsSniffedType(t *testing.T) {
	r := newRig(t)
	evil := append(tone(2), []byte("<html><body><script>fetch('/api/v1/me')</script></body></html>")...)
	res := r.do("POST", "/api/v1/recordings", "alice", evil, "Content-Type", "text/html")
	if res.Status != 202 {
		t.Fatalf("upload: %d %s", res.Status, res.Body)
	}
	id := res.json(t)["id"].(string)
	for _, as := range []string{"alice", "bill", "ada"} {
		res = r.do("GET", "/api/v1/recordings/"+id+"/audio", as, nil)
		if res.Status != 200 || !bytes.Equal(res.Body, evil) {
			t.Fatalf("audio as %s: %d (%d bytes)", as, res.Status, len(res.Body))
		}
		assertMediaHeaders(t, res.Header, "audio/wav", "inline", "recording-"+id+".wav")
	}
	// Ranges carry the same headers.
	res = r.do("GET", "/api/v1/recordings/"+id+"/audio", "alice", nil, "Range", "bytes=0-99")
	if res.Status != 206 {
		t.Fatalf("range: %d", res.Status)
	}
	assertMediaHeaders(t, res.Header, "audio/wav", "inline", "recording-"+id+".wav")
}

func assertMediaHeaders(t *testing.T, h http.Header, ct, disposition, filename string) {
	t.Helper()
	if got := h.Get("Content-Type"); got != ct {
		t.Errorf("Content-Type %q, want %q", got, ct)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("no nosniff: %v", h)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || len(h.Values("Content-Security-Policy")) != 1 {
		t.Errorf("Content-Security-Policy %q: want one policy with sandbox", h.Values("Content-Security-Policy"))
	}
	kind, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || kind != disposition || params["filename"] != filename {
		t.Errorf("Content-Disposition %q: %v %v", h.Get("Content-Disposition"), kind, params)
	}
}

// Every decoded format maps to its audio type; anything else is a download.
func TestMediaHeadersByFormat(t *testing.T) {
	app := fiber.New()
	app.Get("/:f", func(c *fiber.Ctx) error {
		setMediaHeaders(c, "rec_1", audio.Format(c.Params("f")))
		return nil
	})
	for f, want := range map[string][3]string{
		"wav":    {"audio/wav", "inline", "recording-rec_1.wav"},
		"mp3":    {"audio/mpeg", "inline", "recording-rec_1.mp3"},
		"webm":   {"audio/webm", "inline", "recording-rec_1.webm"},
		"ogg":    {"audio/ogg", "inline", "recording-rec_1.ogg"},
		"ffmpeg": {"application/octet-stream", "attachment", "recording-rec_1.bin"},
		"html":   {"application/octet-stream", "attachment", "recording-rec_1.bin"},
	} {
		res, err := app.Test(httptest.NewRequest("GET", "/"+f, nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Run(f, func(t *testing.T) { assertMediaHeaders(t, res.Header, want[0], want[1], want[2]) })
	}
}

// /readyz is public: it says "not ready" and nothing more; the reason is in the log.
func TestReadyzIsGeneric(t *testing.T) {
	r := newRig(t)
	var logs bytes.Buffer
	var fail error
	srv, err := New(Deps{Config: r.cfg, Store: r.st, Blobs: r.world.Blobs, Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Ready: func(context.Context) error { return fail }})
	if err != nil {
		t.Fatal(err)
	}
	get := func() (int, string) {
		res, err := srv.App().Test(httptest.NewRequest("GET", "/readyz", nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, body := get(); st != 200 || body != `{"status":"ready"}` {
		t.Fatalf("ready: %d %s", st, body)
	}
	fail = fmt.Errorf("master key: open /var/lib/dictum/secret/master.key: permission denied")
	st, body := get()
	if st != 503 || body != `{"status":"not ready"}` {
		t.Fatalf("not ready: %d %s", st, body)
	}
	if !strings.Contains(logs.String(), "/var/lib/dictum/secret/master.key") {
		t.Fatalf("the reason is not logged: %q", logs.String())
	}
}

// Download names made from an invoice number are sanitised and sent per RFC 6266: an
// ASCII filename and the exact UTF-8 name as filename*.
func TestInvoiceFilenameRFC6266(t *testing.T) {
	r := newRig(t)
	m := r.matter("2024-0412", "Daniel Smith", "Smith v. Jones")
	approvedEntry(t, r, "alice", map[string]any{"matter": m, "hours": 0.3, "activity": "A103", "task": "L250", "date": "2026-11-18", "narrative": "Drafted motion."})
	r.do("PATCH", "/api/v1/settings", "ada", map[string]any{"ledes_law_firm_id": "12-3456789", "default_rate": 250})
	r.do("PATCH", "/api/v1/users/alice", "ada", map[string]any{"timekeeper_id": "AL1", "classification": "Partner", "first_name": "Alice", "last_name": "Adams"})
	cid := r.do("GET", "/api/v1/matters/"+m, "ada", nil).json(t)["client_id"].(string)
	r.do("PATCH", "/api/v1/clients/"+cid, "ada", map[string]any{"ledes_client_id": "SMITH-01"})
	// The LEDES rules allow only 20 ASCII characters in an invoice number; within them,
	// quotes, a semicolon, slashes and backslashes still need sanitising in a file name.
	invoice := `R"1;f=x/..\y`
	res := r.do("POST", "/api/v1/exports", "bill", map[string]any{"format": "ledes", "matter": m, "from": "2026-11-01", "to": "2026-11-30", "invoice_number": invoice})
	if res.Status != 201 {
		t.Fatalf("kept export: %d %s", res.Status, res.Body)
	}
	x := res.json(t)["export"].(map[string]any)
	dl := r.do("GET", "/api/v1/exports/"+x["id"].(string)+"/download", "bill", nil)
	if dl.Status != 200 {
		t.Fatalf("download: %d", dl.Status)
	}
	cd := dl.Header.Get("Content-Disposition")
	want := exports.SafeFilename("ledes-" + invoice + ".txt")
	kind, params, err := mime.ParseMediaType(cd)
	if err != nil || kind != "attachment" || params["filename"] != want || strings.ContainsAny(want, `"/\;`) {
		t.Fatalf("Content-Disposition %q: %v %q, want filename %q", cd, err, params["filename"], want)
	}
	if got := x["filename"]; got != want {
		t.Fatalf("stored filename %q", got)
	}
	// Names outside ASCII (a CSV export named by a person, say) get an ASCII fallback and
	// the exact name in RFC 6266 filename*.
	cd = contentDisposition("attachment", "Rechnung \"Müller\"; filename=evil.html/../..\\x\u202e")
	ascii, _, _ := strings.Cut(strings.TrimPrefix(cd, `attachment; filename="`), `"`)
	if ascii != "Rechnung_-M_ller--_filename_evil.html-..-..-x" || !strings.Contains(cd, "filename*=UTF-8''Rechnung%20-M%C3%BCller--%20filename%3Devil.html-..-..-x") {
		t.Fatalf("Content-Disposition %q", cd)
	}
	if exports.SafeFilename(invoice) == invoice {
		t.Fatal("the invoice number needs no sanitising: the test proves nothing")
	}
}

// The daily upload quota (limits.upload_daily_mb) answers 429 with a clear message and
// Retry-After once a user's uploads of the last 24 hours reach it, mid-stream when the
// upload crosses it; it stores nothing, does not touch other users, and frees up as the
// window moves on.
func TestUploadDailyQuota(t *testing.T) {
	w := testrig.New(t, testrig.WithUsers(testrig.DefaultUsers()...), testrig.WithStoreClock(),
		testrig.WithConfig(func(c *configT) { c.Limits.UploadDailyMB = 1 }))
	r := &rig{t: t, tb: t, world: w, st: w.Store, dir: w.Dir, cfg: w.Config, tokens: map[string]string{}, ids: map[string]int64{}}
	for name, u := range w.Users {
		r.tokens[name], r.ids[name] = u.Token, u.ID
	}
	srv, err := New(Deps{Config: w.Config, Store: w.Store, Blobs: w.Blobs, Now: w.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	clip := tone(12) // 384 KB: two fit in 1 MB, the third crosses it
	for i := 0; i < 2; i++ {
		if res := r.do("POST", "/api/v1/recordings", "alice", clip, "Content-Type", "audio/wav"); res.Status != 202 {
			t.Fatalf("upload %d: %d %s", i+1, res.Status, res.Body)
		}
	}
	before := blobFiles(t, r)
	res := r.do("POST", "/api/v1/recordings", "alice", clip, "Content-Type", "audio/wav")
	if res.Status != 429 || res.errCode(t) != "upload_quota" || !strings.Contains(string(res.Body), "daily upload limit of 1 MB") {
		t.Fatalf("past the quota: %d %s", res.Status, res.Body)
	}
	if ra, _ := strconv.Atoi(res.Header.Get("Retry-After")); ra < 23*3600 || ra > 24*3600 {
		t.Fatalf("Retry-After %q, want about 24 h", res.Header.Get("Retry-After"))
	}
	if after := blobFiles(t, r); after != before {
		t.Fatalf("a refused upload left %d blob file(s)", after-before)
	}
	if list, _ := r.st.Recordings(context.Background(), r.ids["alice"], 0); len(list) != 2 {
		t.Fatalf("%d recordings, want 2", len(list))
	}
	// A declared length past what is left is refused before the body is read.
	if res := r.do("POST", "/api/v1/recordings", "alice", tone(40), "Content-Type", "audio/wav"); res.Status != 429 {
		t.Fatalf("declared length past the quota: %d", res.Status)
	}
	if res := r.do("POST", "/api/v1/recordings", "bob", clip, "Content-Type", "audio/wav"); res.Status != 202 {
		t.Fatalf("bob limited by alice's quota: %d %s", res.Status, res.Body)
	}
	w.Clock.Advance(24*time.Hour + time.Minute)
	if res := r.do("POST", "/api/v1/recordings", "alice", clip, "Content-Type", "audio/wav"); res.Status != 202 {
		t.Fatalf("a day later: %d %s", res.Status, res.Body)
	}
}

func blobFiles(t *testing.T, r *rig) int {
	t.Helper()
	n := 0
	for p := range allFiles(t, r.dir) {
		if strings.Contains(p, "blobs") {
			n++
		}
	}
	return n
}

// One client IP gets at most limits.max_conns_per_ip connections: the next one is
// answered 429 and closed (slowloris from one machine), other IPs are unaffected.
func TestMaxConnsPerIP(t *testing.T) {
	r := newRig(t, func(c *configT) { c.Limits.MaxConnsPerIP = 3 })
	addr := r.listen(t)
	get := func(conn net.Conn) (int, error) {
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: dictum\r\n\r\n"); err != nil {
			return 0, err
		}
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, res.Body)
		return res.StatusCode, nil
	}
	var open []net.Conn
	for i := 0; i < 3; i++ {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if st, err := get(conn); err != nil || st != 200 {
			t.Fatalf("connection %d: %d %v", i+1, st, err)
		}
		open = append(open, conn)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != 429 {
		t.Fatalf("connection 4 from the same IP: %v %v", res, err)
	}
	// The first three still work.
	for i, c := range open {
		if st, err := get(c); err != nil || st != 200 {
			t.Fatalf("connection %d after the refusal: %d %v", i+1, st, err)
		}
	}
}

// A client that trickles its headers is cut off after limits.read_timeout; an upload's body
// gets limits.upload_read_timeout instead.
func TestReadTimeouts(t *testing.T) {
	r := newRig(t, func(c *configT) {
		c.Limits.ReadTimeout.Duration = 500 * time.Millisecond
		c.Limits.UploadTimeout.Duration = time.Minute
	})
	addr := r.listen(t)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: dictum\r\n") // and never the blank line
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	start := time.Now()
	b, _ := io.ReadAll(conn)
	if time.Since(start) > 30*time.Second || strings.Contains(string(b), " 200 ") {
		t.Fatalf("a trickling client was served or kept %s: %q", time.Since(start), b)
	}
	// An upload whose body pauses longer than read_timeout is still accepted.
	clip := tone(2)
	up, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	fmt.Fprintf(up, "POST /api/v1/recordings HTTP/1.1\r\nHost: dictum\r\nAuthorization: Bearer %s\r\nContent-Type: audio/wav\r\nContent-Length: %d\r\n\r\n", r.tokens["alice"], len(clip))
	up.Write(clip[:len(clip)/2])
	time.Sleep(1500 * time.Millisecond) // three read timeouts
	up.Write(clip[len(clip)/2:])
	up.SetReadDeadline(time.Now().Add(time.Minute))
	res, err := http.ReadResponse(bufio.NewReader(up), nil)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("slow upload: %v %v", res, err)
	}
}

// A browser-session upload must carry the X-CSRF-Token header: the CSRF form field is
// never looked for in the upload's stream. Before, a multipart upload of up to 1 MiB was
// parsed for the field, spilling the audio to a plaintext temp file.
func TestUploadCSRFNeverParsesTheStream(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	watch := watchCreates(t, tmp)
	r := newRig(t)
	login := r.do("POST", "/api/v1/session", "", map[string]any{"username": "alice", "password": "password-alice"})
	if login.Status != 200 {
		t.Fatalf("login: %d %s", login.Status, login.Body)
	}
	cookie := strings.Split(login.Header.Get("Set-Cookie"), ";")[0]
	csrf, _ := login.json(t)["csrf_token"].(string)
	if csrf == "" {
		csrf, _ = r.do("GET", "/api/v1/me", "", nil, "Cookie", cookie).json(t)["csrf_token"].(string)
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("_csrf", csrf)
	fw, _ := mw.CreateFormFile("file", "dictation.wav")
	fw.Write(tone(10))
	mw.Close()
	res := r.do("POST", "/api/v1/recordings", "", b.Bytes(), "Content-Type", mw.FormDataContentType(), "Cookie", cookie)
	if res.Status != 403 || res.errCode(t) != "csrf" {
		t.Fatalf("upload with the token only in the form: %d %s", res.Status, res.Body)
	}
	if created := watch(); len(created) > 0 {
		t.Fatalf("the upload's form was parsed into temp file(s) %v", created)
	}
	res = r.do("POST", "/api/v1/recordings", "", tone(2), "Content-Type", "audio/wav", "Cookie", cookie, "X-CSRF-Token", csrf)
	if res.Status != 202 {
		t.Fatalf("upload with the header: %d %s", res.Status, res.Body)
	}
}

// Over HTTP, a preview whose audit record cannot be written is a 500 with no file in it.
func TestExportPreviewAuditFailsClosed(t *testing.T) {
	r := newRig(t)
	m := r.matter("2024-0412", "Daniel Smith", "Smith v. Jones")
	approvedEntry(t, r, "alice", map[string]any{"matter": m, "hours": 0.3, "activity": "A103", "date": "2026-11-18", "narrative": "Privileged narrative."})
	if _, err := r.st.DB().Exec(`CREATE TRIGGER fail_preview BEFORE INSERT ON audit_events WHEN NEW.action = 'export.preview'
		BEGIN SELECT RAISE(ABORT, 'audit write failed'); END`); err != nil {
		t.Fatal(err)
	}
	res := r.do("GET", "/api/v1/exports/entries.csv", "bill", nil)
	if res.Status != 500 || strings.Contains(string(res.Body), "Privileged") || res.Header.Get("Content-Disposition") != "" {
		t.Fatalf("unaudited preview: %d %v %s", res.Status, res.Header, res.Body)
	}
}

// The API reads JSON bodies only and says so (ASVS 13.2.5): a body sent as text/plain or
// as a form is refused with 415 rather than parsed anyway.
func TestAPIBodiesMustBeJSON(t *testing.T) {
	r := newRig(t)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "", "application/jsonx"} {
		if res := r.do("POST", "/api/v1/tokens", "alice", []byte(`{"name":"x"}`), "Content-Type", ct); res.Status != 415 || res.errCode(t) != "unsupported_media_type" {
			t.Errorf("Content-Type %q: %d %s", ct, res.Status, res.Body)
		}
	}
	if list, _ := r.st.Tokens(context.Background(), "alice"); len(list) != 1 {
		t.Errorf("a refused request created a token: %d tokens", len(list))
	}
	if res := r.do("POST", "/api/v1/tokens", "alice", []byte(`{"name":"x","password":"password-alice"}`), "Content-Type", "application/json; charset=utf-8"); res.Status != 201 {
		t.Errorf("JSON with a charset: %d %s", res.Status, res.Body)
	}
	// No body at all is not JSON either way: token creation needs the password again.
	if res := r.do("POST", "/api/v1/tokens", "alice", nil); res.Status != 400 {
		t.Errorf("no body: %d %s", res.Status, res.Body)
	}
}
