package integrity

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Proof is a partial integrity proof: everything a verifier needs to check
// the entries at some positions, and nothing about the others. Besides the
// public evidence it holds, for each disclosed position, the entry, its
// commitment and opening in every generation, and for every tree the
// sibling hashes that connect the disclosed leaves to the root. Those
// siblings are hashes of commitments only, which hide their entries.
type Proof struct {
	Evidence Evidence
	// Ranges are the disclosed positions: sorted, disjoint and not
	// adjacent (the canonical form).
	Ranges []Range
	// Entries holds one entry per disclosed position, in order; nil
	// means the position is empty (no variant).
	Entries [][]byte
	// Generations holds, per commitment generation, the commitments and
	// openings of the disclosed positions.
	Generations []ProofGeneration
	// Paths holds, per tree, the sibling hashes in the order of the
	// multi-leaf path (level by level, left to right).
	Paths [][][]byte
}

// ProofGeneration holds one generation's commitments and openings, one per
// disclosed position.
type ProofGeneration struct {
	Commitments [][]byte
	Openings    [][]byte
}

// Limits on proofs, checked before anything is allocated.
const (
	maxProofPositions = 1 << 24
	maxEntrySize      = maxChunkSize
	maxSiblings       = 1 << 26
)

const proofMagic = "c4gh-integrity-proof\x00"

// MarshalBinary returns the proof's binary encoding (format version 1,
// doc/integrity.md): deterministic, so equal proofs encode to equal
// bytes.
func (p *Proof) MarshalBinary() ([]byte, error) {
	ts, gs := p.Evidence.trees()
	n := int(countPositions(p.Ranges))
	if len(p.Entries) != n || len(p.Generations) != len(gs) || len(p.Paths) != len(ts) {
		return nil, fmt.Errorf("integrity: inconsistent proof: %d positions, %d entries, %d/%d generations, %d/%d paths",
			n, len(p.Entries), len(p.Generations), len(gs), len(p.Paths), len(ts))
	}
	e := &encoder{}
	e.raw([]byte(proofMagic))
	e.u16(evidenceVersion)
	p.Evidence.encode(e)
	e.u32(uint32(len(p.Ranges)))
	for _, r := range p.Ranges {
		e.u64(r.Start)
		e.u64(r.End)
	}
	for _, en := range p.Entries {
		if en == nil {
			e.u8(0)
			continue
		}
		e.u8(1)
		e.bytes(en)
	}
	for _, g := range p.Generations {
		if len(g.Commitments) != n || len(g.Openings) != n {
			return nil, fmt.Errorf("integrity: inconsistent proof: a generation has %d commitments and %d openings for %d positions", len(g.Commitments), len(g.Openings), n)
		}
		cs, os := 0, 0
		if n > 0 {
			cs, os = len(g.Commitments[0]), len(g.Openings[0])
		}
		e.u16(uint16(cs))
		e.u16(uint16(os))
		for i := range n {
			if len(g.Commitments[i]) != cs || len(g.Openings[i]) != os {
				return nil, fmt.Errorf("integrity: inconsistent proof: commitment or opening sizes differ within a generation")
			}
			e.raw(g.Commitments[i])
			e.raw(g.Openings[i])
		}
	}
	for t, path := range p.Paths {
		hs := ts[t].hash.Size()
		e.u32(uint32(len(path)))
		for _, s := range path {
			if len(s) != hs {
				return nil, fmt.Errorf("integrity: inconsistent proof: a tree %d sibling is %d bytes", t, len(s))
			}
			e.raw(s)
		}
	}
	return e.b, nil
}

