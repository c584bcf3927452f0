package integrity

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
)

// fixture is a dataset with two trees (protect, upT, upHT) and a proof
// for a region holding empty and non-empty positions.
type fixture struct {
	w      *world
	tab    *memTable
	dir    string
	region Range
	proof  []byte
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	w := newWorld(t)
	tab := synthTable(t, []Contig{{"chr1", 4000}, {"chr2", 1000}}, 5, 11)
	f := &fixture{w: w, tab: tab, dir: filepath.Join(t.TempDir(), "ds"), now: w.start.AddDate(5, 0, 0)}
	w.protect(f.dir, tab.clone(), w.start)
	ctx := context.Background()
	if _, err := Update(ctx, f.dir, OpTimestamp, UpdateOptions{Stamper: w.tsa.At(w.start.AddDate(1, 0, 0))}); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(ctx, f.dir, OpRehash, UpdateOptions{Stamper: w.tsa.At(w.start.AddDate(2, 0, 0)), Hash: SHA512}); err != nil {
		t.Fatal(err)
	}
	f.region, _ = tab.layout.Region("chr1:1500-1530")
	var err error
	if f.proof, err = w.prove(f.dir, tab.clone(), f.region).MarshalBinary(); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) decode(t *testing.T) *Proof {
	t.Helper()
	p, err := DecodeProof(f.proof)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// present returns the index of a disclosed non-empty and an empty entry.
func present(t *testing.T, p *Proof) (full, empty int) {
	full, empty = -1, -1
	for i, e := range p.Entries {
		if e != nil && full < 0 {
			full = i
		}
		if e == nil && empty < 0 {
			empty = i
		}
	}
	if full < 0 || empty < 0 {
		t.Fatal("fixture region lacks an empty or a non-empty position")
	}
	return
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	other := filepath.Join(t.TempDir(), "other")
	f.w.protect(other, synthTable(t, f.tab.layout.Contigs, 5, 99), f.w.start)
	otherProof := roundTrip(t, f.w.prove(other, synthTable(t, f.tab.layout.Contigs, 5, 99), f.region))

	mallory, _ := crypt4gh.GenerateEd25519Signer()
	cases := []struct {
		name   string
		mutate func(p *Proof, o *VerifyOptions)
		want   error
		text   string
	}{
		{"tampered entry", func(p *Proof, _ *VerifyOptions) {
			i, _ := present(t, p)
			p.Entries[i] = bytes.Clone(p.Entries[i])
			p.Entries[i][len(p.Entries[i])-1] ^= 1
		}, ErrOpening, "chr1:"},
		{"variant claimed where there is none", func(p *Proof, _ *VerifyOptions) {
			_, e := present(t, p)
			p.Entries[e] = []byte("chr1\t1\t.\tA\tT")
		}, ErrOpening, "generation 0"},
		{"variant hidden", func(p *Proof, _ *VerifyOptions) {
			i, _ := present(t, p)
			p.Entries[i] = nil
		}, ErrOpening, ""},
		{"wrong position", func(p *Proof, _ *VerifyOptions) {
			p.Ranges = []Range{{p.Ranges[0].Start + 1024, p.Ranges[0].End + 1024}} // same path shape
		}, ErrRoot, "tree 0"},
		{"swapped commitments", func(p *Proof, _ *VerifyOptions) {
			for _, g := range p.Generations {
				g.Commitments[0], g.Commitments[1] = g.Commitments[1], g.Commitments[0]
				g.Openings[0], g.Openings[1] = g.Openings[1], g.Openings[0]
			}
			p.Entries[0], p.Entries[1] = p.Entries[1], p.Entries[0]
		}, ErrRoot, ""},
		{"swapped commitments only", func(p *Proof, _ *VerifyOptions) {
			i, e := present(t, p)
			g := p.Generations[0]
			g.Commitments[i], g.Commitments[e] = g.Commitments[e], g.Commitments[i]
		}, ErrOpening, ""},
		{"reused commitment", func(p *Proof, _ *VerifyOptions) {
			for _, g := range p.Generations {
				g.Commitments[1], g.Openings[1] = g.Commitments[0], g.Openings[0]
			}
			p.Entries[1] = p.Entries[0]
		}, ErrRoot, ""},
		{"path for a different tree", func(p *Proof, _ *VerifyOptions) {
			p.Paths[0] = otherProof.Paths[0]
		}, ErrRoot, "tree 0"},
		{"path of the wrong length", func(p *Proof, _ *VerifyOptions) {
			p.Paths[1] = p.Paths[1][1:]
		}, ErrPath, "sibling"},
		{"timestamp on a different root", func(p *Proof, _ *VerifyOptions) {
			p.Evidence.Elements[1].Timestamp = otherProof.Evidence.Elements[0].Timestamp
		}, ErrTimestamp, "element 1"},
		{"timestamp from an untrusted TSA", func(p *Proof, o *VerifyOptions) {
			o.Roots = newWorld(t).roots
		}, ErrTimestamp, "element 0"},
		{"changed root", func(p *Proof, _ *VerifyOptions) {
			p.Evidence.Elements[2].Root = otherProof.Evidence.Elements[0].Root[:0:0]
			p.Evidence.Elements[2].Root = bytes.Repeat([]byte{7}, 64)
		}, ErrTimestamp, "element 2"},
		{"signature by an unknown key", func(p *Proof, o *VerifyOptions) {
			o.Keys = []crypt4gh.Verifier{mallory.Verifier()}
		}, ErrSignature, "not among"},
		{"forged signature", func(p *Proof, _ *VerifyOptions) {
			s := *p.Evidence.Elements[0].Signature
			s.Value = bytes.Clone(s.Value)
			s.Value[0] ^= 1
			p.Evidence.Elements[0].Signature = &s
		}, ErrSignature, "does not verify"},
		{"region not requested", func(p *Proof, o *VerifyOptions) {
			r, _ := f.tab.layout.Region("chr2:1-10")
			o.Want = []Range{r}
		}, ErrNotRequested, "chr2:1"},
		{"region partly requested", func(p *Proof, o *VerifyOptions) {
			o.Want = []Range{{f.region.Start, f.region.End + 1}}
		}, ErrNotRequested, ""},
		{"hash expired, not renewed in time", func(p *Proof, o *VerifyOptions) {
			o.Policy = f.w.policy(f.now.AddDate(1, 0, 0))
			setRule(o.Policy, KindHash, "sha512", f.w.start.AddDate(3, 0, 0))
		}, ErrExpired, "hash sha512 of tree 1"},
		{"commitment scheme expired", func(p *Proof, o *VerifyOptions) {
			o.Policy = f.w.policy(f.now.AddDate(1, 0, 0))
			setRule(o.Policy, KindCommitment, "hm-sha256-l1540", f.w.start.AddDate(4, 0, 0))
		}, ErrExpired, "commitment scheme hm-sha256-l1540"},
		{"signature algorithm expired before the first timestamp", func(p *Proof, o *VerifyOptions) {
			o.Policy = f.w.policy(f.now.AddDate(1, 0, 0))
			setRule(o.Policy, KindSignature, "ed25519", f.w.start)
		}, ErrExpired, "signature algorithm ed25519"},
		{"algorithm not in the policy", func(p *Proof, o *VerifyOptions) {
			o.Policy = f.w.policy(f.now.AddDate(1, 0, 0))
			o.Policy.Rules = o.Policy.Rules[1:] // no sha256
		}, ErrUntrusted, "sha256"},
		{"verification before the newest timestamp", func(p *Proof, o *VerifyOptions) {
			o.Now = f.w.start.AddDate(1, 6, 0)
		}, ErrTimestamp, "after the verification time"},
	}
	// The unmodified proof verifies.
	if _, err := Verify(f.decode(t), f.w.verifyOpts(f.now)); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := f.decode(t)
			o := f.w.verifyOpts(f.now)
			c.mutate(p, &o)
			// What a verifier receives is bytes.
			b, err := p.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			q, err := DecodeProof(b)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Verify(q, o)
			wantErr(t, err, c.want)
			if !strings.Contains(err.Error(), c.text) {
				t.Fatalf("error %q does not name %q", err, c.text)
			}
		})
	}
}

