#!/usr/bin/env bash
# The whole test suite, as README.md gives it and .ci/run runs it:
# vet, the core packages under the race detector, everything else, and a
# short smoke run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-8s}

# The real services the server and storage tests use: PostgreSQL, an S3
# server (versitygw) and a SoftHSM2 token, with their state in one
# directory, stopped when the tests end. C4GH_REQUIRE_SERVICES=1 (set by
# up.sh) turns a missing service into a test failure, not a skip.
services=${C4GH_SERVICES_DIR:-$(mktemp -d /tmp/c4gh-services.XXXXXX)}
chmod 755 "$services"
echo "== services ($services)"
scripts/services/up.sh "$services"
trap 'scripts/services/down.sh "$services"' EXIT
# shellcheck disable=SC1091
source "$services/env.sh"

echo "== go vet"
go vet ./...

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== tests (core packages with -race)"
core=". ./internal/format ./internal/segment ./internal/keyfile ./internal/sshkey ./internal/bcryptpbkdf ./internal/server ./internal/auth ./remote"
go test -race -count=1 $core

echo "== tests (everything)"
go test -count=1 ./...

echo "== fuzz smoke ($fuzztime per target)"
# fuzz_one runs one target. Go 1.26's coordinator can end a duration run
# with a bare "context deadline exceeded" although nothing failed (a race
# at the -fuzztime boundary, golang/go#75804, fixed in Go 1.27). A real
# finding always writes a reproducer ("Failing input written"), so only
# the bare deadline error gets one retry; any other failure fails the run.
fuzz_one() {
  local log
  log=$(mktemp)
  for attempt in 1 2; do
    if go test -run='^$' -fuzz="^$2\$" -fuzztime="$3" "$1" 2>&1 | tee "$log"; then
      rm -f "$log"
      return 0
    fi
    if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
      echo "-- $1 $2: deadline race at the end of -fuzztime (golang/go#75804), no failing input; retrying once"
      continue
    fi
    rm -f "$log"
    return 1
  done
}
# Every Fuzz function in the module, found from the source so none is missed.
grep -rl --include='*_test.go' '^func Fuzz' . | sort | while read -r file; do
  pkg=./$(dirname "${file#./}")
  for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    # A target whose every input runs a KDF is bounded by a count of
    # inputs instead of a duration: a duration deadline that falls while a
    # slow input is running makes Go's fuzz coordinator report a spurious
    # "context deadline exceeded".
    t=$fuzztime
    case "$pkg" in ./internal/bcryptpbkdf) t=${FUZZCOUNT_SLOW:-1500x} ;; esac
    echo "-- $pkg $fn ($t)"
    fuzz_one "$pkg" "$fn" "$t"
  done
done
echo "all tests passed"
