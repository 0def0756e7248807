#!/usr/bin/env bash
# Latency of GET /v1/users/{id}/mood, the call an agent makes before every reply: a release
# server on a fresh database, one person with a few sessions, then wrk at CONNECTIONS (32) for
# DURATION on loopback. Prints wrk's latency distribution per backend.
#
#   bash benches/user_mood.sh            BACKENDS=sqlite DURATION=10s bash benches/user_mood.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BACKENDS=${BACKENDS:-"sqlite postgres"}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
PORT=${PORT:-18182}
WORK=$(mktemp -d)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --bin moodring
BIN=${CARGO_TARGET_DIR:-target}/release/moodring

server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

for backend in $BACKENDS; do
  case $backend in
    sqlite) url="sqlite://$WORK/user-mood.db?mode=rwc" ;;
    postgres)
      psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS moodring_user_mood" -c "CREATE DATABASE moodring_user_mood"
      url="${PG_ADMIN%/*}/moodring_user_mood" ;;
  esac
  RUST_LOG=warn "$BIN" --database-url "$url" --bind "127.0.0.1:$PORT" & server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
  key=$(curl -sf -X POST "http://127.0.0.1:$PORT/v1/keys/generate" -H 'Content-Type: application/json' \
    -d '{"customer_name":"Bench"}' | sed -E 's/.*"api_key":"([^"]+)".*/\1/')
  for s in 1 2 3 4 5 6; do
    curl -sf -o /dev/null -X POST "http://127.0.0.1:$PORT/v1/sessions/s$s/events" -H "X-Api-Key: $key" \
      -H 'Content-Type: application/json' \
      -d '{"user_id":"u_bench","events":[{"type":"page_view","url":"/a"},{"type":"error"},{"type":"rage_click","x":1,"y":1},{"type":"error"},{"type":"scroll","speed":900}]}'
  done
  echo "== $backend: GET /v1/users/u_bench/mood, wrk -t1 -c$CONNECTIONS -d$DURATION"
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "X-Api-Key: $key" "http://127.0.0.1:$PORT/v1/users/u_bench/mood" \
    | grep -E 'Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors'
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
