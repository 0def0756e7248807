#!/usr/bin/env bash
# How fast one replica delivers webhooks to a receiver that answers at once. First a backlog:
# messages written with delivery off (--webhook-concurrency 0; every request starts a session,
# post_new_sessions.lua), then the server restarts with delivery on and the script times how
# long it takes to deliver them all. Then live: FILL of ingest while delivering, and how much
# was delivered meanwhile (deliveries must keep up with ingest).
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
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS moodring_drain" -c "CREATE DATABASE moodring_drain"
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

serve --webhook-concurrency 0
KEY=$(curl -sf -X POST "http://127.0.0.1:$PORT/v1/keys/generate" -H 'Content-Type: application/json' \
  -d '{"customer_name":"Bench","plan":"pro"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
curl -sf -X POST "http://127.0.0.1:$PORT/v1/webhooks" -H "X-Api-Key: $KEY" -H 'Content-Type: application/json' \
  -d '{"url": "http://127.0.0.1:18297/hook"}' >/dev/null
rate=$(KEY=$KEY wrk -t1 -c32 -d"$FILL" -s benches/wrk/post_new_sessions.lua "http://127.0.0.1:$PORT" |
  awk '/Requests\/sec/ { print $2 }')
sleep 1 # the last messages published
kill "$server"; wait "$server" || true

serve
# drained WHAT: waits until the succeeded count stops growing; prints how many and how long.
drained() {
  local start last=$1 at n
  start=$(date +%s.%N) at=$start
  while true; do
    sleep 0.5
    n=$(succeeded)
    if [ "$n" = "$last" ]; then break; fi
    last=$n at=$(date +%s.%N)
  done
  awk -v n="$last" -v s="$start" -v e="$at" 'BEGIN { printf "%d %.1f\n", n, e - s }'
}
read -r n took < <(drained 0)
awk -v n="$n" -v t="$took" -v r="$rate" -v b="$BACKEND" 'BEGIN {
  printf "%s, a backlog: %d deliveries in %.1f s: %.0f/s (written at %.0f requests/s)\n", b, n, t, n / t, r }'

# Live: ingest and delivery at once.
rate=$(KEY=$KEY wrk -t1 -c32 -d"$FILL" -s benches/wrk/post_new_sessions.lua "http://127.0.0.1:$PORT" |
  awk '/Requests\/sec/ { print $2 }')
during=$(( $(succeeded) - n ))
read -r total took < <(drained "$(succeeded)")
awk -v r="$rate" -v d="$during" -v f="${FILL%s}" -v t="$took" -v b="$BACKEND" 'BEGIN {
  printf "%s, live: ingest %.0f requests/s, %.0f deliveries/s meanwhile, the rest delivered %.1f s after\n",
    b, r, d / f, t }'
