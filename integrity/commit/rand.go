package commit

import (
	"crypto/rand"
	"io"
)

// randomBufferSize is how much crypto/rand output a random source fetches at
// once: enough for 339 HM openings, so the per-call cost of the system
// call (or vDSO entry) disappears, and small enough to stay in cache.
const randomBufferSize = 64 << 10

// NewRandomSource returns a reader of crypto/rand output suited to millions
// of small reads per second, such as one Commit's opening at a time. It
// fetches from crypto/rand in large blocks and zeroes each byte it hands
// out, so the buffer never keeps a copy of an opening. Reads of a whole
// block or more go straight to crypto/rand.
//
// The output is crypto/rand's own (the package comment says what that
// assumes). A source is not safe for
// concurrent use: give each goroutine its own. Read never fails.
func NewRandomSource() io.Reader {
	return &randomSource{buf: make([]byte, randomBufferSize), off: randomBufferSize}
}

type randomSource struct {
	buf []byte
	off int // buf[off:] is unused randomness; buf[:off] is zeroed
}

func (r *randomSource) Read(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if r.off == len(r.buf) {
			if len(p) >= len(r.buf) {
				rand.Read(p)
				break
			}
			rand.Read(r.buf)
			r.off = 0
		}
		k := copy(p, r.buf[r.off:])
		clear(r.buf[r.off : r.off+k])
		r.off += k
		p = p[k:]
	}
	return n, nil
}
