package commit

import (
	"bytes"
	"encoding/hex"
	"io"
	"testing"
)

func readN(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOpeningStreamKnownAnswer pins the construction: the first block is
// AES-256 of the all-zero counter block (FIPS 197 gives AES-256 of zeros
// under the zero key), and the counter runs big-endian.
func TestOpeningStreamKnownAnswer(t *testing.T) {
	var key [OpeningKeySize]byte
	got := readN(t, NewOpeningStream(&key, 0), 16)
	if want := "dc95c078a2408989ad48a21492842087"; hex.EncodeToString(got) != want {
		t.Fatalf("first block %x, want %s", got, want)
	}
}

// TestOpeningStreamOffsets: a stream opened at any offset is the same
// bytes as the whole stream from there.
func TestOpeningStreamOffsets(t *testing.T) {
	key := [OpeningKeySize]byte{1, 2, 3}
	whole := readN(t, NewOpeningStream(&key, 0), 4096)
	for _, off := range []int{0, 1, 15, 16, 17, 193, 386, 1000, 4000} {
		got := readN(t, NewOpeningStream(&key, uint64(off)), len(whole)-off)
		if !bytes.Equal(got, whole[off:]) {
			t.Errorf("offset %d: stream differs from the whole stream", off)
		}
	}
	other := [OpeningKeySize]byte{1, 2, 4}
	if bytes.Equal(readN(t, NewOpeningStream(&other, 0), 64), whole[:64]) {
		t.Error("two keys give the same stream")
	}
}

// TestOpeningsDerivable: the openings of a batch committed from a stream
// are derived again, one at a time, from the key, and open their
// commitments.
func TestOpeningsDerivable(t *testing.T) {
	key := [OpeningKeySize]byte{9}
	for _, s := range schemes() {
		t.Run(benchName(s), func(t *testing.T) {
			const n = 700 // more than one hmBatchChunk
			cs, os := s.CommitmentSize(), s.OpeningSize()
			msgs := make([][]byte, n)
			for i := range msgs {
				if i%3 == 0 {
					msgs[i] = []byte{byte(i), 'x'}
				}
			}
			c, o := make([]byte, n*cs), make([]byte, n*os)
			if err := CommitBatch(s, c, o, msgs, NewOpeningStream(&key, 0)); err != nil {
				t.Fatal(err)
			}
			for i := range n {
				raw := readN(t, NewOpeningStream(&key, uint64(i*os)), os)
				got := make([]byte, os)
				if err := s.OpeningFrom(got, raw); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, o[i*os:(i+1)*os]) {
					t.Fatalf("opening %d derived from the key differs from the batch's", i)
				}
				if !s.Verify(c[i*cs:(i+1)*cs], got, msgs[i]) {
					t.Fatalf("derived opening %d does not open its commitment", i)
				}
				// In place, as the dataset code derives them.
				if err := s.OpeningFrom(raw, raw); err != nil || !bytes.Equal(raw, got) {
					t.Fatalf("in-place OpeningFrom differs: %v", err)
				}
			}
			if err := s.OpeningFrom(make([]byte, os), make([]byte, os+1)); err == nil {
				t.Error("OpeningFrom accepted a randomness buffer of the wrong length")
			}
			if err := s.OpeningFrom(make([]byte, os-1), make([]byte, os)); err == nil {
				t.Error("OpeningFrom accepted an opening buffer of the wrong length")
			}
		})
	}
}

// TestCommitReadsOpeningSize: Commit takes exactly OpeningSize bytes of
// randomness, which is what makes openings derivable by offset.
func TestCommitReadsOpeningSize(t *testing.T) {
	for _, s := range schemes() {
		cr := &countingReader{r: NewRandomSource()}
		c, o := make([]byte, s.CommitmentSize()), make([]byte, s.OpeningSize())
		for range 5 {
			if err := s.Commit(c, o, []byte("m"), cr); err != nil {
				t.Fatal(err)
			}
		}
		if cr.n != 5*s.OpeningSize() {
			t.Errorf("%s: 5 commitments read %d random bytes, want %d", s.Name(), cr.n, 5*s.OpeningSize())
		}
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func BenchmarkOpeningStream(b *testing.B) {
	key := [OpeningKeySize]byte{1}
	r := NewOpeningStream(&key, 0)
	p := make([]byte, hmBatchChunk*hmBytes)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		r.Read(p)
	}
}
