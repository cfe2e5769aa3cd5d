#!/usr/bin/env bash
# Installs Debian's chromium when it is missing. Used by the console's browser end-to-end test (playwright-core
# drives it); Playwright's own browser download fetches from outside the package registries, so it is never used.
exec "$(dirname "$0")/../ensure-debian-package.sh" chromium chromium
