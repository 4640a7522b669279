#!/usr/bin/env bash
# Chromium through a pool: two fcaudit instances behind HAProxy (docs/fleet.md's recipe) shipping
# to Redis; a page that loads Stripe.js at run time is tagged through the balancer.
# Usage: tests/browser/pool.sh [FCAUDIT_BIN]   (or env FCAUDIT_BIN)
# Last line of output: "N passed, N failed".
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../support/run-node-group.sh" "$here" pool.mjs "$@"
