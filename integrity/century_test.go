package integrity

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
	"github.com/crypt4gh-go/crypt4gh/integrity/tsa"
)

func year(y int) time.Time { return time.Date(y, 3, 1, 0, 0, 0, 0, time.UTC) }

// TestCentury plays out a century: data protected in 2026 is renewed as
// the policy's algorithms and authorities age, and a verifier in 2126
// checks it. A chain renewed in time verifies; the same chain with one
// renewal too late fails with ErrExpired naming the algorithm.
func TestCentury(t *testing.T) {
	w := newWorld(t)
	auth := map[string]*tsa.LocalAuthority{}
	roots := x509.NewCertPool()
	for _, a := range []struct {
		name     string
		from, to int
	}{{"TSA-2026", 2025, 2047}, {"TSA-2040", 2039, 2095}, {"TSA-2085", 2084, 2140}} {
		la, err := tsa.NewLocalAuthority(a.name, year(a.from), year(a.to))
		if err != nil {
			t.Fatal(err)
		}
		auth[a.name] = la
		roots.AddCert(la.Root())
	}
	policy := &Policy{Version: 1, Rules: []Rule{
		{Kind: KindSignature, Name: "ed25519", NotAfter: year(2040)},
		{Kind: KindHash, Name: "sha256", NotAfter: year(2050)},
		{Kind: KindHash, Name: "sha512", NotAfter: year(2130)},
		{Kind: KindCommitment, Name: "hm-sha256-l1540", NotAfter: year(2080)},
		{Kind: KindCommitment, Name: "sha256-nonce", NotAfter: year(2130)},
		{Kind: KindTSA, Name: "cn:TSA-2026 TSA", NotAfter: year(2045)},
		{Kind: KindTSA, Name: "cn:TSA-2040 TSA", NotAfter: year(2090)},
		{Kind: KindTSA, Name: "cn:TSA-2085 TSA", NotAfter: year(2130)},
	}}
	onTime := []step{
		{OpTimestamp, 2041, "TSA-2040", 0, ""},            // TSA-2026 expires 2045
		{OpRehash, 2048, "TSA-2040", SHA512, ""},          // sha256 expires 2050
		{OpRecommit, 2075, "TSA-2040", 0, "sha256-nonce"}, // HM expires 2080
		{OpTimestamp, 2088, "TSA-2085", 0, ""},            // TSA-2040 expires 2090
		{OpTimestamp, 2120, "TSA-2085", 0, ""},            // a routine renewal
	}
	for _, c := range []struct {
		name  string
		steps []step
		want  string // "" for success, else the expired algorithm
	}{
		{"renewed in time", onTime, ""},
		{"hash renewed too late", replace(onTime, 1, step{OpRehash, 2052, "TSA-2040", SHA512, ""}), "hash sha256 of tree 0"},
		{"commitments renewed too late", replace(onTime, 2, step{OpRecommit, 2082, "TSA-2040", 0, "sha256-nonce"}), "commitment scheme hm-sha256-l1540"},
		{"timestamp renewed too late", replace(onTime, 0, step{OpTimestamp, 2046, "TSA-2040", 0, ""}), "timestamp authority cn:TSA-2026 TSA"},
		{"last timestamp not renewed", onTime[:3], "timestamp authority cn:TSA-2040 TSA"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab := synthTable(t, []Contig{{"chr1", 3000}}, 30, 5)
			dir := filepath.Join(t.TempDir(), "ds")
			opts := w.protectOpts(year(2026))
			opts.Stamper = auth["TSA-2026"].At(year(2026))
			if _, err := Protect(context.Background(), dir, tab.clone(), opts); err != nil {
				t.Fatal(err)
			}
			for _, s := range c.steps {
				uo := UpdateOptions{Stamper: auth[s.tsa].At(year(s.year)), Hash: s.hash}
				if s.op == OpRecommit {
					sc, _ := commit.ByName(s.scheme)
					uo.Scheme, uo.Table, uo.Identity, uo.Owner = sc, tab.clone(), w.owner, []crypt4gh.Recipient{w.owner.Recipient()}
				}
				if _, err := Update(context.Background(), dir, s.op, uo); err != nil {
					t.Fatalf("%s in %d: %v", s.op, s.year, err)
				}
			}
			r, _ := tab.layout.Region("chr1:100-200")
			p := roundTrip(t, w.prove(dir, tab.clone(), r))
			_, err := Verify(p, VerifyOptions{Policy: policy, Keys: []crypt4gh.Verifier{w.lab.Verifier()}, Roots: roots, Now: year(2126)})
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, ErrExpired)
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not name %q", err, c.want)
			}
		})
	}
}

type step struct {
	op     Op
	year   int
	tsa    string
	hash   Hash
	scheme string
}

func replace(s []step, i int, v step) []step {
	out := append(s[:0:0], s...)
	out[i] = v
	return out
}
