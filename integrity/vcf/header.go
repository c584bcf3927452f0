package vcf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Type is the declared type of an INFO or FORMAT field, which decides how
// its text values are parsed into the canonical encoding.
type Type uint8

const (
	// String covers Type=String and Type=Character, and fields the header
	// does not declare (as htslib treats them).
	String Type = iota
	Integer
	Float
	Flag
)

func (t Type) String() string {
	switch t {
	case Integer:
		return "Integer"
	case Float:
		return "Float"
	case Flag:
		return "Flag"
	}
	return "String"
}

// Contig is one reference sequence of the table, in header order.
type Contig struct {
	Name   string
	Length int64
}

// Header is what the canonical encoding needs from a VCF header: the
// contigs (with lengths), the sample names, and the declared types of the
// INFO and FORMAT fields. Obtain one from [Reader.Header] or [ParseHeader].
type Header struct {
	contigs  []Contig
	contigIx map[string]int
	samples  []string
	info     map[string]Type
	format   map[string]Type

	// BCF dictionaries: string IDs (FILTER/INFO/FORMAT) and contigs by
	// index.
	dict       map[int]string
	contigDict map[int]int // BCF contig index → index into contigs
}

// Contigs returns the contigs in table order. The caller must not modify
// the slice.
func (h *Header) Contigs() []Contig { return h.contigs }

// Samples returns the sample names in column order. The caller must not
// modify the slice.
func (h *Header) Samples() []string { return h.samples }

// InfoType returns the declared type of INFO field key; undeclared keys
// are String.
func (h *Header) InfoType(key string) Type { return h.info[key] }

// FormatType returns the declared type of FORMAT field key; undeclared keys
// are String.
func (h *Header) FormatType(key string) Type { return h.format[key] }

// ContigIndex returns the index of the named contig in Contigs.
func (h *Header) ContigIndex(name string) (int, bool) {
	i, ok := h.contigIx[name]
	return i, ok
}

// Default limits, used when Options leaves a field zero.
const (
	DefaultMaxRecordSize = 16 << 20
	DefaultMaxHeaderSize = 64 << 20
	DefaultMaxContigs    = 1 << 20
	// maxSamples bounds the sample columns; larger cohorts exceed any
	// sensible MaxRecordSize anyway.
	maxSamples = 1 << 24
)

// ParseHeader parses VCF header text: the ## meta lines and the #CHROM
// line, as found at the top of a VCF or inside a BCF. fai, if not nil,
// supplies lengths for contigs the header declares without one, and adds
// contigs it does not declare (after the declared ones, in .fai order).
// Limits come from opts; opts.FAI is ignored in favour of fai.
//
// A verifier that has the header text of a disclosed file uses this to
// rebuild canonical records with [CanonicalRecord].
func ParseHeader(text string, fai io.Reader, opts Options) (*Header, error) {
	opts.setDefaults()
	if len(text) > opts.MaxHeaderSize {
		return nil, fmt.Errorf("%w: header is %d bytes, limit %d", ErrTooLarge, len(text), opts.MaxHeaderSize)
	}
	p := newHeaderParser(opts, false)
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		if err := p.line(strings.TrimSuffix(l, "\r"), int64(i+1)); err != nil {
			return nil, err
		}
	}
	return p.finish(fai)
}

type headerParser struct {
	opts       Options
	bcf        bool
	h          *Header
	seenChrom  bool
	nextDict   int
	nextContig int
	dictTaken  map[string]int
	bytes      int
}

func newHeaderParser(opts Options, bcf bool) *headerParser {
	return &headerParser{
		opts: opts,
		bcf:  bcf,
		h: &Header{
			contigIx:   map[string]int{},
			info:       map[string]Type{},
			format:     map[string]Type{},
			dict:       map[int]string{},
			contigDict: map[int]int{},
		},
		dictTaken: map[string]int{},
	}
}

func headerErr(line int64, format string, args ...any) error {
	return fmt.Errorf("%w: header line %d: %s", ErrHeader, line, fmt.Sprintf(format, args...))
}

// line consumes one header line (without its newline).
func (p *headerParser) line(l string, n int64) error {
	p.bytes += len(l) + 1
	if p.bytes > p.opts.MaxHeaderSize {
		return fmt.Errorf("%w: header exceeds %d bytes", ErrTooLarge, p.opts.MaxHeaderSize)
	}
	if p.seenChrom {
		return headerErr(n, "header continues after the #CHROM line")
	}
	if n == 1 && !strings.HasPrefix(l, "##fileformat=VCF") {
		return headerErr(n, "does not start with ##fileformat=VCF")
	}
	switch {
	case strings.HasPrefix(l, "#CHROM"):
		return p.chromLine(l, n)
	case strings.HasPrefix(l, "##"):
		return p.metaLine(l[2:], n)
	case l == "":
		return headerErr(n, "empty line in header")
	}
	return headerErr(n, "neither a ## meta line nor the #CHROM line")
}

