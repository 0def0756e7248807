#!/usr/bin/env bash
# Contract tests against a live server built from this tree, on SQLite and — when
# TEST_DATABASE_URL names a PostgreSQL database — on PostgreSQL too:
#   1. schemathesis runs every check over openapi/openapi.json with a fixed seed (schemathesis.toml
#      lists, with reasons, the few rules a schema cannot state);
#   2. a Python client (openapi-python-client) and a TypeScript client (openapi-typescript +
#      openapi-fetch, type-checked by tsc --strict) are generated from the spec and each runs a
#      round trip: key, events, mood, state, history, feedback, users, analytics, export, deletes.
# Tools install on first use: a virtualenv under $MOODRING_TOOLS (default /var/tmp/moodring-tools)
# from python/requirements.txt, and the npm packages pinned in typescript/package-lock.json.
#
#   bash tests/contract/run.sh
#   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test bash tests/contract/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CONTRACT=$ROOT/tests/contract
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/moodring-target}"
TOOLS=${MOODRING_TOOLS:-/var/tmp/moodring-tools}

echo "== contract: building the server and installing the tools"
cargo build --locked --quiet --bin moodring
BIN=$CARGO_TARGET_DIR/debug/moodring
VENV=$TOOLS/venv-$(sha256sum "$CONTRACT/python/requirements.txt" | cut -c1-12)
if [ ! -x "$VENV/bin/schemathesis" ]; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$CONTRACT/python/requirements.txt"
fi
(cd "$CONTRACT/typescript" && npm ci --no-audit --no-fund --loglevel=error)

WORK=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== contract: generating the clients from openapi/openapi.json"
"$VENV/bin/openapi-python-client" generate --path "$ROOT/openapi/openapi.json" --meta none \
  --output-path "$WORK/python/moodring_client" --overwrite >"$WORK/python-generator.log" 2>&1 || { cat "$WORK/python-generator.log"; exit 1; }
# The generator drops, with a warning, every schema and operation it cannot take: none may be.
if grep -E "^WARNING|Unable to process|will not be generated" "$WORK/python-generator.log"; then
  echo "openapi-python-client could not take all of the spec" >&2
  exit 1
fi
(cd "$CONTRACT/typescript" && npx --no-install openapi-typescript "$ROOT/openapi/openapi.json" -o generated/schema.d.ts \
  && npx --no-install tsc -p .)

# $1: a label, $2: the database URL.
run_against() {
  echo "== contract tests on $1"
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # schemathesis sends thousands of requests without credentials on purpose (checking that auth
  # is enforced); the failed-authentication throttle would answer them all 429 after 20.
  RUST_LOG=warn "$BIN" --database-url "$2" --bind "127.0.0.1:$port" --auth-failure-limit 0 >"$WORK/server.log" 2>&1 &
  server=$!
  local base="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.2; done
  local key
  key=$(curl -sf -X POST "$base/v1/keys/generate" -H 'Content-Type: application/json' \
    -d '{"customer_name":"Contract"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
  (cd "$CONTRACT" && "$VENV/bin/schemathesis" --config-file schemathesis.toml run "$ROOT/openapi/openapi.json" \
    --url "$base" --checks all -H "X-Api-Key: $key" --no-color)
  PYTHONPATH="$WORK/python" "$VENV/bin/python" "$CONTRACT/python/roundtrip.py" "$base"
  node "$CONTRACT/typescript/dist/roundtrip.js" "$base"
  kill "$server"
  wait "$server" 2>/dev/null || true
  server=""
}

run_against SQLite "sqlite://$WORK/contract.db?mode=rwc"
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS moodring_contract" -c "CREATE DATABASE moodring_contract"
  run_against PostgreSQL "${TEST_DATABASE_URL%/*}/moodring_contract"
fi
echo "== contract tests passed"
