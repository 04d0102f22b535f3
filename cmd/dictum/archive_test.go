package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestArchiveCommand(t *testing.T) {
	data := initData(t)
	out := filepath.Join(t.TempDir(), "firm.zip")
	r := dictum(t, "", nil, "archive", "--data", data, "--scope", "firm", "--out", out)
	if r.code != 0 || !strings.Contains(r.stdout, "archive firm written to") {
		t.Fatalf("archive: %d %s %s", r.code, r.stdout, r.stderr)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive file: %v %v", fi, err)
	}
	if _, err := exec.LookPath("unzip"); err == nil {
		if b, err := exec.Command("unzip", "-t", out).CombinedOutput(); err != nil {
			t.Errorf("unzip -t: %v\n%s", err, b)
		}
	}
	// The manifest anchors the audit chain: `audit verify --against` accepts it as a head.
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	var man []byte
	for _, f := range zr.File {
		if f.Name == "manifest.json" {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			man, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	zr.Close()
	if !bytes.Contains(man, []byte(`"audit_head": {`)) {
		t.Fatalf("manifest without the audit head: %s", man)
	}
	manPath := filepath.Join(t.TempDir(), "manifest.json")
	os.WriteFile(manPath, man, 0o600)
	if r := dictum(t, "", nil, "audit", "verify", "--data", data, "--against", manPath); r.code != 0 {
		t.Fatalf("audit verify --against the archive manifest: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// Refusals: a clear message, nothing written, nothing replaced.
	before := sha(t, out)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--scope", "firm", "--out", out}, "exists"},
		{[]string{"--scope", "user:nobody", "--out", out + "2"}, `no user named "nobody"`},
		{[]string{"--scope", "planet", "--out", out + "2"}, "scope must be firm"},
		{[]string{"--scope", "firm"}, "usage"},
	} {
		r := dictum(t, "", nil, append([]string{"archive", "--data", data}, c.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("archive %v: %d %q, want an error with %q", c.args, r.code, r.stderr, c.msg)
		}
	}
	if sha(t, out) != before {
		t.Errorf("an existing archive was overwritten")
	}
	if _, err := os.Stat(out + "2"); err == nil {
		t.Errorf("a refused archive left a file")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".dictum-archive-*")); len(left) > 0 {
		t.Errorf("temp files left: %v", left)
	}
	r = dictum(t, "", nil, "audit", "list", "--data", data, "--limit", "5")
	if !strings.Contains(r.stdout, "archive.complete") {
		t.Errorf("the CLI archive is not audited: %s", r.stdout)
	}
}
