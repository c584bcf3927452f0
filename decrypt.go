package crypt4gh

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/segment"
)

// DecryptOptions adjust [DecryptWithOptions] and [DecryptReaderAtWithOptions].
type DecryptOptions struct {
	// Concurrency bounds the goroutines that decrypt segments; 0 uses one
	// per CPU and 1 decrypts on the calling goroutine.
	Concurrency int
	// Header, if set, is used instead of reading a header from src, which
	// then holds the payload alone (a detached header).
	Header *Header
	// Range, if set, limits the output to this range of the visible
	// plaintext. Segments outside it are read past without being decrypted.
	Range *Range
	// Now is the clock for the expiry check (nil: time.Now).
	Now func() time.Time
	// IgnoreExpiry decrypts files whose expiry has passed.
	IgnoreExpiry bool
	// Verifiers must each have a valid signature in the header.
	Verifiers []Verifier
	// MaxSkippedSegments, if positive, rejects an edit list that discards
	// more whole segments than this before its last kept byte.
	MaxSkippedSegments int64
}

// Reader yields the plaintext of a Crypt4GH stream, with the header's edit
// list applied. It is not safe for concurrent use.
type Reader struct {
	header  *Header
	content *HeaderContent
	segs    *segment.Reader
	kept    []span // nil: keep all
	iv      int    // current kept interval
	buf     []byte // undelivered plaintext of the current segment
	bufOff  int64  // payload offset of buf[0]
	err     error
}

// Decrypt reads the header from src, decrypts it with the first identities
// that open a data key, and returns a Reader of the plaintext.
func Decrypt(src io.Reader, ids ...Identity) (*Reader, error) {
	return DecryptWithOptions(src, DecryptOptions{}, ids...)
}

// DecryptWithOptions is [Decrypt] with options.
func DecryptWithOptions(src io.Reader, opts DecryptOptions, ids ...Identity) (*Reader, error) {
	h := opts.Header
	if h == nil {
		var err error
		if h, err = ReadHeader(src); err != nil {
			return nil, err
		}
	}
	c, err := opts.openHeader(h, ids)
	if err != nil {
		return nil, err
	}
	r, err := newReader(src, c, opts)
	if err != nil {
		return nil, err
	}
	r.header = h
	return r, nil
}

// openHeader decrypts h and applies the options' checks: signatures,
// expiry, edit-list limit.
func (o *DecryptOptions) openHeader(h *Header, ids []Identity) (*HeaderContent, error) {
	c, err := h.Decrypt(ids...)
	if err != nil {
		return nil, err
	}
	for _, v := range o.Verifiers {
		if err := h.Verify(c, v); err != nil {
			c.Zero()
			return nil, err
		}
	}
	if err := o.checkContent(c); err != nil {
		c.Zero()
		return nil, err
	}
	return c, nil
}

func (o *DecryptOptions) checkContent(c *HeaderContent) error {
	if !o.IgnoreExpiry {
		now := time.Now
		if o.Now != nil {
			now = o.Now
		}
		if err := c.CheckExpiry(now()); err != nil {
			return err
		}
	}
	if o.MaxSkippedSegments > 0 {
		if n := c.EditList.skippedSegments(); n > o.MaxSkippedSegments {
			return fmt.Errorf("%w: the edit list skips %d segments, more than the limit of %d", ErrEditListLimit, n, o.MaxSkippedSegments)
		}
	}
	return nil
}

// ErrEditListLimit means an edit list discards more segments than the
// reader allows (DecryptOptions.MaxSkippedSegments).
var ErrEditListLimit = errors.New("crypt4gh: edit list over the limit")

// NewReaderFromContent returns a Reader of the payload in src (which holds
// no header) using header content decrypted earlier, for example by a
// server that keeps headers apart from payloads. opts.Header and
// opts.Verifiers are not used (there is no header here to check).
func NewReaderFromContent(payload io.Reader, c *HeaderContent, opts DecryptOptions) (*Reader, error) {
	if err := opts.checkContent(c); err != nil {
		return nil, err
	}
	return newReader(payload, c, opts)
}

