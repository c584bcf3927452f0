#!/usr/bin/env bash
# Load benchmarks of the archive server on loopback (real server, SQLite,
# local objects): re-encrypted download of a 1 GiB object beside a plain
# net/http file download of the same bytes, header re-encryption (HTTP and
# library), and htsget ticket latency at 100 concurrent clients. Counts
# and sizes are bounded; each benchmark runs 5 times for medians.
#
#   scripts/bench-server.sh [BYTES]     (default 1073741824)
set -euo pipefail
cd "$(dirname "$0")/.."
export C4GH_BENCH_BYTES=${1:-1073741824}
out=$(mktemp)
run() { go test -run '^$' -bench "$1" -benchtime "$2" -count 5 ./internal/server | tee -a "$out"; }
run 'ServerDownload$|LoopbackBaseline$' 3x
run 'ServerHeaderReencrypt$|HeaderReencryptLibrary$' 300x
run 'ServerHtsgetTicket100Clients$' 3000x
echo "== medians of 5"
# One line per (benchmark, unit, value); the median is the middle value.
awk '/^Benchmark/ { name=$1; sub(/-[0-9]+$/, "", name); for (i=3; i<NF; i+=2) print name, $(i+1), $i }' "$out" |
  sort -k1,1 -k2,2 -k3,3g |
  awk '{ k=$1" "$2; v[k]=v[k]" "$3; n[k]++ } END { for (k in v) { split(substr(v[k],2), a, " "); print k, a[int((n[k]+1)/2)] } }' | sort
rm -f "$out"
