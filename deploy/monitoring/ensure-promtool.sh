#!/usr/bin/env bash
# Installs promtool (from Debian's prometheus package) when it is missing. Used by the monitoring tests,
# which check the product's /metrics and the shipped alert rules with it.
exec "$(dirname "$0")/../ensure-debian-package.sh" promtool prometheus
