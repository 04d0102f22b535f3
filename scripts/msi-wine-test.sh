#!/usr/bin/env bash
# scripts/msi-wine-test.sh MSI [--no-data]: installs, reinstalls and uninstalls a Dictum MSI
# with Debian's wine64 (msiexec) in a throwaway WINEPREFIX and checks what Windows
# Installer did: the exe in Program Files, the service's registry entry (automatic,
# LocalSystem, the serve command line), the data dir made by `dictum msi-init` with the
# password file, the install log, the data kept by an uninstall and reused by a reinstall.
# --no-data skips the data checks (for an exe that does not run `init` under wine).
# UPGRADE_MSI=newer.msi UPGRADE_EXE_VERSION=<its dictum version>: also upgrades in place to it
# (exe replaced, data and service kept, one product left) and checks a downgrade is refused.
#
# What wine cannot show (test those on a real Windows): UAC and SmartScreen, the ACLs of
# %ProgramData%\Dictum, the final message box, the quoting of the service's ImagePath
# (wine writes it unquoted; Windows quotes it), and the pre-upgrade backup: wine's
# RemoveExistingProducts runs the old package's removal without UPGRADINGPRODUCTCODE, so
# the old package takes it for a plain uninstall.
set -euo pipefail
MSI=${1:?usage: msi-wine-test.sh MSI [--no-data]}
DATA_CHECKS=1
[ "${2:-}" = --no-data ] && DATA_CHECKS=0
MSI=$(realpath "$MSI")
WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -x "$WINE" ] || { echo "msi-wine-test: wine64 is not installed" >&2; exit 1; }
export WINEPREFIX
WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/dictum-wine.XXXXXX")
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
WINESERVER=$(command -v wineserver || echo "$(dirname "$WINE")/wineserver")
cleanup() { "$WINESERVER" -k 2>/dev/null || true; rm -rf "$WINEPREFIX"; }
trap cleanup EXIT
[ -n "${MSI_WINE_KEEP:-}" ] && trap - EXIT
C=$WINEPREFIX/drive_c
WMSI="Z:${MSI//\//\\}"
fails=0
ok() { echo "msi-wine-test: ok: $*"; }
bad() { echo "msi-wine-test: FAIL: $*" >&2; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
msiexec() { # args...; prints the exit status
  local rc=0
  timeout 300 "$WINE" msiexec "$@" >/dev/null 2>&1 || rc=$?
  timeout 300 "$WINESERVER" -w # the service and custom actions it started
  echo "$rc"
}
svc() { # the service's registry values; nothing (and failure) when it is not registered
  local out
  out=$("$WINE" reg query 'HKLM\System\CurrentControlSet\Services\Dictum' 2>/dev/null) || return 1
  tr -d '\r' <<<"$out"
}

echo "msi-wine-test: preparing a wine prefix in $WINEPREFIX"
timeout 300 "$WINE" wineboot -i >/dev/null 2>&1 || { echo "msi-wine-test: wineboot failed" >&2; exit 1; }
timeout 300 "$WINESERVER" -w # wineboot returns before the prefix is fully set up
# wine 8.0 lacks bcryptprimitives.dll, which Go's runtime needs: the test-only shim (see
# test/windows/bcryptprimitives-shim.c), never part of the MSI.
x86_64-w64-mingw32-gcc -O2 -shared -o "$C/windows/system32/bcryptprimitives.dll" \
  "$(dirname "$0")/../test/windows/bcryptprimitives-shim.c" "$(dirname "$0")/../test/windows/bcryptprimitives-shim.def" -ladvapi32 \
  || { echo "msi-wine-test: cannot build the bcryptprimitives shim" >&2; exit 1; }

# ---- install ---------------------------------------------------------------------------
# Wine's ServiceInstall writes the service's ImagePath unquoted (Windows quotes it), so with
# the default C:\Program Files\Dictum wine's SCM would try to run C:\Program: the first install
# goes to a folder without a space (INSTALLDIR is public), and the service then really starts.
# Wine's msiexec also forgets that folder at uninstall (Windows finds it through the
# component's registered key path), so every call below names it.
DIR='INSTALLDIR=C:\Dictum\'
rc=$(msiexec /i "$WMSI" /qn /l*v 'C:\install-1.log' OPEN_FIREWALL=1 "$DIR")
check "install exits 0 (got $rc)" '[ "$rc" = 0 ]'
exe="$C/Dictum/dictum.exe"
check "dictum.exe in INSTALLDIR (C:\\Dictum)" '[ -f "$exe" ]'
x=$(mktemp -d); (cd "$x" && msiextract "$MSI" >/dev/null)
check "the installed exe is the packaged one" 'cmp -s "$exe" "$(find "$x" -iname dictum.exe | head -1)"'
rm -rf "$x"
s=$(svc) || s=""
check "service Dictum registered" '[ -n "$s" ]'
check "service start: automatic" 'grep -Eq "Start +REG_DWORD +0x2$" <<<"$s"'
check "service type: own process" 'grep -Eq "Type +REG_DWORD +0x10$" <<<"$s"'
check "service account: LocalSystem" 'grep -Eq "ObjectName +REG_SZ +LocalSystem$" <<<"$s"'
check "service command line" 'grep -Fq "dictum.exe serve --config \"C:\\ProgramData\\Dictum\\dictum.toml\"" <<<"$s"'
check "service display name" 'grep -Fq "Dictum dictation server" <<<"$s"'
data="$C/ProgramData/Dictum"
if [ "$DATA_CHECKS" = 1 ]; then
  check "msi-init made the database" '[ -f "$data/dictum.db" ]'
  check "msi-init made the master key" '[ -f "$data/master.key" ]'
  check "the one-time password file exists" '[ -s "$data/initial-admin-password.txt" ]'
  check "install.log records msi-init" 'grep -q "msi-init" "$data/install.log"'
  check "the default dictum.toml was written" '[ -f "$data/dictum.toml" ]'
  check "dictum.toml pins data_dir and serves HTTPS on :443" 'grep -Fq "data_dir = '"'"'C:\ProgramData\Dictum'"'"'" "$data/dictum.toml" && grep -q "^listen = \":443\"" "$data/dictum.toml"'
  # StartServices waited for Running, which dictum reports once its listener is up.
  check "the service started by the MSI served HTTPS from the installed data" 'grep -q "\"msg\":\"dictum serving\".*\"url\":\"https://" "$data/logs/dictum.log"'
fi

# ---- uninstall keeps the data; a reinstall reuses it --------------------------------------
mkdir -p "$data"
echo keep >"$data/kept-by-uninstall"
rc=$(msiexec /x "$WMSI" /qn /l*v 'C:\uninstall.log' "$DIR")
check "uninstall exits 0 (got $rc)" '[ "$rc" = 0 ]'
check "dictum.exe removed" '[ ! -e "$exe" ]'
check "service removed" '! svc >/dev/null'
check "the data dir is kept" '[ -f "$data/kept-by-uninstall" ]'
if [ "$DATA_CHECKS" = 1 ]; then
  check "the database is kept" '[ -f "$data/dictum.db" ]'
  key=$(sha256sum "$data/master.key" | cut -d' ' -f1)
  rm -f "$data/initial-admin-password.txt"
  rc=$(msiexec /i "$WMSI" /qn /l*v 'C:\install-2.log' "$DIR")
  check "reinstall over kept data exits 0 (got $rc)" '[ "$rc" = 0 ]'
  check "reinstall kept the master key" '[ "$(sha256sum "$data/master.key" | cut -d" " -f1)" = "$key" ]'
  check "reinstall made no new admin password" '[ ! -e "$data/initial-admin-password.txt" ]'
  check "install.log records the kept data" 'grep -q "holds existing data" "$data/install.log"'
  last="$WMSI"
  if [ -n "${UPGRADE_MSI:-}" ]; then
    # ---- upgrade in place to a newer build, then a refused downgrade ---------------------
    UP=$(realpath "$UPGRADE_MSI"); WUP="Z:${UP//\//\\}"
    rc=$(msiexec /i "$WUP" /qn /l*v 'C:\upgrade.log' "$DIR")
    check "upgrade to the newer MSI exits 0 (got $rc)" '[ "$rc" = 0 ]'
    x=$(mktemp -d); (cd "$x" && msiextract "$UPGRADE_MSI" >/dev/null)
    check "the upgrade replaced dictum.exe with the newer one" 'cmp -s "$exe" "$(find "$x" -iname dictum.exe | head -1)"'
    rm -rf "$x"
    check "the upgraded exe is ${UPGRADE_EXE_VERSION:-?}" '"$WINE" "$exe" version 2>/dev/null | tr -d "\r" | grep -qx "dictum ${UPGRADE_EXE_VERSION:-?}"'
    check "the upgrade kept the master key" '[ "$(sha256sum "$data/master.key" | cut -d" " -f1)" = "$key" ]'
    check "the upgrade kept the service" 'svc >/dev/null'
    check "only one Dictum product is installed after the upgrade" '[ "$("$WINE" reg query "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Uninstall" /s 2>/dev/null | tr -d "\r" | grep -c "DisplayName.*REG_SZ.*Dictum")" = 1 ]'
    rc=$(msiexec /i "$WMSI" /qn /l*v 'C:\downgrade.log' "$DIR")
    check "a downgrade to the older MSI is refused (got $rc)" '[ "$rc" != 0 ]'
    check "the refused downgrade left the newer exe" '"$WINE" "$exe" version 2>/dev/null | tr -d "\r" | grep -qx "dictum ${UPGRADE_EXE_VERSION:-?}"'
    last="$WUP"
  fi
  rc=$(msiexec /x "$last" /qn "$DIR")
  check "second uninstall exits 0 (got $rc)" '[ "$rc" = 0 ]'
fi

if [ "$fails" -gt 0 ]; then
  echo "msi-wine-test: $fails check(s) FAILED (installer logs were in $WINEPREFIX/drive_c)" >&2
  exit 1
fi
echo "msi-wine-test: $MSI: install, uninstall$([ "$DATA_CHECKS" = 1 ] && echo ', reinstall over kept data')${UPGRADE_MSI:+, upgrade in place to $UPGRADE_MSI and a refused downgrade} passed under wine"
