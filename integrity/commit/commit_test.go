package commit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"testing"
)

func schemes() []Scheme { return []Scheme{Default(), SHA256Nonce()} }

var testMessages = [][]byte{
	nil,
	{},
	{0},
	[]byte("A>G"),
	[]byte("chr1\t10177\trs367896724\tA\tAC\t100\tPASS"),
	bytes.Repeat([]byte("long message "), 40), // past the stack buffer
}

func TestSchemeProperties(t *testing.T) {
	tests := []struct {
		s              Scheme
		name           string
		hiding         Hiding
		cSize, oSize   int
		hidingAsString string
	}{
		{Default(), "hm-sha256-l1540", Statistical, 64, 193, "statistical"},
		{SHA256Nonce(), "sha256-nonce", Computational, 32, 32, "computational"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Name(); got != tt.name {
				t.Errorf("Name() = %q, want %q", got, tt.name)
			}
			if got := tt.s.Hiding(); got != tt.hiding || got.String() != tt.hidingAsString {
				t.Errorf("Hiding() = %v, want %v", got, tt.hiding)
			}
			if tt.s.CommitmentSize() != tt.cSize || tt.s.OpeningSize() != tt.oSize {
				t.Errorf("sizes = %d/%d, want %d/%d", tt.s.CommitmentSize(), tt.s.OpeningSize(), tt.cSize, tt.oSize)
			}
			byName, err := ByName(tt.name)
			if err != nil || byName.Name() != tt.name {
				t.Errorf("ByName(%q) = %v, %v", tt.name, byName, err)
			}
		})
	}
	if Default().Name() != NameHM {
		t.Errorf("Default() is %s, want %s", Default().Name(), NameHM)
	}
}

