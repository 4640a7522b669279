#!/usr/bin/env bash
# Runs a browser-test script with Node in its own process group and kills that group on exit,
# whatever happens, so fcaudit, nginx and Chromium never outlive the test. Installs the
# directory's npm lockfile first when needed. The script prints "N passed, N failed" last.
# Usage: run-node-group.sh DIR SCRIPT.mjs FCAUDIT_BIN   (FCAUDIT_BIN may come from the env)
set -uo pipefail
dir="$1"
script="$2"
bin="${3:-${FCAUDIT_BIN:-}}"
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "usage: $0 DIR SCRIPT FCAUDIT_BIN (or set FCAUDIT_BIN)" >&2
  echo "0 passed, 1 failed"
  exit 2
fi
if [ ! -d "$dir/node_modules/playwright-core" ]; then
  (cd "$dir" && npm ci --silent --no-audit --no-fund) || { echo "0 passed, 1 failed"; exit 1; }
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

setsid node "$dir/$script" "$bin" &
pid=$!
wait "$pid"
exit $?
