#!/usr/bin/env bash
# HAR end-to-end test: Playwright's recordHar and fcaudit --har audited offline = the live run.
# Usage: tests/browser/har.sh [FCAUDIT_BIN]   (or env FCAUDIT_BIN)
# Last line of output: "N passed, N failed".
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../support/run-node-group.sh" "$here" har.mjs "$@"
