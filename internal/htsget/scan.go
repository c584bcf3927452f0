package htsget

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"sync"
)

// Scan reads a whole BGZF-compressed plaintext file (BAM, VCF or BCF) once,
// checks that every block is sound and that the records parse end to end,
// and sets m.Joined to the runs of blocks that records straddle. Call it at
// ingest, after [Inspect]; it is the only step that reads the whole file.
//
// Without it the planner assumes the layout htslib writes, where a record
// crosses a block boundary only if it is larger than a block. Files
// compressed by other tools (plain bgzip of a VCF) or holding records over
// 64 KiB (long reads) break that assumption; with m.Joined the planner
// widens its ranges so such records are never cut. For CRAM, whose
// containers are self-contained, Scan does nothing.
func Scan(m *Meta, r io.ReaderAt) error {
	var rec recordCursor
	switch m.Format {
	case CRAM:
		m.Joined = nil
		return nil
	case BAM:
		rec = recordCursor{prefix: 4, length: func(p []byte) int64 { return int64(binary.LittleEndian.Uint32(p)) }}
	case BCF:
		rec = recordCursor{prefix: 8, length: func(p []byte) int64 {
			return int64(binary.LittleEndian.Uint32(p)) + int64(binary.LittleEndian.Uint32(p[4:]))
		}}
	case VCF:
		rec = recordCursor{lines: true}
	default:
		return fmt.Errorf("%w: file format %q", ErrUnsupportedFormat, m.Format)
	}
	hdr, err := headerLength(*m, r)
	if err != nil {
		return err
	}
	rec.remaining = hdr

	dataEnd := m.FileSize
	if m.EOF != [2]int64{} {
		dataEnd = m.EOF[0]
	}
	var (
		joined  []Range
		runFrom int64 = -1 // start of the current run of joined blocks
		blocks        = newBlockBatch(r, dataEnd)
	)
	for {
		off, bsize, data, err := blocks.nextBlock()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrBadFile, err)
		}
		if err := rec.consume(data); err != nil {
			return fmt.Errorf("%w: block at offset %d: %v", ErrBadFile, off, err)
		}
		end := off + int64(bsize)
		switch {
		case !rec.atBoundary() && runFrom < 0:
			runFrom = off
		case rec.atBoundary() && runFrom >= 0:
			joined = append(joined, Range{runFrom, end})
			runFrom = -1
		}
	}
	if runFrom >= 0 || !rec.atBoundary() {
		return fmt.Errorf("%w: the last record is truncated", ErrBadFile)
	}
	m.Joined = joined
	return nil
}

// headerLength returns the inflated length of the header, which Inspect
// found but Meta does not keep.
func headerLength(m Meta, r io.ReaderAt) (int64, error) {
	s := newBGZFStream(r, m.FileSize, maxHeader)
	var end int
	var err error
	switch m.Format {
	case BAM:
		_, end, err = readBAMHeader(s)
	case BCF:
		_, end, err = readBCFHeader(s)
	}
	// VCF is lines throughout, the header included: nothing to skip.
	return int64(end), err
}

// recordCursor follows record boundaries through a stream of inflated
// blocks: length-prefixed binary records, or text lines.
type recordCursor struct {
	lines     bool
	prefix    int                  // bytes of the length prefix
	length    func(p []byte) int64 // body length from a full prefix
	remaining int64                // body bytes still to skip
	pending   [8]byte              // a prefix split across blocks
	npending  int                  //
	midLine   bool                 // VCF: the last byte seen was not '\n'
}

func (c *recordCursor) consume(d []byte) error {
	if c.lines {
		// A header length of 0 is all VCF has; text needs no skipping.
		if len(d) > 0 {
			c.midLine = d[len(d)-1] != '\n'
		}
		return nil
	}
	for len(d) > 0 {
		if c.remaining > 0 {
			n := min(c.remaining, int64(len(d)))
			c.remaining -= n
			d = d[n:]
			continue
		}
		n := copy(c.pending[c.npending:c.prefix], d)
		c.npending += n
		d = d[n:]
		if c.npending == c.prefix {
			l := c.length(c.pending[:c.prefix])
			if l <= 0 || l >= 1<<32 {
				return errors.New("bad record length")
			}
			c.remaining, c.npending = l, 0
		}
	}
	return nil
}

func (c *recordCursor) atBoundary() bool {
	if c.lines {
		return !c.midLine
	}
	return c.remaining == 0 && c.npending == 0
}

