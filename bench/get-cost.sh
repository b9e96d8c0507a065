#!/usr/bin/env bash
# The hot GET /api/v1/jobs/{id} of one or two server builds side by side with bare Kestrel, in alternating rounds:
# req/s, the server process's CPU per request (utime+stime from /proc/PID/stat over the wrk run) and its allocations
# per request (dotnet.gc.heap.total_allocated from dotnet-counters over the same run), open and with an API key.
#
#   bench/get-cost.sh DIR_A [DIR_B]   # each DIR holds server/ (a Release build of src/Jobkeeper.Server) and bare/
#                                     # (of bench/Jobkeeper.BareKestrel); bare is taken from DIR_A
#
# Settings (environment): ROUNDS (3), DURATION (s per wrk run, 10), CONNECTIONS (64), PORT_BASE (5600).
# Needs wrk and dotnet-counters (dotnet tool install -g dotnet-counters). Every process started is stopped on exit.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-64}
PORT_BASE=${PORT_BASE:-5600}
COUNTERS=${COUNTERS:-$HOME/.dotnet/tools/dotnet-counters}
KEY=jk_bench_key_for_loopback_only
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
GET=$ROOT/bench/wrk/get.lua
DIRS=("$@")
[ ${#DIRS[@]} -ge 1 ] || { echo "usage: $0 DIR_A [DIR_B]" >&2; exit 2; }

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_ready() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; echo "no answer from $1" >&2; return 1; }

declare -A PID_OF URL_OF ARGS_OF
NAMES=()
start() { # name port dir keyed
  local name=$1 port=$2 dir=$3 keyed=$4 db=$WORK/$1.db
  if [ "$keyed" = 1 ]; then
    (cd "$WORK" && JOBKEEPER__APIKEYS__0__NAME=bench JOBKEEPER__APIKEYS__0__ROLES__0=admin \
      JOBKEEPER__APIKEYS__0__HASH="sha256:$(printf '%s' "$KEY" | sha256sum | cut -d' ' -f1)" \
      exec dotnet "$dir/server/jobkeeper.dll" serve --urls "http://127.0.0.1:$port" --db "$db") >"$WORK/$name.log" 2>&1 &
  else
    (cd "$WORK" && exec dotnet "$dir/server/jobkeeper.dll" serve --urls "http://127.0.0.1:$port" --db "$db") >"$WORK/$name.log" 2>&1 &
  fi
  PIDS+=($!)
  PID_OF[$name]=$!
  URL_OF[$name]=http://127.0.0.1:$port
  NAMES+=("$name")
  wait_ready "http://127.0.0.1:$port/health"
  local ids=$WORK/$name.ids auth=()
  [ "$keyed" = 1 ] && auth=(-H "Authorization: Bearer $KEY")
  for i in $(seq 1 100); do
    curl -sf -X POST -H 'Content-Type: application/json' "${auth[@]}" \
      -d "{\"type\":\"audio.analyze\",\"labels\":{\"user\":\"u$i\"}}" "http://127.0.0.1:$port/api/v1/jobs" |
      sed -E 's/^\{"id":"([^"]+)".*/\1/'
    echo
  done >"$ids"
  ARGS_OF[$name]="/api/v1/jobs/ $ids"
  [ "$keyed" = 1 ] && ARGS_OF[$name]+=" $KEY"
  return 0
}

(cd "$WORK" && exec dotnet "${DIRS[0]}/bare/Jobkeeper.BareKestrel.dll" --urls "http://127.0.0.1:$PORT_BASE") >"$WORK/bare.log" 2>&1 &
PIDS+=($!)
PID_OF[bare]=$!
URL_OF[bare]=http://127.0.0.1:$PORT_BASE
NAMES+=(bare)
wait_ready "http://127.0.0.1:$PORT_BASE/health"
seq -f "id%g" 1 100 >"$WORK/bare.ids"
ARGS_OF[bare]="/bare/ $WORK/bare.ids"
port=$PORT_BASE
for d in "${!DIRS[@]}"; do
  label=$([ "$d" = 0 ] && echo A || echo B)
  start "$label-open" $((++port)) "${DIRS[$d]}" 0
  start "$label-key" $((++port)) "${DIRS[$d]}" 1
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

# One measurement: prints "req/s cpu_us_per_req alloc_B_per_req non2xx".
measure() { # name seconds
  local name=$1 secs=$2 pid=${PID_OF[$1]} before after text requests csv=$WORK/counters.csv
  rm -f "$csv"
  "$COUNTERS" collect -p "$pid" --counters "System.Runtime[dotnet.gc.heap.total_allocated]" --format csv -o "$csv" \
    --refresh-interval 1 --duration "00:00:00:$(printf '%02d' $((secs + 2)))" >/dev/null 2>&1 &
  local cpid=$!
  sleep 1
  before=$(cpu_ticks "$pid")
  # shellcheck disable=SC2086
  text=$(wrk -t1 -c"$CONNECTIONS" -d"${secs}s" -s "$GET" "${URL_OF[$name]}" -- ${ARGS_OF[$name]})
  after=$(cpu_ticks "$pid")
  wait "$cpid" || true
  requests=$(awk '/requests in/ {print $1}' <<<"$text")
  local rps non2xx alloc
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$text")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$text")
  alloc=$(awk -F, '/total_allocated/ {s += $NF} END {print s + 0}' "$csv" 2>/dev/null || echo 0)
  awk -v r="$rps" -v n="$requests" -v t=$((after - before)) -v hz="$HZ" -v a="$alloc" -v x="${non2xx:-0}" \
    'BEGIN {printf "%.0f %.1f %.0f %s\n", r, t / hz * 1e6 / n, a / n, x}'
}

for name in "${NAMES[@]}"; do measure "$name" 3 >/dev/null; done   # warm-up: JIT, tiering, connections
echo "wrk -t1 -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds; A=${DIRS[0]}${DIRS[1]:+ B=${DIRS[1]}}"
echo "| round | server | req/s | % of bare | CPU µs/req | alloc B/req | non-2xx |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
for round in $(seq 1 "$ROUNDS"); do
  bare_rps=""
  for name in "${NAMES[@]}"; do
    read -r rps cpu alloc non2xx < <(measure "$name" "$DURATION")
    [ "$name" = bare ] && bare_rps=$rps
    echo "| $round | $name | $rps | $(awk -v a="$rps" -v b="$bare_rps" 'BEGIN {printf "%.1f", a / b * 100}') | $cpu | $alloc | $non2xx |"
  done
done
