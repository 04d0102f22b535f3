#!/usr/bin/env bash
# `make test-windows`: dictum.exe (make windows) under Debian's wine64, the way firm IT
# would first try it, plus the file-format promise across the two builds:
#   1. version; init into a temp dir (a password file in, the one-time password file out)
#   2. serve --tls local on 127.0.0.1; /healthz over HTTPS with curl --cacert (firm CA);
#      log in; create an entry; upload a spoken WAV, transcribed by whisper.cpp inside the
#      exe with the generated random-weight test model (status done, a draft entry)
#   3. backup now (API) -> the Linux binary restores it and serves the same entry
#   4. a Linux backup -> dictum.exe restores it and serves the Linux entry
#   5. the exe refuses an unencrypted SQLite database and a wrong master key
#   6. the Windows service under wine's SCM (scripts/test-windows-service.sh)
#   7. the MSI (make msi): its tables (scripts/msi-check.sh), then install, uninstall,
#      reinstall, an in-place upgrade to a newer build and a refused downgrade with wine's
#      msiexec (scripts/msi-wine-test.sh)
#   8. a signed MSI (make msi SIGN_PFX=...) with a throwaway code-signing certificate
# The wine prefix is cached under $CACHE, keyed by wine's version.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${DICTUM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dictum}"
EXE="$PWD/dist/windows/dictum.exe"
LIN="$PWD/bin/dictum"
WINE=/usr/lib/wine/wine64
T0=$(date +%s)
log() { printf 'test-windows: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
ok() { log "ok: $*"; }
[ -x "$WINE" ] || fail "wine64 missing: run scripts/deps-windows.sh"
[ -f "$EXE" ] || fail "no $EXE: run make windows"
[ -x "$LIN" ] || fail "no $LIN: run make build"
for t in curl python3 espeak-ng sox; do command -v $t >/dev/null || fail "$t missing: run scripts/deps.sh"; done

wine_version=$("$WINE" --version 2>/dev/null | awk '{print $1}' | tr -c 'A-Za-z0-9.\n-' _)
export WINEPREFIX="$CACHE/wine-prefix-$wine_version" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
if [ ! -f "$WINEPREFIX/.done" ]; then
  log "creating the wine prefix $WINEPREFIX"
  rm -rf "$WINEPREFIX"
  "$WINE" wineboot --init >/dev/null 2>&1 || true
  # wineboot returns while the prefix's first start (services, registry) is still running: a
  # service created before that ends is lost, so wait for the wineserver to go idle.
  timeout 300 "$(dirname "$WINE")/wineserver" -w || true
  [ -d "$WINEPREFIX/drive_c/windows" ] || fail "wineboot did not create $WINEPREFIX"
  touch "$WINEPREFIX/.done"
fi
# wine 8.0 lacks bcryptprimitives.dll (Go's runtime needs its ProcessPrng): a test-only shim
# (test/windows/bcryptprimitives-shim.c) goes into the prefix, never into the product.
shim="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
if [ ! -f "$shim" ] || [ test/windows/bcryptprimitives-shim.c -nt "$shim" ]; then
  x86_64-w64-mingw32-gcc -O2 -shared -o "$shim" test/windows/bcryptprimitives-shim.c \
    test/windows/bcryptprimitives-shim.def -ladvapi32 || fail "build the bcryptprimitives shim"
fi

work=$(mktemp -d /tmp/dictum-test-windows.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ "${KEEP_WORK:-}" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

winpath() { "$WINE" winepath -w "$1" 2>/dev/null | tr -d '\r'; }
win() { "$WINE" "$EXE" "$@" 2>&1 | tr -d '\r'; return "${PIPESTATUS[0]}"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1], {}, {"d": d}))' "$1"; }
HOST=$(hostname)

# ---- test inputs: the random-weight model and a spoken WAV ---------------------------
model="$CACHE/test-models/ggml-tiny.en-random-seed1.bin"
if [ ! -s "$model" ]; then
  mkdir -p "$(dirname "$model")"
  "$LIN" model gen-test --dims tiny.en --out "$model.tmp" >/dev/null && mv "$model.tmp" "$model"
