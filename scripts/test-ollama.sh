#!/usr/bin/env bash
# `make test-ollama` (opt-in, not part of `make test`): the Ollama engine against a REAL
# Ollama server, once.
#   1. builds the Ollama server from its Go module at the version go.mod pins (cached in
#      $DICTUM_CACHE/ollama-<version>; the module zip lacks llama.cpp's vendored headers:
#      nlohmann/json comes from Debian nlohmann-json3-dev, stb from libstb-dev, miniaudio.h
#      from the Go module github.com/gen2brain/malgo);
#   2. writes a random-weight llama GGUF (scripts/ollama-gguf) and creates a model of it;
#   3. serves on a free loopback port with its own OLLAMA_MODELS and runs
#      TestOllamaIntegration (go test -tags ollama ./internal/draft): one entry and a day
#      dictation through the server's schema-constrained output.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(make -s env)"
CACHE="${DICTUM_CACHE:-$HOME/.cache/dictum}"
VER=$(awk '$1=="github.com/ollama/ollama" {print $2}' go.mod)
MALGO=v0.11.24
OUT="$CACHE/ollama-$VER"
log() { printf 'test-ollama: %s\n' "$*" >&2; }

for p in nlohmann-json3-dev libstb-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    [ "$(id -u)" = 0 ] || { log "install $p (as root)"; exit 1; }
    log "installing $p"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null
  fi
done

mkdir -p "$OUT/mod" "$OUT/include/miniaudio"
# a module of its own, where Ollama's and malgo's dependencies resolve
if [ ! -f "$OUT/mod/go.sum" ]; then
  printf 'module ollamabuild\n\ngo 1.26\n' > "$OUT/mod/go.mod"
  (cd "$OUT/mod" && GOFLAGS= go get "github.com/ollama/ollama@$VER" "github.com/gen2brain/malgo@$MALGO" >/dev/null 2>&1)
fi
if [ ! -x "$OUT/ollama" ]; then
  log "building the Ollama server $VER from its Go module (several minutes)"
  malgo_dir=$(cd "$OUT/mod" && GOFLAGS= go list -m -f '{{.Dir}}' "github.com/gen2brain/malgo")
  install -m 0644 "$malgo_dir/miniaudio.h" "$OUT/include/miniaudio/miniaudio.h"
  (cd "$OUT/mod" && GOFLAGS= CGO_ENABLED=1 CGO_CFLAGS= CGO_LDFLAGS= CGO_CPPFLAGS="-I$OUT/include -I/usr/include" \
    go build -o "$OUT/ollama.tmp" "github.com/ollama/ollama") && mv "$OUT/ollama.tmp" "$OUT/ollama"
fi

work=$(mktemp -d)
srv=""
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

sed '1,2d' scripts/ollama-gguf/main.go > "$OUT/mod/gen_gguf.go"
(cd "$OUT/mod" && GOFLAGS= go run gen_gguf.go "$work/model.gguf")
rm -f "$OUT/mod/gen_gguf.go"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export OLLAMA_HOST="127.0.0.1:$port" OLLAMA_MODELS="$work/models" OLLAMA_NOPRUNE=1
"$OUT/ollama" serve > "$work/serve.log" 2>&1 &
srv=$!
for _ in $(seq 60); do
  curl -fsS "http://$OLLAMA_HOST/api/version" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS "http://$OLLAMA_HOST/api/version" >/dev/null || { log "server did not start:"; tail -20 "$work/serve.log" >&2; exit 1; }
cat > "$work/Modelfile" <<MF
FROM $work/model.gguf
TEMPLATE """{{ range .Messages }}<|{{ .Role }}|>{{ .Content }}
{{ end }}<|assistant|>"""
MF
"$OUT/ollama" create dictum-test -f "$work/Modelfile" >/dev/null
log "server $("$OUT/ollama" --version 2>/dev/null | tail -1) on $OLLAMA_HOST, model dictum-test"
DICTUM_TEST_OLLAMA_HOST="http://$OLLAMA_HOST" DICTUM_TEST_OLLAMA_MODEL=dictum-test \
  go test -tags "libsqlite3 ollama" -count=1 -v -timeout 30m -run '^TestOllamaIntegration$' ./internal/draft \
  || { log "failed; server log:"; tail -30 "$work/serve.log" >&2; exit 1; }
