package segment

import (
	"crypto/cipher"
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
	buf   []byte
	src   []byte // if set, plaintext to seal from (caller memory) instead of buf
	first int64  // index of the job's first segment in the payload
	segs  int    // segments in this job
	last  int    // plaintext bytes of the final segment (1..PlainSize)
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
	aead     cipher.AEAD
	nonce    [NonceSize]byte // base nonce; segment i uses base + i
	segsJob  int
	maxJobs  int
	workers  int
	cur      *job   // job being filled
	fill     int    // plaintext bytes in cur
	inflight []*job // submitted jobs, oldest first
	free     []*job
	next     int64 // index of the next segment to start
	err      error
	closed   bool
}

// NewWriter returns a Writer sealing segments with aead (a 32-byte-key
// ChaCha20-Poly1305) and writing them to dst. Segment nonces are baseNonce
// plus the segment index, so they never repeat within a file; the data key
// is fresh for every file. workers bounds the goroutines used (0 = one per
// CPU).
func NewWriter(dst io.Writer, aead cipher.AEAD, baseNonce [NonceSize]byte, workers int) *Writer {
	w := &Writer{dst: dst, aead: aead, nonce: baseNonce, workers: Concurrency(workers)}
	w.segsJob, w.maxJobs = pipelineShape(w.workers)
	return w
}

// space returns the free plaintext room of the current segment slot,
// submitting a full job first if needed. A full job is held back until more
// plaintext arrives, so at Close the last job is known to be the last.
func (w *Writer) space() []byte {
	if w.cur != nil && w.fill == w.segsJob*PlainSize {
		w.submit()
	}
	if w.cur == nil {
		w.cur = w.newJob()
		w.fill = 0
	}
	seg, off := w.fill/PlainSize, w.fill%PlainSize
	base := seg*CipherSize + NonceSize
	return w.cur.buf[base+off : base+PlainSize]
}

func (w *Writer) newJob() *job {
	if n := len(w.free); n > 0 {
		j := w.free[n-1]
		w.free = w.free[:n-1]
		return j
	}
	return &job{buf: make([]byte, w.segsJob*CipherSize)}
}

// Write encrypts p. Whole segments are sealed as soon as they fill up and
// are written out in order; a partial final segment waits for Close.
func (w *Writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errClosed
	}
	n := 0
	jobBytes := w.segsJob * PlainSize
	borrowed := false
	for len(p) > 0 && w.err == nil {
		// A whole job's worth of p, with more after it, is sealed straight
		// from p by the job's goroutine: no copy on this goroutine. (The
		// last job is always copied, so Close still sees the final one.)
		if w.maxJobs > 1 && len(p) > jobBytes && (w.cur == nil || w.fill == jobBytes) {
			if w.cur != nil {
				w.submit()
			}
			j := w.newJob()
			j.src = p[:jobBytes]
			j.first, j.segs, j.last = w.next, w.segsJob, PlainSize
			w.next += int64(j.segs)
			w.launch(j)
			borrowed = true
			p = p[jobBytes:]
			n += jobBytes
			continue
		}
		c := copy(w.space(), p)
		w.fill += c
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
		w.fill += n
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

// submit seals the current job on a goroutine and queues it for output.
func (w *Writer) submit() {
	j := w.cur
	w.cur = nil
	if w.fill == 0 {
		w.free = append(w.free, j)
		return
	}
	j.first = w.next
	j.segs = (w.fill + PlainSize - 1) / PlainSize
	j.last = w.fill - (j.segs-1)*PlainSize
	w.next += int64(j.segs)
	w.fill = 0
	if w.maxJobs == 1 {
		w.seal(j)
		w.writeOut(j)
		return
	}
	w.launch(j)
}

// launch seals j on its own goroutine and queues it for output, draining
// the oldest job when the pipeline is full.
func (w *Writer) launch(j *job) {
	j.done = make(chan struct{})
	go func() { w.seal(j); close(j.done) }()
	w.inflight = append(w.inflight, j)
	if len(w.inflight) >= w.maxJobs {
		w.drainOne()
	}
}

// seal encrypts every segment of j in place.
func (w *Writer) seal(j *job) {
	for s := 0; s < j.segs; s++ {
		n := PlainSize
		if s == j.segs-1 {
			n = j.last
		}
		slot := j.buf[s*CipherSize : s*CipherSize+CipherSize]
		nonce := slot[:NonceSize]
		putNonce(nonce, w.nonce, j.first+int64(s))
		pt := slot[NonceSize : NonceSize+n]
		if j.src != nil {
			pt = j.src[s*PlainSize : s*PlainSize+n]
		}
		w.aead.Seal(slot[NonceSize:NonceSize], nonce, pt, nil)
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

// Close seals the final, possibly partial, segment and writes everything
// still in flight. It does not close the underlying writer. An empty stream
// produces no segment at all, as the reference implementation does.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.cur != nil {
		w.submit()
	}
	for len(w.inflight) > 0 {
		w.drainOne()
	}
	return w.err
}

// Segments returns the number of segments started so far.
func (w *Writer) Segments() int64 { return w.next }