fi
espeak-ng -w "$work/say.wav" "Point three on Smith versus Jones, drafting the motion to compel." 2>/dev/null
sox "$work/say.wav" -r 16000 -c 1 -b 16 "$work/dictation.wav"
cp "$model" "$work/model.bin"
printf 'windows-admin-Pass-2026!\n' > "$work/admin-pw"

# ---- 0. the Windows-only Go tests (ACL descriptors, default paths, file locks, the real
#      SCM lifecycle of a test service) cross-compiled and run under wine ---------------
for pkg in platform winsvc logfile; do
  GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "${GO:-go}" test -c -o "$work/$pkg.test.exe" "./internal/$pkg" \
    || fail "cross-compile the $pkg tests"
  out=$(DICTUM_WINSVC_TEST=1 "$WINE" "$work/$pkg.test.exe" -test.count=1 2>&1 | tr -d '\r') \
    || { echo "$out" | tail -30 >&2; fail "internal/$pkg tests under wine"; }
done
ok "internal/platform, winsvc and logfile tests pass as Windows binaries under wine"

# ---- 1. version, init ------------------------------------------------------------------
out=$(win version --long) || fail "dictum.exe version: $out"
echo "$out" | grep -qi 'dictum' || fail "version output: $out"
echo "$out" | grep -q 'SQLite3 Multiple Ciphers' || fail "version does not name the database engine: $out"
ok "dictum.exe version: $(echo "$out" | head -1)"

WD="$work/win-data"; WDW=$(winpath "$WD")
out=$(win init --data "$WDW" --admin-user admin --admin-password-file "$(winpath "$work/admin-pw")") || fail "init: $out"
[ -f "$WD/dictum.db" ] && [ -f "$WD/master.key" ] && [ -f "$WD/ca/ca.crt" ] || fail "init left no database/key/CA in $WD: $out"
head -c 16 "$WD/dictum.db" | grep -q 'SQLite format 3' && fail "the Windows database is plain SQLite"
ok "init into $WDW: encrypted database, master key, firm CA"

# ---- 2. serve --tls local, login, entry, transcription ------------------------------
serve_win() { # dir-in-windows-form port logfile
  DICTUM_TRANSCRIBE_MODEL="$(winpath "$work/model.bin")" DICTUM_TRANSCRIBE_NO_TEMPERATURE_FALLBACK=true \
    "$WINE" "$EXE" serve --data "$1" --tls local --listen "127.0.0.1:$2" >"$3" 2>&1 &
  pids+=($!)
}
wait_ready() { # base cacert log
  for _ in $(seq 1 120); do
    curl -sS --max-time 3 --cacert "$2" --resolve "$HOST:${1##*:}:127.0.0.1" "$1/healthz" >/dev/null 2>&1 && return 0
    sleep 1
  done
  tail -30 "$3" >&2; return 1
}
login() { # base cacert cookiejar -> csrf
  local body; body=$(python3 -c 'import json,sys; print(json.dumps({"username":"admin","password":sys.argv[1]}))' "$(cat "$work/admin-pw")")
  curl -sS --fail-with-body --max-time 20 --cacert "$2" --resolve "$HOST:${1##*:}:127.0.0.1" -c "$3" \
    -H 'Content-Type: application/json' -d "$body" "$1/api/v1/session" | json 'd["csrf_token"]'
}
P1=$(free_port); B1="https://$HOST:$P1"; CA1="$WD/ca/ca.crt"
serve_win "$WDW" "$P1" "$work/serve1.log"; SRV1=${pids[-1]}
wait_ready "$B1" "$CA1" "$work/serve1.log" || fail "dictum.exe serve --tls local never answered /healthz on $B1"
ok "serve --tls local under wine: /healthz over HTTPS verified with the firm CA"
C1=(curl -sS --fail-with-body --max-time 60 --cacert "$CA1" --resolve "$HOST:$P1:127.0.0.1")
CSRF=$(login "$B1" "$CA1" "$work/c1") || fail "login over HTTPS"
E1=$("${C1[@]}" -b "$work/c1" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
  -d '{"narrative":"Drafted the motion to compel; written on Windows"}' "$B1/api/v1/entries" | json 'd["id"]') || fail "create an entry"
