package htsget

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// BGZF (SAM/BAM specification §4.1) is a series of gzip members, each at most
// 64 KiB compressed and uncompressed, whose gzip header carries a "BC" extra
// subfield holding the member's total size minus one.

const (
	bgzfMaxBlock   = 1 << 16 // upper bound on a block's total and uncompressed size
	bgzfHeaderSize = 18      // fixed header with the usual single BC subfield
)

// bgzfEOF is the empty block that terminates a BGZF file.
var bgzfEOF = []byte{
	0x1f, 0x8b, 0x08, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x06, 0x00,
	0x42, 0x43, 0x02, 0x00, 0x1b, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
}

// errNotBGZF is wrapped when bytes that should start a BGZF block do not.
var errNotBGZF = errors.New("not a BGZF block")

// readAt fills buf from r at off. Unlike a bare ReadAt it treats io.EOF
// together with a full buffer as success, as io.ReaderAt allows either.
func readAt(r io.ReaderAt, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// bgzfBlockSize reads the header of the block at off and returns the block's
// total size. It reads at most 12+XLEN bytes.
func bgzfBlockSize(r io.ReaderAt, off, size int64) (int, error) {
	var fixed [12]byte
	if off+12 > size {
		return 0, fmt.Errorf("%w at offset %d: truncated header", errNotBGZF, off)
	}
	if err := readAt(r, fixed[:], off); err != nil {
		return 0, fmt.Errorf("reading BGZF header at offset %d: %w", off, err)
	}
	if fixed[0] != 0x1f || fixed[1] != 0x8b || fixed[2] != 8 || fixed[3]&4 == 0 {
		return 0, fmt.Errorf("%w at offset %d: no gzip header with extra field", errNotBGZF, off)
	}
	xlen := int64(binary.LittleEndian.Uint16(fixed[10:]))
	if off+12+xlen > size {
		return 0, fmt.Errorf("%w at offset %d: truncated extra field", errNotBGZF, off)
	}
	extra := make([]byte, xlen)
	if err := readAt(r, extra, off+12); err != nil {
		return 0, fmt.Errorf("reading BGZF header at offset %d: %w", off, err)
	}
	for len(extra) >= 4 {
		slen := int(binary.LittleEndian.Uint16(extra[2:]))
		if 4+slen > len(extra) {
			break
		}
		if extra[0] == 'B' && extra[1] == 'C' && slen == 2 {
			bsize := int(binary.LittleEndian.Uint16(extra[4:])) + 1
			// The block must hold its header, an (empty) deflate stream and
			// the 8-byte trailer.
			if bsize < 12+int(xlen)+2+8 {
				return 0, fmt.Errorf("%w at offset %d: block size %d too small", errNotBGZF, off, bsize)
			}
			if off+int64(bsize) > size {
				return 0, fmt.Errorf("%w at offset %d: block of %d bytes runs past the end of the file", errNotBGZF, off, bsize)
			}
			return bsize, nil
		}
		extra = extra[4+slen:]
	}
	return 0, fmt.Errorf("%w at offset %d: no BC subfield", errNotBGZF, off)
}

// bgzfStream inflates a BGZF file block by block from the start, keeping
// everything inflated so far, and remembers where each block ends so that a
// position in the inflated stream can be mapped back to the end of the
// compressed block holding it. It is used to read headers, which is why it
// has a limit rather than streaming.
type bgzfStream struct {
	r     io.ReaderAt
	size  int64
	limit int // most inflated bytes it will hold

	next  int64   // compressed offset of the next block to read
	data  []byte  // inflated bytes so far
	ends  []int64 // compressed end offset of each block read …
	uends []int   // … and the inflated length after it

	buf, out []byte
	inf      io.ReadCloser
}

func newBGZFStream(r io.ReaderAt, size int64, limit int) *bgzfStream {
	return &bgzfStream{
		r: r, size: size, limit: limit,
		buf: make([]byte, bgzfMaxBlock),
		out: make([]byte, bgzfMaxBlock),
		inf: flate.NewReader(bytes.NewReader(nil)),
	}
}

// errHeaderTooLarge is wrapped when a header exceeds the reader's limit.
var errHeaderTooLarge = errors.New("header larger than the supported maximum")

// fill inflates blocks until at least n bytes are available. It returns
// io.ErrUnexpectedEOF if the file ends first.
func (s *bgzfStream) fill(n int) error {
	if n > s.limit {
		return fmt.Errorf("%w (%d bytes)", errHeaderTooLarge, s.limit)
	}
	for len(s.data) < n {
		if s.next >= s.size {
			return io.ErrUnexpectedEOF
		}
		bsize, data, err := inflateBlock(s.r, s.next, s.size, s.buf, s.out, s.inf)
		if err != nil {
			return err
		}
		s.next += int64(bsize)
		s.data = append(s.data, data...)
		s.ends = append(s.ends, s.next)
		s.uends = append(s.uends, len(s.data))
	}
	return nil
}

// blockEndAfter returns the compressed offset just past the block that holds
// inflated byte pos-1, that is the smallest block end whose inflated total
// is ≥ pos. pos must already be filled.
func (s *bgzfStream) blockEndAfter(pos int) int64 {
	for i, u := range s.uends {
		if u >= pos {
			return s.ends[i]
		}
	}
	return s.next
}

// bgzfEOFRange returns where the BGZF EOF block sits in a file, or zeros if
// the file does not end with one.
func bgzfEOFRange(r io.ReaderAt, size int64) ([2]int64, error) {
	n := int64(len(bgzfEOF))
	if size < n {
		return [2]int64{}, nil
	}
	tail := make([]byte, n)
	if err := readAt(r, tail, size-n); err != nil {
		return [2]int64{}, fmt.Errorf("reading the end of the file: %w", err)
	}
	if !bytes.Equal(tail, bgzfEOF) {
		return [2]int64{}, nil
	}
	return [2]int64{size - n, size}, nil
}
