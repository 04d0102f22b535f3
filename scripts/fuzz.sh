#!/usr/bin/env bash
# `make fuzz FUZZTIME=30s`: runs every go fuzz target in the repo for FUZZTIME each.
# Seed corpora live next to the code in testdata/fuzz/<Target>/ and run in `make test` too.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-20s}"
fail=0
for pkg in $(go list ./...); do
  for target in $(go test -tags libsqlite3 -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $target ($t)"
    if ! go test -tags libsqlite3 -run '^$' -fuzz "^${target}\$" -fuzztime "$t" -parallel 2 "$pkg"; then
      fail=1
      echo "!! $pkg $target found a failure: see testdata/fuzz/$target in that package"
    fi
  done
done
exit $fail
