#!/usr/bin/env bash
# dictum.exe as a Windows service under wine64's Service Control Manager (called by
# `make test-windows`, or alone after `make windows`):
#   init --admin-password-out (the MSI's first install), service install and status,
#   service start (returns once the SCM reports Running, i.e. the listener is up) and
#   /healthz, a login with the one-time password from the file, service stop (graceful:
#   the log file <data>\logs\dictum.log ends with "stopped"), uninstall, status.
# Wine has no delayed automatic start, no failure actions (restart after 60 s) and keeps
# no file ACLs: dictum skips those under wine only, so they are checked on Windows itself
# (internal/platform and internal/winsvc *_windows_test.go) and by the fake-SCM tests.
# Wine keeps services alive only while a user process runs: a ping.exe holds the prefix.
# Env: EXE (default dist/windows/dictum.exe), WINEPREFIX (default the test-windows prefix).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${DICTUM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dictum}"
EXE="${EXE:-$PWD/dist/windows/dictum.exe}"
WINE=/usr/lib/wine/wine64
log() { printf 'test-windows-service: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
ok() { log "ok: $*"; }
[ -x "$WINE" ] || fail "wine64 missing: run scripts/deps-windows.sh"
[ -f "$EXE" ] || fail "no $EXE: run make windows"
wine_version=$("$WINE" --version 2>/dev/null | tr -c 'A-Za-z0-9.\n-' _)
export WINEPREFIX="${WINEPREFIX:-$CACHE/wine-prefix-$wine_version}" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
[ -d "$WINEPREFIX/drive_c/windows" ] || fail "no wine prefix at $WINEPREFIX: run make test-windows first"

work=$(mktemp -d /tmp/dictum-test-windows-service.XXXXXX)
keepalive=""
installed=""
win() { "$WINE" "$EXE" "$@" 2>&1 | tr -d '\r'; return "${PIPESTATUS[0]}"; }
cleanup() {
  if [ -n "$installed" ]; then win service uninstall >/dev/null 2>&1 || true; fi
  if [ -n "$keepalive" ]; then kill "$keepalive" 2>/dev/null || true; fi
  if [ "${KEEP_WORK:-}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
winpath() { "$WINE" winepath -w "$1" 2>/dev/null | tr -d '\r'; }

"$WINE" ping -n 900 127.0.0.1 >/dev/null 2>&1 &
keepalive=$!
sleep 1

out=$(win service status) && fail "a Dictum service is already installed in $WINEPREFIX: $out" || true
echo "$out" | grep -q "not installed" || fail "status before install: $out"

D="$work/data"; DW=$(winpath "$D")
PWW=$(winpath "$work/admin-pw.txt")
out=$(win init --data "$DW" --admin-password-out "$PWW") || fail "init: $out"
[ -s "$work/admin-pw.txt" ] || fail "init --admin-password-out wrote no file: $out"
pw=$(tr -d '\r\n' < "$work/admin-pw.txt")
echo "$out" | grep -qF -- "$pw" && fail "init printed the password although --admin-password-out was given"
echo "$out" | grep -qF "$PWW" || fail "init does not name the password file: $out"
[ -s "$D/dictum.toml" ] || fail "init wrote no commented dictum.toml into the data dir"
ok "init --admin-password-out: password only in the file, dictum.toml in the data dir"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf '[server]\nlisten = "127.0.0.1:%s"\n' "$port" > "$work/dictum.toml"
CW=$(winpath "$work/dictum.toml")
out=$(win service install --config "$CW" --data "$DW") || fail "service install: $out"
installed=1
echo "$out" | grep -qF "serve --config \"$CW\" --data \"$DW\"" || fail "service command line: $out"
out=$(win service status) && fail "status of a stopped service exited 0: $out" || true
echo "$out" | grep -q "Dictum: stopped" || fail "status after install: $out"
ok "service install: $(echo "$out" | head -1)"

out=$(win service start --config "$CW" --data "$DW" --timeout 90s) || fail "service start: $out"
echo "$out" | grep -qF "http://127.0.0.1:$port/" || fail "service start did not print the URL: $out"
code=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' -m 10 "http://127.0.0.1:$port/healthz")
[ "$code" = 200 ] || fail "/healthz right after service start: $code"
out=$(win service status) || fail "status of the running service: $out"
ok "service start: $out, /healthz 200"

res=$(curl --noproxy '*' -s -m 30 -H 'Content-Type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$pw\"}" "http://127.0.0.1:$port/api/v1/session")
echo "$res" | grep -q '"must_change_password":true' || fail "login with the one-time password: $res"
ok "login with the password from the file (must change it)"

out=$(win service stop --timeout 90s) || fail "service stop: $out"
code=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$port/healthz" || true)
[ "$code" = 000 ] || fail "still answering after service stop: $code"
tail -n 1 "$D/logs/dictum.log" | grep -q '"msg":"stopped"' || fail "log does not end with a graceful stop: $(tail -n 3 "$D/logs/dictum.log")"
grep -q '"msg":"shutting down: finishing running transcriptions"' "$D/logs/dictum.log" || fail "no drain in the log"
ok "service stop: graceful (drain, then stopped) in $(winpath "$D/logs/dictum.log")"

out=$(win service uninstall) || fail "service uninstall: $out"
installed=""
out=$(win service status) && fail "status after uninstall exited 0" || true
echo "$out" | grep -q "not installed" || fail "status after uninstall: $out"
[ -f "$D/dictum.db" ] || fail "uninstall removed the data"
ok "service uninstall: removed, data kept"
