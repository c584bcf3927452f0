package htsget

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxHeader bounds how much header Inspect will inflate and hold. The
// largest real headers (BAMs with hundreds of thousands of @SQ lines or long
// @PG histories) are a few MB.
const maxHeader = 64 << 20

// DetectFormat guesses the format of a plaintext file from its first bytes:
// the CRAM magic, or a BGZF block that starts with the BAM magic, the BCF
// magic or "##fileformat=VCF". Uncompressed or plain-gzip VCF is reported as
// ErrUnsupportedFormat, since neither can be indexed for region queries.
func DetectFormat(r io.ReaderAt, size int64) (Format, error) {
	var magic [4]byte
	if size < int64(len(magic)) {
		return "", fmt.Errorf("%w: file of %d bytes is too short", ErrUnsupportedFormat, size)
	}
	if err := readAt(r, magic[:], 0); err != nil {
		return "", fmt.Errorf("reading file: %w", err)
	}
	switch {
	case string(magic[:]) == "CRAM":
		return CRAM, nil
	case magic[0] == 0x1f && magic[1] == 0x8b:
	case string(magic[:]) == "##fi":
		return "", fmt.Errorf("%w: uncompressed VCF (bgzip it to serve regions)", ErrUnsupportedFormat)
	default:
		return "", fmt.Errorf("%w: not BAM, CRAM, BGZF-compressed VCF or BCF", ErrUnsupportedFormat)
	}
	s := newBGZFStream(r, size, bgzfMaxBlock)
	// The first block is enough: a writer never puts fewer than 16 bytes
	// in it unless the whole file is shorter.
	if err := s.fill(1); err != nil {
		if errors.Is(err, errNotBGZF) {
			return "", fmt.Errorf("%w: gzip but not BGZF (%v)", ErrUnsupportedFormat, err)
		}
		return "", fmt.Errorf("%w: %v", ErrBadFile, err)
	}
	switch d := s.data; {
	case bytes.HasPrefix(d, []byte("BAM\x01")):
		return BAM, nil
	case bytes.HasPrefix(d, []byte("BCF\x02")):
		return BCF, nil
	case bytes.HasPrefix(d, []byte("##fileformat=VCF")):
		return VCF, nil
	}
	return "", fmt.Errorf("%w: BGZF data that is not BAM, VCF or BCF", ErrUnsupportedFormat)
}

// Inspect reads the header of a plaintext file of format f (not the whole
// file: the header blocks plus the last few bytes) and returns its Meta.
// The caller fills in IndexFormat, and should then run [Scan] and
// [ValidateIndex] before storing it. It fails with ErrBadFile if
// the file does not start like a file of that format or its header is
// damaged, and with ErrUnsupportedFormat for formats or versions it does
// not handle.
func Inspect(f Format, r io.ReaderAt, size int64) (Meta, error) {
	m := Meta{Format: f, FileSize: size}
	var err error
	switch f {
	case BAM:
		err = inspectBAM(&m, r, size)
	case VCF:
		err = inspectVCF(&m, r, size)
	case BCF:
		err = inspectBCF(&m, r, size)
	case CRAM:
		err = inspectCRAM(&m, r, size)
	default:
		return Meta{}, fmt.Errorf("%w: file format %q", ErrUnsupportedFormat, f)
	}
	if err != nil {
		return Meta{}, err
	}
	return m, nil
}

// headerErr classifies an error met while reading a header.
func headerErr(f Format, err error) error {
	switch {
	case errors.Is(err, ErrBadFile), errors.Is(err, ErrUnsupportedFormat):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: %s header is truncated", ErrBadFile, f)
	case errors.Is(err, errNotBGZF), errors.Is(err, errHeaderTooLarge):
		return fmt.Errorf("%w: %s header: %v", ErrBadFile, f, err)
	}
	return fmt.Errorf("reading %s header: %w", f, err)
}

func inspectBAM(m *Meta, r io.ReaderAt, size int64) error {
	s := newBGZFStream(r, size, maxHeader)
	refs, end, err := readBAMHeader(s)
	if err != nil {
		return err
	}
	m.References = refs
	m.HeaderEnd = s.blockEndAfter(end)
	return finishBGZF(m, r, size)
}

