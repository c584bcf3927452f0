package integrity

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
	"github.com/crypt4gh-go/crypt4gh/integrity/tsa"
)

// VerifyOptions are what a verifier trusts.
type VerifyOptions struct {
	// Policy gives each algorithm's validity period. Required.
	Policy *Policy
	// Keys are the lab signature keys the verifier trusts.
	Keys []crypt4gh.Verifier
	// Roots are the trusted roots of the timestamp authorities.
	Roots *x509.CertPool
	// Now is the verification time (time.Now if zero): the newest
	// timestamp, tree and commitments must still be valid then.
	Now time.Time
	// Want, if not empty, are the positions the verifier asked about; a
	// proof that does not cover all of them fails with ErrNotRequested.
	Want []Range
}

// Verified is what a valid proof establishes.
type Verified struct {
	Layout Layout
	Ranges []Range
	// Entries are the disclosed entries, in position order.
	Entries []VerifiedEntry
	// Signer is the lab key that signed the first root.
	Signer crypt4gh.Verifier
	// Times are the times of the evidence elements' timestamps; Times[0]
	// is when the data was protected.
	Times []time.Time
	// TSAs are the certificates that signed each timestamp.
	TSAs []*x509.Certificate
}

// VerifiedEntry is one disclosed position.
type VerifiedEntry struct {
	Position uint64
	Name     string // "chr1:1234" or "chunk 3 (bytes …)"
	Entry    []byte // nil: no entry (no variant) at this position
}

