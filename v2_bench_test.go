package crypt4gh_test

// Benchmarks of the v2 profile, meant to be run side by side:
//
//	go test -run '^$' -bench 'V2' -count 5 .
//
// BenchmarkV2Payload compares the data methods over 64 MiB in memory
// (all CPUs; BenchmarkV2PayloadOneCore on one goroutine), BenchmarkV2Raw
// gives the single-core AEAD speeds the payload methods are built on, and
// BenchmarkV2Header the per-file cost of writing and reading a header for
// one recipient.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"io"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"golang.org/x/crypto/chacha20poly1305"
)

const v2BenchSize = 64 << 20

func v2BenchPlaintext() []byte {
	pt := make([]byte, v2BenchSize)
	copy(pt, pseudoRandom(1<<20, 42))
	for off := 1 << 20; off < len(pt); off *= 2 {
		copy(pt[off:], pt[:off])
	}
	return pt
}

func BenchmarkV2Payload(b *testing.B) { v2BenchPayload(b, 0) }

func BenchmarkV2PayloadOneCore(b *testing.B) { v2BenchPayload(b, 1) }

func v2BenchPayload(b *testing.B, conc int) {
	id := newID(b)
	pt := v2BenchPlaintext()
	for _, m := range v2AllMethods {
		opts := crypt4gh.EncryptOptions{DataMethod: m.method, Concurrency: conc}
		b.Run(m.name+"/encrypt", func(b *testing.B) {
			b.SetBytes(v2BenchSize)
			for b.Loop() {
				w, err := crypt4gh.EncryptWithOptions(io.Discard, opts, id.Recipient())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(w, bytes.NewReader(pt)); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
		ct := encryptBytes(b, pt, opts, id.Recipient())
		b.Run(m.name+"/decrypt", func(b *testing.B) {
			b.SetBytes(v2BenchSize)
			for b.Loop() {
				r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(ct), crypt4gh.DecryptOptions{Concurrency: conc}, id)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != v2BenchSize {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// BenchmarkV2PayloadInterleaved runs the four data methods back to back in
// every iteration and reports each one's throughput and the ratios of
// interest as metrics. On a shared or throttled machine, where separate
// benchmarks drift apart, this keeps the comparison fair: every method
// sees the same conditions.
func BenchmarkV2PayloadInterleaved(b *testing.B) {
	id := newID(b)
	pt := v2BenchPlaintext()
	for _, conc := range []struct {
		name string
		n    int
	}{{"1core", 1}, {"allcores", 0}} {
		cts := map[uint32][]byte{}
		for _, m := range v2AllMethods {
			cts[m.method] = encryptBytes(b, pt, crypt4gh.EncryptOptions{DataMethod: m.method, Concurrency: conc.n}, id.Recipient())
		}
		for _, op := range []string{"encrypt", "decrypt"} {
			b.Run(conc.name+"/"+op, func(b *testing.B) {
				spent := make([]time.Duration, len(v2AllMethods))
				iters := 0
				for b.Loop() {
					iters++
					for i, m := range v2AllMethods {
						start := time.Now()
						if op == "encrypt" {
							w, err := crypt4gh.EncryptWithOptions(io.Discard, crypt4gh.EncryptOptions{DataMethod: m.method, Concurrency: conc.n}, id.Recipient())
							if err != nil {
								b.Fatal(err)
							}
							io.Copy(w, bytes.NewReader(pt))
							if err := w.Close(); err != nil {
								b.Fatal(err)
							}
						} else {
							r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(cts[m.method]), crypt4gh.DecryptOptions{Concurrency: conc.n}, id)
							if err != nil {
								b.Fatal(err)
							}
							if n, err := io.Copy(io.Discard, r); err != nil || n != v2BenchSize {
								b.Fatal(n, err)
							}
						}
						spent[i] += time.Since(start)
					}
				}
				rate := func(i int) float64 { return float64(iters) * v2BenchSize / spent[i].Seconds() / 1e6 }
				for i, m := range v2AllMethods {
					b.ReportMetric(rate(i), m.name+"-MB/s")
				}
				b.ReportMetric(rate(2)/rate(0), "chacha/v1")
				b.ReportMetric(rate(3)/rate(2), "aes/chacha")
			})
		}
	}
}

// BenchmarkV2Raw seals 64 KiB segments with the bare AEADs on one core.
func BenchmarkV2Raw(b *testing.B) {
	key := make([]byte, 32)
	cc, _ := chacha20poly1305.New(key)
	blk, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(blk)
	pt := pseudoRandom(segSize, 1)
	nonce := make([]byte, 12)
	ad := v2SealedAD(7, false)
	for _, a := range []struct {
		name string
		aead cipher.AEAD
	}{{"chacha20poly1305", cc}, {"aes-256-gcm", gcm}} {
		buf := make([]byte, 0, cSegSize)
		b.Run(a.name+"/seal", func(b *testing.B) {
			b.SetBytes(segSize)
			for b.Loop() {
				buf = a.aead.Seal(buf[:0], nonce, pt, ad)
			}
		})
		sealed := a.aead.Seal(nil, nonce, pt, ad)
		b.Run(a.name+"/open", func(b *testing.B) {
			b.SetBytes(segSize)
			for b.Loop() {
				var err error
				if buf, err = a.aead.Open(buf[:0], nonce, sealed, ad); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkV2Header measures the per-file overhead: writing a header for
// one recipient (and the empty payload), and reading it back: parse,
// decrypt, verify.
func BenchmarkV2Header(b *testing.B) {
	x := newID(b)
	hy := v2Hybrid(b)
	ed := v2Ed25519(b)
	ml := v2MLDSA(b, crypt4gh.SigMLDSA65)
	for _, tc := range []struct {
		name string
		opts crypt4gh.EncryptOptions
		r    crypt4gh.Recipient
		id   crypt4gh.Identity
		v    crypt4gh.Verifier
	}{
		{"v1-x25519", crypt4gh.EncryptOptions{}, x.Recipient(), x, nil},
		{"v2-x25519", crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataSealedChaCha20Poly1305}, x.Recipient(), x, nil},
		{"v2-hybrid", crypt4gh.EncryptOptions{}, hy.Recipient(), hy, nil},
		{"v2-ed25519-signed", crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{ed}}, x.Recipient(), x, ed.Verifier()},
		{"v2-mldsa65-signed", crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{ml}}, x.Recipient(), x, ml.Verifier()},
	} {
		tc.opts.Concurrency = 1
		b.Run(tc.name+"/encrypt", func(b *testing.B) {
			for b.Loop() {
				w, err := crypt4gh.EncryptWithOptions(io.Discard, tc.opts, tc.r)
				if err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
		file := encryptBytes(b, nil, tc.opts, tc.r)
		b.Run(tc.name+"/decrypt", func(b *testing.B) {
			opts := crypt4gh.DecryptOptions{Concurrency: 1}
			if tc.v != nil {
				opts.Verifiers = []crypt4gh.Verifier{tc.v}
			}
			b.ReportMetric(float64(len(file)), "file-bytes")
			for b.Loop() {
				r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(file), opts, tc.id)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
