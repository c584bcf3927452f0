package integrity

import (
	"bytes"
	"crypto/subtle"
	"fmt"

	"github.com/crypt4gh-go/crypt4gh"
)

// Op is the kind of an evidence element.
type Op uint8

const (
	// OpProtect is the first element: commitments, a tree, the lab's
	// signature on its root, and a timestamp.
	OpProtect Op = 1
	// OpTimestamp (upT) adds a timestamp over the evidence so far, before
	// the previous timestamp's authority or algorithm weakens.
	OpTimestamp Op = 2
	// OpRehash (upHT) adds a tree with a (new) hash function over the
	// current commitments, bound node by node to the previous tree, and a
	// timestamp over it and the evidence so far.
	OpRehash Op = 3
	// OpRecommit (upCHT) adds commitments (with a new scheme) to every
	// entry and its previous opening, a tree over them bound to the
	// previous tree, and a timestamp over it and the evidence so far.
	OpRecommit Op = 4
)

// String returns the operation's name as the paper and the CLI use it.
func (o Op) String() string {
	switch o {
	case OpProtect:
		return "protect"
	case OpTimestamp:
		return "upT"
	case OpRehash:
		return "upHT"
	case OpRecommit:
		return "upCHT"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// ParseOp returns the update operation named s: "upT", "upHT" or "upCHT".
func ParseOp(s string) (Op, error) {
	for _, o := range []Op{OpTimestamp, OpRehash, OpRecommit} {
		if o.String() == s {
			return o, nil
		}
	}
	return 0, fmt.Errorf("integrity: unknown update operation %q (want upT, upHT or upCHT)", s)
}

// makesTree reports whether elements of kind o carry a new tree.
func (o Op) makesTree() bool { return o == OpProtect || o == OpRehash || o == OpRecommit }

// makesCommitments reports whether elements of kind o start a new
// commitment generation.
func (o Op) makesCommitments() bool { return o == OpProtect || o == OpRecommit }

// Element is one step of the evidence chain.
type Element struct {
	Op Op
	// Hash, Scheme and Root describe the tree (OpProtect, OpRehash,
	// OpRecommit): its hash function, the commitment scheme of the
	// generation it covers, and its root.
	Hash   Hash
	Scheme string
	Root   []byte
	// Signature is the lab's signature (OpProtect only).
	Signature *Signature
	// Timestamp is the DER RFC 3161 token over this element's digest.
	Timestamp []byte
}

// Signature is the lab's signature on the first tree root and the
// layout.
type Signature struct {
	Algorithm uint32 // crypt4gh.SigEd25519, SigMLDSA65 or SigMLDSA87
	PublicKey []byte
	Value     []byte
}

// Evidence is the public, position-independent part of a protected
// dataset: the layout and the chain of elements. Every partial proof
// carries all of it.
type Evidence struct {
	Layout   Layout
	Elements []Element
}

// Limits on evidence fields.
const (
	maxElements       = 4096
	maxSchemeName     = 64
	maxPublicKey      = 8 << 10
	maxSignature      = 16 << 10
	maxToken          = 256 << 10 // tsa.MaxTokenSize
	maxCommitmentSize = 256
	maxOpeningSize    = 4096
)

// Domain separation strings; they are part of the format.
const (
	sigDomain = "crypt4gh-integrity/v1 lab signature\x00"
	tsDomain  = "crypt4gh-integrity/v1 timestamp\x00"
)

func sigName(alg uint32) string {
	switch alg {
	case crypt4gh.SigEd25519:
		return "ed25519"
	case crypt4gh.SigMLDSA65:
		return "mldsa65"
	case crypt4gh.SigMLDSA87:
		return "mldsa87"
	}
	return fmt.Sprintf("sig(%d)", alg)
}

func (el *Element) encode(e *encoder, withToken bool) {
	e.u8(uint8(el.Op))
	if el.Op.makesTree() {
		e.u8(uint8(el.Hash))
		e.str(el.Scheme)
		e.bytes(el.Root)
	}
	if el.Op == OpProtect {
		e.u32(el.Signature.Algorithm)
		e.bytes(el.Signature.PublicKey)
		e.bytes(el.Signature.Value)
	}
	if withToken {
		e.bytes(el.Timestamp)
	}
}

func decodeElement(d *decoder, i int) Element {
	var el Element
	f := func(s string) string { return fmt.Sprintf("element %d %s", i, s) }
	el.Op = Op(d.u8(f("op")))
	if d.err != nil {
		return el
	}
	switch {
	case el.Op < OpProtect || el.Op > OpRecommit:
		d.fail(f("op"), "unknown operation %d", el.Op)
	case (i == 0) != (el.Op == OpProtect):
		d.fail(f("op"), "%s here; the first element, and only it, must be protect", el.Op)
	}
	if el.Op.makesTree() {
		el.Hash = Hash(d.u8(f("hash")))
		if d.err == nil && !el.Hash.valid() {
			d.fail(f("hash"), "unknown hash %d", el.Hash)
		}
		el.Scheme = d.str(f("scheme"), maxSchemeName)
		if d.err == nil && el.Scheme == "" {
			d.fail(f("scheme"), "empty")
		}
		el.Root = d.bytes(f("root"), maxHashSize)
		if d.err == nil && len(el.Root) != el.Hash.Size() {
			d.fail(f("root"), "%d bytes, %s needs %d", len(el.Root), el.Hash, el.Hash.Size())
		}
	}
	if el.Op == OpProtect {
		s := &Signature{Algorithm: d.u32(f("signature algorithm"))}
		s.PublicKey = d.bytes(f("public key"), maxPublicKey)
		s.Value = d.bytes(f("signature"), maxSignature)
		el.Signature = s
	}
	el.Timestamp = d.bytes(f("timestamp"), maxToken)
	if d.err == nil && len(el.Timestamp) == 0 {
		d.fail(f("timestamp"), "empty")
	}
	return el
}

const evidenceMagic = "c4gh-integrity-evidence\x00"

// evidenceVersion is the version of the evidence and proof encodings.
const evidenceVersion = 1

func (ev *Evidence) encode(e *encoder) {
	ev.Layout.encode(e)
	e.u32(uint32(len(ev.Elements)))
	for i := range ev.Elements {
		ev.Elements[i].encode(e, true)
	}
}

func decodeEvidence(d *decoder) Evidence {
	var ev Evidence
	ev.Layout = decodeLayout(d)
	n := d.count("elements", maxElements, 2)
	if d.err == nil && n == 0 {
		d.fail("elements", "none")
	}
	for i := range n {
		if d.err != nil {
			break
		}
		ev.Elements = append(ev.Elements, decodeElement(d, i))
	}
	if d.err == nil {
		// upHT keeps the commitments, so it must name their scheme.
		scheme := ""
		for i, el := range ev.Elements {
			if el.Op.makesCommitments() {
				scheme = el.Scheme
			} else if el.Op == OpRehash && el.Scheme != scheme {
				d.fail(fmt.Sprintf("element %d scheme", i), "upHT names %q, the commitments are %q", el.Scheme, scheme)
				break
			}
		}
	}
	return ev
}

// MarshalBinary encodes the evidence in its versioned binary form.
func (ev *Evidence) MarshalBinary() ([]byte, error) {
	e := &encoder{}
	e.raw([]byte(evidenceMagic))
	e.u16(evidenceVersion)
	ev.encode(e)
	return e.b, nil
}

// UnmarshalBinary decodes evidence written by MarshalBinary.
func (ev *Evidence) UnmarshalBinary(b []byte) error {
	d := &decoder{b: b}
	if m := d.take("magic", len(evidenceMagic)); d.err == nil && !bytes.Equal(m, []byte(evidenceMagic)) {
		d.fail("magic", "not a crypt4gh-integrity evidence file")
	}
	if v := d.u16("version"); d.err == nil && v != evidenceVersion {
		d.fail("version", "version %d, this build reads version %d", v, evidenceVersion)
	}
	x := decodeEvidence(d)
	d.end("evidence")
	if d.err != nil {
		return d.err
	}
	*ev = x
	return nil
}

// signedMessage is what the lab signs: the layout and the first tree.
func (ev *Evidence) signedMessage() []byte {
	e := &encoder{}
	e.raw([]byte(sigDomain))
	ev.Layout.encode(e)
	el := ev.Elements[0]
	e.u8(uint8(el.Hash))
	e.str(el.Scheme)
	e.bytes(el.Root)
	return e.b
}

// stampedDigest is the digest timestamp k covers: the hash, with the
// hash of the tree current at element k, of the layout, every earlier
// element (tokens included) and element k without its token. So each
// timestamp covers the whole chain before it: upT renews the previous
// timestamp, upHT and upCHT bind their new root to all old evidence.
func (ev *Evidence) stampedDigest(k int) []byte {
	e := &encoder{}
	e.raw([]byte(tsDomain))
	ev.Layout.encode(e)
	e.u32(uint32(k))
	for i := 0; i < k; i++ {
		ev.Elements[i].encode(e, true)
	}
	ev.Elements[k].encode(e, false)
	return ev.hashAt(k).digest(e.b)
}

// hashAt is the hash function of the tree current at element k.
func (ev *Evidence) hashAt(k int) Hash {
	for i := k; i >= 0; i-- {
		if ev.Elements[i].Op.makesTree() {
			return ev.Elements[i].Hash
		}
	}
	panic("integrity: internal error: evidence without a tree")
}

// treeInfo describes one tree of the chain.
type treeInfo struct {
	elem int  // index of the element that made it
	hash Hash // its hash
	gen  int  // the commitment generation it covers
}

// genInfo describes one commitment generation.
type genInfo struct {
	elem   int
	scheme string
}

// trees lists the trees and commitment generations of the chain.
func (ev *Evidence) trees() ([]treeInfo, []genInfo) {
	var ts []treeInfo
	var gs []genInfo
	for i, el := range ev.Elements {
		if el.Op.makesCommitments() {
			gs = append(gs, genInfo{elem: i, scheme: el.Scheme})
		}
		if el.Op.makesTree() {
			ts = append(ts, treeInfo{elem: i, hash: el.Hash, gen: len(gs) - 1})
		}
	}
	return ts, gs
}

// sameKey reports whether a trusted verifier is the signer.
func sameKey(v crypt4gh.Verifier, s *Signature) bool {
	return v.SignatureAlgorithm() == s.Algorithm && subtle.ConstantTimeCompare(v.PublicKey(), s.PublicKey) == 1
}
