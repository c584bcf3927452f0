package htsget

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// CRAM (CRAM specification v3.1 §§6-9): a 26-byte file definition, a
// container holding the SAM header, data containers, and an EOF container.
// We read only the container and block headers, never the data.

const cramFileDefSize = 26

// cramEOF3 is the EOF container of CRAM 3.x; cramEOF2 that of CRAM 2.1.
var (
	cramEOF3 = []byte{
		0x0f, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xe0, 0x45, 0x4f,
		0x46, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x05, 0xbd, 0xd9, 0x4f, 0x00,
		0x01, 0x00, 0x06, 0x06, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0xee, 0x63,
		0x01, 0x4b,
	}
	cramEOF2 = []byte{
		0x0b, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe0, 0x45, 0x4f,
		0x46, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x06, 0x06,
		0x01, 0x00, 0x01, 0x00, 0x01, 0x00,
	}
)

// errCRAMShort is wrapped when a CRAM structure runs past its bytes.
var errCRAMShort = errors.New("truncated CRAM structure")

// cramReader decodes CRAM's variable-length integers from a byte slice.
type cramReader struct {
	b   []byte
	off int
	err error
}

func (c *cramReader) byte() byte {
	if c.err != nil {
		return 0
	}
	if c.off >= len(c.b) {
		c.err = errCRAMShort
		return 0
	}
	v := c.b[c.off]
	c.off++
	return v
}

func (c *cramReader) uint32() uint32 {
	if c.err != nil {
		return 0
	}
	if c.off+4 > len(c.b) {
		c.err = errCRAMShort
		return 0
	}
	v := binary.LittleEndian.Uint32(c.b[c.off:])
	c.off += 4
	return v
}

// itf8 decodes an ITF-8 integer: the count of leading one bits in the first
// byte (up to four) says how many bytes follow; the five-byte form keeps
// only the low nibble of the last byte.
func (c *cramReader) itf8() int32 {
	b0 := c.byte()
	n := bits.LeadingZeros8(^b0)
	if n >= 4 {
		v := uint32(b0&0x0f) << 28
		v |= uint32(c.byte()) << 20
		v |= uint32(c.byte()) << 12
		v |= uint32(c.byte()) << 4
		v |= uint32(c.byte() & 0x0f)
		return int32(v)
	}
	v := uint32(b0 & (0xff >> (n + 1)))
	for range n {
		v = v<<8 | uint32(c.byte())
	}
	return int32(v)
}

// ltf8 decodes an LTF-8 integer: like ITF-8 with up to eight following bytes.
func (c *cramReader) ltf8() int64 {
	b0 := c.byte()
	n := bits.LeadingZeros8(^b0)
	var v uint64
	if n < 7 {
		v = uint64(b0 & (0xff >> (n + 1)))
	}
	for range n {
		v = v<<8 | uint64(c.byte())
	}
	return int64(v)
}

// cramContainer is the part of a container header we use.
type cramContainer struct {
	headerLen int   // bytes of the container header itself
	length    int64 // bytes of container data after the header
	refID     int32
	nBlocks   int32
}

// maxContainerHeader bounds a container header: a few integers and a
// landmark list, one per slice.
const maxContainerHeader = 1 << 20

// parseCRAMContainer parses the container header at the start of b.
func parseCRAMContainer(b []byte, major byte) (cramContainer, error) {
	c := &cramReader{b: b}
	length := int32(c.uint32())
	ref := c.itf8()
	c.itf8() // alignment start
	c.itf8() // alignment span
	c.itf8() // number of records
	c.ltf8() // record counter
	c.ltf8() // bases
	nBlocks := c.itf8()
	nLandmarks := c.itf8()
	if c.err == nil && (nLandmarks < 0 || int(nLandmarks) > len(b)) {
		return cramContainer{}, fmt.Errorf("%w: container with %d landmarks", ErrBadFile, nLandmarks)
	}
	for i := int32(0); i < nLandmarks && c.err == nil; i++ {
		c.itf8()
	}
	if major >= 3 {
		c.uint32() // CRC32 of the header
	}
	if c.err != nil {
		return cramContainer{}, c.err
	}
	if length < 0 || nBlocks < 0 {
		return cramContainer{}, fmt.Errorf("%w: container header with length %d and %d blocks", ErrBadFile, length, nBlocks)
	}
	return cramContainer{headerLen: c.off, length: int64(length), refID: ref, nBlocks: nBlocks}, nil
}

