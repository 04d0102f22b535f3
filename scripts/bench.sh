#!/usr/bin/env bash
# `make bench`: performance report. Figures are ratios against a baseline measured in the
# same run (never asserted in tests). Output: bench-report.txt and stdout.
set -uo pipefail
cd "$(dirname "$0")/.."
out=bench-report.txt
: > "$out"
say() { echo "$*" | tee -a "$out"; }
TAGS="-tags libsqlite3"

say "# Dictum benchmark report ($(date -u +%FT%TZ), $(nproc) cores)"
say
say "## Store: SQLCipher (keyed) vs the same code on an unkeyed database"
raw=$(go test $TAGS -run '^$' -bench 'BenchmarkStore' -benchtime=2000x -count=3 ./internal/store/ 2>&1)
echo "$raw" >> "$out"
echo "$raw" | awk '
  /^BenchmarkStore\// { split($1, p, "/"); op=p[2]; kind=p[3]; sub(/-[0-9]+$/, "", kind);
    sum[op "/" kind] += $3; n[op "/" kind]++ }
  END {
    split("insert read", ops, " ");
    for (i in ops) { o=ops[i]; pl=sum[o "/plain"]/n[o "/plain"]; sc=sum[o "/sqlcipher"]/n[o "/sqlcipher"];
      if (pl > 0) printf("%-7s plain %8.0f ns/op   sqlcipher %8.0f ns/op   ratio %.2fx\n", o, pl, sc, sc/pl) } }' | tee -a "$out"
say
say "## Drafting: rules engine (target >= 10,000 drafts/s per core)"
go test $TAGS -run '^$' -bench 'BenchmarkRulesDraft' -benchmem -count=3 ./internal/draft/ 2>&1 | tee -a "$out" | awk '
  /^BenchmarkRulesDraft/ { n++; ns+=$3; allocs=$(NF-1) }
  END { if (n) printf("rules: %.1f us/draft = %.0f drafts/s per core (GOMAXPROCS=1 equivalent), %s allocs/draft\n", ns/n/1000, 1e9/(ns/n), allocs) }' | tee -a "$out"
say
say "## Audio decode + resample to 16 kHz mono (x realtime, peak heap): 60-minute files"
DICTUM_BENCH_AUDIO_MINUTES=60 go test $TAGS -run '^$' -bench 'BenchmarkDecode' -benchtime 1x -timeout 30m ./internal/audio/ 2>&1 | grep -E '^Benchmark|x-realtime' | tee -a "$out"
say
for extra in scripts/bench-*.sh; do
  [ -x "$extra" ] || continue
  say "## $(basename "$extra")"
  bash "$extra" 2>&1 | tee -a "$out"
  say
done
say "(full output in $out)"
