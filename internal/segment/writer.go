package segment

import (
	"encoding/binary"
	"errors"
	"io"
)

// errClosed is returned by writes after Close.
var errClosed = errors.New("crypt4gh: write to closed encrypting writer")

// job is a group of consecutive segments processed by one goroutine. Its
// buffer holds each segment in its wire slot (nonce, text, tag), so that a
// job's output is one contiguous byte range.
type job struct {
	buf   []byte // cipher segments in their wire slots
	plain []byte // decryption: the plaintext of each segment, PlainSize apart
	src   []byte // encryption: if set, plaintext to seal from (caller memory)
	first int64  // position of the job's first segment in the payload
	segs  int    // segments in this job
	last  int    // plaintext bytes of the last segment (0..PlainSize)
	final bool   // the job's last segment is the final segment of the stream
	done  chan struct{}

	// Filled by decryption.
	failAt int   // index within the job of the first failing segment, or -1
	err    error // error that ends the stream after segment failAt-1
}

// wireLen is the number of cipher bytes the job occupies.
func (j *job) wireLen() int {
	if j.segs == 0 {
		return 0
	}
	return (j.segs-1)*CipherSize + Overhead + j.last
}

// Writer encrypts a plaintext stream into cipher segments written to an
// underlying writer, in order. It is not safe for concurrent use.
type Writer struct {
	dst      io.Writer
	c        Cipher
	framing  Framing
	nonce    [NonceSize]byte // base nonce; segment i uses base + i
	segsJob  int
	maxJobs  int
	cur      *job // job being filled
	fill     int  // plaintext bytes in cur
	held     *job // a full job not yet sealed: it may hold the final segment
	inflight []*job
	free     []*job
	next     int64 // position of the next segment to start
	total    int64 // plaintext bytes accepted
	err      error
	closed   bool
}

// NewWriter returns a Writer sealing segments with c under the framing
// rule and writing them to dst. Segment nonces are baseNonce plus the
// segment index, so they never repeat within a file; the data key is fresh
// for every file. workers bounds the goroutines used (0 = one per CPU).
func NewWriter(dst io.Writer, c Cipher, framing Framing, baseNonce [NonceSize]byte, workers int) *Writer {
	w := &Writer{dst: dst, c: c, framing: framing, nonce: baseNonce}
	w.segsJob, w.maxJobs = pipelineShape(Concurrency(workers))
	return w
}

func (w *Writer) jobBytes() int { return w.segsJob * PlainSize }

// space returns the free plaintext room of the current segment slot. A
// full job is moved aside ("held") rather than sealed: only when more
// plaintext arrives is it known not to hold the final segment.
func (w *Writer) space() []byte {
	if w.cur != nil && w.fill == w.jobBytes() {
		w.held, w.cur = w.cur, nil
	}
	if w.cur == nil {
		w.cur = w.newJob()
		w.fill = 0
	}
	seg, off := w.fill/PlainSize, w.fill%PlainSize
	base := seg*CipherSize + NonceSize
	return w.cur.buf[base+off : base+PlainSize]
}

// added records n plaintext bytes put in the current job.
func (w *Writer) added(n int) {
	if n == 0 {
		return
	}
	w.fill += n
	w.total += int64(n)
	if w.held != nil {
		h := w.held
		w.held = nil
		w.submit(h, w.jobBytes(), false)
	}
}

func (w *Writer) newJob() *job {
	if n := len(w.free); n > 0 {
		j := w.free[n-1]
		w.free = w.free[:n-1]
		return j
	}
	return &job{buf: make([]byte, w.segsJob*CipherSize)}
}

// Write encrypts p. Whole segments are sealed as soon as it is known that
// more follow, and written out in order; the rest waits for Close.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errClosed
	}
	n := 0
	borrowed := false
	jobBytes := w.jobBytes()
	for len(p) > 0 && w.err == nil {
		// A whole job's worth of p, with more after it, is sealed straight
		// from p by the job's goroutine: no copy on this goroutine. (The
		// last job is always copied, so Close still sees the final one.)
		if w.maxJobs > 1 && len(p) > jobBytes && (w.cur == nil || w.fill == 0 || w.fill == jobBytes) {
			if w.held != nil {
				h := w.held
				w.held = nil
				w.submit(h, jobBytes, false)
			}
			if w.cur != nil && w.fill == jobBytes {
				c := w.cur
				w.cur = nil
				w.submit(c, jobBytes, false)
			}
			j := w.newJob()
			j.src = p[:jobBytes]
			w.total += int64(jobBytes)
			w.submit(j, jobBytes, false)
			borrowed = true
			p = p[jobBytes:]
			n += jobBytes
			continue
		}
		c := copy(w.space(), p)
		w.added(c)
		p = p[c:]
		n += c
	}
	if borrowed {
		// io.Writer: p must not be retained after Write returns.
		for _, j := range w.inflight {
			if j.src != nil {
				<-j.done
				j.src = nil
			}
		}
	}
	return n, w.err
}

