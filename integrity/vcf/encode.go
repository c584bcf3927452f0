package vcf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Version is the version of the canonical record and entry encodings
// described in ENCODING.md. It is the first byte of every encoded record
// and entry.
const Version = 1

// Value kinds in the canonical encoding.
const (
	kindFlag     = 0
	kindInteger  = 1
	kindFloat    = 2
	kindString   = 3
	kindGenotype = 4
)

// Reserved BCF values, shared by the canonical encoding.
const (
	int32Missing   = math.MinInt32
	int32VectorEnd = math.MinInt32 + 1
	// int32MinValue is the smallest integer a VCF value may hold: BCF
	// reserves the eight values above MinInt32.
	int32MinValue  = math.MinInt32 + 8
	floatMissing   = 0x7F800001
	floatVectorEnd = 0x7F800002
	floatNaN       = 0x7FC00000
)

// canonFloat maps a float32 bit pattern to its canonical form: every NaN
// other than the missing marker becomes the quiet NaN 0x7FC00000.
func canonFloat(bits uint32) uint32 {
	if bits == floatMissing {
		return bits
	}
	if bits&0x7F800000 == 0x7F800000 && bits&0x007FFFFF != 0 {
		return floatNaN
	}
	return bits
}

// textFloat parses a VCF float the way htslib does (strtod to a double,
// then a cast to float), so that a text record and the BCF htslib writes
// for it encode the same bits. "." is the missing value.
func textFloat(s string) (uint32, error) {
	if s == "." {
		return floatMissing, nil
	}
	f, err := parseFloat64(s)
	if err != nil {
		return 0, err
	}
	return canonFloat(math.Float32bits(float32(f))), nil
}

// textInt parses a VCF integer; "." is the missing value.
func textInt(s string) (int32, error) {
	if s == "." {
		return int32Missing, nil
	}
	v, err := parseInt64(s)
	if err != nil || v < int32MinValue || v > math.MaxInt32 {
		return 0, fmt.Errorf("%q is not a 32-bit integer outside BCF's reserved range", s)
	}
	return int32(v), nil
}

// encoder appends the canonical encoding of one record. Text and BCF
// readers call the same methods in the same order, which is what makes
// their output identical.
type encoder struct{ b []byte }

func (e *encoder) u8(v byte)    { e.b = append(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) str(s []byte) {
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) begin(chrom []byte, pos int64) {
	e.b = e.b[:0]
	e.u8(Version)
	e.str(chrom)
	e.u64(uint64(pos))
}

func (e *encoder) flag() { e.u8(kindFlag); e.u32(0) }

func (e *encoder) ints(kind byte, v []int32) {
	e.u8(kind)
	e.u32(uint32(len(v)))
	for _, x := range v {
		e.u32(uint32(x))
	}
}

func (e *encoder) floats(v []uint32) {
	e.u8(kindFloat)
	e.u32(uint32(len(v)))
	for _, x := range v {
		e.u32(x)
	}
}

func (e *encoder) stringValue(s []byte) { e.u8(kindString); e.str(s) }

// Entry returns the table entry G[i] for a position whose canonical
// records (in file order) are records. No records means no variant: the
// entry is empty. Otherwise it is Version, a 32-bit big-endian count, and
// each record prefixed with its 32-bit big-endian length.
func Entry(records [][]byte) []byte {
	if len(records) == 0 {
		return nil
	}
	n := 5
	for _, r := range records {
		n += 4 + len(r)
	}
	e := encoder{b: make([]byte, 0, n)}
	e.u8(Version)
	e.u32(uint32(len(records)))
	for _, r := range records {
		e.str(r)
	}
	return e.b
}

// ErrEntry reports a malformed table entry.
var ErrEntry = errors.New("vcf: malformed entry")

// SplitEntry returns the canonical records an entry holds (none for the
// empty entry). The records alias entry.
func SplitEntry(entry []byte) ([][]byte, error) {
	if len(entry) == 0 {
		return nil, nil
	}
	if len(entry) < 5 || entry[0] != Version {
		return nil, fmt.Errorf("%w: bad version or header", ErrEntry)
	}
	n := binary.BigEndian.Uint32(entry[1:])
	rest := entry[5:]
	if n == 0 || uint64(n) > uint64(len(rest))/4 {
		return nil, fmt.Errorf("%w: record count %d does not fit", ErrEntry, n)
	}
	out := make([][]byte, 0, n)
	for i := uint32(0); i < n; i++ {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: truncated", ErrEntry)
		}
		l := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(l) > uint64(len(rest)) {
			return nil, fmt.Errorf("%w: record %d overruns the entry", ErrEntry, i)
		}
		out = append(out, rest[:l:l])
		rest = rest[l:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: trailing bytes", ErrEntry)
	}
	return out, nil
}
