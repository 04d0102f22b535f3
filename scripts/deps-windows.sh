#!/usr/bin/env bash
# Installs what the Windows build (make windows, make msi, make test-windows) needs on
# Debian 12, as root, idempotently, and builds its C libraries into the cache:
#   - apt: mingw-w64 (gcc + g++ posix threads), wine64, msitools + wixl (the MSI), osslsigncode
#   - SQLite3 Multiple Ciphers 2.4.0 (SQLite 3.53.4), the amalgamation shipped in the npm
#     package better-sqlite3-multiple-ciphers@13.0.3 (deps/sqlite3/), pinned by the
#     package's and sqlite3.c's SHA-256, compiled with the SQLCipher 4 scheme as its only
#     default so the database file is byte-compatible with the Linux build (SQLCipher 4.6):
#       $CACHE/sqlite3mc-<v>/mingw/{include,lib/libsqlite3.a}   for dictum.exe
#       $CACHE/sqlite3mc-<v>/linux/{include,lib/libsqlite3.a}   for the Linux test build of
#                                                               the same engine (store tests)
#   - whisper.cpp from the same pinned source as Linux (scripts/whisper-src.sh), built with
#     the mingw toolchain file packaging/windows/mingw-w64-x86_64.cmake, static, no OpenMP:
#       $CACHE/whisper-<v>-mingw/{include,lib}
# Prints nothing but progress; fast when the cache is warm.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${DICTUM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dictum}"
# shellcheck source=scripts/whisper-src.sh
. "$here/whisper-src.sh"
# shellcheck source=scripts/apt-ensure.sh
. "$here/apt-ensure.sh"

MC_NPM="better-sqlite3-multiple-ciphers@13.0.3"
MC_NPM_SHA256="24a11e221247fc003f755ad0f82126bc6b0295d0be1c06f3cb3e48d9db8eb898"
MC_C_SHA256="ad84d2c24540cf62ea27ee414911a32963390769bd031f39a50aec0ad90614a0"
MC_VERSION="2.4.0"

# Compile-time configuration of the engine (both targets):
#  - CODEC_TYPE_SQLCIPHER + SQLITE3MC_USE_SQLCIPHER_LEGACY with SQLCIPHER_VERSION_DEFAULT=4:
#    a keyed database is a SQLCipher 4 file (PBKDF2-SHA512 256000 / raw keys, AES-256-CBC,
#    HMAC-SHA512, 4096-byte pages), exactly what Debian's SQLCipher 4.6 writes and reads.
#  - SQLITE_TEMP_STORE=3: temporary tables and sort spills stay in memory. The cipher only
#    covers the database and its WAL, so a temp file would be plaintext on disk.
#  - SQLITE_SECURE_DELETE: freed pages are zeroed (the Linux build turns it on per purge).
#  - the rest mirrors mattn/go-sqlite3's own build flags.
MC_DEFS=(-DCODEC_TYPE=CODEC_TYPE_SQLCIPHER -DSQLITE3MC_USE_SQLCIPHER_LEGACY=1
         -DSQLCIPHER_VERSION_DEFAULT=4 -DSQLITE_TEMP_STORE=3 -DSQLITE_SECURE_DELETE=1
         -DSQLITE_THREADSAFE=1 -DHAVE_USLEEP=1 -DSQLITE_ENABLE_RTREE -DSQLITE_ENABLE_FTS3
         -DSQLITE_ENABLE_FTS3_PARENTHESIS -DSQLITE_ENABLE_FTS5 -DSQLITE_ENABLE_MATH_FUNCTIONS
         -DSQLITE_DEFAULT_WAL_SYNCHRONOUS=1 -DSQLITE_ENABLE_UPDATE_DELETE_LIMIT
         -DSQLITE_ENABLE_COLUMN_METADATA -DSQLITE_DEFAULT_FOREIGN_KEYS=0 -DSQLITE_DQS=3
         -DSQLITE_OMIT_DEPRECATED -DSQLITE_DISABLE_INTRINSIC)

log() { printf 'deps-windows: %s\n' "$*" >&2; }

