package vcf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// BCF typed-value types (BCF 2.2, section 6.3.3).
const (
	bcfNull  = 0
	bcfInt8  = 1
	bcfInt16 = 2
	bcfInt32 = 3
	bcfFloat = 5
	bcfChar  = 7
)

type bcfSource struct {
	br     *bufio.Reader
	hdr    *Header
	opts   Options
	n      int64
	shared []byte
	indiv  []byte
}

func openBCF(br *bufio.Reader, opts Options) (*bcfSource, error) {
	var fixed [9]byte
	if _, err := io.ReadFull(br, fixed[:]); err != nil {
		return nil, fmt.Errorf("%w: BCF header: %v", ErrTruncated, err)
	}
	if fixed[3] != 2 || (fixed[4] != 1 && fixed[4] != 2) {
		return nil, fmt.Errorf("%w: BCF version %d.%d is not 2.1 or 2.2", ErrFormat, fixed[3], fixed[4])
	}
	lText := binary.LittleEndian.Uint32(fixed[5:])
	if uint64(lText) > uint64(opts.MaxHeaderSize) {
		return nil, fmt.Errorf("%w: BCF header is %d bytes, limit %d", ErrTooLarge, lText, opts.MaxHeaderSize)
	}
	// ReadAll grows with the data actually present, so a header length
	// that lies does not allocate up front.
	text, err := io.ReadAll(io.LimitReader(br, int64(lText)))
	if err != nil {
		return nil, fmt.Errorf("%w: BCF header: %v", ErrTruncated, err)
	}
	if len(text) != int(lText) {
		return nil, fmt.Errorf("%w: BCF header text ends after %d of %d bytes", ErrTruncated, len(text), lText)
	}
	text = bytes.TrimRight(text, "\x00")
	p := newHeaderParser(opts, true)
	for i, l := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
		if err := p.line(strings.TrimSuffix(l, "\r"), int64(i+1)); err != nil {
			return nil, err
		}
	}
	hdr, err := p.finish(opts.FAI)
	if err != nil {
		return nil, err
	}
	return &bcfSource{br: br, hdr: hdr, opts: opts}, nil
}

func (b *bcfSource) next(e *encoder) (int, int64, string, error) {
	var lens [8]byte
	n, err := io.ReadFull(b.br, lens[:])
	if err == io.EOF {
		return 0, 0, "", io.EOF
	}
	b.n++
	where := "record " + strconv.FormatInt(b.n, 10)
	if err != nil {
		return 0, 0, "", fmt.Errorf("%w: %s: length prefix cut after %d bytes (%v)", ErrTruncated, where, n, err)
	}
	lShared := binary.LittleEndian.Uint32(lens[:])
	lIndiv := binary.LittleEndian.Uint32(lens[4:])
	if uint64(lShared)+uint64(lIndiv) > uint64(b.opts.MaxRecordSize) {
		return 0, 0, "", fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, where, uint64(lShared)+uint64(lIndiv), b.opts.MaxRecordSize)
	}
	if lShared < 24 {
		return 0, 0, "", fmt.Errorf("%w: %s: shared part of %d bytes is shorter than its fixed fields", ErrRecord, where, lShared)
	}
	b.shared = grow(b.shared, int(lShared))
	b.indiv = grow(b.indiv, int(lIndiv))
	if _, err := io.ReadFull(b.br, b.shared); err != nil {
		return 0, 0, "", fmt.Errorf("%w: %s: %v", ErrTruncated, where, err)
	}
	if _, err := io.ReadFull(b.br, b.indiv); err != nil {
		return 0, 0, "", fmt.Errorf("%w: %s: %v", ErrTruncated, where, err)
	}
	contig, pos, err := b.encode(e)
	if err != nil {
		return 0, 0, "", fmt.Errorf("%w: %s: %v", ErrRecord, where, err)
	}
	return contig, pos, where, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// decoder reads BCF typed values from one part of a record.
type decoder struct{ b []byte }