"${C1[@]}" -b "$work/c1" "$B1/api/v1/entries/$E1" | grep -q 'written on Windows' || fail "read the entry back"
ok "logged in as admin, created entry $E1"
REC=$("${C1[@]}" -b "$work/c1" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: audio/wav' --data-binary "@$work/dictation.wav" \
  "$B1/api/v1/recordings" | json 'd["id"]') || fail "upload the WAV"
st=""
for _ in $(seq 1 300); do
  st=$("${C1[@]}" -b "$work/c1" "$B1/api/v1/recordings/$REC" | json 'd["status"]') || true
  case "$st" in done|failed) break ;; esac
  sleep 1
done
[ "$st" = done ] || { "${C1[@]}" -b "$work/c1" "$B1/api/v1/recordings/$REC" >&2 || true; tail -20 "$work/serve1.log" >&2; fail "the recording ended $st"; }
DRAFT=$("${C1[@]}" -b "$work/c1" "$B1/api/v1/recordings/$REC" | json 'd.get("entry_id") or ""')
[ -n "$DRAFT" ] || fail "transcribed, but no draft entry"
ok "WAV transcribed by whisper.cpp inside dictum.exe (random-weight tiny.en), draft entry $DRAFT"

# ---- 3. a Windows backup, restored by the Linux binary ------------------------------
"${C1[@]}" -b "$work/c1" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' -d '{}' \
  "$B1/api/v1/backups" >/dev/null || fail "backup now (API)"
bk_unix=""
for _ in $(seq 1 120); do
  bk_unix=$(ls "$WD"/backups/dictum-*.backup 2>/dev/null | head -1 || true)
  [ -n "$bk_unix" ] && break
  sleep 1
done
[ -f "$bk_unix" ] || fail "backup now (API) wrote no dictum-*.backup into $WD/backups"
BK=$(winpath "$bk_unix")
out=$(win backup verify --data "$WDW" "$BK") || fail "dictum.exe backup verify: $out"
ok "backup now on Windows: $BK, verified by dictum.exe"
kill "$SRV1"; wait "$SRV1" 2>/dev/null || true
# The master key comes over the way firm IT would carry it: a copy, made private (wine's
# files show as 0644 to Linux, and the Linux build refuses a key others can read).
install -m 0600 "$WD/master.key" "$work/win-master.key"
out=$("$LIN" restore --data "$work/lin-from-win" --key-file "$work/win-master.key" "$bk_unix" 2>&1) || fail "Linux restore of the Windows backup: $out"
P2=$(free_port)
"$LIN" serve --data "$work/lin-from-win" --tls local --listen "127.0.0.1:$P2" >"$work/serve2.log" 2>&1 &
pids+=($!); SRV2=$!
B2="https://$HOST:$P2"; CA2="$work/lin-from-win/ca/ca.crt"
wait_ready "$B2" "$CA2" "$work/serve2.log" || fail "Linux serve of the restored Windows data"
CSRF2=$(login "$B2" "$CA2" "$work/c2") || fail "login on Linux with the Windows admin password"
curl -sS --fail-with-body --cacert "$CA2" --resolve "$HOST:$P2:127.0.0.1" -b "$work/c2" "$B2/api/v1/entries/$E1" | grep -q 'written on Windows' \
  || fail "the Windows entry is not in the Linux restore"
curl -sS --fail-with-body --cacert "$CA2" --resolve "$HOST:$P2:127.0.0.1" -b "$work/c2" "$B2/api/v1/recordings/$REC/audio" -o "$work/audio-back" \
  || fail "the Windows recording's audio is not in the Linux restore"
cmp -s "$work/audio-back" "$work/dictation.wav" || fail "the recording's audio differs after Windows -> Linux"
kill "$SRV2"; wait "$SRV2" 2>/dev/null || true
ok "Linux restored the Windows backup: same entry, same audio bytes, same admin password"

