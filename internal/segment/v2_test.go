package segment

// The v2 sealed stream and PR 736 at the segment layer
// (doc/crypt4gh-v2.md sections 5 and 10): key rotation, associated data,
// framing, layouts and failure diagnosis.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// rotating returns a Sealed cipher whose period-j key is derived by key(j),
// and records the periods derived.
func rotating(t testing.TB, bits uint, key func(j uint64) cipher.AEAD) (*Sealed, func() map[uint64]int) {
	var mu sync.Mutex
	calls := map[uint64]int{}
	s := &Sealed{RotateBits: bits, Derive: func(j uint64) cipher.AEAD {
		mu.Lock()
		calls[j]++
		mu.Unlock()
		return key(j)
	}}
	return s, func() map[uint64]int {
		mu.Lock()
		defer mu.Unlock()
		return calls
	}
}

func chachaKey(j uint64) cipher.AEAD {
	k := bytes.Repeat([]byte{byte(j + 1)}, 32)
	a, _ := chacha20poly1305.New(k)
	return a
}

func gcmKey(j uint64) cipher.AEAD {
	k := bytes.Repeat([]byte{byte(j + 1)}, 32)
	b, _ := aes.NewCipher(k)
	a, _ := cipher.NewGCM(b)
	return a
}

func sealedAD(i uint64, final bool) []byte {
	ad := binary.LittleEndian.AppendUint64(nil, i)
	if final {
		return append(ad, 1)
	}
	return append(ad, 0)
}

func writeAll(t testing.TB, c Cipher, f Framing, pt []byte, workers int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, c, f, [NonceSize]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 9, 9, 9, 9}, workers)
	if _, err := w.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func split(ct []byte) [][]byte {
	var segs [][]byte
	for off := 0; off < len(ct); off += CipherSize {
		segs = append(segs, ct[off:min(off+CipherSize, len(ct))])
	}
	return segs
}

// TestSealedRotation: with RotateBits = 2, segment i is sealed under the
// key of period i>>2, with AD le64(i) || final; each key is derived once
// per period and cached.
func TestSealedRotation(t *testing.T) {
	for name, key := range map[string]func(uint64) cipher.AEAD{"chacha": chachaKey, "gcm": gcmKey} {
		for _, workers := range []int{1, 3} {
			pt := make([]byte, 9*PlainSize+5) // 10 segments: periods 0, 1, 2
			for i := range pt {
				pt[i] = byte(i * 7)
			}
			s, calls := rotating(t, 2, key)
			ct := writeAll(t, s, FramingSealed, pt, workers)
			got := calls()
			if len(got) != 3 || got[0] == 0 || got[1] == 0 || got[2] == 0 {
				t.Fatalf("%s: periods derived %v, want 0, 1 and 2", name, got)
			}
			segs := split(ct)
			if len(segs) != 10 {
				t.Fatalf("%s: %d segments", name, len(segs))
			}
			for i, seg := range segs {
				final := i == len(segs)-1
				j := uint64(i) >> 2
				if _, err := key(j).Open(nil, seg[:NonceSize], seg[NonceSize:], sealedAD(uint64(i), final)); err != nil {
					t.Fatalf("%s: segment %d does not open under the key of period %d", name, i, j)
				}
				for _, other := range []uint64{j + 1, j + 2} {
					if _, err := key(other).Open(nil, seg[:NonceSize], seg[NonceSize:], sealedAD(uint64(i), final)); err == nil {
						t.Fatalf("%s: segment %d opens under the key of period %d", name, i, other)
					}
				}
			}
			// Reading with a fresh cipher derives the same keys.
			r, _ := rotating(t, 2, key)
			out, err := readAll(NewReader(bytes.NewReader(ct), NewOpener(r), NoMap(FramingSealed), nil, workers))
			if err != nil || !bytes.Equal(out, pt) {
				t.Fatalf("%s: read back: %v", name, err)
			}
			// Rotation bits of the real AES method: one period for any
			// realistic test size.
			s20, calls20 := rotating(t, 20, key)
			ct20 := writeAll(t, s20, FramingSealed, pt, workers)
			if c := calls20(); len(c) != 1 || c[0] == 0 {
				t.Fatalf("%s: RotateBits 20 derived %v", name, c)
			}
			if !bytes.Equal(ct20[NonceSize:100], ct[NonceSize:100]) {
				// Same key for period 0 and same nonce: segment 0 is the same.
				t.Fatalf("%s: segment 0 differs between RotateBits 2 and 20", name)
			}
		}
	}
	// A fixed-key Sealed (Derive nil) uses A for every index.
	s := &Sealed{A: chachaKey(0)}
	if s.AEAD(0) != s.AEAD(1<<40) {
		t.Fatal("fixed-key Sealed rotates")
	}
	r, _ := rotating(t, 2, chachaKey)
	if r.AEAD(3) != r.AEAD(0) || r.AEAD(4) == r.AEAD(3) {
		t.Fatal("AEAD(i) is not cached per period")
	}
}

