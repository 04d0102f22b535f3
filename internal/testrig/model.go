package testrig

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"dictum/internal/transcribe"
)

// TestModelDims is the shape of the model TestModel generates: whisper's tiny.en
// hyperparameters, the smallest model whisper.cpp runs.
const TestModelDims = "tiny.en"

// TestModel returns the path of a random-weight whisper model (tiny.en shape, seed 1)
// made by transcribe.GenerateTestModel. whisper.cpp loads and runs it, producing
// gibberish: enough to exercise the transcription path where real weights cannot be
// downloaded. The file is generated once and kept in the user cache directory
// ($XDG_CACHE_HOME or ~/.cache, under dictum/test-models/), because generating it takes
// seconds; the same seed always gives the same bytes, so a cached file is never stale.
func TestModel(t testing.TB) string {
	t.Helper()
	p, err := cachedTestModel(TestModelDims, 1)
	if err != nil {
		t.Fatalf("testrig: test model: %v", err)
	}
	return p
}

// cachedTestModel generates the model for dims and seed into the cache unless it is there.
// It writes to a temporary file and renames it, so concurrent test binaries never see a
// half-written model.
func cachedTestModel(dims string, seed int64) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the cache directory: %w", err)
	}
	p := filepath.Join(dir, "dictum", "test-models", fmt.Sprintf("%s-seed%d.bin", dims, seed))
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("create the model cache: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), "gen-*")
	if err != nil {
		return "", fmt.Errorf("create the model file: %w", err)
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left to remove
	if err := transcribe.GenerateTestModel(f, dims, seed); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write the model file: %w", err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return "", fmt.Errorf("move the model into the cache: %w", err)
	}
	return p, nil
}
