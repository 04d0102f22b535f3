# Dictum build. Works as root on a fresh Debian 12 machine: `make run`, `make test`.
SHELL := /bin/bash
CACHE ?= $(or $(DICTUM_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/dictum)
SQLCIPHER_VERSION := 4.6.1-2~bpo12+1
WHISPER_VERSION := 1.9.1
SQLC := $(CACHE)/sqlcipher-$(SQLCIPHER_VERSION)
WH := $(CACHE)/whisper-$(WHISPER_VERSION)
DATA ?= $(CURDIR)/.run/data
LISTEN ?= 127.0.0.1:8080
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
# Scripts run by make (bench, fuzz, browser tests) find the same Go toolchain.
export PATH := $(dir $(GO)):$(PATH)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

export CGO_ENABLED := 1
export CGO_CFLAGS := -I$(SQLC)/usr/include/sqlcipher -DSQLITE_HAS_CODEC -I$(WH)/include -O2
# lib/libsqlite3.a is a linker script: SQLCipher's archive followed by -lcrypto -lz -lm.
export CGO_LDFLAGS := -L$(SQLC)/lib -L$(WH)/lib
export DICTUM_CACHE := $(CACHE)
export DICTUM_WHISPER_PREFIX := $(WH)
export DICTUM_SQLCIPHER_PREFIX := $(SQLC)
GOFLAGS_TAGS := -tags libsqlite3
LDFLAGS := -X dictum/internal/buildinfo.Version=$(VERSION)

.PHONY: all deps build run test vet unit whisper-server browser bench eval fuzz clean env test-tls deb test-deb test-ollama windows msi test-sqlite3mc test-windows

all: build

deps:
	@bash scripts/deps.sh

build: deps
	@mkdir -p bin
	$(GO) build $(GOFLAGS_TAGS) -ldflags '$(LDFLAGS)' -o bin/dictum ./cmd/dictum

run: build
	@bash scripts/run.sh bin/dictum "$(DATA)" "$(LISTEN)"

vet: deps
	@out=$$($(dir $(GO))gofmt -l cmd internal assets) || exit 1; test -z "$$out" || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet $(GOFLAGS_TAGS) ./...

# whisper.cpp's own server from the same pinned source, for the remote-backend test (it
# skips, saying why, if the build fails here).
whisper-server: deps
	@bash scripts/whisper-server.sh || echo "make: whisper-server could not be built; TestWhisperServerBackends will skip" >&2

unit: deps whisper-server
	$(GO) test $(GOFLAGS_TAGS) -ldflags '$(LDFLAGS)' -count=1 -timeout 25m ./...

browser: build
	@bash scripts/browser-test.sh

test: vet unit browser
	@echo "make test: all suites passed"

# testssl.sh against `serve --tls local`: fails on any HIGH/CRITICAL finding (~90 s, so
# a separate CI step).
test-tls: build
	@bash scripts/test-tls.sh bin/dictum

bench: build
	@bash scripts/bench.sh

eval: deps
	$(GO) test $(GOFLAGS_TAGS) -count=1 -run 'TestEval' -v ./internal/draft ./internal/dictation | grep -E '^(EVAL|---|ok|FAIL)'

# Opt-in (not in `make test`): the Ollama engine against a real Ollama server built from
# its Go module, with a random-weight model (scripts/test-ollama.sh).
test-ollama: deps
	@bash scripts/test-ollama.sh

FUZZTIME ?= 20s
fuzz: deps
	@bash scripts/fuzz.sh $(FUZZTIME)

# The Debian package (nfpm, pinned in go.mod): dist/dictum_<version>_amd64.deb, lintian-clean.
deb: deps
	@GO=$(GO) bash scripts/deb-build.sh

# Installs, upgrades, rolls back, removes and purges the .deb in a clean Debian 12 root
# (debootstrap, cached). Needs root. Separate from `make test`: a few minutes.
test-deb: deb
	@GO=$(GO) bash scripts/test-deb.sh

# dist/windows/dictum.exe, cross-built with mingw-w64: static, SQLite3 Multiple Ciphers in
# the SQLCipher 4 scheme, whisper.cpp from the same pin; the import table is checked.
windows:
	@GO=$(GO) VERSION=$(VERSION) bash scripts/windows-build.sh

# The store and lifecycle suites linked against the Windows build's database engine
# (SQLite3 Multiple Ciphers, compiled for Linux with the same settings), so its SQL export
# and its SQLCipher-4 compatibility are tested natively, next to Debian's sqlcipher CLI.
WIN_MC := $(CACHE)/sqlite3mc-2.4.0/linux
test-sqlite3mc: deps
	@bash scripts/deps-windows.sh
	CGO_CFLAGS="-I$(WIN_MC)/include -I$(WH)/include -O2" CGO_LDFLAGS="-L$(WIN_MC)/lib -L$(WH)/lib" \
	  $(GO) test $(GOFLAGS_TAGS) -count=1 -timeout 15m ./internal/store ./internal/lifecycle

# dictum.exe under wine64: init, serve --tls local, login, an entry, a transcribed WAV,
# backups restored across Linux and Windows both ways, and the MSI's tables
# (scripts/test-windows.sh). A few minutes: its own CI step.
test-windows: build msi test-sqlite3mc
	@GO=$(GO) bash scripts/test-windows.sh

# The Windows installer: dist/dictum-<version>-x64.msi from dist/windows/dictum.exe (wixl,
# packaging/windows/dictum.wxs), its tables checked by scripts/msi-check.sh. Signed with
# osslsigncode when SIGN_PFX=cert.pfx is given (SIGN_PASS_FILE, SIGN_CAFILE and
# SIGN_TIMESTAMP_URL optional; see scripts/msi-build.sh); unsigned otherwise.
msi:
	@$(MAKE) windows
	@bash scripts/msi-build.sh

# Prints the environment for running go commands by hand: eval "$$(make -s env)"
env:
	@echo 'export CGO_ENABLED=1 CGO_CFLAGS="$(CGO_CFLAGS)" CGO_LDFLAGS="$(CGO_LDFLAGS)" DICTUM_WHISPER_PREFIX="$(WH)" DICTUM_SQLCIPHER_PREFIX="$(SQLC)" GOFLAGS=-tags=libsqlite3'

clean:
	rm -rf bin .run dist
