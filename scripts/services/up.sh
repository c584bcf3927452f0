#!/usr/bin/env bash
# Start every service the tests use (PostgreSQL, an S3 server, a SoftHSM2
# token) with their state under DIR, and write DIR/env.sh with the export
# lines the tests read, plus C4GH_REQUIRE_SERVICES=1 so a test that cannot
# find its service fails instead of skipping.
#
#   up.sh DIR     start (idempotent), then `source DIR/env.sh`
#   down.sh DIR   stop them all
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
dir=$(cd "$1" && pwd -P)
env=$dir/env.sh
: > "$env.tmp"
for svc in postgres s3 softhsm; do
  echo "services: starting $svc" >&2
  "$here/$svc.sh" start "$dir/$svc" >> "$env.tmp"
done
echo "export C4GH_SERVICES_DIR=$dir" >> "$env.tmp"
echo "export C4GH_REQUIRE_SERVICES=1" >> "$env.tmp"
mv "$env.tmp" "$env"
echo "services: ready; source $env" >&2
