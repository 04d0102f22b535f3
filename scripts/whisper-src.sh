# Sourced by deps.sh and whisper-server.sh: the one pin of the whisper.cpp source (the npm
# package nodejs-whisper ships whisper.cpp with its ggml) and how it is fetched and checked.
WHISPER_NPM="nodejs-whisper@0.3.1"
WHISPER_NPM_SHA256="92041caf2b26c74b7f489fedf37bd093f216eebd61df512045ec2d19d0531d37"
WHISPER_VERSION="1.9.1"

# whisper_fetch_src DIR: npm pack the pinned package into DIR, verify its SHA-256 and unpack
# package/cpp/whisper.cpp there (the source tree is DIR/package/cpp/whisper.cpp).
whisper_fetch_src() {
  local dir="$1" tgz
  (cd "$dir" && npm pack --silent "$WHISPER_NPM" >/dev/null)
  tgz=$(ls "$dir"/*.tgz)
  echo "$WHISPER_NPM_SHA256  $tgz" | sha256sum -c --quiet - || { echo "checksum mismatch: $tgz" >&2; return 1; }
  tar -xzf "$tgz" -C "$dir" package/cpp/whisper.cpp
}