// inflateBlock reads and inflates the BGZF block at off into out, using
// buf for the compressed bytes and inf (a flate reader) to inflate, and
// returns the block's total size and its contents.
func inflateBlock(r io.ReaderAt, off, size int64, buf, out []byte, inf io.ReadCloser) (int, []byte, error) {
	raw, err := readBlock(r, off, size, buf)
	if err != nil {
		return 0, nil, err
	}
	data, err := inflateRaw(off, raw, out, inf)
	return len(raw), data, err
}

// readBlock reads the whole BGZF block at off into buf.
func readBlock(r io.ReaderAt, off, size int64, buf []byte) ([]byte, error) {
	bsize, err := bgzfBlockSize(r, off, size)
	if err != nil {
		return nil, err
	}
	b := buf[:bsize]
	if err := readAt(r, b, off); err != nil {
		return nil, fmt.Errorf("reading BGZF block at offset %d: %w", off, err)
	}
	return b, nil
}

// inflateRaw inflates a block read by readBlock and checks its CRC.
func inflateRaw(off int64, b, out []byte, inf io.ReadCloser) ([]byte, error) {
	bsize := len(b)
	xlen := int(binary.LittleEndian.Uint16(b[10:]))
	isize := binary.LittleEndian.Uint32(b[bsize-4:])
	if isize > bgzfMaxBlock {
		return nil, fmt.Errorf("%w at offset %d: uncompressed size %d over 64 KiB", errNotBGZF, off, isize)
	}
	if err := inf.(flate.Resetter).Reset(bytes.NewReader(b[12+xlen:bsize-8]), nil); err != nil {
		return nil, err
	}
	data := out[:isize]
	if _, err := io.ReadFull(inf, data); err != nil {
		return nil, fmt.Errorf("%w at offset %d: inflating: %v", errNotBGZF, off, err)
	}
	var one [1]byte
	if n, _ := inf.Read(one[:]); n != 0 {
		return nil, fmt.Errorf("%w at offset %d: more data than ISIZE says", errNotBGZF, off)
	}
	if crc32.ChecksumIEEE(data) != binary.LittleEndian.Uint32(b[bsize-8:]) {
		return nil, fmt.Errorf("%w at offset %d: CRC mismatch", errNotBGZF, off)
	}
	return data, nil
}

// blockBatch inflates BGZF blocks a batch at a time, the blocks of a batch
// in parallel, and hands them out in file order. Memory stays at two
// 64 KiB buffers per batch slot.
type blockBatch struct {
	r       io.ReaderAt
	end     int64 // stop before this offset
	next    int64
	slots   []batchSlot
	infs    []io.ReadCloser
	n, read int // slots filled, slots handed out
}

type batchSlot struct {
	off       int64
	buf, out  []byte
	raw, data []byte
	err       error
}

func newBlockBatch(r io.ReaderAt, end int64) *blockBatch {
	workers := max(1, min(runtime.GOMAXPROCS(0), 16))
	b := &blockBatch{r: r, end: end, slots: make([]batchSlot, 16*workers)}
	for range workers {
		b.infs = append(b.infs, flate.NewReader(bytes.NewReader(nil)))
	}
	return b
}

// nextBlock returns the next block's offset, total size and contents, or
// io.EOF after the last block before end.
func (b *blockBatch) nextBlock() (int64, int, []byte, error) {
	if b.read == b.n {
		if err := b.fill(); err != nil {
			return 0, 0, nil, err
		}
	}
	s := &b.slots[b.read]
	b.read++
	return s.off, len(s.raw), s.data, s.err
}

func (b *blockBatch) fill() error {
	if b.next >= b.end {
		return io.EOF
	}
	b.n, b.read = 0, 0
	// Reading is sequential and cheap; inflating is the cost.
	for b.n < len(b.slots) && b.next < b.end {
		s := &b.slots[b.n]
		if s.buf == nil { // allocated on first use: small files need few
			s.buf, s.out = make([]byte, bgzfMaxBlock), make([]byte, bgzfMaxBlock)
		}
		s.off, s.data, s.err = b.next, nil, nil
		raw, err := readBlock(b.r, b.next, b.end, s.buf)
		if err != nil {
			s.raw, s.err = nil, err
			b.n++
			b.next = b.end // nothing after a bad block can be trusted
			break
		}
		s.raw = raw
		b.next += int64(len(raw))
		b.n++
	}
	if b.n == 1 { // not worth a goroutine
		s := &b.slots[0]
		if s.err == nil {
			s.data, s.err = inflateRaw(s.off, s.raw, s.out, b.infs[0])
		}
		return nil
	}
	var wg sync.WaitGroup
	for w, inf := range b.infs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.n; i += len(b.infs) {
				s := &b.slots[i]
				if s.err == nil {
					s.data, s.err = inflateRaw(s.off, s.raw, s.out, inf)
				}
			}
		}()
	}
	wg.Wait()
	return nil
}
