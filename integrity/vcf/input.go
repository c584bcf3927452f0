package vcf

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// decompress returns a buffered reader over the decompressed content of r
// when r is gzip (BGZF is a series of gzip members), or over r itself.
func decompress(r io.Reader) (*bufio.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(2)
	if err != nil && len(magic) < 2 {
		if err == io.EOF {
			return br, nil // too short to be gzip; the caller reports it
		}
		return nil, err
	}
	if magic[0] != 0x1f || magic[1] != 0x8b {
		return br, nil
	}
	z, err := gzip.NewReader(br)
	if err != nil {
		return nil, gzipErr(err)
	}
	z.Multistream(false)
	m := &members{src: br, z: z, bgzf: isBGZF(z.Header.Extra)}
	return bufio.NewReaderSize(m, 64<<10), nil
}

// isBGZF reports whether a gzip extra field carries the BGZF "BC"
// subfield.
func isBGZF(extra []byte) bool {
	for len(extra) >= 4 {
		si1, si2 := extra[0], extra[1]
		n := int(extra[2]) | int(extra[3])<<8
		if si1 == 'B' && si2 == 'C' && n == 2 {
			return true
		}
		if 4+n > len(extra) {
			return false
		}
		extra = extra[4+n:]
	}
	return false
}

// members reads a multi-member gzip stream one member at a time, so that
// it can tell a BGZF file that ends with its empty end-of-file block from
// one cut at a block boundary.
type members struct {
	src       *bufio.Reader
	z         *gzip.Reader
	bgzf      bool
	lastBytes int64 // bytes produced by the current member
	err       error
}

func (m *members) Read(p []byte) (int, error) {
	if m.err != nil {
		return 0, m.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := m.z.Read(p)
		m.lastBytes += int64(n)
		if err == nil || (err == io.EOF && n > 0) {
			if err == io.EOF {
				err = m.nextMember()
				if err == io.EOF {
					m.err = err
				} else if err != nil {
					m.err = err
					return n, nil
				}
			}
			return n, nil
		}
		if err != io.EOF {
			m.err = gzipErr(err)
			return 0, m.err
		}
		if err := m.nextMember(); err != nil {
			m.err = err
			return 0, err
		}
	}
}

// nextMember moves to the next gzip member. It returns io.EOF at a proper
// end of stream.
func (m *members) nextMember() error {
	emptyLast := m.lastBytes == 0
	if _, err := m.src.Peek(1); err == io.EOF {
		if m.bgzf && !emptyLast {
			return fmt.Errorf("%w: BGZF stream lacks its end-of-file block", ErrTruncated)
		}
		return io.EOF
	}
	if err := m.z.Reset(m.src); err != nil {
		return gzipErr(err)
	}
	m.z.Multistream(false)
	m.lastBytes = 0
	return nil
}

func gzipErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: compressed stream ends early", ErrTruncated)
	}
	return fmt.Errorf("%w: corrupt gzip data: %v", ErrFormat, err)
}
