#!/usr/bin/env bash
# Prints the path of a cached tarball holding a minimal Debian 12 (bookworm) root, building it
# with debootstrap the first time. The root comes from the same mirror the machine's apt uses
# (read from /etc/apt at run time; no host name is written into the repo) and is cached under
# ${XDG_CACHE_HOME:-$HOME/.cache}/dictum, keyed by suite, variant and extra package list, so
# `make test-deb` only pays for debootstrap once.
set -euo pipefail
SUITE=bookworm
VARIANT=minbase
# Nothing beyond minbase: `apt-get install ./dictum_*.deb` must pull in every library itself,
# which is what proves the package's Depends: complete. (Test clients such as curl run on the
# host against the chroot's server: the network namespace is shared.)
EXTRA=""
CACHE="${DICTUM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dictum}"
log() { printf 'deb-root: %s\n' "$*" >&2; }

mirror_for() { # the URI apt uses for suite $1
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk -v s="$1" '/^URIs:/{u=$2} /^Suites:/{ for(i=2;i<=NF;i++) if($i==s){print u; exit} }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk -v s="$1" '$1=="deb" { for(i=2;i<=NF;i++) if($i==s){ for(j=2;j<i;j++) if($j ~ /^(https?|file):/){print $j; exit} } }' /etc/apt/sources.list)
  fi
  printf '%s' "$m"
}
MIRROR=$(mirror_for "$SUITE")
[ -n "$MIRROR" ] || { log "cannot find the Debian $SUITE mirror in /etc/apt sources"; exit 1; }
SECURITY=$(mirror_for "$SUITE-security")

key=$(printf '%s|%s|%s' "$SUITE" "$VARIANT" "$EXTRA" | sha256sum | cut -c1-12)
tarball="$CACHE/debroot-$SUITE-$VARIANT-$key.tar.gz"
if [ -f "$tarball" ]; then echo "$tarball"; exit 0; fi

command -v debootstrap >/dev/null || { log "debootstrap is not installed (make deps installs it)"; exit 1; }
[ "$(id -u)" = 0 ] || { log "debootstrap needs root"; exit 1; }
mkdir -p "$CACHE"
work=$(mktemp -d "$CACHE/debroot.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "debootstrap $SUITE ($VARIANT) from the machine's mirror (once; cached in $tarball)"
inc=(); [ -n "$EXTRA" ] && inc=(--include="$EXTRA")
debootstrap --variant="$VARIANT" "${inc[@]}" --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
  "$SUITE" "$work/root" "$MIRROR" >"$work/log" 2>&1 || { tail -20 "$work/log" >&2; exit 1; }
# The root's own apt sources: the same mirror (and its security suite when the machine has one).
{
  echo "deb $MIRROR $SUITE main"
  echo "deb $MIRROR $SUITE-updates main"
  [ -n "$SECURITY" ] && echo "deb $SECURITY $SUITE-security main"
} > "$work/root/etc/apt/sources.list"
rm -rf "$work/root/var/cache/apt/archives/"*.deb
tar -C "$work/root" -czf "$work/root.tar.gz" .
mv "$work/root.tar.gz" "$tarball"
echo "$tarball"