func newReader(src io.Reader, c *HeaderContent, opts DecryptOptions) (*Reader, error) {
	open, layout, err := payloadOpener(c)
	if err != nil {
		return nil, err
	}
	el := c.EditList
	if err := el.validate(); err != nil {
		return nil, err
	}
	if opts.Range != nil {
		if el, err = el.Restrict(*opts.Range); err != nil {
			return nil, err
		}
		if el == nil {
			el = EditList{0} // keep all, but still go through the filter
		}
	}
	r := &Reader{content: c}
	var filter segment.Filter
	if el != nil {
		r.kept = el.kept()
		filter = keptFilter(r.kept)
	}
	r.segs = segment.NewReader(src, open, layout, filter, opts.Concurrency)
	return r, nil
}

// Header returns the encrypted header that was read (nil for a Reader made
// from header content).
func (r *Reader) Header() *Header { return r.header }

// HeaderContent returns the decrypted header content. It holds the data
// keys: treat it as secret.
func (r *Reader) HeaderContent() *HeaderContent { return r.content }

// next returns the next piece of visible plaintext, at most max bytes
// (max <= 0: no limit). The slice is valid until the next call.
func (r *Reader) next(limit int) ([]byte, error) {
	for {
		if r.err != nil {
			return nil, r.err
		}
		if len(r.buf) == 0 {
			s, err := r.segs.Next()
			if err != nil {
				r.err = err
				continue
			}
			if s.Skipped {
				continue
			}
			r.buf, r.bufOff = s.Plaintext, s.Pos*SegmentSize
		}
		piece := r.buf
		if r.kept != nil {
			for r.iv < len(r.kept) && !r.kept[r.iv].open() && r.kept[r.iv].end <= r.bufOff {
				r.iv++
			}
			if r.iv == len(r.kept) {
				// Nothing more is shown, but the rest of the payload is
				// still read so that its end is checked (the segment
				// reader decides what that needs: nothing for version 1).
				r.buf, r.err = nil, r.drain()
				continue
			}
			k := r.kept[r.iv]
			if k.start > r.bufOff {
				drop := min(k.start-r.bufOff, int64(len(r.buf)))
				r.buf, r.bufOff = r.buf[drop:], r.bufOff+drop
				continue
			}
			if !k.open() && int64(len(piece)) > k.end-r.bufOff {
				piece = piece[:k.end-r.bufOff]
			}
		}
		if limit > 0 && len(piece) > limit {
			piece = piece[:limit]
		}
		r.buf, r.bufOff = r.buf[len(piece):], r.bufOff+int64(len(piece))
		return piece, nil
	}
}

// drain consumes the remaining segments and returns io.EOF, or the error
// that ends the payload.
func (r *Reader) drain() error {
	for {
		if _, err := r.segs.Next(); err != nil {
			return err
		}
	}
}

// Read reads plaintext. After the last byte it returns io.EOF; a damaged
// file yields an error wrapping ErrAuthentication or ErrTruncated after
// the plaintext of every segment before the damage.
func (r *Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		piece, err := r.next(len(p) - n)
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		n += copy(p[n:], piece)
		if len(r.buf) == 0 && n > 0 {
			break // return what we have rather than wait for the next segment
		}
	}
	return n, nil
}

// WriteTo writes all the plaintext to w without an intermediate copy.
// io.Copy uses it.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		piece, err := r.next(0)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		n, err := w.Write(piece)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// keptFilter tells the segment reader which segments an edit list needs.
// It is read concurrently and never modified.
type keptFilter []span

func (f keptFilter) Want(index int64) bool {
	lo, hi := index*SegmentSize, (index+1)*SegmentSize
	// First interval that ends after lo.
	i := f.search(lo)
	return i < len(f) && f[i].start < hi
}

func (f keptFilter) Done(index int64) bool {
	if len(f) == 0 {
		return true
	}
	last := f[len(f)-1]
	return !last.open() && index*SegmentSize >= last.end
}

// search returns the first interval whose end is after off.
func (f keptFilter) search(off int64) int {
	lo, hi := 0, len(f)
	for lo < hi {
		m := (lo + hi) / 2
		if !f[m].open() && f[m].end <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func errUnsupportedMethod(m uint32) error {
	return fmt.Errorf("%w data encryption method %d", ErrUnsupported, m)
}
