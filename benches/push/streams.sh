#!/usr/bin/env bash
# 5,000 open event streams on one server: its memory, and how fast a change reaches a stream
# (benches/push/streams.py). On a fresh SQLite database by default, BACKEND=postgres for
# PostgreSQL (database moodring_streams).
#
#   bash benches/push/streams.sh            STREAMS=5000 CHANGES=200 BACKEND=sqlite BIN=<binary>
set -euo pipefail
cd "$(dirname "$0")/../.."
STREAMS=${STREAMS:-5000}
CHANGES=${CHANGES:-200}
BACKEND=${BACKEND:-sqlite}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin moodring
  BIN=${CARGO_TARGET_DIR:-target}/release/moodring
fi
ulimit -n "$(ulimit -Hn)"  # 5,000 streams and their clients need more descriptors than the default
WORK=$(mktemp -d /var/tmp/moodring-streams.XXXX)
if [ "$BACKEND" = postgres ]; then
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS moodring_streams" -c "CREATE DATABASE moodring_streams"
  url="${PG_ADMIN%/*}/moodring_streams?sslmode=disable"
else
  url="sqlite://$WORK/streams.db?mode=rwc"
fi
RUST_LOG=warn "$BIN" --database-url "$url" --bind 127.0.0.1:18291 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:18291/health >/dev/null && break; sleep 0.2; done
key=$(curl -sf -X POST http://127.0.0.1:18291/v1/keys/generate -H 'Content-Type: application/json' \
  -d '{"customer_name":"Streams","plan":"pro"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
echo "backend: $BACKEND, binary: $BIN"
python3 benches/push/streams.py http://127.0.0.1:18291 "$key" "$pid" "$STREAMS" "$CHANGES"
