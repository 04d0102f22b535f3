#!/usr/bin/env bash
# Installs everything a build of dictum needs on Debian 12, as root, idempotently.
#   - apt packages (build tools, cmake, libssl-dev, test tools incl. testssl.sh for make test-tls)
#   - SQLCipher 4.6.1 from bookworm-backports, unpacked into a cache prefix
#     (the system's apt sources are never edited: a private sources list is used)
#   - whisper.cpp 1.9.1 from the pinned npm package nodejs-whisper@0.3.1, built into the cache
# Everything is verified against pinned SHA-256 sums. Fast when the cache is warm.
set -euo pipefail

CACHE="${DICTUM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dictum}"
SQLCIPHER_VERSION="4.6.1-2~bpo12+1"
# shellcheck source=scripts/whisper-src.sh
. "$(dirname "${BASH_SOURCE[0]}")/whisper-src.sh"
# shellcheck source=scripts/apt-ensure.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt-ensure.sh"

declare -A DEB_SHA256=(
  [libsqlcipher-dev]=e92ef0934989e174514c4b0f4445248acb410b503fc32f29ed743699a0e47ae3
  [libsqlcipher1]=e8717c531e941902ffe5833486fcb53b999427dc44f2b9d8554ba330cb63221e
  [sqlcipher]=ea713577822a418d1b410e50d8819aa7debadb8d270af61307e21cc96223a5ae
)

log() { printf 'deps: %s\n' "$*" >&2; }

# ---- apt packages ---------------------------------------------------------
APT_PKGS=(build-essential cmake pkg-config libssl-dev zlib1g-dev ca-certificates
          espeak-ng sox lame opus-tools chromium fonts-dejavu-core wrk nodejs openssl
          zip unzip time testssl.sh
          lintian debootstrap curl slapd ldap-utils)
apt_ensure "${APT_PKGS[@]}"

# ---- SQLCipher from bookworm-backports -------------------------------------
SQLC="$CACHE/sqlcipher-$SQLCIPHER_VERSION"
if [ ! -f "$SQLC/.done" ]; then
  log "fetching SQLCipher $SQLCIPHER_VERSION from bookworm-backports"
  work="$CACHE/apt-backports"
  rm -rf "$work"; mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/dl"
  # The mirror the machine already uses for the bookworm suite, read from its own sources.
  mirror=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/{u=$2} /^Suites:/{ for(i=2;i<=NF;i++) if($i=="bookworm"){print u; exit} }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror=$(awk '$1=="deb" && $0 ~ / bookworm / { for(i=2;i<=NF;i++) if($i ~ /^(https?|file):/){print $i; exit} }' /etc/apt/sources.list)
  fi
  [ -n "$mirror" ] || { log "cannot find the Debian bookworm mirror in /etc/apt sources"; exit 1; }
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-backports main" > "$work/sources.list"
  O=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
  apt-get "${O[@]}" -qq update
  (cd "$work/dl" && apt-get "${O[@]}" -qq download \
      "libsqlcipher-dev=$SQLCIPHER_VERSION" "libsqlcipher1=$SQLCIPHER_VERSION" "sqlcipher=$SQLCIPHER_VERSION")
  rm -rf "$SQLC.tmp"; mkdir -p "$SQLC.tmp"
  for pkg in "${!DEB_SHA256[@]}"; do
    f=$(ls "$work/dl/${pkg}_"*.deb)
    echo "${DEB_SHA256[$pkg]}  $f" | sha256sum -c --quiet - || { log "checksum mismatch: $f"; exit 1; }
    dpkg-deb -x "$f" "$SQLC.tmp"
  done
  touch "$SQLC.tmp/.done"
  rm -rf "$SQLC"; mv "$SQLC.tmp" "$SQLC"; rm -rf "$work"
fi
# mattn/go-sqlite3 with -tags libsqlite3 links -lsqlite3: give it SQLCipher under that
# name, as a linker script that also pulls in libcrypto/libz right after the archive, so
# the link works whatever order cgo puts the flags in.
mkdir -p "$SQLC/lib"
script="INPUT ( $SQLC/usr/lib/x86_64-linux-gnu/libsqlcipher.a -lcrypto -lz -lm )"
if [ -L "$SQLC/lib/libsqlite3.a" ] || [ "$(cat "$SQLC/lib/libsqlite3.a" 2>/dev/null)" != "$script" ]; then
  rm -f "$SQLC/lib/libsqlite3.a"; echo "$script" > "$SQLC/lib/libsqlite3.a"
fi

# ---- whisper.cpp from the pinned npm package --------------------------------
WH="$CACHE/whisper-$WHISPER_VERSION"
if [ ! -f "$WH/.done" ]; then
  log "building whisper.cpp $WHISPER_VERSION from $WHISPER_NPM (about a minute on 2 cores)"
  work="$CACHE/whisper-build"
  rm -rf "$work"; mkdir -p "$work"
  whisper_fetch_src "$work" || exit 1
  cmake -S "$work/package/cpp/whisper.cpp" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_EXAMPLES=OFF \
    -DWHISPER_BUILD_SERVER=OFF -DCMAKE_INSTALL_PREFIX="$WH.tmp" >/dev/null
  cmake --build "$work/build" -j"$(nproc)" >/dev/null
  rm -rf "$WH.tmp"; cmake --install "$work/build" >/dev/null
  # Also build whisper-cli from the same source for the benchmark's baseline.
  cmake -S "$work/package/cpp/whisper.cpp" -B "$work/build-cli" -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_EXAMPLES=ON \
    -DWHISPER_BUILD_SERVER=OFF -DWHISPER_SDL2=OFF >/dev/null
  cmake --build "$work/build-cli" -j"$(nproc)" --target whisper-cli >/dev/null 2>&1 \
    && install -D -m 0755 "$work/build-cli/bin/whisper-cli" "$WH.tmp/bin/whisper-cli" \
    || log "whisper-cli not built (benchmark baseline will be skipped)"
  touch "$WH.tmp/.done"
  rm -rf "$WH"; mv "$WH.tmp" "$WH"; rm -rf "$work"
fi

# ---- node test tools (playwright-core, axe-core) -----------------------------
if [ -f "$(dirname "$0")/../test/browser/package.json" ] && [ ! -d "$(dirname "$0")/../test/browser/node_modules/playwright-core" ]; then
  log "installing browser test tools from npm"
  (cd "$(dirname "$0")/../test/browser" && npm ci --silent --no-audit --no-fund)
fi
log "ok (cache: $CACHE)"
