package segment

import (
	"errors"
	"fmt"
	"io"
)

// Filter tells a Reader which segments are wanted. Segments it rejects are
// read past but never decrypted (their plaintext would be dropped by an
// edit list anyway). Done returns true once no later segment is wanted, so
// reading can end early. A nil Filter wants everything. Both methods are
// called from several goroutines and must not modify shared state.
type Filter interface {
	Want(pos int64) bool
	Done(pos int64) bool
}

// Layout says how the segments of a payload relate to the original file
// and how the payload must end.
type Layout struct {
	Framing Framing
	// Index maps a segment's position in the payload to its index in the
	// original payload (a segment map); nil is the identity.
	Index func(pos int64) int64
	// Count is the number of segments the payload must hold, or -1 if the
	// payload simply ends (no segment map).
	Count int64
	// FinalIndex is the original index of the final segment when a segment
	// map gives it, else -1: the last segment present is final.
	FinalIndex int64
}

// NoMap is the layout of a payload that is a whole file.
func NoMap(f Framing) Layout { return Layout{Framing: f, Count: -1, FinalIndex: -1} }

func (l *Layout) index(pos int64) int64 {
	if l.Index == nil {
		return pos
	}
	return l.Index(pos)
}

// final reports whether the segment at pos (original index i) carries the
// final flag; isLast says whether it is the last segment present.
func (l *Layout) final(i int64, isLast bool) bool {
	if l.Framing != FramingSealed {
		return false
	}
	if l.FinalIndex >= 0 {
		return i == l.FinalIndex
	}
	return isLast
}

// Open opens the segment at payload position pos, which is the last one
// present if isLast, appending its plaintext to dst. seg stays intact; a
// failure is diagnosed.
func (l *Layout) Open(o *Opener, dst, seg []byte, pos int64, isLast bool) ([]byte, error) {
	i := l.index(pos)
	final := l.final(i, isLast)
	if pt, ok := o.Open(dst, seg, i, final); ok {
		return pt, nil
	}
	return nil, o.Diagnose(seg, pos, i, final, l.Framing == FramingSealed)
}

// CheckEnd checks how a payload of segs segments, whose last segment holds
// lastLen plaintext bytes, ends.
func (l *Layout) CheckEnd(segs int64, lastLen int) error {
	if l.Count >= 0 {
		if segs < l.Count {
			return &TruncatedError{Index: segs, Stream: true, Reason: fmt.Sprintf("the segment map lists %d", l.Count)}
		}
		if segs > l.Count {
			return fmt.Errorf("%w: the payload holds %d segments, the segment map %d", ErrOrder, segs, l.Count)
		}
		return nil
	}
	switch l.Framing {
	case FramingSealed:
		if segs == 0 {
			return &TruncatedError{Index: 0, Stream: true}
		}
	case FramingPR736:
		if segs == 0 || lastLen == PlainSize {
			return &TruncatedError{Index: segs, Stream: true, Reason: "missing trailing segment"}
		}
	}
	return nil
}

// Reader decrypts a stream of cipher segments. Segments are decrypted on
// background goroutines a few jobs ahead of the consumer and handed out in
// order; no plaintext of a segment is handed out before it authenticates.
// It is not safe for concurrent use.
type Reader struct {
	src      io.Reader
	open     *Opener
	layout   Layout
	filter   Filter
	segsJob  int
	maxJobs  int
	inflight []*job
	free     []*job
	cur      *job
	curSeg   int   // next segment of cur to hand out
	next     int64 // position of the next segment to read from src
	peek     [1]byte
	peeked   bool // peek holds the first byte of the next job
	srcDone  bool
	lastLen  int // plaintext length of the last segment read
	err      error
}

// NewReader returns a Reader of the cipher segments in src.
func NewReader(src io.Reader, open *Opener, layout Layout, filter Filter, workers int) *Reader {
	r := &Reader{src: src, open: open, layout: layout, filter: filter}
	r.segsJob, r.maxJobs = pipelineShape(Concurrency(workers))
	return r
}

// Segment is one decrypted segment. Plaintext is nil for a segment the
// Filter did not want. The slice is valid until the next call to Next.
type Segment struct {
	Pos       int64 // position in the payload
	Plaintext []byte
	Skipped   bool
}

