#!/usr/bin/env bash
# `make test-deb`: installs the .deb in a clean Debian 12 root and walks a firm's life with it.
#   1. first install with `apt-get install ./dictum_*.deb` in a minimal debootstrap root
#      (cached tarball, scripts/deb-root.sh): Depends: must pull in every library
#   2. "boot": systemd is played by test/deb/systemctl-shim (runs the installed unit's
#      ExecStart as its User=); log in over HTTPS from the host with curl --cacert and the
#      firm CA, create an entry
#   3. upgrade to a newer build: backup taken, data kept, service back, entry still there
#   4. upgrade to a deliberately broken build (-tags dictum_brokenmigration: one migration
#      that works, then one that fails): rollback restores the pre-upgrade backup, the old
#      version's doctor passes; the old binary refuses the half-migrated schema (downgrade)
#   5. reinstall the good version over the failed one; remove (data+config kept); purge
#      (config gone, /var/lib/dictum kept)
#   plus systemd-analyze verify and security --offline=true on the installed unit.
# Needs root (chroot, mounts). The first argument may name the .deb (default: newest in dist/).
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s.%N)
CACHE="${DICTUM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dictum}"
log() { printf 'test-deb: %s\n' "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
ok() { log "ok: $*"; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
[ "$(id -u)" = 0 ] || fail "needs root (chroot and mounts)"
for t in curl python3 systemd-analyze; do command -v $t >/dev/null || fail "$t missing on the host"; done

V1_DEB=${1:-$(ls -t dist/dictum_*_amd64.deb 2>/dev/null | head -1)}
[ -f "$V1_DEB" ] || fail "no .deb: run make deb"
V1=$(dpkg-deb -f "$V1_DEB" Version)
V2="$V1+t2"
V3="$V1+t3"

work=$(mktemp -d /var/tmp/dictum-test-deb.XXXXXX)
root="$work/root"
mounted=()
cleanup() {
  rc=$?
  set +e
  if [ "$rc" != 0 ] && [ -n "${KEEP_ROOT:-}" ]; then log "KEEP_ROOT: left $work mounted"; return; fi
  [ -x "$root/usr/bin/systemctl" ] && chroot "$root" /usr/bin/systemctl stop dictum.service >/dev/null 2>&1
  for ((i=${#mounted[@]}-1; i>=0; i--)); do umount "${mounted[$i]}"; done
  for m in "${mounted[@]}"; do mountpoint -q "$m" && { log "still mounted: $m (left $work)"; return; }; done
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

# ---- the other builds: a newer one and a broken newer one --------------------------
mkdir -p "$work/debs"
log "building $V2 (same source, newer version) and $V3 (broken migration, test tag)"
DEB_VERSION="$V2" DEB_LINTIAN=0 DEB_OUT="$work/debs" bash scripts/deb-build.sh >/dev/null
DEB_VERSION="$V3" DEB_LINTIAN=0 DEB_OUT="$work/debs" DEB_EXTRA_TAGS=dictum_brokenmigration bash scripts/deb-build.sh >/dev/null
cp "$V1_DEB" "$work/debs/"
T_BUILT=$(date +%s.%N)

# ---- the clean Debian 12 root ---------------------------------------------------------
tarball=$(bash scripts/deb-root.sh)
mkdir -p "$root"
tar -xzf "$tarball" -C "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$CACHE/test-deb-apt-archives/partial"
for m in proc dev var/cache/apt/archives; do
  case $m in
    proc) mount -t proc proc "$root/proc" ;;
    dev) mount --bind /dev "$root/dev" ;;
    *) mount --bind "$CACHE/test-deb-apt-archives" "$root/$m" ;;
  esac
  mounted+=("$root/$m")
done
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 HOME=/root "$@"; }
APT=(apt-get -y -q -o Dpkg::Options::=--force-confold -o Dpkg::Use-Pty=0)
mkdir -p "$root/tmp/debs"; cp "$work/debs/"*.deb "$root/tmp/debs/"
in_root apt-get -q update >/dev/null || fail "apt-get update in the root"
for p in libssl3 libgomp1; do
  in_root dpkg-query -W -f='${Status}' $p 2>/dev/null | grep -q 'ok installed' && fail "$p is already in the clean root: it would not prove Depends:"
done

# ---- 1. first install (no systemd running) ------------------------------------------
t=$(date +%s.%N)
in_root "${APT[@]}" install "./tmp/debs/dictum_${V1}_amd64.deb" > "$work/install1.log" 2>&1 || { cat "$work/install1.log"; fail "first install"; }
INSTALL_S=$(since "$t")
# apt installs Recommends by default, as on a firm's server: most of this time is ffmpeg and
# its ~240 libraries, not dictum (whose own unpack + postinst take about a second).
NEWPKGS=$(sed -n 's/^.* \([0-9]*\) newly installed.*/\1/p' "$work/install1.log")
for want in "one-time admin password" "Firm CA certificate" "SHA-256 fingerprint" "Next steps" "systemd is not running" "/etc/dictum/initial-admin-password"; do
  grep -q "$want" "$work/install1.log" || { cat "$work/install1.log"; fail "first install output lacks '$want'"; }
done
for p in libssl3 libgomp1; do in_root dpkg-query -W -f='${Status}' $p | grep -q 'ok installed' || fail "$p not pulled in by Depends:"; done
perm() { in_root stat -c "%a %U:%G" "$1"; }
[ "$(perm /var/lib/dictum)" = "700 dictum:dictum" ] || fail "/var/lib/dictum is $(perm /var/lib/dictum)"
[ "$(perm /var/lib/dictum/master.key)" = "600 dictum:dictum" ] || fail "master.key is $(perm /var/lib/dictum/master.key)"
[ "$(perm /etc/dictum/initial-admin-password)" = "600 root:root" ] || fail "password file is $(perm /etc/dictum/initial-admin-password)"
[ "$(perm /etc/dictum/dictum.toml)" = "640 root:dictum" ] || fail "conffile is $(perm /etc/dictum/dictum.toml)"
in_root getent passwd dictum | grep -q ':/var/lib/dictum:/usr/sbin/nologin$' || fail "system user dictum"
in_root dpkg-query -W -f='${Conffiles}' dictum | grep -q /etc/dictum/dictum.toml || fail "dictum.toml is not a conffile"
sed -n '/^Dictum is installed/,/Guide:/p' "$work/install1.log" | sed 's/^/    | /' >&2
ok "first install in ${INSTALL_S}s (${NEWPKGS:-?} packages with Recommends: ffmpeg): Depends pulled libssl3/libgomp1, user, 0700 data, 0600 key, root-only password file"

# ---- 2. the admin points the listener at a test port; systemd (the shim) starts it ---
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -i "s/^listen = \":443\"/listen = \"127.0.0.1:$PORT\"/" "$root/etc/dictum/dictum.toml"
grep -q "^listen = \"127.0.0.1:$PORT\"" "$root/etc/dictum/dictum.toml" || fail "the conffile lacks the package's listen line"
# apt runs dpkg with PATH=/usr/sbin:/usr/bin:/sbin:/bin (DPkg::Path): the shim goes where systemd puts systemctl.
install -m 0755 test/deb/systemctl-shim "$root/usr/bin/systemctl"
mkdir -p "$root/run/systemd/system"
in_root systemctl start dictum.service || fail "start"
in_root dictum ready --config /etc/dictum/dictum.toml --timeout 60s >/dev/null || { tail -20 "$root/var/log/dictum.service.log"; fail "not ready"; }
HOST=$(hostname)
CA="$root/var/lib/dictum/ca/ca.crt"
BASE="https://$HOST:$PORT"
C=(curl -sS --fail-with-body --max-time 20 --cacert "$CA" --resolve "$HOST:$PORT:127.0.0.1")
PW=$(sed -n 's/^password: //p' "$root/etc/dictum/initial-admin-password")
login() {
  local body
  body=$(python3 -c 'import json,sys; print(json.dumps({"username":"admin","password":sys.argv[1]}))' "$PW")
  "${C[@]}" -c "$work/cookies" -H 'Content-Type: application/json' -d "$body" "$BASE/api/v1/session" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf_token"])'
}
CSRF=$(login) || fail "HTTPS login with the firm CA"
ENTRY=$("${C[@]}" -b "$work/cookies" -H "X-CSRF-Token: $CSRF" -H 'Content-Type: application/json' \
  -d '{"narrative":"Reviewed lease; packaged-install test"}' "$BASE/api/v1/entries" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || fail "create an entry"
has_entry() {
  local csrf; csrf=$(login) || return 1
  "${C[@]}" -b "$work/cookies" "$BASE/api/v1/entries/$ENTRY" | grep -q 'packaged-install test'
}
has_entry || fail "read the entry back"
ok "served over HTTPS (curl --cacert firm CA, $BASE), logged in, created entry $ENTRY"

# ---- 3. upgrade to a newer build ------------------------------------------------------
in_root "${APT[@]}" install "./tmp/debs/dictum_${V2}_amd64.deb" > "$work/install2.log" 2>&1 || { cat "$work/install2.log"; fail "upgrade to $V2"; }
grep -q "backing up /var/lib/dictum into /var/lib/dictum/backups/pre-upgrade-$V1" "$work/install2.log" || { cat "$work/install2.log"; fail "no pre-upgrade backup message"; }
ls "$root/var/lib/dictum/backups/pre-upgrade-$V1/"* >/dev/null 2>&1 || fail "no backup file in pre-upgrade-$V1"
grep -q "^ready: " "$work/install2.log" || { cat "$work/install2.log"; fail "postinst did not check /readyz"; }
[ "$(in_root dictum version)" = "dictum $V2" ] || fail "version after upgrade: $(in_root dictum version)"
in_root systemctl is-active dictum.service >/dev/null || fail "not running after the upgrade"
grep -q "^listen = \"127.0.0.1:$PORT\"" "$root/etc/dictum/dictum.toml" || fail "the admin's conffile edit was lost"
has_entry || fail "entry lost in the upgrade"
[ ! -e "$root/var/backups/dictum/dictum-$V1" ] || fail "the old binary copy was not cleaned up after a good upgrade"
ok "upgrade $V1 -> $V2: backup in pre-upgrade-$V1, service ready, conffile edit and entry kept"

# ---- 4. upgrade to a broken build: the migration fails, the backup comes back ----------
if in_root "${APT[@]}" install "./tmp/debs/dictum_${V3}_amd64.deb" > "$work/install3.log" 2>&1; then
  cat "$work/install3.log"; fail "the broken upgrade succeeded"
fi
for want in "UPGRADE TO $V3 FAILED: the database migration failed" "deliberately_missing_table" "restored " \
             "usable by dictum $V2 again" "apt-get install dictum=$V2" "ok    integrity" "ok    audit chain"; do
  grep -q "$want" "$work/install3.log" || { cat "$work/install3.log"; fail "failed-upgrade output lacks '$want'"; }
done
in_root dpkg-query -W -f='${Status}' dictum | grep -q half-configured || fail "dpkg state after the failed upgrade"
OLD="/var/backups/dictum/dictum-$V2"
in_root setpriv --reuid=dictum --regid=dictum --clear-groups "$OLD" doctor --config /etc/dictum/dictum.toml > "$work/doctor.log" 2>&1 \
  || { cat "$work/doctor.log"; fail "the old version's doctor on the restored data"; }
# Downgrade: on a copy, the broken binary leaves the schema one step ahead; the old binary
# must refuse it clearly and change nothing.
cp -a "$root/var/lib/dictum" "$root/var/tmp/copy"
in_root setpriv --reuid=dictum --regid=dictum --clear-groups dictum migrate --config /etc/dictum/dictum.toml --data /var/tmp/copy >/dev/null 2>&1 \
  && fail "the broken migration succeeded on the copy"
set +e
in_root setpriv --reuid=dictum --regid=dictum --clear-groups "$OLD" migrate --config /etc/dictum/dictum.toml --data /var/tmp/copy > "$work/downgrade.log" 2>&1
rc=$?
set -e
[ $rc = 3 ] && grep -q "newer than this dictum" "$work/downgrade.log" && grep -q "nothing was changed" "$work/downgrade.log" \
  || { cat "$work/downgrade.log"; fail "the old binary did not refuse the newer schema (exit $rc)"; }
rm -rf "$root/var/tmp/copy"
grep '^dictum: ' "$work/install3.log" | sed -n '/UPGRADE TO/,$p' | sed 's/^/    | /' >&2
ok "broken upgrade to $V3 rolled back: backup restored by dictum $V2, its doctor passes; downgrade refused (exit 3)"

# ---- 5. back to the good version; remove; purge ----------------------------------------
in_root "${APT[@]}" install --allow-downgrades "./tmp/debs/dictum_${V2}_amd64.deb" > "$work/install4.log" 2>&1 || { cat "$work/install4.log"; fail "reinstall $V2 after the failed upgrade"; }
grep -q "no new backup: the last upgrade failed" "$work/install4.log" || { cat "$work/install4.log"; fail "reinstall: no mention of the restored data"; }
in_root systemctl is-active dictum.service >/dev/null || fail "not running after going back to $V2"
has_entry || fail "entry lost after the rollback"
ok "reinstalled $V2 over the failed $V3: running, entry $ENTRY intact"

# systemd's own checks, on the unit as installed
unit="$root/lib/systemd/system/dictum.service"
# verify runs with the host's systemd (the root has none, so no sysinit.target there): on a
# copy of the installed unit whose ExecStart names the installed binary inside the root.
mkdir -p "$work/unit"
sed "s#^ExecStart=/usr/bin/dictum #ExecStart=$root/usr/bin/dictum #" "$unit" > "$work/unit/dictum.service"
cmp -s <(sed '/^ExecStart=/d' "$unit") <(sed '/^ExecStart=/d' "$work/unit/dictum.service") || fail "unit copy differs beyond ExecStart"
systemd-analyze verify "$work/unit/dictum.service" > "$work/verify.log" 2>&1 || { cat "$work/verify.log"; fail "systemd-analyze verify"; }
[ -s "$work/verify.log" ] && { cat "$work/verify.log"; fail "systemd-analyze verify printed warnings"; }
EXPOSURE=$(systemd-analyze security --offline=true "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
[ -n "$EXPOSURE" ] || fail "no exposure from systemd-analyze security"
awk -v e="$EXPOSURE" 'BEGIN{exit !(e <= 2.0)}' || fail "exposure $EXPOSURE > 2.0"
ok "systemd-analyze verify clean; security --offline=true exposure $EXPOSURE"

in_root "${APT[@]}" remove dictum > "$work/remove.log" 2>&1 || { cat "$work/remove.log"; fail "remove"; }
grep -q "Kept: the configuration in /etc/dictum and the data in /var/lib/dictum" "$work/remove.log" || { cat "$work/remove.log"; fail "remove message"; }
[ -f "$root/etc/dictum/dictum.toml" ] && [ -f "$root/var/lib/dictum/dictum.db" ] || fail "remove deleted config or data"
in_root systemctl is-active dictum.service >/dev/null 2>&1 && fail "still running after remove"
in_root "${APT[@]}" purge dictum > "$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "purge"; }
grep -q "NEVER deleted by the package manager" "$work/purge.log" || { cat "$work/purge.log"; fail "purge message"; }
[ ! -e "$root/etc/dictum/dictum.toml" ] && [ ! -e "$root/etc/dictum/initial-admin-password" ] || fail "purge left the config"
for f in dictum.db master.key ca/ca.crt "backups/pre-upgrade-$V1"; do
  [ -e "$root/var/lib/dictum/$f" ] || fail "purge deleted /var/lib/dictum/$f"
done
ok "remove kept data+config; purge removed the config and kept /var/lib/dictum (db, key, CA, backups)"

log "PASS in $(since "$T0")s (builds $(awk -v a="$T0" -v b="$T_BUILT" 'BEGIN{printf "%.0f", b-a}')s); .deb $(du -h "$V1_DEB" | cut -f1) ($(stat -c %s "$V1_DEB") bytes), first install ${INSTALL_S}s, exposure $EXPOSURE"
