#!/usr/bin/env bash
# scripts/msi-check.sh MSI [--version x.y.z]: checks that a Dictum MSI holds the tables
# packaging/windows/dictum.wxs means it to (read back with msitools' msiinfo and
# msiextract, not taken from the source), and fails loudly on the first difference:
#   summary (x64, per-machine, Windows Installer 5), properties, File/Component/Directory,
#   the exe inside the cabinet, ServiceInstall, ServiceControl, CustomAction and both
#   sequences (rows, conditions and order), Upgrade and the downgrade launch condition,
#   and that nothing is installed under CommonAppDataFolder (uninstall keeps the data).
# MSI_SIGNED=1: the MSI must carry an Authenticode signature (osslsigncode verified it).
set -euo pipefail
MSI=${1:?usage: msi-check.sh MSI [--version x.y.z]}
shift
WANT_VERSION=""
while [ $# -gt 0 ]; do
  case "$1" in
    --version) WANT_VERSION=${2:?}; shift 2 ;;
    *) echo "msi-check: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$MSI" ] || { echo "msi-check: $MSI not found" >&2; exit 1; }
MSI=$(realpath "$MSI")
UPGRADE_CODE='{14156587-73E1-407C-8D5E-63B82C4FCB08}'
CDATA='[CommonAppDataFolder]Dictum'

