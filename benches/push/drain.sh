#!/usr/bin/env bash
# How fast one replica delivers webhooks to a receiver that answers at once. First live, from
# an empty database: FILL of ingest (every request starts a session, post_new_sessions.lua)
# while delivering, and how much was delivered meanwhile (deliveries must keep up). Then a
# backlog: messages written with delivery off (--webhook-concurrency 0), then the server
# restarts with delivery on and the script times how long it takes to deliver them all.
#
#   BIN=<binary> BACKEND=postgres FILL=10s EVENTS=1 bash benches/push/drain.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKEND=${BACKEND:-sqlite}
FILL=${FILL:-10s}
PORT=18420
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin moodring
  BIN=${CARGO_TARGET_DIR:-target}/release/moodring
fi
WORK=$(mktemp -d /var/tmp/moodring-drain.XXXX)
python3 benches/push/receiver.py 18297 answer 2>/dev/null &
receiver=$!
server=
trap 'kill $receiver $server 2>/dev/null || true; rm -rf "$WORK"' EXIT
if [ "$BACKEND" = postgres ]; then
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS moodring_drain WITH (FORCE)" -c "CREATE DATABASE moodring_drain"
  url="${PG_ADMIN%/*}/moodring_drain?sslmode=disable"
else
  url="sqlite://$WORK/drain.db?mode=rwc"
fi
serve() {
  RUST_LOG=warn "$BIN" --database-url "$url" --bind "127.0.0.1:$PORT" --webhook-allow-private "$@" &
  server=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && return; sleep 0.1; done
}
succeeded() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^moodring_webhook_attempts_total\{result="succeeded"\}/ { print $2 }'
}

backlog() {
  curl -sf "http://127.0.0.1:$PORT/metrics" | awk '/^moodring_webhook_backlog / { print $2 }'
}
# drained FROM: waits until nothing is pending and the succeeded count (FROM before) stopped
# growing (or grew for none of 120 s); prints how many were delivered and how long it took.
drained() {
  local start last=$1 at n
  start=$(date +%s.%N) at=$start
  while true; do
    sleep 0.5
    n=$(succeeded)
    if [ "$n" = "$last" ]; then
      if [ "$(backlog)" = 0 ] || awk -v a="$at" -v now="$(date +%s.%N)" 'BEGIN { exit !(now - a > 120) }'; then
        break
      fi
      continue
    fi
    last=$n at=$(date +%s.%N)
  done
  awk -v n="$((last - $1))" -v s="$start" -v e="$at" 'BEGIN { printf "%d %.1f\n", n, e - s }'
}
ingest() {
  KEY=$KEY wrk -t1 -c32 -d"$FILL" -s benches/wrk/post_new_sessions.lua "http://127.0.0.1:$PORT" |
    awk '/Requests\/sec/ { print $2 }'
}

# Live, from an empty database: ingest and delivery at once.
serve
KEY=$(curl -sf -X POST "http://127.0.0.1:$PORT/v1/keys/generate" -H 'Content-Type: application/json' \
  -d '{"customer_name":"Bench","plan":"pro"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
curl -sf -X POST "http://127.0.0.1:$PORT/v1/webhooks" -H "X-Api-Key: $KEY" -H 'Content-Type: application/json' \
  -d '{"url": "http://127.0.0.1:18297/hook"}' >/dev/null
rate=$(ingest)
during=$(succeeded)
read -r _ took < <(drained "$during")
awk -v r="$rate" -v d="$during" -v f="${FILL%s}" -v t="$took" -v b="$BACKEND" 'BEGIN {
  printf "%s, live: ingest %.0f requests/s, %.0f deliveries/s meanwhile, the rest delivered %.1f s after\n",
    b, r, d / f, t }'
kill "$server"; wait "$server" || true

# A backlog: written with delivery off, then delivered.
serve --webhook-concurrency 0
rate=$(ingest)
sleep 1 # the last messages published
kill "$server"; wait "$server" || true
serve
read -r n took < <(drained 0)
awk -v n="$n" -v t="$took" -v r="$rate" -v b="$BACKEND" 'BEGIN {
  printf "%s, a backlog: %d deliveries in %.1f s: %.0f/s (written at %.0f requests/s)\n", b, n, t, n / t, r }'
