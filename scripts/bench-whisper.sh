#!/usr/bin/env bash
# Compares dictum's whisper.cpp engine (Go, cgo, model loaded once) with the
# upstream whisper-cli built from the same whisper.cpp 1.9.1 sources, on the
# same random-weight models and the same decoding parameters:
#   2 threads, greedy (best-of 1, beam 1), temperature fallback off, language en,
#   timestamps on (whisper-cli's -nt would switch whisper's no_timestamps
#   decoding mode, which dictum does not use), flash attention = library default.
# Clips: samples/jfk.wav (11 s) and a 60 s clip (jfk x5 + 5 s of silence, sox).
# Models: generated tiny.en and base.en (real dimensions, random weights: the
# decoded text is gibberish, so only speed is compared).
#
# Figures: Go = BenchmarkTranscribeJFK ns/op (transcription only);
# whisper-cli = its own "total time" minus "load time" (same scope), best of
# RUNS runs each. Ratio = Go / whisper-cli (1.00 = same speed; >1 = Go slower).
#
# Usage: scripts/bench-whisper.sh            (RUNS=2 THREADS=2 by default)
# Needs: the cache built by scripts/deps.sh (make deps), sox.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-2}"
THREADS="${THREADS:-2}"
eval "$(make -s env)"
CLI="$DICTUM_WHISPER_PREFIX/bin/whisper-cli"
[ -x "$CLI" ] || { echo "bench-whisper: $CLI missing (run make deps)" >&2; exit 1; }
command -v sox >/dev/null || { echo "bench-whisper: sox is required" >&2; exit 1; }

# Tests of this package link the whole module's cgo deps (SQLCipher needs libcrypto last).
LDF='-extldflags "-lcrypto -lz -lm"'

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

jfk="$(go list -m -f '{{.Dir}}' github.com/ggerganov/whisper.cpp/bindings/go)/samples/jfk.wav"
[ -f "$jfk" ] || { echo "bench-whisper: $jfk not found" >&2; exit 1; }
cp "$jfk" "$work/jfk11.wav"
sox "$jfk" "$jfk" "$jfk" "$jfk" "$jfk" "$work/jfk60.wav" pad 0 5
echo "clips: $(soxi -D "$work/jfk11.wav") s, $(soxi -D "$work/jfk60.wav") s; threads=$THREADS runs=$RUNS"

# Compile the benchmark once.
go test -c -o "$work/transcribe.test" -ldflags "$LDF" ./internal/transcribe/ >/dev/null

go_ms() { # model dims wav -> best ns/op in ms
  local best=""
  for _ in $(seq "$RUNS"); do
    local ns
    ns=$(DICTUM_BENCH_MODEL="$1" DICTUM_BENCH_DIMS="$2" DICTUM_BENCH_WAV="$3" DICTUM_BENCH_THREADS="$THREADS" \
      "$work/transcribe.test" -test.run '^$' -test.bench '^BenchmarkTranscribeJFK$' -test.benchtime 1x 2>&1 \
      | awk '/^BenchmarkTranscribeJFK/ {print $3}')
    [ -n "$ns" ] || { echo "bench-whisper: Go benchmark failed for $1 $3" >&2; exit 1; }
    best=$(awk -v a="$best" -v b="$ns" 'BEGIN{ if (a=="" || b<a) print b; else print a }')
  done
  awk -v n="$best" 'BEGIN{ printf "%.0f", n/1e6 }'
}

cli_ms() { # model wav -> best (total - load) in ms
  local best=""
  for _ in $(seq "$RUNS"); do
    local log="$work/cli.log"
    "$CLI" -m "$1" -f "$2" -t "$THREADS" -nf -bs 1 -bo 1 -l en >/dev/null 2>"$log" \
      || { echo "bench-whisper: whisper-cli failed:" >&2; tail -5 "$log" >&2; exit 1; }
    local ms
    ms=$(awk '/whisper_print_timings: +load time/ {l=$(NF-1)} /whisper_print_timings: +total time/ {t=$(NF-1)} END { if (t=="") exit 1; printf "%.0f", t-l }' "$log")
    best=$(awk -v a="$best" -v b="$ms" 'BEGIN{ if (a=="" || b<a) print b; else print a }')
  done
  echo "$best"
}

printf '\n%-8s %-6s %10s %14s %7s %9s\n' model clip "go ms" "whisper-cli ms" ratio "go RTF"
for dims in tiny.en base.en; do
  model="$work/test-$dims.bin"
  for clip in 11 60; do
    wav="$work/jfk$clip.wav"
    g=$(go_ms "$model" "$dims" "$wav")
    c=$(cli_ms "$model" "$wav")
    awk -v d="$dims" -v s="$clip" -v g="$g" -v c="$c" \
      'BEGIN{ printf "%-8s %-6s %10d %14d %7.2f %9.3f\n", d, s "s", g, c, g/c, g/1000/s }'
  done
done
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (the figures are only comparable on an idle machine)"
