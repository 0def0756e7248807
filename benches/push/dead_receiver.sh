#!/usr/bin/env bash
# Does a dead webhook receiver slow ingest? The same build twice (benches/ab.sh), each customer
# with a webhook for every event: A's receiver answers at once, B's accepts connections and
# never answers (benches/push/receiver.py), so B's deliveries time out after 15 s each, 32 at a
# time, and pile up to be retried. Every request starts a session (post_new_sessions.lua), so
# every one is a message both must deliver. NO_WEBHOOK_A=1 gives A no webhook at all instead
# (what a webhook costs ingest, whatever its receiver does).
#
#   BIN=<binary> BACKEND=postgres ROUNDS=3 EVENTS=1 bash benches/push/dead_receiver.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin moodring
  BIN=${CARGO_TARGET_DIR:-target}/release/moodring
fi
python3 benches/push/receiver.py 18298 answer &
live=$!
python3 benches/push/receiver.py 18299 dead &
dead=$!
trap 'kill $live $dead 2>/dev/null || true' EXIT
export A=$BIN B=$BIN
export A_ARGS="--webhook-allow-private" B_ARGS="--webhook-allow-private"
# Run by ab.sh once a server is up, with PORT and KEY.
hook='curl -sf -X POST "http://127.0.0.1:$PORT/v1/webhooks" -H "X-Api-Key: $KEY" \
  -H "Content-Type: application/json" -d "{\"url\": \"http://127.0.0.1:RECEIVER/hook\"}" >/dev/null'
if [ -z "${NO_WEBHOOK_A:-}" ]; then export A_SETUP=${hook/RECEIVER/18298}; fi
export B_SETUP=${hook/RECEIVER/18299}
export CALLS=${CALLS:-post_new_sessions.lua}
export ROUNDS=${ROUNDS:-3}
bash benches/ab.sh
