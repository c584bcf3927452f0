package segment

import (
	"bytes"
	"crypto/cipher"
	"errors"
	"io"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

func aead(t testing.TB, b byte) cipher.AEAD {
	k := bytes.Repeat([]byte{b}, 32)
	a, err := chacha20poly1305.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCipherAndPlainLen(t *testing.T) {
	for _, n := range []int64{0, 1, PlainSize - 1, PlainSize, PlainSize + 1, 10 * PlainSize, 1 << 40} {
		c := CipherLen(n)
		back, err := PlainLen(c)
		if err != nil || back != n {
			t.Errorf("PlainLen(CipherLen(%d)) = %d, %v", n, back, err)
		}
	}
	if CipherLen(0) != 0 || CipherLen(1) != 29 || CipherLen(PlainSize) != CipherSize {
		t.Error("CipherLen of small sizes is wrong")
	}
	// A lone empty segment (what one peer writes for empty input) is 0
	// bytes of plaintext; fewer bytes than the framing is truncation.
	if n, err := PlainLen(Overhead); err != nil || n != 0 {
		t.Errorf("PlainLen(28) = %d, %v", n, err)
	}
	var te *TruncatedError
	if _, err := PlainLen(CipherSize + 27); !errors.As(err, &te) || te.Index != 1 || te.Bytes != 27 {
		t.Errorf("PlainLen of a truncated payload: %v", err)
	}
}

func TestNonceCarry(t *testing.T) {
	var base [NonceSize]byte
	for i := 0; i < 8; i++ {
		base[i] = 0xff
	}
	got := make([]byte, NonceSize)
	putNonce(got, base, 1)
	want := []byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Fatalf("nonce carry: %x, want %x", got, want)
	}
}

func encrypt(t testing.TB, a cipher.AEAD, pt []byte, workers int) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf, V1{a}, FramingV1, [NonceSize]byte{1, 2, 3}, workers)
	if _, err := w.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if int64(buf.Len()) != CipherLen(int64(len(pt))) {
		t.Fatalf("%d plaintext bytes gave %d cipher bytes, want %d", len(pt), buf.Len(), CipherLen(int64(len(pt))))
	}
	return buf.Bytes()
}

func readAll(r *Reader) ([]byte, error) {
	var out []byte
	for {
		s, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, s.Plaintext...)
	}
}

func TestReaderWriter(t *testing.T) {
	a := aead(t, 1)
	for _, n := range []int{0, 1, PlainSize, PlainSize + 1, 40*PlainSize + 3} {
		pt := bytes.Repeat([]byte{0xab, 0xcd, 0xef}, n/3+1)[:n]
		for _, workers := range []int{1, 2, 8} {
			ct := encrypt(t, a, pt, workers)
			got, err := readAll(NewReader(bytes.NewReader(ct), NewOpener(V1{a}), NoMap(FramingV1), nil, workers))
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("n=%d workers=%d: %v", n, workers, err)
			}
		}
	}
}

// With several keys, a failed attempt must not destroy the ciphertext
// for the next key (the assembly AEAD zeroes its output on failure).
func TestOpenerSeveralKeys(t *testing.T) {
	a, b := aead(t, 1), aead(t, 2)
	pt := bytes.Repeat([]byte("x"), 3*PlainSize)
	ct := encrypt(t, b, pt, 1)
	got, err := readAll(NewReader(bytes.NewReader(ct), NewOpener(V1{a}, V1{b}), NoMap(FramingV1), nil, 2))
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("second key: %v", err)
	}
	_, err = readAll(NewReader(bytes.NewReader(ct), NewOpener(V1{a}), NoMap(FramingV1), nil, 2))
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Index != 0 {
		t.Fatalf("wrong key: %v", err)
	}
}

type evenFilter struct{ stop int64 }

func (f evenFilter) Want(i int64) bool { return i%2 == 0 }
func (f evenFilter) Done(i int64) bool { return i >= f.stop }

