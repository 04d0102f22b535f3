#!/usr/bin/env bash
# `make test-tls`: scans `dictum serve --tls local` on 127.0.0.1 with Debian's testssl.sh
# and fails on any HIGH or CRITICAL finding (or when the scan did not complete).
# About a minute and a half, so it is a separate CI step, not part of `make test`.
#   usage: scripts/test-tls.sh [path/to/dictum]   (default bin/dictum)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-bin/dictum}"
log() { printf 'test-tls: %s\n' "$*" >&2; }

if ! command -v testssl >/dev/null 2>&1; then
  # scripts/deps.sh installs it with the other packages; this covers a machine set up before.
  if [ "$(id -u)" != 0 ]; then log "testssl not found: apt-get install testssl.sh (as root)"; exit 1; fi
  log "installing testssl.sh"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends testssl.sh >/dev/null
fi
[ -x "$bin" ] || { log "$bin not found: run make build"; exit 1; }

work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
data="$work/data"
printf 'tls-scan-admin-password-1\n' > "$work/pw"
"$bin" init --data "$data" --admin-user admin --admin-password-file "$work/pw" >/dev/null

# Port 0: the kernel picks a free port; serve prints the one it got.
"$bin" serve --data "$data" --listen 127.0.0.1:0 --tls local >"$work/serve.log" 2>&1 &
pid=$!
url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/^dictum: serving on \(https:\/\/[^ ]*\)$/\1/p' "$work/serve.log")"
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then log "dictum serve did not start:"; cat "$work/serve.log" >&2; exit 1; fi
target="${url#https://}"
log "scanning $target with testssl $(dpkg-query -W -f='${Version}' testssl.sh 2>/dev/null || echo "(version unknown)")"

set +e
timeout 900 testssl --quiet --color 0 --warnings off --severity HIGH \
  --add-ca "$data/ca/ca.crt" --jsonfile "$work/out.json" "$target" >"$work/testssl.txt" 2>&1
rc=$?
set -e
# testssl's exit code counts findings loosely; judge by its JSON and its own "Done" line.
if ! grep -q '^ Done ' "$work/testssl.txt" || [ ! -s "$work/out.json" ]; then
  log "the scan did not complete (testssl exit $rc):"; cat "$work/testssl.txt" >&2; exit 1
fi
# Flat JSON, one finding per object: print id, severity and finding of HIGH and worse.
findings="$(awk -F'"' '
  /"id"/       { id = $4 }
  /"severity"/ { sev = $4 }
  /"finding"/  { if (sev == "HIGH" || sev == "CRITICAL" || sev == "FATAL") printf "%s %s: %s\n", sev, id, $4 }
' "$work/out.json")"
if [ -n "$findings" ]; then
  log "HIGH/CRITICAL findings:"
  printf '%s\n' "$findings" >&2
  grep -E '^ (Testing|Certificate|Chain|Server|TLS|Trust|Cipher|OCSP|Certificate Revocation)' "$work/testssl.txt" >&2 || true
  exit 1
fi
grep -E '^ +TLS 1(\.[0-3])? ' "$work/testssl.txt" | sed 's/^/test-tls:   /' >&2 || true
log "ok: no HIGH or CRITICAL finding"
