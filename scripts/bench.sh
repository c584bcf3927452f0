#!/usr/bin/env bash
# Benchmark crypt4gh-go against neicnordic/crypt4gh v1.15.0 and the raw
# ChaCha20-Poly1305 rate.
#
#   scripts/bench.sh [SIZE]        SIZE in bytes or with K/M/G (default 1G)
#
# Environment:
#   ROUNDS=5        CLI runs per command (alternating ours/neic)
#   COUNT=5         go test -count
#   BENCHTIME=1s    go test -benchtime
#   CMD_TIMEOUT=300 seconds allowed for one CLI run
#   BENCH_TIMEOUT=1800 seconds allowed for the go test run
#   KEEP=1          keep the work directory
#
# Every step has a time limit (builds 600 s each, CLI runs CMD_TIMEOUT,
# go test BENCH_TIMEOUT, benchstat 120 s); at the default 1 GiB the whole
# script takes about 3 minutes on 2 cores. It needs go, coreutils and awk;
# hyperfine and benchstat (fetched with go run) are used when available.
# Paths under TMPDIR must not contain spaces.
#
# Part 1 times the command line tools on a SIZE file (in the page cache):
# our cmd/crypt4gh and a minimal neic equivalent built from a throwaway main
# in the work directory (never inside the repository), encrypt file ->
# /dev/null and decrypt file -> /dev/null, in alternating rounds, and
# reports medians. It uses hyperfine for each measurement if installed,
# else /usr/bin/time, else bash's clock.
# Part 2 runs the library benchmarks of ./internal/interop with
# C4GH_BENCH_SIZE=SIZE and summarises them (medians and ratios).
set -euo pipefail

SIZE_ARG=${1:-1G}
ROUNDS=${ROUNDS:-5}
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
CMD_TIMEOUT=${CMD_TIMEOUT:-300}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}

die() { echo "bench.sh: $*" >&2; exit 1; }
# Key defaults of our CLI must not leak in from the caller's environment.
unset C4GH_SECRET_KEY C4GH_PUBLIC_KEY C4GH_PASSPHRASE
command -v go >/dev/null || die "go is not installed"

to_bytes() {
	local s=$1 n mult=1
	case $s in
	*GiB | *G) mult=$((1 << 30)) ;;
	*MiB | *M) mult=$((1 << 20)) ;;
	*KiB | *K) mult=$((1 << 10)) ;;
	esac
	n=${s%%[KMG]*}
	[[ $n =~ ^[0-9]+$ ]] || die "bad size '$s' (want e.g. 1G, 256M, 268435456)"
	echo $((n * mult))
}
SIZE=$(to_bytes "$SIZE_ARG")
(( SIZE > 0 )) || die "size must be positive"
MIB=$(awk -v s="$SIZE" 'BEGIN { printf "%.1f", s / 1048576 }')

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/c4gh-bench.XXXXXX")
cleanup() { if [[ -z ${KEEP:-} ]]; then rm -rf "$WORK"; else echo "kept $WORK"; fi; }
trap cleanup EXIT

echo "== crypt4gh benchmark: $SIZE bytes ($MIB MiB), $(nproc) CPUs, $(go version | cut -d' ' -f3-)"
grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: /== CPU: /' || true

# ---------------------------------------------------------------- build
OURS=$WORK/crypt4gh
NEIC=$WORK/neicpeer
HAVE_OURS=1
if ! (cd "$ROOT" && timeout 600 go build -o "$OURS" ./cmd/crypt4gh) 2>"$WORK/build.log"; then
	HAVE_OURS=
	echo "!! could not build ./cmd/crypt4gh; CLI timings will cover neic only:" >&2
	sed 's/^/   /' "$WORK/build.log" >&2
fi

