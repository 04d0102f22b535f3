#!/usr/bin/env bash
# Backup benchmark: `dictum backup now` on a store with ~1 GiB of random audio-sized blobs
# (BENCH_BACKUP_MIB, default 1024) against `cp -r` of the same data dir in the same run
# (ratio), the peak RSS of backup, verify and restore (/usr/bin/time -v; target < 64 MiB,
# shown next to the RSS of `dictum version`, the binary's own floor), and restore time.
# Page cache is warm for both backup and cp (the data dir is read once first).
# BENCH_BACKUP_SKIP=1 skips it (it needs ~4x the store size of free disk).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin/dictum
MIB="${BENCH_BACKUP_MIB:-1024}"
if [ "${BENCH_BACKUP_SKIP:-0}" = 1 ]; then echo "skipped (BENCH_BACKUP_SKIP=1)"; exit 0; fi
[ -x /usr/bin/time ] || { echo "/usr/bin/time not installed (make deps installs the 'time' package)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/var/tmp}/dictum-bench-backup.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
printf 'bench-password-1\n' > "$tmp/pw"
export DICTUM_AUTH_ARGON2_MEMORY_KIB=8192
D="$tmp/data"
$BIN init --data "$D" --admin-user admin --admin-password-file "$tmp/pw" >/dev/null
$BIN user add --data "$D" --username alice --role timekeeper --password-file "$tmp/pw" >/dev/null
$BIN bench-seed --data "$D" --username alice --entries 20000 --drafts 100 >/dev/null
$BIN bench-blobs --data "$D" --mib "$MIB" --min-kib 500 --max-kib 6000 >/dev/null
bytes=$(du -sb "$D" | cut -f1)
# measure NAME CMD...: wall seconds, peak RSS (KiB, /usr/bin/time -v) and peak anonymous
# RSS (KiB, RssAnon sampled every 20 ms: heap and C allocations, without the binary's
# file-backed pages) of one command
measure() {
  local name=$1; shift
  /usr/bin/time -v -o "$tmp/$name.time" "$@" > "$tmp/$name.out" 2>&1 &
  local tpid=$! anon=0 a
  while kill -0 "$tpid" 2>/dev/null; do
    for c in $(pgrep -P "$tpid" 2>/dev/null); do
      a=$(awk '/^RssAnon:/{print $2}' "/proc/$c/status" 2>/dev/null || echo 0)
      [ -n "$a" ] && [ "$a" -gt "$anon" ] && anon=$a
    done
    sleep 0.02
  done
  wait "$tpid" || { cat "$tmp/$name.out"; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/{ n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s }' "$tmp/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tmp/$name.time")
  echo "$wall $rss $anon"
}
cat "$D"/blobs/*/* > /dev/null  # warm the page cache for both contestants
read -r cp_s cp_rss cp_anon < <(measure cp cp -r "$D" "$tmp/copy")
rm -rf "$tmp/copy"
# backup fsyncs its file before the rename; the fair baseline syncs too
read -r cps_s cps_rss cps_anon < <(measure cpsync sh -c 'cp -r "$1" "$2" && sync -f "$2"' sh "$D" "$tmp/copy")
rm -rf "$tmp/copy"
read -r floor_s floor_rss floor_anon < <(measure floor $BIN version)
read -r bk_s bk_rss bk_anon < <(measure backup $BIN backup now --data "$D" --to "$tmp/nas")
file=$(ls "$tmp"/nas/dictum-*.backup)
fbytes=$(stat -c %s "$file")
read -r vf_s vf_rss vf_anon < <(measure verify $BIN backup verify --data "$D" "$file")
read -r rs_s rs_rss rs_anon < <(measure restore $BIN restore --data "$tmp/restored" --key-file "$D/master.key" "$file")
awk -v b="$bytes" -v fb="$fbytes" -v cp="$cp_s" -v cps="$cps_s" -v bk="$bk_s" -v vf="$vf_s" -v rs="$rs_s" \
    -v cr="$cp_rss" -v br="$bk_rss" -v vr="$vf_rss" -v rr="$rs_rss" -v fr="$floor_rss" -v ba="$bk_anon" -v va="$vf_anon" -v ra="$rs_anon" -v n="$(ls "$D"/blobs/*/* | wc -l)" 'BEGIN {
  mib = b / 1048576
  printf("store: %.0f MiB data dir (%d blobs, 20,000 entries); backup file %.0f MiB\n", mib, n, fb / 1048576)
  printf("backup now : %6.2f s  %7.1f MiB/s   peak RSS %5.1f MiB (anonymous %4.1f MiB)\n", bk, mib / bk, br / 1024, ba / 1024)
  printf("cp -r      : %6.2f s  %7.1f MiB/s   peak RSS %5.1f MiB   -> backup takes %.2fx the time of cp -r\n", cp, mib / cp, cr / 1024, bk / cp)
  printf("cp -r+sync : %6.2f s  %7.1f MiB/s                      -> backup takes %.2fx the time of cp -r + sync\n", cps, mib / cps, bk / cps)
  printf("verify     : %6.2f s  %7.1f MiB/s   peak RSS %5.1f MiB (anonymous %4.1f MiB)\n", vf, mib / vf, vr / 1024, va / 1024)
  printf("restore    : %6.2f s  %7.1f MiB/s   peak RSS %5.1f MiB (anonymous %4.1f MiB)\n", rs, mib / rs, rr / 1024, ra / 1024)
  printf("dictum version (the binary alone): peak RSS %.1f MiB, most of it the binary'"'"'s own file-backed pages\n", fr / 1024)
  printf("target: backup peak RSS < 64 MiB -> %s (%.1f MiB)\n", (br / 1024 < 64) ? "met" : "MISSED", br / 1024)
}'
