#!/usr/bin/env bash
# `make windows`: cross-builds dist/windows/dictum.exe (amd64) on Debian with mingw-w64.
#   - C libraries from scripts/deps-windows.sh: SQLite3 Multiple Ciphers (SQLCipher 4 scheme)
#     and whisper.cpp, both static
#   - linked with -static: libstdc++, libgcc and winpthread go inside the exe
#   - the import table (x86_64-w64-mingw32-objdump -p) may only name DLLs every Windows
#     ships in System32; anything else (a MinGW runtime DLL, OpenSSL, OpenMP) fails the build
# Env: VERSION (default git describe), GO (default go), OUT (default dist/windows/dictum.exe).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${DICTUM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dictum}"
# shellcheck source=scripts/whisper-src.sh
. scripts/whisper-src.sh
GO="${GO:-go}"
VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
OUT="${OUT:-dist/windows/dictum.exe}"
MC="$CACHE/sqlite3mc-2.4.0/mingw"
WHW="$CACHE/whisper-$WHISPER_VERSION-mingw"
log() { printf 'windows-build: %s\n' "$*" >&2; }

bash scripts/deps-windows.sh

mkdir -p "$(dirname "$OUT")"
log "building $OUT ($VERSION)"
GOOS=windows GOARCH=amd64 CGO_ENABLED=1 \
  CC=x86_64-w64-mingw32-gcc-posix CXX=x86_64-w64-mingw32-g++-posix \
  CGO_CFLAGS="-I$MC/include -I$WHW/include -O2" \
  CGO_CXXFLAGS="-O2" \
  CGO_LDFLAGS="-L$MC/lib -L$WHW/lib" \
  "$GO" build -tags "libsqlite3 ${WINDOWS_EXTRA_TAGS:-}" -trimpath \
  -ldflags "-s -w -X dictum/internal/buildinfo.Version=$VERSION -extldflags=-static" \
  -o "$OUT.tmp" ./cmd/dictum
mv "$OUT.tmp" "$OUT"

# The DLLs a stock Windows Server 2016+ has in System32 that Go's runtime, x/sys/windows
# and the mingw CRT link against. Compared case-insensitively.
allowed="kernel32.dll advapi32.dll bcrypt.dll bcryptprimitives.dll msvcrt.dll ntdll.dll ws2_32.dll
user32.dll shell32.dll ole32.dll crypt32.dll secur32.dll iphlpapi.dll dnsapi.dll netapi32.dll
userenv.dll winmm.dll powrprof.dll mswsock.dll"
imports=$(x86_64-w64-mingw32-objdump -p "$OUT" | awk '/DLL Name:/ {print tolower($3)}' | sort -u)
[ -n "$imports" ] || { log "FAIL: no import table found in $OUT"; exit 1; }
bad=""
for d in $imports; do
  case " $(echo $allowed) " in *" $d "*) ;; *) bad="$bad $d" ;; esac
done
if [ -n "$bad" ]; then
  log "FAIL: $OUT imports DLLs that are not part of Windows:$bad"
  log "(imports: $(echo $imports))"
  rm -f "$OUT"
  exit 1
fi
log "ok: $OUT $(du -h "$OUT" | cut -f1), imports only Windows DLLs: $(echo $imports)"
