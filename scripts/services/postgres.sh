#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests.
#
#   postgres.sh start DIR   install Debian's postgresql if missing, create a
#                           cluster in DIR (first run only), start it on
#                           127.0.0.1 and print
#                             export C4GH_TEST_POSTGRES_DSN=postgres://...
#   postgres.sh stop DIR    stop the server started in DIR (by PID); a no-op
#                           when it is not running
#
# Everything lives under DIR: the cluster (DIR/pgdata), the Unix socket,
# the log (DIR/postgres.log), the chosen port (DIR/port, reused by a later
# start so clients reconnect to the same address) and the password
# (DIR/password). Only the export line goes to stdout. Runs as root: the
# server itself runs as the postgres user, which must be able to reach DIR.
# The server trades durability for speed (fsync off): it is for tests only.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
log() { echo "postgres.sh: $*" >&2; }

[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd -P)
data=$dir/pgdata
db=c4gh_test

pgbin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

install() {
  if pgbin >/dev/null && id postgres >/dev/null 2>&1; then return; fi
  log "installing postgresql"
  if ! apt-get install -y -q postgresql >&2; then
    apt-get update -q >&2
    apt-get install -y -q postgresql >&2
  fi
}

running_pid() {
  local pid
  [ -f "$data/postmaster.pid" ] || return 1
  pid=$(head -n 1 "$data/postmaster.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# A port nothing listens on (bash's /dev/tcp connects or fails).
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  log "no free port found"; return 1
}

as_pg() { runuser -u postgres -- "$@"; }

print_env() {
  echo "export C4GH_TEST_POSTGRES_DSN=postgres://postgres:$(cat "$dir/password")@127.0.0.1:$(cat "$dir/port")/$db?sslmode=disable"
}

start() {
  install
  local bin
  bin=$(pgbin)
  if running_pid >/dev/null; then print_env; return; fi

  touch "$dir/postgres.log"
  chown postgres: "$dir" "$dir/postgres.log"
  chmod 700 "$dir"
  if ! as_pg test -w "$dir"; then
    log "the postgres user cannot write to $dir: make every parent directory searchable (chmod o+x)"
    exit 1
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    rm -rf "$data"
    # Hex, so the password needs no escaping in a URL.
    (umask 077; head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/password")
    chown postgres: "$dir/password"
    as_pg "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 --pwfile="$dir/password" >>"$dir/postgres.log" 2>&1 \
      || { log "initdb failed; see $dir/postgres.log"; exit 1; }
  fi

  local port tries=0
  while :; do
    if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(free_port); fi
    if as_pg "$bin/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >>"$dir/postgres.log" 2>&1; then
      echo "$port" >"$dir/port"
      break
    fi
    tries=$((tries + 1))
    # A port taken since it was chosen: pick another (a remembered one
    # may be taken too, so forget it after the first failure).
    rm -f "$dir/port"
    if [ $tries -ge 3 ]; then log "could not start postgres; see $dir/postgres.log"; exit 1; fi
  done

  if ! as_pg "$bin/psql" -h "$dir" -p "$port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$db'" postgres | grep -q 1; then
    as_pg "$bin/createdb" -h "$dir" -p "$port" -U postgres "$db"
  fi
  print_env
}

stop() {
  local pid
  pid=$(running_pid) || return 0
  kill -INT "$pid" # fast shutdown: abort transactions, disconnect, checkpoint
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "postgres (pid $pid) did not stop in 30 s; sending SIGQUIT"
  kill -QUIT "$pid" 2>/dev/null || true
}

case $cmd in
start) start ;;
stop) stop ;;
*) usage ;;
esac
