#!/usr/bin/env bash
# Two builds of the server side by side: POST events (10-event batches over 1,000 sessions) and
# GET …/mood on the sessions written, wrk -t1 -c32, in rounds that alternate which build goes
# first (ABBA), each build on a fresh database of its own. Prints req/s and p99 per round and the
# median ratio B/A, to show what a change costs the existing calls in one run.
#
#   A=<binary> B=<binary> bash benches/ab.sh      BACKEND=postgres ROUNDS=4 DURATION=10s …
# CALLS names the wrk scripts measured (default "post_events.lua get_mood.lua";
# post_new_sessions.lua starts a session with every request). A_ARGS / B_ARGS add server options
# to A / B; A_SETUP / B_SETUP is a shell command run once that server is up, with its PORT and KEY
# (benches/push/dead_receiver.sh).
# Without A, builds A from the git revision REF (default HEAD~1) in a worktree; without B, this
# tree's release build.
set -euo pipefail
cd "$(dirname "$0")/.."
BACKEND=${BACKEND:-sqlite}
ROUNDS=${ROUNDS:-4}
CALLS=${CALLS:-post_events.lua get_mood.lua}
DURATION=${DURATION:-10s}
REST=${REST:-10}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ -z "${B:-}" ]; then
  cargo build --release --quiet --bin moodring
  B=${CARGO_TARGET_DIR:-target}/release/moodring
fi
if [ -z "${A:-}" ]; then
  REF=${REF:-HEAD~1}
  tree=/var/tmp/moodring-ab-$(git rev-parse --short "$REF")
  [ -d "$tree" ] || git worktree add -f "$tree" "$REF" -q
  (cd "$tree" && CARGO_TARGET_DIR=/var/tmp/moodring-target-ab cargo build --release --quiet --bin moodring)
  A=/var/tmp/moodring-target-ab/release/moodring
fi
WORK=$(mktemp -d /var/tmp/moodring-ab.XXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# start NAME BINARY PORT: a server on a fresh database, a key in KEY_NAME, its 1,000 sessions written.
start() {
  local name=$1 bin=$2 port=$3 url
  if [ "$BACKEND" = postgres ]; then
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS moodring_ab_$name" -c "CREATE DATABASE moodring_ab_$name"
    url="${PG_ADMIN%/*}/moodring_ab_$name?sslmode=disable"
  else
    url="sqlite://$WORK/$name.db?mode=rwc"
  fi
  local extra=()
  local args_var="${name^^}_ARGS" setup_var="${name^^}_SETUP"
  if [ -n "${!args_var:-}" ]; then read -ra extra <<<"${!args_var}"; fi
  RUST_LOG=warn "$bin" --database-url "$url" --bind "127.0.0.1:$port" "${extra[@]}" & pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
  local key
  key=$(curl -sf -X POST "http://127.0.0.1:$port/v1/keys/generate" -H 'Content-Type: application/json' \
    -d '{"customer_name":"Bench","plan":"pro"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])')
  printf -v "KEY_$name" '%s' "$key"
  if [ -n "${!setup_var:-}" ]; then PORT=$port KEY=$key bash -c "${!setup_var}"; fi
  KEY=$key wrk -t1 -c32 -d5s -s benches/wrk/post_events.lua "http://127.0.0.1:$port" >/dev/null
}
start a "$A" 18191
start b "$B" 18192

quiet() { if [ "$BACKEND" = postgres ]; then psql "$PG_ADMIN" -qc CHECKPOINT; fi; sync; sleep "$REST"; }
# measure NAME PORT SCRIPT → "req/s p99"
measure() {
  local key_var="KEY_$1"
  quiet
  KEY=${!key_var} wrk -t1 -c32 -d"$DURATION" --latency -s "benches/wrk/$3" "http://127.0.0.1:$2" |
    awk '/Requests\/sec/ { r = $2 } $1 == "99%" { p = $2 } END { print r, p }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "A = $A"
echo "B = $B"
printf '%-8s %-6s %-9s %10s %10s  %s\n' backend round call A B "B/A"
declare -A ratios
for round in $(seq "$ROUNDS"); do
  for call in $CALLS; do
    if [ $((round % 2)) = 1 ]; then
      read -r a ap < <(measure a 18191 "$call"); read -r b bp < <(measure b 18192 "$call")
    else
      read -r b bp < <(measure b 18192 "$call"); read -r a ap < <(measure a 18191 "$call")
    fi
    r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", 100 * b / a }')
    ratios[$call]+="$r "
    printf '%-8s %-6s %-9s %10s %10s  %s%% (p99 %s / %s)\n' "$BACKEND" "#$round" "${call%.lua}" "$a" "$b" "$r" "$ap" "$bp"
  done
done
for call in $CALLS; do
  echo "median B/A ${call%.lua}: $(tr ' ' '\n' <<<"${ratios[$call]}" | grep . | median)%"
done
for name in a b; do
  setup_var="${name^^}_SETUP"
  if [ -n "${!setup_var:-}" ]; then
    echo "${name^^}'s webhook deliveries:"
    curl -sf "http://127.0.0.1:1819$([ $name = a ] && echo 1 || echo 2)/metrics" | grep '^moodring_webhook' || true
  fi
done
