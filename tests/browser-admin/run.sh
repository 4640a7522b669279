#!/usr/bin/env bash
# Browser test of fcaudit's admin pages (dashboard, CA page) in headless Chromium.
# Usage: tests/browser-admin/run.sh [FCAUDIT_BIN]   (or env FCAUDIT_BIN)
# Runs admin.test.mjs in its own process group and kills that group on exit, so fcaudit and
# Chromium never outlive the test. Last line of output: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${1:-${FCAUDIT_BIN:-}}"
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "usage: $0 FCAUDIT_BIN (or set FCAUDIT_BIN)" >&2
  echo "0 passed, 1 failed"
  exit 2
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --silent --no-audit --no-fund) || { echo "0 passed, 1 failed"; exit 1; }
fi

pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM -- "-$pid" 2>/dev/null && sleep 1
    kill -KILL -- "-$pid" 2>/dev/null
  fi
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

setsid node "$here/admin.test.mjs" "$bin" &
pid=$!
wait "$pid"
exit $?