// Verify checks a partial proof against a trust policy, in this order:
// the requested positions; the lab signature (by a trusted key, with an
// algorithm valid at the first timestamp); every timestamp (a valid token
// from a trusted TSA over the digest of the chain before it, not earlier
// than the one before, its TSA valid at the time of the next timestamp);
// the validity of each hash function until the next tree and of each
// commitment scheme until the next recommitment (the newest ones until
// Now); every opening of every disclosed entry; and every tree root
// recomputed from the disclosed commitments and the paths.
//
// It returns the first failure, wrapping one of the package's sentinel
// errors (or an *ExpiredError) with a message naming the check.
func Verify(p *Proof, opts VerifyOptions) (*Verified, error) {
	if opts.Policy == nil {
		return nil, errors.New("integrity: no trust policy given")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	ev := &p.Evidence
	ts, gs := ev.trees()
	n := countPositions(p.Ranges)
	if err := p.checkShape(ts, gs); err != nil {
		return nil, err
	}
	if len(opts.Want) > 0 {
		want, err := normalize(opts.Want, ev.Layout.Positions())
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotRequested, err)
		}
		if !covers(p.Ranges, want) {
			return nil, fmt.Errorf("%w: the proof discloses %s, the request is %s", ErrNotRequested, describe(&ev.Layout, p.Ranges), describe(&ev.Layout, want))
		}
	}
	res := &Verified{Layout: ev.Layout, Ranges: p.Ranges}

	// The lab signature.
	sig := ev.Elements[0].Signature
	for _, k := range opts.Keys {
		if sameKey(k, sig) {
			res.Signer = k
			break
		}
	}
	if res.Signer == nil {
		return nil, fmt.Errorf("%w: the root is signed by a %s key that is not among the %d trusted keys", ErrSignature, sigName(sig.Algorithm), len(opts.Keys))
	}
	if !res.Signer.Verify(ev.signedMessage(), sig.Value) {
		return nil, fmt.Errorf("%w: the %s signature on the first root does not verify", ErrSignature, sigName(sig.Algorithm))
	}

	// The timestamps.
	for k, el := range ev.Elements {
		h := ev.hashAt(k)
		v, err := tsa.Verify(el.Timestamp, h.CryptoHash(), ev.stampedDigest(k), opts.Roots)
		if err != nil {
			return nil, fmt.Errorf("%w: timestamp of element %d (%s): %w", ErrTimestamp, k, el.Op, err)
		}
		if k > 0 && v.Time.Before(res.Times[k-1]) {
			return nil, fmt.Errorf("%w: timestamp of element %d (%s) says %s, before the previous one (%s)", ErrTimestamp, k, el.Op,
				v.Time.Format(time.RFC3339), res.Times[k-1].Format(time.RFC3339))
		}
		res.Times = append(res.Times, v.Time)
		res.TSAs = append(res.TSAs, v.Signer)
	}
	if last := res.Times[len(res.Times)-1]; now.Before(last) {
		return nil, fmt.Errorf("%w: the newest timestamp (%s) is after the verification time %s", ErrTimestamp, last.Format(time.RFC3339), now.Format(time.RFC3339))
	}

	// The trust policy.
	if err := checkPolicy(opts.Policy, ev, res, ts, gs, now); err != nil {
		return nil, err
	}

	// The openings.
	positions := expand(p.Ranges)
	schemes := make([]commit.Scheme, len(gs))
	for g := range gs {
		s, err := schemeByName(gs[g].scheme)
		if err != nil {
			return nil, fmt.Errorf("%w: commitment generation %d: %w", ErrUntrusted, g, err)
		}
		if cs, os := len(p.Generations[g].Commitments[0]), len(p.Generations[g].Openings[0]); cs != s.CommitmentSize() || os != s.OpeningSize() {
			return nil, fmt.Errorf("%w: commitment generation %d has %d-byte commitments and %d-byte openings, %s needs %d and %d",
				ErrMalformedProof, g, cs, os, s.Name(), s.CommitmentSize(), s.OpeningSize())
		}
		schemes[g] = s
	}
	var msg []byte
	for i, pos := range positions {
		for g, s := range schemes {
			var prev []byte
			if g > 0 {
				prev = p.Generations[g-1].Openings[i]
			}
			msg = message(msg[:0], p.Entries[i], prev)
			if !s.Verify(p.Generations[g].Commitments[i], p.Generations[g].Openings[i], msg) {
				return nil, fmt.Errorf("%w: the entry at %s does not open its commitment of generation %d (%s)", ErrOpening, ev.Layout.Name(pos), g, s.Name())
			}
		}
	}

	// The trees.
	sh, err := newShape(ev.Layout.Positions(), 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedProof, err)
	}
	pl := sh.plan(positions)
	var prev [][]byte
	phs := 0
	var lbuf [maxLeafInput]byte
	for t, tr := range ts {
		hs := tr.hash.Size()
		leaves := make([]byte, int(n)*hs)
		for i, pos := range positions {
			var pv []byte
			if prev != nil {
				pv = prev[0][i*phs : (i+1)*phs]
			}
			tr.hash.hashLeaf(leaves[i*hs:(i+1)*hs], lbuf[:], pos, p.Generations[tr.gen].Commitments[i], pv)
		}
		vals, err := sh.recompute(tr.hash, pl, leaves, p.Paths[t], prev, phs)
		if err != nil {
			return nil, fmt.Errorf("tree %d (%s, element %d): %w", t, tr.hash, tr.elem, err)
		}
		if root := vals[sh.depth()]; !bytes.Equal(root, ev.Elements[tr.elem].Root) {
			return nil, fmt.Errorf("%w: the disclosed commitments and paths of tree %d (%s, element %d, %s) lead to root %x, the evidence says %x",
				ErrRoot, t, tr.hash, tr.elem, ev.Elements[tr.elem].Op, root, ev.Elements[tr.elem].Root)
		}
		prev, phs = vals, hs
	}

	for i, pos := range positions {
		res.Entries = append(res.Entries, VerifiedEntry{Position: pos, Name: ev.Layout.Name(pos), Entry: p.Entries[i]})
	}
	return res, nil
}

// checkShape checks the proof's parts agree with its evidence (what
// DecodeProof guarantees, for proofs built in memory).
func (p *Proof) checkShape(ts []treeInfo, gs []genInfo) error {
	n := int(countPositions(p.Ranges))
	if n == 0 || len(p.Entries) != n || len(p.Generations) != len(gs) || len(p.Paths) != len(ts) {
		return fmt.Errorf("%w: %d positions, %d entries, %d generations for %d, %d paths for %d trees",
			ErrMalformedProof, n, len(p.Entries), len(p.Generations), len(gs), len(p.Paths), len(ts))
	}
	if len(p.Evidence.Elements) == 0 || p.Evidence.Elements[0].Signature == nil {
		return fmt.Errorf("%w: no protect element with a signature", ErrMalformedProof)
	}
	for g, pg := range p.Generations {
		if len(pg.Commitments) != n || len(pg.Openings) != n {
			return fmt.Errorf("%w: generation %d has %d commitments and %d openings for %d positions", ErrMalformedProof, g, len(pg.Commitments), len(pg.Openings), n)
		}
	}
	return nil
}

