#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite and the comparison benchmarks.
#
#   scripts/postgres.sh start DIR   # prints the connection string (last line of stdout)
#   scripts/postgres.sh stop DIR    # stops the cluster and removes DIR
#
# start: installs Debian's `postgresql` package when no server is found under /usr/lib/postgresql/*/bin
# (as root), creates the OS user `jobkeeper-pg` when running as root (PostgreSQL refuses to run as
# root), runs initdb in DIR/data (superuser `postgres`, trust authentication, UTF8, --no-sync), and
# starts the server listening on 127.0.0.1 only, on the first free port from 55432 up (PG_PORT moves
# the start), with its unix socket in DIR/socket. Settings are for tests, but durability stays real
# (fsync=on, synchronous_commit=on). Then it creates the database `jobkeeper_test` and prints
#
#   Host=127.0.0.1;Port=N;Username=postgres;Database=jobkeeper_test
#
# as the last line of stdout (everything else goes to stderr) and leaves in DIR:
#
#   connection-string   that same line
#   port                the port
#   env                 `export JOBKEEPER_TEST_POSTGRES=...` and `export JOBKEEPER_TEST_POSTGRES_DIR=DIR`
#   pg_ctl.sh           a wrapper for outage tests: `DIR/pg_ctl.sh stop|start|restart|status [pg_ctl options]`
#                       runs pg_ctl on this cluster as the right user (`stop` uses -m fast unless
#                       given another -m). It is the same as `pg_ctl -D DIR/data -l DIR/postgres.log -w
#                       stop/start` run as `jobkeeper-pg`, so a test only needs to know DIR
#                       (JOBKEEPER_TEST_POSTGRES_DIR in scripts/test.sh).
#   postgres.log        the server log
#
# start is idempotent: a cluster left in DIR by an earlier start (running or not, e.g. after a crash
# or a kill -9) is stopped and replaced by a fresh one. A server of someone else's on the port is
# skipped over: the next free port is used. DIR may be missing, empty or an earlier cluster's
# directory; anything else is refused rather than deleted.
#
# stop is idempotent too: a missing DIR is fine; a server that does not stop with -m fast within
# 30 s is stopped with -m immediate.
set -euo pipefail

