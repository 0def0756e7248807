#!/usr/bin/env bash
# The retention sweep under load. Seeds a store of SESSIONS sessions × 10 events spread over the
# last 180 days (about half older than the default retention of 90 days) through the real ingest
# path, then, on two copies of it: a server that does not sweep, and one that sweeps at start,
# each under `POST events` (wrk -t1 -c32, 10-event batches) for DURATION. Prints req/s and p99 of
# both, and how long the sweep took and what it removed; on PostgreSQL also the tables' sizes
# before and after, and what a VACUUM of them then costs.
#
#   bash benches/retention.sh                      SESSIONS=100000 BACKEND=postgres DURATION=30s …
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${SESSIONS:-100000}
BACKEND=${BACKEND:-sqlite}
DURATION=${DURATION:-30s}
WORK=${WORK:-/var/tmp/moodring-retention}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
PORT=${PORT:-18183}
mkdir -p "$WORK"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --example seed --bin moodring
BIN=${CARGO_TARGET_DIR:-target}/release
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null || true; }
trap cleanup EXIT

pg() { psql "$PG_ADMIN" -qAtc "$1"; }
db_url() { # NAME → the URL of that copy
  if [ "$BACKEND" = postgres ]; then echo "${PG_ADMIN%/*}/moodring_ret_$1?sslmode=disable"; else echo "sqlite://$WORK/$1.db?mode=rwc"; fi
}
sizes() { # NAME → MB of the tables the sweep deletes from (PostgreSQL)
  psql "${PG_ADMIN%/*}/moodring_ret_$1" -qAtc "SELECT string_agg(t || ' ' || round(pg_total_relation_size(t) / 1e6) || ' MB', ', ')
    FROM unnest(ARRAY['events', 'session_slots', 'user_history', 'sessions']) t"
}

if [ ! -s "$WORK/key-$BACKEND-$SESSIONS" ]; then
  if [ "$BACKEND" = postgres ]; then pg "DROP DATABASE IF EXISTS moodring_ret_base" && pg "CREATE DATABASE moodring_ret_base"; else rm -f "$WORK"/base.db*; fi
  echo "seeding $SESSIONS sessions ($BACKEND)…"
  "$BIN/examples/seed" "$(db_url base)" "$SESSIONS" 10 180 8 | tail -n 1 > "$WORK/key-$BACKEND-$SESSIONS"
fi
key=$(cat "$WORK/key-$BACKEND-$SESSIONS")

printf '%-9s %-6s %10s %8s  %s\n' backend sweep req/s p99 sweep
for mode in off on; do
  if [ "$BACKEND" = postgres ]; then
    pg "DROP DATABASE IF EXISTS moodring_ret_$mode" && pg "CREATE DATABASE moodring_ret_$mode TEMPLATE moodring_ret_base"
    [ "$mode" = on ] && echo "before: $(sizes on)"
  else
    rm -f "$WORK/$mode.db"*; cp "$WORK/base.db" "$WORK/$mode.db"
  fi
  secs=0; [ "$mode" = on ] && secs=3600
  RUST_LOG=warn,moodring::server::sweeper=info "$BIN/moodring" --database-url "$(db_url "$mode")" --bind "127.0.0.1:$PORT" \
    --log-format json --retention-sweep-secs "$secs" > "$WORK/$mode.log" 2>&1 & server=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
  result=$(KEY=$key wrk -t1 -c32 -d"$DURATION" --latency -s benches/wrk/post_events.lua "http://127.0.0.1:$PORT" |
    awk '/Requests\/sec/ { r = $2 } $1 == "99%" { p = $2 } END { print r, p }')
  swept="-"
  if [ "$mode" = on ]; then
    for _ in $(seq 600); do grep -q "retention sweep" "$WORK/on.log" && break; sleep 1; done
    swept=$(grep "retention sweep" "$WORK/on.log" | head -n 1 | python3 -c 'import json, sys
l = json.loads(sys.stdin.read())
print("%.1f s: %d sessions, %d events, %d slots, %d user history" % (l["duration_ms"] / 1000, l["sessions"], l["events"], l["slots"], l["user_history"]))')
  fi
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  printf '%-9s %-6s %10s %8s  %s\n' "$BACKEND" "$mode" $result "$swept"
done
if [ "$BACKEND" = postgres ]; then
  echo "after: $(sizes on)"
  start=$(date +%s%N)
  psql "${PG_ADMIN%/*}/moodring_ret_on" -qc "VACUUM (ANALYZE) events, session_slots, user_history, sessions"
  echo "VACUUM (ANALYZE) of the four tables: $(( ($(date +%s%N) - start) / 1000000 )) ms; after it: $(sizes on)"
fi
