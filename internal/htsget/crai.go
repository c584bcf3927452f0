package htsget

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
)

// CRAI (CRAM specification v3.1 §12) is gzipped text with one line per
// slice, six tab-separated integers: reference id (-1 for unmapped reads),
// 1-based alignment start, alignment span, byte offset of the container,
// offset of the slice within the container data, and slice size. A slice
// holding several references has one line per reference.

// maxCRAIPos bounds positions and spans, far above any real genome (CRAM 3
// positions are 32-bit), so that start+span cannot overflow.
const maxCRAIPos = 1 << 48

type craiEntry struct {
	ref         int64
	start, span int64
	container   int64
}

type craiIndex struct {
	entries []craiEntry
}

// parseCRAI parses a CRAI, gzipped or not.
func parseCRAI(raw []byte) (*craiIndex, error) {
	b, err := inflateIndex(IndexCRAI, raw)
	if err != nil {
		return nil, err
	}
	// Each entry takes at least 12 bytes ("0\t0\t0\t0\t0\t0\n"), so the
	// slice below never grows past the input.
	x := &craiIndex{entries: make([]craiEntry, 0, min(len(b)/12, 1<<16))}
	for lineNo := 1; len(b) > 0; lineNo++ {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		var f [6]int64
		n := 0
		for field := range bytes.SplitSeq(line, []byte("\t")) {
			if n == len(f) {
				return nil, badIndex(IndexCRAI, "line %d has more than 6 fields", lineNo)
			}
			v, err := strconv.ParseInt(string(field), 10, 64)
			if err != nil {
				return nil, badIndex(IndexCRAI, "line %d field %d is not an integer", lineNo, n+1)
			}
			f[n] = v
			n++
		}
		if n != len(f) {
			return nil, badIndex(IndexCRAI, "line %d has %d fields, not 6", lineNo, n)
		}
		e := craiEntry{ref: f[0], start: f[1], span: f[2], container: f[3]}
		switch {
		case e.ref < -1:
			return nil, badIndex(IndexCRAI, "line %d: reference id %d", lineNo, e.ref)
		case e.start < 0 || e.span < 0 || e.start > maxCRAIPos || e.span > maxCRAIPos:
			return nil, badIndex(IndexCRAI, "line %d: negative or huge position", lineNo)
		case e.container < 0 || f[4] < 0 || f[5] < 0:
			return nil, badIndex(IndexCRAI, "line %d: negative offset or size", lineNo)
		}
		x.entries = append(x.entries, e)
	}
	return x, nil
}

// validate checks the index against the file's metadata.
func (x *craiIndex) validate(m Meta) error {
	dataEnd := m.FileSize
	if m.EOF != [2]int64{} {
		dataEnd = m.EOF[0]
	}
	for i, e := range x.entries {
		if e.ref >= int64(len(m.References)) {
			return badIndex(IndexCRAI, "entry %d: reference id %d but the header has %d references", i+1, e.ref, len(m.References))
		}
		if e.container < m.HeaderEnd || e.container >= dataEnd {
			return badIndex(IndexCRAI, "entry %d: container offset %d outside the data [%d,%d)", i+1, e.container, m.HeaderEnd, dataEnd)
		}
	}
	return nil
}

// plan returns the whole containers holding records that overlap
// [beg, end) on reference name ("*" for unplaced reads).
func (x *craiIndex) plan(m Meta, name string, beg, end int64) ([]Range, error) {
	ref := int64(-1)
	if name != "*" {
		i := slices.Index(m.References, name)
		if i < 0 {
			return nil, fmt.Errorf("%w: %q", ErrUnknownReference, name)
		}
		ref = int64(i)
	}
	dataEnd := m.FileSize
	if m.EOF != [2]int64{} {
		dataEnd = m.EOF[0]
	}
	// A container ends where the next one starts; the index lists every
	// data container, so the next listed offset (or the EOF container, or
	// the end of the file) is where it ends.
	bounds := []int64{m.HeaderEnd, dataEnd, m.FileSize}
	var starts []int64
	for _, e := range x.entries {
		bounds = append(bounds, e.container)
		if e.ref != ref {
			continue
		}
		// Unmapped reads have no position: the whole "*" set is wanted.
		if name != "*" {
			eb := e.start - 1 // CRAI starts are 1-based
			ee := eb + max(e.span, 1)
			if eb >= end || ee <= beg {
				continue
			}
		}
		starts = append(starts, e.container)
	}
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	rs := make([]Range, 0, len(starts))
	for _, s := range starts {
		if s < m.HeaderEnd || s >= dataEnd {
			return nil, badIndex(IndexCRAI, "container offset %d outside the data [%d,%d)", s, m.HeaderEnd, dataEnd)
		}
		rs = append(rs, Range{s, nextBoundary(bounds, s, m.FileSize)})
	}
	return mergeRanges(rs), nil
}
