#!/usr/bin/env bash
# The Python and TypeScript clients' own tests, against one real `jobkeeper serve` (the build of this checkout, on a
# throwaway SQLite file; tests that need API keys start servers of their own with the same executable). Installs the
# Python package with pip (--no-build-isolation: its in-tree build backend needs only the standard library) and the
# TypeScript package's dev dependencies with npm ci. The last line is "clients: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
configuration="${CONFIGURATION:-Release}"
log_dir="${TEST_RESULTS_DIR:-artifacts/test-results}"
mkdir -p "$log_dir"

# JOBKEEPER_SERVER may name another build of the server (the single file of scripts/publish-single-file.sh, say).
export JOBKEEPER_SERVER="${JOBKEEPER_SERVER:-$root/src/Jobkeeper.Server/bin/$configuration/net10.0/jobkeeper}"
if [ ! -x "$JOBKEEPER_SERVER" ]; then
  echo "$JOBKEEPER_SERVER is missing: build the solution first (dotnet build Jobkeeper.slnx -c $configuration)"
  echo "clients: 0 passed, 1 failed"
  exit 1
fi

source scripts/lib/temp-server.sh
trap stop_temp_server EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

if ! start_temp_server "$JOBKEEPER_SERVER" "$log_dir/clients-server.log"; then
  echo "jobkeeper serve did not start; its log:"; cat "$log_dir/clients-server.log"
  echo "clients: 0 passed, 1 failed"
  exit 1
fi
export JOBKEEPER_URL="$temp_server_url"
unset JOBKEEPER_API_KEY
echo "server: $JOBKEEPER_URL ($JOBKEEPER_SERVER)"

passed=0
failed=0

echo "== python client"
python_log="$log_dir/python-client.log"
if python3 -m pip install --root-user-action=ignore --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps -q ./clients/python > "$python_log" 2>&1; then
  python3 -m unittest discover -s clients/python/tests -t clients/python -v 2>&1 | tee -a "$python_log"
  # unittest ends with "Ran N tests" and "OK" or "FAILED (failures=F, errors=E, ...)".
  read -r ran bad < <(awk '/^Ran [0-9]+ tests?/ {ran = $2}
       /^FAILED \(/ {n = 0; while (match($0, /(failures|errors|unexpected successes)=[0-9]+/)) {
                       split(substr($0, RSTART, RLENGTH), kv, "="); n += kv[2]; $0 = substr($0, RSTART + RLENGTH) } bad = n}
       END {printf "%d %d\n", ran, bad}' "$python_log")
  if [ "${ran:-0}" -eq 0 ]; then bad=$(( ${bad:-0} + 1 )); fi
  passed=$(( passed + ran - bad )); failed=$(( failed + bad ))
  echo "python: $(( ran - bad )) passed, $bad failed"
else
  cat "$python_log"
  echo "python: pip install --no-build-isolation ./clients/python failed"
  failed=$(( failed + 1 ))
fi

echo "== typescript client"
ts_log="$log_dir/typescript-client.log"
if (cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error) > "$ts_log" 2>&1; then
  (cd clients/typescript && npm test) 2>&1 | tee -a "$ts_log"
  # node --test ends with "# pass N" and "# fail N".
  read -r ts_pass ts_fail < <(awk '/^# pass [0-9]+/ {p = $3} /^# fail [0-9]+/ {f = $3} END {printf "%d %d\n", p, f}' "$ts_log")
  if [ "${ts_pass:-0}" -eq 0 ]; then ts_fail=$(( ${ts_fail:-0} + 1 )); fi
  passed=$(( passed + ts_pass )); failed=$(( failed + ts_fail ))
  echo "typescript: $ts_pass passed, $ts_fail failed"
else
  cat "$ts_log"
  echo "typescript: npm ci failed"
  failed=$(( failed + 1 ))
fi

# What the end-to-end tests saw (1,000 jobs, a worker killed with kill -9 in the middle).
grep -ho "e2e: .*" "$python_log" 2>/dev/null | sed 's/^/  python /'
grep -ho "e2e: .*" "$ts_log" 2>/dev/null | sed 's/^/  typescript /'
echo "clients: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
