#!/usr/bin/env bash
# Runs the Jobkeeper benchmarks and leaves their raw results in bench/.results/ (docs/benchmarks.md
# summarises them).
#
#   bench/run.sh                 # every suite: micro throughput cleanup experiments http workers http-workers
#   bench/run.sh workers         # only some suites (any of: store get writes list micro throughput cleanup experiments http
#                                #   workers http-workers flow postgres compare)
#   bench/run.sh postgres compare  # Jobkeeper on PostgreSQL (1 and 3 instances, 1M-row scale) and pg-boss / graphile-worker,
#                                #   on one throwaway PostgreSQL server (or PG_BENCH / PG_URL when given)
#
# Settings (environment): HTTP_DURATION (s per wrk measurement, 10), HTTP_ROUNDS (5), HTTP_CONNECTIONS (64),
# WRK_THREADS (1), JK_PORT (5480), BARE_PORT (5481), JK_KEYED_PORT (5483), THROUGHPUT_ROUNDS (3), CLEANUP_ROUNDS (3), WORKERS_ROUNDS (3),
# HTTP_WORKERS_PORT (5482), SKIP_BUILD (0), POSTGRES_ROUNDS (3), POSTGRES_JOBS (50000), COMPARE_ROUNDS (3).
# JOBKEEPER_BENCH_EXPLAIN=0.01 (postgres suite): the drains log that share of their statements' plans with EXPLAIN
# (ANALYZE, BUFFERS, WAL) figures to bench/.data/pg/postgres.log (auto_explain; docs/benchmarks.md shows some).
#
# In-process suites run from a copy of the Release build (bench/.data/bin) so that a concurrent build of
# the tree cannot swap assemblies under a running benchmark. Every process this script starts is stopped
# on exit, also on failure or Ctrl+C (trap below). Servers listen on 127.0.0.1 only; wrk only targets them.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/bench/.results
DATA=$ROOT/bench/.data
BIN=$DATA/bin
mkdir -p "$OUT" "$DATA"

SUITES=("$@")
if [ ${#SUITES[@]} -eq 0 ]; then SUITES=(micro throughput cleanup experiments http workers http-workers); fi
HTTP_DURATION=${HTTP_DURATION:-10}
HTTP_ROUNDS=${HTTP_ROUNDS:-5}
HTTP_CONNECTIONS=${HTTP_CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-1}
JK_PORT=${JK_PORT:-5480}
BARE_PORT=${BARE_PORT:-5481}
JK_KEYED_PORT=${JK_KEYED_PORT:-5483}
# The API key of the server started with keys (the "with a key" row): only its hash is configured, as in production.
BENCH_KEY=jk_bench_key_for_loopback_only
THROUGHPUT_ROUNDS=${THROUGHPUT_ROUNDS:-3}
CLEANUP_ROUNDS=${CLEANUP_ROUNDS:-3}
WORKERS_ROUNDS=${WORKERS_ROUNDS:-3}
HTTP_WORKERS_PORT=${HTTP_WORKERS_PORT:-5482}

PIDS=()
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      # Give the server its graceful drain; then make sure.
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  PIDS=()
}
PG_DIR=""
stop_everything() {
  stop_all
  if [ -n "$PG_DIR" ]; then bash "$ROOT/scripts/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || true; fi
}
trap stop_everything EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

log() { printf '\n=== %s %s\n' "$(date -u +%H:%M:%S)" "$*"; }

machine_info() {
  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "dotnet sdk: $(dotnet --version)"
    echo "dotnet runtime: $(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/ {v=$2} END {print v}')"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' (src has uncommitted changes)')"
    if command -v wrk >/dev/null; then echo "wrk: $(wrk -v 2>&1 | head -1)"; fi
  } | tee "$OUT/machine.txt"
}

build() {
  if [ "${SKIP_BUILD:-0}" = 1 ] && [ -d "$BIN/bench" ]; then return; fi
  log "build (Release)"
  dotnet build "$ROOT/src/Jobkeeper.Server/Jobkeeper.Server.csproj" -c Release -nologo -v q
  dotnet build "$ROOT/bench/Jobkeeper.Benchmarks/Jobkeeper.Benchmarks.csproj" -c Release -nologo -v q
  dotnet build "$ROOT/bench/Jobkeeper.BareKestrel/Jobkeeper.BareKestrel.csproj" -c Release -nologo -v q
  rm -rf "$BIN"
  mkdir -p "$BIN"
  cp -r "$ROOT/src/Jobkeeper.Server/bin/Release/net10.0" "$BIN/server"
  cp -r "$ROOT/bench/Jobkeeper.Benchmarks/bin/Release/net10.0" "$BIN/bench"
  cp -r "$ROOT/bench/Jobkeeper.BareKestrel/bin/Release/net10.0" "$BIN/bare"
}

