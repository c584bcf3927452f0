package interop

import (
	"bytes"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/neicnordic/crypt4gh/streaming"
)

// DecryptReaderAt on files neic wrote: random ReadAt calls (also from
// several goroutines at once), Seek from the start, the current position
// and the end, and reads at and past the end, all checked against the
// plaintext.
func TestReaderAtOnNeicFiles(t *testing.T) {
	alice := newKeyPair(t)
	big := payload(5<<20+12345, 800)
	el := []uint64{1000, 300000, 65536, 2000000, 7}
	cases := []struct {
		name    string
		file    []byte
		visible []byte
	}{
		{"3.5seg", neicEncrypt(t, big[:7*65536/2], nil, nil, alice.pk), big[:7*65536/2]},
		{"5MiB", neicEncrypt(t, big, nil, nil, alice.pk), big},
		{"5MiB-edit-list", neicEncrypt(t, big, nil, neicEditList(el...), alice.pk), applyEditList(big, el)},
		{"one-byte", neicEncrypt(t, big[:1], nil, nil, alice.pk), big[:1]},
	}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			size := int64(len(tc.visible))
			r, err := crypt4gh.DecryptReaderAt(bytes.NewReader(tc.file), int64(len(tc.file)), alice.id)
			mustOK(t, "DecryptReaderAt", err)
			if r.Size() != size {
				t.Fatalf("Size() = %d, want %d", r.Size(), size)
			}

			rng := rand.New(rand.NewPCG(uint64(ci), 1))
			check := func(t *testing.T, off int64, n int) {
				buf := make([]byte, n)
				got, err := r.ReadAt(buf, off)
				end := min(off+int64(n), size)
				want := tc.visible[min(off, size):end]
				if got != len(want) || !bytes.Equal(buf[:got], want) {
					t.Errorf("ReadAt(%d bytes, %d): %d bytes, mismatch", n, off, got)
				}
				if short := int64(len(want)) < int64(n); short && err != io.EOF {
					t.Errorf("ReadAt(%d bytes, %d) short read: err %v, want io.EOF", n, off, err)
				} else if !short && err != nil {
					t.Errorf("ReadAt(%d bytes, %d): %v", n, off, err)
				}
			}
			for range 200 {
				check(t, rng.Int64N(size+10), rng.IntN(200000))
			}
			// Boundaries: segment edges, the last byte, the end, past it.
			for _, off := range []int64{0, 65535, 65536, 65537, size - 1, size, size + 1} {
				if off >= 0 {
					check(t, off, 1)
					check(t, off, 70000)
				}
			}

			// Concurrent ReadAt (run under -race).
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(g), 2))
					for range 20 {
						off := rng.Int64N(size)
						n := rng.IntN(140000)
						buf := make([]byte, n)
						got, _ := r.ReadAt(buf, off)
						if !bytes.Equal(buf[:got], tc.visible[off:min(off+int64(n), size)]) {
							t.Errorf("concurrent ReadAt(%d, %d) mismatch", n, off)
						}
					}
				}()
			}
			wg.Wait()

			// Seek + Read, including from the end (which neic lacks).
			for _, k := range []int64{1, 100, 65536, 70000} {
				k = min(k, size)
				pos, err := r.Seek(-k, io.SeekEnd)
				mustOK(t, "Seek(-k, SeekEnd)", err)
				if pos != size-k {
					t.Fatalf("Seek(-%d, SeekEnd) = %d, want %d", k, pos, size-k)
				}
				buf := make([]byte, k)
				_, err = io.ReadFull(r, buf)
				mustOK(t, "ReadFull after SeekEnd", err)
				assertSame(t, "tail after SeekEnd", buf, tc.visible[size-k:])
				if n, err := r.Read(buf[:1]); n != 0 || err != io.EOF {
					t.Fatalf("Read at the end: %d, %v; want 0, io.EOF", n, err)
				}
			}
			if size < 100 {
				return
			}
			if _, err := r.Seek(size/3, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			if pos, _ := r.Seek(7, io.SeekCurrent); pos != size/3+7 {
				t.Fatalf("Seek(7, SeekCurrent) = %d, want %d", pos, size/3+7)
			}
			buf := make([]byte, 50)
			_, err = io.ReadFull(r, buf)
			mustOK(t, "ReadFull after SeekCurrent", err)
			assertSame(t, "after SeekCurrent", buf, tc.visible[size/3+7:][:len(buf)])
		})
	}
}

// neic's Seek+Read on files we wrote (the random access its users have),
// and where it stops: no SeekEnd.
func TestNeicSeekOnOurFiles(t *testing.T) {
	alice := newKeyPair(t)
	pt := payload(2<<20+999, 801)
	file := ourEncrypt(t, pt, crypt4gh.EncryptOptions{}, 0, alice.recipient())
	r, err := streaming.NewCrypt4GHReader(bytes.NewReader(file), alice.sk, nil)
	mustOK(t, "neic NewCrypt4GHReader", err)
	rng := rand.New(rand.NewPCG(9, 9))
	for range 100 {
		off := rng.Int64N(int64(len(pt)))
		n := min(rng.IntN(100000)+1, len(pt)-int(off))
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, n)
		_, err := io.ReadFull(r, buf)
		mustOK(t, "neic ReadFull", err)
		assertSame(t, "neic Seek+Read on our file", buf, pt[off:off+int64(n)])
	}
	// peer: neic does not implement io.SeekEnd.
	if _, err := r.Seek(-10, io.SeekEnd); err == nil {
		t.Log("neic now supports SeekEnd")
	} else {
		t.Logf("peer: neic Seek(SeekEnd): %v", err)
	}
}