// TestSealedFraming: an empty plaintext is one empty final segment; a
// plaintext ending on a boundary gets no extra segment; nonces are the base
// plus the index (with carry).
func TestSealedFraming(t *testing.T) {
	a := aead(t, 3)
	for _, n := range []int{0, 1, PlainSize - 1, PlainSize, PlainSize + 1, 3 * PlainSize, 17 * PlainSize} {
		for _, workers := range []int{1, 4} {
			pt := bytes.Repeat([]byte{0x5a}, n)
			ct := writeAll(t, &Sealed{A: a}, FramingSealed, pt, workers)
			segs := split(ct)
			want := max(1, (n+PlainSize-1)/PlainSize)
			if len(segs) != want {
				t.Fatalf("n=%d: %d segments, want %d", n, len(segs), want)
			}
			if int64(len(ct)) != CipherLen(int64(n))+map[bool]int64{true: Overhead, false: 0}[n == 0] {
				t.Fatalf("n=%d: %d bytes", n, len(ct))
			}
			base := [NonceSize]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 9, 9, 9, 9}
			for i, seg := range segs {
				var nonce [NonceSize]byte
				putNonce(nonce[:], base, int64(i))
				if !bytes.Equal(seg[:NonceSize], nonce[:]) {
					t.Fatalf("n=%d: nonce of segment %d", n, i)
				}
				if _, err := a.Open(nil, seg[:NonceSize], seg[NonceSize:], sealedAD(uint64(i), i == len(segs)-1)); err != nil {
					t.Fatalf("n=%d: segment %d: %v", n, i, err)
				}
			}
			out, err := readAll(NewReader(bytes.NewReader(ct), NewOpener(&Sealed{A: a}), NoMap(FramingSealed), nil, workers))
			if err != nil || !bytes.Equal(out, pt) {
				t.Fatalf("n=%d: %v", n, err)
			}
		}
	}
	// The carry of the 96-bit addition reaches the high word.
	var got [NonceSize]byte
	putNonce(got[:], [NonceSize]byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0}, 3)
	if !bytes.Equal(got[:], []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}) {
		t.Fatalf("nonce carry: %x", got)
	}
}

// TestPR736Framing: AD le64(seq+i) wrapping at 2^64, and an empty final
// segment on a boundary.
func TestPR736Framing(t *testing.T) {
	a := aead(t, 4)
	c := PR736{A: a, Seq: 1<<64 - 2}
	if got := c.AppendAD(nil, 2, true); !bytes.Equal(got, make([]byte, 8)) {
		t.Fatalf("AD of segment 2 with seq 2^64-2: %x, want le64(0)", got)
	}
	if got := c.AppendAD(nil, 1, false); !bytes.Equal(got, bytes.Repeat([]byte{0xff}, 8)) {
		t.Fatalf("AD of segment 1: %x", got)
	}
	for _, n := range []int{0, 10, PlainSize, 2*PlainSize + 1, 3 * PlainSize} {
		pt := bytes.Repeat([]byte{1}, n)
		ct := writeAll(t, c, FramingPR736, pt, 2)
		segs := split(ct)
		if len(segs) != n/PlainSize+1 {
			t.Fatalf("n=%d: %d segments", n, len(segs))
		}
		for i, seg := range segs {
			ad := binary.LittleEndian.AppendUint64(nil, c.Seq+uint64(i))
			if _, err := a.Open(nil, seg[:NonceSize], seg[NonceSize:], ad); err != nil {
				t.Fatalf("n=%d segment %d: %v", n, i, err)
			}
		}
		out, err := readAll(NewReader(bytes.NewReader(ct), NewOpener(c), NoMap(FramingPR736), nil, 2))
		if err != nil || !bytes.Equal(out, pt) {
			t.Fatalf("n=%d: %v", n, err)
		}
		if n%PlainSize == 0 {
			// Drop the empty trailing segment: missing.
			_, err := readAll(NewReader(bytes.NewReader(ct[:len(ct)-Overhead]), NewOpener(c), NoMap(FramingPR736), nil, 2))
			var te *TruncatedError
			if !errors.As(err, &te) || !te.Stream || te.Reason != "missing trailing segment" {
				t.Fatalf("n=%d without the trailing segment: %v", n, err)
			}
		}
	}
}