var errShort = errors.New("record ends inside a value")

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.b) {
		return nil, errShort
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v, nil
}

func typeSize(t byte) (int, error) {
	switch t {
	case bcfNull:
		return 0, nil
	case bcfInt8, bcfChar:
		return 1, nil
	case bcfInt16:
		return 2, nil
	case bcfInt32, bcfFloat:
		return 4, nil
	}
	return 0, fmt.Errorf("unknown BCF value type %d", t)
}

// desc reads a type descriptor: the value type and the element count.
func (d *decoder) desc() (byte, int, error) {
	h, err := d.take(1)
	if err != nil {
		return 0, 0, err
	}
	t, n := h[0]&0x0F, int(h[0]>>4)
	if _, err := typeSize(t); err != nil {
		return 0, 0, err
	}
	if n == 15 {
		v, err := d.typedInt()
		if err != nil {
			return 0, 0, err
		}
		if v < 15 || v > int64(len(d.b)) {
			return 0, 0, fmt.Errorf("vector length %d is impossible here", v)
		}
		n = int(v)
	}
	return t, n, nil
}

// typedInt reads a typed scalar integer (keys, lengths).
func (d *decoder) typedInt() (int64, error) {
	t, n, err := d.desc()
	if err != nil {
		return 0, err
	}
	if n != 1 || (t != bcfInt8 && t != bcfInt16 && t != bcfInt32) {
		return 0, errors.New("expected a typed integer")
	}
	v, _, err := d.int(t)
	return int64(v), err
}

// int reads one integer of type t, reporting missing and vector-end as
// the int32 sentinels.
func (d *decoder) int(t byte) (int32, bool, error) {
	switch t {
	case bcfInt8:
		b, err := d.take(1)
		if err != nil {
			return 0, false, err
		}
		switch v := int8(b[0]); v {
		case -128:
			return int32Missing, false, nil
		case -127:
			return int32VectorEnd, true, nil
		default:
			return int32(v), false, nil
		}
	case bcfInt16:
		b, err := d.take(2)
		if err != nil {
			return 0, false, err
		}
		switch v := int16(binary.LittleEndian.Uint16(b)); v {
		case -32768:
			return int32Missing, false, nil
		case -32767:
			return int32VectorEnd, true, nil
		default:
			return int32(v), false, nil
		}
	case bcfInt32:
		b, err := d.take(4)
		if err != nil {
			return 0, false, err
		}
		v := int32(binary.LittleEndian.Uint32(b))
		return v, v == int32VectorEnd, nil
	}
	return 0, false, fmt.Errorf("BCF type %d is not an integer", t)
}

// ints reads n integers of type t, dropping vector-end padding.
func (d *decoder) ints(t byte, n int) ([]int32, error) {
	out := make([]int32, 0, n)
	ended := false
	for i := 0; i < n; i++ {
		v, end, err := d.int(t)
		if err != nil {
			return nil, err
		}
		ended = ended || end
		if !ended {
			out = append(out, v)
		}
	}
	return out, nil
}

// floats reads n floats, dropping vector-end padding.
func (d *decoder) floats(n int) ([]uint32, error) {
	raw, err := d.take(4 * n)
	if err != nil {
		return nil, err
	}
	out := make([]uint32, 0, n)
	for i := 0; i < n; i++ {
		v := binary.LittleEndian.Uint32(raw[4*i:])
		if v == floatVectorEnd {
			break
		}
		out = append(out, canonFloat(v))
	}
	return out, nil
}

// chars reads n bytes of a string, dropping NUL padding.
func (d *decoder) chars(n int) ([]byte, error) {
	raw, err := d.take(n)
	if err != nil {
		return nil, err
	}
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		raw = raw[:i]
	}
	return raw, nil
}

// str reads a typed string (ID, alleles).
func (d *decoder) str() ([]byte, error) {
	t, n, err := d.desc()
	if err != nil {
		return nil, err
	}
	if t != bcfChar && !(t == bcfNull && n == 0) {
		return nil, fmt.Errorf("expected a string, got BCF type %d", t)
	}
	return d.chars(n)
}

