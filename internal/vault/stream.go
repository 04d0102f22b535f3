package vault

// Blob file format, version 1 (all integers big-endian):
//
//	offset  size  field
//	     0     7  magic "DCTBLOB"
//	     7     1  version = 1
//	     8     8  nonce prefix, random per file
//	    16     4  chunk size C: plaintext bytes per chunk (64 KiB when written here)
//	    20    60  data key wrapped by the KEK (see WrapKey): nonce(12) || ct(32) || tag(16)
//	    80     …  chunks
//
// The header is HeaderSize (80) bytes. Every chunk is AES-256-GCM under the file's random
// data key: C plaintext bytes become C+16 bytes of ciphertext and tag. All chunks but the
// last hold exactly C plaintext bytes; the last holds 0..C (0 only when the whole file is
// empty: an empty plaintext still has one empty final chunk). Chunk i (i = 0, 1, …) uses
//
//	nonce = nonce prefix (8) || uint32(i) (4)      -> at most 2^32 chunks (256 TiB at 64 KiB)
//	AAD   = header[0:20] || flag                   flag = 1 for the final chunk, else 0
//
// The AAD covers magic, version, nonce prefix and chunk size but not the wrapped key, so a
// key rotation rewrites the 60 wrapped-key bytes in place (Rewrap) without touching any
// chunk. The counter in the nonce catches reordered, duplicated or dropped chunks; the final
// flag catches a file cut at a chunk boundary (the new last chunk was sealed as non-final).
// Chunk layout follows from the file size alone, which lets NewReaderAt decrypt only the
// chunks a range needs. Readers accept chunk sizes 1..1 MiB (bounding their memory) and
// reject any other magic or version as ErrTampered. A wrapped key that does not open under
// the KEK is ErrWrongKey: a wrong KEK and altered wrapped-key bytes look the same.

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

const (
	// HeaderSize is the size of a blob header; chunks start at this offset.
	HeaderSize = wrappedKeyOffset + WrappedKeySize
	// DefaultChunkSize is the plaintext size of every chunk but the last.
	DefaultChunkSize = 64 << 10
	// Version is the format version written by NewWriter.
	Version = 1

	magic            = "DCTBLOB"
	versionOffset    = 7
	prefixOffset     = 8
	chunkSizeOffset  = 16
	wrappedKeyOffset = 20 // also the length of the header part bound into every chunk's AAD
	prefixSize       = 8

	maxChunkSize = 1 << 20        // readers refuse larger chunk sizes (bounds memory per reader)
	maxChunks    = int64(1) << 32 // 4-byte counter
)

var (
	// ErrTampered means a blob failed authentication: a header, chunk or tag was altered,
	// chunks were reordered or duplicated, or the data is not a Dictum blob at all.
	ErrTampered = errors.New("vault: blob failed authentication (tampered or corrupt)")
	// ErrTruncated means a blob ends early: a missing header, a partial chunk tag, or a
	// file cut at a chunk boundary so its last chunk is not the sealed final one.
	ErrTruncated = errors.New("vault: blob is truncated")
	// ErrTooLarge is returned by a writer when a blob would exceed 2^32 chunks.
	ErrTooLarge = errors.New("vault: blob exceeds 2^32 chunks")
	// ErrClosed is returned when writing to a closed writer.
	ErrClosed = errors.New("vault: writer is closed")
)

// header is a parsed blob header.
type header struct {
	raw       [HeaderSize]byte
	chunkSize int
}

