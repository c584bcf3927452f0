package crypt4gh

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/crypt4gh-go/crypt4gh/internal/segment"
)

// ReaderAt gives random access to the plaintext of a Crypt4GH file held in
// an io.ReaderAt. Offsets are plaintext offsets after the edit list is
// applied. ReadAt decrypts only the segments a read touches (spread over
// the CPUs for large reads) and may be called concurrently; Read and Seek
// share one position and are not safe for concurrent use.
type ReaderAt struct {
	src         io.ReaderAt
	payloadOff  int64 // where the payload starts in src
	payloadSize int64 // cipher bytes
	plainSize   int64 // payload plaintext bytes (before the edit list)
	size        int64 // visible plaintext bytes
	header      *Header
	content     *HeaderContent
	open        *segment.Opener
	layout      segment.Layout
	segs        int64  // cipher segments in the payload
	kept        []span // clipped to plainSize, non-empty, in order
	keptPrefix  []int64
	concurrency int

	mu  sync.Mutex
	pos int64
}

var (
	_ io.ReaderAt   = (*ReaderAt)(nil)
	_ io.ReadSeeker = (*ReaderAt)(nil)
)

// DecryptReaderAt reads and decrypts the header at the start of src (of
// size bytes) and returns a ReaderAt of the plaintext. It authenticates the
// last segment before returning, so a payload truncated inside a segment is
// reported at once; for sealed (v2) payloads that also proves the payload
// is complete. (Version 1 cannot detect a payload cut exactly at a segment
// boundary.)
func DecryptReaderAt(src io.ReaderAt, size int64, ids ...Identity) (*ReaderAt, error) {
	return DecryptReaderAtWithOptions(src, size, DecryptOptions{}, ids...)
}

// DecryptReaderAtWithOptions is [DecryptReaderAt] with options (Range and
// Header are not used: the ReaderAt reads anywhere).
func DecryptReaderAtWithOptions(src io.ReaderAt, size int64, opts DecryptOptions, ids ...Identity) (*ReaderAt, error) {
	h, err := ReadHeader(io.NewSectionReader(src, 0, size))
	if err != nil {
		return nil, err
	}
	c, err := opts.openHeader(h, ids)
	if err != nil {
		return nil, err
	}
	hs := int64(h.Size())
	r, err := newReaderAt(io.NewSectionReader(src, hs, size-hs), size-hs, c, opts.Concurrency)
	if err != nil {
		return nil, err
	}
	r.header = h
	return r, nil
}

// NewReaderAtFromContent returns a ReaderAt over a payload without header
// (payloadSize bytes of cipher segments), using header content decrypted
// earlier: the detached-header case of archives and mounts. Of opts, the
// expiry, edit-list limit and concurrency settings apply.
func NewReaderAtFromContent(payload io.ReaderAt, payloadSize int64, c *HeaderContent, opts DecryptOptions) (*ReaderAt, error) {
	if err := opts.checkContent(c); err != nil {
		return nil, err
	}
	return newReaderAt(payload, payloadSize, c, opts.Concurrency)
}

