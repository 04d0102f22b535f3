package vault

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

const cs = DefaultChunkSize

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// seal encrypts pt with the given chunk size, writing it in pieces of step bytes.
func seal(t testing.TB, kek [32]byte, pt []byte, chunkSize, step int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := newWriter(&buf, kek, chunkSize)
	if err != nil {
		t.Fatal(err)
	}
	for rest := pt; len(rest) > 0; {
		n := min(step, len(rest))
		if k, err := w.Write(rest[:n]); err != nil || k != n {
			t.Fatalf("Write = %d, %v", k, err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func expectedSize(n, chunkSize int) int {
	chunks := max(1, (n+chunkSize-1)/chunkSize)
	return HeaderSize + n + chunks*tagSize
}

// openStream decrypts ct with NewReader and returns what was read and the first error.
func openStream(ct []byte, kek [32]byte) ([]byte, error) {
	r, err := NewReader(bytes.NewReader(ct), kek)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// openAt decrypts ct through NewReaderAt.
func openAt(ct []byte, kek [32]byte) ([]byte, error) {
	r, err := NewReaderAt(bytes.NewReader(ct), int64(len(ct)), kek)
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(r)
	if err == nil && int64(len(got)) != r.Size() {
		err = fmt.Errorf("read %d bytes, Size() = %d", len(got), r.Size())
	}
	return got, err
}

func TestRoundTrip(t *testing.T) {
	kek := randKey(t)
	sizes := []int{0, 1, cs - 1, cs, cs + 1, 2 * cs, 1<<20 + 7}
	steps := []int{1 << 30, 1000, cs}
	for _, n := range sizes {
		pt := randBytes(t, n)
		for _, step := range steps {
			t.Run(fmt.Sprintf("size=%d/step=%d", n, step), func(t *testing.T) {
				ct := seal(t, kek, pt, cs, step)
				if len(ct) != expectedSize(n, cs) {
					t.Fatalf("ciphertext is %d bytes, want %d", len(ct), expectedSize(n, cs))
				}
				if n >= 16 && bytes.Contains(ct, pt[:16]) {
					t.Fatal("ciphertext contains plaintext")
				}
				for name, open := range map[string]func([]byte, [32]byte) ([]byte, error){"stream": openStream, "at": openAt} {
					got, err := open(ct, kek)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if !bytes.Equal(got, pt) {
						t.Fatalf("%s: plaintext differs (got %d bytes, want %d)", name, len(got), n)
					}
				}
			})
		}
	}
}

func TestEncryptionIsRandomized(t *testing.T) {
	kek := randKey(t)
	pt := []byte("same plaintext, same key")
	a, b := seal(t, kek, pt, cs, 100), seal(t, kek, pt, cs, 100)
	if bytes.Equal(a[prefixOffset:prefixOffset+prefixSize], b[prefixOffset:prefixOffset+prefixSize]) {
		t.Fatal("nonce prefix repeated")
	}
	if bytes.Equal(a[HeaderSize:], b[HeaderSize:]) {
		t.Fatal("two encryptions of the same plaintext are identical")
	}
}

func TestWrongKEK(t *testing.T) {
	ct := seal(t, randKey(t), []byte("privileged and confidential"), cs, 100)
	other := randKey(t)
	if _, err := NewReader(bytes.NewReader(ct), other); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("NewReader: err = %v, want ErrWrongKey", err)
	}
	if _, err := NewReaderAt(bytes.NewReader(ct), int64(len(ct)), other); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("NewReaderAt: err = %v, want ErrWrongKey", err)
	}
	if err := CheckKey(bytes.NewReader(ct), other); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("CheckKey: err = %v, want ErrWrongKey", err)
	}
}

// checkPrefix fails unless got is plaintext the reader was allowed to return: a prefix of
// pt that ends on a chunk boundary (no partial, unauthenticated chunk).
func checkPrefix(t *testing.T, got, pt []byte, chunkSize int) {
	t.Helper()
	if !bytes.HasPrefix(pt, got) {
		t.Fatalf("reader returned %d bytes that are not plaintext", len(got))
	}
	if len(got)%chunkSize != 0 {
		t.Fatalf("reader returned %d bytes: part of a chunk", len(got))
	}
}

// TestEveryBitFlip flips each bit of a small multi-chunk blob in turn: every flip must be
// detected by both readers, as ErrWrongKey in the wrapped key and ErrTampered elsewhere.
func TestEveryBitFlip(t *testing.T) {
	kek := randKey(t)
	const small = 64
	pt := randBytes(t, 3*small+10)
	ct := seal(t, kek, pt, small, 7)
	for i := range ct {
		for bit := range 8 {
			bad := bytes.Clone(ct)
			bad[i] ^= 1 << bit
			want := ErrTampered
			if i >= wrappedKeyOffset && i < HeaderSize {
				want = ErrWrongKey
			}
			got, err := openStream(bad, kek)
			if !errors.Is(err, want) {
				t.Fatalf("stream: byte %d bit %d: err = %v, want %v", i, bit, err, want)
			}
			checkPrefix(t, got, pt, small)
			if _, err := openAt(bad, kek); !errors.Is(err, want) {
				t.Fatalf("at: byte %d bit %d: err = %v, want %v", i, bit, err, want)
			}
		}
	}
}

// TestHeaderBoundIntoChunks changes the chunk size of a one-chunk blob to other values that
// leave the chunk layout intact: only the AAD binding of the header can catch that.
func TestHeaderBoundIntoChunks(t *testing.T) {
	kek := randKey(t)
	pt := randBytes(t, 100)
	ct := seal(t, kek, pt, cs, 1000)
	for _, size := range []uint32{100, 101, cs - 1, cs + 1, maxChunkSize} {
		bad := bytes.Clone(ct)
		bad[chunkSizeOffset], bad[chunkSizeOffset+1], bad[chunkSizeOffset+2], bad[chunkSizeOffset+3] = byte(size>>24), byte(size>>16), byte(size>>8), byte(size)
		if _, err := openStream(bad, kek); !errors.Is(err, ErrTampered) {
			t.Fatalf("chunk size %d: stream err = %v, want ErrTampered", size, err)
		}
		if _, err := openAt(bad, kek); !errors.Is(err, ErrTampered) {
			t.Fatalf("chunk size %d: at err = %v, want ErrTampered", size, err)
		}
	}
}

// chunkAt returns the offset of chunk i in a blob of default chunk size.
func chunkAt(i int) int { return HeaderSize + i*(cs+tagSize) }

func TestTamper(t *testing.T) {
	kek := randKey(t)
	pt := randBytes(t, 3*cs+100) // chunks 0..2 full, chunk 3 has 100 bytes
	ct := seal(t, kek, pt, cs, 4096)
	last := chunkAt(3)
	tests := []struct {
		name string
		off  int
		want error
	}{
		{"magic", 0, ErrTampered},
		{"version", versionOffset, ErrTampered},
		{"nonce prefix", prefixOffset + 3, ErrTampered},
		{"chunk size high byte", chunkSizeOffset, ErrTampered},
		{"chunk size low byte", chunkSizeOffset + 3, ErrTampered},
		{"wrapped key nonce", wrappedKeyOffset, ErrWrongKey},
		{"wrapped key tag", HeaderSize - 1, ErrWrongKey},
		{"first chunk body", HeaderSize + 10, ErrTampered},
		{"first chunk tag", chunkAt(1) - 1, ErrTampered},
		{"middle chunk body", chunkAt(2) + cs/2, ErrTampered},
		{"last chunk body", last + 50, ErrTampered},
		{"last chunk tag", len(ct) - 1, ErrTampered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Clone(ct)
			bad[tc.off] ^= 0x80
			got, err := openStream(bad, kek)
			if !errors.Is(err, tc.want) {
				t.Fatalf("stream: err = %v, want %v", err, tc.want)
			}
			checkPrefix(t, got, pt, cs)
			if _, err := openAt(bad, kek); !errors.Is(err, tc.want) {
				t.Fatalf("at: err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	kek := randKey(t)
	exact := randBytes(t, 2*cs)     // last chunk full
	partial := randBytes(t, 2*cs+5) // last chunk 5 bytes
	ctExact := seal(t, kek, exact, cs, 5000)
	ctPartial := seal(t, kek, partial, cs, 5000)
	either := []error{ErrTruncated, ErrTampered}
	tests := []struct {
		name string
		pt   []byte
		ct   []byte
		want []error
	}{
		{"drop last full chunk", exact, ctExact[:chunkAt(1)], []error{ErrTruncated}},
		{"drop last short chunk", partial, ctPartial[:chunkAt(2)], []error{ErrTruncated}},
		{"drop two chunks", partial, ctPartial[:chunkAt(1)], []error{ErrTruncated}},
		{"drop all chunks", partial, ctPartial[:HeaderSize], []error{ErrTruncated}},
		{"mid last chunk", exact, ctExact[:len(ctExact)-100], either},
		{"mid middle chunk", partial, ctPartial[:chunkAt(1)+1000], either},
		{"inside last tag", partial, ctPartial[:chunkAt(2)+3], either},
		{"one byte short", exact, ctExact[:len(ctExact)-1], either},
		{"inside header", partial, ctPartial[:HeaderSize-1], []error{ErrTruncated}},
		{"empty file", partial, nil, []error{ErrTruncated}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openStream(tc.ct, kek)
			if !isAny(err, tc.want) {
				t.Fatalf("stream: err = %v, want one of %v", err, tc.want)
			}
			checkPrefix(t, got, tc.pt, cs)
			if _, err := openAt(tc.ct, kek); !isAny(err, tc.want) {
				t.Fatalf("at: err = %v, want one of %v", err, tc.want)
			}
		})
	}
}

func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

func TestReorderDuplicateAppend(t *testing.T) {
	kek := randKey(t)
	pt := randBytes(t, 3*cs+100)
	ct := seal(t, kek, pt, cs, 1<<20)
	chunk := func(i int) []byte { return ct[chunkAt(i):min(chunkAt(i+1), len(ct))] }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	hdr := ct[:HeaderSize]
	other := seal(t, kek, pt, cs, 1<<20) // same key and plaintext, other file
	tests := []struct {
		name string
		ct   []byte
	}{
		{"swap 0 and 1", cat(hdr, chunk(1), chunk(0), chunk(2), chunk(3))},
		{"swap 1 and 2", cat(hdr, chunk(0), chunk(2), chunk(1), chunk(3))},
		{"duplicate 1", cat(hdr, chunk(0), chunk(1), chunk(1), chunk(2), chunk(3))},
		{"duplicate 0 over 1", cat(hdr, chunk(0), chunk(0), chunk(2), chunk(3))},
		{"final moved first", cat(hdr, chunk(3), chunk(1), chunk(2), chunk(0))},
		{"final appended twice", cat(ct, chunk(3))},
		{"trailing garbage", cat(ct, []byte{0})},
		{"chunk from other file", cat(hdr, chunk(0), other[chunkAt(1):chunkAt(2)], chunk(2), chunk(3))},
		{"header from other file", cat(other[:HeaderSize], ct[HeaderSize:])},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := openStream(tc.ct, kek)
			if !isAny(err, []error{ErrTampered, ErrTruncated}) {
				t.Fatalf("stream: err = %v, want ErrTampered or ErrTruncated", err)
			}
			checkPrefix(t, got, pt, cs)
			if _, err := openAt(tc.ct, kek); !isAny(err, []error{ErrTampered, ErrTruncated}) {
				t.Fatalf("at: err = %v, want ErrTampered or ErrTruncated", err)
			}
		})
	}
}

func TestRewrap(t *testing.T) {
	oldKEK, newKEK := randKey(t), randKey(t)
	pt := randBytes(t, 2*cs+3)
	ct := seal(t, oldKEK, pt, cs, 9999)
	path := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(path, ct, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	if err := Rewrap(f, randKey(t), newKEK); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("Rewrap with wrong old key: err = %v, want ErrWrongKey", err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, ct) {
		t.Fatal("failed Rewrap changed the file")
	}
	if err := Rewrap(f, oldKEK, newKEK); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(ct) || !bytes.Equal(after[:wrappedKeyOffset], ct[:wrappedKeyOffset]) || !bytes.Equal(after[HeaderSize:], ct[HeaderSize:]) {
		t.Fatal("Rewrap changed bytes outside the wrapped key")
	}
	if bytes.Equal(after[wrappedKeyOffset:HeaderSize], ct[wrappedKeyOffset:HeaderSize]) {
		t.Fatal("Rewrap did not change the wrapped key")
	}
	for name, open := range map[string]func([]byte, [32]byte) ([]byte, error){"stream": openStream, "at": openAt} {
		got, err := open(after, newKEK)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%s with new key: %d bytes, %v", name, len(got), err)
		}
		if _, err := open(after, oldKEK); !errors.Is(err, ErrWrongKey) {
			t.Fatalf("%s with old key: err = %v, want ErrWrongKey", name, err)
		}
	}
	if err := CheckKey(bytes.NewReader(after), newKEK); err != nil {
		t.Fatalf("CheckKey(new) = %v", err)
	}
	// A file that is not a blob is refused and left alone.
	junk := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(junk, bytes.Repeat([]byte{7}, 200), 0o600); err != nil {
		t.Fatal(err)
	}
	jf, err := os.OpenFile(junk, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()
	if err := Rewrap(jf, oldKEK, newKEK); !errors.Is(err, ErrTampered) {
		t.Fatalf("Rewrap(junk) = %v, want ErrTampered", err)
	}
}

// countingReaderAt records the offsets read, to check that a range read decrypts only the
// chunks it needs.
type countingReaderAt struct {
	r     io.ReaderAt
	mu    sync.Mutex
	reads []int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	c.reads = append(c.reads, off)
	c.mu.Unlock()
	return c.r.ReadAt(p, off)
}

func TestRangeReads(t *testing.T) {
	kek := randKey(t)
	pt := randBytes(t, 1<<20+7)
	ct := seal(t, kek, pt, cs, 12345)
	src := &countingReaderAt{r: bytes.NewReader(ct)}
	r, err := NewReaderAt(src, int64(len(ct)), kek)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != int64(len(pt)) {
		t.Fatalf("Size = %d, want %d", r.Size(), len(pt))
	}
	n := int64(len(pt))
	tests := []struct {
		name   string
		off    int64
		length int
		chunks []int64 // chunks that must be read (in order), nil to skip the check
	}{
		{"start", 0, 10, []int64{0}},
		{"middle of chunk 3", 3*cs + 100, 1000, []int64{3}},
		{"across 4|5", 5*cs - 10, 20, []int64{4, 5}},
		{"three chunks", 6*cs - 1, cs + 2, []int64{5, 6, 7}},
		{"exact chunk", 9 * cs, cs, []int64{9}},
		{"tail", n - 7, 7, nil},
		{"whole", 0, int(n), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src.mu.Lock()
			src.reads = nil
			src.mu.Unlock()
			r.mu.Lock()
			r.cached = -1
			r.mu.Unlock()
			buf := make([]byte, tc.length)
			k, err := r.ReadAt(buf, tc.off)
			if err != nil && !(errors.Is(err, io.EOF) && tc.off+int64(k) == n) {
				t.Fatalf("ReadAt: %d, %v", k, err)
			}
			if k != tc.length || !bytes.Equal(buf, pt[tc.off:tc.off+int64(tc.length)]) {
				t.Fatalf("ReadAt returned %d bytes that differ from the plaintext", k)
			}
			if tc.chunks != nil {
				var got []int64
				for _, off := range src.reads {
					got = append(got, (off-HeaderSize)/(cs+tagSize))
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.chunks) {
					t.Fatalf("read chunks %v, want %v", got, tc.chunks)
				}
			}
		})
	}

	// Seek + Read.
	if _, err := r.Seek(2*cs-5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(r, buf); err != nil || !bytes.Equal(buf, pt[2*cs-5:2*cs+5]) {
		t.Fatalf("Seek+Read: %v", err)
	}
	if pos, _ := r.Seek(0, io.SeekCurrent); pos != 2*cs+5 {
		t.Fatalf("position %d after read, want %d", pos, 2*cs+5)
	}
	if _, err := r.Seek(-3, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	tail, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(tail, pt[n-3:]) {
		t.Fatalf("tail after SeekEnd: %q, %v", tail, err)
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seek to a negative offset succeeded")
	}
	if _, err := r.ReadAt(buf, -1); err == nil {
		t.Fatal("ReadAt at a negative offset succeeded")
	}
	if k, err := r.ReadAt(buf, n); k != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("ReadAt at end = %d, %v; want 0, EOF", k, err)
	}
}

// TestRangeTamperedChunk checks that a damaged middle chunk is reported by the range reads
// that touch it and only by those.
func TestRangeTamperedChunk(t *testing.T) {
	kek := randKey(t)
	pt := randBytes(t, 4*cs)
	ct := seal(t, kek, pt, cs, 1<<20)
	ct[chunkAt(2)+7] ^= 1
	r, err := NewReaderAt(bytes.NewReader(ct), int64(len(ct)), kek)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	if _, err := r.ReadAt(buf, cs); err != nil || !bytes.Equal(buf, pt[cs:cs+100]) {
		t.Fatalf("undamaged chunk: %v", err)
	}
	clear(buf)
	if k, err := r.ReadAt(buf, 2*cs+50); k != 0 || !errors.Is(err, ErrTampered) {
		t.Fatalf("damaged chunk: %d, %v; want 0, ErrTampered", k, err)
	}
	if !bytes.Equal(buf, make([]byte, len(buf))) {
		t.Fatal("bytes of a damaged chunk reached the caller")
	}
	// A read that starts in a good chunk returns only that chunk's bytes, then the error.
	long := make([]byte, cs)
	k, err := r.ReadAt(long, 2*cs-10)
	if k != 10 || !errors.Is(err, ErrTampered) || !bytes.Equal(long[:10], pt[2*cs-10:2*cs]) {
		t.Fatalf("read into damaged chunk: %d, %v; want 10 good bytes, ErrTampered", k, err)
	}
	if !bytes.Equal(long[10:], make([]byte, cs-10)) {
		t.Fatal("bytes of a damaged chunk reached the caller")
	}
}

func TestServeContentRange(t *testing.T) {
	kek := randKey(t)
	pt := randBytes(t, 300_000)
	ct := seal(t, kek, pt, cs, 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r, err := NewReaderAt(bytes.NewReader(ct), int64(len(ct)), kek)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		http.ServeContent(w, req, "a.webm", time.Time{}, r)
	}))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Range", "bytes=100000-200009")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, pt[100000:200010]) {
		t.Fatalf("status %d, %d bytes; want 206 with the range", resp.StatusCode, len(body))
	}
	if got := resp.Header.Get("Content-Range"); got != "bytes 100000-200009/300000" {
		t.Fatalf("Content-Range = %q", got)
	}
}

func TestWriterErrors(t *testing.T) {
	kek := randKey(t)
	if _, err := NewWriter(failWriter{}, kek); err == nil {
		t.Fatal("NewWriter on a failing writer succeeded")
	}
	// Fail on the first chunk write (after the header).
	fw := &limitWriter{left: HeaderSize}
	w, err := NewWriter(fw, kek)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 2*cs)); err == nil {
		t.Fatal("Write did not report the write error")
	}
	if _, err := w.Write([]byte{1}); err == nil {
		t.Fatal("error is not sticky")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failed write succeeded")
	}
	// Write after Close.
	w, err = NewWriter(io.Discard, kek)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := w.Write([]byte{1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

type limitWriter struct{ left int }

func (l *limitWriter) Write(p []byte) (int, error) {
	if len(p) > l.left {
		return 0, errors.New("disk full")
	}
	l.left -= len(p)
	return len(p), nil
}

// patternReader yields n bytes of a deterministic non-repeating-per-chunk pattern without
// holding them in memory.
type patternReader struct{ off, n int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		x := p.off + int64(i)
		b[i] = byte(x ^ x>>8 ^ x>>16)
	}
	p.off += int64(len(b))
	return len(b), nil
}

// TestConstantMemory streams 256 MiB through writer and reader (joined by a pipe) and bounds
// the bytes allocated: both must work in O(chunk) memory, not O(blob).
func TestConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	const size = 256 << 20
	kek := randKey(t)
	pr, pw := io.Pipe()
	wantSum := sha256.New()
	errc := make(chan error, 1)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	go func() {
		w, err := NewWriter(pw, kek)
		if err != nil {
			pw.CloseWithError(err)
			errc <- err
			return
		}
		buf := make([]byte, 32<<10)
		_, err = io.CopyBuffer(io.MultiWriter(w, wantSum), &patternReader{n: size}, buf)
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
		errc <- err
	}()
	r, err := NewReader(pr, kek)
	if err != nil {
		t.Fatal(err)
	}
	gotSum := sha256.New()
	n, err := io.CopyBuffer(gotSum, r, make([]byte, 32<<10))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n != size || !bytes.Equal(gotSum.Sum(nil), wantSum.Sum(nil)) {
		t.Fatalf("round trip of %d bytes differs (read %d)", size, n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Fatalf("streaming 256 MiB allocated %d bytes; want < 2 MiB", alloc)
	}
}

// FuzzNewReader feeds random and mutated blobs to both readers. Whatever the input, they
// must not panic, and every byte they return must be authentic plaintext: all seeds encrypt
// prefixes of one pattern, so any output that is not a prefix of it was never authenticated.
func FuzzNewReader(f *testing.F) {
	kek := [32]byte{1, 2, 3}
	pattern := make([]byte, 600)
	for i := range pattern {
		pattern[i] = byte(i*7 + i/251)
	}
	for _, c := range []struct{ n, chunk int }{{0, 64}, {1, 16}, {64, 64}, {200, 64}, {600, 128}, {100, DefaultChunkSize}} {
		f.Add(seal(f, kek, pattern[:c.n], c.chunk, 13))
	}
	f.Add([]byte("DCTBLOB\x01"))
	f.Fuzz(func(t *testing.T, ct []byte) {
		got, err := openStream(ct, kek)
		if !bytes.HasPrefix(pattern, got) {
			t.Fatalf("NewReader returned %d bytes that are not authentic plaintext (err %v)", len(got), err)
		}
		if err == nil && len(ct) != expectedSize(len(got), int(ct[chunkSizeOffset])<<24|int(ct[chunkSizeOffset+1])<<16|int(ct[chunkSizeOffset+2])<<8|int(ct[chunkSizeOffset+3])) {
			t.Fatalf("accepted a %d-byte blob for %d bytes of plaintext", len(ct), len(got))
		}
		r, err := NewReaderAt(bytes.NewReader(ct), int64(len(ct)), kek)
		if err != nil {
			return
		}
		buf := make([]byte, 50)
		for _, off := range []int64{0, 63, 64, 100, r.Size() - 1} {
			if off < 0 {
				continue
			}
			k, _ := r.ReadAt(buf, off)
			if off+int64(k) > int64(len(pattern)) || !bytes.Equal(buf[:k], pattern[off:off+int64(k)]) {
				t.Fatalf("ReadAt(%d) returned %d bytes that are not authentic plaintext", off, k)
			}
		}
	})
}

func benchPlain(b *testing.B, n int) []byte {
	b.Helper()
	return randBytes(b, n)
}

func BenchmarkEncrypt(b *testing.B) {
	kek := randKey(b)
	pt := benchPlain(b, 8<<20)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewWriter(io.Discard, kek)
		if err != nil {
			b.Fatal(err)
		}
		for rest := pt; len(rest) > 0; rest = rest[32<<10:] {
			if _, err := w.Write(rest[:32<<10]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	kek := randKey(b)
	pt := benchPlain(b, 8<<20)
	ct := seal(b, kek, pt, cs, 1<<20)
	buf := make([]byte, 32<<10)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(ct), kek)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(io.Discard, r, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRangeRead measures a 256 KiB range read from the middle of a 64 MiB blob,
// including opening it (unwrap + final chunk check), as an HTTP Range request would.
func BenchmarkRangeRead(b *testing.B) {
	kek := randKey(b)
	pt := benchPlain(b, 64<<20)
	ct := seal(b, kek, pt, cs, 1<<20)
	buf := make([]byte, 256<<10)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReaderAt(bytes.NewReader(ct), int64(len(ct)), kek)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadAt(buf, 40<<20+123); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncrypt256MiB streams 256 MiB per op; allocs/op and B/op show that memory does
// not grow with the blob.
func BenchmarkEncrypt256MiB(b *testing.B) {
	kek := randKey(b)
	buf := make([]byte, 64<<10)
	b.SetBytes(256 << 20)
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewWriter(io.Discard, kek)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(w, &patternReader{n: 256 << 20}, buf); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
