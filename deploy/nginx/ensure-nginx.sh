#!/usr/bin/env bash
# Installs Debian's nginx (with the auth_request module) when it is missing. Used by the end-to-end tests.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "nginx is missing: install it (Debian/Ubuntu: apt-get install -y nginx)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Test files run in parallel: another one may be installing chromium at the same moment, so wait for apt's locks.
apt() {
  for _ in $(seq 1 24); do
    if apt-get -o DPkg::Lock::Timeout=10 "$@"; then return 0; fi
    sleep 5
  done
  return 1
}
apt update -qq
# policy-rc.d may refuse to start the service; we only need the binary.
apt install -y -qq --no-install-recommends nginx >/dev/null