func parseHeader(b []byte) (*header, error) {
	if len(b) < HeaderSize {
		return nil, fmt.Errorf("%w: header is %d bytes, want %d", ErrTruncated, len(b), HeaderSize)
	}
	if string(b[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a Dictum blob (bad magic)", ErrTampered)
	}
	if v := b[versionOffset]; v != Version {
		return nil, fmt.Errorf("%w: unsupported blob format version %d", ErrTampered, v)
	}
	cs := binary.BigEndian.Uint32(b[chunkSizeOffset:])
	if cs == 0 || cs > maxChunkSize {
		return nil, fmt.Errorf("%w: invalid chunk size %d", ErrTampered, cs)
	}
	h := &header{chunkSize: int(cs)}
	copy(h.raw[:], b)
	return h, nil
}

func (h *header) wrappedKey() []byte { return h.raw[wrappedKeyOffset:HeaderSize] }

// chunkCipher seals and opens the chunks of one file.
type chunkCipher struct {
	aead  cipher.AEAD
	nonce [12]byte
	aad   [wrappedKeyOffset + 1]byte
}

func newChunkCipher(h *header, dataKey [32]byte) (*chunkCipher, error) {
	aead, err := newGCM(dataKey)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	c := &chunkCipher{aead: aead}
	copy(c.nonce[:prefixSize], h.raw[prefixOffset:])
	copy(c.aad[:], h.raw[:wrappedKeyOffset])
	return c, nil
}

func (c *chunkCipher) set(i int64, final bool) {
	binary.BigEndian.PutUint32(c.nonce[prefixSize:], uint32(i))
	c.aad[wrappedKeyOffset] = 0
	if final {
		c.aad[wrappedKeyOffset] = 1
	}
}

// open authenticates and decrypts chunk i into dst (which must not overlap ct). If a chunk
// claimed to be final fails but opens as a non-final chunk, the file was cut at a chunk
// boundary: that is ErrTruncated and the plaintext is not returned.
func (c *chunkCipher) open(dst, ct []byte, i int64, final bool, chunkSize int) ([]byte, error) {
	if i >= maxChunks {
		return nil, fmt.Errorf("%w: chunk %d: more than 2^32 chunks", ErrTampered, i)
	}
	c.set(i, final)
	pt, err := c.aead.Open(dst[:0], c.nonce[:], ct, c.aad[:])
	if err == nil {
		return pt, nil
	}
	if final && len(ct) == chunkSize+tagSize {
		c.set(i, false)
		if p, err := c.aead.Open(dst[:0], c.nonce[:], ct, c.aad[:]); err == nil {
			clear(p)
			return nil, fmt.Errorf("%w: chunk %d is not the final chunk", ErrTruncated, i)
		}
	}
	return nil, fmt.Errorf("%w: chunk %d", ErrTampered, i)
}

// readHeader reads and checks a header and unwraps its data key.
func readHeader(b []byte, kek [32]byte) (*header, *chunkCipher, error) {
	h, err := parseHeader(b)
	if err != nil {
		return nil, nil, err
	}
	dk, err := UnwrapKey(kek, h.wrappedKey())
	if err != nil {
		return nil, nil, err
	}
	cc, err := newChunkCipher(h, dk)
	clear(dk[:])
	if err != nil {
		return nil, nil, err
	}
	return h, cc, nil
}

// NewWriter starts a blob on dst: it makes a random data key, wraps it under kek and writes
// the header at once. Data is encrypted one chunk at a time as it is written, so memory use
// is one chunk whatever the size of the blob. Close writes the final chunk and must be
// called; it does not close dst. Errors are sticky.
func NewWriter(dst io.Writer, kek [32]byte) (io.WriteCloser, error) {
	return newWriter(dst, kek, DefaultChunkSize)
}

func newWriter(dst io.Writer, kek [32]byte, chunkSize int) (*writer, error) {
	if chunkSize <= 0 || chunkSize > maxChunkSize {
		return nil, fmt.Errorf("vault: chunk size %d out of range", chunkSize)
	}
	var dk [32]byte
	if _, err := rand.Read(dk[:]); err != nil {
		return nil, fmt.Errorf("vault: data key: %w", err)
	}
	defer clear(dk[:])
	wrapped, err := WrapKey(kek, dk)
	if err != nil {
		return nil, err
	}
	h := &header{chunkSize: chunkSize}
	copy(h.raw[:], magic)
	h.raw[versionOffset] = Version
	if _, err := rand.Read(h.raw[prefixOffset : prefixOffset+prefixSize]); err != nil {
		return nil, fmt.Errorf("vault: nonce prefix: %w", err)
	}
	binary.BigEndian.PutUint32(h.raw[chunkSizeOffset:], uint32(chunkSize))
	copy(h.raw[wrappedKeyOffset:], wrapped)
	cc, err := newChunkCipher(h, dk)
	if err != nil {
		return nil, err
	}
	if _, err := dst.Write(h.raw[:]); err != nil {
		return nil, fmt.Errorf("vault: write header: %w", err)
	}
	return &writer{dst: dst, cc: cc, cs: chunkSize, buf: make([]byte, chunkSize, chunkSize+tagSize)}, nil
}

type writer struct {
	dst    io.Writer
	cc     *chunkCipher
	cs     int
	buf    []byte // plaintext of the pending chunk in buf[:n]; sealed in place
	n      int
	i      int64 // index of the pending chunk
	err    error
	closed bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	total := 0
	for len(p) > 0 {
		// A full chunk is sealed only once more data arrives, so the final chunk is never
		// empty unless the whole blob is.
		if w.n == w.cs {
			if err := w.flush(false); err != nil {
				w.err = err
				return total, err
			}
		}
		c := copy(w.buf[w.n:w.cs], p)
		w.n += c
		p = p[c:]
		total += c
	}
	return total, nil
}

func (w *writer) flush(final bool) error {
	if w.i >= maxChunks {
		return ErrTooLarge
	}
	w.cc.set(w.i, final)
	ct := w.cc.aead.Seal(w.buf[:0], w.cc.nonce[:], w.buf[:w.n], w.cc.aad[:])
	_, err := w.dst.Write(ct)
	w.n = 0
	if err != nil {
		return fmt.Errorf("vault: write chunk %d: %w", w.i, err)
	}
	w.i++
	return nil
}

// Close seals and writes the final chunk. Closing twice returns the first result.
func (w *writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		return w.err
	}
	w.err = w.flush(true)
	return w.err
}

