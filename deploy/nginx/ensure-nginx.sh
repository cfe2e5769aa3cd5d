#!/usr/bin/env bash
# Installs Debian's nginx (with the auth_request module) when it is missing. Used by the end-to-end tests.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "nginx is missing: install it (Debian/Ubuntu: apt-get install -y nginx)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d may refuse to start the service; we only need the binary.
apt-get install -y -qq --no-install-recommends nginx >/dev/null