# The neic CLI equivalent: its library behind the same file -> file shape
# as ours (its own CLI prompts and writes FILE.c4gh next to the input).
mkdir -p "$WORK/neicpeer-src"
cat >"$WORK/neicpeer-src/main.go" <<'EOF'
// Command neicpeer is a throwaway CLI over github.com/neicnordic/crypt4gh.
//
//	neicpeer encrypt PUB IN OUT | decrypt SEC IN OUT | keygen PUB SEC
//
// The secret key's passphrase comes from C4GH_PASSPHRASE.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/neicnordic/crypt4gh/keys"
	"github.com/neicnordic/crypt4gh/streaming"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "neicpeer:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 3 && args[0] == "keygen" {
		pk, sk, err := keys.GenerateKeyPair()
		if err != nil {
			return err
		}
		pf, err := os.Create(args[1])
		if err != nil {
			return err
		}
		defer pf.Close()
		sf, err := os.OpenFile(args[2], os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer sf.Close()
		if err := keys.WriteCrypt4GHX25519PublicKey(pf, pk); err != nil {
			return err
		}
		return keys.WriteCrypt4GHX25519PrivateKey(sf, sk, []byte(os.Getenv("C4GH_PASSPHRASE")))
	}
	if len(args) != 4 {
		return fmt.Errorf("usage: neicpeer encrypt PUB IN OUT | decrypt SEC IN OUT | keygen PUB SEC")
	}
	kf, err := os.Open(args[1])
	if err != nil {
		return err
	}
	defer kf.Close()
	in, err := os.Open(args[2])
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(args[3])
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	switch args[0] {
	case "encrypt":
		pk, err := keys.ReadPublicKey(kf)
		if err != nil {
			return err
		}
		w, err := streaming.NewCrypt4GHWriterWithoutPrivateKey(bw, [][32]byte{pk}, nil)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, in); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	case "decrypt":
		var pass []byte
		if p, ok := os.LookupEnv("C4GH_PASSPHRASE"); ok {
			pass = []byte(p)
		}
		sk, err := keys.ReadPrivateKey(kf, pass)
		if err != nil {
			return err
		}
		r, err := streaming.NewCrypt4GHReader(in, sk, nil)
		if err != nil {
			return err
		}
		if _, err := io.Copy(bw, r); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return out.Close()
}
EOF
NEIC_VERSION=$(cd "$ROOT" && go list -m -f '{{.Version}}' github.com/neicnordic/crypt4gh 2>/dev/null || echo v1.15.0)
(
	cd "$WORK/neicpeer-src"
	cat >go.mod <<EOF
module neicpeer

go 1.24

require github.com/neicnordic/crypt4gh $NEIC_VERSION
EOF
	cp "$ROOT/go.sum" go.sum
	GOFLAGS=-mod=mod timeout 600 go mod tidy >/dev/null 2>&1 || true
	GOFLAGS=-mod=mod timeout 600 go build -o "$NEIC" .
) || die "could not build the neic peer (needs the Go module proxy or a warm module cache)"

# ---------------------------------------------------------------- data and keys
PT=$WORK/plain.bin
echo "-- writing $MIB MiB of random data"
head -c "$SIZE" /dev/urandom >"$PT"
PUB=$WORK/bench.pub
SEC=$WORK/bench.sec
if [[ -n $HAVE_OURS ]] && "$OURS" keygen -q --nocrypt -f --pk "$PUB" --sk "$SEC" >/dev/null 2>&1; then
	:
else
	export C4GH_PASSPHRASE=bench
	"$NEIC" keygen "$PUB" "$SEC"
fi
# Ciphertext inputs for the decrypt timings, one per tool, and a
# cross-check that each decrypts the other's.
CT_OURS=$WORK/plain.ours.c4gh
CT_NEIC=$WORK/plain.neic.c4gh
"$NEIC" encrypt "$PUB" "$PT" "$CT_NEIC"
if [[ -n $HAVE_OURS ]]; then
	"$OURS" encrypt -q --recipient_pk "$PUB" -i "$PT" -o "$CT_OURS"
	"$NEIC" decrypt "$SEC" "$CT_OURS" "$WORK/check1"
	"$OURS" decrypt -q --sk "$SEC" -i "$CT_NEIC" -o "$WORK/check2"
	cmp -s "$PT" "$WORK/check1" || die "neic did not decrypt our file to the plaintext"
	cmp -s "$PT" "$WORK/check2" || die "we did not decrypt neic's file to the plaintext"
	rm -f "$WORK/check1" "$WORK/check2"
fi
cat "$PT" "$CT_NEIC" ${HAVE_OURS:+"$CT_OURS"} >/dev/null # warm the page cache

# ---------------------------------------------------------------- CLI timings
if command -v hyperfine >/dev/null; then
	TIMER="hyperfine"
elif [[ -x /usr/bin/time ]]; then
	TIMER="/usr/bin/time"
else
	TIMER="bash clock"
fi

# seconds CMD... : print the wall time of one run of CMD.
seconds() {
	case $TIMER in
	hyperfine)
		timeout "$CMD_TIMEOUT" hyperfine -N --runs 1 --style none --export-csv "$WORK/hf.csv" -- "$(printf '%q ' "$@")" >/dev/null 2>"$WORK/hf.err" ||
			{ cat "$WORK/hf.err" >&2; return 1; }
		awk -F, 'NR == 2 { print $2 }' "$WORK/hf.csv"
		;;
	/usr/bin/time)
		/usr/bin/time -f '%e' -o "$WORK/t" timeout "$CMD_TIMEOUT" "$@" >/dev/null
		cat "$WORK/t"
		;;
	*)
		local t0=$EPOCHREALTIME
		timeout "$CMD_TIMEOUT" "$@" >/dev/null
		awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f\n", b - a }'
		;;
	esac
}

declare -A CMDS
ORDER=()
add() { ORDER+=("$1"); CMDS[$1]=$2; }
if [[ -n $HAVE_OURS ]]; then
	add ours-encrypt "$OURS encrypt -q --recipient_pk $PUB -i $PT -o /dev/null"
	add neic-encrypt "$NEIC encrypt $PUB $PT /dev/null"
	add ours-decrypt "$OURS decrypt -q --sk $SEC -i $CT_OURS -o /dev/null"
	add neic-decrypt "$NEIC decrypt $SEC $CT_NEIC /dev/null"
