package vcf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

type textSource struct {
	br   *bufio.Reader
	hdr  *Header
	opts Options
	line int64
	buf  []byte
}

func openText(br *bufio.Reader, opts Options) (*textSource, error) {
	p := newHeaderParser(opts, false)
	t := &textSource{br: br, opts: opts}
	for !p.seenChrom {
		l, err := readLimited(br, opts.MaxHeaderSize, t.buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		t.line++
		t.buf = l
		if err := p.line(string(l), t.line); err != nil {
			return nil, err
		}
	}
	hdr, err := p.finish(opts.FAI)
	if err != nil {
		return nil, err
	}
	t.hdr = hdr
	return t, nil
}

func (t *textSource) next(e *encoder) (int, int64, string, error) {
	for {
		l, err := readLimited(t.br, t.opts.MaxRecordSize, t.buf)
		if err != nil {
			if err == io.EOF {
				return 0, 0, "", io.EOF
			}
			return 0, 0, "", fmt.Errorf("line %d: %w", t.line+1, err)
		}
		t.line++
		t.buf = l
		if len(l) == 0 {
			continue // blank lines carry no record
		}
		where := "line " + strconv.FormatInt(t.line, 10)
		contig, pos, err := encodeText(e, string(l), t.hdr)
		if err != nil {
			return 0, 0, "", fmt.Errorf("%w: %s: %v", ErrRecord, where, err)
		}
		return contig, pos, where, nil
	}
}

// CanonicalRecord returns the canonical encoding of one VCF data line
// (without its newline), interpreted with header h: the bytes a verifier
// recomputes from a disclosed record. It checks the line as [Reader.Next]
// does, except for ordering.
func CanonicalRecord(line string, h *Header) ([]byte, error) {
	var e encoder
	contig, pos, err := encodeText(&e, strings.TrimSuffix(line, "\n"), h)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecord, err)
	}
	if c := h.contigs[contig]; pos > c.Length {
		return nil, fmt.Errorf("%w: POS %d outside contig %s (length %d)", ErrRecord, pos, c.Name, c.Length)
	}
	return e.b, nil
}

// encodeText parses a data line into e.
func encodeText(e *encoder, line string, h *Header) (int, int64, error) {
	cols := strings.Split(line, "\t")
	ns := len(h.samples)
	switch {
	case ns == 0 && (len(cols) == 8 || len(cols) == 9):
	case ns > 0 && len(cols) == 9+ns:
	default:
		want := "8"
		if ns > 0 {
			want = strconv.Itoa(9 + ns)
		}
		return 0, 0, fmt.Errorf("%d columns, want %s", len(cols), want)
	}
	contig, ok := h.contigIx[cols[0]]
	if !ok {
		return 0, 0, fmt.Errorf("contig %q is not in the header or the .fai", cols[0])
	}
	pos, err := strconv.ParseInt(cols[1], 10, 64)
	if err != nil || pos < 1 {
		return 0, 0, fmt.Errorf("POS %q is not a positive integer", cols[1])
	}
	e.begin([]byte(cols[0]), pos)

	id := cols[2]
	if id == "." {
		id = ""
	}
	e.str([]byte(id))

	if cols[3] == "" || cols[3] == "." {
		return 0, 0, errors.New("REF is empty")
	}
	var alts []string
	if cols[4] != "." {
		alts = strings.Split(cols[4], ",")
	}
	if len(alts) >= 1<<16-1 {
		return 0, 0, errors.New("too many ALT alleles")
	}
	e.u32(uint32(1 + len(alts)))
	e.str([]byte(cols[3]))
	for _, a := range alts {
		if a == "" {
			return 0, 0, errors.New("empty ALT allele")
		}
		e.str([]byte(a))
	}

	qual, err := textFloat(cols[5])
	if err != nil {
		return 0, 0, fmt.Errorf("QUAL: %v", err)
	}
	e.u32(qual)

	var filters []string
	if cols[6] != "." {
		filters = strings.Split(cols[6], ";")
	}
	e.u32(uint32(len(filters)))
	for _, f := range filters {
		if f == "" {
			return 0, 0, errors.New("empty FILTER name")
		}
		e.str([]byte(f))
	}

	if err := encodeTextInfo(e, cols[7], h); err != nil {
		return 0, 0, err
	}
	if ns == 0 {
		e.u32(0)
		e.u32(0)
		return contig, pos, nil
	}
	return contig, pos, encodeTextFormat(e, cols[8], cols[9:], h)
}

func encodeTextInfo(e *encoder, info string, h *Header) error {
	if info == "." {
		e.u32(0)
		return nil
	}
	items := strings.Split(info, ";")
	e.u32(uint32(len(items)))
	var seen dupCheck
	for _, it := range items {
		key, val, hasVal := strings.Cut(it, "=")
		if key == "" {
			return errors.New("empty INFO key")
		}
		if seen.add(key) {
			return fmt.Errorf("INFO %s appears twice", key)
		}
		t, declared := h.info[key]
		if !declared && !hasVal {
			t = Flag
		}
		e.str([]byte(key))
		switch t {
		case Flag:
			if hasVal {
				return fmt.Errorf("INFO %s is a Flag but has a value", key)
			}
			e.flag()
		case String:
			if !hasVal {
				return fmt.Errorf("INFO %s has no value", key)
			}
			e.stringValue([]byte(val))
		default:
			if !hasVal {
				return fmt.Errorf("INFO %s has no value", key)
			}
			if err := encodeTextNumbers(e, t, val); err != nil {
				return fmt.Errorf("INFO %s: %v", key, err)
			}
		}
	}
	return nil
}

