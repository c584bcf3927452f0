package integrity

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeProof: decoding never panics, anything it accepts re-encodes
// to the same bytes (the encoding is not malleable), and verifying it never
// panics.
func FuzzDecodeProof(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/proof-*.bin")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if len(seeds) == 0 {
		f.Fatal("no seed proofs in testdata (regenerate with go test -run TestWriteSeedProofs -update)")
	}
	w := newWorld(f)
	opts := w.verifyOpts(w.start.AddDate(5, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeProof(b)
		if err != nil {
			return
		}
		again, err := p.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded proof does not re-encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatal("decoded proof re-encodes differently")
		}
		Verify(p, opts)
		p.MarshalJSON()
	})
}

// FuzzParsePolicy: policies parse or fail cleanly.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"version":1,"algorithms":[{"kind":"hash","name":"sha256","not_after":"2045-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"version":1,"algorithms":[{"kind":"tsa","name":"*","not_before":"2020-01-01T00:00:00Z","not_after":"2030-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParsePolicy(out); err != nil {
			t.Fatalf("a parsed policy does not parse again: %v", err)
		}
	})
}

// FuzzRegion: region strings parse or fail cleanly, and parsed regions
// lie within the layout.
func FuzzRegion(f *testing.F) {
	for _, s := range []string{"chr1:1000-2000", "chr1", "chr2:5", "chr1:1,000-2,000", "chr1:0", "chr1:5-3", "x:1"} {
		f.Add(s)
	}
	l, _ := VariantLayout([]Contig{{"chr1", 5000}, {"chr2", 10}})
	f.Fuzz(func(t *testing.T, s string) {
		r, err := l.Region(s)
		if err != nil {
			return
		}
		if r.End <= r.Start || r.End > l.Positions() {
			t.Fatalf("%q gave range %v", s, r)
		}
	})
}

// FuzzOpenDataset: a dataset whose manifest fields have been rewritten
// opens or fails with an error, never panics; and whatever opens can be
// proved from without a panic. (The fields are fuzzed rather than the
// JSON bytes, whose syntax encoding/json handles, so that inputs stay
// small and reach the checks.)
func FuzzOpenDataset(f *testing.F) {
	w := newWorld(f)
	tab := synthTable(f, []Contig{{"chr1", 2500}, {"chr2", 700}}, 9, 5)
	src := filepath.Join(f.TempDir(), "ds")
	w.protect(src, tab.clone(), w.start)
	var good manifest
	b, err := os.ReadFile(filepath.Join(src, manifestName))
	if err == nil {
		err = json.Unmarshal(b, &good)
	}
	if err != nil {
		f.Fatal(err)
	}
	g, tr := good.Generations[0], good.Trees[0]
	f.Add(good.Version, good.Positions, good.CacheLevel, g.Scheme, g.CommitmentSize, g.OpeningSize, g.Commitments, g.OpeningKeys, tr.Hash, tr.Generation, tr.Cache, tr.Root)
	f.Add(1, good.Positions, 3, "sha256-nonce", 32, 32, g.Commitments, "openings-0.c4gh", "sha512", 1, tr.Cache, tr.Root)
	f.Add(good.Version, uint64(1)<<62, 0, g.Scheme, g.CommitmentSize, g.OpeningSize, "../evidence.bin", g.OpeningKeys, tr.Hash, -1, "/etc/passwd", "")
	r, _ := tab.layout.Region("chr1:100-120")
	f.Fuzz(func(t *testing.T, version int, positions uint64, cache int, scheme string, csize, osize int, cfile, kfile, hash string, gen int, cfileTree, root string) {
		m := good
		m.Version, m.Positions, m.CacheLevel = version, positions, cache
		m.Generations = []manifestGen{{scheme, csize, osize, cfile, kfile}}
		m.Trees = []manifestTree{{hash, gen, cfileTree, root}}
		mb, err := json.Marshal(&m)
		if err != nil {
			return
		}
		dir := t.TempDir()
		entries, _ := os.ReadDir(src)
		for _, e := range entries {
			if e.Name() == manifestName {
				continue
			}
			if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, manifestName), mb, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir); err != nil {
			return
		}
		if _, err := PartialProof(context.Background(), dir, []Range{r}, ProveOptions{Table: tab.clone(), Identity: w.owner}); err != nil {
			t.Fatalf("a dataset that opens does not prove: %v", err)
		}
	})
}