else
	add neic-encrypt "$NEIC encrypt $PUB $PT /dev/null"
	add neic-decrypt "$NEIC decrypt $SEC $CT_NEIC /dev/null"
fi

echo "-- CLI: $ROUNDS alternating rounds, timer: $TIMER, file -> /dev/null"
: >"$WORK/cli.txt"
for ((r = 1; r <= ROUNDS; r++)); do
	for k in "${ORDER[@]}"; do
		# shellcheck disable=SC2086 # the command lines hold no spaces in paths we made
		t=$(seconds ${CMDS[$k]}) || die "$k failed (or took more than ${CMD_TIMEOUT}s)"
		echo "$k $t" >>"$WORK/cli.txt"
	done
done
awk -v mib="$MIB" '
	{ v[$1] = v[$1] " " $2 }
	END {
		for (k in v) {
			n = split(substr(v[k], 2), a, " ")
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			med[k] = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		}
		printf "%-14s %10s %12s\n", "command", "median s", "MiB/s"
		split("ours-encrypt neic-encrypt ours-decrypt neic-decrypt", order, " ")
		for (i = 1; i <= 4; i++) { k = order[i]; if (k in med) printf "%-14s %10.3f %12.0f\n", k, med[k], mib / med[k] }
		if (("ours-encrypt" in med) && ("neic-encrypt" in med)) printf "CLI encrypt: ours is %.1fx neic\n", med["neic-encrypt"] / med["ours-encrypt"]
		if (("ours-decrypt" in med) && ("neic-decrypt" in med)) printf "CLI decrypt: ours is %.1fx neic\n", med["neic-decrypt"] / med["ours-decrypt"]
	}' "$WORK/cli.txt"
rm -f "$PT" "$CT_OURS" "$CT_NEIC" # free the page cache for part 2

# ---------------------------------------------------------------- library benchmarks
echo "-- library: go test -bench, C4GH_BENCH_SIZE=$SIZE, -benchtime=$BENCHTIME -count=$COUNT"
(cd "$ROOT" && C4GH_BENCH_SIZE=$SIZE timeout "$BENCH_TIMEOUT" \
	go test -run='^$' -bench=. -benchtime="$BENCHTIME" -count="$COUNT" -timeout=0 ./internal/interop) | tee "$WORK/bench.txt"

if BENCHSTAT_OUT=$(cd "$ROOT" && timeout 120 go run golang.org/x/perf/cmd/benchstat@latest "$WORK/bench.txt" 2>/dev/null); then
	echo "-- benchstat"
	echo "$BENCHSTAT_OUT"
fi

echo "-- summary (medians of $COUNT runs)"
awk '
	/^Benchmark/ {
		name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
		for (i = 2; i <= NF; i++) {
			if ($(i) == "MB/s") mb[name] = mb[name] " " $(i - 1)
			if ($(i) == "ns/op") ns[name] = ns[name] " " $(i - 1)
		}
	}
	function median(s,    a, n, i, j, t) {
		n = split(substr(s, 2), a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function r(a, b) { return (a in M) && (b in M) && M[b] > 0 ? sprintf("%.2fx", M[a] / M[b]) : "n/a" }
	END {
		printf "%-32s %12s %14s\n", "benchmark", "MB/s", "ns/op"
		for (k in mb) { M[k] = median(mb[k]); N[k] = median(ns[k]) }
		split("RawAEAD/seal RawAEAD/open Encrypt/ours Encrypt/ours-1core Encrypt/neic Decrypt/ours Decrypt/ours-1core Decrypt/neic ReaderAt/random-4KiB ReaderAt/random-4KiB-neic", order, " ")
		for (i = 1; i in order; i++) if (order[i] in M) printf "%-32s %12.1f %14.0f\n", order[i], M[order[i]], N[order[i]]
		print ""
		printf "encrypt: ours / raw seal (1 core)  = %s   (target >= 1.5x with 2+ cores)\n", r("Encrypt/ours", "RawAEAD/seal")
		printf "encrypt: ours-1core / raw seal     = %s\n", r("Encrypt/ours-1core", "RawAEAD/seal")
		printf "encrypt: ours / neic               = %s   (target >= 4x)\n", r("Encrypt/ours", "Encrypt/neic")
		printf "decrypt: ours / raw open (1 core)  = %s\n", r("Decrypt/ours", "RawAEAD/open")
		printf "decrypt: ours-1core / raw open     = %s\n", r("Decrypt/ours-1core", "RawAEAD/open")
		printf "decrypt: ours / neic               = %s\n", r("Decrypt/ours", "Decrypt/neic")
		printf "random 4 KiB reads: ours / neic    = %s\n", r("ReaderAt/random-4KiB", "ReaderAt/random-4KiB-neic")
	}' "$WORK/bench.txt"