fails=0 checks=0
ok() { checks=$((checks + 1)); }
bad() { echo "msi-check: FAIL: $*" >&2; fails=$((fails + 1)); }
expect() { # description, got, want
  if [ "$2" == "$3" ]; then ok; else bad "$1: got [$2], want [$3]"; fi
}
contains() { # description, haystack, needle
  if [[ $2 == *"$3"* ]]; then ok; else bad "$1: [$2] lacks [$3]"; fi
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/msi-check.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
tables=$(msiinfo tables "$MSI") || { echo "msi-check: msiinfo cannot read $MSI" >&2; exit 1; }
rows() { # the data rows of a table, tab-separated (msiinfo export prints 3 header lines)
  if grep -qx "$1" <<<"$tables"; then msiinfo export "$MSI" "$1" | tail -n +4 | tr -d '\r'; fi
}
col() { # table key-column-value wanted-column-number: one field of the row whose first column is key
  rows "$1" | awk -F'\t' -v k="$2" -v c="$3" '$1==k{print $c; exit}'
}
for t in File Component Directory Feature FeatureComponents ServiceInstall ServiceControl CustomAction \
  InstallExecuteSequence InstallUISequence Upgrade LaunchCondition Property Media; do
  grep -qx "$t" <<<"$tables" && ok || bad "no $t table"
done

# ---- summary information ------------------------------------------------------------
sum=$(msiinfo suminfo "$MSI")
expect "summary Template (platform;language)" "$(sed -n 's/^Template: //p' <<<"$sum")" "x64;1033"
ver=$(sed -n 's/^Version: \([0-9]*\).*/\1/p' <<<"$sum")
[ "${ver:-0}" -ge 200 ] && ok || bad "summary Version (minimum Windows Installer) is ${ver:-none}, x64 packages need >= 200"
src=$(sed -n 's/^Source: \([0-9]*\).*/\1/p' <<<"$sum")
(( (src & 8) == 0 )) && ok || bad "summary Source $src has the 'no elevation' bit (a per-user package)"
(( (src & 2) == 2 )) && ok || bad "summary Source $src: files not compressed into the cabinet"

# ---- properties ----------------------------------------------------------------------
prop() { col Property "$1" 2; }
expect "ProductName" "$(prop ProductName)" "Dictum"
expect "UpgradeCode (must never change)" "$(prop UpgradeCode)" "$UPGRADE_CODE"
expect "ALLUSERS (per-machine)" "$(prop ALLUSERS)" "1"
expect "PORT default" "$(prop PORT)" "443"
expect "OPEN_FIREWALL default (unset: the firewall is opened only when asked)" "$(prop OPEN_FIREWALL)" ""
version=$(prop ProductVersion)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && ok || bad "ProductVersion [$version] is not x.y.z"
[ -z "$WANT_VERSION" ] || expect "ProductVersion" "$version" "$WANT_VERSION"
[[ $(prop ProductCode) =~ ^\{[0-9A-F-]{36}\}$ ]] && ok || bad "ProductCode [$(prop ProductCode)]"
secure=";$(prop SecureCustomProperties);"
for p in OPEN_FIREWALL PORT WIX_UPGRADE_DETECTED WIX_DOWNGRADE_DETECTED; do
  contains "SecureCustomProperties" "$secure" ";$p;"
done

# ---- files, components, directories ---------------------------------------------------
expect "File dictum.exe: component" "$(col File dictum.exe 2)" "DictumExe"
expect "File dictum.exe: name" "$(col File dictum.exe 3)" "dictum.exe"
expect "File rows" "$(rows File | wc -l | tr -d ' ')" "1"
expect "Component DictumExe: directory" "$(col Component DictumExe 3)" "INSTALLDIR"
expect "Component DictumExe: key path" "$(col Component DictumExe 6)" "dictum.exe"
cattr=$(col Component DictumExe 4)
(( (${cattr:-0} & 256) == 256 )) && ok || bad "Component DictumExe attributes ${cattr:-none}: not marked 64-bit (256)"
(( (${cattr:-0} & 16) == 0 )) && ok || bad "Component DictumExe is permanent (16): uninstall would leave the exe"
expect "Directory INSTALLDIR: parent" "$(col Directory INSTALLDIR 2)" "ProgramFiles64Folder"
expect "Directory INSTALLDIR: name" "$(col Directory INSTALLDIR 3)" "Dictum"
expect "FeatureComponents" "$(rows FeatureComponents | cut -f2 | sort | tr '\n' ' ')" "DictumExe "
# Nothing under CommonAppDataFolder: no component, folder or file row the uninstall would
# remove from %ProgramData%\Dictum.
under_cdata() { # directory id -> 0 if it is CommonAppDataFolder or below it
  local d=$1 n=0
  while [ -n "$d" ] && [ $n -lt 50 ]; do
    [ "$d" = CommonAppDataFolder ] && return 0
    d=$(col Directory "$d" 2); n=$((n + 1))
  done
  return 1
}
while IFS=$'\t' read -r comp _ dir _; do
  [ -n "$comp" ] || continue
  under_cdata "$dir" && bad "Component $comp is in CommonAppDataFolder ($dir): uninstall would remove data" || ok
done < <(rows Component)
for t in CreateFolder RemoveFile; do
  while IFS=$'\t' read -r a b c d _; do
    [ -n "$a" ] || continue
    { under_cdata "$a" || under_cdata "$d"; } && bad "$t row [$a $b $c $d] under CommonAppDataFolder" || ok
  done < <(rows "$t")
done

# The exe inside the cabinet: a 64-bit Windows program, where the tables say.
(cd "$TMP" && msiextract "$MSI" >/dev/null 2>&1) || bad "msiextract cannot unpack the cabinet"
exe=$(find "$TMP" -iname dictum.exe | head -1)
if [ -z "$exe" ]; then bad "no dictum.exe in the cabinet"; else
  contains "dictum.exe path in the cabinet" "$exe" "/Dictum/dictum.exe"
  head -c 2 "$exe" | grep -q MZ && ok || bad "dictum.exe is not a PE file"
  expect "File dictum.exe: size" "$(col File dictum.exe 4)" "$(stat -c %s "$exe")"
fi

# ---- the service -------------------------------------------------------------------------
si() { col ServiceInstall DictumService "$1"; }
expect "ServiceInstall Name" "$(si 2)" "Dictum"
expect "ServiceInstall DisplayName" "$(si 3)" "Dictum dictation server"
expect "ServiceInstall ServiceType (own process)" "$(si 4)" "16"
expect "ServiceInstall StartType (automatic)" "$(si 5)" "2"
expect "ServiceInstall ErrorControl (normal)" "$(si 6)" "1"
expect "ServiceInstall StartName" "$(si 9)" "LocalSystem"
expect "ServiceInstall Password (none for LocalSystem)" "$(si 10)" ""
expect "ServiceInstall Arguments" "$(si 11)" "serve --config \"$CDATA\\dictum.toml\""
expect "ServiceInstall Component" "$(si 12)" "DictumExe"
[ -n "$(si 13)" ] && ok || bad "ServiceInstall has no Description"
expect "ServiceControl rows" "$(rows ServiceControl | wc -l | tr -d ' ')" "1"
expect "ServiceControl Name" "$(col ServiceControl DictumServiceControl 2)" "Dictum"
ev=$(col ServiceControl DictumServiceControl 3)
for bit in "1:start on install" "2:stop on install (upgrade, repair)" "32:stop on uninstall" "128:remove on uninstall"; do
  b=${bit%%:*}
  (( (${ev:-0} & b) == b )) && ok || bad "ServiceControl Event ${ev:-none}: no '${bit#*:}' ($b)"
done
(( (${ev:-0} & 16) == 0 )) && ok || bad "ServiceControl Event $ev starts the service on uninstall (16)"
expect "ServiceControl Wait" "$(col ServiceControl DictumServiceControl 5)" "1"
expect "ServiceControl Component" "$(col ServiceControl DictumServiceControl 6)" "DictumExe"

# ---- custom actions ---------------------------------------------------------------------
# Types: 50 = run the exe named by a property; +64 ignore the exit code; +1024 deferred;
# +256|1024 rollback; +2048 no impersonation (LocalSystem); 51 = set a property.
ca() { # id type source target-substring...
  local id=$1 type=$2 source=$3; shift 3
  expect "CustomAction $id type" "$(col CustomAction "$id" 2)" "$type"
  expect "CustomAction $id source" "$(col CustomAction "$id" 3)" "$source"
  local t; t=$(col CustomAction "$id" 4)
  for s in "$@"; do contains "CustomAction $id command" "$t" "$s"; done
}
ca SetDictumExe 51 DICTUMEXE "[INSTALLDIR]dictum.exe"
ca DictumInit 3122 DICTUMEXE "msi-init --config \"$CDATA\\dictum.toml\"" "--admin-password-out \"$CDATA\\initial-admin-password.txt\""
ca DictumPreUpgradeBackup 3122 DICTUMEXE "msi-backup --config \"$CDATA\\dictum.toml\"" "--to \"$CDATA\\backups\\pre-upgrade-[ProductVersion]\""
ca DictumFirewallAdd 3122 DICTUMEXE "msi-firewall add --port [PORT]"
ca DictumInitRollback 3442 DICTUMEXE "msi-rollback --config \"$CDATA\\dictum.toml\""
ca DictumFirewallAddRollback 3442 DICTUMEXE "msi-firewall remove"
ca DictumFirewallRemove 3186 DICTUMEXE "msi-firewall remove"
ca DictumFinish 114 DICTUMEXE "msi-finish --data \"$CDATA\"" "--ui-level [UILevel]"

# ---- sequences: conditions and order ------------------------------------------------------
seq() { col "$1" "$2" 3; }
cond() { col "$1" "$2" 2; }
before() { # table a b: a runs before b
  local sa sb; sa=$(seq "$1" "$2"); sb=$(seq "$1" "$3")
  if [ -z "$sa" ] || [ -z "$sb" ]; then bad "$1: $2 (${sa:-missing}) or $3 (${sb:-missing}) not sequenced"; return; fi
  (( sa < sb )) && ok || bad "$1: $2 ($sa) must run before $3 ($sb)"
}
X=InstallExecuteSequence U=InstallUISequence
expect "$X DictumInit condition" "$(cond $X DictumInit)" 'NOT Installed AND NOT REMOVE~="ALL"'
expect "$X DictumPreUpgradeBackup condition" "$(cond $X DictumPreUpgradeBackup)" 'UPGRADINGPRODUCTCODE AND REMOVE~="ALL"'
expect "$X DictumInitRollback condition" "$(cond $X DictumInitRollback)" 'NOT Installed AND NOT REMOVE~="ALL"'
expect "$X DictumFirewallRemove condition" "$(cond $X DictumFirewallRemove)" 'REMOVE~="ALL" AND NOT UPGRADINGPRODUCTCODE'
expect "$X DictumFirewallAdd condition" "$(cond $X DictumFirewallAdd)" 'OPEN_FIREWALL="1" AND NOT REMOVE~="ALL"'
expect "$X DictumFirewallAddRollback condition" "$(cond $X DictumFirewallAddRollback)" 'OPEN_FIREWALL="1" AND NOT REMOVE~="ALL"'
expect "$X SetDictumExe condition" "$(cond $X SetDictumExe)" ''
expect "$U DictumFinish condition" "$(cond $U DictumFinish)" 'NOT Installed AND NOT REMOVE~="ALL"'
before $X FindRelatedProducts LaunchConditions
before $X CostFinalize SetDictumExe
before $X InstallValidate InstallInitialize
before $X InstallInitialize RemoveExistingProducts # the old version's removal is in the transaction
before $X RemoveExistingProducts ProcessComponents
before $X SetDictumExe DictumPreUpgradeBackup
before $X StopServices DictumPreUpgradeBackup     # the old version backs up a stopped service
before $X DictumPreUpgradeBackup DeleteServices
before $X DictumPreUpgradeBackup RemoveFiles      # ... with its own exe, still there
before $X DictumFirewallRemove RemoveFiles
before $X InstallFiles DictumInit
before $X InstallServices DictumInit
before $X InstallFiles DictumInitRollback
before $X DictumInitRollback DictumInit          # a rollback action precedes what it undoes
before $X DictumInit StartServices                 # data and config exist before the service starts
before $X StartServices DictumFirewallAddRollback
before $X DictumFirewallAddRollback DictumFirewallAdd
before $X DictumFirewallAdd InstallFinalize
before $U CostFinalize SetDictumExe
before $U SetDictumExe DictumFinish
before $U ExecuteAction DictumFinish                # after the install succeeded
expect "$U actions other than the standard ones" "$(rows $U | cut -f1 | grep '^Dictum\|^SetDictum' | sort | tr '\n' ' ')" "DictumFinish SetDictumExe "

# ---- upgrades -------------------------------------------------------------------------
up=$(rows Upgrade)
expect "Upgrade rows" "$(wc -l <<<"$up" | tr -d ' ')" "2"
IFS=. read -r vma vmi vb <<<"$version"
next="$vma.$vmi.$((vb + 1))"
urow=$(awk -F'\t' '$7=="WIX_UPGRADE_DETECTED"' <<<"$up")
drow=$(awk -F'\t' '$7=="WIX_DOWNGRADE_DETECTED"' <<<"$up")
expect "Upgrade (older versions, this one included)" "$(cut -f1,2,3,5 <<<"$urow")" "$UPGRADE_CODE	0.0.0	$next	256"
expect "Upgrade (newer versions: detect only)" "$(cut -f1,2,3,5 <<<"$drow")" "$UPGRADE_CODE	$version		2"
ldown=$(rows LaunchCondition | awk -F'\t' '$1=="NOT WIX_DOWNGRADE_DETECTED"{print $2}')
contains "downgrade refused with a message" "$ldown" "A newer version of Dictum is already installed"
contains "64-bit Windows required" "$(rows LaunchCondition | cut -f1 | tr '\n' ' ')" "VersionNT64"

# ---- signature -----------------------------------------------------------------------
if msiinfo streams "$MSI" | grep -q 'DigitalSignature'; then
  if [ "${MSI_SIGNED:-0}" = 1 ]; then ok; else echo "msi-check: note: $MSI is signed" >&2; fi
elif [ "${MSI_SIGNED:-0}" = 1 ]; then
  bad "MSI_SIGNED=1 but the MSI has no DigitalSignature stream"
else
  echo "msi-check: note: $MSI is not signed" >&2
fi

if [ "$fails" -gt 0 ]; then
  echo "msi-check: $MSI: $fails of $((checks + fails)) checks FAILED" >&2
  exit 1
fi
echo "msi-check: $MSI: all $checks checks passed (Dictum $version x64, per-machine)"
