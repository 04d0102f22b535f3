package logfile

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

func files(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range es {
		fi, _ := e.Info()
		out[e.Name()] = fi.Size()
	}
	return out
}

func TestRotationAtSizeAndKeep(t *testing.T) {
	cases := []struct {
		name  string
		max   int64
		keep  int
		lines int
		want  []string // files left
	}{
		{"keeps two", 100, 2, 40, []string{"d.log", "d.log.1", "d.log.2"}},
		{"keeps five", 100, 5, 40, []string{"d.log", "d.log.1", "d.log.2", "d.log.3", "d.log.4", "d.log.5"}},
		{"keeps none", 100, 0, 40, []string{"d.log"}},
		{"no rotation below the limit", 1000, 3, 40, []string{"d.log"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := tempDir(t)
			w, err := Open(filepath.Join(dir, "d.log"), tc.max, tc.keep)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.lines {
				fmt.Fprintf(w, "line %03d 0123456789\n", i) // 20 bytes: five lines per 100-byte file
			}
			w.Close()
			got := files(t, dir)
			var names []string
			for n, size := range got {
				names = append(names, n)
				if size > tc.max {
					t.Errorf("%s is %d bytes, over the %d limit", n, size, tc.max)
				}
			}
			sort.Strings(names)
			if strings.Join(names, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("files %v, want %v", names, tc.want)
			}
			// The newest lines are in d.log, the ones before them in d.log.1.
			last, _ := os.ReadFile(filepath.Join(dir, "d.log"))
			if !strings.HasSuffix(string(last), fmt.Sprintf("line %03d 0123456789\n", tc.lines-1)) {
				t.Errorf("d.log ends with %q", last)
			}
			if tc.keep > 0 && len(tc.want) > 1 {
				prev, _ := os.ReadFile(filepath.Join(dir, "d.log.1"))
				first := strings.SplitN(string(last), "\n", 2)[0]
				var n int
				fmt.Sscanf(first, "line %d", &n)
				if !strings.HasSuffix(string(prev), fmt.Sprintf("line %03d 0123456789\n", n-1)) {
					t.Errorf("d.log.1 does not hold the lines just before d.log: %q", prev)
				}
			}
		})
	}
}

func TestReopensExistingFileAppending(t *testing.T) {
	p := filepath.Join(tempDir(t), "logs", "d.log")
	w, err := Open(p, 1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "first run")
	w.Close()
	if _, err := w.Write([]byte("after close\n")); err == nil {
		t.Error("write after Close succeeded")
	}
	w, _ = Open(p, 1<<20, 2)
	fmt.Fprintln(w, "second run")
	w.Close()
	if b, _ := os.ReadFile(p); string(b) != "first run\nsecond run\n" {
		t.Fatalf("log after restart: %q", b)
	}
}

// Many goroutines writing whole lines: every line is intact, none lost, across rotations.
func TestConcurrentWritersDoNotInterleave(t *testing.T) {
	dir := tempDir(t)
	w, err := Open(filepath.Join(dir, "d.log"), 4096, 100)
	if err != nil {
		t.Fatal(err)
	}
	const writers, per = 8, 200
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				line := fmt.Sprintf("{\"writer\":%d,\"i\":%d,\"pad\":\"%s\"}\n", g, i, strings.Repeat("x", 40+g))
				if _, err := w.Write([]byte(line)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	w.Close()
	seen := map[string]bool{}
	for name := range files(t, dir) {
		f, _ := os.Open(filepath.Join(dir, name))
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var g, i int
			var pad string
			if n, _ := fmt.Sscanf(sc.Text(), "{\"writer\":%d,\"i\":%d,\"pad\":%s", &g, &i, &pad); n != 3 || pad != "\""+strings.Repeat("x", 40+g)+"\"}" {
				t.Fatalf("%s: mangled line %q", name, sc.Text())
			}
			seen[fmt.Sprint(g, i)] = true
		}
		f.Close()
	}
	if len(seen) != writers*per {
		t.Fatalf("%d distinct lines, want %d", len(seen), writers*per)
	}
}

// An admin deleting (or moving away) the live log file does not make logging vanish:
// the next write after CheckEvery re-creates it.
func TestRecreatesDeletedFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows refuses to delete or move a file that is open for writing (sharing violation)")
	}
	p := filepath.Join(tempDir(t), "d.log")
	w, err := Open(p, 1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.CheckEvery = 0
	fmt.Fprintln(w, "before")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "after delete")
	if b, err := os.ReadFile(p); err != nil || string(b) != "after delete\n" {
		t.Fatalf("after delete: %q %v", b, err)
	}
	if err := os.Rename(p, p+".moved"); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(w, "after move")
	if b, _ := os.ReadFile(p); string(b) != "after move\n" {
		t.Fatalf("after move: %q", b)
	}
	if b, _ := os.ReadFile(p + ".moved"); string(b) != "after delete\n" {
		t.Fatalf("moved file: %q", b)
	}
}

func TestOpenRefusesZeroLimit(t *testing.T) {
	if _, err := Open(filepath.Join(tempDir(t), "d.log"), 0, 1); err == nil {
		t.Fatal("a zero size limit was accepted")
	}
}
