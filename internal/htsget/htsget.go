// Package htsget plans htsget region queries against plaintext genomics
// files whose bytes the caller cannot read at query time.
//
// An archive stores BAM, CRAM, bgzipped VCF and BCF files encrypted, together
// with the plaintext index that came with each file (BAI, CSI, TBI or CRAI)
// and a small [Meta] record that [Inspect] derives from the plaintext header
// at ingest. For a query (a reference name and a 0-based half-open interval,
// or the header only, or the whole file), [Plan] computes which plaintext
// byte ranges of the file a client needs: concatenated in order they form a
// valid file of the same format holding the header, every record that
// overlaps the interval (and possibly some that do not, as htsget allows),
// and the end-of-file marker. Mapping those plaintext ranges onto encrypted
// segments is the caller's business.
//
// The planner works at the granularity the index gives it: whole BGZF blocks
// for BAM, VCF and BCF, whole containers for CRAM. It never decompresses
// anything at query time. This relies on a property every htslib-written file
// has: a BGZF block never ends in the middle of a record unless the record is
// larger than a block. [Scan], run once at ingest, finds where a file breaks
// that rule and records it in [Meta.Joined], so that the planner never cuts
// a record in two.
//
// Nothing here does HTTP; the error values say which htsget error each one
// should become.
package htsget

import (
	"errors"
	"fmt"
	"slices"
)

// Format is the container format of a file, spelt as htsget spells it.
type Format string

// The formats htsget serves.
const (
	BAM  Format = "BAM"
	CRAM Format = "CRAM"
	VCF  Format = "VCF" // bgzipped (BGZF) VCF; plain or plain-gzip VCF cannot be indexed
	BCF  Format = "BCF"
)

// Index formats, as stored in [Meta.IndexFormat].
const (
	IndexBAI  = "BAI"
	IndexCSI  = "CSI"
	IndexTBI  = "TBI"
	IndexCRAI = "CRAI"
)

// Errors. Every error returned by this package wraps exactly one of these,
// so a server can branch with errors.Is and pick the htsget error it answers
// with (given in brackets).
var (
	// ErrUnknownReference: the query names a reference sequence the file's
	// header and index do not know [NotFound, 404]. htsget says a server
	// "SHOULD reply with a NotFound error if the requested reference does not
	// exist".
	ErrUnknownReference = errors.New("htsget: unknown reference sequence")
	// ErrInvalidRange: start > end, or a negative coordinate [InvalidRange, 400].
	ErrInvalidRange = errors.New("htsget: invalid range")
	// ErrInvalidInput: a query that is malformed rather than unsatisfiable,
	// such as start/end without a reference name, class=header together
	// with a region, or "*" on a variant file [InvalidInput, 400].
	ErrInvalidInput = errors.New("htsget: invalid input")
	// ErrBadIndex: the index (or a Meta) is damaged, of the wrong kind, or
	// does not belong to the file. At ingest this means "refuse the upload";
	// at query time it is a server-side fault [500].
	ErrBadIndex = errors.New("htsget: bad index")
	// ErrBadFile: the plaintext file is not a well-formed file of its format
	// (returned by Inspect, DetectFormat and Scan; refuse it at ingest).
	ErrBadFile = errors.New("htsget: malformed file")
	// ErrUnsupportedFormat: a format, index format or format feature this
	// package does not handle [UnsupportedFormat, 400].
	ErrUnsupportedFormat = errors.New("htsget: unsupported format")
)

