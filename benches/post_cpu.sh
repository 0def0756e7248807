#!/usr/bin/env bash
# One build's POST events on a fresh database, with the CPU each process used: the quick
# measurement behind a lever (benches/RESULTS.md, session 27). 5 s of ten-event batches create
# the 1,000 sessions, then ROUNDS runs of DURATION with EVENTS events a request (wrk -t1 -c32),
# each printing req/s, p99 and the cores the server, PostgreSQL and wrk used over 6 s of it.
#
#   bash benches/post_cpu.sh BINARY [sqlite|postgres] [EVENTS]      ROUNDS=2 DURATION=10s …
# PRE_SQL runs once the server has migrated its database (by psql, or by Python's sqlite3 module
# on SQLite), to bound a lever without building it:
# PRE_SQL="ALTER TABLE session_slots DISABLE TRIGGER USER" (benches/RESULTS.md).
# EVENT_IDS=1 gives every event a client id, as the tracker does (benches/wrk/post_events.lua).
# SEEDED=100000 first writes that many sessions of ten events (examples/seed), as benches/load.sh
# does: a store that size, not a fresh one, is what the harness's POST phases write into.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$1 BACKEND=${2:-sqlite} EV=${3:-1}
ROUNDS=${ROUNDS:-2} DURATION=${DURATION:-10s} PORT=${PORT:-18201}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
WORK=$(mktemp -d /var/tmp/moodring-post.XXXX)
if [ "$BACKEND" = postgres ]; then
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS moodring_post" -c "CREATE DATABASE moodring_post"
  url="${PG_ADMIN%/*}/moodring_post?sslmode=disable"
else
  url="sqlite://$WORK/post.db?mode=rwc"
fi
KEY=
if [ "${SEEDED:-0}" -gt 0 ]; then
  seed_url=$url
  [ "$BACKEND" = postgres ] && seed_url="$url&options[synchronous_commit]=off"
  cargo build --release --quiet --example seed
  KEY=$("${CARGO_TARGET_DIR:-target}/release/examples/seed" "$seed_url" "$SEEDED" 10 30 8 2>/dev/null | tail -n 1)
fi
RUST_LOG=warn "$BIN" --database-url "$url" --bind "127.0.0.1:$PORT" & pid=$!
trap 'kill $pid; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
if [ -n "${PRE_SQL:-}" ]; then
  if [ "$BACKEND" = postgres ]; then
    psql "${PG_ADMIN%/*}/moodring_post" -qc "$PRE_SQL"
  else
    python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=10); c.executescript(sys.argv[2]); c.close()' \
      "$WORK/post.db" "$PRE_SQL"
  fi
fi
[ -n "$KEY" ] || KEY=$(curl -sf -X POST "http://127.0.0.1:$PORT/v1/keys/generate" -H 'Content-Type: application/json' \
  -d '{"customer_name":"Bench","plan":"pro"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
export KEY
wrk -t1 -c32 -d5s -s benches/wrk/post_events.lua "http://127.0.0.1:$PORT" >/dev/null
# cores NAME…: CPU seconds per second each named process group used over 6 s.
cores() {
  snap() {
    for p in /proc/[0-9]*; do
      c=$(cat "$p/comm" 2>/dev/null) || continue
      case " $* " in *" $c "*) awk -v c="$c" '{ print c, $14 + $15 }' "$p/stat" 2>/dev/null ;; esac
    done | awk '{ t[$1] += $2 } END { for (k in t) print k, t[k] }' | sort
  }
  local before after
  before=$(snap "$@"); sleep 6; after=$(snap "$@")
  join <(echo "$before") <(echo "$after") | awk '{ printf "  %s %.2f cores\n", $1, ($3 - $2) / 100 / 6 }'
}
for round in $(seq "$ROUNDS"); do
  (sleep 2; cores "$(basename "$BIN" | cut -c1-15)" postgres wrk) & watcher=$!
  EVENTS=$EV wrk -t1 -c32 -d"$DURATION" --latency -s benches/wrk/post_events.lua "http://127.0.0.1:$PORT" |
    awk -v r="$round" '/Requests\/sec/ { q = $2 } $1 == "99%" { p = $2 } END { print "round " r ": " q " req/s, p99 " p }'
  wait "$watcher"
done
