#!/usr/bin/env bash
# Installs the Debian packages Flowplane and its tests need. Idempotent: a package already
# present is skipped, `apt-get update` runs at most once (and only if something is missing).
# Prints one line per package installed; exits non-zero with one clear line if apt fails.
set -uo pipefail

# wrk and apache2-utils (ab): clients of the HTTP-heavy benchmark capture (bench/make-capture.mjs).
PACKAGES=(
  tshark tcpdump libpcap-dev softflowd tcpreplay chromium
  dnsutils curl redis-tools postgresql-client mariadb-client
  iptables wrk apache2-utils
)
# `--runtime` (npm start): only what the running product needs (the live-capture binding's libpcap).
if [ "${1:-}" = "--runtime" ]; then
  PACKAGES=(libpcap-dev)
fi

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-system: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp -t flowplane-apt.XXXXXX)"
trap 'rm -f "$log"' EXIT

# tshark asks whether non-root users may capture; answer it before apt asks.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections >/dev/null 2>&1 || true

if ! $SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >"$log" 2>&1; then
  echo "install-system: apt-get update failed (last lines follow)" >&2
  tail -n 5 "$log" >&2
  exit 1
fi

for pkg in "${missing[@]}"; do
  if $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "$pkg" >"$log" 2>&1; then
    echo "install-system: installed $pkg"
  else
    echo "install-system: apt-get install $pkg failed (last lines follow)" >&2
    tail -n 5 "$log" >&2
    exit 1
  fi
done
