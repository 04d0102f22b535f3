// Package assets holds the web UI's HTML templates and static files (CSS, JS), embedded in
// the binary. Static files are served at content-addressed URLs (/static/<sha256-prefix>/<path>)
// so browsers may cache them forever and a new build never serves a stale script.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"sort"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Templates returns the HTML templates (*.html at the root of the returned FS).
func Templates() fs.FS {
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		panic(err)
	}
	return sub
}

// File is one static file with its content hash.
type File struct {
	Path        string // e.g. js/app.js
	Hash        string // first 12 hex digits of the SHA-256 of Data
	Data        []byte
	ContentType string
}

// URL is the file's cache-busting address.
func (f *File) URL() string { return "/static/" + f.Hash + "/" + f.Path }

// Static indexes the embedded static files by path.
type Static struct {
	files map[string]*File
}

// LoadStatic reads and hashes every embedded static file.
func LoadStatic() (*Static, error) {
	st := &Static{files: map[string]*File{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel := strings.TrimPrefix(p, "static/")
		ct := mime.TypeByExtension(path.Ext(rel))
		switch path.Ext(rel) {
		case ".js", ".mjs":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		st.files[rel] = &File{Path: rel, Hash: hex.EncodeToString(sum[:6]), Data: b, ContentType: ct}
		return nil
	})
	return st, err
}

// Get returns the file at path, or nil.
func (s *Static) Get(p string) *File { return s.files[p] }

// URL returns the versioned URL of a static file; it panics on an unknown path so a typo in
// a template fails the first render (and the tests) instead of shipping a broken link.
func (s *Static) URL(p string) string {
	f := s.files[p]
	if f == nil {
		panic("assets: no static file " + p)
	}
	return f.URL()
}

// Paths lists the static files (tests).
func (s *Static) Paths() []string {
	out := make([]string, 0, len(s.files))
	for p := range s.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