func newReaderAt(payload io.ReaderAt, payloadSize int64, c *HeaderContent, concurrency int) (*ReaderAt, error) {
	open, layout, err := payloadOpener(c)
	if err != nil {
		return nil, err
	}
	if err := c.EditList.validate(); err != nil {
		return nil, err
	}
	plain, err := segment.PlainLen(payloadSize)
	if err != nil {
		return nil, err
	}
	r := &ReaderAt{src: payload, payloadSize: payloadSize, plainSize: plain, content: c, open: open, layout: layout, concurrency: concurrency}
	r.segs = (payloadSize + CipherSegmentSize - 1) / CipherSegmentSize
	lastLen := int(plain - max(0, r.segs-1)*SegmentSize)
	if err := layout.CheckEnd(r.segs, lastLen); err != nil {
		return nil, err
	}
	for _, k := range c.EditList.kept() {
		k = clip(k, plain)
		if k.len() > 0 {
			r.kept = append(r.kept, k)
			r.keptPrefix = append(r.keptPrefix, r.size)
			r.size += k.len()
		}
	}
	if r.segs > 0 {
		// Authenticate the last segment: truncation inside it shows now,
		// and for sealed payloads so does a missing final segment.
		if _, err := r.readSegments(r.segs-1, 1, nil, 0); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Size returns the plaintext size (after the edit list).
func (r *ReaderAt) Size() int64 { return r.size }

// Header returns the encrypted header (nil if made from header content).
func (r *ReaderAt) Header() *Header { return r.header }

// HeaderContent returns the decrypted header content; it holds the data
// keys, so treat it as secret.
func (r *ReaderAt) HeaderContent() *HeaderContent { return r.content }

// ReadAt reads len(p) plaintext bytes at offset off. It returns io.EOF
// when fewer bytes remain, and an error wrapping ErrAuthentication if a
// touched segment does not authenticate (p then holds no byte of it).
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("crypt4gh: negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := p
	if rest := r.size - off; int64(len(want)) > rest {
		want = want[:rest]
	}
	n := 0
	// Walk the kept intervals that cover [off, off+len(want)).
	i := sort.Search(len(r.kept), func(i int) bool { return r.keptPrefix[i]+r.kept[i].len() > off })
	for n < len(want) && i < len(r.kept) {
		k := r.kept[i]
		inK := off + int64(n) - r.keptPrefix[i]
		chunk := min(int64(len(want)-n), k.len()-inK)
		m, err := r.readPlain(want[n:n+int(chunk)], k.start+inK)
		n += m
		if err != nil {
			return n, err
		}
		i++
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readPlain fills p with payload plaintext starting at payload offset off,
// which the caller has checked lies inside the payload.
func (r *ReaderAt) readPlain(p []byte, off int64) (int, error) {
	first := off / SegmentSize
	last := (off + int64(len(p)) - 1) / SegmentSize
	return r.readSegments(first, last-first+1, p, off-first*SegmentSize)
}

// readSegments reads, authenticates and decrypts count segments from
// index first, copying plaintext from offset skip (relative to the first
// segment) into dst until dst is full. Large reads are split over
// goroutines; each works on its own buffer.
func (r *ReaderAt) readSegments(first, count int64, dst []byte, skip int64) (int, error) {
	const perWorker = 16
	workers := segment.Concurrency(r.concurrency)
	if count <= perWorker || workers == 1 {
		return r.readRun(first, count, dst, skip)
	}
	type part struct {
		first, count int64
		dst          []byte
		skip         int64
		n            int
		err          error
	}
	var parts []*part
	for s := int64(0); s < count; s += perWorker {
		c := min(perWorker, count-s)
		// Plaintext offsets (relative to segment `first`) of this part.
		lo := max(s*SegmentSize, skip) - skip
		hi := min((s+c)*SegmentSize-skip, int64(len(dst)))
		if hi <= lo {
			continue
		}
		pskip := int64(0)
		if s == 0 {
			pskip = skip
		}
		parts = append(parts, &part{first: first + s, count: c, dst: dst[lo:hi], skip: pskip})
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for _, pt := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			pt.n, pt.err = r.readRun(pt.first, pt.count, pt.dst, pt.skip)
			<-sem
		}()
	}
	wg.Wait()
	// The bytes before the first failure count, as io.ReaderAt asks.
	n := 0
	for _, pt := range parts {
		n += pt.n
		if pt.err != nil {
			return n, pt.err
		}
	}
	return n, nil
}

var (
	runPool   = sync.Pool{New: func() any { b := make([]byte, 16*CipherSegmentSize); return &b }}
	plainPool = sync.Pool{New: func() any { b := make([]byte, 0, SegmentSize); return &b }}
)

// readRun decrypts count consecutive segments on the calling goroutine.
// A segment wholly wanted is opened straight into dst; others go through a
// scratch buffer.
func (r *ReaderAt) readRun(first, count int64, dst []byte, skip int64) (int, error) {
	bp := runPool.Get().(*[]byte)
	defer runPool.Put(bp)
	pp := plainPool.Get().(*[]byte)
	defer plainPool.Put(pp)
	n := 0
	for count > 0 {
		batch := min(count, int64(len(*bp)/CipherSegmentSize))
		start := first * CipherSegmentSize
		end := min(start+batch*CipherSegmentSize, r.payloadSize)
		if start >= end {
			return n, fmt.Errorf("%w: segment %d is past the end of the payload", ErrTruncated, first)
		}
		buf := (*bp)[:end-start]
		if m, err := r.src.ReadAt(buf, start); m < len(buf) {
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return n, fmt.Errorf("%w: payload ends inside segment %d", ErrTruncated, first+int64(m)/CipherSegmentSize)
			}
			return n, err
		}
		for s := int64(0); s < batch; s++ {
			lo := s * CipherSegmentSize
			if lo >= int64(len(buf)) {
				break
			}
			seg := buf[lo:min(lo+CipherSegmentSize, int64(len(buf)))]
			pos := first + s
			if len(seg) < segment.Overhead {
				return n, &segment.TruncatedError{Index: pos, Bytes: len(seg)}
			}
			plainLen := int64(len(seg) - segment.Overhead)
			into := (*pp)[:0]
			direct := skip == 0 && int64(len(dst)-n) >= plainLen
			if direct {
				into = dst[n:n]
			}
			pt, err := r.layout.Open(r.open, into, seg, pos, pos == r.segs-1)
			if err != nil {
				return n, err
			}
			if direct {
				n += len(pt)
			} else if skip >= int64(len(pt)) {
				skip -= int64(len(pt))
				continue
			} else {
				n += copy(dst[n:], pt[skip:])
				skip = 0
			}
			if n == len(dst) && dst != nil {
				return n, nil
			}
		}
		first += batch
		count -= batch
	}
	return n, nil
}

// Read reads plaintext at the current position and advances it.
func (r *ReaderAt) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, err := r.ReadAt(p, r.pos)
	r.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek sets the position for the next Read. io.SeekEnd counts from the
// end of the plaintext.
func (r *ReaderAt) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, errors.New("crypt4gh: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("crypt4gh: seek to a negative position")
	}
	r.pos = abs
	return abs, nil
}