# ---- 4. a Linux backup, restored by dictum.exe --------------------------------------
LD="$work/lin-data"
"$LIN" init --data "$LD" --admin-user admin --admin-password-file "$work/admin-pw" >/dev/null 2>&1 || fail "Linux init"
P3=$(free_port)
"$LIN" serve --data "$LD" --tls off --listen "127.0.0.1:$P3" >"$work/serve3.log" 2>&1 &
pids+=($!); SRV3=$!
for _ in $(seq 1 50); do curl -s "http://127.0.0.1:$P3/healthz" >/dev/null && break; sleep 0.2; done
body=$(python3 -c 'import json,sys; print(json.dumps({"username":"admin","password":sys.argv[1]}))' "$(cat "$work/admin-pw")")
CSRF3=$(curl -sS --fail-with-body -c "$work/c3" -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$P3/api/v1/session" | json 'd["csrf_token"]')
E3=$(curl -sS --fail-with-body -b "$work/c3" -H "X-CSRF-Token: $CSRF3" -H 'Content-Type: application/json' \
  -d '{"narrative":"Reviewed the lease; written on Linux"}' "http://127.0.0.1:$P3/api/v1/entries" | json 'd["id"]') || fail "Linux entry"
kill "$SRV3"; wait "$SRV3" 2>/dev/null || true
out=$("$LIN" backup now --data "$LD" 2>&1) || fail "Linux backup now: $out"
LBK=$(ls "$LD"/backups/dictum-*.backup 2>/dev/null | head -1 || true)
[ -f "$LBK" ] || fail "no Linux backup file in $LD/backups: $out"
WR="$work/win-from-lin"; WRW=$(winpath "$WR")
out=$(win restore --data "$WRW" --key-file "$(winpath "$LD/master.key")" "$(winpath "$LBK")") || fail "dictum.exe restore of the Linux backup: $out"
P4=$(free_port); B4="https://$HOST:$P4"; CA4="$WR/ca/ca.crt"
serve_win "$WRW" "$P4" "$work/serve4.log"; SRV4=${pids[-1]}
wait_ready "$B4" "$CA4" "$work/serve4.log" || fail "dictum.exe serve of the restored Linux data"
CSRF4=$(login "$B4" "$CA4" "$work/c4") || fail "login on Windows with the Linux admin password"
curl -sS --fail-with-body --cacert "$CA4" --resolve "$HOST:$P4:127.0.0.1" -b "$work/c4" "$B4/api/v1/entries/$E3" | grep -q 'written on Linux' \
  || fail "the Linux entry is not in the Windows restore"
kill "$SRV4"; wait "$SRV4" 2>/dev/null || true
out=$(win restore --force --data "$WRW" --key-file "$(winpath "$LD/master.key")" "$(winpath "$LBK")") || fail "dictum.exe restore --force over the restored data: $out"
ls -d "$WR".old-* >/dev/null 2>&1 || fail "restore --force did not move the old data dir aside: $out"
ok "dictum.exe restored the Linux backup and serves the Linux entry; restore --force over it moves the old dir aside"

# ---- 5. refusals ----------------------------------------------------------------------
PD="$work/plain"; mkdir -p "$PD"; cp "$WD/master.key" "$PD/"
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()' "$PD/dictum.db"
out=$(win doctor --data "$(winpath "$PD")") && fail "doctor accepted an unencrypted database: $out"
echo "$out" | grep -q 'not encrypted' || fail "no clear refusal of plain SQLite: $out"
KD="$work/wrongkey"; mkdir -p "$KD"; cp "$WD/dictum.db" "$KD/"; cp "$LD/master.key" "$KD/"
out=$(win doctor --data "$(winpath "$KD")") && fail "doctor opened the database with the wrong master key: $out"
echo "$out" | grep -qi 'wrong key' || fail "no clear wrong-key message: $out"
# The engine guard itself: a dictum linked against plain SQLite (mattn/go-sqlite3's bundled
# amalgamation, no libsqlite3 tag) must refuse to create or open anything.
. scripts/whisper-src.sh
GOFLAGS= CGO_ENABLED=1 CGO_CFLAGS="-I$CACHE/whisper-$WHISPER_VERSION/include -O2" CGO_LDFLAGS="-L$CACHE/whisper-$WHISPER_VERSION/lib" \
  "${GO:-go}" build -o "$work/dictum-plain-sqlite" ./cmd/dictum || fail "build a plain-SQLite dictum"
out=$("$work/dictum-plain-sqlite" init --data "$work/plain-engine" 2>&1) && fail "a plain-SQLite build initialised a data dir: $out"
echo "$out" | grep -q 'no database encryption is linked in' || fail "no clear refusal from a plain-SQLite build: $out"
[ ! -e "$work/plain-engine/dictum.db" ] && [ ! -e "$work/plain-engine/master.key" ] || fail "the plain-SQLite build left files behind"
ok "dictum.exe refuses an unencrypted SQLite file and a wrong master key; a plain-SQLite build refuses to run"

# ---- 6. the Windows service under wine's Service Control Manager ----------------------
EXE="$EXE" bash scripts/test-windows-service.sh || fail "the Windows service (scripts/test-windows-service.sh)"
ok "dictum service install/start/stop (drains the running transcription)/uninstall under wine's SCM"

# ---- 7. the MSI: its tables, then msiexec under wine -------------------------------------
msi=$(ls -t dist/dictum-*-x64.msi 2>/dev/null | head -1 || true)
[ -f "$msi" ] || fail "no MSI in dist/: run make msi"
bash scripts/msi-check.sh "$msi" >/dev/null || fail "MSI tables (scripts/msi-check.sh $msi)"
ok "MSI $msi: File, Component, ServiceInstall, ServiceControl, CustomAction, Upgrade tables as intended"
# A newer build to upgrade to: the same source with another version, one MSI build number up.
v1=$(msiinfo export "$msi" Property | awk -F'\t' '$1=="ProductVersion"{print $2}' | tr -d '\r')
[[ $v1 =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || fail "ProductVersion of $msi: '$v1'"
v2="${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.$((BASH_REMATCH[3] + 1))"
exe2v="$("$WINE" "$EXE" version 2>/dev/null | tr -d '\r' | sed -n 's/^dictum //p')-upgrade-test"
VERSION="$exe2v" OUT="$work/v2/dictum.exe" GO="${GO:-go}" bash scripts/windows-build.sh >/dev/null 2>&1 || fail "build the upgrade exe"
MSI_EXE="$work/v2/dictum.exe" MSI_OUT="$work/v2" MSI_VERSION="$v2" bash scripts/msi-build.sh >/dev/null 2>&1 || fail "build the upgrade MSI $v2"
UPGRADE_MSI="$work/v2/dictum-$v2-x64.msi" UPGRADE_EXE_VERSION="$exe2v" bash scripts/msi-wine-test.sh "$msi" \
  || fail "msiexec install/uninstall/reinstall/upgrade under wine (scripts/msi-wine-test.sh)"
ok "MSI installed, uninstalled (data kept), reinstalled, upgraded in place to $v2 and refused a downgrade, by wine's msiexec"
# ---- 8. a signed MSI: a throwaway code-signing certificate made here (a firm's real one is
#      given the same way: make msi SIGN_PFX=... SIGN_PASS_FILE=...) -----------------------
openssl req -x509 -newkey rsa:3072 -nodes -days 2 -subj "/CN=Dictum test code signing/O=Dictum test" \
  -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=codeSigning" \
  -keyout "$work/sign.key" -out "$work/sign.crt" 2>/dev/null || fail "make a test code-signing certificate"
printf 'test-pfx-pass\n' > "$work/sign.pass"
openssl pkcs12 -export -inkey "$work/sign.key" -in "$work/sign.crt" -passout "file:$work/sign.pass" -out "$work/sign.pfx" \
  || fail "make the test PFX"
out=$(MSI_EXE="$EXE" MSI_OUT="$work/signed" SIGN_PFX="$work/sign.pfx" SIGN_PASS_FILE="$work/sign.pass" SIGN_CAFILE="$work/sign.crt" \
  bash scripts/msi-build.sh 2>&1) || fail "signed MSI build: $out"
smsi=$(ls "$work"/signed/dictum-*-x64.msi 2>/dev/null | head -1 || true)
[ -f "$smsi" ] || fail "no signed MSI: $out"
osslsigncode verify -CAfile "$work/sign.crt" -in "$smsi" >/dev/null 2>&1 || fail "the signed MSI does not verify"
sexe="$work/signed-exe"; mkdir -p "$sexe"; (cd "$sexe" && msiextract "$smsi" >/dev/null)
osslsigncode verify -CAfile "$work/sign.crt" -in "$(find "$sexe" -iname dictum.exe | head -1)" >/dev/null 2>&1 \
  || fail "the exe inside the signed MSI is not signed"
osslsigncode verify -in "$smsi" >/dev/null 2>&1 && fail "a self-signed signature verified against the system roots"
ok "make msi SIGN_PFX=...: the exe and the MSI are Authenticode-signed (SHA-256) and verify against the signer's CA"
log "all passed in $(( $(date +%s) - T0 ))s"
