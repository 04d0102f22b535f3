#!/usr/bin/env bash
# Capacity model for docs/scaling.md: minutes of audio the local engine transcribes per
# CPU-minute (one thread), at the real tiny.en, base.en and small.en dimensions with RANDOM
# weights (generated models: the text is gibberish, and a random model decodes up to the
# token limit per window, so these figures are a pessimistic bound for decoding and a fair
# one for the encoder). Clip: samples/jfk.wav x5 + 5 s of silence (60 s), greedy, no
# temperature fallback, silence trimming on (as the server runs), 1 thread.
# Then the burst: 200 recordings enqueued at once (BenchmarkBurst, internal/pipeline).
# Usage: scripts/bench-capacity.sh   (DIMS="tiny.en base.en small.en" by default)
set -euo pipefail
cd "$(dirname "$0")/.."
DIMS="${DIMS:-tiny.en base.en small.en}"
eval "$(make -s env)"
command -v sox >/dev/null || { echo "bench-capacity: sox is required" >&2; exit 1; }
LDF='-extldflags "-lcrypto -lz -lm"'
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
jfk="$(go list -m -f '{{.Dir}}' github.com/ggerganov/whisper.cpp/bindings/go)/samples/jfk.wav"
sox "$jfk" "$jfk" "$jfk" "$jfk" "$jfk" "$work/clip60.wav" pad 0 5
go test -c -o "$work/transcribe.test" -ldflags "$LDF" ./internal/transcribe/ >/dev/null
models="${DICTUM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dictum}/test-models"
mkdir -p "$models"
printf '%-9s %8s %10s %22s\n' dims RTF "wall-s/min" "audio-min per CPU-min"
for d in $DIMS; do
  line=$(DICTUM_BENCH_MODEL="$models/$d-seed1-bench.bin" DICTUM_BENCH_DIMS="$d" DICTUM_BENCH_WAV="$work/clip60.wav" \
    DICTUM_BENCH_THREADS=1 DICTUM_BENCH_VAD=1 "$work/transcribe.test" -test.run '^$' -test.bench '^BenchmarkTranscribeJFK$' \
    -test.benchtime 1x 2>&1 | awk '/^BenchmarkTranscribeJFK/')
  rtf=$(echo "$line" | awk '{for(i=1;i<=NF;i++) if ($(i+1)=="RTF") print $i}')
  [ -n "$rtf" ] || { echo "bench-capacity: benchmark failed for $d: $line" >&2; exit 1; }
  awk -v d="$d" -v r="$rtf" 'BEGIN{ printf "%-9s %8.3f %10.1f %22.2f\n", d, r, r*60, 1/r }'
done
echo
echo "burst: 200 recordings (1 s each) enqueued at once, local tiny.en, ${DICTUM_BENCH_WORKERS:-2} workers x 1 thread"
go test -run '^$' -bench '^BenchmarkBurst$' -benchtime 1x -timeout 30m -ldflags "$LDF" ./internal/pipeline/ 2>&1 | grep -E '^BenchmarkBurst|FAIL|panic' || true
