package draft

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

const usage = `usage: dictum draft --matters FILE [--today YYYY-MM-DD] [--engine rules|ollama|azure]
                    [--increment MINUTES] [--batch] [--multi] [TEXT ...]

Prints one JSON draft time entry for TEXT (several words are joined with
spaces; without TEXT the text is read from stdin). With --batch, reads JSONL
{"id","text"} from stdin and writes one JSONL line {"id", ...draft} per input.
With --multi, a dictation may hold several entries (a whole day): each input
prints {"id", "entries": [draft + "span", ...]} in spoken order ("id" is null
for TEXT or stdin).
`

const maxBatchLine = 1 << 20

// batchOut is one line of --batch output: the id, then the draft fields, or
// an error for a line that could not be read.
type batchOut struct {
	ID json.RawMessage `json:"id"`
	*Draft
	Error string `json:"error,omitempty"`
	parts []Part // with --multi
}

// RunCLI runs `dictum draft`. It returns the process exit code: 0 on success,
// 1 on a runtime failure, 2 on a usage error. Flags override cfg.Engine and
// cfg.IncrementMinutes.
func RunCLI(args []string, stdin io.Reader, stdout, stderr io.Writer, cfg Config) int {
	fs := flag.NewFlagSet("dictum draft", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	mattersPath := fs.String("matters", "", "matters file (JSON or CSV)")
	todayStr := fs.String("today", "", "reference date YYYY-MM-DD (default: today, local time)")
	engine := fs.String("engine", "", "rules, ollama or azure (default from config, else rules)")
	increment := fs.Int("increment", 0, "billing increment in minutes (default from config, else 6)")
	batch := fs.Bool("batch", false, "read JSONL {\"id\",\"text\"} from stdin")
	multi := fs.Bool("multi", false, "several entries per dictation: print {\"id\",\"entries\"} per input")

	// flags may come before or after the text words
	var words []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			words = append(words, rest[1:]...)
			break
		}
		words = append(words, rest[0])
		rest = rest[1:]
	}

	if *mattersPath == "" {
		fmt.Fprintln(stderr, "dictum draft: --matters FILE is required")
		fs.Usage()
		return 2
	}
	today := time.Now()
	if *todayStr != "" {
		t, err := time.Parse(time.DateOnly, *todayStr)
		if err != nil {
			fmt.Fprintf(stderr, "dictum draft: --today %q: want YYYY-MM-DD\n", *todayStr)
			return 2
		}
		today = t
	}
	if *engine != "" {
		cfg.Engine = *engine
	}
	if *increment != 0 {
		cfg.IncrementMinutes = *increment
	}
	if *batch && len(words) > 0 {
		fmt.Fprintln(stderr, "dictum draft: TEXT and --batch exclude each other")
		return 2
	}
	matters, err := LoadMatters(*mattersPath)
	if err != nil {
		fmt.Fprintf(stderr, "dictum draft: %v\n", err)
		return 1
	}
	d, err := New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "dictum draft: %v\n", err)
		return 2
	}
	ctx := context.Background()

	if *batch {
		return runBatch(ctx, d, matters, today, stdin, stdout, stderr, multiFn(*multi, cfg))
	}
	text := strings.Join(words, " ")
	if len(words) == 0 {
		b, err := io.ReadAll(io.LimitReader(stdin, maxBatchLine+1))
		if err != nil {
			fmt.Fprintf(stderr, "dictum draft: read stdin: %v\n", err)
			return 1
		}
		if len(b) > maxBatchLine {
			fmt.Fprintf(stderr, "dictum draft: text on stdin longer than %d bytes\n", maxBatchLine)
			return 1
		}
		text = string(b)
	}
	var out any
	req := Request{Text: text, Today: today, Matters: matters}
	if *multi {
		parts, err := DraftMulti(ctx, d, req, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "dictum draft: %v\n", err)
			return 1
		}
		out = multiOut{Entries: parts}
	} else {
		dr, err := d.Draft(ctx, req)
		if err != nil {
			fmt.Fprintf(stderr, "dictum draft: %v\n", err)
			return 1
		}
		out = dr
	}
	if err := writeJSON(stdout, out); err != nil {
		fmt.Fprintf(stderr, "dictum draft: write: %v\n", err)
		return 1
	}
	return 0
}