func (b *bcfSource) dictName(v int64, what string) (string, error) {
	name, ok := b.hdr.dict[int(v)]
	if !ok || v < 0 {
		return "", fmt.Errorf("%s key %d is not in the header dictionary", what, v)
	}
	return name, nil
}

func (b *bcfSource) encode(e *encoder) (int, int64, error) {
	s := b.shared
	chrom := int32(binary.LittleEndian.Uint32(s[0:]))
	pos0 := int32(binary.LittleEndian.Uint32(s[4:]))
	qual := binary.LittleEndian.Uint32(s[12:])
	nInfo := int(binary.LittleEndian.Uint16(s[16:]))
	nAllele := int(binary.LittleEndian.Uint16(s[18:]))
	nfs := binary.LittleEndian.Uint32(s[20:])
	nSample, nFmt := int(nfs&0xFFFFFF), int(nfs>>24)

	contig, ok := b.hdr.contigDict[int(chrom)]
	if !ok || chrom < 0 {
		return 0, 0, fmt.Errorf("CHROM %d is not in the header's contig dictionary", chrom)
	}
	if pos0 < 0 {
		return 0, 0, fmt.Errorf("POS %d is not a positive position", int64(pos0)+1)
	}
	pos := int64(pos0) + 1
	if nSample != len(b.hdr.samples) {
		return 0, 0, fmt.Errorf("record has %d samples, header %d", nSample, len(b.hdr.samples))
	}
	e.begin([]byte(b.hdr.contigs[contig].Name), pos)

	d := &decoder{b: s[24:]}
	id, err := d.str()
	if err != nil {
		return 0, 0, fmt.Errorf("ID: %v", err)
	}
	if string(id) == "." {
		id = nil
	}
	e.str(id)

	if nAllele == 0 {
		return 0, 0, errors.New("record has no REF allele")
	}
	alleles := make([][]byte, nAllele)
	for i := range alleles {
		if alleles[i], err = d.str(); err != nil {
			return 0, 0, fmt.Errorf("allele %d: %v", i, err)
		}
		if len(alleles[i]) == 0 {
			return 0, 0, fmt.Errorf("allele %d is empty", i)
		}
	}
	if nAllele == 2 && string(alleles[1]) == "." {
		alleles = alleles[:1] // ALT "." means no ALT allele, as in text
	}
	if string(alleles[0]) == "." {
		return 0, 0, errors.New("REF is empty")
	}
	e.u32(uint32(len(alleles)))
	for _, a := range alleles {
		e.str(a)
	}
	e.u32(canonFloat(qual))

	t, n, err := d.desc()
	if err != nil {
		return 0, 0, fmt.Errorf("FILTER: %v", err)
	}
	var filters []int32
	if n > 0 {
		if filters, err = d.ints(t, n); err != nil {
			return 0, 0, fmt.Errorf("FILTER: %v", err)
		}
	}
	e.u32(uint32(len(filters)))
	for _, f := range filters {
		name, err := b.dictName(int64(f), "FILTER")
		if err != nil {
			return 0, 0, err
		}
		e.str([]byte(name))
	}

	e.u32(uint32(nInfo))
	var seen dupCheck
	for i := 0; i < nInfo; i++ {
		k, err := d.typedInt()
		if err != nil {
			return 0, 0, fmt.Errorf("INFO %d key: %v", i, err)
		}
		key, err := b.dictName(k, "INFO")
		if err != nil {
			return 0, 0, err
		}
		if seen.add(key) {
			return 0, 0, fmt.Errorf("INFO %s appears twice", key)
		}
		e.str([]byte(key))
		typ, declared := b.hdr.info[key]
		if !declared {
			typ = String
		}
		if err := b.value(e, d, typ); err != nil {
			return 0, 0, fmt.Errorf("INFO %s: %v", key, err)
		}
	}
	if len(d.b) != 0 {
		return 0, 0, fmt.Errorf("%d stray bytes after the INFO fields", len(d.b))
	}

	e.u32(uint32(nFmt))
	e.u32(uint32(nSample))
	d = &decoder{b: b.indiv}
	var fmtSeen []string
	for i := 0; i < nFmt; i++ {
		k, err := d.typedInt()
		if err != nil {
			return 0, 0, fmt.Errorf("FORMAT %d key: %v", i, err)
		}
		key, err := b.dictName(k, "FORMAT")
		if err != nil {
			return 0, 0, err
		}
		for _, prev := range fmtSeen {
			if prev == key {
				return 0, 0, fmt.Errorf("FORMAT %s appears twice", key)
			}
		}
		fmtSeen = append(fmtSeen, key)
		e.str([]byte(key))
		t, n, err := d.desc()
		if err != nil {
			return 0, 0, fmt.Errorf("FORMAT %s: %v", key, err)
		}
		size, _ := typeSize(t)
		if uint64(size)*uint64(n)*uint64(nSample) > uint64(len(d.b)) {
			return 0, 0, fmt.Errorf("FORMAT %s: %v", key, errShort)
		}
		for s := 0; s < nSample; s++ {
			if err := b.sampleValue(e, d, key, t, n); err != nil {
				return 0, 0, fmt.Errorf("sample %s FORMAT %s: %v", b.hdr.samples[s], key, err)
			}
		}
	}
	if len(d.b) != 0 {
		return 0, 0, fmt.Errorf("%d stray bytes after the FORMAT fields", len(d.b))
	}
	return contig, pos, nil
}

