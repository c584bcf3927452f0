package crypt4gh

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// EditList is a Crypt4GH edit list: byte lengths that alternately skip and
// keep parts of the decrypted payload, starting with a skip. With an odd
// number of lengths everything after the last skip is kept; with an even
// number everything after the last keep is dropped. A nil EditList means the
// header has none; an empty one keeps everything too.
type EditList []uint64

// span is a half-open interval [start, end) of payload plaintext; end < 0
// means "to the end of the payload".
type span struct{ start, end int64 }

func (s span) open() bool { return s.end < 0 }

// kept returns the payload intervals the edit list keeps, in order, without
// empty ones. A nil or empty list keeps everything.
func (e EditList) kept() []span {
	if len(e) == 0 {
		return []span{{0, -1}}
	}
	var out []span
	var pos int64
	for i := 0; i < len(e); i += 2 {
		pos += int64(e[i])
		if i+1 == len(e) {
			out = append(out, span{pos, -1})
			break
		}
		if keep := int64(e[i+1]); keep > 0 {
			out = append(out, span{pos, pos + keep})
			pos += keep
		}
	}
	return out
}

// validate checks that the lengths fit in 63-bit offsets.
func (e EditList) validate() error {
	var sum uint64
	for _, l := range e {
		if l > math.MaxInt64 || sum+l > math.MaxInt64 {
			return fmt.Errorf("%w: edit list lengths overflow a 63-bit offset", ErrMalformedHeader)
		}
		sum += l
	}
	return nil
}

// skippedSegments counts the whole segments the edit list discards before
// its last kept byte: segments a reader fetches and throws away.
func (e EditList) skippedSegments() int64 {
	if e == nil {
		return 0
	}
	var n, next int64 // next: first segment not yet accounted for
	for _, k := range e.kept() {
		first := k.start / SegmentSize
		n += max(0, first-next)
		if k.open() {
			break
		}
		next = max(next, (k.end-1)/SegmentSize+1)
	}
	return n
}

// PlaintextSize returns how many bytes the edit list lets through from a
// payload of n plaintext bytes.
func (e EditList) PlaintextSize(n int64) int64 {
	var total int64
	for _, s := range e.kept() {
		total += clip(s, n).len()
	}
	return total
}

func clip(s span, n int64) span {
	if s.open() || s.end > n {
		s.end = n
	}
	if s.start > n {
		s.start = n
	}
	return s
}

func (s span) len() int64 { return max(0, s.end-s.start) }

// SegmentRun is a run of consecutive cipher segments, by index from 0.
// Count < 0 means "to the last segment of the payload".
type SegmentRun struct {
	First int64
	Count int64
}

// RangePlan says how to serve a range of a file's visible plaintext from
// whole encrypted segments: send the header re-encrypted with EditList,
// then the cipher bytes of Segments in order.
type RangePlan struct {
	Segments []SegmentRun
	EditList EditList
}

// PayloadRanges returns the byte ranges [start, end) of the encrypted
// payload (offsets after the header) that hold the plan's segments, for a
// payload of payloadSize bytes.
func (p *RangePlan) PayloadRanges(payloadSize int64) [][2]int64 {
	var out [][2]int64
	for _, r := range p.Segments {
		start := r.First * CipherSegmentSize
		end := payloadSize
		if r.Count >= 0 {
			end = min(payloadSize, (r.First+r.Count)*CipherSegmentSize)
		}
		if start < end {
			out = append(out, [2]int64{start, end})
		}
	}
	return out
}

// ErrInvalidRange is returned for a range whose start is negative or past
// its end.
var ErrInvalidRange = errors.New("crypt4gh: invalid range")

// Range is a half-open range [Start, End) of visible plaintext; End < 0
// means "to the end of the file".
type Range struct{ Start, End int64 }

func (r Range) check() error {
	if r.Start < 0 || (r.End >= 0 && r.End < r.Start) {
		return fmt.Errorf("%w: [%d, %d)", ErrInvalidRange, r.Start, r.End)
	}
	return nil
}

