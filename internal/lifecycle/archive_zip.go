package lifecycle

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"dictum/internal/blob"
	"dictum/internal/buildinfo"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// ManifestVersion is the version of manifest.json's format.
const ManifestVersion = 1

// ManifestFile is one member of an archive as manifest.json lists it: the SHA-256 and
// size of its uncompressed content.
type ManifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Missing is something the scope holds that could not go into the archive (an audio or
// export file whose blob is gone).
type Missing struct {
	Kind   string `json:"kind"` // "audio" or "export"
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// ArchiveManifest is manifest.json, the last member of every archive. It is not listed in
// itself; everything else is.
type ArchiveManifest struct {
	Format        string          `json:"format"` // "dictum-archive"
	Version       int             `json:"version"`
	Scope         string          `json:"scope"`
	CreatedAt     string          `json:"created_at"`
	CreatedBy     string          `json:"created_by"`
	DictumVersion string          `json:"dictum_version"`
	SchemaVersion int             `json:"schema_version"`
	AuditHead     store.AuditHead `json:"audit_head"`
	Counts        map[string]int  `json:"counts"`
	Files         []ManifestFile  `json:"files"`
	Missing       []Missing       `json:"missing"`
}

// zipOut writes the members of one archive and records them for the manifest.
type zipOut struct {
	zw       *zip.Writer
	names    uniqueNames
	files    []ManifestFile
	buf      []byte
	progress func(n int64) // bytes of audio and exports copied so far
	copied   int64
}

// add writes one member. Stored (no compression) for audio, which is compressed already;
// Deflate for everything else.
func (z *zipOut) add(name string, store bool, mod time.Time, fill func(io.Writer) error) error {
	name = z.names.take(name)
	method := zip.Deflate
	if store {
		method = zip.Store
	}
	w, err := z.zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: mod.UTC()})
	if err != nil {
		return fmt.Errorf("archive member %s: %w", name, err)
	}
	h := sha256.New()
	cw := &counter{}
	if err := fill(io.MultiWriter(w, h, cw)); err != nil {
		return fmt.Errorf("archive member %s: %w", name, err)
	}
	z.files = append(z.files, ManifestFile{Name: name, Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// copyBlob streams a blob's plaintext into w, reporting progress.
func (z *zipOut) copyBlob(w io.Writer, rc io.Reader) error {
	for {
		n, err := rc.Read(z.buf)
		if n > 0 {
			if _, werr := w.Write(z.buf[:n]); werr != nil {
				return werr
			}
			z.copied += int64(n)
			if z.progress != nil {
				z.progress(z.copied)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (z *zipOut) json(name string, mod time.Time, v any) error {
	return z.add(name, false, mod, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// audioExt is a safe file extension for a recording's format.
func audioExt(format string) string {
	f := strings.ToLower(format)
	if f == "" || len(f) > 8 {
		return "bin"
	}
	for _, r := range f {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return "bin"
		}
	}
	return f
}

const archiveReadme = `Dictum archive
==============

manifest.json      what this archive is: scope, who made it and when, the audit chain head
                   at that moment, counts, and the SHA-256 and size of every other file.
                   Check a file with: sha256sum <file>
entries/           time entries (entries.csv, entries.json with each entry's history) and
                   history.csv: every recorded event of each entry; edits list the fields
                   that changed, from and to (the narrative by its length only: the audit
                   log never keeps content)
recordings/<id>/   the original audio as uploaded, its transcript, segments and details
exports/<id>/      the kept exports (CSV / LEDES) exactly as they were made
matters.json       the matters the entries name
audit/audit.csv    the audit log for this scope, oldest first, up to the chain head

CSV files are UTF-8; a cell starting with = + - @ or a tab is prefixed with ' so that
spreadsheets show it as text.
`

// ArchiveResult is what writing an archive produced.
type ArchiveResult struct {
	Manifest ArchiveManifest
	Files    int // members, manifest.json included
}

// writeArchive writes the archive of a resolved scope to w as a ZIP stream. It reads
// audio and exports as streams, so memory does not grow with their size.
func (s *Archives) writeArchive(ctx context.Context, sc store.ArchiveScope, by identity.Actor, w io.Writer, progress func(int64)) (*ArchiveResult, error) {
	head, err := s.store.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	z := &zipOut{zw: zip.NewWriter(w), names: uniqueNames{"manifest.json": true}, buf: make([]byte, 256<<10), progress: progress}
	counts := map[string]int{}
	var missing []Missing

	if err := z.add("README.txt", false, now, func(w io.Writer) error { _, err := io.WriteString(w, archiveReadme); return err }); err != nil {
		return nil, err
	}

	// Matters, for the entries' matter numbers and names.
	matters, err := s.store.ArchiveMatters(ctx, sc)
	if err != nil {
		return nil, err
	}
	byID := map[string]*store.Matter{}
	for _, m := range matters {
		byID[m.ID] = m
	}
	counts["matters"] = len(matters)
	if err := z.json("matters.json", now, matters); err != nil {
		return nil, err
	}

	// Entries: CSV, JSON with history, and the history as CSV. Each is one pass over the
	// scope's entries (streamed); the history of each entry is read per entry.
	n := 0
	if err := z.add("entries/entries.csv", false, now, func(w io.Writer) error {
		c, err := newCSV(w, append([]string(nil), entryCSVHeader...))
		if err != nil {
			return err
		}
		err = s.store.EachArchiveEntry(ctx, sc, func(e *store.Entry) error {
			n++
			var m *store.Matter
			if e.MatterID != nil {
				m = byID[*e.MatterID]
			}
			return c.row(entryRecord(e, m)...)
		})
		if err != nil {
			return err
		}
		return c.flush()
	}); err != nil {
		return nil, err
	}
	counts["entries"] = n
	history := func(e *store.Entry, fn func(store.Event) error) error {
		return s.store.EachAudit(ctx, store.AuditFilter{ObjectType: "entry", ObjectID: e.ID, MaxID: head.ID, Ascending: true}, fn)
	}
	if err := z.add("entries/entries.json", false, now, func(w io.Writer) error {
		if _, err := io.WriteString(w, "[\n"); err != nil {
			return err
		}
		first := true
		err := s.store.EachArchiveEntry(ctx, sc, func(e *store.Entry) error {
			rec := struct {
				*store.Entry
				History []store.Event `json:"history"`
			}{Entry: e, History: []store.Event{}}
			if err := history(e, func(ev store.Event) error { rec.History = append(rec.History, ev); return nil }); err != nil {
				return err
			}
			b, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			if !first {
				if _, err := io.WriteString(w, ",\n"); err != nil {
					return err
				}
			}
			first = false
			_, err = w.Write(b)
			return err
		})
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, "\n]\n")
		return err
	}); err != nil {
		return nil, err
	}
	if err := z.add("entries/history.csv", false, now, func(w io.Writer) error {
		c, err := newCSV(w, append([]string(nil), historyCSVHeader...))
		if err != nil {
			return err
		}
		err = s.store.EachArchiveEntry(ctx, sc, func(e *store.Entry) error {
			return history(e, func(ev store.Event) error {
				id := strconv.FormatInt(ev.ID, 10)
				ch := ev.Changes()
				if len(ch) == 0 {
					return c.row(e.ID, id, ev.At, ev.Actor, ev.Action, "", "", "")
				}
				for _, x := range ch {
					if err := c.row(e.ID, id, ev.At, ev.Actor, ev.Action, x.Field, x.From, x.To); err != nil {
						return err
					}
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		return c.flush()
	}); err != nil {
		return nil, err
	}

	// Recordings: audio (decrypted from its blob, streamed), transcript, segments, details.
	err = s.store.EachArchiveRecording(ctx, sc, func(r *store.Recording) error {
		counts["recordings"]++
		mod, _ := time.Parse(time.RFC3339Nano, r.CreatedAt)
		dir := "recordings/" + r.ID + "/"
		if err := z.json(dir+"recording.json", mod, r); err != nil {
			return err
		}
		if r.Transcript != nil {
			counts["transcripts"]++
			if err := z.add(dir+"transcript.txt", false, mod, func(w io.Writer) error { _, err := io.WriteString(w, *r.Transcript); return err }); err != nil {
				return err
			}
		}
		if r.Segments != nil && *r.Segments != "" {
			if err := z.add(dir+"segments.json", false, mod, func(w io.Writer) error { _, err := io.WriteString(w, *r.Segments); return err }); err != nil {
				return err
			}
		}
		if r.BlobID == nil {
			return nil
		}
		rc, err := s.blobs.Open(*r.BlobID)
		if errors.Is(err, blob.ErrNotFound) {
			missing = append(missing, Missing{Kind: "audio", ID: r.ID, Reason: "the audio file is missing from the blob store"})
			return nil
		}
		if err != nil {
			return fmt.Errorf("recording %s audio: %w", r.ID, err)
		}
		defer rc.Close()
		counts["audio_files"]++
		if err := z.add(dir+"audio."+audioExt(r.Format), true, mod, func(w io.Writer) error { return z.copyBlob(w, rc) }); err != nil {
			return fmt.Errorf("recording %s audio: %w", r.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Kept exports, decrypted, with their details.
	exports, err := s.store.ArchiveExports(ctx, sc)
	if err != nil {
		return nil, err
	}
	for _, x := range exports {
		mod, _ := time.Parse(time.RFC3339Nano, x.CreatedAt)
		dir := "exports/" + x.ID + "/"
		if err := z.json(dir+"export.json", mod, x); err != nil {
			return nil, err
		}
		rc, err := s.blobs.Open(x.BlobID)
		if errors.Is(err, blob.ErrNotFound) {
			missing = append(missing, Missing{Kind: "export", ID: x.ID, Reason: "the export file is missing from the blob store"})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", x.ID, err)
		}
		err = z.add(dir+x.Filename, false, mod, func(w io.Writer) error { return z.copyBlob(w, rc) })
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", x.ID, err)
		}
		counts["exports"]++
	}

	// The audit log of the scope, up to the chain head read at the start.
	if err := z.add("audit/audit.csv", false, now, func(w io.Writer) error {
		k, err := AuditCSV(w, func(fn func(store.Event) error) error {
			return s.store.EachAudit(ctx, store.AuditFilter{Scope: &sc, MaxID: head.ID, Ascending: true}, fn)
		})
		counts["audit_events"] = k
		return err
	}); err != nil {
		return nil, err
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ver, err := s.store.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("schema version: %w", err)
	}
	if missing == nil {
		missing = []Missing{}
	}
	m := ArchiveManifest{Format: "dictum-archive", Version: ManifestVersion, Scope: sc.Label, CreatedAt: now.Format(time.RFC3339), CreatedBy: by.Username,
		DictumVersion: buildinfo.Version, SchemaVersion: ver, AuditHead: head, Counts: counts, Files: z.files, Missing: missing}
	// The manifest itself is written without being added to the list it carries.
	mw, err := z.zw.CreateHeader(&zip.FileHeader{Name: "manifest.json", Method: zip.Deflate, Modified: now})
	if err != nil {
		return nil, fmt.Errorf("archive manifest: %w", err)
	}
	enc := json.NewEncoder(mw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("archive manifest: %w", err)
	}
	if err := z.zw.Close(); err != nil {
		return nil, fmt.Errorf("finish archive: %w", err)
	}
	return &ArchiveResult{Manifest: m, Files: len(z.files) + 1}, nil
}
