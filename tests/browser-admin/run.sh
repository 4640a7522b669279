#!/usr/bin/env bash
# Browser test of fcaudit's admin pages (dashboard, CA page) in headless Chromium.
# Usage: tests/browser-admin/run.sh [FCAUDIT_BIN]   (or env FCAUDIT_BIN)
# Last line of output: "N passed, N failed".
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../support/run-node-group.sh" "$here" admin.test.mjs "$@"
