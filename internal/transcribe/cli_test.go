package transcribe

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func runModel(args []string, modelsDir string) (int, string, string) {
	var out, errb bytes.Buffer
	code := RunModelCLI(args, modelsDir, "http://127.0.0.1:1/unused", &out, &errb)
	return code, out.String(), errb.String()
}

func TestRunModelCLI(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	gen := testModel(t, "tiny.en")
	text := filepath.Join(dir, "readme.txt")
	if err := os.WriteFile(text, []byte("not a model\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		noStdout bool
	}{
		{name: "no command", args: nil, code: 2, stderr: "usage: dictum model"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: "unknown command"},
		{name: "list", args: []string{"list"}, code: 0, stdout: "base.en"},
		{name: "list marks default", args: []string{"list"}, code: 0, stdout: ", default"},
		{name: "verify generated", args: []string{"verify", gen}, code: 0, stdout: "status:      OK"},
		{name: "verify text file", args: []string{"verify", text}, code: 1, stderr: "bad magic", noStdout: true},
		{name: "verify missing name", args: []string{"verify", "small.en"}, code: 1, stderr: "dictum model pull small.en"},
		{name: "use missing", args: []string{"use", "base.en"}, code: 1, stderr: "is missing"},
		{name: "use file", args: []string{"use", gen}, code: 0, stdout: "model = \"" + gen + "\""},
		{name: "import", args: []string{"import", gen}, code: 0, stdout: filepath.Join(models, filepath.Base(gen))},
		{name: "import text", args: []string{"import", text}, code: 1, stderr: "invalid whisper model"},
		{name: "pull unknown", args: []string{"pull", "huge-v9"}, code: 1, stderr: "unknown whisper model"},
		{name: "pull without name", args: []string{"pull"}, code: 2, stderr: "usage: dictum model pull NAME"},
		{name: "gen-test without out", args: []string{"gen-test", "--dims", "tiny.en"}, code: 2, stderr: "usage"},
		{name: "gen-test bad dims", args: []string{"gen-test", "--dims", "huge", "--out", filepath.Join(dir, "x.bin")}, code: 1, stderr: "unknown dims"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runModel(tc.args, models)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("stdout %q / stderr %q, want %q / %q", out, errOut, tc.stdout, tc.stderr)
			}
			if tc.noStdout && out != "" {
				t.Fatalf("unexpected stdout %q", out)
			}
		})
	}
	// After the import, `use` resolves the imported custom model by its bare name.
	name := strings.TrimSuffix(filepath.Base(gen), ".bin")
	code, out, errOut := runModel([]string{"use", name}, models)
	if code != 0 || !strings.Contains(out, "model = \""+name+"\"") {
		t.Fatalf("use by bare custom name: exit %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runModel([]string{"use", "not-imported"}, models); code != 1 || !strings.Contains(errOut, "unknown whisper model") {
		t.Fatalf("use unknown name: exit %d %q", code, errOut)
	}
}

func TestRunModelCLIGenTest(t *testing.T) {
	out := filepath.Join(t.TempDir(), "gen.bin")
	code, stdout, stderr := runModel([]string{"gen-test", "--dims", "tiny.en", "--out", out, "--seed", "1"}, t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(testModel(t, "tiny.en")) // generated with seed 1 too
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("gen-test output differs from GenerateTestModel with the same seed")
	}
}

func TestRunTranscribeCLI(t *testing.T) {
	gen := testModel(t, "tiny.en")
	jfk := jfkPath(t)
	var out, errb bytes.Buffer
	code := RunTranscribeCLI([]string{"--model", gen, "--threads", "2", "--no-fallback", jfk, filepath.Join(t.TempDir(), "missing.wav")},
		t.TempDir(), DefaultModel, &out, &errb, readWAV16k)
	if code != 1 {
		t.Fatalf("exit %d with a missing file, want 1\n%s\n%s", code, out.String(), errb.String())
	}
	if !regexp.MustCompile(`# .*jfk\.wav: audio=11\.00 s wall=[0-9.]+ s rtf=[0-9.]+ segments=\d+`).MatchString(out.String()) {
		t.Fatalf("no timing line for jfk.wav:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "loaded in") || !strings.Contains(errb.String(), "missing.wav") {
		t.Fatalf("stdout %q stderr %q", out.String(), errb.String())
	}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no files", []string{"--model", gen}, 2, "usage"},
		{"missing default model", []string{jfk}, 1, "dictum model pull base.en"},
		{"bad threads", []string{"--threads", "0", jfk}, 2, "--threads"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := RunTranscribeCLI(tc.args, t.TempDir(), DefaultModel, &out, &errb, readWAV16k); code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errb.String())
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("stderr %q lacks %q", errb.String(), tc.want)
			}
		})
	}
}
