package integrity

import (
	"bytes"
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
