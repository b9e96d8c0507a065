# Sourced by the scripts that need a throwaway `jobkeeper serve` on loopback (scripts/test-clients.sh,
# bench/sdk-workers.sh): a free port, a fresh SQLite file in a temp directory, ready once /health answers.
#
#   start_temp_server EXECUTABLE LOG   sets temp_server_url (and temp_server_pid, temp_server_dir); fails when the
#                                      server exits or has not answered within 30 s
#   stop_temp_server                   SIGTERM, then SIGKILL after 10 s; removes the directory

temp_server_pid=""
temp_server_dir=""
temp_server_url=""

start_temp_server() {
  local executable=$1 log=$2 port
  temp_server_dir=$(mktemp -d "${TMPDIR:-/tmp}/jobkeeper-serve.XXXXXX")
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "$temp_server_dir" && exec "$executable" serve --urls "http://127.0.0.1:$port" --db "$temp_server_dir/jobkeeper.db") > "$log" 2>&1 &
  temp_server_pid=$!
  temp_server_url="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do
    curl -sf "$temp_server_url/health" >/dev/null && return 0
    kill -0 "$temp_server_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

stop_temp_server() {
  if [ -n "$temp_server_pid" ] && kill -0 "$temp_server_pid" 2>/dev/null; then
    kill "$temp_server_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$temp_server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$temp_server_pid" 2>/dev/null || true
    wait "$temp_server_pid" 2>/dev/null || true
  fi
  [ -n "$temp_server_dir" ] && rm -rf "$temp_server_dir"
  temp_server_pid=""
  temp_server_dir=""
}
