package integrity

import (
	"context"
	"crypto"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh/integrity/tsa"
	"github.com/crypt4gh-go/crypt4gh/integrity/tsa/tsatest"
)

// TestSHA3TreeWithOpenSSLTSA renews a SHA-256 tree with a SHA3-256 one
// (upHT) and then with new commitments under SHA3-256 (upCHT), each
// timestamped by a real OpenSSL TSA over a SHA3-256 imprint, and checks
// that the tokens carry SHA3-256 imprints and the proof verifies. The
// local development authority cannot issue SHA-3 imprints; a real TSA
// that accepts them is what a SHA3-256 renewal needs.
func TestSHA3TreeWithOpenSSLTSA(t *testing.T) {
	w := newWorld(t)
	o := tsatest.NewOpenSSL(t, "sha256")
	srv := httptest.NewServer(o)
	defer srv.Close()
	stamper := tsa.NewHTTPStamper(srv.URL, srv.Client())
	tab := synthTable(t, []Contig{{"chr1", 4000}, {"chr2", 900}}, 8, 6)
	dir := filepath.Join(t.TempDir(), "ds")
	opts := w.protectOpts(w.start)
	opts.Stamper = stamper
	ctx := context.Background()
	if _, err := Protect(ctx, dir, tab.clone(), opts); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(ctx, dir, OpRehash, UpdateOptions{Stamper: stamper, Hash: SHA3_256}); err != nil {
		t.Fatal(err)
	}
	ev, err := Update(ctx, dir, OpRecommit, UpdateOptions{Stamper: stamper, Table: tab.clone(), Identity: w.owner, Owner: opts.Owner})
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k < len(ev.Elements); k++ {
		if ev.hashAt(k) != SHA3_256 {
			t.Fatalf("element %d is under %s, want sha3-256", k, ev.hashAt(k))
		}
		v, err := tsa.Verify(ev.Elements[k].Timestamp, crypto.SHA3_256, ev.stampedDigest(k), o.Roots(t))
		if err != nil {
			t.Fatalf("element %d: %v", k, err)
		}
		if v.Hash != crypto.SHA3_256 || v.Signer.Subject.CommonName != "OpenSSL Test TSA" {
			t.Errorf("element %d: token imprint %v from %s", k, v.Hash, v.Signer.Subject)
		}
	}
	r, _ := tab.layout.Region("chr1:3990-4000")
	p := roundTrip(t, w.prove(dir, tab.clone(), r))
	vo := w.verifyOpts(time.Now().Add(time.Hour))
	vo.Roots = o.Roots(t)
	if _, err := Verify(p, vo); err != nil {
		t.Fatal(err)
	}
	// The same renewal through the local authority is refused by name.
	if _, err := Update(ctx, dir, OpRehash, UpdateOptions{Stamper: w.tsa.At(time.Now()), Hash: SHA3_256}); err == nil {
		t.Error("the local authority stamped a SHA3-256 imprint")
	}
}