// multiOut is one input's answer with --multi.
type multiOut struct {
	ID      json.RawMessage `json:"id"`
	Entries []Part          `json:"entries"`
	Error   string          `json:"error,omitempty"`
}

// multiFn returns the multi-entry drafter of --multi, or nil.
func multiFn(on bool, cfg Config) func(context.Context, Drafter, Request) ([]Part, error) {
	if !on {
		return nil
	}
	return func(ctx context.Context, d Drafter, req Request) ([]Part, error) { return DraftMulti(ctx, d, req, cfg) }
}

func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// runBatch drafts one JSONL line at a time; a bad line gives an error line,
// never a stop. The exit code is 1 when any line failed.
func runBatch(ctx context.Context, d Drafter, matters []Matter, today time.Time, stdin io.Reader, stdout, stderr io.Writer,
	multi func(context.Context, Drafter, Request) ([]Part, error)) int {
	r := bufio.NewReaderSize(stdin, 64<<10)
	bw := bufio.NewWriter(stdout)
	failed := 0
	for lineNo := 1; ; lineNo++ {
		line, tooLong, err := readLine(r)
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintf(stderr, "dictum draft: read stdin: %v\n", err)
			_ = bw.Flush()
			return 1
		}
		if len(bytes.TrimSpace(line)) == 0 && !tooLong {
			if errors.Is(err, io.EOF) {
				break
			}
			continue
		}
		out := batchLine(ctx, d, matters, today, line, tooLong, lineNo, multi)
		if out.Error != "" {
			failed++
		}
		var v any = out
		if multi != nil {
			mo := multiOut{ID: out.ID, Entries: out.parts, Error: out.Error}
			if mo.Entries == nil {
				mo.Entries = []Part{}
			}
			if mo.ID == nil {
				mo.ID = json.RawMessage("null")
			}
			v = mo
		}
		if werr := writeJSON(bw, v); werr != nil {
			fmt.Fprintf(stderr, "dictum draft: write: %v\n", werr)
			return 1
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if err := bw.Flush(); err != nil {
		fmt.Fprintf(stderr, "dictum draft: write: %v\n", err)
		return 1
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "dictum draft: %d input line(s) could not be drafted\n", failed)
		return 1
	}
	return 0
}

// readLine reads one line; a line longer than maxBatchLine is skipped and
// reported as tooLong.
func readLine(r *bufio.Reader) ([]byte, bool, error) {
	var line []byte
	tooLong := false
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > maxBatchLine {
			tooLong = true
			line = line[:0]
		} else if !tooLong {
			line = append(line, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, tooLong, err
	}
}

func batchLine(ctx context.Context, d Drafter, matters []Matter, today time.Time, line []byte, tooLong bool, lineNo int,
	multi func(context.Context, Drafter, Request) ([]Part, error)) batchOut {
	fail := func(id json.RawMessage, msg string) batchOut {
		return batchOut{ID: id, Error: msg}
	}
	if tooLong {
		return fail(nil, fmt.Sprintf("line %d longer than %d bytes", lineNo, maxBatchLine))
	}
	var in struct {
		ID   json.RawMessage `json:"id"`
		Text *string         `json:"text"`
	}
	if err := json.Unmarshal(line, &in); err != nil {
		return fail(nil, fmt.Sprintf("line %d is not a JSON object", lineNo))
	}
	var id json.RawMessage // nil encodes as null
	if t := bytes.TrimSpace(in.ID); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		var v any
		if err := json.Unmarshal(t, &v); err != nil {
			return fail(nil, fmt.Sprintf("line %d: bad id", lineNo))
		}
		switch v.(type) {
		case string, float64:
			id = t
		default:
			return fail(nil, fmt.Sprintf("line %d: id must be a string or number", lineNo))
		}
	}
	if in.Text == nil {
		return fail(id, fmt.Sprintf("line %d has no \"text\"", lineNo))
	}
	req := Request{Text: *in.Text, Today: today, Matters: matters}
	if multi != nil {
		parts, err := multi(ctx, d, req)
		if err != nil {
			return fail(id, fmt.Sprintf("line %d: %v", lineNo, err))
		}
		return batchOut{ID: id, parts: parts}
	}
	out, err := d.Draft(ctx, req)
	if err != nil {
		return fail(id, fmt.Sprintf("line %d: %v", lineNo, err))
	}
	return batchOut{ID: id, Draft: &out}
}
