package lifecycle

// Backup file format, version 1.
//
// A backup is ONE file: a vault stream (chunked AES-256-GCM, see internal/vault/stream.go)
// whose data key is wrapped by the backup key (vault Keys.Backup(), HKDF from the master
// key). The plaintext of the stream is a POSIX tar with, in this order:
//
//	db/dictum.db         a consistent snapshot of the database (sqlcipher_export), itself a
//	                     SQLCipher file keyed with HKDF(backup key, "dictum/v1/backup/db")
//	blobs/<aa>/<30 hex>  every blob file, byte for byte, except that the 60-byte wrapped
//	                     data key in its header is re-wrapped under
//	                     HKDF(backup key, "dictum/v1/backup/blob-wrap") (no blob is decrypted)
//	ca/ca.crt, ca/ca.key the firm root CA (when there is one), its sealed key re-sealed
//	                     under HKDF(backup key, "dictum/v1/backup/tls"), so the firm's PCs
//	                     keep trusting a restored server
//	manifest.json        Manifest: format, created at/by, dictum and schema version, row
//	                     counts per table, the SHA-256 of every member, the audit chain head
//
// So the backup key alone opens everything in it: a firm can keep that key offline
// (`dictum key backup-hex`) and restore onto a new server, where restore re-keys the
// database and re-wraps the blob keys to that server's master key. Nothing in the file is
// ever plaintext on disk, and no step of writing or reading it puts plaintext on disk.
// Every byte is authenticated twice: by the outer stream's GCM chunks and by the member's
// SHA-256 in the manifest; blob members are additionally authenticated chunk by chunk by
// verify. The manifest comes last because the hashes are known only once the members are
// written; a reader that reaches the end of the stream without a manifest has a damaged
// file.

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"dictum/internal/store"
	"dictum/internal/vault"
)

// FormatVersion is the backup format written by this dictum.
const FormatVersion = 1

const (
	memberDB       = "db/dictum.db"
	memberManifest = "manifest.json"
	memberCACert   = "ca/ca.crt"
	memberCAKey    = "ca/ca.key"
	maxCAFile      = 64 << 10
	blobPrefix     = "blobs/"
	maxManifest    = 256 << 20

	labelInnerDB   = "dictum/v1/backup/db"
	labelInnerBlob = "dictum/v1/backup/blob-wrap"
	labelInnerTLS  = "dictum/v1/backup/tls"
)

var blobMember = regexp.MustCompile(`^blobs/[0-9a-f]{2}/[0-9a-f]{30}$`)

// Manifest describes a backup's contents. It is the last member of the tar.
type Manifest struct {
	Format        int    `json:"format"`
	CreatedAt     string `json:"created_at"`
	CreatedBy     string `json:"created_by"`
	DictumVersion string `json:"dictum_version"`
	SchemaVersion int    `json:"schema_version"`
	// MasterFingerprint identifies (not reveals) the master key of the server that made
	// the backup, so an admin knows which key file --key-file needs.
	MasterFingerprint string           `json:"master_key_fingerprint"`
	Counts            map[string]int64 `json:"counts"` // rows per table of the snapshot
	Blobs             int              `json:"blobs"`
	BlobBytes         int64            `json:"blob_bytes"` // on-disk (ciphertext) bytes
	// SkippedBlobs are blob files that could not be backed up (damaged header), by id.
	SkippedBlobs []string        `json:"skipped_blobs,omitempty"`
	AuditHead    store.AuditHead `json:"audit_head"`
	Members      []Member        `json:"members"`
}

// Member is one file inside a backup.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// MemberError names the member of a backup that failed a check.
type MemberError struct {
	Member string
	Err    error
}

func (e *MemberError) Error() string {
	return fmt.Sprintf("backup member %s: %v", e.Member, e.Err)
}

func (e *MemberError) Unwrap() error { return e.Err }

// ErrBackupDamaged means a backup file failed authentication or a consistency check.
var ErrBackupDamaged = errors.New("the backup file is damaged or was altered")

// ErrBackupKey means the key given does not open the backup file.
var ErrBackupKey = errors.New("this key does not open the backup (it was made under another master key: pass that server's key with --key-file)")

// inner are the keys of what is inside a backup, all derived from the backup key: the
// database snapshot's SQLCipher key, the blob key-encryption key and the CA key's wrap key.
type inner struct{ db, blob, tls [32]byte }

func innerKeys(backupKey [32]byte) inner {
	k := vault.NewKeys(backupKey)
	return inner{db: k.Derive(labelInnerDB), blob: k.Derive(labelInnerBlob), tls: k.Derive(labelInnerTLS)}
}

