#!/usr/bin/env bash
# Session-token-authenticated POST events against secret-key-authenticated, on one server, in
# rounds that alternate which goes first (wrk -t1 -c32, 10-event batches over the same 1,000 sessions, each with its
# own token): the cost of verifying a JWT per request where a key is a cache hit. Also prints the
# tracker's size as browsers download it.
#
#   bash benches/token_post.sh           BACKEND=postgres ROUNDS=3 DURATION=10s bash benches/token_post.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${BACKEND:-sqlite}
ROUNDS=${ROUNDS:-4}
DURATION=${DURATION:-10s}
REST=${REST:-10}
PORT=${PORT:-18185}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet --bin moodring
BIN=${CARGO_TARGET_DIR:-target}/release/moodring
WORK=$(mktemp -d /var/tmp/moodring-token.XXXX)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

if [ "$BACKEND" = postgres ]; then
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS moodring_token" -c "CREATE DATABASE moodring_token"
  url="${PG_ADMIN%/*}/moodring_token?sslmode=disable"
else
  url="sqlite://$WORK/token.db?mode=rwc"
fi
RUST_LOG=warn "$BIN" --database-url "$url" --bind "127.0.0.1:$PORT" & server=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -sf "$base/health" >/dev/null && break; sleep 0.2; done
KEY=$(curl -sf -X POST "$base/v1/keys/generate" -H 'Content-Type: application/json' \
  -d '{"customer_name":"Bench","plan":"pro"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
export KEY
TOKENS="$WORK/tokens"
for i in $(seq 0 999); do
  curl -sf -X POST "$base/v1/tokens" -H "X-Api-Key: $KEY" -H 'Content-Type: application/json' \
    -d "{\"session_id\":\"load-$i\",\"ttl_s\":86400}" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["session_id"], d["token"])'
done > "$TOKENS"
# Both runs write to sessions that exist, so that neither pays for creating them.
TOKENS= wrk -t1 -c32 -d5s -s benches/wrk/post_events.lua "$base" >/dev/null

# rps key|token → "req/s p99"
rps() {
  local tokens=""; [ "$1" = token ] && tokens=$TOKENS
  TOKENS=$tokens wrk -t1 -c32 -d"$DURATION" --latency -s benches/wrk/post_events.lua "$base" |
    awk '/Requests\/sec/ { r = $2 } $1 == "99%" { p = $2 } END { print r, p }'
}
quiet() { if [ "$BACKEND" = postgres ]; then psql "$PG_ADMIN" -qc CHECKPOINT; fi; sync; sleep "$REST"; }
# The machine slows under sustained load and recovers at rest: each round runs both, in turn
# first (ABBA), and the summary is the median ratio.
printf '%-8s %-6s %10s %8s  %s\n' backend round key token "token/key"
ratios=()
for round in $(seq "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then
    quiet; read -r k kp < <(rps key)
    quiet; read -r t tp < <(rps token)
  else
    quiet; read -r t tp < <(rps token)
    quiet; read -r k kp < <(rps key)
  fi
  ratios+=("$(awk -v a="$t" -v b="$k" 'BEGIN { printf "%.1f", 100 * a / b }')")
  printf '%-8s %-6s %10s %8s  %s%% (p99 %s / %s)\n' "$BACKEND" "#$round" "$k" "$t" "${ratios[-1]}" "$kp" "$tp"
done
echo "median token/key: $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')%"
gz=$(curl -sf -H 'Accept-Encoding: gzip' "$base/v1/tracker.js" | wc -c)
raw=$(curl -sf "$base/v1/tracker.js" | wc -c)
echo "tracker.js: $raw bytes, $gz bytes gzipped"
