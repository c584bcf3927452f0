#!/usr/bin/env bash
# Stop the services up.sh started in DIR.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
for svc in postgres s3 softhsm; do
  [ -d "$1/$svc" ] && "$here/$svc.sh" stop "$1/$svc" || true
done