# One in-process suite, bounded in time (the 1M-job store is built on first use, ~1-3 min).
# Runs in the background and is waited for, so that Ctrl+C or a TERM reaches the trap at once and the
# suite is stopped with everything else (timeout passes the TERM on to dotnet).
bench() {
  log "suite $1"
  local log=$OUT/$1.log pid tail_pid rc=0
  : >"$log"
  timeout --signal=TERM --kill-after=10 1500 dotnet "$BIN/bench/Jobkeeper.Benchmarks.dll" "$@" >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  tail -n +1 -f --pid="$pid" "$log" &
  tail_pid=$!
  PIDS+=("$tail_pid")
  wait "$pid" || rc=$?
  wait "$tail_pid" 2>/dev/null || true
  if [ "$rc" != 0 ]; then
    echo "suite $1 failed (exit $rc); see $log" >&2
    return "$rc"
  fi
}

ensure_wrk() {
  if ! command -v wrk >/dev/null; then
    log "installing wrk"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
  fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() { # url
  for _ in $(seq 1 100); do
    if curl -sf -o /dev/null "$1"; then return 0; fi
    sleep 0.2
  done
  echo "server at $1 did not become ready" >&2
  return 1
}

# wrk once; prints "req/s non2xx errors p50 p99" and appends the full output to the log.
run_wrk() { # name url script args...
  local name=$1 url=$2 script=$3
  shift 3
  local text
  text=$(timeout $((HTTP_DURATION + 30)) wrk -t"$WRK_THREADS" -c"$HTTP_CONNECTIONS" -d"${HTTP_DURATION}s" --latency \
    -s "$script" "$url" -- "$@")
  { echo "--- $name ($url)"; echo "$text"; } >>"$OUT/http-wrk.log"
  local rps non2xx errors p50 p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$text")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$text")
  errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4+$6+$8+$10}' <<<"$text")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$text")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$text")
  echo "${rps:-0} ${non2xx:-0} ${errors:-0} ${p50:-?} ${p99:-?}"
}

