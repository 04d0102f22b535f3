#!/usr/bin/env bash
# dictum.exe as a Windows service under wine64's Service Control Manager (called by
# `make test-windows`, or alone after `make windows`):
#   init --admin-password-out (the MSI's first install), service install and status,
#   service start (returns once the SCM reports Running, i.e. the listener is up) and
#   /healthz, a login with the one-time password from the file, a stop while a dictation
#   is transcribed (it finishes first, as on SIGTERM; nothing is re-queued at the next
#   start), the log file <data>\logs\dictum.log, uninstall, status.
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
for t in curl python3 espeak-ng sox; do command -v $t >/dev/null || fail "$t missing: run scripts/deps.sh"; done
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

# The random-weight test model (as make test-windows makes it) and a spoken WAV, for a
# stop that lands while a transcription runs.
model="$CACHE/test-models/ggml-tiny.en-random-seed1.bin"
[ -s "$model" ] || fail "no test model $model: run make test-windows (it generates it)"
cp "$model" "$work/model.bin"
espeak-ng -w "$work/say.wav" "Point three on Smith versus Jones, drafting the motion to compel, then a call with opposing counsel about the schedule." 2>/dev/null
sox "$work/say.wav" -r 16000 -c 1 -b 16 "$work/dictation.wav"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mw=$(winpath "$work/model.bin")
cat > "$work/dictum.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
shutdown_timeout = "180s"
[transcribe]
model = '$mw'
no_temperature_fallback = true
TOML
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

# A timekeeper dictates; the service is stopped while the recording is transcribed.
printf 'timekeeper-Pass-2026!\n' > "$work/tk-pw"
out=$(win user add --data "$DW" --username tk --role timekeeper --password-file "$(winpath "$work/tk-pw")") || fail "user add: $out"
B="http://127.0.0.1:$port"
C=(curl --noproxy '*' -sS --fail-with-body --max-time 60 -b "$work/cookies" -c "$work/cookies")
csrf=$("${C[@]}" -H 'Content-Type: application/json' -d '{"username":"tk","password":"timekeeper-Pass-2026!"}' "$B/api/v1/session" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])') || fail "timekeeper login"
rec=$("${C[@]}" -H "X-CSRF-Token: $csrf" -H 'Content-Type: audio/wav' --data-binary "@$work/dictation.wav" "$B/api/v1/recordings" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || fail "upload the WAV"
st=""
for _ in $(seq 1 600); do
  st=$("${C[@]}" "$B/api/v1/recordings/$rec" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])') || true
  [ "$st" = queued ] || break
  sleep 0.1
done
log "recording $rec is $st when the stop is sent"
out=$(win service stop --timeout 200s) || fail "service stop: $out"
python3 - "$D/logs/dictum.log" "$rec" <<'PY' || fail "the running transcription did not finish before the service stopped"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
msgs = [(l["msg"], str(l.get("recording", ""))) for l in lines]
stop = max(i for i, (m, _) in enumerate(msgs) if m == "service stop requested: finishing running work" or m == "shutting down: finishing running transcriptions")
done = [i for i, (m, r) in enumerate(msgs) if m == "transcribed" and r == sys.argv[2]]
last = max(i for i, (m, _) in enumerate(msgs) if m == "stopped")
assert done and done[-1] < last, "no 'transcribed' record for the recording before 'stopped'"
print("transcribed %s the stop request" % ("after" if done[-1] > stop else "before"), file=sys.stderr)
PY
ok "service stop: the running transcription finished first"
out=$(win service start --config "$CW" --data "$DW" --timeout 90s) || fail "service restart: $out"
st=$("${C[@]}" "$B/api/v1/recordings/$rec" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])') || fail "recording after restart"
[ "$st" = done ] || fail "after the restart the recording is $st, not done"
grep -q 're-queued jobs interrupted by a restart' "$D/logs/dictum.log" && fail "the stop interrupted a job (re-queued at restart)"
ok "after a restart the recording is done and nothing was re-queued"

out=$(win service stop --timeout 200s) || fail "service stop: $out"
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
