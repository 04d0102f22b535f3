package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"dictum/internal/blob"
	"dictum/internal/identity"
	"dictum/internal/store"
)

// ArchiveTTL is how long a finished archive is kept (encrypted) for download.
const ArchiveTTL = 7 * 24 * time.Hour

// ArchiveKind says why an archive request was refused.
type ArchiveKind int

const (
	// BadScope: the scope is not firm, matter:<id> or user:<username>, or names nothing.
	BadScope ArchiveKind = iota + 1
	// Forbidden: the caller's role may not archive this scope.
	Forbidden
	// Busy: the caller already has an archive being made.
	Busy
	// NotReady: the archive is not finished (yet, or it failed).
	NotReady
	// Gone: the archive expired and its file was deleted.
	Gone
)

// ArchiveError is a refused archive request.
type ArchiveError struct {
	Kind    ArchiveKind
	Message string
}

func (e *ArchiveError) Error() string { return e.Message }

func refuse(k ArchiveKind, format string, a ...any) *ArchiveError {
	return &ArchiveError{Kind: k, Message: fmt.Sprintf(format, a...)}
}

// ArchiveDeps are the archive service's collaborators.
type ArchiveDeps struct {
	Store *store.Store
	Blobs *blob.Store
	Log   *slog.Logger
	// Now is the clock (default: the store's).
	Now func() time.Time
}

// Archives makes ZIP archives of the firm, a matter or a user. Requests over the API run
// in the background, one at a time, on goroutines the service owns; Close cancels them
// and waits. The ZIP is written straight into an encrypted blob, so it is only ever
// plaintext on its way to the downloader; it expires after ArchiveTTL.
type Archives struct {
	store *store.Store
	blobs *blob.Store
	log   *slog.Logger
	now   func() time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	slot   chan struct{} // one archive is made at a time
	mu     sync.Mutex
	closed bool
}

// NewArchives returns the archive service.
func NewArchives(d ArchiveDeps) *Archives {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Now == nil {
		d.Now = d.Store.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Archives{store: d.Store, blobs: d.Blobs, log: d.Log, now: d.Now, ctx: ctx, cancel: cancel, slot: make(chan struct{}, 1)}
}

// Close cancels archives being made (they are marked failed) and waits for them.
func (s *Archives) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// Recover marks the archives a previous process left unfinished as failed (call once at
// start-up, before serving).
func (s *Archives) Recover(ctx context.Context) (int, error) {
	return s.store.FailInterruptedArchives(ctx, identity.System())
}

// checkScope decides from the scope's text alone, before anything is looked up (so a
// refusal tells nothing about what exists), whether the actor's role may archive it:
// admins anything; billing any matter; a timekeeper only their own user.
func checkScope(a identity.Actor, label string) error {
	kind, arg, _ := strings.Cut(label, ":")
	switch a.Role {
	case identity.RoleAdmin:
		return nil
	case identity.RoleBilling:
		if kind == "matter" {
			return nil
		}
		return refuse(Forbidden, "billing may archive a matter (matter:<id>), not %q", kind)
	case identity.RoleTimekeeper:
		if kind == "user" && strings.EqualFold(arg, a.Username) {
			return nil
		}
		return refuse(Forbidden, "a timekeeper may archive only their own work: scope user:%s", a.Username)
	}
	return refuse(Forbidden, "not allowed to make archives")
}

// Resolve parses a scope ("firm", "matter:<id>", "user:<username>") and checks that what
// it names exists.
func (s *Archives) Resolve(ctx context.Context, label string) (store.ArchiveScope, error) {
	kind, arg, hasArg := strings.Cut(strings.TrimSpace(label), ":")
	switch {
	case kind == "firm" && !hasArg:
		return store.ArchiveScope{Kind: "firm", Label: "firm"}, nil
	case kind == "matter" && arg != "":
		m, err := s.store.MatterByID(ctx, arg)
		if errors.Is(err, store.ErrNotFound) {
			return store.ArchiveScope{}, refuse(BadScope, "no matter with id %q", arg)
		}
		if err != nil {
			return store.ArchiveScope{}, err
		}
		return store.ArchiveScope{Kind: "matter", MatterID: m.ID, Label: "matter:" + m.ID}, nil
	case kind == "user" && arg != "":
		u, err := s.store.UserByName(ctx, arg)
		if errors.Is(err, store.ErrNotFound) {
			return store.ArchiveScope{}, refuse(BadScope, "no user named %q", arg)
		}
		if err != nil {
			return store.ArchiveScope{}, err
		}
		return store.ArchiveScope{Kind: "user", UserID: u.ID, Username: u.Username, Label: "user:" + u.Username}, nil
	}
	return store.ArchiveScope{}, refuse(BadScope, "scope must be firm, matter:<id> or user:<username>, got %q", label)
}

// resolveFor is Resolve for an actor: a matter walled off from them is "no matter", as if
// it did not exist, and the scope carries them as its viewer, so their archive leaves out
// every matter, entry, recording and audit event they may not see.
func (s *Archives) resolveFor(ctx context.Context, a identity.Actor, label string) (store.ArchiveScope, error) {
	sc, err := s.Resolve(ctx, label)
	if err != nil {
		return sc, err
	}
	if sc.Kind == "matter" {
		ok, err := s.store.MatterVisibleTo(ctx, a.UserID, sc.MatterID)
		if err != nil {
			return store.ArchiveScope{}, err
		}
		if !ok {
			return store.ArchiveScope{}, refuse(BadScope, "no matter with id %q", sc.MatterID)
		}
	}
	sc.ViewerID = a.UserID
	return sc, nil
}

// Request queues an archive of a scope for the actor and starts making it in the
// background. It returns the job (status queued).
func (s *Archives) Request(ctx context.Context, a identity.Actor, label string) (*store.Archive, error) {
	label = strings.TrimSpace(label)
	if err := checkScope(a, label); err != nil {
		return nil, err
	}
	sc, err := s.resolveFor(ctx, a, label)
	if err != nil {
		return nil, err
	}
	n, err := s.store.UnfinishedArchives(ctx, a.Username)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, refuse(Busy, "an archive you asked for is still being made; wait for it to finish")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, refuse(NotReady, "the server is shutting down; ask again when it is back")
	}
	job, err := s.store.CreateArchive(ctx, a, sc.Label)
	if err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go s.run(job.ID, sc, a)
	return job, nil
}