var chromColumns = []string{"#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"}

func (p *headerParser) chromLine(l string, n int64) error {
	cols := strings.Split(l, "\t")
	if len(cols) < len(chromColumns) {
		return headerErr(n, "#CHROM line has %d columns, want at least 8", len(cols))
	}
	for i, c := range chromColumns {
		if cols[i] != c {
			return headerErr(n, "#CHROM line column %d is %q, want %q", i+1, cols[i], c)
		}
	}
	if len(cols) > 8 {
		if cols[8] != "FORMAT" {
			return headerErr(n, "#CHROM line column 9 is %q, want FORMAT", cols[8])
		}
		if len(cols)-9 > maxSamples {
			return fmt.Errorf("%w: header line %d: more than %d samples", ErrTooLarge, n, maxSamples)
		}
		p.h.samples = cols[9:]
	}
	p.seenChrom = true
	return nil
}

func (p *headerParser) metaLine(l string, n int64) error {
	key, val, ok := strings.Cut(l, "=")
	if !ok {
		return nil // free-form meta line: ignored
	}
	switch key {
	case "contig", "INFO", "FORMAT", "FILTER":
	default:
		return nil
	}
	if !strings.HasPrefix(val, "<") || !strings.HasSuffix(val, ">") {
		return headerErr(n, "##%s value is not <...>", key)
	}
	attrs, err := parseStructured(val[1 : len(val)-1])
	if err != nil {
		return headerErr(n, "##%s: %v", key, err)
	}
	id := attrs["ID"]
	if id == "" {
		return headerErr(n, "##%s without ID", key)
	}
	idx := -1
	if s, ok := attrs["IDX"]; ok && p.bcf {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 || v > p.opts.MaxContigs+1<<20 {
			return headerErr(n, "bad IDX %q", s)
		}
		idx = v
	}
	if key == "contig" {
		return p.contig(id, attrs, idx, n)
	}
	switch key {
	case "INFO", "FORMAT":
		var t Type
		switch attrs["Type"] {
		case "Integer":
			t = Integer
		case "Float":
			t = Float
		case "Flag":
			t = Flag
		case "String", "Character":
			t = String
		default:
			return headerErr(n, "##%s %s has unknown Type %q", key, id, attrs["Type"])
		}
		if key == "INFO" {
			p.h.info[id] = t
		} else {
			if t == Flag {
				return headerErr(n, "FORMAT %s cannot be a Flag", id)
			}
			p.h.format[id] = t
		}
	}
	return p.dictAdd(id, idx, n)
}

// dictAdd assigns a BCF string-dictionary index to id: IDX when given,
// else the next free one. FILTER, INFO and FORMAT share the dictionary and
// an ID declared twice (say INFO/DP and FORMAT/DP) keeps one index; PASS
// is index 0 unless the header says otherwise.
func (p *headerParser) dictAdd(id string, idx int, n int64) error {
	if prev, ok := p.dictTaken[id]; ok {
		if idx >= 0 && idx != prev {
			return headerErr(n, "ID %s has IDX %d and %d", id, prev, idx)
		}
		return nil
	}
	if idx < 0 {
		if len(p.dictTaken) == 0 && id != "PASS" {
			// Reserve 0 for the implicit PASS filter.
			p.dictTaken["PASS"] = 0
			p.h.dict[0] = "PASS"
			p.nextDict = 1
		}
		idx = p.nextDict
	}
	if other, ok := p.h.dict[idx]; ok && other != id {
		return headerErr(n, "IDX %d given to both %s and %s", idx, other, id)
	}
	if len(p.h.dict) > p.opts.MaxContigs+1<<20 {
		return fmt.Errorf("%w: header line %d: too many dictionary entries", ErrTooLarge, n)
	}
	p.dictTaken[id] = idx
	p.h.dict[idx] = id
	if idx >= p.nextDict {
		p.nextDict = idx + 1
	}
	return nil
}