func TestByNameUnknown(t *testing.T) {
	for _, name := range []string{"", "hm", "HM-SHA256-L1540", "sha256-nonce ", "pedersen", "\x00\n"} {
		s, err := ByName(name)
		if s != nil || !errors.Is(err, ErrUnknownScheme) {
			t.Errorf("ByName(%q) = %v, %v; want nil, ErrUnknownScheme", name, s, err)
		}
		if err != nil && strings.ContainsAny(err.Error(), "\x00\n") {
			t.Errorf("ByName(%q) error %q contains raw control characters", name, err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, s := range schemes() {
		rnd := NewRandomSource()
		for _, msg := range testMessages {
			c := make([]byte, s.CommitmentSize())
			o := make([]byte, s.OpeningSize())
			if err := s.Commit(c, o, msg, rnd); err != nil {
				t.Fatalf("%s: Commit: %v", s.Name(), err)
			}
			if !s.Verify(c, o, msg) {
				t.Errorf("%s: Verify(Commit(%q)) = false", s.Name(), msg)
			}
			// A nil rnd means crypto/rand.
			if err := s.Commit(c, o, msg, nil); err != nil || !s.Verify(c, o, msg) {
				t.Errorf("%s: Commit with nil rnd: %v", s.Name(), err)
			}
		}
	}
}

// TestVerifyRejectsBitFlips flips every bit of c, o and msg in turn.
func TestVerifyRejectsBitFlips(t *testing.T) {
	for _, s := range schemes() {
		msg := []byte("chr7\t117559590\t.\tATCT\tA")
		c := make([]byte, s.CommitmentSize())
		o := make([]byte, s.OpeningSize())
		if err := s.Commit(c, o, msg, nil); err != nil {
			t.Fatal(err)
		}
		for name, buf := range map[string][]byte{"commitment": c, "opening": o, "message": msg} {
			for i := range len(buf) * 8 {
				buf[i/8] ^= 1 << (i % 8)
				if s.Verify(c, o, msg) {
					t.Errorf("%s: Verify accepted %s with bit %d flipped", s.Name(), name, i)
				}
				buf[i/8] ^= 1 << (i % 8)
			}
		}
		if !s.Verify(c, o, msg) {
			t.Fatalf("%s: Verify rejects the restored commitment", s.Name())
		}
		// Messages differing only by length, or committed message vs empty.
		if s.Verify(c, o, append(msg, 0)) || s.Verify(c, o, msg[:len(msg)-1]) || s.Verify(c, o, nil) {
			t.Errorf("%s: Verify accepted a truncated or extended message", s.Name())
		}
	}
}

func TestVerifyRejectsWrongLengths(t *testing.T) {
	for _, s := range schemes() {
		c := make([]byte, s.CommitmentSize()+1)
		o := make([]byte, s.OpeningSize()+1)
		msg := []byte("x")
		if err := s.Commit(c[:len(c)-1], o[:len(o)-1], msg, nil); err != nil {
			t.Fatal(err)
		}
		cs, os := len(c)-1, len(o)-1
		cases := []struct{ c, o []byte }{
			{c, o[:os]}, {c[:cs-1], o[:os]}, {nil, o[:os]},
			{c[:cs], o}, {c[:cs], o[:os-1]}, {c[:cs], nil},
			{nil, nil},
		}
		for _, tc := range cases {
			if s.Verify(tc.c, tc.o, msg) {
				t.Errorf("%s: Verify accepted lengths %d/%d", s.Name(), len(tc.c), len(tc.o))
			}
		}
		if !s.Verify(c[:cs], o[:os], msg) {
			t.Errorf("%s: Verify rejects the valid commitment", s.Name())
		}
	}
}

func TestCommitErrors(t *testing.T) {
	for _, s := range schemes() {
		cs, os := s.CommitmentSize(), s.OpeningSize()
		for _, sz := range [][2]int{{cs - 1, os}, {cs + 1, os}, {cs, os - 1}, {cs, os + 1}, {0, 0}} {
			err := s.Commit(make([]byte, sz[0]), make([]byte, sz[1]), nil, nil)
			if !errors.Is(err, ErrLength) {
				t.Errorf("%s: Commit with %d/%d bytes: %v, want ErrLength", s.Name(), sz[0], sz[1], err)
			}
		}
		errRand := errors.New("entropy source unplugged")
		err := s.Commit(make([]byte, cs), make([]byte, os), nil, io.MultiReader(bytes.NewReader([]byte{1, 2, 3}), errReader{errRand}))
		if !errors.Is(err, errRand) {
			t.Errorf("%s: Commit with failing rnd: %v, want it wrapped", s.Name(), err)
		}
		err = s.Commit(make([]byte, cs), make([]byte, os), nil, bytes.NewReader(make([]byte, os-1)))
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			t.Errorf("%s: Commit with short rnd: %v, want EOF", s.Name(), err)
		}
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestCommitBatch(t *testing.T) {
	for _, s := range schemes() {
		msgs := [][]byte{nil, nil, []byte("A>G"), []byte("A>G"), nil, []byte("C>T"), {}}
		cs, os := s.CommitmentSize(), s.OpeningSize()
		c := make([]byte, len(msgs)*cs)
		o := make([]byte, len(msgs)*os)
		if err := CommitBatch(s, c, o, msgs, NewRandomSource()); err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			ci, oi := c[i*cs:(i+1)*cs], o[i*os:(i+1)*os]
			if !s.Verify(ci, oi, m) {
				t.Errorf("%s: batch entry %d does not verify", s.Name(), i)
			}
			if s.Verify(ci, oi, []byte("other")) {
				t.Errorf("%s: batch entry %d verifies for another message", s.Name(), i)
			}
			if i > 0 && bytes.Equal(ci, c[(i-1)*cs:i*cs]) {
				t.Errorf("%s: batch entries %d and %d are equal", s.Name(), i-1, i)
			}
		}
		if err := CommitBatch(s, c[1:], o, msgs, nil); !errors.Is(err, ErrLength) {
			t.Errorf("%s: short batch commitment buffer: %v", s.Name(), err)
		}
		if err := CommitBatch(s, c, o[1:], msgs, nil); !errors.Is(err, ErrLength) {
			t.Errorf("%s: short batch opening buffer: %v", s.Name(), err)
		}
		if err := CommitBatch(s, nil, nil, nil, nil); err != nil {
			t.Errorf("%s: empty batch: %v", s.Name(), err)
		}
	}
}

// TestCommitBatchFallback runs CommitBatch over a Scheme from outside the
// package, which has no batch fast path.
func TestCommitBatchFallback(t *testing.T) {
	s := wrapped{Default()}
	msgs := [][]byte{nil, []byte("A>G")}
	c := make([]byte, 2*64)
	o := make([]byte, 2*193)
	if err := CommitBatch(s, c, o, msgs, nil); err != nil {
		t.Fatal(err)
	}
	if !s.Verify(c[:64], o[:193], nil) || !s.Verify(c[64:], o[193:], msgs[1]) {
		t.Error("fallback batch does not verify")
	}
}

type wrapped struct{ Scheme }

func TestConcurrentUse(t *testing.T) {
	const goroutines, each = 8, 500
	for _, s := range schemes() {
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rnd := NewRandomSource()
				c := make([]byte, s.CommitmentSize())
				o := make([]byte, s.OpeningSize())
				for i := range each {
					msg := fmt.Appendf(nil, "g%d-%d", g, i)
					if i%2 == 0 {
						msg = nil
					}
					if err := s.Commit(c, o, msg, rnd); err != nil {
						errs <- err
						return
					}
					if !s.Verify(c, o, msg) || s.Verify(c, o, []byte("other")) {
						errs <- fmt.Errorf("%s: goroutine %d commitment %d: wrong Verify result", s.Name(), g, i)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

// TestCommitmentsLookUniform commits to the same message many times and
// checks every bit of the commitment is balanced: a loose chi-square test
// that fails outright if the opening were not mixed into some output bit,
// since that bit would then be constant.
func TestCommitmentsLookUniform(t *testing.T) {
	const n = 4096
	for _, s := range schemes() {
		bits := s.CommitmentSize() * 8
		ones := make([]int, bits)
		c := make([]byte, s.CommitmentSize())
		o := make([]byte, s.OpeningSize())
		rnd := NewRandomSource()
		seen := make(map[string]bool, n)
		for range n {
			if err := s.Commit(c, o, nil, rnd); err != nil {
				t.Fatal(err)
			}
			seen[string(c)] = true
			for i := range bits {
				ones[i] += int(c[i/8] >> (i % 8) & 1)
			}
		}
		if len(seen) != n {
			t.Errorf("%s: %d distinct commitments out of %d", s.Name(), len(seen), n)
		}
		// Each bit count is Binomial(n, 1/2): (2·ones-n)²/n is χ²(1), and
		// the sum over independent bits is χ²(bits), mean bits, standard
		// deviation sqrt(2·bits). Ten deviations above is never reached by
		// chance (p < 1e-15).
		var chi2 float64
		for _, k := range ones {
			d := float64(2*k - n)
			chi2 += d * d / n
		}
		limit := float64(bits) + 10*math.Sqrt(2*float64(bits))
		if chi2 > limit {
			t.Errorf("%s: bit-balance χ² = %.1f over %d bits, limit %.1f", s.Name(), chi2, bits, limit)
		}
		// A single stuck bit alone gives χ² ≥ n = 4096, far above the limit.
		if limit > n {
			t.Fatalf("test cannot detect a stuck bit: limit %.0f > n", limit)
		}
	}
}

func TestRandomSource(t *testing.T) {
	r := NewRandomSource()
	// Reads straddling the buffer boundary, a read larger than the buffer
	// and many small ones: none may repeat output or leave zeros behind.
	sizes := []int{1, 193, randomBufferSize - 200, 400, 2*randomBufferSize + 5, 32, 0}
	seen := make(map[string]bool)
	for _, n := range sizes {
		p := make([]byte, n)
		if k, err := r.Read(p); k != n || err != nil {
			t.Fatalf("Read(%d) = %d, %v", n, k, err)
		}
		for off := 0; off+16 <= n; off += 16 {
			chunk := string(p[off : off+16])
			if chunk == string(make([]byte, 16)) {
				t.Fatalf("Read(%d): 16 zero bytes at %d", n, off)
			}
			if seen[chunk] {
				t.Fatalf("Read(%d): repeated output at %d", n, off)
			}
			seen[chunk] = true
		}
	}
	rs := r.(*randomSource)
	if !bytes.Equal(rs.buf[:rs.off], make([]byte, rs.off)) {
		t.Error("random source keeps a copy of bytes it handed out")
	}
}

func TestHMOpeningPadding(t *testing.T) {
	s := Default()
	c := make([]byte, 64)
	o := make([]byte, 193)
	// All-ones randomness: Commit must clear the 4 bits past L = 1540.
	ones := bytes.Repeat([]byte{0xff}, 193)
	if err := s.Commit(c, o, nil, bytes.NewReader(ones)); err != nil {
		t.Fatal(err)
	}
	if o[192] != 0x0f {
		t.Fatalf("last opening byte = %#x, want 0x0f", o[192])
	}
	if !s.Verify(c, o, nil) {
		t.Fatal("Verify rejects the padded opening")
	}
}
