#!/usr/bin/env bash
# Sets up a fresh Debian machine for ttrelay: the Debian packages the demo and the tests use
# (Prosody, with lua-unbound for its resolver; ejabberd, the second XMPP server the tests run
# against; Dovecot's IMAP server and Prometheus Alertmanager, which the mail and webhook tests run as
# private instances; Request Tracker 5; systemd-analyze for the unit in contrib/), the npm
# dependencies, the build.
# Idempotent: packages already installed are not touched.
# `--demo`: only what `npm run demo` needs (Prosody and the npm dependencies), not the test servers.
set -euo pipefail
cd "$(dirname "$0")/.."

demo_only=false
case "${1:-}" in
  --demo) demo_only=true ;;
  "") ;;
  *) echo "usage: bash scripts/setup.sh [--demo]" >&2; exit 64 ;;
esac

need=()
command -v prosody >/dev/null 2>&1 || need+=(prosody)
dpkg -s lua-unbound >/dev/null 2>&1 || need+=(lua-unbound)
if ! $demo_only; then
  dpkg -s dovecot-imapd >/dev/null 2>&1 || need+=(dovecot-imapd)
  dpkg -s prometheus-alertmanager >/dev/null 2>&1 || need+=(prometheus-alertmanager)
  # systemd-analyze checks the unit in contrib/systemd (the package is not started in a container).
  command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
  [ -x /usr/sbin/ejabberdctl ] || need+=(ejabberd)
  # The tests' ejabberd keeps its message archive in SQLite (test/support/ejabberd.ts).
  dpkg -s erlang-p1-sqlite3 >/dev/null 2>&1 || need+=(erlang-p1-sqlite3)
  command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]} from Debian"
  $sudo apt-get update -qq
  # policy-rc.d keeps the packages from starting system-wide services (Prosody, ejabberd, Dovecot,
  # Alertmanager): the demo and the tests run their own private instances.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  $sudo rm -f /usr/sbin/policy-rc.d
fi

# Request Tracker 5 (SQLite, standalone server) for the ticket-system tests; one line of output.
$demo_only || bash scripts/install-rt.sh

# 20.12 or later: crypto.hash (one-shot hashing) came with it.
node_ok=$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 20 || (a === 20 && b >= 12) ? 1 : 0' 2>/dev/null || echo 0)
if [ "$node_ok" != 1 ]; then
  echo "setup: ttrelay needs Node.js 20.12 or later (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

npm ci --no-audit --no-fund --loglevel=error
npm run build --silent
echo "setup: done"
