package integrity

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
	"github.com/crypt4gh-go/crypt4gh/integrity/tsa"
	"github.com/crypt4gh-go/crypt4gh/integrity/vcf"
)

// memTable is a table held in memory.
type memTable struct {
	layout  Layout
	entries []posEntry
	i       int
}

func (m *memTable) Layout() Layout { return m.layout }

func (m *memTable) Next() (uint64, []byte, error) {
	if m.i >= len(m.entries) {
		return 0, nil, io.EOF
	}
	e := m.entries[m.i]
	m.i++
	return e.pos, e.entry, nil
}

// clone returns a fresh iterator over the same entries.
func (m *memTable) clone() *memTable { return &memTable{layout: m.layout, entries: m.entries} }

// synthTable returns a variant table over contigs with about one entry per
// density positions, deterministic in seed.
func synthTable(t testing.TB, contigs []Contig, density int, seed uint64) *memTable {
	t.Helper()
	l, err := VariantLayout(contigs)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	m := &memTable{layout: l}
	n := l.Positions()
	for pos := uint64(0); pos < n; pos++ {
		if r.IntN(density) != 0 {
			continue
		}
		rec := fmt.Appendf(nil, "%s\t%d\t.\tA\tG\t50\tPASS\t.", l.Name(pos), pos)
		m.entries = append(m.entries, posEntry{pos, vcf.Entry([][]byte{rec})})
	}
	return m
}

// world is a lab, a data owner and a timestamp authority.
type world struct {
	t     testing.TB
	lab   *crypt4gh.Ed25519Signer
	owner *crypt4gh.X25519Identity
	tsa   *tsa.LocalAuthority
	roots *x509.CertPool
	start time.Time
}

func newWorld(t testing.TB) *world {
	t.Helper()
	lab, err := crypt4gh.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	owner, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, err := tsa.NewLocalAuthority("integrity test TSA", start.AddDate(-1, 0, 0), start.AddDate(150, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, lab: lab, owner: owner, tsa: a, roots: a.Roots(), start: start}
}

func (w *world) protectOpts(at time.Time) ProtectOptions {
	return ProtectOptions{Signer: w.lab, Stamper: w.tsa.At(at), Owner: []crypt4gh.Recipient{w.owner.Recipient()}}
}

func (w *world) protect(dir string, tab Table, at time.Time) {
	w.t.Helper()
	if _, err := Protect(context.Background(), dir, tab, w.protectOpts(at)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) prove(dir string, tab Table, rs ...Range) *Proof {
	w.t.Helper()
	p, err := PartialProof(context.Background(), dir, rs, ProveOptions{Table: tab, Identity: w.owner})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// policy trusts everything used here until end.
func (w *world) policy(end time.Time) *Policy {
	p := &Policy{Version: 1}
	for _, r := range [][2]string{
		{KindHash, "sha256"}, {KindHash, "sha512"}, {KindHash, "sha3-256"},
		{KindCommitment, "hm-sha256-l1540"}, {KindCommitment, "sha256-nonce"}, {KindCommitment, testSchemeName},
		{KindSignature, "ed25519"}, {KindSignature, "mldsa65"}, {KindTSA, "*"},
	} {
		p.Rules = append(p.Rules, Rule{Kind: r[0], Name: r[1], NotAfter: end})
	}
	return p
}

func (w *world) verifyOpts(now time.Time) VerifyOptions {
	return VerifyOptions{Policy: w.policy(now.AddDate(1, 0, 0)), Keys: []crypt4gh.Verifier{w.lab.Verifier()}, Roots: w.roots, Now: now}
}

// roundTrip encodes and decodes a proof, as a verifier receives it.
func roundTrip(t testing.TB, p *Proof) *Proof {
	t.Helper()
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	q, err := DecodeProof(b)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// wantErr fails unless err matches target.
func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", target)
	}
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

// testSchemeName is a deliberately non-hiding, non-binding scheme whose
// commitments do not depend on the message: with it two tables that
// differ only at undisclosed positions give identical trees, which lets
// a test compare proof bytes.
const testSchemeName = "test-constant"

type constantScheme struct{}

func init() { testSchemes[testSchemeName] = constantScheme{} }

func (constantScheme) Name() string          { return testSchemeName }
func (constantScheme) Hiding() commit.Hiding { return commit.Statistical }
func (constantScheme) CommitmentSize() int   { return 32 }
func (constantScheme) OpeningSize() int      { return 32 }

// Commit draws its randomness as the contract requires, but its opening,
// like its commitment, is constant: equal proofs need equal openings.
func (constantScheme) Commit(c, o, _ []byte, rnd io.Reader) error {
	if _, err := io.ReadFull(rnd, o); err != nil {
		return err
	}
	clear(c)
	clear(o)
	return nil
}
func (constantScheme) OpeningFrom(o, _ []byte) error {
	clear(o)
	return nil
}
func (constantScheme) Verify(c, o, _ []byte) bool {
	zero := string(make([]byte, 32))
	return string(c) == zero && string(o) == zero
}
