package integrity

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// genTable is a synthetic variant table generated on the fly: one SNV
// every `every` positions, like a human genome (about 4–5 million
// variants in 3.1 billion positions, one per ~700).
type genTable struct {
	l     Layout
	every uint64
	next  uint64
}

func newGenTable(n, every uint64) *genTable {
	l, _ := VariantLayout([]Contig{{"chr1", n}})
	return &genTable{l: l, every: every, next: every / 2}
}

func (g *genTable) Layout() Layout { return g.l }

func (g *genTable) Next() (uint64, []byte, error) {
	if g.next >= g.l.Positions() {
		return 0, nil, io.EOF
	}
	p := g.next
	g.next += g.every
	return p, fmt.Appendf(nil, "\x01chr1\t%d\t.\tA\tG\t50\tPASS\tDP=30", p+1), nil
}

func benchPositions() uint64 {
	if s := os.Getenv("C4GH_INTEGRITY_BENCH_POSITIONS"); s != "" {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 1 << 24
}

const humanGenome = 3.1e9

// BenchmarkProtect measures Protect with the default (statistically
// hiding) commitment on all cores, over 2^24 positions by default
// (C4GH_INTEGRITY_BENCH_POSITIONS overrides). It reports positions/s, the
// time a 3.1e9-position genome would take at that rate, and the storage
// per position.
func BenchmarkProtect(b *testing.B) {
	n := benchPositions()
	w := newWorld(b)
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(b.TempDir(), "ds")
		start, cpu0 := time.Now(), cpuTime()
		if _, err := Protect(context.Background(), dir, newGenTable(n, 700), w.protectOpts(w.start)); err != nil {
			b.Fatal(err)
		}
		el, cpu := time.Since(start), cpuTime()-cpu0
		rate := float64(n) / el.Seconds()
		b.ReportMetric(rate, "positions/s")
		b.ReportMetric(humanGenome/rate/60, "genome-min")
		// On a shared machine wall time depends on the neighbours; CPU
		// time per position does not, and bounds the rate on 2 idle cores.
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/position")
		b.ReportMetric(maxRSS()/(1<<20), "maxrss-MiB")
		b.ReportMetric(float64(dirSize(b, dir))/float64(n), "bytes/position")
		os.RemoveAll(dir)
	}
}

func dirSize(b *testing.B, dir string) int64 {
	es, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var s int64
	for _, e := range es {
		fi, err := e.Info()
		if err != nil {
			b.Fatal(err)
		}
		s += fi.Size()
	}
	return s
}

// benchClock makes the timestamps of repeated updates increase across
// benchmark runs that share the dataset.
var benchClock int

func benchTick(w *world) time.Time {
	benchClock++
	return w.start.Add(time.Duration(benchClock) * time.Minute)
}

func BenchmarkUpdateT(b *testing.B) {
	// A dataset of its own: the upT elements would weigh on the proof
	// benchmarks.
	w := newWorld(b)
	dir := filepath.Join(b.TempDir(), "ds")
	if _, err := Protect(context.Background(), dir, newGenTable(1<<16, 700), w.protectOpts(w.start)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Update(context.Background(), dir, OpTimestamp, UpdateOptions{Stamper: w.tsa.At(benchTick(w))}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateHT measures the first upHT (SHA-256 → SHA-512) of a
// fresh 2^22-position dataset, in positions/s. A later upHT also
// recomputes every earlier tree of the chain (one more pass each).
func BenchmarkUpdateHT(b *testing.B) {
	w := newWorld(b)
	n := uint64(1 << 22)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "ds")
		if _, err := Protect(context.Background(), dir, newGenTable(n, 700), w.protectOpts(w.start)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		if _, err := Update(context.Background(), dir, OpRehash, UpdateOptions{Stamper: w.tsa.At(w.start.AddDate(1, 0, 0)), Hash: SHA512}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "positions/s")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/position")
		os.RemoveAll(dir)
	}
}

// BenchmarkProof proves and verifies one position and a 1 Mbp region of
// a 2^22-position dataset, reporting the proof size.
func BenchmarkProof(b *testing.B) {
	w := newWorld(b)
	dir := filepath.Join(b.TempDir(), "ds")
	if _, err := Protect(context.Background(), dir, newGenTable(1<<22, 700), w.protectOpts(w.start)); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		r    Range
	}{{"1position", Range{1_234_567, 1_234_568}}, {"1Mbp", Range{1 << 20, 2 << 20}}} {
		p, err := PartialProof(context.Background(), dir, []Range{c.r}, ProveOptions{Table: newGenTable(1<<22, 700), Identity: w.owner})
		if err != nil {
			b.Fatal(err)
		}
		enc, _ := p.MarshalBinary()
		b.Run("prove-"+c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := PartialProof(context.Background(), dir, []Range{c.r}, ProveOptions{Table: newGenTable(1<<22, 700), Identity: w.owner}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("verify-"+c.name, func(b *testing.B) {
			opts := w.verifyOpts(w.start.AddDate(1, 0, 0))
			for i := 0; i < b.N; i++ {
				q, err := DecodeProof(enc)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Verify(q, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(enc)), "proof-bytes")
		})
	}
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is the process's peak resident set, in bytes.
func maxRSS() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) * 1024
}