// run makes one archive into an encrypted blob and records the outcome.
func (s *Archives) run(id string, sc store.ArchiveScope, by identity.Actor) {
	defer s.wg.Done()
	ctx := s.ctx
	fail := func(err error) {
		reason := "failed: " + err.Error()
		if ctx.Err() != nil {
			reason = "interrupted: the server stopped while the archive was being made; request it again"
		}
		s.log.Error("archive failed", "archive", id, "scope", sc.Label, "err", err.Error())
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := s.store.FailArchive(fctx, identity.System(), id, reason); err != nil {
			s.log.Error("archive: record failure", "archive", id, "err", err.Error())
		}
	}
	select {
	case s.slot <- struct{}{}:
		defer func() { <-s.slot }()
	case <-ctx.Done():
		fail(ctx.Err())
		return
	}
	ok, err := s.store.StartArchive(ctx, id)
	if err != nil || !ok {
		if err == nil {
			err = errors.New("the archive is no longer queued")
		}
		fail(err)
		return
	}
	start := s.now()
	res, blobID, sum, size, err := s.toBlob(ctx, id, sc, by)
	if err != nil {
		fail(err)
		return
	}
	err = s.store.FinishArchive(ctx, identity.System(), id, store.ArchiveResult{BlobID: blobID, SizeBytes: size, SHA256: sum,
		Files: res.Files, Counts: res.Manifest.Counts, ExpiresAt: s.now().Add(ArchiveTTL)})
	if err != nil {
		_ = s.blobs.Delete(blobID)
		fail(err)
		return
	}
	s.log.Info("archive made", "archive", id, "scope", sc.Label, "files", res.Files, "bytes", size, "took", s.now().Sub(start).String())
}

// toBlob writes the archive into a new encrypted blob, hashing the ZIP as it goes.
func (s *Archives) toBlob(ctx context.Context, id string, sc store.ArchiveScope, by identity.Actor) (*ArchiveResult, string, string, int64, error) {
	total, err := s.store.ArchiveAudioBytes(ctx, sc)
	if err != nil {
		return nil, "", "", 0, err
	}
	w, err := s.blobs.Create()
	if err != nil {
		return nil, "", "", 0, err
	}
	defer w.Abort()
	h := sha256.New()
	last, lastAt := -1, time.Time{}
	progress := func(done int64) {
		if total <= 0 {
			return
		}
		pct := int(5 + 90*done/total)
		if pct != last && time.Since(lastAt) > 500*time.Millisecond {
			last, lastAt = pct, time.Now()
			_ = s.store.SetArchiveProgress(ctx, id, pct)
		}
	}
	res, err := s.writeArchive(ctx, sc, by, io.MultiWriter(w, h), progress)
	if err != nil {
		return nil, "", "", 0, err
	}
	blobID, size, err := w.Commit()
	if err != nil {
		return nil, "", "", 0, err
	}
	return res, blobID, hex.EncodeToString(h.Sum(nil)), size, nil
}

