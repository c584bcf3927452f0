package integrity

import (
	"bytes"
	"context"
	"crypto"
	"path/filepath"
	"sync"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/integrity/tsa"
)

// memoStamper returns the same token for the same digest, so that two
// datasets with equal evidence get equal tokens (real tokens carry a
// random serial and an ECDSA signature).
type memoStamper struct {
	s  tsa.Stamper
	mu sync.Mutex
	m  map[string][]byte
}

func (m *memoStamper) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if tok, ok := m.m[string(digest)]; ok {
		return tok, nil
	}
	tok, err := m.s.Stamp(ctx, h, digest)
	if err == nil {
		m.m[string(digest)] = tok
	}
	return tok, err
}

// TestProofHidesUndisclosed checks hiding at the level of the format: with
// a commitment scheme whose commitments do not depend on the message (a
// perfectly hiding stand-in), two tables that differ only outside the
// disclosed region give byte-identical proofs, through every kind of
// update. So the proof carries nothing about undisclosed positions except
// their commitments, and their privacy reduces to the scheme's hiding.
// (With real randomness equal bytes are impossible; that the real schemes
// hide is the commit package's business.) A control pair that differs
// inside the region gives different proofs.
func TestProofHidesUndisclosed(t *testing.T) {
	w := newWorld(t)
	contigs := []Contig{{"chr1", 6000}, {"chr2", 2000}}
	base := synthTable(t, contigs, 10, 21)
	region, _ := base.layout.Region("chr1:2000-2100")
	// Different variants everywhere outside the region, and different
	// counts (the count must not leak either).
	outside := synthTable(t, contigs, 3, 22)
	var mixed []posEntry
	for _, e := range outside.entries {
		if e.pos < region.Start || e.pos >= region.End {
			mixed = append(mixed, e)
		}
	}
	for _, e := range base.entries {
		if e.pos >= region.Start && e.pos < region.End {
			mixed = append(mixed, e)
		}
	}
	sortEntries(mixed)
	other := &memTable{layout: base.layout, entries: mixed}
	inside := &memTable{layout: base.layout, entries: append([]posEntry(nil), base.entries...)}
	for i, e := range inside.entries {
		if e.pos >= region.Start && e.pos < region.End {
			inside.entries[i].entry = []byte("changed")
			break
		}
	}

	stamp := &memoStamper{s: w.tsa.At(w.start), m: map[string][]byte{}}
	proofOf := func(tab *memTable) []byte {
		dir := filepath.Join(t.TempDir(), "ds")
		opts := w.protectOpts(w.start)
		opts.Stamper, opts.Scheme = stamp, constantScheme{}
		if _, err := Protect(context.Background(), dir, tab.clone(), opts); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for _, u := range []struct {
			op Op
			uo UpdateOptions
		}{
			{OpTimestamp, UpdateOptions{}},
			{OpRehash, UpdateOptions{Hash: SHA512}},
			{OpRecommit, UpdateOptions{Table: tab.clone(), Identity: w.owner, Owner: []crypt4gh.Recipient{w.owner.Recipient()}}},
		} {
			u.uo.Stamper = stamp
			if _, err := Update(ctx, dir, u.op, u.uo); err != nil {
				t.Fatal(err)
			}
		}
		b, err := w.prove(dir, tab.clone(), region).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := proofOf(base), proofOf(other), proofOf(inside)
	if !bytes.Equal(a, b) {
		t.Fatal("proofs differ although the tables differ only outside the disclosed region")
	}
	if bytes.Equal(a, c) {
		t.Fatal("control: proofs are equal although a disclosed entry differs")
	}
	if len(base.entries) == len(other.entries) {
		t.Fatal("test tables should differ in their number of variants")
	}
}

func sortEntries(es []posEntry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].pos < es[j-1].pos; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

// TestProofDeterministic: proving twice gives the same bytes.
func TestProofDeterministic(t *testing.T) {
	f := newFixture(t)
	p := f.w.prove(f.dir, f.tab.clone(), f.region)
	b, _ := p.MarshalBinary()
	if !bytes.Equal(b, f.proof) {
		t.Fatal("two proofs of the same positions differ")
	}
}
