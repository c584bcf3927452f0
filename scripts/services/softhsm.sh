#!/usr/bin/env bash
# SoftHSM2 for the PKCS#11 tests (internal/pkcs11key).
#
#   softhsm.sh start DIR   install softhsm2 if missing, create a token
#                          "c4gh-test" whose state lives under DIR, and
#                          print the export lines the tests read
#   softhsm.sh stop DIR    nothing to stop: SoftHSM2 is a library loaded
#                          by the tests, not a daemon (kept for the
#                          common service-script interface)
#
# Only the export lines go to stdout; everything else goes to DIR/softhsm.log.
# Running start again reuses the token and its PIN, so it is idempotent.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
dir=$2
log=/dev/null
label=c4gh-test

# find_module prints the path of libsofthsm2.so: the Debian path (a
# symlink into the multiarch directory) if present, else whatever dpkg
# says the package installed, else the usual places.
find_module() {
  local p
  if [ -f /usr/lib/softhsm/libsofthsm2.so ]; then echo /usr/lib/softhsm/libsofthsm2.so; return 0; fi
  p=$(dpkg -L libsofthsm2 softhsm2 2>/dev/null | grep -E '/libsofthsm2\.so$' | head -n1 || true)
  if [ -n "$p" ] && [ -f "$p" ]; then echo "$p"; return 0; fi
  for p in /usr/lib/*/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
    if [ -f "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

install_softhsm() {
  if command -v softhsm2-util >/dev/null 2>&1 && find_module >/dev/null; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Other service scripts may be installing at the same time: wait for the
  # dpkg lock instead of failing.
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -q)
  if ! "${apt[@]}" install -y softhsm2 >>"$log" 2>&1; then
    "${apt[@]}" update >>"$log" 2>&1
    "${apt[@]}" install -y softhsm2 >>"$log" 2>&1
  fi
}

# random_pin prints 24 hex digits. Stored in DIR so a second start reuses
# the token that the first one initialised.
random_pin() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }

start() {
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd) # SOFTHSM2_CONF and tokendir must be absolute
  log=$dir/softhsm.log
  install_softhsm
  local module
  module=$(find_module) || { echo "softhsm.sh: libsofthsm2.so not found after install" >&2; exit 1; }

  mkdir -p "$dir/tokens"
  chmod 700 "$dir/tokens"
  local conf=$dir/softhsm2.conf
  cat >"$conf" <<EOF
directories.tokendir = $dir/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
  export SOFTHSM2_CONF=$conf

  local pinfile=$dir/user.pin sopinfile=$dir/so.pin
  ( umask 077
    [ -s "$pinfile" ] || random_pin >"$pinfile"
    [ -s "$sopinfile" ] || random_pin >"$sopinfile" )
  local pin sopin
  pin=$(cat "$pinfile")
  sopin=$(cat "$sopinfile")

  if ! softhsm2-util --show-slots 2>>"$log" | grep -qE "Label:[[:space:]]+$label[[:space:]]*$"; then
    softhsm2-util --init-token --free --label "$label" --so-pin "$sopin" --pin "$pin" >>"$log" 2>&1
  fi

  printf 'export SOFTHSM2_CONF=%q\n' "$conf"
  printf 'export C4GH_TEST_PKCS11_MODULE=%q\n' "$module"
  printf 'export C4GH_TEST_PKCS11_TOKEN=%q\n' "$label"
  printf 'export C4GH_TEST_PKCS11_PIN=%q\n' "$pin"
}

case "$cmd" in
  start) start ;;
  stop) : ;;
  *) usage ;;
esac
