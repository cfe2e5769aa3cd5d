#!/usr/bin/env bash
# Installs Debian's nginx (with the auth_request module) when it is missing. Used by the end-to-end tests.
exec "$(dirname "$0")/../ensure-debian-package.sh" nginx nginx
