package commit

import (
	"crypto/rand"
	"io"
	mrand "math/rand/v2"
	"testing"
)

// measure runs f, the body of a benchmark, and adds a cpu-ns/op metric:
// CPU time per operation summed over all threads, which unlike ns/op does
// not grow when other jobs compete for the cores.
func measure(b *testing.B, f func()) {
	t0 := processCPU()
	f()
	if d := processCPU() - t0; d > 0 && b.N > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func randomOpenings(n int) [][hmBytes]byte {
	rng := mrand.New(mrand.NewChaCha8([32]byte{2}))
	xs := make([][hmBytes]byte, n)
	for i := range xs {
		for j := range xs[i] {
			xs[i][j] = byte(rng.Uint32())
		}
		xs[i][hmBytes-1] &= 0x0f
	}
	return xs
}

// BenchmarkToeplitzTable is A·x by the table with whichever implementation
// mul picks, over random openings so the table is read as in real use.
func BenchmarkToeplitzTable(b *testing.B) {
	tab := newToeplitzTable()
	xs := randomOpenings(1024)
	for name, mul := range mulImpls(tab) {
		b.Run(name, func(b *testing.B) {
			var sink byte
			measure(b, func() {
				i := 0
				for b.Loop() {
					r := mul(&xs[i%len(xs)])
					sink ^= r[0]
					i++
				}
			})
			_ = sink
		})
	}
}

func BenchmarkToeplitzNaive(b *testing.B) {
	ref := referenceT()
	xs := randomOpenings(16)
	measure(b, func() {
		i := 0
		for b.Loop() {
			naiveMul(ref, &xs[i%len(xs)])
			i++
		}
	})
}

func benchName(s Scheme) string {
	if s.Name() == NameHM {
		return "hm"
	}
	return s.Name()
}

func BenchmarkCommit(b *testing.B) {
	for _, s := range schemes() {
		b.Run(benchName(s), func(b *testing.B) {
			measure(b, func() {
				b.RunParallel(func(pb *testing.PB) {
					c := make([]byte, s.CommitmentSize())
					o := make([]byte, s.OpeningSize())
					rnd := NewRandomSource()
					for pb.Next() {
						if err := s.Commit(c, o, nil, rnd); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		})
	}
}

// BenchmarkCommitBatch reports per-commitment figures: one op is one
// commitment, done 1024 at a time, with randomness from crypto/rand
// (NewRandomSource, every opening kept) or from a fresh key's
// NewOpeningStream per batch (as integrity datasets do, storing the key).
func BenchmarkCommitBatch(b *testing.B) {
	const batch = 1024
	sources := []struct {
		name string
		new  func() io.Reader
	}{
		{"crypto-rand", NewRandomSource},
		{"opening-stream", func() io.Reader {
			var key [OpeningKeySize]byte
			rand.Read(key[:])
			return NewOpeningStream(&key, 0)
		}},
	}
	for _, s := range schemes() {
		for _, src := range sources {
			b.Run(benchName(s)+"/"+src.name, func(b *testing.B) {
				msgs := make([][]byte, batch)
				measure(b, func() {
					b.RunParallel(func(pb *testing.PB) {
						c := make([]byte, batch*s.CommitmentSize())
						o := make([]byte, batch*s.OpeningSize())
						rnd := NewRandomSource()
						for {
							// Claim a whole batch of iterations; a partial
							// last batch is still committed in full, a slight
							// overcount.
							n := 0
							for n < batch && pb.Next() {
								n++
							}
							if n == 0 {
								return
							}
							if src.name != "crypto-rand" {
								rnd = src.new()
							}
							if err := CommitBatch(s, c, o, msgs, rnd); err != nil {
								b.Fatal(err)
							}
						}
					})
				})
			})
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	for _, s := range schemes() {
		b.Run(benchName(s), func(b *testing.B) {
			msg := []byte("chr1\t12345\tA\tG")
			c := make([]byte, s.CommitmentSize())
			o := make([]byte, s.OpeningSize())
			if err := s.Commit(c, o, msg, nil); err != nil {
				b.Fatal(err)
			}
			measure(b, func() {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if !s.Verify(c, o, msg) {
							b.Fatal("Verify failed")
						}
					}
				})
			})
		})
	}
}

// BenchmarkRandomSource is one HM opening's worth of randomness.
func BenchmarkRandomSource(b *testing.B) {
	rnd := NewRandomSource()
	p := make([]byte, hmBytes)
	b.SetBytes(hmBytes)
	measure(b, func() {
		for b.Loop() {
			rnd.Read(p)
		}
	})
}

// BenchmarkHashOpening is SHA-256 over the domain and an opening: 4 blocks.
func BenchmarkHashOpening(b *testing.B) {
	var x [hmBytes]byte
	measure(b, func() {
		for b.Loop() {
			h := hashOpening(&x)
			x[0] ^= h[0]
		}
	})
}
