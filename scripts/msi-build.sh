#!/usr/bin/env bash
# `make msi`: builds dist/dictum-<version>-x64.msi from dist/windows/dictum.exe with Debian's
# wixl (msitools), from packaging/windows/dictum.wxs, then checks its tables with
# scripts/msi-check.sh.
#   - version: MSI versions are three numbers (major.minor.build, each field checked by
#     Windows Installer, the build at most 65535): <major>.<minor> of the latest vX.Y[.Z]
#     tag (0.0 without a tag) and the build is the commit count, so every later commit
#     builds a newer MSI that upgrades the older one in place. MSI_VERSION=x.y.z overrides.
#   - signing (optional): SIGN_PFX=cert.pfx [SIGN_PASS_FILE=file] signs dictum.exe before it
#     is packaged and the MSI after, with osslsigncode (SHA-256), and verifies both
#     signatures; SIGN_CAFILE=ca.pem verifies against that CA instead of the system's (a
#     test certificate); SIGN_TIMESTAMP_URL adds an RFC 3161 timestamp (network: only when
#     set). Without SIGN_PFX the MSI is unsigned, and this says so.
# Inputs: MSI_EXE (default dist/windows/dictum.exe), MSI_OUT (default dist).
set -euo pipefail
cd "$(dirname "$0")/.."
EXE=${MSI_EXE:-dist/windows/dictum.exe}
OUT=${MSI_OUT:-dist}
WXS=$PWD/packaging/windows/dictum.wxs
log() { printf 'msi: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for t in wixl msibuild msiinfo; do
  command -v "$t" >/dev/null || die "$t is not installed (Debian packages wixl and msitools; make deps installs them)"
done

# ---- version ------------------------------------------------------------------
msi_version() {
  local tag="" major=0 minor=0 count
  tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || true)
  if [[ $tag =~ ^v([0-9]+)\.([0-9]+) ]]; then major=${BASH_REMATCH[1]}; minor=${BASH_REMATCH[2]}; fi
  count=$(git rev-list --count HEAD 2>/dev/null || echo 0)
  printf '%d.%d.%d' "$major" "$minor" "$count"
}
VERSION=${MSI_VERSION:-$(msi_version)}
[[ $VERSION =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "MSI version must be x.y.z (numbers), got '$VERSION'"
maj=${BASH_REMATCH[1]} min=${BASH_REMATCH[2]} build=${BASH_REMATCH[3]}
((maj <= 255 && min <= 255 && build < 65535)) || die "MSI version $VERSION out of range (major, minor <= 255; build < 65535)"
# The upgrade row's exclusive upper bound (wixl ignores IncludeMaximum): this build + 1.
NEXT="$maj.$min.$((build + 1))"
git diff --quiet HEAD 2>/dev/null || log "warning: the work tree has uncommitted changes; the MSI is still versioned $VERSION"

# ---- the exe ------------------------------------------------------------------
[ -f "$EXE" ] || die "$EXE not found: build it with 'make windows' (make msi does that first)"
fmt=$(x86_64-w64-mingw32-objdump -f "$EXE" 2>/dev/null | sed -n 's/.*file format //p' | head -1 || true)
[ -n "$fmt" ] || fmt=$(file -b "$EXE")
case "$fmt" in
  pei-x86-64*|*PE32+*x86-64*) ;;
  *) die "$EXE is not a 64-bit Windows program ($fmt)" ;;
esac

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/dictum-msi.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
cp "$EXE" "$STAGE/dictum.exe"

SIGNED=0
sign() { # $1 in, $2 out, $3 description
  local args=(sign -pkcs12 "$SIGN_PFX" -h sha256 -n "Dictum" -in "$1" -out "$2")
  [ -n "${SIGN_PASS_FILE:-}" ] && args+=(-readpass "$SIGN_PASS_FILE")
  [ -n "${SIGN_TIMESTAMP_URL:-}" ] && args+=(-ts "$SIGN_TIMESTAMP_URL")
  osslsigncode "${args[@]}" >"$STAGE/sign.log" 2>&1 || { cat "$STAGE/sign.log" >&2; die "signing $3 failed"; }
  verify "$2" "$3"
}
verify() { # $1 file, $2 description
  local args=(verify -in "$1")
  [ -n "${SIGN_CAFILE:-}" ] && args+=(-CAfile "$SIGN_CAFILE")
  if ! osslsigncode "${args[@]}" >"$STAGE/verify.log" 2>&1; then
    cat "$STAGE/verify.log" >&2
    die "the signature of $2 does not verify${SIGN_CAFILE:+ against $SIGN_CAFILE}"
  fi
  local who
  who=$(sed -n 's/^[[:space:]]*Subject: //p' "$STAGE/verify.log" | head -1)
  log "signed $2 (SHA-256), verified: $who"
}
if [ -n "${SIGN_PFX:-}" ]; then
  command -v osslsigncode >/dev/null || die "osslsigncode is not installed (Debian package osslsigncode)"
  [ -r "$SIGN_PFX" ] || die "SIGN_PFX=$SIGN_PFX is not readable"
  [ -z "${SIGN_PASS_FILE:-}" ] || [ -r "$SIGN_PASS_FILE" ] || die "SIGN_PASS_FILE=$SIGN_PASS_FILE is not readable"
  [ -n "${SIGN_TIMESTAMP_URL:-}" ] || log "no SIGN_TIMESTAMP_URL: the signatures carry no timestamp and stop validating when the certificate expires"
  sign "$STAGE/dictum.exe" "$STAGE/dictum.signed.exe" dictum.exe
  mv "$STAGE/dictum.signed.exe" "$STAGE/dictum.exe"
  SIGNED=1
