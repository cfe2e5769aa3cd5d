#!/usr/bin/env bash
# Installs promtool (from Debian's prometheus package) when it is missing. Used by the monitoring tests,
# which check the product's /metrics and the shipped alert rules with it.
set -euo pipefail
if command -v promtool >/dev/null 2>&1 || [ -x /usr/bin/promtool ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "promtool is missing: install it (Debian/Ubuntu: apt-get install -y prometheus)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d may refuse to start the service; we only need the promtool binary.
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