// encodeTextNumbers encodes a comma-separated Integer or Float value.
func encodeTextNumbers(e *encoder, t Type, val string) error {
	if val == "" {
		val = "."
	}
	parts := strings.Split(val, ",")
	if t == Integer {
		v := make([]int32, len(parts))
		for i, p := range parts {
			x, err := textInt(p)
			if err != nil {
				return err
			}
			v[i] = x
		}
		e.ints(kindInteger, v)
		return nil
	}
	v := make([]uint32, len(parts))
	for i, p := range parts {
		x, err := textFloat(p)
		if err != nil {
			return err
		}
		v[i] = x
	}
	e.floats(v)
	return nil
}

func encodeTextFormat(e *encoder, format string, samples []string, h *Header) error {
	var keys []string
	if format != "." && format != "" {
		keys = strings.Split(format, ":")
	}
	if len(keys) > 255 {
		return errors.New("more than 255 FORMAT fields")
	}
	for i, k := range keys {
		if k == "" {
			return errors.New("empty FORMAT key")
		}
		for _, prev := range keys[:i] {
			if prev == k {
				return fmt.Errorf("FORMAT %s appears twice", k)
			}
		}
	}
	e.u32(uint32(len(keys)))
	e.u32(uint32(len(samples)))
	if len(keys) == 0 {
		return nil
	}
	fields := make([][]string, len(samples))
	for s, col := range samples {
		fields[s] = strings.Split(col, ":")
		if len(fields[s]) > len(keys) {
			return fmt.Errorf("sample %s has %d fields, FORMAT has %d", h.samples[s], len(fields[s]), len(keys))
		}
	}
	for k, key := range keys {
		e.str([]byte(key))
		t := h.format[key]
		for s := range samples {
			v := "."
			if k < len(fields[s]) && fields[s][k] != "" {
				v = fields[s][k]
			}
			var err error
			switch {
			case key == "GT":
				var gt []int32
				if gt, err = parseGT(v); err == nil {
					e.ints(kindGenotype, canonGT(gt))
				}
			case t == String:
				e.stringValue([]byte(v))
			default:
				err = encodeTextNumbers(e, t, v)
			}
			if err != nil {
				return fmt.Errorf("sample %s FORMAT %s: %v", h.samples[s], key, err)
			}
		}
	}
	return nil
}

// parseGT parses a genotype into BCF allele codes: (allele+1)<<1 | phased,
// with 0 for a missing allele. A leading phasing character (VCF 4.4) sets
// the first allele's phase bit.
func parseGT(s string) ([]int32, error) {
	var out []int32
	var phased int32
	if s != "" && (s[0] == '|' || s[0] == '/') {
		if s[0] == '|' {
			phased = 1
		}
		s = s[1:]
	}
	for {
		i := strings.IndexAny(s, "/|")
		tok := s
		if i >= 0 {
			tok = s[:i]
		}
		var code int32
		switch tok {
		case ".":
			code = phased
		case "":
			return nil, errors.New("empty allele in GT")
		default:
			a, err := strconv.ParseUint(tok, 10, 32)
			if err != nil || a >= 1<<29 {
				return nil, fmt.Errorf("GT allele %q is not an allele index", tok)
			}
			code = int32(a+1)<<1 | phased
		}
		out = append(out, code)
		if len(out) > 1<<16 {
			return nil, errors.New("GT ploidy too large")
		}
		if i < 0 {
			return out, nil
		}
		phased = 0
		if s[i] == '|' {
			phased = 1
		}
		s = s[i+1:]
	}
}

// canonGT brings a genotype to its canonical form. A missing allele is
// code 0 whether the writer stored it as 0 or as the integer missing value,
// and an empty genotype is one missing allele, as text "." reads. The first
// allele's phase bit of a polyploid genotype is cleared: whether htslib
// sets it when converting "0|1" depends on its version (VCF 4.4 made the
// first allele's phasing explicit), and before 4.4 it carried no meaning;
// for a haploid call it is kept.
func canonGT(gt []int32) []int32 {
	if len(gt) == 0 {
		return []int32{0}
	}
	for i, v := range gt {
		if v == int32Missing {
			gt[i] = 0
		}
	}
	if len(gt) > 1 {
		gt[0] &^= 1
	}
	return gt
}

// dupCheck detects repeated keys: a linear scan for the usual handful,
// a map beyond.
type dupCheck struct {
	few  []string
	many map[string]bool
}

// add records key and reports whether it was already present.
func (d *dupCheck) add(key string) bool {
	if d.many != nil {
		if d.many[key] {
			return true
		}
		d.many[key] = true
		return false
	}
	for _, k := range d.few {
		if k == key {
			return true
		}
	}
	d.few = append(d.few, key)
	if len(d.few) > 32 {
		d.many = make(map[string]bool, 64)
		for _, k := range d.few {
			d.many[k] = true
		}
	}
	return false
}