func TestFilterSkipsWithoutDecrypting(t *testing.T) {
	a := aead(t, 1)
	pt := make([]byte, 10*PlainSize)
	for i := range pt {
		pt[i] = byte(i / PlainSize)
	}
	ct := encrypt(t, a, pt, 2)
	// Damage an odd segment: it is skipped, so no error may surface.
	ct[3*CipherSize+40] ^= 1
	r := NewReader(bytes.NewReader(ct), NewOpener(V1{a}), NoMap(FramingV1), evenFilter{stop: 7}, 2)
	var idx []int64
	for {
		s, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if s.Skipped != (s.Pos%2 == 1) {
			t.Fatalf("segment %d: skipped=%v", s.Pos, s.Skipped)
		}
		if !s.Skipped && s.Plaintext[0] != byte(s.Pos) {
			t.Fatalf("segment %d has the wrong plaintext", s.Pos)
		}
		idx = append(idx, s.Pos)
	}
	if len(idx) == 0 || idx[len(idx)-1] < 6 {
		t.Fatalf("segments handed out: %v", idx)
	}
}

func TestReaderTruncated(t *testing.T) {
	a := aead(t, 1)
	ct := encrypt(t, a, make([]byte, 3*PlainSize), 1)
	got, err := readAll(NewReader(bytes.NewReader(ct[:2*CipherSize+10]), NewOpener(V1{a}), NoMap(FramingV1), nil, 2))
	var te *TruncatedError
	if !errors.As(err, &te) || te.Index != 2 {
		t.Fatalf("error %v, want truncation in segment 2", err)
	}
	if len(got) != 2*PlainSize {
		t.Fatalf("released %d bytes before the truncation, want %d", len(got), 2*PlainSize)
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWriterPropagatesWriteError(t *testing.T) {
	w := NewWriter(&failingWriter{n: 1}, V1{aead(t, 1)}, FramingV1, [NonceSize]byte{}, 2)
	_, err1 := w.Write(make([]byte, 100*PlainSize))
	err2 := w.Close()
	if err1 == nil && err2 == nil {
		t.Fatal("write error lost")
	}
	if _, err := w.Write([]byte{1}); err == nil {
		t.Fatal("write after close accepted")
	}
}

func BenchmarkWriter(b *testing.B) {
	a := aead(b, 1)
	pt := make([]byte, 64<<20)
	for _, workers := range []int{1, 0} {
		name := map[int]string{1: "1core", 0: "allcores"}[workers]
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(pt)))
			for i := 0; i < b.N; i++ {
				w := NewWriter(io.Discard, V1{a}, FramingV1, [NonceSize]byte{}, workers)
				w.Write(pt)
				w.Close()
			}
		})
	}
}

// Large writes are sealed straight from the caller's buffer; Write must
// still not retain it: changing it after Write returns must not change the
// output.
func TestWriterLargeWritesDoNotRetain(t *testing.T) {
	a := aead(t, 1)
	want := make([]byte, 7*maxJobSegs*PlainSize+12345)
	for i := range want {
		want[i] = byte(i * 31)
	}
	for _, chunk := range []int{len(want), 3*maxJobSegs*PlainSize + 5, maxJobSegs*PlainSize + 1} {
		var buf bytes.Buffer
		w := NewWriter(&buf, V1{a}, FramingV1, [NonceSize]byte{9}, 2)
		for off := 0; off < len(want); off += chunk {
			p := bytes.Clone(want[off:min(len(want), off+chunk)])
			if n, err := w.Write(p); err != nil || n != len(p) {
				t.Fatalf("Write: %d, %v", n, err)
			}
			clear(p) // the caller reuses its buffer
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := readAll(NewReader(bytes.NewReader(buf.Bytes()), NewOpener(V1{a}), NoMap(FramingV1), nil, 2))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		// Same bytes as the copying path produces.
		if one := encrypt(t, a, want, 1); len(one) != buf.Len() {
			t.Fatalf("chunk %d: %d cipher bytes, want %d", chunk, buf.Len(), len(one))
		}
	}
}
