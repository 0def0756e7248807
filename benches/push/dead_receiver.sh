#!/usr/bin/env bash
# Does a dead webhook receiver slow ingest? The same build twice (benches/ab.sh): A with no
# webhook, B whose customer has one whose receiver accepts connections and never answers
# (benches/push/blackhole.py), so B's deliveries time out after 15 s each, 32 at a time, and
# pile up to be retried. Every request starts a session (post_new_sessions.lua), so every one
# is a message B must deliver.
#
#   BIN=<binary> BACKEND=postgres ROUNDS=3 EVENTS=1 bash benches/push/dead_receiver.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --bin moodring
  BIN=${CARGO_TARGET_DIR:-target}/release/moodring
fi
python3 benches/push/blackhole.py 18299 &
hole=$!
trap 'kill $hole 2>/dev/null || true' EXIT
export A=$BIN B=$BIN
export B_ARGS="--webhook-allow-private"
# Run by ab.sh once B is up, with PORT and KEY.
export B_SETUP='curl -sf -X POST "http://127.0.0.1:$PORT/v1/webhooks" -H "X-Api-Key: $KEY" \
  -H "Content-Type: application/json" -d "{\"url\": \"http://127.0.0.1:18299/hook\"}" >/dev/null'
export CALLS=${CALLS:-post_new_sessions.lua}
export ROUNDS=${ROUNDS:-3}
bash benches/ab.sh
