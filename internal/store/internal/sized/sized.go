// Package sized enforces the ObjectStore.Put rule that the reader yields
// exactly the announced number of bytes, and lets a cancelled context stop
// an upload between reads.
package sized

import (
	"context"
	"errors"
	"fmt"
	"io"
)

var (
	// ErrShort: the source ended before the announced size.
	ErrShort = errors.New("source shorter than the announced size")
	// ErrLong: the source has bytes beyond the announced size.
	ErrLong = errors.New("source longer than the announced size")
)

// Reader yields exactly size bytes of r, or fails.
//
// It withholds the final chunk until it has checked that r has nothing
// more to give, so an uploader that sends a Content-Length and stops
// reading at size bytes still sees the error before the last byte, and
// aborts instead of committing an object cut from an over-long stream.
type Reader struct {
	ctx    context.Context
	r      io.Reader
	left   int64
	probed bool  // r was found exhausted after the last byte
	err    error // sticky
}

// NewReader returns a Reader over r that expects size bytes and checks ctx
// before every read.
func NewReader(ctx context.Context, r io.Reader, size int64) *Reader {
	return &Reader{ctx: ctx, r: r, left: size}
}

func (s *Reader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	if s.left == 0 {
		// Size 0, or a caller reading on after the final chunk.
		if err := s.finish(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.r.Read(p)
	s.left -= int64(n)
	switch {
	case s.left == 0:
		if err := s.finish(); err != nil {
			return 0, err
		}
		return n, nil
	case errors.Is(err, io.EOF):
		s.err = fmt.Errorf("%w (%d bytes missing)", ErrShort, s.left)
		return n, s.err
	case err != nil:
		s.err = err
		return n, err
	}
	return n, nil
}

// Err returns the error Read returned, if any, other than io.EOF: the
// source's own failure (short, long, read error or cancelled context), as
// opposed to a failure of whoever was reading.
func (s *Reader) Err() error {
	if s.err == io.EOF {
		return nil
	}
	return s.err
}

// Finish returns nil if exactly size bytes were read and the source is
// exhausted. For size 0 it performs that check itself, since an uploader
// may never call Read for an empty body; callers run it before committing.
func (s *Reader) Finish() error {
	if s.err != nil && s.err != io.EOF {
		return s.err
	}
	if s.left != 0 {
		return fmt.Errorf("%w (%d bytes not read)", ErrShort, s.left)
	}
	return s.finish()
}

func (s *Reader) finish() error {
	if s.probed {
		return nil
	}
	if err := s.probeEnd(); err != nil {
		s.err = err
		return err
	}
	s.probed = true
	return nil
}

// probeEnd reports an error unless the source is exhausted.
func (s *Reader) probeEnd() error {
	var one [1]byte
	// A reader may return (0, nil) a bounded number of times; io.Reader
	// discourages it but does not forbid it.
	for range 100 {
		n, err := s.r.Read(one[:])
		if n > 0 {
			return ErrLong
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}