// ReadFrom encrypts everything r yields, reading straight into segment
// slots. io.Copy uses it, saving one copy of every byte.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	if w.closed {
		return 0, errClosed
	}
	var total int64
	for w.err == nil {
		n, err := r.Read(w.space())
		w.added(n)
		total += int64(n)
		if err == io.EOF {
			return total, w.err
		}
		if err != nil {
			return total, err
		}
	}
	return total, w.err
}

// submit seals j, holding fill plaintext bytes (0 means one empty
// segment), on a goroutine and queues it for output.
func (w *Writer) submit(j *job, fill int, final bool) {
	j.first = w.next
	j.segs = max(1, (fill+PlainSize-1)/PlainSize)
	j.last = fill - (j.segs-1)*PlainSize
	j.final = final
	w.next += int64(j.segs)
	if w.maxJobs == 1 {
		w.seal(j)
		w.writeOut(j)
		return
	}
	j.done = make(chan struct{})
	go func() { w.seal(j); close(j.done) }()
	w.inflight = append(w.inflight, j)
	if len(w.inflight) >= w.maxJobs {
		w.drainOne()
	}
}

// seal encrypts every segment of j into its slot.
func (w *Writer) seal(j *job) {
	var adBuf [16]byte
	for s := 0; s < j.segs; s++ {
		n := PlainSize
		if s == j.segs-1 {
			n = j.last
		}
		i := j.first + int64(s)
		slot := j.buf[s*CipherSize : s*CipherSize+CipherSize]
		nonce := slot[:NonceSize]
		putNonce(nonce, w.nonce, i)
		pt := slot[NonceSize : NonceSize+n]
		if j.src != nil {
			pt = j.src[s*PlainSize : s*PlainSize+n]
		}
		ad := w.c.AppendAD(adBuf[:0], i, j.final && s == j.segs-1)
		w.c.AEAD(i).Seal(slot[NonceSize:NonceSize], nonce, pt, ad)
	}
}

// putNonce writes base + index as a 96-bit little-endian sum.
func putNonce(dst []byte, base [NonceSize]byte, index int64) {
	lo := binary.LittleEndian.Uint64(base[:8])
	hi := binary.LittleEndian.Uint32(base[8:])
	sum := lo + uint64(index)
	if sum < lo {
		hi++
	}
	binary.LittleEndian.PutUint64(dst[:8], sum)
	binary.LittleEndian.PutUint32(dst[8:], hi)
}

func (w *Writer) drainOne() {
	j := w.inflight[0]
	w.inflight[0] = nil
	w.inflight = w.inflight[1:]
	<-j.done
	w.writeOut(j)
}

func (w *Writer) writeOut(j *job) {
	j.src = nil
	if w.err == nil {
		if _, err := w.dst.Write(j.buf[:j.wireLen()]); err != nil {
			w.err = err
		}
	}
	w.free = append(w.free, j)
}

// Close seals the final segments and writes everything still in flight. It
// does not close the underlying writer. What an empty stream or one ending
// on a segment boundary produces depends on the framing: nothing extra (v1,
// as the reference implementation), an empty segment (PR 736), or a final
// segment that is always present (sealed).
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	sealed := w.framing == FramingSealed
	onBoundary := true
	switch {
	case w.held != nil:
		w.submit(w.held, w.jobBytes(), sealed)
		w.held = nil
	case w.cur != nil && w.fill > 0:
		onBoundary = w.fill%PlainSize == 0
		w.submit(w.cur, w.fill, sealed)
		w.cur = nil
	}
	if w.cur != nil {
		w.free = append(w.free, w.cur)
		w.cur = nil
	}
	if (w.framing == FramingPR736 && onBoundary) || (sealed && w.total == 0) {
		w.submit(w.newJob(), 0, true)
	}
	for len(w.inflight) > 0 {
		w.drainOne()
	}
	return w.err
}

// Segments returns the number of segments started so far.
func (w *Writer) Segments() int64 { return w.next }