# Per-round ratios of two lists of req/s measured in the same rounds, and their median: "r1 % r2 % ... → median %".
ratios() { # "a1 a2 ..." "b1 b2 ..."
  local -a a b
  read -r -a a <<<"$1"
  read -r -a b <<<"$2"
  local i list=() values=()
  for i in "${!a[@]}"; do
    values+=("$(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN {printf "%.1f", x / y * 100}')")
    list+=("${values[-1]} %")
  done
  echo "per round $(printf "%s, " "${list[@]}")median $(printf '%s\n' "${values[@]}" | median) %"
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

# Starts both servers with the working directory $1 (the content root, where appsettings.json is looked for).
start_servers() { # workdir
  local db=$DATA/http.db
  rm -f "$db" "$db-wal" "$db-shm"
  (cd "$1" && exec dotnet "$BIN/server/jobkeeper.dll" serve --urls "http://127.0.0.1:$JK_PORT" --db "$db") >"$OUT/http-server.log" 2>&1 &
  PIDS+=($!)
  (cd "$1" && exec dotnet "$BIN/bare/Jobkeeper.BareKestrel.dll" --urls "http://127.0.0.1:$BARE_PORT") >"$OUT/http-bare.log" 2>&1 &
  PIDS+=($!)
  # The same server with one API key (role admin): what a deployment with keys pays for authentication and roles.
  rm -f "$db-keyed" "$db-keyed-wal" "$db-keyed-shm"
  (cd "$1" && JOBKEEPER__APIKEYS__0__NAME=bench JOBKEEPER__APIKEYS__0__ROLES__0=admin \
    JOBKEEPER__APIKEYS__0__HASH="sha256:$(printf '%s' "$BENCH_KEY" | sha256sum | cut -d' ' -f1)" \
    exec dotnet "$BIN/server/jobkeeper.dll" serve --urls "http://127.0.0.1:$JK_KEYED_PORT" --db "$db-keyed") >"$OUT/http-server-keyed.log" 2>&1 &
  PIDS+=($!)
  wait_ready "http://127.0.0.1:$JK_PORT/health"
  wait_ready "http://127.0.0.1:$BARE_PORT/health"
  wait_ready "http://127.0.0.1:$JK_KEYED_PORT/health"
}

# One HTTP run: both servers up (started from the repository root, as documented), 100 jobs created to
# read back, warm-up, $HTTP_ROUNDS rounds of the four measurements.
http_suite() {
  ensure_wrk
  rm -f "$OUT/http-wrk.log" "$OUT/http-rounds.txt"
  local rounds=$HTTP_ROUNDS workdir=$ROOT
  port_free "$JK_PORT" || { echo "port $JK_PORT is in use; set JK_PORT" >&2; return 1; }
  port_free "$BARE_PORT" || { echo "port $BARE_PORT is in use; set BARE_PORT" >&2; return 1; }
  port_free "$JK_KEYED_PORT" || { echo "port $JK_KEYED_PORT is in use; set JK_KEYED_PORT" >&2; return 1; }
  log "http: wrk -t$WRK_THREADS -c$HTTP_CONNECTIONS -d${HTTP_DURATION}s, $rounds rounds"
  start_servers "$workdir"

  local ids=$OUT/http-ids.txt
  : >"$ids"
  for i in $(seq 1 100); do
    curl -sf -X POST -H 'Content-Type: application/json' \
      -d "{\"type\":\"audio.analyze\",\"labels\":{\"user\":\"u$i\"}}" "http://127.0.0.1:$JK_PORT/api/v1/jobs" |
      sed -E 's/^\{"id":"([^"]+)".*/\1/' >>"$ids"
    echo >>"$ids"
  done
  [ "$(grep -cE '^[0-9a-f-]{36}$' "$ids")" = 100 ] || { echo "could not create the jobs to read: $(head -3 "$ids")" >&2; return 1; }
  local keyed_ids=$OUT/http-ids-keyed.txt
  : >"$keyed_ids"
  for i in $(seq 1 100); do
    curl -sf -X POST -H 'Content-Type: application/json' -H "Authorization: Bearer $BENCH_KEY" \
      -d "{\"type\":\"audio.analyze\",\"labels\":{\"user\":\"u$i\"}}" "http://127.0.0.1:$JK_KEYED_PORT/api/v1/jobs" |
      sed -E 's/^\{"id":"([^"]+)".*/\1/' >>"$keyed_ids"
    echo >>"$keyed_ids"
  done
  [ "$(grep -cE '^[0-9a-f-]{36}$' "$keyed_ids")" = 100 ] || { echo "could not create the jobs to read with a key: $(head -3 "$keyed_ids")" >&2; return 1; }

  local jk=http://127.0.0.1:$JK_PORT bare=http://127.0.0.1:$BARE_PORT keyed=http://127.0.0.1:$JK_KEYED_PORT
  local post=$ROOT/bench/wrk/post.lua get=$ROOT/bench/wrk/get.lua
  local name result
  local -A rps=()
  local -a names=("bare GET" "jobkeeper GET" "jobkeeper GET with a key" "bare POST" "jobkeeper POST" "jobkeeper POST without labels")
  local -A urls=(["bare GET"]=$bare ["jobkeeper GET"]=$jk ["jobkeeper GET with a key"]=$keyed ["bare POST"]=$bare ["jobkeeper POST"]=$jk ["jobkeeper POST without labels"]=$jk)
  local -A scripts=(["bare GET"]=$get ["jobkeeper GET"]=$get ["jobkeeper GET with a key"]=$get ["bare POST"]=$post ["jobkeeper POST"]=$post ["jobkeeper POST without labels"]=$post)
  local -A args=(["bare GET"]="/bare/ $ids" ["jobkeeper GET"]="/api/v1/jobs/ $ids" ["jobkeeper GET with a key"]="/api/v1/jobs/ $keyed_ids $BENCH_KEY" ["bare POST"]="/bare" ["jobkeeper POST"]="/api/v1/jobs" ["jobkeeper POST without labels"]="/api/v1/jobs nolabels")

  # Warm-up (JIT, tiering, connections): 3 s each, not counted.
  local saved=$HTTP_DURATION
  HTTP_DURATION=3
  for name in "${names[@]}"; do
    # shellcheck disable=SC2086
    run_wrk "warm-up $name" "${urls[$name]}" "${scripts[$name]}" ${args[$name]} >/dev/null
  done
  HTTP_DURATION=$saved

  for round in $(seq 1 "$rounds"); do
    for name in "${names[@]}"; do
      # shellcheck disable=SC2086
      result=$(run_wrk "round $round $name" "${urls[$name]}" "${scripts[$name]}" ${args[$name]})
      echo "round $round | $name | $result" | tee -a "$OUT/http-rounds.txt"
      rps[$name]="${rps[$name]:-} $(cut -d' ' -f1 <<<"$result")"
      if [ "$(cut -d' ' -f2 <<<"$result")" != 0 ] || [ "$(cut -d' ' -f3 <<<"$result")" != 0 ]; then
        echo "WARNING: $name had non-2xx responses or socket errors: $result" | tee -a "$OUT/http-rounds.txt"
      fi
    done
  done

  local jobs_after
  jobs_after=$(curl -sf "$jk/health" | sed -E 's/.*"jobs_count":([0-9]+).*/\1/')
  stop_all

  local g p bg bp
  # shellcheck disable=SC2086
  {
    g=$(printf '%s\n' ${rps["jobkeeper GET"]} | median)
    bg=$(printf '%s\n' ${rps["bare GET"]} | median)
    p=$(printf '%s\n' ${rps["jobkeeper POST"]} | median)
    bp=$(printf '%s\n' ${rps["bare POST"]} | median)
    echo "wrk -t$WRK_THREADS -c$HTTP_CONNECTIONS -d${HTTP_DURATION}s --latency; order per round: $(printf '%s, ' "${names[@]}" | sed 's/, $//')"
    echo
    echo "| endpoint | req/s (median of $rounds) | each round |"
    echo "| --- | ---: | --- |"
    for name in "${names[@]}"; do
      echo "| $name | $(printf '%s\n' ${rps[$name]} | median) | ${rps[$name]} |"
    done
    echo
    echo "- jobkeeper GET / bare GET: $(ratios "${rps["jobkeeper GET"]}" "${rps["bare GET"]}") (ratio of the medians $(awk -v a="$g" -v b="$bg" 'BEGIN {printf "%.0f %%", a / b * 100}'))"
    echo "- jobkeeper GET with a key / bare GET: $(ratios "${rps["jobkeeper GET with a key"]}" "${rps["bare GET"]}")"
    echo "- jobkeeper POST / bare POST: $(ratios "${rps["jobkeeper POST"]}" "${rps["bare POST"]}") (ratio of the medians $(awk -v a="$p" -v b="$bp" 'BEGIN {printf "%.0f %%", a / b * 100}'))"
    local pp
    pp=$(printf '%s\n' ${rps["jobkeeper POST without labels"]} | median)
    echo "- jobkeeper POST without labels / bare POST: $(ratios "${rps["jobkeeper POST without labels"]}" "${rps["bare POST"]}") (ratio of the medians $(awk -v a="$pp" -v b="$bp" 'BEGIN {printf "%.0f %%", a / b * 100}'))"
    echo "- jobs in the store after the run: $jobs_after; server log: $(wc -l <"$OUT/http-server.log") lines, bare log: $(wc -l <"$OUT/http-bare.log") lines"
  } | tee "$OUT/http.md"
}

# PostgreSQL for the postgres and compare suites: PG_BENCH (an Npgsql connection string) when given, else one
# throwaway cluster (scripts/postgres.sh) shared by both suites in this run, so they are measured on the same server.
ensure_postgres() {
  if [ -n "${PG_BENCH:-}" ]; then return; fi
  PG_DIR=$DATA/pg
  PG_BENCH=$(bash "$ROOT/scripts/postgres.sh" start "$PG_DIR" | tail -n 1)
  export PG_BENCH
  local port
  port=$(cat "$PG_DIR/port")
  export PG_URL="postgres://postgres@127.0.0.1:$port/jobkeeper_test"
  log "postgres: $PG_BENCH"
}

machine_info
build
for suite in "${SUITES[@]}"; do
  case $suite in
    store | get | writes | list | micro | experiments) bench "$suite" ;;
    throughput) bench throughput --rounds "$THROUGHPUT_ROUNDS" ;;
    cleanup) bench cleanup --rounds "$CLEANUP_ROUNDS" ;;
    workers) bench workers --rounds "$WORKERS_ROUNDS" ;;
    flow) ensure_postgres; bench flow --rounds "${FLOW_ROUNDS:-3}" --jobs "${FLOW_JOBS:-20000}" ;;
    http-workers) bench http-workers --rounds "$WORKERS_ROUNDS" --server "$BIN/server/jobkeeper.dll" --port "$HTTP_WORKERS_PORT" ;;
    http) http_suite ;;
    postgres) ensure_postgres; bench postgres --rounds "${POSTGRES_ROUNDS:-3}" --jobs "${POSTGRES_JOBS:-50000}" ;;
    compare) ensure_postgres; ROUNDS="${COMPARE_ROUNDS:-3}" bash "$ROOT/bench/compare/run.sh" ;;
    *) echo "unknown suite: $suite" >&2; exit 2 ;;
  esac
done
log "done; results in $OUT"
