#!/usr/bin/env bash
# The whole test suite: prepares what the tests need, builds once, runs every test project, and
# ends with one line "N passed, N failed". Exit status is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

configuration="${CONFIGURATION:-Release}"
log_dir="${TEST_RESULTS_DIR:-artifacts/test-results}"
mkdir -p "$log_dir"
# The dashboard's browser tests drive Debian's chromium; install it when missing.
bash scripts/install-chromium.sh || { echo "chromium is missing and could not be installed"; echo "0 passed, 1 failed"; exit 1; }

echo "== build ($configuration)"
if ! dotnet build Jobkeeper.slnx -c "$configuration" -nologo -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# A throwaway PostgreSQL cluster for the PostgreSQL tests (scripts/postgres.sh), stopped on exit,
# also on failure or Ctrl+C. The tests find it through JOBKEEPER_TEST_POSTGRES (the connection
# string) and JOBKEEPER_TEST_POSTGRES_DIR (its directory; "$JOBKEEPER_TEST_POSTGRES_DIR/pg_ctl.sh
# stop|start" takes the server down and back up for outage tests). Those tests are part of the suite:
# a cluster that cannot be started fails the run.
echo "== postgres"
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/jobkeeper-test-pg.XXXXXX")
stop_postgres() { bash scripts/postgres.sh stop "$pg_dir" >/dev/null 2>&1 || true; }
trap stop_postgres EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM
if ! pg_connection=$(bash scripts/postgres.sh start "$pg_dir" | tail -n 1) || [ -z "$pg_connection" ]; then
  echo "FAILED: could not start the PostgreSQL test cluster (scripts/postgres.sh start $pg_dir); see the output above"
  echo "0 passed, 1 failed"
  exit 1
fi
export JOBKEEPER_TEST_POSTGRES="$pg_connection"
export JOBKEEPER_TEST_POSTGRES_DIR="$pg_dir"
echo "postgres: $JOBKEEPER_TEST_POSTGRES ($JOBKEEPER_TEST_POSTGRES_DIR)"

echo "== test"
output="$log_dir/dotnet-test.log"
run_started="$log_dir/.run-started"
touch "$run_started"
dotnet test Jobkeeper.slnx -c "$configuration" --no-build -nologo \
  --results-directory "$log_dir" --logger "trx" --logger "console;verbosity=normal" 2>&1 | tee "$output"
status=${PIPESTATUS[0]}

# Each test assembly ends with a block "Total tests: T / Passed: P / Failed: F / Skipped: S"; add them up. Another
# assembly's output may run on after a count on the same line ("Passed: 135  Passed Jobkeeper..."), so a count ends at
# a space as well as at the end of the line.
read -r passed failed skipped assemblies < <(
  awk '/^ *Total tests: [0-9]+( |$)/ {n++}
       /^ *Passed: [0-9]+( |$)/ {p += $2}
       /^ *Failed: [0-9]+( |$)/ {f += $2}
       /^ *Skipped: [0-9]+( |$)/ {s += $2}
       END {printf "%d %d %d %d\n", p, f, s, n}' "$output")

expected=$(find tests -maxdepth 2 -name '*.Tests.csproj' | wc -l)
if [ "${assemblies:-0}" -lt "$expected" ]; then
  echo "only ${assemblies:-0} of $expected test assemblies reported results"
  failed=$(( ${failed:-0} + 1 ))
fi
if [ "$status" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
  # A crashed test host reports no summary line of its own; count it as a failure.
  failed=1
fi

# The Python and TypeScript clients' tests, against a real server of this build (scripts/test-clients.sh).
echo "== clients"
clients_log="$log_dir/clients.log"
bash scripts/test-clients.sh 2>&1 | tee "$clients_log"
clients_status=${PIPESTATUS[0]}
read -r clients_passed clients_failed < <(awk '/^clients: [0-9]+ passed, [0-9]+ failed/ {p = $2; f = $4} END {printf "%d %d\n", p, f}' "$clients_log")
if [ "$clients_status" -ne 0 ] && [ "${clients_failed:-0}" -eq 0 ]; then
  clients_failed=1
fi
passed=$(( ${passed:-0} + ${clients_passed:-0} ))
failed=$(( ${failed:-0} + ${clients_failed:-0} ))

# What the load, generated-request, OpenAPI, election, trace and flow control tests measured in this run (their own output, kept in the trx files).
echo "== measured by the tests"
find "$log_dir" -name '*.trx' -newer "$run_started" -exec grep -ho -e 'fuzz: [^<&]*' -e 'wrong answers [^<&]*' -e 'SIGTERM with [^<&]*' \
  -e 'openapi examples: [^<&]*' -e 'generated client: [^<&]*' -e 'instance [0-9] killed (-9)[^<&]*' -e 'archive files per instance: [^<&]*' \
  -e 'trace [0-9a-f]\{32\}, job [^<&]*' -e 'flow cluster: [^<&]*' -e 'replayed [0-9]* status changes: [^<&]*' -e 'pause race[^<&]*' \
  -e 'resume through [^<&]*' -e 'resume: answered [^<&]*' {} + 2>/dev/null | sed 's/^/  /'

# Name the failed tests last, so that the end of the output says which ones failed and why.
if [ "${failed:-0}" -ne 0 ]; then
  echo "== failed"
  grep -h -A 12 -E '^ +Failed [A-Za-z_.]+' "$output" | cut -c1-400 | head -n 120
  grep -h -E '^not ok |FAIL:|ERROR:' "$clients_log" | head -n 20
fi
echo "test assemblies: ${assemblies:-0}; skipped: ${skipped:-0}"
echo "${passed:-0} passed, ${failed:-0} failed"
[ "$status" -eq 0 ] && [ "${failed:-0}" -eq 0 ]
