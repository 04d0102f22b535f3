#!/usr/bin/env bash
# Browser tests of the web UI: Debian chromium driven by npm playwright-core (never
# `playwright install`), axe-core for accessibility. Starts a throw-away dictum server with a
# random-weight tiny.en model and a fake microphone that plays an espeak-ng sentence.
#   scripts/browser-test.sh            (make browser / make test run it after make build)
# Env: DICTUM_BIN (default bin/dictum), CHROMIUM (default /usr/bin/chromium),
#      BROWSER_TEST_KEEP=1 keeps the temp dir, BROWSER_TEST_FILTER=regex runs some tests only,
#      BROWSER_DOCS_IMAGES=1 copies the screenshots the guides use into docs/images/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${DICTUM_BIN:-$root/bin/dictum}"
tests="$root/test/browser"
chromium="${CHROMIUM:-/usr/bin/chromium}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/dictum/test-models"

log() { printf 'browser-test: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -x "$bin" ] || die "no $bin: run make build first"
[ -x "$chromium" ] || die "no chromium at $chromium: run scripts/deps.sh (apt chromium)"
command -v node >/dev/null || die "node is missing: run scripts/deps.sh"
command -v espeak-ng >/dev/null || die "espeak-ng is missing: run scripts/deps.sh"
command -v sox >/dev/null || die "sox is missing: run scripts/deps.sh"

if [ ! -d "$tests/node_modules/playwright-core" ] || [ ! -d "$tests/node_modules/axe-core" ]; then
  log "npm ci in test/browser"
  (cd "$tests" && npm ci --no-audit --no-fund --loglevel=error)
fi

work="$(mktemp -d -t dictum-browser.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  if [ "${BROWSER_TEST_KEEP:-}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

data="$work/data"
mkdir -p "$data" "$tests/artifacts"
umask 077
printf 'admin-password-%s\n' "$RANDOM$RANDOM" | head -c 40 > "$work/admin.pw"
printf 'alice-password-long\n' > "$work/alice.pw"
printf 'bob-password-long\n' > "$work/bob.pw"
umask 022

log "init data dir"
"$bin" init --data "$data" --admin-user admin --admin-password-file "$work/admin.pw" >"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; die "init failed"; }
"$bin" user add --data "$data" --username alice --role timekeeper --password-file "$work/alice.pw" >>"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; die "user add alice failed"; }
"$bin" user add --data "$data" --username bob --role timekeeper --password-file "$work/bob.pw" >>"$work/init.log" 2>&1 || { cat "$work/init.log" >&2; die "user add bob failed"; }
token="$("$bin" token create --data "$data" --username admin --name browser-test 2>>"$work/init.log")"

model="$cache/ggml-tiny.en-random-seed1.bin"
if [ ! -s "$model" ]; then
  log "generating a random-weight tiny.en test model (cached in $cache)"
  mkdir -p "$cache"
  "$bin" model gen-test --dims tiny.en --out "$model.tmp" >/dev/null
  mv "$model.tmp" "$model"
fi

log "speech for the fake microphone"
espeak-ng -w "$work/speech-raw.wav" "Point three hours on Smith versus Jones drafting the motion to compel"
sox -q "$work/speech-raw.wav" -r 16000 -c 1 -b 16 "$work/speech.wav"
# Chrome loops the capture file: a second of silence between repeats sounds like dictation.
sox -q "$work/speech.wav" "$work/mic.wav" pad 0 1

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
base="http://127.0.0.1:$port"
log "starting dictum on $base"
DICTUM_TRANSCRIBE_MODEL="$model" DICTUM_TRANSCRIBE_NO_TEMPERATURE_FALLBACK=true \
  "$bin" serve --data "$data" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "$base/healthz" >/dev/null 2>&1; then break; fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "server exited"; }
  sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null || { cat "$work/server.log" >&2; die "server did not come up"; }

log "creating matters"
for m in '{"number":"2026-014","client":"Smith Holdings","name":"Smith v. Jones","litigation":true}' \
         '{"number":"2026-021","client":"Acme Corp","name":"Acme lease review"}' \
         '{"number":"2025-101","client":"Old Client","name":"Closed matter","status":"closed"}'; do
  curl -fsS -X POST "$base/api/v1/matters" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$m" >/dev/null \
    || die "create matter failed: $m"
done

export DICTUM_URL="$base" DICTUM_ADMIN_TOKEN="$token" CHROMIUM="$chromium" FAKE_MIC="$work/mic.wav" SPEECH_WAV="$work/speech.wav" \
  ADMIN_PASSWORD="$(cat "$work/admin.pw")" ALICE_PASSWORD="$(cat "$work/alice.pw")" BOB_PASSWORD="$(cat "$work/bob.pw")" \
  ARTIFACTS="$tests/artifacts" BROWSER_TMP="$work"

args=(--test --test-reporter=spec --test-concurrency=1)
if [ -n "${BROWSER_TEST_FILTER:-}" ]; then args+=(--test-name-pattern="$BROWSER_TEST_FILTER"); fi
log "running node --test"
set +e
(cd "$tests" && node "${args[@]}" ./*.test.mjs) 2>&1 | tee "$work/node-test.log"
rc=${PIPESTATUS[0]}
set -e
# The spec reporter ends with the summary (ℹ tests/pass/fail ...); make sure CI saw one.
grep -qE '^ℹ pass [0-9]+' "$work/node-test.log" || { log "no test summary from node --test"; [ "$rc" -ne 0 ] || rc=1; }
if [ "$rc" -ne 0 ]; then
  log "FAILED (exit $rc); server log tail:"
  tail -n 40 "$work/server.log" >&2 || true
  exit "$rc"
fi
log "all browser tests passed; screenshots in test/browser/artifacts/"
# BROWSER_DOCS_IMAGES=1: the guides' screenshots (docs/images/) are these tests' own, copied
# after a passing run, so they always show the current UI.
if [ "${BROWSER_DOCS_IMAGES:-}" = 1 ]; then
  mkdir -p "$root/docs/images"
  for n in login record-recording inbox-draft inbox-keyboard approved account phone-record billing admin-users \
           admin-settings admin-backups; do
    [ -f "$tests/artifacts/$n.png" ] || die "no screenshot $n.png (the guides use it; run without BROWSER_TEST_FILTER)"
    cp "$tests/artifacts/$n.png" "$root/docs/images/$n.png"
  done
  log "copied the guides' screenshots into docs/images/"
fi
