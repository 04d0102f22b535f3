#!/usr/bin/env bash
# Archive benchmark (run by scripts/bench.sh, `make bench`): a firm archive of ~1 GiB of
# audio (random bytes: audio does not compress) made through the API's path, decrypting
# each blob and streaming the ZIP into an encrypted blob, against `zip -0` of the same
# bytes as plain files, in the same run; and the peak RSS while archiving (target < 64 MiB).
# DICTUM_BENCH_ARCHIVE=0 skips it; DICTUM_BENCH_ARCHIVE_MIB sets the size (default 1024).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${DICTUM_BENCH_ARCHIVE:-1}" = 0 ]; then echo "archive: skipped (DICTUM_BENCH_ARCHIVE=0)"; exit 0; fi
command -v zip >/dev/null || { echo "archive: skipped (zip is not installed; scripts/deps.sh installs it)"; exit 0; }
mib=${DICTUM_BENCH_ARCHIVE_MIB:-1024}
n=32
per=$(( (mib + n - 1) / n ))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/audio"
for i in $(seq -w 1 $n); do head -c "${per}M" /dev/urandom > "$work/audio/rec$i.wav"; done
go test -tags libsqlite3 -c -o "$work/lifecycle.test" ./internal/lifecycle/ || exit 1
cat "$work"/audio/* > /dev/null # both runs start with the files in the page cache
t0=$(date +%s.%N)
(cd "$work" && zip -0 -q -r base.zip audio)
t1=$(date +%s.%N)
zipsec=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf("%.3f", b - a) }')
rm -f "$work/base.zip"
line=$(TMPDIR="$work" DICTUM_BENCH_ARCHIVE_SRC="$work/audio" "$work/lifecycle.test" -test.run '^TestArchiveBench$' -test.count=1 -test.timeout 30m | grep '^archive-bench:')
[ -n "$line" ] || { echo "archive: the benchmark produced no result"; exit 1; }
echo "$line"
echo "$line" | awk -v zs="$zipsec" -v mib="$((per * n))" '{
  for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  zr = mib / zs
  printf("archive: %d MiB of audio in %.2f s = %.0f MiB/s; zip -0 of the same files %.2f s = %.0f MiB/s; ratio %.2fx the time of zip -0\n", mib, v["seconds"], v["mib_per_s"], zs, zr, v["seconds"] / zs)
  printf("archive: peak RSS while archiving %.1f MiB (target < 64 MiB: %s)\n", v["peak_rss_mib"], (v["peak_rss_mib"] < 64 ? "met" : "MISSED"))
}'
