#!/usr/bin/env bash
# Analytics at scale: seeds a store with SESSIONS sessions of EVENTS events (default 1,000,000 × 10,
# spread over 180 days, through the real ingest path), starts the release server on it, and times
# the analytics calls over HTTP on loopback. Runs on SQLite and on PostgreSQL; prints a table.
#
#   bash benches/analytics.sh                 # both backends, 1M sessions (seeding takes a while)
#   SESSIONS=100000 BACKENDS=sqlite bash benches/analytics.sh
#
# A seeded store is kept in $WORK and reused by the next run with the same SESSIONS.
set -euo pipefail
cd "$(dirname "$0")/.."
SESSIONS=${SESSIONS:-1000000}
EVENTS=${EVENTS:-10}
BACKENDS=${BACKENDS:-"sqlite postgres"}
WORK=${WORK:-/var/tmp/moodring-bench}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}
PORT=${PORT:-18181}
RUNS=${RUNS:-7}
mkdir -p "$WORK"

cargo build --release --quiet --example seed --bin moodring
BIN=${CARGO_TARGET_DIR:-target}/release

server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null || true; }
trap cleanup EXIT

# Median and worst of RUNS timed calls (after one warm-up), in milliseconds.
time_call() {
  local path=$1 key=$2
  curl -sf -o /dev/null -H "X-Api-Key: $key" "http://127.0.0.1:$PORT$path" || { printf '%8s %8s' failed failed; return; }
  for _ in $(seq "$RUNS"); do
    curl -sf -o /dev/null -w '%{time_total}\n' -H "X-Api-Key: $key" "http://127.0.0.1:$PORT$path"
  done | sort -n | awk '{ t[NR] = $1 * 1000 } END { printf "%8.1f %8.1f", t[int((NR + 1) / 2)], t[NR] }'
}

# The dashboard's overview as a browser loads it (default: 30 days by day in a zone): its three
# calls at once; median and worst wall time until the last answer, in milliseconds.
time_overview() {
  local key=$1 from to
  to=$(date -d 'tomorrow 00:00' +%s); from=$((to - 30 * 86400))
  local urls=("/v1/analytics/moods" "/v1/analytics/moods/timeseries?from=$from&to=$to&interval=day&tz=Europe/Paris" "/v1/analytics/moods/aggregate?days=30")
  local args=()
  for u in "${urls[@]}"; do args+=(-o /dev/null "http://127.0.0.1:$PORT$u"); done
  for _ in $(seq $((RUNS + 1))); do
    local t0 t1
    t0=$(date +%s%N); curl -sfZ -H "X-Api-Key: $key" "${args[@]}" 2>/dev/null || echo failed >&2; t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
  done | tail -n "$RUNS" | sort -n | awk '{ t[NR] = $1 / 1000 } END { printf "%8.1f %8.1f", t[int((NR + 1) / 2)], t[NR] }'
}

printf '%-9s %-58s %8s %8s\n' backend call median_ms max_ms
for backend in $BACKENDS; do
  case $backend in
    sqlite)
      url="sqlite://$WORK/bench-$SESSIONS.db?mode=rwc"
      seed_url=$url
      fresh() { [ ! -s "$WORK/key-sqlite-$SESSIONS" ]; }
      reset() { rm -f "$WORK/bench-$SESSIONS.db"*; } ;;
    postgres)
      db="moodring_bench_$SESSIONS"
      url="${PG_ADMIN%/*}/$db"
      # Seeding only: commits need not wait for their WAL flush.
      seed_url="$url?options[synchronous_commit]=off"
      fresh() { [ ! -s "$WORK/key-postgres-$SESSIONS" ]; }
      reset() { psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"; } ;;
  esac
  keyfile="$WORK/key-$backend-$SESSIONS"
  if fresh; then
    reset
    echo "seeding $backend: $SESSIONS sessions × $EVENTS events" >&2
    "$BIN/examples/seed" "$seed_url" "$SESSIONS" "$EVENTS" 180 8 > "$keyfile.tmp"
    # The state autovacuum brings a live database to: index-only scans need the visibility map.
    if [ "$backend" = postgres ]; then psql "$url" -qc "VACUUM ANALYZE"; fi
    mv "$keyfile.tmp" "$keyfile"
  fi
  key=$(tail -n 1 "$keyfile")
  # The seeded store spans 180 days: no retention sweep.
  RUST_LOG=warn "$BIN/moodring" --database-url "$url" --bind "127.0.0.1:$PORT" --retention-sweep-secs 0 & server=$!
  for _ in $(seq 3000); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done  # a big store may be migrating
  for path in \
    "/v1/analytics/moods" \
    "/v1/analytics/moods/aggregate?days=5" \
    "/v1/analytics/moods/aggregate?days=30" \
    "/v1/analytics/moods/aggregate?days=365" \
    "/v1/analytics/moods/timeseries?interval=day" \
    "/v1/analytics/moods/timeseries?interval=day&tz=America/New_York" \
    "/v1/analytics/moods/timeseries?interval=hour" \
    "/v1/analytics/moods/timeseries?interval=week&from=$(date -d '180 days ago' +%s)"; do
    printf '%-9s %-58s %s\n' "$backend" "$path" "$(time_call "$path" "$key")"
  done
  printf '%-9s %-58s %s\n' "$backend" "dashboard overview: the 3 calls above, in parallel" "$(time_overview "$key")"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