// value encodes one INFO value whose descriptor is next in d.
func (b *bcfSource) value(e *encoder, d *decoder, typ Type) error {
	t, n, err := d.desc()
	if err != nil {
		return err
	}
	if typ == Flag {
		// Only presence matters; skip whatever the writer stored.
		size, _ := typeSize(t)
		if _, err := d.take(size * n); err != nil {
			return err
		}
		e.flag()
		return nil
	}
	return encodeTyped(e, d, typ, t, n)
}

// sampleValue encodes one sample's value of a FORMAT field.
func (b *bcfSource) sampleValue(e *encoder, d *decoder, key string, t byte, n int) error {
	if key == "GT" {
		if t != bcfInt8 && t != bcfInt16 && t != bcfInt32 {
			return fmt.Errorf("GT stored as BCF type %d", t)
		}
		gt, err := d.ints(t, n)
		if err != nil {
			return err
		}
		e.ints(kindGenotype, canonGT(gt))
		return nil
	}
	typ := b.hdr.format[key]
	if typ == String && (t == bcfChar || (t == bcfNull && n == 0)) {
		s, err := d.chars(n)
		if err != nil {
			return err
		}
		if len(s) == 0 {
			s = []byte(".") // text writes an empty sample field as "."
		}
		e.stringValue(s)
		return nil
	}
	return encodeTyped(e, d, typ, t, n)
}

// encodeTyped encodes n values of BCF type t as the header type typ.
func encodeTyped(e *encoder, d *decoder, typ Type, t byte, n int) error {
	switch {
	case typ == String && (t == bcfChar || (t == bcfNull && n == 0)):
		s, err := d.chars(n)
		if err != nil {
			return err
		}
		e.stringValue(s)
	case typ == Integer && (t == bcfInt8 || t == bcfInt16 || t == bcfInt32 || t == bcfNull):
		v, err := d.ints(t, n)
		if err != nil {
			return err
		}
		if len(v) == 0 {
			v = []int32{int32Missing} // as text "." or an empty field
		}
		e.ints(kindInteger, v)
	case typ == Float && (t == bcfFloat || t == bcfNull):
		v, err := d.floats(n)
		if err != nil {
			return err
		}
		if len(v) == 0 {
			v = []uint32{floatMissing}
		}
		e.floats(v)
	default:
		return fmt.Errorf("header declares Type=%s but the BCF value has type %d", typ, t)
	}
	return nil
}
