#!/usr/bin/env bash
# A throwaway S3 server for the tests: versitygw with its POSIX backend.
#
#   s3.sh start DIR   build versitygw if it is not cached, start it on
#                     127.0.0.1 with its data under DIR, create a bucket and
#                     print export lines for C4GH_TEST_S3_ENDPOINT,
#                     C4GH_TEST_S3_ACCESS_KEY, C4GH_TEST_S3_SECRET_KEY and
#                     C4GH_TEST_S3_BUCKET
#   s3.sh stop DIR    stop the server started in DIR (by PID); a no-op when
#                     it is not running
#
# The binary is built once with `go install` (about two minutes) and kept
# in ${C4GH_TOOLS_DIR:-$HOME/.cache/crypt4gh-tools}/versitygw-VERSION.
# Everything else lives under DIR: objects (DIR/data), metadata
# (DIR/meta), the log (DIR/versitygw.log), the PID, the port and the
# credentials, which a later start reuses so clients keep working across a
# restart. Only the export lines go to stdout.
set -euo pipefail

version=v1.8.0
bucket=c4gh-test

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
log() { echo "s3.sh: $*" >&2; }

[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2"
dir=$(cd "$2" && pwd -P)
tools=${C4GH_TOOLS_DIR:-$HOME/.cache/crypt4gh-tools}/versitygw-$version
bin=$tools/bin/versitygw

build() {
  [ -x "$bin" ] && return
  local go=go
  command -v go >/dev/null || go=/usr/local/go/bin/go
  log "building versitygw $version into $tools (once; takes a few minutes)"
  mkdir -p "$tools"
  # Outside any module, so the project's go.mod plays no part.
  (cd "$tools" && GOBIN=$tools/bin GOFLAGS=-buildvcs=false "$go" install \
    "github.com/versity/versitygw/cmd/versitygw@$version") >&2
}

running_pid() {
  local pid
  [ -f "$dir/versitygw.pid" ] || return 1
  pid=$(cat "$dir/versitygw.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! port_open "$p"; then echo "$p"; return; fi
  done
  log "no free port found"; return 1
}

hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }

print_env() {
  # shellcheck source=/dev/null
  . "$dir/credentials"
  echo "export C4GH_TEST_S3_ENDPOINT=127.0.0.1:$(cat "$dir/port")"
  echo "export C4GH_TEST_S3_ACCESS_KEY=$access"
  echo "export C4GH_TEST_S3_SECRET_KEY=$secret"
  echo "export C4GH_TEST_S3_BUCKET=$bucket"
}

start() {
  build
  if running_pid >/dev/null; then print_env; return; fi
  if [ ! -f "$dir/credentials" ]; then
    (umask 077; printf 'access=%s\nsecret=%s\n' "$(hex 10)" "$(hex 20)" >"$dir/credentials")
  fi
  # shellcheck source=/dev/null
  . "$dir/credentials"
  # A directory under the gateway root is a bucket; metadata goes to a
  # sidecar directory so the file system needs no extended attributes.
  mkdir -p "$dir/data/$bucket" "$dir/meta"

  local port tries=0 pid
  while :; do
    if [ -f "$dir/port" ]; then port=$(cat "$dir/port"); else port=$(free_port); fi
    ROOT_ACCESS_KEY_ID=$access ROOT_SECRET_ACCESS_KEY=$secret \
      setsid "$bin" --port "127.0.0.1:$port" --region us-east-1 --quiet \
      posix --sidecar "$dir/meta" "$dir/data" \
      </dev/null >>"$dir/versitygw.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/versitygw.pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      if port_open "$port"; then
        echo "$port" >"$dir/port"
        print_env
        return
      fi
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    rm -f "$dir/versitygw.pid" "$dir/port" # maybe the port was taken: pick another
    tries=$((tries + 1))
    if [ $tries -ge 3 ]; then log "versitygw did not start; see $dir/versitygw.log"; exit 1; fi
  done
}

stop() {
  local pid
  pid=$(running_pid) || { rm -f "$dir/versitygw.pid"; return 0; }
  kill -TERM "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/versitygw.pid"; return 0; }
    sleep 0.1
  done
  log "versitygw (pid $pid) did not stop in 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/versitygw.pid"
}

case $cmd in
start) start ;;
stop) stop ;;
*) usage ;;
esac
