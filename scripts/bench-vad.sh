#!/usr/bin/env bash
# Silence costs nothing: dictum's transcription with silence trimming (the energy VAD of
# internal/audio, as the server runs it) against upstream whisper-cli on the SAME file,
# same random-weight tiny.en model, same decoding parameters (2 threads, greedy,
# temperature fallback off, en). Ratio = dictum / whisper-cli, best of RUNS, one run.
#   paused: samples/jfk.wav cut in three with 15 s pauses and 5 s of silence at each end
#           (51 s; a dictation with long pauses). Target ratio <= 0.70.
#   speech: jfk.wav five times back to back (55 s, no long pauses). Target <= 1.02.
# Both clips carry the same faint room noise (-60 dBFS), as a real microphone does.
# Needs: the cache built by scripts/deps.sh (make deps), sox.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-2}"
THREADS="${THREADS:-2}"
eval "$(make -s env)"
CLI="$DICTUM_WHISPER_PREFIX/bin/whisper-cli"
[ -x "$CLI" ] || { echo "bench-vad: $CLI missing (run make deps)" >&2; exit 1; }
command -v sox >/dev/null || { echo "bench-vad: sox is required" >&2; exit 1; }
LDF='-extldflags "-lcrypto -lz -lm"'

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
jfk="$(go list -m -f '{{.Dir}}' github.com/ggerganov/whisper.cpp/bindings/go)/samples/jfk.wav"
[ -f "$jfk" ] || { echo "bench-vad: $jfk not found" >&2; exit 1; }

# room noise under everything (white noise at -60 dBFS), so neither side sees digital zeros
noisy() { # in out
  local d; d=$(soxi -D "$1")
  sox -n -r 16000 -c 1 -b 16 "$work/noise.wav" synth "$d" whitenoise vol 0.001
  sox -m "$1" "$work/noise.wav" -b 16 "$2"
}
sox "$jfk" "$work/a.wav" trim 0 3.7
sox "$jfk" "$work/b.wav" trim 3.7 3.6
sox "$jfk" "$work/c.wav" trim 7.3
sox -n -r 16000 -c 1 -b 16 "$work/s5.wav" trim 0 5
sox -n -r 16000 -c 1 -b 16 "$work/s15.wav" trim 0 15
sox "$work/s5.wav" "$work/a.wav" "$work/s15.wav" "$work/b.wav" "$work/s15.wav" "$work/c.wav" "$work/s5.wav" "$work/paused-clean.wav"
sox "$jfk" "$jfk" "$jfk" "$jfk" "$jfk" "$work/speech-clean.wav"
noisy "$work/paused-clean.wav" "$work/paused.wav"
noisy "$work/speech-clean.wav" "$work/speech.wav"

go test -c -o "$work/transcribe.test" -ldflags "$LDF" ./internal/transcribe/ >/dev/null
model="$work/test-tiny.en.bin"

go_ms() { # wav -> best ns/op in ms, with the VAD
  local best=""
  for _ in $(seq "$RUNS"); do
    local ns
    ns=$(DICTUM_BENCH_VAD=1 DICTUM_BENCH_MODEL="$model" DICTUM_BENCH_DIMS=tiny.en DICTUM_BENCH_WAV="$1" DICTUM_BENCH_THREADS="$THREADS" \
      "$work/transcribe.test" -test.run '^$' -test.bench '^BenchmarkTranscribeJFK$' -test.benchtime 1x 2>&1 \
      | awk '/^BenchmarkTranscribeJFK/ {print $3}')
    [ -n "$ns" ] || { echo "bench-vad: Go benchmark failed for $1" >&2; exit 1; }
    best=$(awk -v a="$best" -v b="$ns" 'BEGIN{ if (a=="" || b<a) print b; else print a }')
  done
  awk -v n="$best" 'BEGIN{ printf "%.0f", n/1e6 }'
}
cli_ms() { # wav -> best (total - load) in ms
  local best=""
  for _ in $(seq "$RUNS"); do
    local log="$work/cli.log"
    "$CLI" -m "$model" -f "$1" -t "$THREADS" -nf -bs 1 -bo 1 -l en >/dev/null 2>"$log" \
      || { echo "bench-vad: whisper-cli failed:" >&2; tail -5 "$log" >&2; exit 1; }
    local ms
    ms=$(awk '/whisper_print_timings: +load time/ {l=$(NF-1)} /whisper_print_timings: +total time/ {t=$(NF-1)} END { if (t=="") exit 1; printf "%.0f", t-l }' "$log")
    best=$(awk -v a="$best" -v b="$ms" 'BEGIN{ if (a=="" || b<a) print b; else print a }')
  done
  echo "$best"
}

# the Go benchmark generates the model on its first run; whisper-cli then reads the same file
go_ms "$work/speech.wav" >/dev/null
printf '%-7s %7s %16s %14s %7s %7s\n' clip "audio s" "dictum+VAD ms" "whisper-cli ms" ratio target
for clip in paused speech; do
  wav="$work/$clip.wav"
  g=$(go_ms "$wav")
  c=$(cli_ms "$wav")
  target=0.70; [ "$clip" = speech ] && target=1.02
  awk -v n="$clip" -v a="$(soxi -D "$wav")" -v g="$g" -v c="$c" -v t="$target" \
    'BEGIN{ r=g/c; printf "%-7s %7.1f %16d %14d %7.2f %7s %s\n", n, a, g, c, r, "<=" t, (r<=t ? "ok" : "MISSED") }'
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (figures only comparable on an idle machine)"