func setRule(p *Policy, kind, name string, notAfter time.Time) {
	for i := range p.Rules {
		if p.Rules[i].Kind == kind && p.Rules[i].Name == name {
			p.Rules[i].NotAfter = notAfter
		}
	}
}

func TestDecodeProofRejects(t *testing.T) {
	f := newFixture(t)
	// Every truncation is malformed.
	for n := 0; n < len(f.proof); n += 1 + n/64 {
		if _, err := DecodeProof(f.proof[:n]); !errors.Is(err, ErrMalformedProof) {
			t.Fatalf("truncated to %d bytes: %v", n, err)
		}
	}
	if _, err := DecodeProof(append(bytes.Clone(f.proof), 0)); !errors.Is(err, ErrMalformedProof) {
		t.Fatalf("trailing byte: %v", err)
	}
	// Huge counts and lengths are refused before allocation: set every
	// 4-byte window to 0xffffffff in turn.
	for off := 0; off+4 <= len(f.proof) && off < 600; off++ {
		b := bytes.Clone(f.proof)
		copy(b[off:], []byte{0xff, 0xff, 0xff, 0xff})
		p, err := DecodeProof(b)
		if err == nil {
			// Some windows are hash bytes; the proof must then fail to verify.
			if _, err := Verify(p, f.w.verifyOpts(f.now)); err == nil {
				t.Fatalf("bytes %d..%d set to ff: proof still verifies", off, off+4)
			}
		}
	}
	allocs := testing.AllocsPerRun(10, func() {
		b := bytes.Clone(f.proof)
		copy(b[len(proofMagic)+2:], []byte{0xff})
		DecodeProof(b)
	})
	if allocs > 20 {
		t.Fatalf("a corrupt proof made %v allocations", allocs)
	}
}

func TestWrongDataAtProve(t *testing.T) {
	f := newFixture(t)
	other := synthTable(t, f.tab.layout.Contigs, 5, 12)
	_, err := PartialProof(context.Background(), f.dir, []Range{f.region}, ProveOptions{Table: other, Identity: f.w.owner})
	if err == nil || !strings.Contains(err.Error(), "does not match the protected data at chr1:") {
		t.Fatalf("got %v", err)
	}
}

func TestMalformedTable(t *testing.T) {
	w := newWorld(t)
	l, _ := VariantLayout([]Contig{{"chr1", 100}})
	for _, c := range []struct {
		name    string
		entries []posEntry
		want    string
	}{
		{"unsorted", []posEntry{{5, []byte("a")}, {3, []byte("b")}}, "increasing order"},
		{"duplicate", []posEntry{{5, []byte("a")}, {5, []byte("b")}}, "increasing order"},
		{"past the contig", []posEntry{{100, []byte("a")}}, "increasing order"},
		{"empty entry", []posEntry{{1, []byte{}}}, "bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Protect(context.Background(), filepath.Join(t.TempDir(), "x"), &memTable{layout: l, entries: c.entries}, w.protectOpts(w.start))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
}
