package interop

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/neicnordic/crypt4gh/streaming"
	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// Benchmarks of both libraries on the same data, side by side in one run,
// next to the single-core ChaCha20-Poly1305 rate that bounds them. The
// payload size comes from C4GH_BENCH_SIZE (bytes, or with a K/M/G, KiB/MiB/
// GiB suffix; default 64 MiB). Encryption reads a stream that cycles
// through a 16 MiB deterministic ChaCha20 keystream, so even 1 GiB needs no
// plaintext copy in memory; decryption reads one in-memory ciphertext
// (made once per process, by our encrypter) shared by both libraries.
//
//	C4GH_BENCH_SIZE=256MiB go test -run='^$' -bench=. -count=5 ./internal/interop

const benchBlockSize = 16 << 20

var (
	benchOnce  sync.Once
	benchBytes int64
	benchBlk   []byte
	benchKey   keyPair

	benchCTOnce sync.Once
	benchCT     []byte
)

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("C4GH_BENCH_SIZE=%q: want a positive size such as 268435456, 256MiB or 1G", s)
	}
	return n * mult, nil
}

func benchSetup(b *testing.B) {
	benchOnce.Do(func() {
		benchBytes = 64 << 20
		if v := os.Getenv("C4GH_BENCH_SIZE"); v != "" {
			n, err := parseSize(v)
			if err != nil {
				panic(err)
			}
			benchBytes = n
		}
		// A fixed ChaCha20 keystream: incompressible, reproducible, cheap.
		benchBlk = make([]byte, benchBlockSize)
		c, err := chacha20.NewUnauthenticatedCipher(make([]byte, 32), make([]byte, 12))
		if err != nil {
			panic(err)
		}
		c.XORKeyStream(benchBlk, benchBlk)
		benchKey = newKeyPair(b)
	})
}

// cycleReader yields n bytes cycling through block. It has only Read, like
// a file or a pipe.
type cycleReader struct {
	block []byte
	off   int
	left  int64
}

func newCycleReader() *cycleReader { return &cycleReader{block: benchBlk, left: benchBytes} }

func (r *cycleReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.block[r.off:])
		r.off = (r.off + c) % len(r.block)
		n += c
	}
	r.left -= int64(n)
	return n, nil
}

// benchCiphertext returns our encryption of the benchmark stream for
// benchKey, made once.
func benchCiphertext(b *testing.B) []byte {
	benchSetup(b)
	benchCTOnce.Do(func() {
		buf := bytes.NewBuffer(make([]byte, 0, crypt4gh.HeaderSize(1, -1)+int(crypt4gh.EncryptedSize(benchBytes))))
		w, err := crypt4gh.Encrypt(buf, benchKey.recipient())
		if err != nil {
			panic(err)
		}
		if _, err := io.Copy(w, newCycleReader()); err != nil {
			panic(err)
		}
		if err := w.Close(); err != nil {
			panic(err)
		}
		benchCT = buf.Bytes()
	})
	return benchCT
}

