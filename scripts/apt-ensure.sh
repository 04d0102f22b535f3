# Sourced by deps.sh and deps-windows.sh: apt_ensure PKG... installs the Debian packages
# that are missing (and npm when there is no npm: Debian's nodejs comes without it), as root;
# not as root it names them and fails. Needs a log function.
apt_ensure() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing packages: ${missing[*]} (run as root, or install them)"; return 1
  fi
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
