#!/usr/bin/env bash
# Installs Debian's chromium when it is missing. Used by the console's browser end-to-end test (playwright-core
# drives it); Playwright's own browser download fetches from outside the package registries, so it is never used.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing: install it (Debian: apt-get install -y chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Test files run in parallel: another one may be installing nginx at the same moment, so wait for apt's locks.
apt() {
  for _ in $(seq 1 24); do
    if apt-get -o DPkg::Lock::Timeout=10 "$@"; then return 0; fi
    sleep 5
  done
  return 1
}
apt update -qq
apt install -y -qq --no-install-recommends chromium >/dev/null
