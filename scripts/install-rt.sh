#!/usr/bin/env bash
# Installs Request Tracker 5 from Debian (request-tracker5, rt5-db-sqlite, rt5-standalone) for the
# RT integration tests, non-interactively, with an SQLite database created during the install.
#
# - Idempotent: if all three packages are installed it does nothing (and says so).
# - Works as root (CI) and via sudo otherwise.
# - No service is started: a temporary /usr/sbin/policy-rc.d answers 101 ("action forbidden") while
#   apt runs, then the previous state is restored. The tests start their own rt-server
#   (test/support/rt.ts), each on a copy of the database created here, so this install's DB stays
#   pristine and its root password does not matter (rt.ts sets its own per instance).
# - Mail: exim4 comes in as the MTA; preseeded to local delivery only. The test instances set
#   $MailCommand 'testfile', so RT never hands mail to it.
set -euo pipefail

packages=(request-tracker5 rt5-db-sqlite rt5-standalone)

installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-rt: request-tracker5 $(dpkg-query -W -f='${Version}' request-tracker5) already installed, nothing to do"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
start=$(date +%s)

# The password only protects the template DB; rt.ts resets root's password in each instance's copy.
root_password="ttrelay-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

$sudo debconf-set-selections <<EOF
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
request-tracker5 request-tracker5/initial-root-password password ${root_password}
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/handle-siteconfig-permissions boolean true
request-tracker5 request-tracker5/rtname string ttrelay.test
request-tracker5 request-tracker5/organization string ttrelay.test
request-tracker5 request-tracker5/correspondaddress string rt@ttrelay.test
request-tracker5 request-tracker5/commentaddress string rt-comment@ttrelay.test
request-tracker5 request-tracker5/webbaseurl string http://127.0.0.1
request-tracker5 request-tracker5/webpath string /rt
rt5-db-sqlite rt5-db-sqlite/available boolean true
exim4-config exim4/dc_eximconfig_configtype select local delivery only; not on a network
EOF

# Keep apt from starting services (exim4, any web server). Put back whatever policy was there.
policy=/usr/sbin/policy-rc.d
backup=""
if [ -e "$policy" ]; then
  backup=$(mktemp)
  $sudo cp -p "$policy" "$backup"
fi
restore_policy() {
  if [ -n "$backup" ]; then
    $sudo cp -p "$backup" "$policy"
    $sudo rm -f "$backup"
  else
    $sudo rm -f "$policy"
  fi
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
$sudo chmod 755 "$policy"

log=$(mktemp)
if ! {
  $sudo apt-get update -qq &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}"
} >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "install-rt: apt-get failed (full log: $log)" >&2
  exit 1
fi
rm -f "$log"

echo "install-rt: installed ${missing[*]} ($(dpkg-query -W -f='${Version}' request-tracker5), SQLite) in $(($(date +%s) - start)) s, no services started"