func TestLayoutCheckEnd(t *testing.T) {
	mapped := Layout{Framing: FramingSealed, Count: 3, FinalIndex: 9}
	for _, tc := range []struct {
		name    string
		l       Layout
		segs    int64
		lastLen int
		want    error
	}{
		{"v1 empty", NoMap(FramingV1), 0, 0, nil},
		{"v1 full last", NoMap(FramingV1), 2, PlainSize, nil},
		{"sealed empty", NoMap(FramingSealed), 0, 0, ErrTruncated},
		{"sealed one", NoMap(FramingSealed), 1, 0, nil},
		{"pr736 empty", NoMap(FramingPR736), 0, 0, ErrTruncated},
		{"pr736 full last", NoMap(FramingPR736), 2, PlainSize, ErrTruncated},
		{"pr736 empty last", NoMap(FramingPR736), 2, 0, nil},
		{"map short", mapped, 2, PlainSize, ErrTruncated},
		{"map exact", mapped, 3, PlainSize, nil},
		{"map long", mapped, 4, 5, ErrOrder},
	} {
		err := tc.l.CheckEnd(tc.segs, tc.lastLen)
		if (tc.want == nil) != (err == nil) || (err != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	sealed := NoMap(FramingSealed)
	if err := sealed.CheckEnd(0, 0); err == nil || !bytes.Contains([]byte(err.Error()), []byte("truncated stream")) {
		t.Errorf("sealed empty: %q", err)
	}
}

// TestDiagnose: a segment that fails at its position is explained.
func TestDiagnose(t *testing.T) {
	a := aead(t, 5)
	pt := make([]byte, 80*PlainSize)
	ct := writeAll(t, &Sealed{A: a}, FramingSealed, pt, 2)
	segs := split(ct)
	o := NewOpener(&Sealed{A: a})
	l := NoMap(FramingSealed)
	var oe *OrderError
	var te *TruncatedError
	var ae *AuthError
	// Segment 10 at position 12: out of order, found.
	if _, err := l.Open(o, nil, segs[10], 12, false); !errors.As(err, &oe) || oe.Found != 10 || oe.Position != 12 {
		t.Fatalf("moved by 2: %v", err)
	}
	// 64 positions away is still found; 65 is not.
	if _, err := l.Open(o, nil, segs[0], 64, false); !errors.As(err, &oe) || oe.Found != 0 {
		t.Fatalf("moved by 64: %v", err)
	}
	if _, err := l.Open(o, nil, segs[0], 65, false); !errors.As(err, &ae) || ae.Index != 65 {
		t.Fatalf("moved by 65: %v", err)
	}
	// A non-final segment where the final one is expected: truncated.
	if _, err := l.Open(o, nil, segs[5], 5, true); !errors.As(err, &te) || !te.Stream || te.Index != 6 {
		t.Fatalf("non-final as final: %v", err)
	}
	// The final segment with more after it.
	last := len(segs) - 1
	if _, err := l.Open(o, nil, segs[last], int64(last), false); !errors.As(err, &oe) || oe.Kind == "out of order" {
		t.Fatalf("final not last: %v", err)
	}
	// A modified segment: authentication.
	bad := bytes.Clone(segs[3])
	bad[100] ^= 1
	if _, err := l.Open(o, nil, bad, 3, false); !errors.As(err, &ae) || ae.Index != 3 {
		t.Fatalf("modified: %v", err)
	}
	// The failed open left the segment intact for the diagnosis.
	if _, err := l.Open(o, nil, segs[10], 10, false); err != nil {
		t.Fatalf("segment damaged by a failed open: %v", err)
	}
	// Non-sealed framings do not diagnose.
	v1 := NoMap(FramingV1)
	if _, err := v1.Open(NewOpener(V1{a}), nil, segs[1], 1, false); !errors.As(err, &ae) {
		t.Fatalf("v1: %v", err)
	}
}

// TestSegmentMapLayout: a reader with a layout that maps positions to
// original indexes opens rearranged segments.
func TestSegmentMapLayout(t *testing.T) {
	a := aead(t, 6)
	pt := make([]byte, 6*PlainSize+10) // 7 segments, 6 final
	for i := range pt {
		pt[i] = byte(i / PlainSize)
	}
	segs := split(writeAll(t, &Sealed{A: a}, FramingSealed, pt, 1))
	pick := []int{1, 2, 5} // all full: the final (6) is not listed
	var payload []byte
	var want []byte
	for _, i := range pick {
		payload = append(payload, segs[i]...)
		want = append(want, pt[i*PlainSize:min((i+1)*PlainSize, len(pt))]...)
	}
	l := Layout{Framing: FramingSealed, Count: 3, FinalIndex: 6, Index: func(pos int64) int64 {
		if pos < 3 {
			return int64(pick[pos])
		}
		return -1
	}}
	for _, workers := range []int{1, 2} {
		out, err := readAll(NewReader(bytes.NewReader(payload), NewOpener(&Sealed{A: a}), l, nil, workers))
		if err != nil || !bytes.Equal(out, want) {
			t.Fatalf("workers %d: %v", workers, err)
		}
		// One segment more than the map lists.
		_, err = readAll(NewReader(io.MultiReader(bytes.NewReader(payload), bytes.NewReader(segs[3])), NewOpener(&Sealed{A: a}), l, nil, workers))
		if !errors.Is(err, ErrOrder) {
			t.Fatalf("workers %d: extra segment: %v", workers, err)
		}
		// One fewer.
		_, err = readAll(NewReader(bytes.NewReader(payload[:2*CipherSize]), NewOpener(&Sealed{A: a}), l, nil, workers))
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("workers %d: missing segment: %v", workers, err)
		}
	}
}
