#!/usr/bin/env bash
# Builds whisper.cpp's own HTTP server (whisper-server) from the same pinned source as the
# library (npm nodejs-whisper@0.3.1 -> whisper.cpp 1.9.1, checksum verified), cached under
# $DICTUM_CACHE/whisper-server-<version>/bin/whisper-server. Idempotent: fast when cached.
# Used by `make unit` (the remote-backend test starts two instances) and by firms that want
# the exact server Dictum is tested against on their GPU host (add -DGGML_CUDA=ON there).
set -euo pipefail
CACHE="${DICTUM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dictum}"
# shellcheck source=scripts/whisper-src.sh
. "$(dirname "${BASH_SOURCE[0]}")/whisper-src.sh"
OUT="$CACHE/whisper-server-$WHISPER_VERSION"
log() { printf 'whisper-server: %s\n' "$*" >&2; }
if [ -x "$OUT/bin/whisper-server" ]; then exit 0; fi
log "building whisper-server $WHISPER_VERSION from $WHISPER_NPM (a few minutes on 2 cores, once)"
work="$CACHE/whisper-server-build"
rm -rf "$work"; mkdir -p "$work"
whisper_fetch_src "$work" || exit 1
cmake -S "$work/package/cpp/whisper.cpp" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_EXAMPLES=ON \
  -DWHISPER_BUILD_SERVER=ON -DWHISPER_SDL2=OFF >/dev/null
cmake --build "$work/build" -j"$(nproc)" --target whisper-server >/dev/null
install -D -m 0755 "$work/build/bin/whisper-server" "$OUT.tmp/bin/whisper-server"
rm -rf "$OUT"; mv "$OUT.tmp" "$OUT"
# Keep the server's source for reference (API), drop the build tree.
mkdir -p "$OUT/src"; cp -r "$work/package/cpp/whisper.cpp/examples/server" "$OUT/src/" 2>/dev/null || true
rm -rf "$work"
log "ok: $OUT/bin/whisper-server"