// payloadSpans maps the visible range r of a file with edit list e to the
// payload intervals that hold it, in order.
func (e EditList) payloadSpans(r Range) []span {
	var want []span
	var visible int64
	for _, k := range e.kept() {
		kLen := int64(-1)
		if !k.open() {
			kLen = k.end - k.start
		}
		lo, hi := max(r.Start, visible), r.End
		if kLen >= 0 && (hi < 0 || hi > visible+kLen) {
			hi = visible + kLen
		}
		if hi < 0 || lo < hi {
			s := span{k.start + (lo - visible), -1}
			if hi >= 0 {
				s.end = k.start + (hi - visible)
			}
			want = append(want, s)
		}
		if kLen < 0 {
			break
		}
		visible += kLen
		if r.End >= 0 && visible >= r.End {
			break
		}
	}
	return want
}

// editListOf returns the edit list keeping exactly the given ordered,
// disjoint intervals; nil if they keep everything.
func editListOf(spans []span) EditList {
	if len(spans) == 0 {
		return EditList{0, 0} // keeps nothing
	}
	el := EditList{}
	var pos int64
	for i, s := range spans {
		skip := s.start - pos
		if s.open() {
			if skip == 0 && i > 0 {
				el = el[:len(el)-1] // keep from the previous keep's start to the end
			} else {
				el = append(el, uint64(skip))
			}
			break
		}
		if skip == 0 && i > 0 {
			el[len(el)-1] += uint64(s.end - s.start) // contiguous with the previous keep
		} else {
			el = append(el, uint64(skip), uint64(s.end-s.start))
		}
		pos = s.end
	}
	if len(el) == 1 && el[0] == 0 {
		return nil
	}
	return el
}

// Restrict returns the edit list that, applied to the same payload, shows
// only the visible range r of what e shows. Segments are not dropped; use
// [PlanRange] for that.
func (e EditList) Restrict(r Range) (EditList, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	if err := e.validate(); err != nil {
		return nil, err
	}
	return editListOf(e.payloadSpans(r)), nil
}

// PlanRange maps the visible plaintext range r of a file whose header has
// edit list existing (nil for none) to the segments that hold it and the
// edit list that cuts exactly that range out of them. Segments that hold
// none of the range are left out, so the plan works for any existing edit
// list. When the range keeps everything from the first chosen segment on,
// the returned EditList is nil.
func PlanRange(existing EditList, r Range) (*RangePlan, error) {
	return PlanRanges(existing, []Range{r})
}

// PlanRanges is PlanRange for several visible ranges at once, as an htsget
// region query needs (the file header, the blocks of the region, the EOF
// marker): the plan's stream shows their concatenation. The ranges must be
// in increasing order and must not overlap; only the last may be open
// (End < 0).
func PlanRanges(existing EditList, rs []Range) (*RangePlan, error) {
	for i, r := range rs {
		if err := r.check(); err != nil {
			return nil, err
		}
		if i > 0 && (rs[i-1].End < 0 || rs[i-1].End > r.Start) {
			return nil, fmt.Errorf("%w: ranges out of order or overlapping at [%d, %d)", ErrInvalidRange, r.Start, r.End)
		}
	}
	if err := existing.validate(); err != nil {
		return nil, err
	}
	var want []span
	for _, r := range rs {
		want = append(want, existing.payloadSpans(r)...)
	}
	plan := &RangePlan{}
	if len(want) == 0 {
		return plan, nil
	}
	// Choose segments: every segment one of the intervals touches.
	var runs []SegmentRun
	for _, s := range want {
		first := s.start / SegmentSize
		count := int64(-1)
		if !s.open() {
			count = (s.end-1)/SegmentSize - first + 1
		}
		if n := len(runs); n > 0 {
			last := &runs[n-1]
			if last.Count >= 0 && last.First+last.Count >= first {
				if count < 0 {
					last.Count = -1
				} else {
					last.Count = max(last.Count, first+count-last.First)
				}
				continue
			}
		}
		runs = append(runs, SegmentRun{First: first, Count: count})
	}
	plan.Segments = runs
	// Re-express the intervals in the coordinates of the concatenated
	// chosen segments.
	newOffset := func(off int64) int64 {
		seg := off / SegmentSize
		i := sort.Search(len(runs), func(i int) bool { return runs[i].Count < 0 || runs[i].First+runs[i].Count > seg })
		var before int64
		for _, r := range runs[:i] {
			before += r.Count
		}
		before += seg - runs[i].First
		return before*SegmentSize + off%SegmentSize
	}
	moved := make([]span, len(want))
	for i, s := range want {
		moved[i] = span{newOffset(s.start), -1}
		if !s.open() {
			moved[i].end = newOffset(s.end-1) + 1
		}
	}
	plan.EditList = editListOf(moved)
	return plan, nil
}
