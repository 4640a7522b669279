#!/usr/bin/env bash
# End-to-end browser test: the staging shop through fcaudit in headless Chromium.
# Usage: tests/browser/run.sh [FCAUDIT_BIN]   (or env FCAUDIT_BIN)
# Last line of output: "N passed, N failed".
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../support/run-node-group.sh" "$here" run.mjs "$@"
