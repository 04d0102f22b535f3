package transcribe

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

const modelUsage = `usage: dictum model <command>

  list            the catalogue, with what is installed
  pull NAME       download a catalogue model (resumable, checksum-verified)
  import FILE     install a model file copied onto this server (air-gapped)
  verify FILE|NAME  check a model file's structure and, for catalogue files, its checksum
  use NAME|FILE   check a model and print the configuration line that selects it
`

// RunModelCLI implements `dictum model list|pull|import|verify|use` and the
// hidden `dictum model gen-test --dims tiny.en --out FILE [--seed N]`.
// modelsDir is <data>/models; baseURL is the configured mirror ("" = default).
//
// `use` does not edit the configuration: it validates the model and prints
// the line to put in dictum.toml (`[transcribe] model = "..."`) so that the
// admin stays in control of the file; the server picks it up on restart.
// Exit codes: 0 success, 1 failure, 2 usage error.
func RunModelCLI(args []string, modelsDir, baseURL string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, modelUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest := args[0], args[1:]
	fail := func(err error) int {
		fmt.Fprintf(stderr, "dictum model %s: %v\n", cmd, err)
		return 1
	}
	oneArg := func(what string) (string, bool) {
		if len(rest) != 1 || strings.HasPrefix(rest[0], "-") {
			fmt.Fprintf(stderr, "usage: dictum model %s %s\n", cmd, what)
			return "", false
		}
		return rest[0], true
	}
	switch cmd {
	case "list":
		if len(rest) != 0 {
			fmt.Fprintln(stderr, "usage: dictum model list")
			return 2
		}
		tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSIZE\tLANG\tCHECKSUMS\tSTATUS")
		for _, m := range catalogue {
			status := "-"
			if st, err := os.Stat(filepath.Join(modelsDir, m.File())); err == nil {
				status = "installed"
				if st.Size() != m.Size {
					status = "installed (size differs: run verify)"
				}
			} else if st, err := os.Stat(filepath.Join(modelsDir, m.File()+".part")); err == nil {
				status = fmt.Sprintf("partial %d%% (pull resumes)", st.Size()*100/max(m.Size, 1))
			}
			if m.Name == DefaultModel {
				status += ", default"
			}
			lang := "multilingual"
			if m.English {
				lang = "English"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, humanBytes(m.Size), lang, checksumKinds(m), status)
		}
		tw.Flush()
		return 0

	case "pull":
		name, ok := oneArg("NAME")
		if !ok {
			return 2
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		last := -1
		p, err := Pull(ctx, name, baseURL, modelsDir, func(done, total int64) {
			if total <= 0 {
				return
			}
			if pct := int(done * 100 / total); pct/5 != last/5 || done == total {
				last = pct
				fmt.Fprintf(stderr, "\rdownloading %s: %3d%% (%s of %s)", name, pct, humanBytes(done), humanBytes(total))
			}
		})
		if last >= 0 {
			fmt.Fprintln(stderr)
		}
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s: installed and verified at %s\n", name, p)
		printUseHint(stdout, name)
		return 0

	case "import":
		src, ok := oneArg("FILE")
		if !ok {
			return 2
		}
		p, err := Import(src, modelsDir)
		if err != nil {
			return fail(err)
		}
		value := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "ggml-"), ".bin")
		if _, isCat := Lookup(value); isCat {
			fmt.Fprintf(stdout, "imported %s (catalogue model, checksum verified) to %s\n", value, p)
		} else {
			fmt.Fprintf(stdout, "imported a custom model (structure verified; no pinned checksum applies) to %s\n", p)
			value = strings.TrimSuffix(filepath.Base(p), ".bin")
		}
		printUseHint(stdout, value)
		return 0

	case "verify":
		arg, ok := oneArg("FILE|NAME")
		if !ok {
			return 2
		}
		p := arg
		if !isPathLike(arg) {
			rp, err := Resolve(arg, modelsDir)
			if err != nil {
				return fail(err)
			}
			p = rp
		}
		info, err := Verify(p)
		if err != nil {
			return fail(err)
		}
		printInfo(stdout, info)
		return 0

	case "use":
		arg, ok := oneArg("NAME|FILE")
		if !ok {
			return 2
		}
		p, err := Resolve(arg, modelsDir)
		if err != nil {
			return fail(err)
		}
		info, err := verifyFile(p)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s resolves to %s (%s, %s weights)\n", arg, p, info.Arch+langSuffix(info), info.WeightType)
		value := arg
		if isPathLike(arg) {
			value = p
		}
		printUseHint(stdout, value)
		return 0

	case "gen-test":
		fs := flag.NewFlagSet("dictum model gen-test", flag.ContinueOnError)
		fs.SetOutput(stderr)
		dims := fs.String("dims", "tiny.en", "hyperparameters: tiny.en or base.en (add -q8_0 for a quantised model)")
		out := fs.String("out", "", "output file (required)")
		seed := fs.Int64("seed", 1, "random seed")
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if *out == "" || fs.NArg() != 0 {
			fmt.Fprintln(stderr, "usage: dictum model gen-test --dims tiny.en|base.en[-q8_0] --out FILE [--seed N]")
			return 2
		}
		if err := writeTestModel(*out, *dims, *seed); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "wrote random-weight %s test model to %s (it transcribes gibberish; for tests only)\n", *dims, *out)
		return 0
	}
	fmt.Fprintf(stderr, "dictum model: unknown command %q\n%s", cmd, modelUsage)
	return 2
}

