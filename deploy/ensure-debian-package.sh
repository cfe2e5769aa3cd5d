#!/usr/bin/env bash
# ensure-debian-package.sh COMMAND PACKAGE: installs Debian's PACKAGE with apt-get when COMMAND is not on the
# PATH (nor in /usr/bin or /usr/sbin). Only the binary is needed: a service the package would start is not.
# The end-to-end tests run in parallel and may install two packages at once, so apt's locks are waited for.
set -euo pipefail
command=$1
package=$2
if command -v "$command" >/dev/null 2>&1 || [ -x "/usr/bin/$command" ] || [ -x "/usr/sbin/$command" ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "$command is missing: install it (Debian/Ubuntu: apt-get install -y $package)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt() {
  for _ in $(seq 1 24); do
    if apt-get -o DPkg::Lock::Timeout=10 "$@"; then return 0; fi
    sleep 5
  done
  return 1
}
apt update -qq
apt install -y -qq --no-install-recommends "$package" >/dev/null