// Meta is what the planner needs to know about a file besides its index. It
// is derived once, at ingest, by [Inspect] (and [Scan]) and is meant to be
// stored as JSON next to the index.
//
// Its size does not grow with the file but with the reference list: for a
// 10 GB short-read BAM against GRCh37/hs37d5 (86 names) it is ~1 KB of JSON,
// against GRCh38 with alts and decoys (3,366 names) some 80 KB. Joined adds
// ~40 bytes per record larger than a BGZF block, which only long-read files
// have. The BGZF block boundaries the planner needs are taken from the index
// (every virtual offset in it points at a block start), not stored here.
type Meta struct {
	Format      Format `json:"format"`
	IndexFormat string `json:"indexFormat"` // IndexBAI, IndexCSI, IndexTBI or IndexCRAI
	// HeaderEnd is the plaintext offset where the header ends: for BGZF
	// formats the end of the BGZF block holding the last header byte, so
	// [0, HeaderEnd) is whole blocks; for CRAM the end of the file
	// definition and the header container.
	HeaderEnd int64 `json:"headerEnd"`
	// References are the reference sequence names in header order, so that
	// index reference ids map to them: @SQ lines for BAM and CRAM, ##contig
	// lines for VCF and BCF (BCF honours IDX=). A TBI index, or a CSI index
	// of a VCF, carries its own name list, which the planner uses instead.
	References []string `json:"references"`
	// EOF is [start, end) of the trailing BGZF EOF block or CRAM EOF
	// container, or zeros if the file has none.
	EOF      [2]int64 `json:"eof"`
	FileSize int64    `json:"fileSize"`
	// Joined lists, sorted, the runs of BGZF blocks that records straddle,
	// as byte ranges; the planner serves each run whole or not at all.
	// [Scan] fills it in. It is empty for BAM and VCF written by htslib
	// with records under 64 KiB, and holds one entry per straddling record
	// (or group of adjacent ones) for long-read BAMs. Where records straddle
	// nearly every boundary (VCF compressed by plain bgzip, BCF as htslib
	// 1.16 writes it) the file collapses into one or a few long runs and
	// region queries are answered with most of the file: correct, if not
	// economical.
	Joined []Range `json:"joined,omitempty"`
}

// Query is one htsget request, already decoded from the URL.
type Query struct {
	Class         string // "" (header and body) or "header"
	ReferenceName string // "" for the whole file, "*" for unplaced unmapped reads
	Start, End    int64  // 0-based half-open; End 0 means to the end of the reference
}

// Range is a half-open plaintext byte range [Start, End).
type Range struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// Len returns End - Start.
func (r Range) Len() int64 { return r.End - r.Start }

// maxCoord is where a query's End defaults to: past any coordinate an index
// can address (CSI depth 10 with min_shift ≤ 32 stops at 2^62).
const maxCoord = int64(1) << 62

// Plan returns the plaintext ranges of the file described by m that a client
// needs for q, sorted, merged and non-overlapping. The ranges always start
// with [0, m.HeaderEnd) and, when the file has one, end with the EOF marker,
// so their concatenation is a valid file of m.Format even when no record
// matches. A query with no ReferenceName asks for the whole file.
//
// index is the raw index file as uploaded (compressed or not, as its format
// has it). Plan parses it on every call, which takes tens of microseconds
// for the index of a small file and tens of milliseconds for the ~9 MB BAI
// of a 30x human genome.
func Plan(m Meta, index []byte, q Query) ([]Range, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := q.check(m.Format); err != nil {
		return nil, err
	}
	var body []Range
	switch {
	case q.Class == "header":
		// Header and EOF only.
	case q.ReferenceName == "":
		return []Range{{0, m.FileSize}}, nil
	default:
		var err error
		body, err = planRegion(m, index, q)
		if err != nil {
			return nil, err
		}
	}
	rs := append([]Range{{0, m.HeaderEnd}}, body...)
	if m.EOF != [2]int64{} {
		rs = append(rs, Range{m.EOF[0], m.EOF[1]})
	}
	return mergeRanges(m.widen(rs)), nil
}

// widen extends every range that starts or ends inside a joined run to the
// whole run, so that no record is cut.
func (m Meta) widen(rs []Range) []Range {
	if len(m.Joined) == 0 {
		return rs
	}
	inside := func(off int64) (Range, bool) {
		i, _ := slices.BinarySearchFunc(m.Joined, off, func(j Range, off int64) int {
			return cmpInt64(j.End, off+1) // first run ending after off
		})
		if i < len(m.Joined) && m.Joined[i].Start < off && off < m.Joined[i].End {
			return m.Joined[i], true
		}
		return Range{}, false
	}
	for i, r := range rs {
		if j, ok := inside(r.Start); ok {
			rs[i].Start = j.Start
		}
		if j, ok := inside(r.End); ok {
			rs[i].End = j.End
		}
	}
	return rs
}

func planRegion(m Meta, index []byte, q Query) ([]Range, error) {
	end := q.End
	if end == 0 {
		end = maxCoord
	}
	switch m.IndexFormat {
	case IndexCRAI:
		idx, err := parseCRAI(index)
		if err != nil {
			return nil, err
		}
		return idx.plan(m, q.ReferenceName, q.Start, end)
	default:
		idx, err := parseBinIndex(m.IndexFormat, index)
		if err != nil {
			return nil, err
		}
		return idx.plan(m, q.ReferenceName, q.Start, end)
	}
}