// readCRAMContainer reads and parses the container header at off.
func readCRAMContainer(r io.ReaderAt, off, size int64, major byte) (cramContainer, error) {
	n := min(size-off, maxContainerHeader)
	if n <= 0 {
		return cramContainer{}, errCRAMShort
	}
	// Container headers are small; read a modest prefix first and only
	// read more for one with a long landmark list.
	buf := make([]byte, min(n, 4096))
	for {
		if err := readAt(r, buf, off); err != nil {
			return cramContainer{}, fmt.Errorf("reading CRAM container at offset %d: %w", off, err)
		}
		c, err := parseCRAMContainer(buf, major)
		if errors.Is(err, errCRAMShort) && int64(len(buf)) < n {
			buf = make([]byte, n)
			continue
		}
		return c, err
	}
}

func inspectCRAM(m *Meta, r io.ReaderAt, size int64) error {
	if size < cramFileDefSize {
		return fmt.Errorf("%w: CRAM file definition is truncated", ErrBadFile)
	}
	var def [cramFileDefSize]byte
	if err := readAt(r, def[:], 0); err != nil {
		return fmt.Errorf("reading CRAM file definition: %w", err)
	}
	if string(def[:4]) != "CRAM" {
		return fmt.Errorf("%w: no CRAM magic number", ErrBadFile)
	}
	major := def[4]
	if major != 2 && major != 3 {
		return fmt.Errorf("%w: CRAM version %d.%d", ErrUnsupportedFormat, major, def[5])
	}
	c, err := readCRAMContainer(r, cramFileDefSize, size, major)
	if err != nil {
		return cramErr(err)
	}
	dataStart := int64(cramFileDefSize) + int64(c.headerLen)
	if c.length > size-dataStart || c.nBlocks < 1 {
		return fmt.Errorf("%w: CRAM header container of %d bytes in a %d-byte file", ErrBadFile, c.length, size)
	}
	m.HeaderEnd = dataStart + c.length
	// The SAM header is the first block; the rest of the container is
	// usually padding left for in-place header edits, which we skip.
	data := make([]byte, min(c.length, maxHeader+64))
	if err := readAt(r, data, dataStart); err != nil {
		return fmt.Errorf("reading CRAM header container: %w", err)
	}
	text, err := cramHeaderText(data)
	if err != nil {
		return cramErr(err)
	}
	if m.References, err = samReferences(text); err != nil {
		return err
	}
	m.EOF = [2]int64{}
	for _, eof := range [][]byte{cramEOF3, cramEOF2} {
		n := int64(len(eof))
		if size-n < m.HeaderEnd {
			continue
		}
		tail := make([]byte, n)
		if err := readAt(r, tail, size-n); err != nil {
			return fmt.Errorf("reading the end of the file: %w", err)
		}
		if bytes.Equal(tail, eof) {
			m.EOF = [2]int64{size - n, size}
			break
		}
	}
	return nil
}

func cramErr(err error) error {
	if errors.Is(err, errCRAMShort) {
		return fmt.Errorf("%w: %v", ErrBadFile, err)
	}
	return err
}

// cramHeaderText extracts the SAM header text from the first block of the
// header container: raw or gzip, as every writer produces.
func cramHeaderText(data []byte) ([]byte, error) {
	c := &cramReader{b: data}
	method := c.byte()
	contentType := c.byte()
	c.itf8() // content id
	csize := c.itf8()
	rsize := c.itf8()
	if c.err != nil {
		return nil, c.err
	}
	if contentType != 0 { // FILE_HEADER
		return nil, fmt.Errorf("%w: CRAM header block has content type %d", ErrBadFile, contentType)
	}
	if csize < 0 || int(csize) > len(data)-c.off || rsize < 4 || rsize > maxHeader {
		return nil, fmt.Errorf("%w: CRAM header block sizes %d/%d", ErrBadFile, csize, rsize)
	}
	payload := data[c.off : c.off+int(csize)]
	var raw []byte
	switch method {
	case 0:
		raw = payload
	case 1:
		zr, err := gzip.NewReader(bytes.NewReader(payload))
		if err != nil {
			return nil, fmt.Errorf("%w: CRAM header block: %v", ErrBadFile, err)
		}
		raw, err = io.ReadAll(io.LimitReader(zr, int64(rsize)+1))
		if err != nil {
			return nil, fmt.Errorf("%w: CRAM header block: %v", ErrBadFile, err)
		}
	default:
		return nil, fmt.Errorf("%w: CRAM header block compressed with method %d", ErrUnsupportedFormat, method)
	}
	if len(raw) != int(rsize) {
		return nil, fmt.Errorf("%w: CRAM header block is %d bytes, not %d", ErrBadFile, len(raw), rsize)
	}
	lText := int64(int32(binary.LittleEndian.Uint32(raw)))
	if lText < 0 || lText > int64(len(raw)-4) {
		return nil, fmt.Errorf("%w: CRAM SAM header length %d", ErrBadFile, lText)
	}
	return raw[4 : 4+lText], nil
}
