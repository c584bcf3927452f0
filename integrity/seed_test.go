package integrity

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
)

var update = flag.Bool("update", false, "rewrite the seed proofs in testdata")

// TestWriteSeedProofs writes small proofs (one per shape: a variant
// region through every update, a whole-file byte range, a computational
// scheme) used as the fuzz corpus, and checks the stored ones decode.
func TestWriteSeedProofs(t *testing.T) {
	if !*update {
		seeds, _ := filepath.Glob("testdata/proof-*.bin")
		if len(seeds) == 0 {
			t.Fatal("no seed proofs in testdata")
		}
		for _, s := range seeds {
			b, err := os.ReadFile(s)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := DecodeProof(b); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		return
	}
	w := newWorld(t)
	ctx := context.Background()
	write := func(name string, p *Proof) {
		b, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll("testdata", 0o755)

	tab := synthTable(t, []Contig{{"chr1", 300}, {"chr2", 40}}, 4, 1)
	dir := filepath.Join(t.TempDir(), "v")
	opts := w.protectOpts(w.start)
	opts.Scheme = commit.SHA256Nonce()
	w.protect(dir, tab.clone(), w.start)
	r, _ := tab.layout.Region("chr1:10-14")
	write("proof-variants.bin", w.prove(dir, tab.clone(), r))
	Update(ctx, dir, OpTimestamp, UpdateOptions{Stamper: w.tsa.At(w.start.AddDate(1, 0, 0))})
	Update(ctx, dir, OpRehash, UpdateOptions{Stamper: w.tsa.At(w.start.AddDate(2, 0, 0)), Hash: SHA512})
	write("proof-variants-updated.bin", w.prove(dir, tab.clone(), r))

	dir2 := filepath.Join(t.TempDir(), "n")
	if _, err := Protect(ctx, dir2, tab.clone(), opts); err != nil {
		t.Fatal(err)
	}
	r2, _ := tab.layout.Region("chr2:40")
	write("proof-nonce.bin", w.prove(dir2, tab.clone(), r2))

	data := []byte("@read1\nACGT\n+\nIIII\n@read2\nTTTT\n+\nIIII\n")
	ft, _ := FileTable(bytesReaderAt(data), int64(len(data)), 8)
	dir3 := filepath.Join(t.TempDir(), "f")
	w.protect(dir3, ft, w.start)
	ft2, _ := FileTable(bytesReaderAt(data), int64(len(data)), 8)
	br, _ := ft2.Layout().Bytes(5, 20)
	write("proof-file.bin", w.prove(dir3, ft2, br))
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, os.ErrNotExist
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, os.ErrNotExist
	}
	return n, nil
}