// ValidateIndex parses index and checks that it is of the kind m names and
// is consistent with the file m describes: the right number of references,
// every file offset inside the file, chunks that are not inverted. Call it
// at ingest so that a wrong or damaged index is refused then rather than
// failing queries later. It cannot tell whether offsets point at real block
// or container boundaries, which would need the file: an index that passes
// but lies makes Plan return the wrong bytes, never an error or a panic.
func ValidateIndex(m Meta, index []byte) error {
	if err := m.check(); err != nil {
		return err
	}
	if m.IndexFormat == IndexCRAI {
		idx, err := parseCRAI(index)
		if err != nil {
			return err
		}
		return idx.validate(m)
	}
	idx, err := parseBinIndex(m.IndexFormat, index)
	if err != nil {
		return err
	}
	return idx.validate(m)
}

// check rejects a Meta that cannot describe a real file, so that a damaged
// database row yields an error rather than nonsense ranges.
func (m Meta) check() error {
	okIndex := map[Format][]string{
		BAM:  {IndexBAI, IndexCSI},
		CRAM: {IndexCRAI},
		VCF:  {IndexTBI, IndexCSI},
		BCF:  {IndexCSI},
	}
	allowed, ok := okIndex[m.Format]
	if !ok {
		return fmt.Errorf("%w: file format %q", ErrUnsupportedFormat, m.Format)
	}
	if !slices.Contains(allowed, m.IndexFormat) {
		return fmt.Errorf("%w: %s index for a %s file", ErrUnsupportedFormat, m.IndexFormat, m.Format)
	}
	switch {
	case m.FileSize <= 0 || m.FileSize >= 1<<48: // BGZF virtual offsets have 48 bits for it
		return fmt.Errorf("%w: metadata: file size %d", ErrBadIndex, m.FileSize)
	case m.HeaderEnd <= 0 || m.HeaderEnd > m.FileSize:
		return fmt.Errorf("%w: metadata: header end %d outside file of %d bytes", ErrBadIndex, m.HeaderEnd, m.FileSize)
	case m.EOF != [2]int64{} && (m.EOF[0] < m.HeaderEnd || m.EOF[1] != m.FileSize || m.EOF[0] >= m.EOF[1]):
		return fmt.Errorf("%w: metadata: EOF marker [%d,%d) not at the end of a %d-byte file", ErrBadIndex, m.EOF[0], m.EOF[1], m.FileSize)
	}
	prev := int64(0)
	for _, j := range m.Joined {
		if j.Start < prev || j.End <= j.Start || j.End > m.FileSize {
			return fmt.Errorf("%w: metadata: joined block runs are not sorted and inside the file", ErrBadIndex)
		}
		prev = j.End
	}
	return nil
}

// check applies htsget's rules on parameter combinations.
func (q Query) check(f Format) error {
	switch q.Class {
	case "":
	case "header":
		if q.ReferenceName != "" || q.Start != 0 || q.End != 0 {
			return fmt.Errorf("%w: class=header takes no region", ErrInvalidInput)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown class %q", ErrInvalidInput, q.Class)
	}
	if q.Start < 0 || q.End < 0 {
		return fmt.Errorf("%w: negative coordinate", ErrInvalidRange)
	}
	switch q.ReferenceName {
	case "":
		if q.Start != 0 || q.End != 0 {
			return fmt.Errorf("%w: start or end given without a reference name", ErrInvalidInput)
		}
	case "*":
		if f == VCF || f == BCF {
			return fmt.Errorf("%w: referenceName \"*\" (unplaced reads) applies to reads only", ErrInvalidInput)
		}
		if q.Start != 0 || q.End != 0 {
			return fmt.Errorf("%w: start or end given with referenceName \"*\"", ErrInvalidInput)
		}
	default:
		if q.End != 0 && q.Start > q.End {
			return fmt.Errorf("%w: start %d is after end %d", ErrInvalidRange, q.Start, q.End)
		}
	}
	return nil
}

// mergeRanges sorts rs and merges overlapping or touching ranges, dropping
// empty ones.
func mergeRanges(rs []Range) []Range {
	rs = slices.DeleteFunc(rs, func(r Range) bool { return r.End <= r.Start })
	slices.SortFunc(rs, func(a, b Range) int {
		if a.Start != b.Start {
			return cmpInt64(a.Start, b.Start)
		}
		return cmpInt64(a.End, b.End)
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// nextBoundary returns the smallest element of the sorted list bounds that
// is greater than off, or fallback if there is none.
func nextBoundary(bounds []int64, off, fallback int64) int64 {
	i, found := slices.BinarySearch(bounds, off)
	if found {
		i++
	}
	if i < len(bounds) {
		return bounds[i]
	}
	return fallback
}