// readBAMHeader reads the BAM magic, SAM text and reference list, and
// returns the reference names and the inflated length of it all.
func readBAMHeader(s *bgzfStream) ([]string, int, error) {
	if err := s.fill(8); err != nil {
		return nil, 0, headerErr(BAM, err)
	}
	if !bytes.HasPrefix(s.data, []byte("BAM\x01")) {
		return nil, 0, fmt.Errorf("%w: no BAM magic number", ErrBadFile)
	}
	lText := int64(binary.LittleEndian.Uint32(s.data[4:]))
	pos := 8 + lText
	if pos+4 > maxHeader {
		return nil, 0, headerErr(BAM, errHeaderTooLarge)
	}
	if err := s.fill(int(pos + 4)); err != nil {
		return nil, 0, headerErr(BAM, err)
	}
	nRef := int64(binary.LittleEndian.Uint32(s.data[pos:]))
	pos += 4
	if nRef > maxHeader/9 { // each reference takes at least 9 bytes
		return nil, 0, fmt.Errorf("%w: BAM header claims %d references", ErrBadFile, nRef)
	}
	refs := make([]string, 0, min(nRef, 1024))
	for i := int64(0); i < nRef; i++ {
		if err := s.fill(int(pos + 4)); err != nil {
			return nil, 0, headerErr(BAM, err)
		}
		lName := int64(binary.LittleEndian.Uint32(s.data[pos:]))
		if lName < 1 || pos+4+lName+4 > maxHeader {
			return nil, 0, fmt.Errorf("%w: BAM reference %d has a name length of %d", ErrBadFile, i, lName)
		}
		if err := s.fill(int(pos + 4 + lName + 4)); err != nil {
			return nil, 0, headerErr(BAM, err)
		}
		name := s.data[pos+4 : pos+4+lName]
		if name[lName-1] != 0 {
			return nil, 0, fmt.Errorf("%w: BAM reference %d name is not NUL-terminated", ErrBadFile, i)
		}
		refs = append(refs, string(name[:lName-1]))
		pos += 4 + lName + 4
	}
	return refs, int(pos), nil
}

func inspectVCF(m *Meta, r io.ReaderAt, size int64) error {
	s := newBGZFStream(r, size, maxHeader)
	if err := s.fill(16); err != nil {
		return headerErr(VCF, err)
	}
	if !bytes.HasPrefix(s.data, []byte("##fileformat=VCF")) {
		return fmt.Errorf("%w: VCF does not start with ##fileformat=VCF", ErrBadFile)
	}
	// Header lines run up to and including the #CHROM line.
	pos := 0
	for {
		nl := bytes.IndexByte(s.data[pos:], '\n')
		if nl < 0 {
			if err := s.fill(len(s.data) + 1); err != nil {
				return headerErr(VCF, err)
			}
			continue
		}
		line := s.data[pos : pos+nl]
		pos += nl + 1
		if len(line) == 0 || line[0] != '#' {
			return fmt.Errorf("%w: VCF header has no #CHROM line", ErrBadFile)
		}
		if bytes.HasPrefix(line, []byte("#CHROM")) {
			break
		}
	}
	refs, err := vcfContigs(s.data[:pos])
	if err != nil {
		return err
	}
	m.References = refs
	m.HeaderEnd = s.blockEndAfter(pos)
	return finishBGZF(m, r, size)
}

func inspectBCF(m *Meta, r io.ReaderAt, size int64) error {
	s := newBGZFStream(r, size, maxHeader)
	text, end, err := readBCFHeader(s)
	if err != nil {
		return err
	}
	if m.References, err = vcfContigs(text); err != nil {
		return err
	}
	m.HeaderEnd = s.blockEndAfter(end)
	return finishBGZF(m, r, size)
}

// readBCFHeader reads the BCF magic and header text, and returns the text
// and the inflated length of the header.
func readBCFHeader(s *bgzfStream) ([]byte, int, error) {
	if err := s.fill(9); err != nil {
		return nil, 0, headerErr(BCF, err)
	}
	if !bytes.HasPrefix(s.data, []byte("BCF\x02")) {
		return nil, 0, fmt.Errorf("%w: no BCF 2 magic number", ErrBadFile)
	}
	end := 9 + int64(binary.LittleEndian.Uint32(s.data[5:]))
	if end > maxHeader {
		return nil, 0, headerErr(BCF, errHeaderTooLarge)
	}
	if err := s.fill(int(end)); err != nil {
		return nil, 0, headerErr(BCF, err)
	}
	text := s.data[9:end]
	if i := bytes.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	return text, int(end), nil
}