// NewReader decrypts a blob as a stream. It reads the header and unwraps the data key at
// once (a wrong kek fails here with ErrWrongKey). Read returns a chunk's plaintext only
// after the chunk has been authenticated; any integrity failure is an error wrapping
// ErrTampered or ErrTruncated, and it is sticky. Chunks before a damaged one have already
// been returned by then, so a caller streaming to a client must treat such an error as
// fatal for the whole response. Use NewReaderAt to check a whole file's length up front.
func NewReader(src io.Reader, kek [32]byte) (io.Reader, error) {
	var hb [HeaderSize]byte
	if n, err := io.ReadFull(src, hb[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: header is %d bytes, want %d", ErrTruncated, n, HeaderSize)
		}
		return nil, fmt.Errorf("vault: read header: %w", err)
	}
	h, cc, err := readHeader(hb[:], kek)
	if err != nil {
		return nil, err
	}
	return &reader{
		src:   src,
		cc:    cc,
		cs:    h.chunkSize,
		buf:   make([]byte, h.chunkSize+tagSize+1),
		plain: make([]byte, 0, h.chunkSize),
	}, nil
}

type reader struct {
	src   io.Reader
	cc    *chunkCipher
	cs    int
	buf   []byte // ciphertext of one chunk plus one look-ahead byte
	carry bool   // buf[cs+tagSize] holds the first byte of the next chunk
	plain []byte
	out   []byte // authenticated plaintext not yet returned
	i     int64
	done  bool
	err   error
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			r.err = err
		}
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

func (r *reader) next() error {
	start := 0
	if r.carry {
		r.buf[0] = r.buf[r.cs+tagSize]
		start = 1
		r.carry = false
	}
	n, err := io.ReadFull(r.src, r.buf[start:])
	n += start
	final := false
	switch {
	case err == nil:
		// One byte beyond the chunk was read, so this chunk is not the last one.
		r.carry = true
		n = r.cs + tagSize
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		final = true
	default:
		return fmt.Errorf("vault: read chunk %d: %w", r.i, err)
	}
	if n < tagSize {
		if n == 0 {
			return fmt.Errorf("%w: blob has no chunks", ErrTruncated)
		}
		return fmt.Errorf("%w: chunk %d is %d bytes, shorter than its tag", ErrTruncated, r.i, n)
	}
	pt, err := r.cc.open(r.plain, r.buf[:n], r.i, final, r.cs)
	if err != nil {
		return err
	}
	r.out = pt
	r.i++
	r.done = final
	return nil
}

// SectionReader decrypts a blob held in an io.ReaderAt with random access: a read decrypts
// only the chunks that cover it, which is what HTTP Range requests for audio need. It
// implements io.Reader, io.Seeker and io.ReaderAt over the plaintext. ReadAt is safe for
// concurrent use; Read and Seek share an offset and are not.
type SectionReader struct {
	src     io.ReaderAt
	cc      *chunkCipher
	cs      int64
	nChunks int64
	lastCT  int64 // ciphertext size of the final chunk
	size    int64 // plaintext size
	off     int64 // for Read and Seek

	mu     sync.Mutex
	ct     []byte
	plain  []byte
	cached int64 // index of the chunk held in plain, or -1
}