// DecodeProof parses a proof. It checks the encoding is canonical and
// within the size limits, not that the proof is valid: that is [Verify].
// Errors wrap [ErrMalformedProof] and name the field. The result does not
// alias b.
func DecodeProof(b []byte) (*Proof, error) {
	b = bytes.Clone(b)
	d := &decoder{b: b}
	if m := d.take("magic", len(proofMagic)); d.err == nil && !bytes.Equal(m, []byte(proofMagic)) {
		d.fail("magic", "not a crypt4gh-integrity proof")
	}
	if v := d.u16("version"); d.err == nil && v != evidenceVersion {
		d.fail("version", "format version %d, this build reads version %d", v, evidenceVersion)
	}
	p := &Proof{Evidence: decodeEvidence(d)}
	if d.err != nil {
		return nil, d.err
	}
	N := p.Evidence.Layout.Positions()
	nr := d.count("ranges", maxProofPositions, 16)
	var total uint64
	for i := range nr {
		r := Range{d.u64("range start"), d.u64("range end")}
		if d.err != nil {
			break
		}
		if r.End <= r.Start || r.End > N || (i > 0 && r.Start <= p.Ranges[i-1].End) {
			d.fail("ranges", "range %d [%d, %d) is empty, past the %d positions, or not after the previous one with a gap", i, r.Start, r.End, N)
			break
		}
		total += r.Len()
		if total > maxProofPositions {
			d.fail("ranges", "more than %d positions", maxProofPositions)
			break
		}
		p.Ranges = append(p.Ranges, r)
	}
	if d.err == nil && nr == 0 {
		d.fail("ranges", "none")
	}
	n := int(total)
	if d.err == nil && uint64(n) > uint64(len(d.b)) {
		d.fail("entries", "%d entries cannot fit in the %d bytes left", n, len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	p.Entries = make([][]byte, n)
	for i := range n {
		switch d.u8("entry flag") {
		case 0:
		case 1:
			p.Entries[i] = d.bytes("entry", maxEntrySize)
			if d.err == nil && len(p.Entries[i]) == 0 {
				d.fail("entry", "a present entry is empty (position %d of the proof)", i)
			}
		default:
			d.fail("entry flag", "not 0 or 1")
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	ts, gs := p.Evidence.trees()
	for g := range gs {
		cs, os := int(d.u16("commitment size")), int(d.u16("opening size"))
		if d.err == nil && (cs == 0 || cs > maxCommitmentSize || os == 0 || os > maxOpeningSize) {
			d.fail("generation sizes", "commitment %d bytes, opening %d bytes (limits %d, %d)", cs, os, maxCommitmentSize, maxOpeningSize)
		}
		blob := d.take(fmt.Sprintf("generation %d commitments and openings", g), n*(cs+os))
		if d.err != nil {
			return nil, d.err
		}
		pg := ProofGeneration{Commitments: make([][]byte, n), Openings: make([][]byte, n)}
		for i := range n {
			rec := blob[i*(cs+os) : (i+1)*(cs+os)]
			pg.Commitments[i], pg.Openings[i] = rec[:cs:cs], rec[cs:]
		}
		p.Generations = append(p.Generations, pg)
	}
	for t := range ts {
		hs := ts[t].hash.Size()
		k := d.count(fmt.Sprintf("tree %d siblings", t), maxSiblings, hs)
		blob := d.take(fmt.Sprintf("tree %d siblings", t), k*hs)
		if d.err != nil {
			return nil, d.err
		}
		path := make([][]byte, k)
		for i := range k {
			path[i] = blob[i*hs : (i+1)*hs : (i+1)*hs]
		}
		p.Paths = append(p.Paths, path)
	}
	d.end("proof")
	if d.err != nil {
		return nil, d.err
	}
	return p, nil
}

// Positions lists the disclosed positions.
func (p *Proof) Positions() []uint64 { return expand(p.Ranges) }

// MarshalJSON gives the inspectable form of a proof: every field, with
// binary values in hex (hashes, commitments) or base64 (tokens, entries,
// openings), and positions also named by contig and base.
func (p *Proof) MarshalJSON() ([]byte, error) {
	type jsonSig struct {
		Algorithm string `json:"algorithm"`
		PublicKey string `json:"public_key"`
		Value     string `json:"value"`
	}
	type jsonElem struct {
		Op        string   `json:"op"`
		Hash      string   `json:"hash,omitempty"`
		Scheme    string   `json:"commitment_scheme,omitempty"`
		Root      string   `json:"root,omitempty"`
		Signature *jsonSig `json:"signature,omitempty"`
		Timestamp string   `json:"timestamp_token"`
	}
	type jsonPos struct {
		Position    uint64   `json:"position"`
		Name        string   `json:"name"`
		Entry       *string  `json:"entry"`
		Commitments []string `json:"commitments"`
		Openings    []string `json:"openings"`
	}
	type jsonTree struct {
		Hash     string   `json:"hash"`
		Siblings []string `json:"siblings"`
	}
	type jsonProof struct {
		Format    string     `json:"format"`
		Version   int        `json:"version"`
		Layout    Layout     `json:"layout"`
		Positions uint64     `json:"table_positions"`
		Evidence  []jsonElem `json:"evidence"`
		Ranges    []Range    `json:"ranges"`
		Disclosed []jsonPos  `json:"disclosed"`
		Trees     []jsonTree `json:"trees"`
	}
	b64 := base64.StdEncoding.EncodeToString
	out := jsonProof{Format: "crypt4gh-integrity-proof", Version: evidenceVersion, Layout: p.Evidence.Layout,
		Positions: p.Evidence.Layout.Positions(), Ranges: p.Ranges}
	for _, el := range p.Evidence.Elements {
		je := jsonElem{Op: el.Op.String(), Timestamp: b64(el.Timestamp)}
		if el.Op.makesTree() {
			je.Hash, je.Scheme, je.Root = el.Hash.String(), el.Scheme, hex.EncodeToString(el.Root)
		}
		if s := el.Signature; s != nil {
			je.Signature = &jsonSig{sigName(s.Algorithm), b64(s.PublicKey), b64(s.Value)}
		}
		out.Evidence = append(out.Evidence, je)
	}
	for i, pos := range p.Positions() {
		jp := jsonPos{Position: pos, Name: p.Evidence.Layout.Name(pos)}
		if i < len(p.Entries) && p.Entries[i] != nil {
			s := b64(p.Entries[i])
			jp.Entry = &s
		}
		for _, g := range p.Generations {
			if i < len(g.Commitments) {
				jp.Commitments = append(jp.Commitments, hex.EncodeToString(g.Commitments[i]))
				jp.Openings = append(jp.Openings, b64(g.Openings[i]))
			}
		}
		out.Disclosed = append(out.Disclosed, jp)
	}
	ts, _ := p.Evidence.trees()
	for t, path := range p.Paths {
		jt := jsonTree{Siblings: []string{}}
		if t < len(ts) {
			jt.Hash = ts[t].hash.String()
		}
		for _, s := range path {
			jt.Siblings = append(jt.Siblings, hex.EncodeToString(s))
		}
		out.Trees = append(out.Trees, jt)
	}
	return json.MarshalIndent(out, "", "  ")
}
