package htsget

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// The binning indexes (SAM/BAM specification §5, CSI v1, tabix): for each
// reference a set of bins of a hierarchical partition of positions, each bin
// listing chunks [beg, end) of BGZF virtual offsets (compressed block offset
// << 16 | offset inside the inflated block) where records in that bin lie.
// BAI and TBI add a linear index of the smallest virtual offset of a record
// overlapping each 16 kbp window; CSI puts such an offset on every bin.

// maxIndex bounds how large an index may be once inflated. The BAI of a
// 30x whole human genome is ~9 MB and its CRAI a few MB.
const maxIndex = 256 << 20

type chunk struct{ beg, end uint64 }

type bin struct {
	id     uint32
	loff   uint64 // CSI only
	chunks []chunk
}

type refIndex struct {
	bins   []bin    // sorted by id, pseudo-bin excluded
	linear []uint64 // BAI and TBI only
}

// binIndex is a parsed BAI, CSI or TBI.
type binIndex struct {
	kind     string
	minShift uint
	depth    uint
	// names are the reference names a TBI (or a CSI of a VCF) carries;
	// nil when ids map to the file header's references.
	names     []string
	refs      []refIndex
	noCoor    uint64 // count of unplaced records, when hasNoCoor
	hasNoCoor bool
}

// binFirst returns the first bin id of a level (level 0 is the root).
func binFirst(level uint) uint32 { return uint32((1<<(3*level) - 1) / 7) }

// pseudoBin returns the id of the metadata pseudo-bin: one past the last
// real bin (37450 for BAI and TBI).
func (x *binIndex) pseudoBin() uint32 { return binFirst(x.depth+1) + 1 }

// binSpan returns the interval [beg, end) of positions a bin covers.
func (x *binIndex) binSpan(id uint32) (beg, end int64) {
	level := uint(0)
	for level < x.depth && id >= binFirst(level+1) {
		level++
	}
	shift := x.minShift + 3*(x.depth-level)
	beg = int64(id-binFirst(level)) << shift
	return beg, beg + int64(1)<<shift
}

// maxPos is the first position the index cannot address.
func (x *binIndex) maxPos() int64 { return int64(1) << (x.minShift + 3*x.depth) }

// badIndex wraps a parse error of an index of kind k.
func badIndex(k string, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadIndex, k, fmt.Sprintf(format, args...))
}