// Next returns the next segment, io.EOF at the end of the payload, or the
// error that ends it (an *AuthError, *OrderError, *TruncatedError or a
// read error) once every segment before the failure has been returned.
func (r *Reader) Next() (Segment, error) {
	for {
		if r.cur != nil {
			j := r.cur
			if r.curSeg < j.segs && (j.failAt < 0 || r.curSeg < j.failAt) {
				s := r.curSeg
				r.curSeg++
				seg := Segment{Pos: j.first + int64(s)}
				if r.filter != nil && !r.filter.Want(seg.Pos) {
					seg.Skipped = true
					return seg, nil
				}
				n := PlainSize
				if s == j.segs-1 {
					n = j.last
				}
				seg.Plaintext = j.plain[s*PlainSize : s*PlainSize+n]
				return seg, nil
			}
			if j.err != nil {
				r.err = j.err
				r.cur = nil
				return Segment{}, r.err
			}
			r.free = append(r.free, j)
			r.cur = nil
		}
		if r.err != nil {
			return Segment{}, r.err
		}
		r.fill()
		if len(r.inflight) == 0 {
			r.err = io.EOF
			return Segment{}, io.EOF
		}
		j := r.inflight[0]
		r.inflight[0] = nil
		r.inflight = r.inflight[1:]
		if j.done != nil {
			<-j.done
		}
		r.cur, r.curSeg = j, 0
	}
}

// fill reads jobs from src until the pipeline is full or src is exhausted.
func (r *Reader) fill() {
	for !r.srcDone && len(r.inflight) < r.maxJobs {
		// A sealed payload is read to its end even when nothing more is
		// wanted: its end (final segment, segment count) is checked
		// whatever an edit list shows, as random access checks it.
		if r.filter != nil && r.layout.Framing != FramingSealed && r.filter.Done(r.next) {
			r.srcDone = true
			return
		}
		j := r.readJob()
		if j == nil {
			return
		}
		r.inflight = append(r.inflight, j)
		if j.segs == 0 {
			continue
		}
		if r.maxJobs == 1 {
			r.decrypt(j)
			continue
		}
		j.done = make(chan struct{})
		go func() { r.decrypt(j); close(j.done) }()
	}
}

// endJob returns a job that only carries err, ending the stream.
func (r *Reader) endJob(err error) *job {
	r.srcDone = true
	return &job{failAt: 0, err: err}
}

// readJob reads up to one job of cipher segments. It reads one byte past a
// full job to learn whether the job is the last, which the sealed framing
// needs. A job whose framing is broken carries the error after its good
// segments.
func (r *Reader) readJob() *job {
	var j *job
	if n := len(r.free); n > 0 {
		j = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		j = &job{buf: make([]byte, r.segsJob*CipherSize), plain: make([]byte, r.segsJob*PlainSize)}
	}
	j.done, j.err, j.failAt, j.first, j.final = nil, nil, -1, r.next, false
	off := 0
	if r.peeked {
		j.buf[0] = r.peek[0]
		off, r.peeked = 1, false
	}
	n, err := io.ReadFull(r.src, j.buf[off:])
	n += off
	switch {
	case err == nil:
		if _, perr := io.ReadFull(r.src, r.peek[:]); perr == nil {
			r.peeked = true
		} else if errors.Is(perr, io.EOF) {
			r.srcDone = true
		} else {
			err = perr
		}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		r.srcDone = true
		err = nil
	}
	if err != nil {
		r.free = append(r.free, j)
		return r.endJob(err)
	}
	if n == 0 {
		r.free = append(r.free, j)
		if end := r.layout.CheckEnd(r.next, r.lastLen); end != nil {
			return r.endJob(end)
		}
		return nil
	}
	j.segs, j.last = n/CipherSize, PlainSize
	if rem := n % CipherSize; rem > 0 {
		if rem < Overhead {
			j.err = &TruncatedError{Index: r.next + int64(j.segs), Bytes: rem}
			j.failAt = j.segs
		} else {
			j.segs++
			j.last = rem - Overhead
		}
	}
	r.next += int64(j.segs)
	if j.segs > 0 {
		r.lastLen = j.last
	}
	switch {
	case j.err != nil:
	case r.layout.Count >= 0 && r.next > r.layout.Count:
		// Segments past those the map lists are never opened.
		j.err = fmt.Errorf("%w: the payload holds more segments than the %d of its segment map", ErrOrder, r.layout.Count)
		j.failAt = int(max(0, r.layout.Count-j.first))
	case r.srcDone:
		j.final = true
		if end := r.layout.CheckEnd(r.next, r.lastLen); end != nil {
			j.err, j.failAt = end, j.segs
		}
	}
	return j
}

// decrypt opens the wanted segments of j, stopping at the first failure.
func (r *Reader) decrypt(j *job) {
	for s := 0; s < j.segs; s++ {
		if j.failAt >= 0 && s >= j.failAt {
			return
		}
		pos := j.first + int64(s)
		isLast := j.final && s == j.segs-1
		// Unwanted segments are not decrypted, except the last one of a
		// sealed payload, which authenticates the payload's end.
		if r.filter != nil && !r.filter.Want(pos) && !(isLast && r.layout.Framing == FramingSealed) {
			continue
		}
		n := PlainSize
		if s == j.segs-1 {
			n = j.last
		}
		seg := j.buf[s*CipherSize : s*CipherSize+Overhead+n]
		if _, err := r.layout.Open(r.open, j.plain[s*PlainSize:s*PlainSize], seg, pos, isLast); err != nil {
			j.failAt, j.err = s, err
			return
		}
	}
}