// WriteTo writes the archive of a scope straight to w (the CLI: an operator at the
// server writes a file they asked for). It is audited as requested and completed.
func (s *Archives) WriteTo(ctx context.Context, a identity.Actor, label string, w io.Writer) (*ArchiveResult, error) {
	sc, err := s.resolveFor(ctx, a, label)
	if err != nil {
		return nil, err
	}
	id := store.NewID("arc")
	if err := s.store.Audit(ctx, a, "archive.request", "archive", id, map[string]any{"scope": sc.Label, "to": "file"}); err != nil {
		return nil, err
	}
	h := sha256.New()
	c := &counter{}
	res, err := s.writeArchive(ctx, sc, a, io.MultiWriter(w, h, c), nil)
	if err != nil {
		_ = s.store.Audit(context.WithoutCancel(ctx), a, "archive.fail", "archive", id, map[string]any{"error": err.Error()})
		return nil, err
	}
	err = s.store.Audit(ctx, a, "archive.complete", "archive", id, map[string]any{"scope": sc.Label, "files": res.Files,
		"size_bytes": c.n, "sha256": hex.EncodeToString(h.Sum(nil)), "counts": res.Manifest.Counts})
	return res, err
}

// visible reports whether the actor may see an archive job: admins every one, billing
// the matter archives, anyone the archives they asked for.
func visible(a identity.Actor, x *store.Archive) bool {
	switch {
	case a.Role == identity.RoleAdmin:
		return true
	case a.Role == identity.RoleBilling && strings.HasPrefix(x.Scope, "matter:"):
		return true
	}
	return a.UserID != 0 && x.RequestedByID == a.UserID
}

// Get returns an archive job the actor may see; others get store.ErrNotFound.
func (s *Archives) Get(ctx context.Context, a identity.Actor, id string) (*store.Archive, error) {
	x, err := s.store.ArchiveByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(a, x) {
		return nil, store.ErrNotFound
	}
	return x, nil
}

// List lists the archive jobs the actor may see, newest first.
func (s *Archives) List(ctx context.Context, a identity.Actor) ([]*store.Archive, error) {
	var by int64
	if a.Role != identity.RoleAdmin {
		by = a.UserID
	}
	all, err := s.store.Archives(ctx, by, 100)
	if err != nil {
		return nil, err
	}
	if a.Role == identity.RoleBilling {
		// Billing also sees the matter archives others asked for.
		others, err := s.store.Archives(ctx, 0, 100)
		if err != nil {
			return nil, err
		}
		all = all[:0]
		for _, x := range others {
			if visible(a, x) {
				all = append(all, x)
			}
		}
	}
	return all, nil
}

// ArchiveDownload is an open archive. Close Body when done.
type ArchiveDownload struct {
	Archive  *store.Archive
	Filename string
	Body     io.ReadSeekCloser
	Size     int64
}

// Open opens a finished archive for download (decrypting as it is read) and audits the
// download first: no audit record, no download.
func (s *Archives) Open(ctx context.Context, a identity.Actor, id string) (*ArchiveDownload, error) {
	x, err := s.Get(ctx, a, id)
	if err != nil {
		return nil, err
	}
	switch x.Status {
	case store.ArchiveDone:
	case store.ArchiveExpired:
		return nil, refuse(Gone, "this archive expired and its file was deleted; request a new one")
	case store.ArchiveFailed:
		return nil, refuse(NotReady, "this archive failed (%s); request a new one", x.Error)
	default:
		return nil, refuse(NotReady, "this archive is still being made (%d%%); try again when its status is done", x.Progress)
	}
	rc, size, err := s.blobs.OpenSeeker(x.BlobID)
	if err != nil {
		return nil, fmt.Errorf("open archive %s: %w", x.ID, err)
	}
	if err := s.store.Audit(ctx, a, "archive.download", "archive", x.ID, map[string]any{"scope": x.Scope, "size_bytes": size}); err != nil {
		rc.Close()
		return nil, err
	}
	return &ArchiveDownload{Archive: x, Filename: ArchiveFilename(x.Scope, x.CreatedAt), Body: rc, Size: size}, nil
}

// ArchiveFilename is the download name of an archive: dictum-archive-<scope>-<date>.zip,
// reduced to letters, digits, dots, dashes and underscores.
func ArchiveFilename(scope, createdAt string) string {
	date := createdAt
	if len(date) >= 10 {
		date = date[:10]
	}
	var b strings.Builder
	for _, r := range "dictum-archive-" + strings.ReplaceAll(scope, ":", "-") + "-" + date {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String() + ".zip"
}

// ExpireDue deletes the blobs of archives past their expiry and marks them expired. The
// blob goes first: a crash between the two leaves a row the next run finishes.
func (s *Archives) ExpireDue(ctx context.Context) (int, error) {
	due, err := s.store.DueArchives(ctx, s.now())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range due {
		if x.BlobID != "" {
			if err := s.blobs.Delete(x.BlobID); err != nil {
				return n, fmt.Errorf("expire archive %s: %w", x.ID, err)
			}
		}
		if err := s.store.ExpireArchive(ctx, identity.System(), x.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Wait blocks until no archive is being made (tests and the CLI).
func (s *Archives) Wait() { s.wg.Wait() }
