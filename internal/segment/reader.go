package segment

import (
	"errors"
	"io"
)

// Filter tells a Reader which segments are wanted. Segments it rejects are
// read past but never decrypted (their plaintext would be dropped by an
// edit list anyway). Stop returns true once no later segment is wanted, so
// reading can end early. A nil Filter wants everything.
type Filter interface {
	Want(index int64) bool
	Done(index int64) bool
}

// Reader decrypts a stream of cipher segments. Segments are decrypted on
// background goroutines a few jobs ahead of the consumer and handed out in
// order; no plaintext of a segment is handed out before it authenticates.
// It is not safe for concurrent use.
type Reader struct {
	src      io.Reader
	open     *Opener
	filter   Filter
	segsJob  int
	maxJobs  int
	inflight []*job
	free     []*job
	cur      *job
	curSeg   int   // next segment of cur to hand out
	next     int64 // index of the next segment to read from src
	srcDone  bool
	err      error
}

// NewReader returns a Reader of the cipher segments in src.
func NewReader(src io.Reader, open *Opener, filter Filter, workers int) *Reader {
	r := &Reader{src: src, open: open, filter: filter}
	r.segsJob, r.maxJobs = pipelineShape(Concurrency(workers))
	return r
}

// Segment is one decrypted segment. Plaintext is nil for a segment the
// Filter did not want. The slice is valid until the next call to Next.
type Segment struct {
	Index     int64
	Plaintext []byte
	Skipped   bool
}

// Next returns the next segment, io.EOF at the end of the payload, or the
// error that ends it (an *AuthError, a *TruncatedError or a read error)
// once every segment before the failure has been returned.
func (r *Reader) Next() (Segment, error) {
	for {
		if r.cur != nil {
			j := r.cur
			if r.curSeg < j.segs && (j.failAt < 0 || r.curSeg < j.failAt) {
				s := r.curSeg
				r.curSeg++
				seg := Segment{Index: j.first + int64(s)}
				if r.filter != nil && !r.filter.Want(seg.Index) {
					seg.Skipped = true
					return seg, nil
				}
				n := PlainSize
				if s == j.segs-1 {
					n = j.last
				}
				off := s*CipherSize + NonceSize
				seg.Plaintext = j.buf[off : off+n]
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
		if r.filter != nil && r.filter.Done(r.next) {
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

// readJob reads up to one job of cipher segments. A job whose framing is
// broken carries the error after its good segments.
func (r *Reader) readJob() *job {
	var j *job
	if n := len(r.free); n > 0 {
		j = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		j = &job{buf: make([]byte, r.segsJob*CipherSize)}
	}
	j.done, j.err, j.failAt, j.first = nil, nil, -1, r.next
	n, err := io.ReadFull(r.src, j.buf)
	if err != nil {
		r.srcDone = true
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			j.segs, j.err, j.failAt = 0, err, 0
			return j
		}
		if n == 0 {
			r.free = append(r.free, j)
			return nil
		}
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
	return j
}

// decrypt opens the wanted segments of j in place, stopping at the first
// failure.
func (r *Reader) decrypt(j *job) {
	for s := 0; s < j.segs; s++ {
		if j.failAt >= 0 && s >= j.failAt {
			return
		}
		idx := j.first + int64(s)
		if r.filter != nil && !r.filter.Want(idx) {
			continue
		}
		n := PlainSize
		if s == j.segs-1 {
			n = j.last
		}
		if _, ok := r.open.Open(j.buf[s*CipherSize : s*CipherSize+Overhead+n]); !ok {
			j.failAt, j.err = s, &AuthError{Index: idx}
			return
		}
	}
}