// checkPolicy checks every primitive against the policy at the time it
// had to be valid.
func checkPolicy(pol *Policy, ev *Evidence, res *Verified, ts []treeInfo, gs []genInfo, now time.Time) error {
	times := res.Times
	nextOf := func(from int, want func(Op) bool) (time.Time, string) {
		for k := from + 1; k < len(ev.Elements); k++ {
			if want(ev.Elements[k].Op) {
				return times[k], fmt.Sprintf("the time of element %d (%s)", k, ev.Elements[k].Op)
			}
		}
		return now, "the verification time"
	}
	// The signature only needs to hold until the first timestamp proves
	// it existed.
	sig := ev.Elements[0].Signature
	r, ok := pol.rule(KindSignature, sigName(sig.Algorithm))
	if err := checkRule(r, ok, "signature algorithm "+sigName(sig.Algorithm), times[0], times[0], "the first timestamp"); err != nil {
		return err
	}
	// Each timestamp must hold until the next one covers it: t_NxTs.
	for k := range ev.Elements {
		until, why := nextOf(k, func(Op) bool { return true })
		r, name, ok := pol.tsaRule(res.TSAs[k])
		if err := checkRule(r, ok, fmt.Sprintf("timestamp authority %s (element %d)", name, k), times[k], until, why); err != nil {
			return err
		}
	}
	// Each tree's hash must hold until the next tree: t_NxHa.
	for t, tr := range ts {
		until, why := nextOf(tr.elem, Op.makesTree)
		r, ok := pol.rule(KindHash, tr.hash.String())
		if err := checkRule(r, ok, fmt.Sprintf("hash %s of tree %d (element %d)", tr.hash, t, tr.elem), times[tr.elem], until, why); err != nil {
			return err
		}
	}
	// Each commitment generation must hold until the next: t_NxCo.
	for g, gi := range gs {
		until, why := nextOf(gi.elem, Op.makesCommitments)
		r, ok := pol.rule(KindCommitment, gi.scheme)
		if err := checkRule(r, ok, fmt.Sprintf("commitment scheme %s of generation %d (element %d)", gi.scheme, g, gi.elem), times[gi.elem], until, why); err != nil {
			return err
		}
	}
	return nil
}

// message is the committed message of an entry: the entry itself in the
// first generation (empty for an empty position, the same everywhere, so
// commitment schemes can cache its hash), and in later generations the
// entry and the previous opening, length-prefixed.
func message(dst, entry, prevOpening []byte) []byte {
	if prevOpening == nil {
		return append(dst, entry...)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(entry)))
	dst = append(dst, entry...)
	return append(dst, prevOpening...)
}

// covers reports whether normalized ranges have covers all of want.
func covers(have, want []Range) bool {
	for _, w := range want {
		ok := false
		for _, h := range have {
			if h.Start <= w.Start && w.End <= h.End {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// describe names ranges for messages (the first few).
func describe(l *Layout, rs []Range) string {
	var b bytes.Buffer
	for i, r := range rs {
		if i == 3 {
			fmt.Fprintf(&b, " and %d more ranges", len(rs)-3)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if r.Len() == 1 {
			b.WriteString(l.Name(r.Start))
		} else {
			fmt.Fprintf(&b, "%s to %s", l.Name(r.Start), l.Name(r.End-1))
		}
	}
	return b.String()
}

// schemeByName resolves a commitment scheme; tests add their own.
func schemeByName(name string) (commit.Scheme, error) {
	if s, ok := testSchemes[name]; ok {
		return s, nil
	}
	return commit.ByName(name)
}

// testSchemes holds commitment schemes registered by tests only.
var testSchemes = map[string]commit.Scheme{}
