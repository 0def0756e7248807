#!/usr/bin/env bash
# The tracker and the dashboard in a real browser: Debian's chromium (installed with apt-get when missing; never a
# browser download) driven by playwright-core, against a server built from this tree, on SQLite
# and — when TEST_DATABASE_URL names a PostgreSQL database — on PostgreSQL too.
#
#   bash tests/browser/run.sh
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test bash tests/browser/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/moodring-target}"

if [ ! -x /usr/bin/chromium ]; then
  echo "== browser: installing Debian's chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
echo "== browser: building the server, installing playwright-core"
cargo build --locked --quiet --bin moodring
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
export MOODRING_BIN=$CARGO_TARGET_DIR/debug/moodring

WORK=$(mktemp -d)
# Screenshots of every dashboard page, kept after the run.
export ARTIFACTS="${ARTIFACTS:-$ROOT/tests/browser/artifacts}"
trap 'rm -rf "$WORK"' EXIT

echo "== browser tests on SQLite"
(cd tests/browser && MOODRING_DATABASE_URL="sqlite://$WORK/browser.db?mode=rwc" node --test --test-concurrency=1 tracker.test.mjs dashboard.test.mjs streams.test.mjs)
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== browser tests on PostgreSQL"
  psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS moodring_browser" -c "CREATE DATABASE moodring_browser"
  (cd tests/browser && MOODRING_DATABASE_URL="${TEST_DATABASE_URL%/*}/moodring_browser" node --test --test-concurrency=1 tracker.test.mjs dashboard.test.mjs streams.test.mjs)
fi
