#!/usr/bin/env bash
# Worker throughput through each SDK: the .NET client's RunWorkerAsync, the Python package's Worker and the TypeScript
# package's Worker, each on no-op jobs with batch claims against a fresh `jobkeeper serve` (SQLite) per measurement,
# rounds interleaved so the three see the same machine. Results: docs/benchmarks.md § Workers through each SDK.
#
#   bench/sdk-workers.sh                 # ROUNDS=3 JOBS=20000, Release build of this checkout
#   ROUNDS=5 JOBS=30000 SDKS="python typescript" bench/sdk-workers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
ROUNDS="${ROUNDS:-3}"
JOBS="${JOBS:-20000}"
SDKS="${SDKS:-dotnet python typescript}"
PY_CONCURRENCY="${PY_CONCURRENCY:-16}"
TS_CONCURRENCY="${TS_CONCURRENCY:-256}"
DOTNET_CONCURRENCY="${DOTNET_CONCURRENCY:-64}"

dotnet build -c Release src/Jobkeeper.Server -nologo -clp:ErrorsOnly >/dev/null
dotnet build -c Release bench/Jobkeeper.Benchmarks -nologo -clp:ErrorsOnly >/dev/null
python3 -m pip install --root-user-action=ignore --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps -q ./clients/python
(cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) >/dev/null
server="$root/src/Jobkeeper.Server/bin/Release/net10.0/jobkeeper"
bench_dll="$root/bench/Jobkeeper.Benchmarks/bin/Release/net10.0/Jobkeeper.Benchmarks.dll"

source scripts/lib/temp-server.sh
trap stop_temp_server EXIT

measure() {
  local sdk=$1 line log
  log=$(mktemp)
  start_temp_server "$server" "$log" || { echo "jobkeeper serve did not start:" >&2; cat "$log" >&2; exit 1; }
  local url=$temp_server_url
  case "$sdk" in
    dotnet) line=$(dotnet "$bench_dll" client-worker --url "$url/" --jobs "$JOBS" --concurrency "$DOTNET_CONCURRENCY" | tail -n 1) ;;
    python) line=$(python3 clients/python/bench/throughput.py --url "$url" --jobs "$JOBS" --concurrency "$PY_CONCURRENCY" | tail -n 1) ;;
    typescript) line=$(node clients/typescript/bench/throughput.mjs --url "$url" --jobs "$JOBS" --concurrency "$TS_CONCURRENCY" | tail -n 1) ;;
  esac
  stop_temp_server
  rm -f "$log"
  echo "$line" | grep -oE '[0-9][0-9,]*(\.[0-9]+)? jobs/s' | tail -n 1 | cut -d' ' -f1 | tr -d ,
}

declare -A results
echo "worker throughput, no-op jobs, $JOBS per measurement, $ROUNDS rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$ROUNDS"); do
  for sdk in $SDKS; do
    value=$(measure "$sdk")
    results[$sdk]="${results[$sdk]:-} $value"
    echo "round $round: $sdk $value jobs/s"
  done
done
for sdk in $SDKS; do
  # shellcheck disable=SC2086
  echo "$sdk: $(printf '%s\n' ${results[$sdk]} | sort -n | awk '{v[NR] = $1} END {printf "median %.0f jobs/s (min %.0f, max %.0f)", v[int((NR + 1) / 2)], v[1], v[NR]}')"
done
