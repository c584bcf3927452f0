package integrity

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
)

func TestRoundTripSmall(t *testing.T) {
	w := newWorld(t)
	tab := synthTable(t, []Contig{{"chr1", 5000}, {"chr2", 3000}, {"chrM", 17}}, 50, 1)
	dir := filepath.Join(t.TempDir(), "ds")
	w.protect(dir, tab.clone(), w.start)

	for _, region := range []string{"chr1:1-1", "chr1:1000-2000", "chr2:3000", "chrM", "chr1:4990-5000"} {
		r, err := tab.layout.Region(region)
		if err != nil {
			t.Fatal(err)
		}
		p := roundTrip(t, w.prove(dir, tab.clone(), r))
		v, err := Verify(p, w.verifyOpts(w.start.AddDate(1, 0, 0)))
		if err != nil {
			t.Fatalf("%s: %v", region, err)
		}
		if uint64(len(v.Entries)) != r.Len() {
			t.Fatalf("%s: %d entries, want %d", region, len(v.Entries), r.Len())
		}
		for _, e := range v.Entries {
			want := entryAt(tab, e.Position)
			if !bytes.Equal(e.Entry, want) {
				t.Fatalf("%s: entry at %s = %q, want %q", region, e.Name, e.Entry, want)
			}
		}
	}
}

func entryAt(m *memTable, pos uint64) []byte {
	for _, e := range m.entries {
		if e.pos == pos {
			return e.entry
		}
	}
	return nil
}

func TestUpdatesMixed(t *testing.T) {
	w := newWorld(t)
	tab := synthTable(t, []Contig{{"chr1", 3000}, {"chr2", 2500}}, 20, 2)
	dir := filepath.Join(t.TempDir(), "ds")
	w.protect(dir, tab.clone(), w.start)
	ops := []struct {
		op     Op
		hash   Hash
		scheme string
	}{
		{op: OpTimestamp},
		{op: OpRehash, hash: SHA512},
		{op: OpRecommit},
		{op: OpTimestamp},
		{op: OpRecommit, hash: SHA256, scheme: "sha256-nonce"},
		{op: OpRehash, hash: SHA256},
		{op: OpTimestamp},
		{op: OpRehash, hash: SHA512},
		{op: OpRecommit, scheme: "hm-sha256-l1540"},
	}
	at := w.start
	for i, o := range ops {
		at = at.AddDate(3, 0, 0)
		opts := UpdateOptions{Stamper: w.tsa.At(at), Hash: o.hash}
		if o.op == OpRecommit {
			opts.Table, opts.Identity, opts.Owner = tab.clone(), w.owner, []crypt4gh.Recipient{w.owner.Recipient()}
			if o.scheme != "" {
				s, err := commit.ByName(o.scheme)
				if err != nil {
					t.Fatal(err)
				}
				opts.Scheme = s
			}
		}
		if _, err := Update(context.Background(), dir, o.op, opts); err != nil {
			t.Fatalf("update %d (%s): %v", i, o.op, err)
		}
		r, _ := tab.layout.Region("chr1:2990-3000")
		r2, _ := tab.layout.Region("chr2:1-40")
		p := roundTrip(t, w.prove(dir, tab.clone(), r, r2))
		if _, err := Verify(p, w.verifyOpts(at.AddDate(0, 1, 0))); err != nil {
			t.Fatalf("after update %d (%s): %v", i, o.op, err)
		}
	}
}
