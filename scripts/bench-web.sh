#!/usr/bin/env bash
# Web benchmark: p50/p99 latency and throughput of the inbox page and GET /api/v1/entries
# with 50,000 entries in the store, under wrk for 30 s each, against /healthz measured in
# the same run as the baseline (ratios). Runs a real `dictum serve` on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin/dictum
DUR="${BENCH_WEB_DURATION:-30s}"
N="${BENCH_WEB_ENTRIES:-50000}"
command -v wrk >/dev/null || { echo "wrk not installed (make deps)"; exit 1; }
tmp=$(mktemp -d); trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
printf 'bench-password-1\n' > "$tmp/pw"
export DICTUM_AUTH_ARGON2_MEMORY_KIB=8192 DICTUM_LIMITS_REQUESTS_PER_MINUTE=100000000
$BIN init --data "$tmp/data" --admin-user admin --admin-password-file "$tmp/pw" >/dev/null
$BIN user add --data "$tmp/data" --username alice --role timekeeper --password-file "$tmp/pw" >/dev/null
$BIN bench-seed --data "$tmp/data" --username alice --entries "$N" --drafts 100
tok=$($BIN token create --data "$tmp/data" --username alice 2>/dev/null)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$BIN serve --data "$tmp/data" --listen "127.0.0.1:$port" > "$tmp/serve.log" 2>&1 & pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
run() { # name path
  wrk -t2 -c16 -d"$DUR" --latency -H "Authorization: Bearer $tok" "http://127.0.0.1:$port$2" > "$tmp/$1.txt"
  local p50 p99 rps
  p50=$(awk '$1=="50%"{print $2}' "$tmp/$1.txt"); p99=$(awk '$1=="99%"{print $2}' "$tmp/$1.txt")
  rps=$(awk '/^Requests\/sec/{print $2}' "$tmp/$1.txt")
  echo "$1 $p50 $p99 $rps"
}
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v); print v} else {sub(/s/,"",v); print v*1000} }'; }
echo "entries: $N for one timekeeper (100 drafts); wrk -t2 -c16 -d$DUR on 127.0.0.1; $(nproc) cores shared by wrk and dictum"
base=$(run healthz /healthz)
read -r _ bp50 bp99 brps <<<"$base"
printf '%-28s %10s %10s %12s %12s\n' target p50 p99 req/s "p50 vs /healthz"
printf '%-28s %10s %10s %12s %12s\n' /healthz "$bp50" "$bp99" "$brps" 1.0x
for t in "inbox-page /inbox" "entries-api /api/v1/entries?status=approved&limit=50" "entries-drafts /api/v1/entries?status=draft"; do
  set -- $t
  read -r _ p50 p99 rps <<<"$(run "$1" "$2")"
  ratio=$(awk -v a="$(to_ms "$p50")" -v b="$(to_ms "$bp50")" 'BEGIN{printf "%.1fx", a/b}')
  printf '%-28s %10s %10s %12s %12s\n' "$2" "$p50" "$p99" "$rps" "$ratio"
done
grep -q '"level":"ERROR"' "$tmp/serve.log" && { echo "server logged errors:"; grep '"level":"ERROR"' "$tmp/serve.log" | head; }
exit 0