func (p *headerParser) contig(id string, attrs map[string]string, idx int, n int64) error {
	if _, dup := p.h.contigIx[id]; dup {
		return headerErr(n, "contig %s declared twice", id)
	}
	if len(p.h.contigs) >= p.opts.MaxContigs {
		return fmt.Errorf("%w: header line %d: more than %d contigs", ErrTooLarge, n, p.opts.MaxContigs)
	}
	var length int64 = -1
	if s, ok := attrs["length"]; ok {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 1 || v > maxContigLength {
			return headerErr(n, "contig %s has bad length %q", id, s)
		}
		length = v
	}
	if idx < 0 {
		idx = p.nextContig
	}
	if _, taken := p.h.contigDict[idx]; taken {
		return headerErr(n, "contig IDX %d used twice", idx)
	}
	p.h.contigDict[idx] = len(p.h.contigs)
	if idx >= p.nextContig {
		p.nextContig = idx + 1
	}
	p.h.contigIx[id] = len(p.h.contigs)
	p.h.contigs = append(p.h.contigs, Contig{Name: id, Length: length})
	return nil
}

// maxContigLength bounds one contig (the largest known chromosomes are
// under 2^33 bases); it keeps position arithmetic far from overflow.
const maxContigLength = 1 << 40

func (p *headerParser) finish(fai io.Reader) (*Header, error) {
	if !p.seenChrom {
		return nil, fmt.Errorf("%w: no #CHROM line", ErrHeader)
	}
	if fai != nil {
		if err := p.readFAI(fai); err != nil {
			return nil, err
		}
	}
	var total int64
	for _, c := range p.h.contigs {
		if c.Length < 0 {
			return nil, fmt.Errorf("%w: contig %s has no length (add length= to its ##contig line or supply a .fai)", ErrHeader, c.Name)
		}
		total += c.Length
		if total > math.MaxInt64/2 {
			return nil, fmt.Errorf("%w: contig lengths overflow", ErrHeader)
		}
	}
	if len(p.h.samples) == 0 {
		p.h.samples = nil
	}
	return p.h, nil
}

func (p *headerParser) readFAI(r io.Reader) error {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 4096), 1<<20)
	n := 0
	for s.Scan() {
		n++
		l := s.Text()
		if l == "" {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) < 2 {
			return fmt.Errorf("%w: .fai line %d has fewer than 2 columns", ErrHeader, n)
		}
		length, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || length < 1 || length > maxContigLength {
			return fmt.Errorf("%w: .fai line %d: bad length %q", ErrHeader, n, f[1])
		}
		if i, ok := p.h.contigIx[f[0]]; ok {
			c := &p.h.contigs[i]
			if c.Length >= 0 && c.Length != length {
				return fmt.Errorf("%w: contig %s has length %d in the header but %d in the .fai", ErrHeader, f[0], c.Length, length)
			}
			c.Length = length
			continue
		}
		if len(p.h.contigs) >= p.opts.MaxContigs {
			return fmt.Errorf("%w: more than %d contigs", ErrTooLarge, p.opts.MaxContigs)
		}
		p.h.contigIx[f[0]] = len(p.h.contigs)
		p.h.contigs = append(p.h.contigs, Contig{Name: f[0], Length: length})
	}
	if err := s.Err(); err != nil {
		return fmt.Errorf("%w: reading .fai: %v", ErrHeader, err)
	}
	return nil
}

// parseStructured splits the inside of a ##KEY=<...> value into its
// attributes. Values may be double-quoted, with backslash escapes.
func parseStructured(s string) (map[string]string, error) {
	out := map[string]string{}
	for len(s) > 0 {
		k, rest, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, errors.New("attribute without =")
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			if i >= len(rest) {
				return nil, errors.New("unterminated quoted value")
			}
			v, rest = b.String(), rest[i+1:]
			if rest != "" && rest[0] != ',' {
				return nil, errors.New("text after a quoted value")
			}
		} else {
			i := strings.IndexByte(rest, ',')
			if i < 0 {
				i = len(rest)
			}
			v, rest = rest[:i], rest[i:]
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("attribute %s repeated", k)
		}
		out[k] = v
		s = strings.TrimPrefix(rest, ",")
	}
	return out, nil
}

// MarshalBinary returns the canonical encoding of what the header
// contributes to the meaning of the table (ENCODING.md, "Header"): the
// contigs with their lengths, the sample names, and the declared types of
// INFO and FORMAT fields. Records do not name their samples, so a proof
// should bind this encoding (for example by signing its hash with the
// root) for a disclosed genotype to be attributable to a sample.
func (h *Header) MarshalBinary() ([]byte, error) {
	var e encoder
	e.u8(Version)
	e.u32(uint32(len(h.contigs)))
	for _, c := range h.contigs {
		e.str([]byte(c.Name))
		e.u64(uint64(c.Length))
	}
	e.u32(uint32(len(h.samples)))
	for _, s := range h.samples {
		e.str([]byte(s))
	}
	for _, m := range []map[string]Type{h.info, h.format} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		e.u32(uint32(len(keys)))
		for _, k := range keys {
			e.str([]byte(k))
			e.u8(byte(m[k]))
		}
	}
	return e.b, nil
}
