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
for extra in scripts/bench-*.sh; do
  [ -x "$extra" ] || continue
  say "## $(basename "$extra")"
  bash "$extra" 2>&1 | tee -a "$out"
  say
done
say "(full output in $out)"
