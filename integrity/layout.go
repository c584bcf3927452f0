package integrity

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Kind says what the positions of a table are.
type Kind uint8

const (
	// Variants: one position per reference base, contig after contig
	// (VCF/BCF); an entry holds the records at that base, if any.
	Variants Kind = 1
	// File: one position per fixed-size chunk of a file (FASTQ, CRAM, or
	// any file); an entry is the chunk's bytes.
	File Kind = 2
)

func (k Kind) String() string {
	switch k {
	case Variants:
		return "variants"
	case File:
		return "file"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// MarshalText names the kind in JSON.
func (k Kind) MarshalText() ([]byte, error) {
	if k != Variants && k != File {
		return nil, fmt.Errorf("integrity: unknown layout kind %d", k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText reads a kind named by MarshalText.
func (k *Kind) UnmarshalText(b []byte) error {
	switch string(b) {
	case "variants":
		*k = Variants
	case "file":
		*k = File
	default:
		return fmt.Errorf("integrity: unknown layout kind %q", b)
	}
	return nil
}

// Limits of the layout; they bound what a proof may make a verifier
// allocate.
const (
	maxPositions     = 1 << 40 // 300 human genomes' worth
	maxContigs       = 1 << 20
	maxContigName    = 1024
	maxChunkSize     = 64 << 20
	DefaultChunkSize = 1 << 20 // whole-file mode: 1 MiB an entry
)

// Contig is a reference sequence: its name and its length in bases.
type Contig struct {
	Name   string `json:"name"`
	Length uint64 `json:"length"`
}

// Layout maps positions of the table G to what they stand for. Global
// position i (0-based) of a Variants layout is base i − offset(c) + 1 of
// the contig c whose span holds i, where offset(c) is the total length of
// the contigs before c. The layout is public: it is signed with the
// first tree root and travels in every proof.
type Layout struct {
	Kind Kind `json:"kind"`
	// Contigs, for Variants.
	Contigs []Contig `json:"contigs,omitempty"`
	// ChunkSize and FileSize, for File: position i is bytes
	// [i·ChunkSize, min((i+1)·ChunkSize, FileSize)).
	ChunkSize uint32 `json:"chunk_size,omitempty"`
	FileSize  uint64 `json:"file_size,omitempty"`
}

// VariantLayout returns the layout of a variant table over contigs.
func VariantLayout(contigs []Contig) (Layout, error) {
	l := Layout{Kind: Variants, Contigs: slices.Clone(contigs)}
	return l, l.check()
}

// FileLayout returns the layout of a file of size bytes cut into chunks
// of chunkSize bytes (DefaultChunkSize if 0).
func FileLayout(size uint64, chunkSize uint32) (Layout, error) {
	if chunkSize == 0 {
		chunkSize = DefaultChunkSize
	}
	l := Layout{Kind: File, ChunkSize: chunkSize, FileSize: size}
	return l, l.check()
}

// Positions is the number of positions N of the table.
func (l Layout) Positions() uint64 {
	switch l.Kind {
	case Variants:
		var n uint64
		for _, c := range l.Contigs {
			n += c.Length
		}
		return n
	case File:
		if l.ChunkSize == 0 {
			return 0
		}
		return (l.FileSize + uint64(l.ChunkSize) - 1) / uint64(l.ChunkSize)
	}
	return 0
}

func (l Layout) check() error {
	switch l.Kind {
	case Variants:
		if len(l.Contigs) == 0 {
			return errors.New("integrity: the layout has no contigs (does the VCF header list them with lengths?)")
		}
		if len(l.Contigs) > maxContigs {
			return fmt.Errorf("integrity: %d contigs is more than the limit of %d", len(l.Contigs), maxContigs)
		}
		seen := make(map[string]bool, len(l.Contigs))
		var n uint64
		for _, c := range l.Contigs {
			if c.Name == "" || len(c.Name) > maxContigName || strings.ContainsAny(c.Name, ":\x00\n") {
				return fmt.Errorf("integrity: contig name %q is empty, longer than %d bytes or has ':', NUL or newline", c.Name, maxContigName)
			}
			if seen[c.Name] {
				return fmt.Errorf("integrity: contig %q appears twice", c.Name)
			}
			seen[c.Name] = true
			if c.Length == 0 || c.Length > maxPositions {
				return fmt.Errorf("integrity: contig %q has length %d", c.Name, c.Length)
			}
			n += c.Length
			if n > maxPositions {
				return fmt.Errorf("integrity: the contigs hold more than %d positions", uint64(maxPositions))
			}
		}
	case File:
		if l.ChunkSize == 0 || l.ChunkSize > maxChunkSize {
			return fmt.Errorf("integrity: chunk size %d is not in 1..%d", l.ChunkSize, maxChunkSize)
		}
		if l.FileSize == 0 {
			return errors.New("integrity: the file is empty")
		}
		if l.Positions() > maxPositions {
			return fmt.Errorf("integrity: the file has more than %d chunks", uint64(maxPositions))
		}
	default:
		return fmt.Errorf("integrity: unknown layout kind %d", l.Kind)
	}
	return nil
}

func (l Layout) encode(e *encoder) {
	e.u8(uint8(l.Kind))
	switch l.Kind {
	case Variants:
		e.u32(uint32(len(l.Contigs)))
		for _, c := range l.Contigs {
			e.str(c.Name)
			e.u64(c.Length)
		}
	case File:
		e.u32(l.ChunkSize)
		e.u64(l.FileSize)
	}
}

func decodeLayout(d *decoder) Layout {
	var l Layout
	l.Kind = Kind(d.u8("layout kind"))
	switch l.Kind {
	case Variants:
		n := d.count("contigs", maxContigs, 4+1+8)
		l.Contigs = make([]Contig, 0, n)
		for range n {
			name := d.str("contig name", maxContigName)
			l.Contigs = append(l.Contigs, Contig{Name: name, Length: d.u64("contig length")})
		}
	case File:
		l.ChunkSize = d.u32("chunk size")
		l.FileSize = d.u64("file size")
	default:
		d.fail("layout kind", "unknown kind %d", l.Kind)
	}
	if d.err == nil {
		if err := l.check(); err != nil {
			d.fail("layout", "%v", err)
		}
	}
	return l
}

// offsets returns the global position of the first base of each contig.
func (l Layout) offsets() []uint64 {
	off := make([]uint64, len(l.Contigs))
	var n uint64
	for i, c := range l.Contigs {
		off[i] = n
		n += c.Length
	}
	return off
}

// Name describes global position i for people: "chr1:12345" (1-based)
// for variants, "chunk 3 (bytes 3145728-4194303)" for files.
func (l Layout) Name(i uint64) string {
	switch l.Kind {
	case Variants:
		for _, c := range l.Contigs {
			if i < c.Length {
				return c.Name + ":" + strconv.FormatUint(i+1, 10)
			}
			i -= c.Length
		}
	case File:
		lo := i * uint64(l.ChunkSize)
		hi := min(lo+uint64(l.ChunkSize), l.FileSize)
		if lo < l.FileSize {
			return fmt.Sprintf("chunk %d (bytes %d-%d)", i, lo, hi-1)
		}
	}
	return fmt.Sprintf("position %d (outside the table)", i)
}

// Range is a half-open range [Start, End) of global positions.
type Range struct {
	Start uint64 `json:"start"`
	End   uint64 `json:"end"`
}

// Len is the number of positions in r.
func (r Range) Len() uint64 { return r.End - r.Start }

// Region parses a samtools-style region: "chr1:1000-2000" (1-based,
// inclusive), "chr1:1000" (one base) or "chr1" (the whole contig). Commas
// in numbers are allowed, as samtools allows them.
func (l Layout) Region(s string) (Range, error) {
	if l.Kind != Variants {
		return Range{}, errors.New("integrity: regions apply to variant tables; use byte ranges for whole files")
	}
	name, span, hasSpan := strings.Cut(s, ":")
	ci := slices.IndexFunc(l.Contigs, func(c Contig) bool { return c.Name == name })
	if ci < 0 {
		return Range{}, fmt.Errorf("integrity: region %q: no contig %q in the layout", s, name)
	}
	off := l.offsets()[ci]
	length := l.Contigs[ci].Length
	if !hasSpan {
		return Range{off, off + length}, nil
	}
	from, to, isRange := strings.Cut(span, "-")
	a, err := parseBase(from)
	if err != nil {
		return Range{}, fmt.Errorf("integrity: region %q: %v", s, err)
	}
	b := a
	if isRange {
		if b, err = parseBase(to); err != nil {
			return Range{}, fmt.Errorf("integrity: region %q: %v", s, err)
		}
	}
	if b < a {
		return Range{}, fmt.Errorf("integrity: region %q ends before it starts", s)
	}
	if b > length {
		return Range{}, fmt.Errorf("integrity: region %q goes past the end of %s (length %d)", s, name, length)
	}
	return Range{off + a - 1, off + b}, nil
}

func parseBase(s string) (uint64, error) {
	v, err := strconv.ParseUint(strings.ReplaceAll(s, ",", ""), 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%q is not a 1-based position", s)
	}
	return v, nil
}

// Position returns the global position of base pos (1-based) of contig
// name.
func (l Layout) Position(name string, pos uint64) (uint64, error) {
	r, err := l.Region(name + ":" + strconv.FormatUint(pos, 10))
	return r.Start, err
}

// Bytes returns the chunks of a File layout that hold bytes first..last
// (0-based, inclusive).
func (l Layout) Bytes(first, last uint64) (Range, error) {
	if l.Kind != File {
		return Range{}, errors.New("integrity: byte ranges apply to whole-file tables; use regions for variants")
	}
	if last < first || last >= l.FileSize {
		return Range{}, fmt.Errorf("integrity: bytes %d-%d are not within the file's %d bytes", first, last, l.FileSize)
	}
	cs := uint64(l.ChunkSize)
	return Range{first / cs, last/cs + 1}, nil
}

// normalize sorts ranges and merges overlapping or adjacent ones, which is
// the canonical form proofs carry. It rejects empty ranges and ranges past
// n.
func normalize(rs []Range, n uint64) ([]Range, error) {
	if len(rs) == 0 {
		return nil, errors.New("integrity: no positions requested")
	}
	rs = slices.Clone(rs)
	for _, r := range rs {
		if r.End <= r.Start || r.End > n {
			return nil, fmt.Errorf("integrity: position range [%d, %d) is empty or outside the table of %d positions", r.Start, r.End, n)
		}
	}
	slices.SortFunc(rs, func(a, b Range) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if r.Start <= last.End {
			last.End = max(last.End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// countPositions is the number of positions in normalized ranges.
func countPositions(rs []Range) uint64 {
	var n uint64
	for _, r := range rs {
		n += r.Len()
	}
	return n
}

// expand lists the positions of normalized ranges.
func expand(rs []Range) []uint64 {
	out := make([]uint64, 0, countPositions(rs))
	for _, r := range rs {
		for i := r.Start; i < r.End; i++ {
			out = append(out, i)
		}
	}
	return out
}
