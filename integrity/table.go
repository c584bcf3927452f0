package integrity

import (
	"errors"
	"fmt"
	"io"

	"github.com/crypt4gh-go/crypt4gh/integrity/vcf"
)

// Table is the data being protected, the paper's G: one entry per
// position of its layout, most of them empty. Next returns the non-empty
// entries in strictly increasing position order and io.EOF after the
// last; every position it skips is empty. The entry may be kept by the
// caller (Next must not reuse it).
type Table interface {
	Layout() Layout
	Next() (pos uint64, entry []byte, err error)
}

// EntryReader is implemented by tables that can read any entry directly
// (whole files). Proving then reads only the disclosed entries instead of
// scanning the table.
type EntryReader interface {
	EntryAt(pos uint64) ([]byte, error)
}

// FileTable returns the table of a whole file (FASTQ, CRAM, anything) of
// size bytes in chunks of chunkSize bytes (DefaultChunkSize if 0): entry
// i is bytes [i·chunkSize, (i+1)·chunkSize). It implements EntryReader.
func FileTable(r io.ReaderAt, size int64, chunkSize uint32) (Table, error) {
	if size < 0 {
		return nil, errors.New("integrity: negative file size")
	}
	l, err := FileLayout(uint64(size), chunkSize)
	if err != nil {
		return nil, err
	}
	return &fileTable{r: r, l: l}, nil
}

type fileTable struct {
	r    io.ReaderAt
	l    Layout
	next uint64
}

func (t *fileTable) Layout() Layout { return t.l }

func (t *fileTable) Next() (uint64, []byte, error) {
	if t.next >= t.l.Positions() {
		return 0, nil, io.EOF
	}
	e, err := t.EntryAt(t.next)
	if err != nil {
		return 0, nil, err
	}
	t.next++
	return t.next - 1, e, nil
}

func (t *fileTable) EntryAt(pos uint64) ([]byte, error) {
	if pos >= t.l.Positions() {
		return nil, fmt.Errorf("integrity: chunk %d is past the end of the file", pos)
	}
	lo := pos * uint64(t.l.ChunkSize)
	hi := min(lo+uint64(t.l.ChunkSize), t.l.FileSize)
	b := make([]byte, hi-lo)
	if _, err := t.r.ReadAt(b, int64(lo)); err != nil && !(errors.Is(err, io.EOF) && len(b) > 0) {
		return nil, fmt.Errorf("integrity: reading %s: %w", t.l.Name(pos), err)
	}
	return b, nil
}

// VCFTable returns the table of a variant file read by vcf.Open: one
// position per base of every contig, in the reader's contig order; the
// entry of a position with records is vcf.Entry of their canonical
// encodings, so it is the same whether the file is VCF or BCF.
func VCFTable(r *vcf.Reader) (Table, error) {
	var cs []Contig
	for _, c := range r.Contigs() {
		if c.Length <= 0 {
			return nil, fmt.Errorf("integrity: contig %q has no length (give a .fai)", c.Name)
		}
		cs = append(cs, Contig{Name: c.Name, Length: uint64(c.Length)})
	}
	l, err := VariantLayout(cs)
	if err != nil {
		return nil, err
	}
	return &vcfTable{r: r, l: l, off: l.offsets()}, nil
}

type vcfTable struct {
	r   *vcf.Reader
	l   Layout
	off []uint64
}

func (t *vcfTable) Layout() Layout { return t.l }

func (t *vcfTable) Next() (uint64, []byte, error) {
	s, err := t.r.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("integrity: reading the variants: %w", err)
	}
	if s.Contig < 0 || s.Contig >= len(t.off) || s.Pos < 1 || uint64(s.Pos) > t.l.Contigs[s.Contig].Length {
		return 0, nil, fmt.Errorf("integrity: the variant reader gave contig %d position %d, outside the layout", s.Contig, s.Pos)
	}
	return t.off[s.Contig] + uint64(s.Pos) - 1, s.Entry(), nil
}