// BenchmarkRawAEAD is the ceiling: x/crypto ChaCha20-Poly1305 over 64 KiB
// segments on one goroutine, no framing, no I/O, on one cache-resident
// segment buffer (sealed in place; opened into a second buffer), so it
// measures the cipher alone.
func BenchmarkRawAEAD(b *testing.B) {
	benchSetup(b)
	aead, err := chacha20poly1305.New(make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, 12)
	seg := make([]byte, crypt4gh.SegmentSize, crypt4gh.SegmentSize+aead.Overhead())
	copy(seg, benchBlk)
	segLen := func(off int64) int { return int(min(crypt4gh.SegmentSize, benchBytes-off)) }
	b.Run("seal", func(b *testing.B) {
		b.SetBytes(benchBytes)
		for b.Loop() {
			for off := int64(0); off < benchBytes; off += crypt4gh.SegmentSize {
				aead.Seal(seg[:0], nonce, seg[:segLen(off)], nil)
			}
		}
	})
	b.Run("open", func(b *testing.B) {
		full := aead.Seal(nil, nonce, benchBlk[:crypt4gh.SegmentSize], nil)
		tail := aead.Seal(nil, nonce, benchBlk[:benchBytes%crypt4gh.SegmentSize], nil)
		dst := make([]byte, 0, crypt4gh.SegmentSize)
		b.SetBytes(benchBytes)
		for b.Loop() {
			for off := int64(0); off < benchBytes; off += crypt4gh.SegmentSize {
				ct := full
				if segLen(off) < crypt4gh.SegmentSize {
					ct = tail
				}
				if _, err := aead.Open(dst[:0], nonce, ct, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkEncrypt: plaintext stream -> io.Copy -> encrypting writer ->
// io.Discard, as a user would write it.
func BenchmarkEncrypt(b *testing.B) {
	benchSetup(b)
	for _, c := range []struct {
		name string
		conc int
	}{{"ours", 0}, {"ours-1core", 1}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(benchBytes)
			b.ReportAllocs()
			for b.Loop() {
				w, err := crypt4gh.EncryptWithOptions(io.Discard, crypt4gh.EncryptOptions{Concurrency: c.conc}, benchKey.recipient())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(w, newCycleReader()); err != nil {
					b.Fatal(err)
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("neic", func(b *testing.B) {
		b.SetBytes(benchBytes)
		b.ReportAllocs()
		for b.Loop() {
			w, err := streaming.NewCrypt4GHWriterWithoutPrivateKey(io.Discard, [][32]byte{benchKey.pk}, nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(w, newCycleReader()); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecrypt: in-memory ciphertext -> decrypting reader -> io.Copy
// -> io.Discard.
func BenchmarkDecrypt(b *testing.B) {
	ct := benchCiphertext(b)
	for _, c := range []struct {
		name string
		conc int
	}{{"ours", 0}, {"ours-1core", 1}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(benchBytes)
			b.ReportAllocs()
			for b.Loop() {
				r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(ct), crypt4gh.DecryptOptions{Concurrency: c.conc}, benchKey.id)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != benchBytes {
					b.Fatalf("decrypted %d bytes, %v", n, err)
				}
			}
		})
	}
	b.Run("neic", func(b *testing.B) {
		b.SetBytes(benchBytes)
		b.ReportAllocs()
		for b.Loop() {
			r, err := streaming.NewCrypt4GHReader(bytes.NewReader(ct), benchKey.sk, nil)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, r); err != nil || n != benchBytes {
				b.Fatalf("decrypted %d bytes, %v", n, err)
			}
		}
	})
}

// BenchmarkReaderAt: random 4 KiB reads anywhere in the file. Ours is
// ReadAt on DecryptReaderAt; neic's is Seek + ReadFull on its reader over
// an io.ReadSeeker.
func BenchmarkReaderAt(b *testing.B) {
	ct := benchCiphertext(b)
	const n = 4096
	if benchBytes < 2*n {
		b.Skip("C4GH_BENCH_SIZE too small for 4 KiB random reads")
	}
	b.Run("random-4KiB", func(b *testing.B) {
		r, err := crypt4gh.DecryptReaderAt(bytes.NewReader(ct), int64(len(ct)), benchKey.id)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, n)
		rng := rand.New(rand.NewPCG(1, 2))
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.ReadAt(buf, rng.Int64N(benchBytes-n)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("random-4KiB-neic", func(b *testing.B) {
		r, err := streaming.NewCrypt4GHReader(bytes.NewReader(ct), benchKey.sk, nil)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, n)
		rng := rand.New(rand.NewPCG(1, 2))
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Seek(rng.Int64N(benchBytes-n), io.SeekStart); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(r, buf); err != nil {
				b.Fatal(err)
			}
		}
	})
}