// inflateIndex returns b decompressed if it is gzip (BGZF is gzip), or b
// itself otherwise, refusing output beyond maxIndex.
func inflateIndex(kind string, b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, badIndex(kind, "%v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxIndex+1))
	if err != nil {
		return nil, badIndex(kind, "decompressing: %v", err)
	}
	if len(out) > maxIndex {
		return nil, badIndex(kind, "larger than %d MiB decompressed", maxIndex>>20)
	}
	return out, nil
}

// leReader reads little-endian integers, remembering the first shortfall.
type leReader struct {
	b   []byte
	err bool
}

func (r *leReader) bytes(n int) []byte {
	if r.err || n < 0 || n > len(r.b) {
		r.err = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *leReader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *leReader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// count reads an int32 element count and checks that that many elements of
// at least minSize bytes each can still follow, so that no count makes us
// allocate more than the input justifies.
func (r *leReader) count(minSize int) (int, bool) {
	n := int32(r.u32())
	if r.err || n < 0 || int(n) > len(r.b)/minSize {
		r.err = true
		return 0, false
	}
	return int(n), true
}

// parseBinIndex parses an index of the given kind (IndexBAI, IndexCSI or
// IndexTBI), compressed or not.
func parseBinIndex(kind string, raw []byte) (*binIndex, error) {
	b, err := inflateIndex(kind, raw)
	if err != nil {
		return nil, err
	}
	r := &leReader{b: b}
	x := &binIndex{kind: kind, minShift: 14, depth: 5}
	magic := r.bytes(4)
	switch {
	case r.err:
		return nil, badIndex(kind, "truncated magic number")
	case kind == IndexBAI && string(magic) == "BAI\x01":
	case kind == IndexTBI && string(magic) == "TBI\x01":
	case kind == IndexCSI && string(magic) == "CSI\x01":
	default:
		return nil, badIndex(kind, "magic number %q is not that of a %s index", magic, kind)
	}

	nRef := 0
	switch kind {
	case IndexTBI:
		var ok bool
		if nRef, ok = r.count(8); !ok {
			return nil, badIndex(kind, "bad reference count")
		}
		if x.names, err = parseTabixConf(kind, r, nRef); err != nil {
			return nil, err
		}
	case IndexCSI:
		minShift, depth := int32(r.u32()), int32(r.u32())
		if r.err || minShift < 1 || minShift > 32 || depth < 0 || depth > 10 || minShift+3*depth > 62 {
			return nil, badIndex(kind, "unsupported min_shift %d / depth %d", minShift, depth)
		}
		x.minShift, x.depth = uint(minShift), uint(depth)
		lAux, ok := r.count(1)
		if !ok {
			return nil, badIndex(kind, "bad auxiliary data length")
		}
		aux := r.bytes(lAux)
		var ok2 bool
		if nRef, ok2 = r.count(4); !ok2 {
			return nil, badIndex(kind, "bad reference count")
		}
		// A CSI of a tabix-indexed text file (VCF) carries the tabix
		// configuration and sequence names in its auxiliary data; that of
		// a BAM or BCF carries none.
		if lAux >= 28 {
			ar := &leReader{b: aux}
			names, err := parseTabixConf(kind, ar, -1)
			if err != nil {
				return nil, err
			}
			if len(names) != nRef {
				return nil, badIndex(kind, "%d sequence names for %d references", len(names), nRef)
			}
			x.names = names
		}
	default:
		var ok bool
		if nRef, ok = r.count(8); !ok {
			return nil, badIndex(kind, "bad reference count")
		}
	}

	pseudo := x.pseudoBin()
	x.refs = make([]refIndex, nRef)
	minBin := 8 // id + n_chunk
	if kind == IndexCSI {
		minBin = 16 // id + loffset + n_chunk
	}
	for i := range x.refs {
		ref := &x.refs[i]
		nBin, ok := r.count(minBin)
		if !ok {
			return nil, badIndex(kind, "reference %d: bad bin count", i)
		}
		ref.bins = make([]bin, 0, nBin)
		for range nBin {
			bn := bin{id: r.u32()}
			if kind == IndexCSI {
				bn.loff = r.u64()
			}
			nChunk, ok := r.count(16)
			if !ok {
				return nil, badIndex(kind, "reference %d bin %d: bad chunk count", i, bn.id)
			}
			bn.chunks = make([]chunk, nChunk)
			for k := range bn.chunks {
				bn.chunks[k] = chunk{r.u64(), r.u64()}
			}
			switch {
			case bn.id == pseudo:
				// Metadata (first and last offsets, mapped and unmapped
				// counts): not needed for planning.
				continue
			case bn.id > pseudo:
				return nil, badIndex(kind, "reference %d: bin %d out of range", i, bn.id)
			}
			ref.bins = append(ref.bins, bn)
		}
		slices.SortFunc(ref.bins, func(a, b bin) int { return cmpInt64(int64(a.id), int64(b.id)) })
		for k := 1; k < len(ref.bins); k++ {
			if ref.bins[k].id == ref.bins[k-1].id {
				return nil, badIndex(kind, "reference %d: bin %d listed twice", i, ref.bins[k].id)
			}
		}
		if kind != IndexCSI {
			nIntv, ok := r.count(8)
			if !ok {
				return nil, badIndex(kind, "reference %d: bad linear index size", i)
			}
			ref.linear = make([]uint64, nIntv)
			for k := range ref.linear {
				ref.linear[k] = r.u64()
			}
		}
	}
	if r.err {
		return nil, badIndex(kind, "truncated")
	}
	switch len(r.b) {
	case 0:
	case 8:
		x.noCoor, x.hasNoCoor = r.u64(), true
	default:
		return nil, badIndex(kind, "%d unexpected bytes after the last reference", len(r.b))
	}
	return x, nil
}

// parseTabixConf parses the tabix configuration and the NUL-terminated
// sequence names that follow it. If nRef ≥ 0 exactly that many names must
// be present.
func parseTabixConf(kind string, r *leReader, nRef int) ([]string, error) {
	r.bytes(24) // format, col_seq, col_beg, col_end, meta, skip
	lNm, ok := r.count(1)
	if !ok {
		return nil, badIndex(kind, "bad sequence name length")
	}
	nm := r.bytes(lNm)
	if len(nm) > 0 && nm[len(nm)-1] != 0 {
		return nil, badIndex(kind, "sequence names are not NUL-terminated")
	}
	var names []string
	for len(nm) > 0 {
		i := bytes.IndexByte(nm, 0)
		names = append(names, string(nm[:i]))
		nm = nm[i+1:]
	}
	if nRef >= 0 && len(names) != nRef {
		return nil, badIndex(kind, "%d sequence names for %d references", len(names), nRef)
	}
	return names, nil
}

// forEachOffset calls fn with every virtual offset the index holds.
func (x *binIndex) forEachOffset(fn func(v uint64)) {
	for _, ref := range x.refs {
		for _, bn := range ref.bins {
			if bn.loff != 0 {
				fn(bn.loff)
			}
			for _, c := range bn.chunks {
				fn(c.beg)
				fn(c.end)
			}
		}
		for _, v := range ref.linear {
			fn(v)
		}
	}
}

// validate checks the index against the file's metadata.
func (x *binIndex) validate(m Meta) error {
	if x.names == nil && len(x.refs) > len(m.References) {
		return badIndex(x.kind, "index has %d references, the file header %d", len(x.refs), len(m.References))
	}
	if x.names == nil && m.Format == BAM && len(x.refs) != len(m.References) {
		return badIndex(x.kind, "index has %d references, the BAM header %d", len(x.refs), len(m.References))
	}
	seen := make(map[string]bool, len(x.names))
	for _, n := range x.names {
		if seen[n] {
			return badIndex(x.kind, "sequence name %q listed twice", n)
		}
		seen[n] = true
	}
	var bad error
	x.forEachOffset(func(v uint64) {
		if bad == nil {
			bad = x.checkOffset(m, v)
		}
	})
	if bad != nil {
		return bad
	}
	for i, ref := range x.refs {
		for _, bn := range ref.bins {
			for _, c := range bn.chunks {
				if c.beg > c.end {
					return badIndex(x.kind, "reference %d bin %d: chunk ends before it begins", i, bn.id)
				}
			}
		}
	}
	return nil
}

// checkOffset checks that a virtual offset points inside the file.
func (x *binIndex) checkOffset(m Meta, v uint64) error {
	c, u := int64(v>>16), v&0xffff
	if c > m.FileSize || (c == m.FileSize && u != 0) {
		return badIndex(x.kind, "offset %d past the end of the %d-byte file", c, m.FileSize)
	}
	return nil
}

// lookup resolves a reference name to an index reference id. It returns
// -1 (and no error) for a reference the file knows but the index has no
// records for.
func (x *binIndex) lookup(m Meta, name string) (int, error) {
	if x.names != nil {
		if i := slices.Index(x.names, name); i >= 0 {
			return i, nil
		}
		if slices.Contains(m.References, name) {
			return -1, nil
		}
		return 0, fmt.Errorf("%w: %q", ErrUnknownReference, name)
	}
	i := slices.Index(m.References, name)
	switch {
	case i < 0:
		return 0, fmt.Errorf("%w: %q", ErrUnknownReference, name)
	case i >= len(x.refs):
		return -1, nil
	}
	return i, nil
}

// plan returns the BGZF block ranges holding records that overlap
// [beg, end) on reference name ("*" for unplaced reads).
func (x *binIndex) plan(m Meta, name string, beg, end int64) ([]Range, error) {
	var chunks []chunk
	if name == "*" {
		c, ok := x.unplaced(m)
		if !ok {
			return nil, nil
		}
		chunks = []chunk{c}
	} else {
		tid, err := x.lookup(m, name)
		if err != nil {
			return nil, err
		}
		end = min(end, x.maxPos())
		if tid < 0 || beg >= end {
			return nil, nil
		}
		chunks = x.query(tid, beg, end)
		if lim, ok := x.upperBound(tid, end); ok {
			chunks = clipChunks(chunks, lim)
		}
	}
	return x.chunkRanges(m, chunks)
}

// query returns the chunks of reference tid that may hold records
// overlapping [beg, end).
func (x *binIndex) query(tid int, beg, end int64) []chunk {
	ref := &x.refs[tid]
	minOff := x.minOffset(ref, beg)
	var out []chunk
	for _, bn := range ref.bins {
		bb, be := x.binSpan(bn.id)
		if bb >= end || be <= beg {
			continue
		}
		for _, c := range bn.chunks {
			// Records before minOff end before beg.
			if c.end <= minOff {
				continue
			}
			out = append(out, chunk{max(c.beg, minOff), c.end})
		}
	}
	return out
}

// upperBound returns a virtual offset at or after which no record overlaps
// a region ending at end on reference tid. In a coordinate-sorted file the
// records that do all start before end, so they all come before any record
// that starts at or after end: one in a bin lying wholly past end, or one on
// a later reference. Without it a query near the start of a reference would
// take every chunk of the large bins above it, which run to the reference's
// end; htslib gets the same effect by stopping its reads at the first
// record past the region.
func (x *binIndex) upperBound(tid int, end int64) (uint64, bool) {
	var lim uint64
	found := false
	offer := func(v uint64) {
		if !found || v < lim {
			lim, found = v, true
		}
	}
	for _, bn := range x.refs[tid].bins {
		if bb, _ := x.binSpan(bn.id); bb >= end {
			for _, c := range bn.chunks {
				offer(c.beg)
			}
		}
	}
	for _, ref := range x.refs[tid+1:] {
		for _, bn := range ref.bins {
			for _, c := range bn.chunks {
				offer(c.beg)
			}
		}
	}
	return lim, found
}

// clipChunks cuts chunks at lim, dropping those that start at or past it.
func clipChunks(chunks []chunk, lim uint64) []chunk {
	out := chunks[:0]
	for _, c := range chunks {
		if c.beg >= lim {
			continue
		}
		out = append(out, chunk{c.beg, min(c.end, lim)})
	}
	return out
}

// minOffset returns a virtual offset before which no record overlaps pos:
// from the linear index for BAI and TBI, and for CSI the loffset of the
// nearest bin at or left of pos, searching from the finest level up, as
// htslib does.
func (x *binIndex) minOffset(ref *refIndex, pos int64) uint64 {
	if x.kind != IndexCSI {
		if len(ref.linear) == 0 {
			return 0
		}
		w := min(pos>>x.minShift, int64(len(ref.linear)-1))
		return ref.linear[w]
	}
	for level := int(x.depth); level >= 0; level-- {
		first := binFirst(uint(level))
		shift := x.minShift + 3*(x.depth-uint(level))
		id := first + uint32(pos>>shift)
		// Siblings share a parent; stop at the first of them.
		sibling0 := first + (id-first)&^7
		for b := id; ; b-- {
			if i, ok := slices.BinarySearchFunc(ref.bins, b, func(bn bin, id uint32) int {
				return cmpInt64(int64(bn.id), int64(id))
			}); ok {
				return ref.bins[i].loff
			}
			if b == sibling0 {
				break
			}
		}
	}
	return 0
}

// unplaced returns the chunk holding the unplaced reads, which a sorted
// file keeps after every placed one: from the end of the last indexed chunk
// to the end of the data.
func (x *binIndex) unplaced(m Meta) (chunk, bool) {
	if x.hasNoCoor && x.noCoor == 0 {
		return chunk{}, false
	}
	var last uint64
	for _, ref := range x.refs {
		for _, bn := range ref.bins {
			for _, c := range bn.chunks {
				last = max(last, c.end)
			}
		}
	}
	if last == 0 {
		last = uint64(m.HeaderEnd) << 16
	}
	dataEnd := m.FileSize
	if m.EOF != [2]int64{} {
		dataEnd = m.EOF[0]
	}
	return chunk{last, uint64(dataEnd) << 16}, true
}

// chunkRanges turns chunks of virtual offsets into whole-block byte ranges.
// A chunk [beg, end) needs the block beg points into through the block end
// points into, unless end points at the very start of a block. Block ends
// are not in the index, but block starts are: every virtual offset's
// compressed part is one. So the end of the block holding end is the
// smallest block start the index (or Meta) knows that is past it. That may
// take in a few blocks more than needed, never fewer.
func (x *binIndex) chunkRanges(m Meta, chunks []chunk) ([]Range, error) {
	if len(chunks) == 0 {
		return nil, nil
	}
	dataEnd := m.FileSize
	if m.EOF != [2]int64{} {
		dataEnd = m.EOF[0]
	}
	var need []int64 // block starts whose block end we must find
	for _, c := range chunks {
		if err := x.checkOffset(m, c.beg); err != nil {
			return nil, err
		}
		if err := x.checkOffset(m, c.end); err != nil {
			return nil, err
		}
		if c.end&0xffff != 0 {
			need = append(need, int64(c.end>>16))
		}
	}
	slices.Sort(need)
	need = slices.Compact(need)
	next := make([]int64, len(need))
	for i := range next {
		next[i] = dataEnd
		if need[i] >= dataEnd { // only a damaged index points here
			next[i] = m.FileSize
		}
	}
	offer := func(b int64) {
		// b bounds the block of the largest needed start below it.
		i, _ := slices.BinarySearch(need, b)
		if i > 0 && b < next[i-1] {
			next[i-1] = b
		}
	}
	offer(m.HeaderEnd)
	x.forEachOffset(func(v uint64) { offer(int64(v >> 16)) })
	// Every needed start is itself a block start, so it bounds the block
	// of the needed start before it.
	for i := 1; i < len(need); i++ {
		offer(need[i])
	}

	rs := make([]Range, 0, len(chunks))
	for _, c := range chunks {
		if c.beg >= c.end {
			continue
		}
		start, end := int64(c.beg>>16), int64(c.end>>16)
		if c.end&0xffff != 0 {
			i, _ := slices.BinarySearch(need, end)
			end = next[i]
		}
		if end > m.FileSize {
			return nil, badIndex(x.kind, "chunk runs past the end of the file")
		}
		rs = append(rs, Range{start, end})
	}
	return mergeRanges(rs), nil
}