PG_OS_USER=${PG_OS_USER:-jobkeeper-pg}
PG_PORT=${PG_PORT:-55432}
PG_PORT_TRIES=${PG_PORT_TRIES:-50}
DATABASE=jobkeeper_test
MARKER=.jobkeeper-postgres

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { printf 'postgres.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

is_root() { [ "$(id -u)" = 0 ]; }

# The newest server installed from Debian's packages (PG_BIN overrides).
find_bin() {
  if [ -n "${PG_BIN:-}" ]; then
    [ -x "$PG_BIN/postgres" ] || die "PG_BIN=$PG_BIN has no postgres binary"
    echo "$PG_BIN"
    return
  fi
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
  fi
}

install_postgres() {
  is_root || die "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
  log "installing Debian's postgresql package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  # The package would create and start a default cluster on port 5432; this script runs its own, so
  # postgresql-common is installed first and told not to create one (as the official images do).
  apt-get install -y --no-install-recommends postgresql-common >&2
  if [ -f /etc/postgresql-common/createcluster.conf ]; then
    sed -ri 's/^#?\s*create_main_cluster\s*=.*$/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
  fi
  apt-get install -y --no-install-recommends postgresql >&2
}

ensure_user() {
  is_root || return 0
  if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    log "creating OS user $PG_OS_USER"
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$PG_OS_USER"
  fi
}

# Runs a command as the cluster's owner, from a directory it can read.
as_owner() {
  if is_root; then
    (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else
    (cd / && "$@")
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A live process (a zombie left by a kill -9 counts as gone: nothing to stop, its port is free).
alive() { # pid
  [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null &&
    [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# Stops whatever an earlier start left in DIR (postmaster.pid names the postmaster).
stop_cluster() { # dir bin
  local dir=$1 bin=$2 pid
  [ -f "$dir/data/postmaster.pid" ] || return 0
  pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
  alive "$pid" || return 0
  if [ -n "$bin" ]; then
    log "stopping the cluster in $dir"
    as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 30 -m fast stop >&2 ||
      as_owner "$bin/pg_ctl" -D "$dir/data" -w -t 30 -m immediate stop >&2 || true
  fi
  # Still there (pg_ctl missing or stuck): the postmaster is ours, named by its pid file in DIR.
  if alive "$pid" && [ "$(readlink -f "/proc/$pid/cwd" 2>/dev/null)" = "$(readlink -f "$dir/data")" ]; then
    log "killing postmaster $pid of $dir"
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# DIR is ours to wipe: missing, empty, or holding our marker.
check_dir_is_ours() { # dir
  local dir=$1
  [ -e "$dir" ] || return 0
  [ -d "$dir" ] || die "$dir exists and is not a directory"
  if [ -z "$(ls -A "$dir")" ] || [ -f "$dir/$MARKER" ]; then return 0; fi
  die "$dir is not empty and was not made by this script; refusing to touch it"
}

write_pg_ctl_wrapper() { # dir bin
  local dir=$1 bin=$2 owner=""
  if is_root; then owner=$PG_OS_USER; fi
  cat >"$dir/pg_ctl.sh" <<EOF
#!/usr/bin/env bash
# pg_ctl for the throwaway cluster in $dir (written by scripts/postgres.sh start).
#   $dir/pg_ctl.sh stop [-m fast|immediate|smart]   # default -m fast
#   $dir/pg_ctl.sh start | restart | status
set -euo pipefail
cmd=\${1:?usage: \$0 stop|start|restart|status [pg_ctl options]}
shift
args=(-D "$dir/data" -l "$dir/postgres.log" -w -t 60)
if [ "\$cmd" = stop ] || [ "\$cmd" = restart ]; then
  case " \$* " in *" -m "*) ;; *) args+=(-m fast) ;; esac
fi
owner="$owner"
cd /
if [ -n "\$owner" ] && [ "\$(id -u)" = 0 ]; then
  exec runuser -u "\$owner" -- "$bin/pg_ctl" "\${args[@]}" "\$@" "\$cmd"
fi
exec "$bin/pg_ctl" "\${args[@]}" "\$@" "\$cmd"
EOF
  chmod 755 "$dir/pg_ctl.sh"
}

start() { # dir
  local dir bin port attempt conn
  mkdir -p "$1"
  dir=$(cd "$1" && pwd -P)
  check_dir_is_ours "$dir"

  bin=$(find_bin)
  if [ -z "$bin" ]; then
    install_postgres
    bin=$(find_bin)
    [ -n "$bin" ] || die "no PostgreSQL server under /usr/lib/postgresql/*/bin after installing"
  fi
  ensure_user

  # A fresh cluster every time: whatever an earlier start left here goes first.
  stop_cluster "$dir" "$bin"
  find "$dir" -mindepth 1 -delete
  touch "$dir/$MARKER"
  mkdir -p "$dir/data" "$dir/socket"
  chmod 700 "$dir" "$dir/data"
  if is_root; then chown -R "$PG_OS_USER:" "$dir"; fi
  as_owner test -w "$dir/data" || die "$PG_OS_USER cannot write to $dir/data (is a parent directory closed to it?)"

  log "initdb ($("$bin/postgres" --version)) in $dir/data"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }

  # Loopback only: the unix socket (in DIR/socket, closed to other users) and 127.0.0.1.
  cat >"$dir/data/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF
  echo "include = 'jobkeeper.conf'" >>"$dir/data/postgresql.conf"

  port=$PG_PORT
  for attempt in $(seq 1 "$PG_PORT_TRIES"); do
    while port_in_use "$port"; do port=$((port + 1)); done
    cat >"$dir/data/jobkeeper.conf" <<EOF
# Written by scripts/postgres.sh: a throwaway cluster for tests and benchmarks.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/socket'
unix_socket_permissions = 0700
max_connections = 300
shared_buffers = 256MB
# Durability stays real: a commit that returned is on disk.
fsync = on
synchronous_commit = on
full_page_writes = on
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    if is_root; then chown "$PG_OS_USER:" "$dir/data/jobkeeper.conf" "$dir/data/pg_hba.conf"; fi
    : >"$dir/postgres.log"
    if is_root; then chown "$PG_OS_USER:" "$dir/postgres.log"; fi
    log "starting on 127.0.0.1:$port"
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >&2; then
      break
    fi
    if grep -q 'could not bind\|could not create any TCP/IP sockets\|Address already in use' "$dir/postgres.log"; then
      log "port $port was taken meanwhile; trying the next one"
      stop_cluster "$dir" "$bin"
      port=$((port + 1))
      continue
    fi
    cat "$dir/postgres.log" >&2
    stop_cluster "$dir" "$bin"
    die "the server did not start (log above)"
  done
  if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    die "no free port found from $PG_PORT in $PG_PORT_TRIES tries"
  fi

  for _ in $(seq 1 100); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then break; fi
    sleep 0.1
  done
  "$bin/pg_isready" -h 127.0.0.1 -p "$port" -U postgres -d postgres >&2 || die "server on port $port is not ready"

  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "CREATE DATABASE $DATABASE" >&2

  write_pg_ctl_wrapper "$dir" "$bin"
  conn="Host=127.0.0.1;Port=$port;Username=postgres;Database=$DATABASE"
  echo "$conn" >"$dir/connection-string"
  echo "$port" >"$dir/port"
  printf 'export JOBKEEPER_TEST_POSTGRES=%q\nexport JOBKEEPER_TEST_POSTGRES_DIR=%q\n' "$conn" "$dir" >"$dir/env"
  log "ready: $conn (dir $dir; $dir/pg_ctl.sh stop|start)"
  echo "$conn"
}

stop() { # dir
  local dir=$1 bin
  if [ ! -e "$dir" ]; then
    log "$dir does not exist; nothing to stop"
    return 0
  fi
  dir=$(cd "$dir" && pwd -P)
  check_dir_is_ours "$dir"
  bin=$(find_bin 2>/dev/null) || bin=""
  stop_cluster "$dir" "$bin"
  rm -rf "$dir"
  log "stopped and removed $dir"
}

[ $# -eq 2 ] || usage
case "$1" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