// finishBGZF locates the EOF block and checks it does not overlap the header.
func finishBGZF(m *Meta, r io.ReaderAt, size int64) error {
	eof, err := bgzfEOFRange(r, size)
	if err != nil {
		return err
	}
	if eof != [2]int64{} && eof[0] < m.HeaderEnd {
		// A file that is only a header and the EOF block: fine, but the
		// EOF block was read as part of the header.
		if m.HeaderEnd != size {
			return fmt.Errorf("%w: EOF block inside the header", ErrBadFile)
		}
		eof = [2]int64{}
	}
	m.EOF = eof
	return nil
}

// vcfContigs returns the contig names of a VCF header in the order a BCF
// file numbers them: header order, except that an IDX=n field puts a
// contig at position n.
func vcfContigs(header []byte) ([]string, error) {
	type contig struct {
		id  string
		idx int
	}
	var cs []contig
	useIdx := false
	for line := range strings.Lines(string(header)) {
		rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "##contig=<")
		if !ok {
			continue
		}
		rest, ok = strings.CutSuffix(rest, ">")
		if !ok {
			return nil, fmt.Errorf("%w: unterminated ##contig line", ErrBadFile)
		}
		c := contig{idx: -1}
		for k, v := range structuredFields(rest) {
			switch k {
			case "ID":
				c.id = v
			case "IDX":
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("%w: ##contig IDX=%q", ErrBadFile, v)
				}
				c.idx, useIdx = n, true
			}
		}
		if c.id == "" {
			return nil, fmt.Errorf("%w: ##contig line without ID", ErrBadFile)
		}
		cs = append(cs, c)
	}
	if !useIdx {
		refs := make([]string, len(cs))
		for i, c := range cs {
			refs[i] = c.id
		}
		return refs, nil
	}
	// With IDX the dictionary may have holes. Real files have few; allow
	// it to be a few times sparser than its entries so that a hostile IDX
	// cannot make us allocate much.
	limit := max(4*len(cs), 1<<16)
	n := 0
	for _, c := range cs {
		if c.idx < 0 {
			return nil, fmt.Errorf("%w: some ##contig lines have IDX and some do not", ErrBadFile)
		}
		if c.idx >= limit {
			return nil, fmt.Errorf("%w: ##contig IDX=%d out of range", ErrBadFile, c.idx)
		}
		n = max(n, c.idx+1)
	}
	refs := make([]string, n)
	for _, c := range cs {
		if refs[c.idx] != "" {
			return nil, fmt.Errorf("%w: two ##contig lines with IDX=%d", ErrBadFile, c.idx)
		}
		refs[c.idx] = c.id
	}
	return refs, nil
}

// structuredFields iterates over the key=value pairs of a VCF structured
// header value (the part between < and >), honouring double quotes so that
// a comma inside a quoted Description does not split it.
func structuredFields(s string) func(yield func(k, v string) bool) {
	return func(yield func(k, v string) bool) {
		for len(s) > 0 {
			eq := strings.IndexByte(s, '=')
			if eq < 0 {
				return
			}
			k := s[:eq]
			s = s[eq+1:]
			var v string
			if strings.HasPrefix(s, `"`) {
				end := 1
				for end < len(s) && s[end] != '"' {
					if s[end] == '\\' {
						end++
					}
					end++
				}
				v = s[1:min(end, len(s))]
				s = s[min(end+1, len(s)):]
				s = strings.TrimPrefix(s, ",")
			} else {
				comma := strings.IndexByte(s, ',')
				if comma < 0 {
					v, s = s, ""
				} else {
					v, s = s[:comma], s[comma+1:]
				}
			}
			if !yield(k, v) {
				return
			}
		}
	}
}

// samReferences returns the SN: names of the @SQ lines of a SAM header.
func samReferences(text []byte) ([]string, error) {
	var refs []string
	for line := range strings.Lines(string(text)) {
		line = strings.TrimRight(line, "\r\n")
		rest, ok := strings.CutPrefix(line, "@SQ\t")
		if !ok {
			continue
		}
		name := ""
		for field := range strings.SplitSeq(rest, "\t") {
			if v, ok := strings.CutPrefix(field, "SN:"); ok {
				name = v
				break
			}
		}
		if name == "" {
			return nil, fmt.Errorf("%w: @SQ line without SN", ErrBadFile)
		}
		refs = append(refs, name)
	}
	return refs, nil
}