# ---- apt packages ---------------------------------------------------------
APT_PKGS=(gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64-posix wine64 msitools wixl osslsigncode
          cmake openssl curl nodejs)
apt_ensure "${APT_PKGS[@]}"

# ---- SQLite3 Multiple Ciphers -----------------------------------------------
MC="$CACHE/sqlite3mc-$MC_VERSION"
if [ ! -f "$MC/.done" ]; then
  log "building SQLite3 Multiple Ciphers $MC_VERSION from $MC_NPM (mingw and linux)"
  work="$CACHE/sqlite3mc-build"
  rm -rf "$work" "$MC.tmp"; mkdir -p "$work"
  (cd "$work" && npm pack --silent "$MC_NPM" >/dev/null)
  tgz=$(ls "$work"/*.tgz)
  echo "$MC_NPM_SHA256  $tgz" | sha256sum -c --quiet - || { log "checksum mismatch: $tgz"; exit 1; }
  tar -xzf "$tgz" -C "$work" package/deps/sqlite3
  src="$work/package/deps/sqlite3"
  echo "$MC_C_SHA256  $src/sqlite3.c" | sha256sum -c --quiet - || { log "checksum mismatch: sqlite3.c"; exit 1; }
  grep -q "SQLITE3MC_VERSION_STRING     \"SQLite3 Multiple Ciphers $MC_VERSION\"" "$src/sqlite3.c" \
    || { log "sqlite3.c is not SQLite3 Multiple Ciphers $MC_VERSION"; exit 1; }
  for t in mingw linux; do
    case $t in
      mingw) cc=x86_64-w64-mingw32-gcc-posix; ar=x86_64-w64-mingw32-ar ;;
      linux) cc=gcc; ar=ar ;;
    esac
    mkdir -p "$MC.tmp/$t/include" "$MC.tmp/$t/lib" "$work/$t"
    "$cc" -O2 -c "${MC_DEFS[@]}" -w -o "$work/$t/sqlite3.o" "$src/sqlite3.c"
    "$ar" rcs "$MC.tmp/$t/lib/libsqlite3.a" "$work/$t/sqlite3.o"
    cp "$src/sqlite3.h" "$src/sqlite3ext.h" "$MC.tmp/$t/include/"
  done
  touch "$MC.tmp/.done"
  rm -rf "$MC"; mv "$MC.tmp" "$MC"; rm -rf "$work"
fi

# ---- whisper.cpp for Windows (mingw) ------------------------------------------
WHW="$CACHE/whisper-$WHISPER_VERSION-mingw"
if [ ! -f "$WHW/.done" ]; then
  log "cross-building whisper.cpp $WHISPER_VERSION for Windows with mingw-w64 (a few minutes on 2 cores)"
  work="$CACHE/whisper-mingw-build"
  rm -rf "$work" "$WHW.tmp"; mkdir -p "$work"
  whisper_fetch_src "$work" || exit 1
  cmake -S "$work/package/cpp/whisper.cpp" -B "$work/build" \
    -DCMAKE_TOOLCHAIN_FILE="$here/../packaging/windows/mingw-w64-x86_64.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DGGML_OPENMP=OFF \
    -DGGML_BACKEND_DL=OFF -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_EXAMPLES=OFF \
    -DWHISPER_BUILD_SERVER=OFF -DCMAKE_INSTALL_PREFIX="$WHW.tmp" >/dev/null
  cmake --build "$work/build" -j"$(nproc)" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; log "whisper.cpp mingw build failed"; exit 1; }
  cmake --install "$work/build" >/dev/null
  # ggml names its static libraries ggml*.a on Windows; cgo links -lggml (libggml.a).
  for a in "$WHW.tmp"/lib/ggml*.a; do ln -sf "$(basename "$a")" "$WHW.tmp/lib/lib$(basename "$a")"; done
  touch "$WHW.tmp/.done"
  rm -rf "$WHW"; mv "$WHW.tmp" "$WHW"; rm -rf "$work"
fi
log "ok (cache: $CACHE)"