fi

# ---- the package ----------------------------------------------------------------
log "wixl: Dictum $VERSION (x64)"
# wixl finds File/@Source only relative to the working directory.
(cd "$STAGE" && wixl -a x64 -D Version="$VERSION" -D NextVersion="$NEXT" -D ExePath=dictum.exe \
  -o dictum.msi "$WXS") || die "wixl failed"

# What wixl 0.101 cannot write, set in the built database (msibuild runs SQL on it):
#  - OPEN_FIREWALL and PORT join SecureCustomProperties, so values given on the msiexec
#    command line reach the elevated part of the install (wixl lists only the upgrade
#    properties there, and a Property element of that name collides with its row);
#  - the rollback actions (wixl writes Execute="rollback" as an immediate action), each
#    sequenced just before the action it undoes: DictumInitRollback (`msi-rollback`: an
#    upgrade that fails after the data was migrated gets the pre-upgrade backup restored by
#    the old exe) and DictumFirewallAddRollback (the rule added is removed again).
#    Type 3442 = 50 (exe through a property) + 64 (ignore exit code) + 256|1024 (rollback,
#    in-script) + 2048 (no impersonation).
secure=$(msiinfo export "$STAGE/dictum.msi" Property | awk -F'\t' '$1=="SecureCustomProperties"{print $2}')
[ -n "$secure" ] || die "wixl wrote no SecureCustomProperties row"
msibuild "$STAGE/dictum.msi" \
  -q "UPDATE \`Property\` SET \`Value\` = 'OPEN_FIREWALL;PORT;$secure' WHERE \`Property\` = 'SecureCustomProperties'" \
  -q "INSERT INTO \`CustomAction\` (\`Action\`, \`Type\`, \`Source\`, \`Target\`) VALUES ('DictumInitRollback', 3442, 'DICTUMEXE', 'msi-rollback --config \"[CommonAppDataFolder]Dictum\\dictum.toml\" --log \"[CommonAppDataFolder]Dictum\\install.log\"')" \
  -q "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Condition\`, \`Sequence\`) VALUES ('DictumInitRollback', 'NOT Installed AND NOT REMOVE~=\"ALL\"', 5801)" \
  -q "INSERT INTO \`CustomAction\` (\`Action\`, \`Type\`, \`Source\`, \`Target\`) VALUES ('DictumFirewallAddRollback', 3442, 'DICTUMEXE', 'msi-firewall remove')" \
  -q "INSERT INTO \`InstallExecuteSequence\` (\`Action\`, \`Condition\`, \`Sequence\`) VALUES ('DictumFirewallAddRollback', 'OPEN_FIREWALL=\"1\" AND NOT REMOVE~=\"ALL\"', 5901)" \
  || die "msibuild could not amend the database"

if [ "$SIGNED" = 1 ]; then
  sign "$STAGE/dictum.msi" "$STAGE/dictum.signed.msi" "the MSI"
  mv "$STAGE/dictum.signed.msi" "$STAGE/dictum.msi"
fi

MSI_SIGNED=$SIGNED bash scripts/msi-check.sh "$STAGE/dictum.msi" --version "$VERSION" >&2 || die "the MSI does not have the tables it should (above)"

mkdir -p "$OUT"
DEST="$OUT/dictum-$VERSION-x64.msi"
mv "$STAGE/dictum.msi" "$DEST"
if [ "$SIGNED" = 1 ]; then
  log "wrote $DEST ($(du -h "$DEST" | cut -f1)), signed"
else
  log "wrote $DEST ($(du -h "$DEST" | cut -f1)), UNSIGNED: Windows SmartScreen will warn (\"Windows protected your PC\"); sign with make msi SIGN_PFX=cert.pfx SIGN_PASS_FILE=file"
fi
echo "$DEST"