func writeTestModel(path, dims string, seed int64) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := GenerateTestModel(f, dims, seed); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

func printUseHint(w io.Writer, value string) {
	fmt.Fprintf(w, "to transcribe with it, set in dictum.toml:\n\n  [transcribe]\n  model = %q\n\nand restart dictum\n", value)
}

func printInfo(w io.Writer, info Info) {
	hp := info.HParams
	fmt.Fprintf(w, "file:        %s (%s)\n", info.Path, humanBytes(info.Size))
	fmt.Fprintf(w, "model:       %s, %s weights, %d tensors\n", info.Arch+langSuffix(info), info.WeightType, info.Tensors)
	fmt.Fprintf(w, "hparams:     n_vocab=%d n_audio_ctx=%d n_audio_state=%d n_audio_head=%d n_audio_layer=%d\n", hp.NVocab, hp.NAudioCtx, hp.NAudioState, hp.NAudioHead, hp.NAudioLayer)
	fmt.Fprintf(w, "             n_text_ctx=%d n_text_state=%d n_text_head=%d n_text_layer=%d n_mels=%d ftype=%d\n", hp.NTextCtx, hp.NTextState, hp.NTextHead, hp.NTextLayer, hp.NMels, hp.FType)
	fmt.Fprintf(w, "vocabulary:  %d tokens stored\n", info.VocabTokens)
	switch {
	case info.ChecksumOK:
		fmt.Fprintf(w, "checksum:    OK, matches catalogue model %s (sha256 %s)\n", info.Catalogue, info.SHA256)
	default:
		fmt.Fprintf(w, "checksum:    %s\n", info.ChecksumNote)
	}
	fmt.Fprintln(w, "status:      OK")
}

func langSuffix(info Info) string {
	if info.English {
		return ".en"
	}
	return ""
}

func checksumKinds(m Model) string {
	var k []string
	if m.SHA256 != "" {
		k = append(k, "sha256")
	}
	if m.SHA1 != "" {
		k = append(k, "sha1")
	}
	return strings.Join(k, "+")
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// RunTranscribeCLI implements `dictum transcribe [--model M] [--threads N]
// [--language en] [--prompt TEXT] [--no-fallback] FILE...`. It loads the model
// once, decodes each file with decode (16 kHz mono float32, e.g.
// audio.DecodeAll) and prints the transcript followed by a timing line
// "audio=S s wall=S s rtf=R" (RTF = wall / audio). The model load time is
// printed first. Exit codes: 0 all files done, 1 a failure, 2 usage error.
func RunTranscribeCLI(args []string, modelsDir, defaultModel string, stdout, stderr io.Writer, decode func(path string) ([]float32, error)) int {
	fs := flag.NewFlagSet("dictum transcribe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", defaultModel, "catalogue name or model file")
	threads := fs.Int("threads", min(4, runtime.NumCPU()), "CPU threads")
	language := fs.String("language", "", `spoken language ("" = en for .en models, auto-detect otherwise)`)
	prompt := fs.String("prompt", "", "initial prompt, e.g. matter and client names")
	noFallback := fs.Bool("no-fallback", false, "disable temperature fallback (faster; needed for random-weight test models)")
	verbose := fs.Bool("verbose", false, "show whisper.cpp's log")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dictum transcribe [--model M] [--threads N] [--language en] [--prompt TEXT] [--no-fallback] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	if decode == nil {
		fmt.Fprintln(stderr, "dictum transcribe: no audio decoder available")
		return 1
	}
	if *threads < 1 {
		fmt.Fprintln(stderr, "dictum transcribe: --threads must be at least 1")
		return 2
	}
	fb := float32(0)
	if *noFallback {
		fb = -1
	}
	t0 := time.Now()
	eng, err := Open(*model, modelsDir, EngineOptions{Threads: *threads, TemperatureFallback: fb, VerboseLog: *verbose})
	if err != nil {
		fmt.Fprintf(stderr, "dictum transcribe: %v\n", err)
		return 1
	}
	defer eng.Close()
	fmt.Fprintf(stdout, "# model %s (%s%s, %s) loaded in %.2f s, %d threads\n", eng.Path(), eng.Info().Arch, langSuffix(eng.Info()), eng.Info().WeightType, time.Since(t0).Seconds(), *threads)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := 0
	var sumAudio, sumWall float64
	for _, path := range fs.Args() {
		samples, err := decode(path)
		if err != nil {
			fmt.Fprintf(stderr, "dictum transcribe: %s: %v\n", path, err)
			code = 1
			continue
		}
		res, err := eng.Transcribe(ctx, samples, Options{Language: *language, InitialPrompt: *prompt, Threads: *threads})
		if err != nil {
			fmt.Fprintf(stderr, "dictum transcribe: %s: %v\n", path, err)
			code = 1
			if ctx.Err() != nil {
				return 1
			}
			continue
		}
		sumAudio += res.AudioSeconds
		sumWall += res.WallSeconds
		fmt.Fprintf(stdout, "== %s\n%s\n", path, res.Text)
		fmt.Fprintf(stdout, "# %s: audio=%.2f s wall=%.3f s rtf=%.3f segments=%d\n", path, res.AudioSeconds, res.WallSeconds, res.WallSeconds/res.AudioSeconds, len(res.Segments))
	}
	if fs.NArg() > 1 && sumAudio > 0 {
		fmt.Fprintf(stdout, "# total: audio=%.2f s wall=%.3f s rtf=%.3f\n", sumAudio, sumWall, sumWall/sumAudio)
	}
	return code
}