// hashingMember writes one member to a tar and hashes what it writes.
func writeMember(tw *tar.Writer, name string, size int64, modTime int64, body func(w io.Writer) error) (Member, error) {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600, Format: tar.FormatPAX}
	if modTime > 0 {
		hdr.ModTime = unixTime(modTime)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return Member{}, fmt.Errorf("write %s: %w", name, err)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tw, h)}
	if err := body(cw); err != nil {
		return Member{}, fmt.Errorf("write %s: %w", name, err)
	}
	if cw.n != size {
		return Member{}, fmt.Errorf("write %s: wrote %d bytes, expected %d (file changed while being backed up)", name, cw.n, size)
	}
	return Member{Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// visitFunc receives each data member (not the manifest) as it is read. It may leave
// part of r unread; the rest is read (and hashed) after it returns.
type visitFunc func(name string, size int64, r io.Reader) error

// readBackup decrypts and walks a backup: it authenticates every byte (GCM), hashes every
// member, hands data members to visit, and finally checks the manifest against what was
// read. Any failure names the member it happened in.
func readBackup(src io.Reader, backupKey [32]byte, visit visitFunc) (*Manifest, error) {
	dec, err := vault.NewReader(src, backupKey)
	if err != nil {
		if errors.Is(err, vault.ErrWrongKey) {
			return nil, ErrBackupKey
		}
		return nil, fmt.Errorf("%w: header: %v", ErrBackupDamaged, err)
	}
	tr := tar.NewReader(dec)
	var man *Manifest
	seen := map[string]Member{}
	var order []string
	prev := "(start of the archive)"
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &MemberError{Member: "after " + prev, Err: fmt.Errorf("%w: %v", ErrBackupDamaged, err)}
		}
		name := hdr.Name
		if man != nil {
			return nil, &MemberError{Member: name, Err: fmt.Errorf("%w: member after the manifest", ErrBackupDamaged)}
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size < 0 {
			return nil, &MemberError{Member: name, Err: fmt.Errorf("%w: not a regular file", ErrBackupDamaged)}
		}
		if name != memberDB && name != memberManifest && name != memberCACert && name != memberCAKey && !blobMember.MatchString(name) {
			return nil, &MemberError{Member: safeName(name), Err: fmt.Errorf("%w: unexpected member name", ErrBackupDamaged)}
		}
		if _, dup := seen[name]; dup {
			return nil, &MemberError{Member: name, Err: fmt.Errorf("%w: duplicate member", ErrBackupDamaged)}
		}
		prev = name
		h := sha256.New()
		body := io.TeeReader(tr, h)
		if name == memberManifest {
			if hdr.Size > maxManifest {
				return nil, &MemberError{Member: name, Err: fmt.Errorf("%w: manifest is %d bytes", ErrBackupDamaged, hdr.Size)}
			}
			b, err := io.ReadAll(body)
			if err != nil {
				return nil, &MemberError{Member: name, Err: fmt.Errorf("%w: %v", ErrBackupDamaged, err)}
			}
			man = &Manifest{}
			if err := json.Unmarshal(b, man); err != nil {
				return nil, &MemberError{Member: name, Err: fmt.Errorf("%w: %v", ErrBackupDamaged, err)}
			}
			if man.Format != FormatVersion {
				return nil, &MemberError{Member: name, Err: fmt.Errorf("backup format %d is not supported by this dictum (format %d): use a newer dictum", man.Format, FormatVersion)}
			}
			continue
		}
		if visit != nil {
			if err := visit(name, hdr.Size, body); err != nil {
				return nil, memberErr(name, err)
			}
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, memberErr(name, err)
		}
		seen[name] = Member{Name: name, Size: hdr.Size, SHA256: hex.EncodeToString(h.Sum(nil))}
		order = append(order, name)
	}
	if man == nil {
		return nil, &MemberError{Member: memberManifest, Err: fmt.Errorf("%w: missing (the file is incomplete)", ErrBackupDamaged)}
	}
	listed := map[string]bool{}
	for _, m := range man.Members {
		listed[m.Name] = true
		got, ok := seen[m.Name]
		if !ok {
			return nil, &MemberError{Member: m.Name, Err: fmt.Errorf("%w: listed in the manifest but missing", ErrBackupDamaged)}
		}
		if got.Size != m.Size || got.SHA256 != m.SHA256 {
			return nil, &MemberError{Member: m.Name, Err: fmt.Errorf("%w: SHA-256 %s does not match the manifest's %s", ErrBackupDamaged, got.SHA256, m.SHA256)}
		}
	}
	for _, name := range order {
		if !listed[name] {
			return nil, &MemberError{Member: name, Err: fmt.Errorf("%w: not listed in the manifest", ErrBackupDamaged)}
		}
	}
	if _, ok := seen[memberDB]; !ok {
		return nil, &MemberError{Member: memberDB, Err: fmt.Errorf("%w: missing", ErrBackupDamaged)}
	}
	return man, nil
}

// memberErr wraps an error met while reading a member; integrity failures of the outer
// stream or of an inner blob become ErrBackupDamaged.
func memberErr(name string, err error) error {
	var me *MemberError
	if errors.As(err, &me) {
		return err
	}
	if errors.Is(err, vault.ErrTampered) || errors.Is(err, vault.ErrTruncated) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, vault.ErrWrongKey) {
		return &MemberError{Member: name, Err: fmt.Errorf("%w: %v", ErrBackupDamaged, err)}
	}
	return &MemberError{Member: name, Err: err}
}

// safeName keeps an untrusted member name printable and short for messages.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// blobHeaderRewrap re-wraps the data key in a blob header (vault.HeaderSize bytes) from
// one key-encryption key to another, in memory.
func blobHeaderRewrap(hdr []byte, oldKEK, newKEK [32]byte) error {
	buf := &memRWS{b: hdr}
	return vault.Rewrap(buf, oldKEK, newKEK)
}

// memRWS is an io.ReadWriteSeeker over a fixed byte slice (for vault.Rewrap).
type memRWS struct {
	b   []byte
	off int
}

func (m *memRWS) Read(p []byte) (int, error) {
	if m.off >= len(m.b) {
		return 0, io.EOF
	}
	n := copy(p, m.b[m.off:])
	m.off += n
	return n, nil
}

func (m *memRWS) Write(p []byte) (int, error) {
	if m.off+len(p) > len(m.b) {
		return 0, io.ErrShortWrite
	}
	n := copy(m.b[m.off:], p)
	m.off += n
	return n, nil
}

func (m *memRWS) Seek(off int64, whence int) (int64, error) {
	if whence != io.SeekStart || off < 0 || off > int64(len(m.b)) {
		return 0, errors.New("memRWS: unsupported seek")
	}
	m.off = int(off)
	return off, nil
}