// NewReaderAt opens the blob held in src, which is size bytes long. It unwraps the data key
// and authenticates the final chunk, so a wrong kek, a truncated file or a damaged last
// chunk fail here and Size is trustworthy.
func NewReaderAt(src io.ReaderAt, size int64, kek [32]byte) (*SectionReader, error) {
	if size < HeaderSize {
		return nil, fmt.Errorf("%w: blob is %d bytes, shorter than its header", ErrTruncated, size)
	}
	var hb [HeaderSize]byte
	if err := readFullAt(src, hb[:], 0); err != nil {
		return nil, fmt.Errorf("vault: read header: %w", err)
	}
	h, cc, err := readHeader(hb[:], kek)
	if err != nil {
		return nil, err
	}
	cs := int64(h.chunkSize)
	per := cs + tagSize
	body := size - HeaderSize
	if body < tagSize {
		return nil, fmt.Errorf("%w: blob has no complete chunk", ErrTruncated)
	}
	nChunks := (body + per - 1) / per
	lastCT := body - (nChunks-1)*per
	if nChunks > maxChunks {
		return nil, fmt.Errorf("%w: blob has %d chunks", ErrTampered, nChunks)
	}
	s := &SectionReader{
		src:     src,
		cc:      cc,
		cs:      cs,
		nChunks: nChunks,
		lastCT:  lastCT,
		size:    (nChunks-1)*cs + lastCT - tagSize,
		ct:      make([]byte, per),
		plain:   make([]byte, 0, cs),
		cached:  -1,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if lastCT < tagSize {
		// Either cut inside the last tag or the header's chunk size was altered; an
		// altered header fails chunk 0, so check that first to name the cause.
		if nChunks > 1 {
			if err := s.load(0); err != nil {
				return nil, err
			}
		}
		return nil, fmt.Errorf("%w: final chunk is %d bytes, shorter than its tag", ErrTruncated, lastCT)
	}
	if err := s.load(nChunks - 1); err != nil {
		return nil, err
	}
	return s, nil
}

// Size returns the plaintext size of the blob.
func (s *SectionReader) Size() int64 { return s.size }

// load decrypts chunk i into s.plain. s.mu must be held.
func (s *SectionReader) load(i int64) error {
	if s.cached == i {
		return nil
	}
	s.cached = -1
	n := s.cs + tagSize
	final := i == s.nChunks-1
	if final {
		n = s.lastCT
	}
	ct := s.ct[:n]
	if err := readFullAt(s.src, ct, HeaderSize+i*(s.cs+tagSize)); err != nil {
		return fmt.Errorf("vault: read chunk %d: %w", i, err)
	}
	pt, err := s.cc.open(s.plain, ct, i, final, int(s.cs))
	if err != nil {
		return err
	}
	s.plain = pt
	s.cached = i
	return nil
}

// ReadAt reads plaintext at offset off, decrypting only the chunks it covers.
func (s *SectionReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vault: read at negative offset %d", off)
	}
	if off >= s.size {
		return 0, io.EOF
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(p) && off < s.size {
		i := off / s.cs
		if err := s.load(i); err != nil {
			return n, err
		}
		c := copy(p[n:], s.plain[off-i*s.cs:])
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read reads plaintext from the current offset.
func (s *SectionReader) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	if int64(len(p)) > s.size-s.off {
		p = p[:s.size-s.off]
	}
	n, err := s.ReadAt(p, s.off)
	s.off += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}

// Seek sets the plaintext offset for the next Read.
func (s *SectionReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = s.off + offset
	case io.SeekEnd:
		abs = s.size + offset
	default:
		return 0, fmt.Errorf("vault: seek: invalid whence %d", whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("vault: seek to negative offset %d", abs)
	}
	s.off = abs
	return abs, nil
}

func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("short read (%d of %d bytes at offset %d): %w", n, len(p), off, ErrTruncated)
	}
	return err
}

// Rewrap re-encrypts the data key of the blob in f from oldKEK to newKEK by rewriting the
// WrappedKeySize bytes at their fixed header offset; no chunk is read or rewritten. It
// fails with ErrWrongKey if oldKEK does not unwrap the key. Making the write durable (Sync)
// and crash-safe is the caller's job (internal/blob keeps a header copy while it writes).
func Rewrap(f io.ReadWriteSeeker, oldKEK, newKEK [32]byte) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("vault: rewrap: %w", err)
	}
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(f, hb[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: rewrap: header is short", ErrTruncated)
		}
		return fmt.Errorf("vault: rewrap: read header: %w", err)
	}
	h, err := parseHeader(hb[:])
	if err != nil {
		return fmt.Errorf("vault: rewrap: %w", err)
	}
	dk, err := UnwrapKey(oldKEK, h.wrappedKey())
	if err != nil {
		return fmt.Errorf("vault: rewrap: %w", err)
	}
	wrapped, err := WrapKey(newKEK, dk)
	clear(dk[:])
	if err != nil {
		return fmt.Errorf("vault: rewrap: %w", err)
	}
	if _, err := f.Seek(wrappedKeyOffset, io.SeekStart); err != nil {
		return fmt.Errorf("vault: rewrap: %w", err)
	}
	if _, err := f.Write(wrapped); err != nil {
		return fmt.Errorf("vault: rewrap: write wrapped key: %w", err)
	}
	return nil
}

// CheckKey reports whether kek unwraps the data key of the blob whose header is in r
// (nil), or why not (ErrWrongKey, ErrTampered, ErrTruncated or an I/O error).
func CheckKey(r io.ReaderAt, kek [32]byte) error {
	var hb [HeaderSize]byte
	if err := readFullAt(r, hb[:], 0); err != nil {
		return fmt.Errorf("vault: read header: %w", err)
	}
	_, _, err := readHeader(hb[:], kek)
	return err
}
