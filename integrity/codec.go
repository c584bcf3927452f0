package integrity

import (
	"encoding/binary"
	"fmt"
)

// The binary formats (evidence, proofs) are built from big-endian
// integers and byte strings with a u32 length prefix. Every length is
// checked against a per-field cap and against the bytes left in the input
// before anything is allocated, so a hostile length costs nothing.

type encoder struct{ b []byte }

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) raw(p []byte) { e.b = append(e.b, p...) }
func (e *encoder) bytes(p []byte) {
	e.u32(uint32(len(p)))
	e.b = append(e.b, p...)
}
func (e *encoder) str(s string) {
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
}

// decoder reads the formats back. The first failure sticks: later reads
// return zero values, and err names the field that failed.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(field, format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s: %s", ErrMalformedProof, field, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) take(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail(field, "needs %d bytes, %d left", n, len(d.b))
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) u8(field string) uint8 {
	p := d.take(field, 1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (d *decoder) u16(field string) uint16 {
	p := d.take(field, 2)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint16(p)
}

func (d *decoder) u32(field string) uint32 {
	p := d.take(field, 4)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func (d *decoder) u64(field string) uint64 {
	p := d.take(field, 8)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint64(p)
}

// bytes reads a length-prefixed string of at most max bytes. The result
// aliases the input.
func (d *decoder) bytes(field string, max int) []byte {
	n := d.u32(field + " length")
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(max) {
		d.fail(field, "%d bytes is more than the limit of %d", n, max)
		return nil
	}
	return d.take(field, int(n))
}

func (d *decoder) str(field string, max int) string { return string(d.bytes(field, max)) }

// count reads a u32 element count, refusing more than max or more than
// the input could hold at minSize bytes an element.
func (d *decoder) count(field string, max, minSize int) int {
	n := d.u32(field + " count")
	if d.err != nil {
		return 0
	}
	if uint64(n) > uint64(max) {
		d.fail(field, "%d elements is more than the limit of %d", n, max)
		return 0
	}
	if minSize > 0 && uint64(n)*uint64(minSize) > uint64(len(d.b)) {
		d.fail(field, "%d elements cannot fit in the %d bytes left", n, len(d.b))
		return 0
	}
	return int(n)
}

// end fails unless the input is used up: trailing bytes would make the
// encoding malleable.
func (d *decoder) end(what string) {
	if d.err == nil && len(d.b) != 0 {
		d.fail(what, "%d trailing bytes", len(d.b))
	}
}
