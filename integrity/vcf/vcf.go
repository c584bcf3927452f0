// Package vcf turns a variant file (VCF text, plain or gzip/BGZF
// compressed, or BCF 2.1/2.2) into the ordered table of entries that the
// integrity scheme commits to: one entry per reference position, empty
// where there is no variant.
//
// [Open] reads the header and [Reader.Next] returns the variant sites in
// order, each with the canonical encoding of its records. The canonical
// encoding (ENCODING.md in this directory) is deterministic, versioned, and
// identical for a record read from VCF text and from the BCF that htslib
// writes for it, so a proof made over one form verifies the other.
// [CanonicalRecord] rebuilds a record's encoding from a disclosed VCF line,
// which is what a verifier does; [Entry] turns a site's records into the
// table entry G[i].
//
// # Table order
//
// Positions are numbered contig by contig, in [Reader.Contigs] order
// (header order), from 1 to the contig's length. Every contig needs a
// length, from its ##contig line or from a .fai given in [Options]. Input
// must be sorted: contigs in header order, positions non-decreasing within
// a contig; records at the same position form one [Site]. A record outside
// its contig (POS 0 telomere records included) is an error.
//
// # Limits
//
// Memory is bounded by the options: a record larger than MaxRecordSize, a
// header larger than MaxHeaderSize or with more than MaxContigs contigs is
// an error, never an unbounded allocation. A truncated gzip or BGZF stream
// (including a BGZF file missing its end-of-file block) is an error, never
// a silent end of data.
package vcf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// Errors returned by this package wrap one of these.
var (
	// ErrFormat: the input is neither VCF nor BCF.
	ErrFormat = errors.New("vcf: unrecognized input format")
	// ErrHeader: the header is malformed or incomplete.
	ErrHeader = errors.New("vcf: bad header")
	// ErrRecord: a record is malformed.
	ErrRecord = errors.New("vcf: bad record")
	// ErrUnsorted: records are not in table order.
	ErrUnsorted = errors.New("vcf: records out of order")
	// ErrTooLarge: a record, site or header exceeds its limit.
	ErrTooLarge = errors.New("vcf: input exceeds limit")
	// ErrTruncated: the input ends in the middle of a record or of a
	// compressed stream.
	ErrTruncated = errors.New("vcf: truncated input")
)

// Options configure [Open]. The zero value is usable.
type Options struct {
	// FAI, if not nil, is a samtools .fai index of the reference. It gives
	// lengths to contigs the header declares without one, and adds the
	// contigs the header does not declare.
	FAI io.Reader
	// MaxRecordSize bounds one record (a text line, or a BCF record's
	// shared plus per-sample data) and, times four, the canonical records
	// of one site together. Zero means DefaultMaxRecordSize.
	MaxRecordSize int
	// MaxHeaderSize bounds the header text. Zero means
	// DefaultMaxHeaderSize.
	MaxHeaderSize int
	// MaxContigs bounds the number of contigs. Zero means
	// DefaultMaxContigs.
	MaxContigs int
}

func (o *Options) setDefaults() {
	if o.MaxRecordSize <= 0 {
		o.MaxRecordSize = DefaultMaxRecordSize
	}
	if o.MaxHeaderSize <= 0 {
		o.MaxHeaderSize = DefaultMaxHeaderSize
	}
	if o.MaxContigs <= 0 {
		o.MaxContigs = DefaultMaxContigs
	}
}

// Site is one reference position that has at least one record.
type Site struct {
	// Contig is an index into Contigs().
	Contig int
	// Pos is the 1-based position within the contig.
	Pos int64
	// Records are the canonical encodings of the records at this
	// position, in file order.
	Records [][]byte
}

// Entry returns the table entry for the site; see [Entry].
func (s Site) Entry() []byte { return Entry(s.Records) }

// Reader reads sites from a VCF or BCF stream.
type Reader struct {
	hdr  *Header
	opts Options
	src  recordSource

	pending    *pendingRecord
	lastContig int
	lastPos    int64
	err        error
}

type pendingRecord struct {
	contig int
	pos    int64
	enc    []byte
	where  string
}

// recordSource yields canonical records one at a time.
type recordSource interface {
	// next encodes the next record into e and returns its contig index,
	// position and a description of where it is ("line 12", "record 3").
	next(e *encoder) (contig int, pos int64, where string, err error)
}

// Open reads the header of a VCF (plain, gzip or BGZF) or BCF stream and
// returns a Reader positioned at the first record. The format is detected
// from the content, not from a file name.
func Open(r io.Reader, opts Options) (*Reader, error) {
	opts.setDefaults()
	br, err := decompress(r)
	if err != nil {
		return nil, err
	}
	magic, err := br.Peek(5)
	if err != nil && len(magic) == 0 {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty input", ErrFormat)
		}
		return nil, err
	}
	var src recordSource
	var hdr *Header
	switch {
	case bytes.HasPrefix(magic, []byte("BCF\x02")):
		b, err := openBCF(br, opts)
		if err != nil {
			return nil, err
		}
		src, hdr = b, b.hdr
	case bytes.HasPrefix(magic, []byte("##fil")):
		t, err := openText(br, opts)
		if err != nil {
			return nil, err
		}
		src, hdr = t, t.hdr
	default:
		return nil, fmt.Errorf("%w: starts with %q", ErrFormat, magic)
	}
	return &Reader{hdr: hdr, opts: opts, src: src, lastContig: -1}, nil
}

// Header returns the parsed header.
func (r *Reader) Header() *Header { return r.hdr }

// Contigs returns the contigs in table order. The caller must not modify
// the slice.
func (r *Reader) Contigs() []Contig { return r.hdr.contigs }

// Next returns the next site, or io.EOF after the last one. After any
// other error the Reader is unusable and keeps returning that error.
func (r *Reader) Next() (Site, error) {
	if r.err != nil {
		return Site{}, r.err
	}
	s, err := r.next()
	if err != nil {
		r.err = err
	}
	return s, err
}

func (r *Reader) readRecord() (*pendingRecord, error) {
	var e encoder
	contig, pos, where, err := r.src.next(&e)
	if err != nil {
		return nil, err
	}
	c := r.hdr.contigs[contig]
	if pos < 1 || pos > c.Length {
		return nil, fmt.Errorf("%w: %s: POS %d outside contig %s (length %d)", ErrRecord, where, pos, c.Name, c.Length)
	}
	return &pendingRecord{contig: contig, pos: pos, enc: e.b, where: where}, nil
}

func (r *Reader) next() (Site, error) {
	if r.pending == nil {
		p, err := r.readRecord()
		if err != nil {
			return Site{}, err
		}
		r.pending = p
	}
	first := r.pending
	switch {
	case first.contig < r.lastContig:
		return Site{}, fmt.Errorf("%w: %s: contig %s after %s (contigs must follow header order)",
			ErrUnsorted, first.where, r.hdr.contigs[first.contig].Name, r.hdr.contigs[r.lastContig].Name)
	case first.contig == r.lastContig && first.pos <= r.lastPos:
		return Site{}, fmt.Errorf("%w: %s: POS %d after %d on %s",
			ErrUnsorted, first.where, first.pos, r.lastPos, r.hdr.contigs[first.contig].Name)
	}
	site := Site{Contig: first.contig, Pos: first.pos, Records: [][]byte{first.enc}}
	size := len(first.enc)
	r.pending = nil
	for {
		p, err := r.readRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Site{}, err
		}
		if p.contig != site.Contig || p.pos != site.Pos {
			r.pending = p
			break
		}
		size += len(p.enc)
		if size > 4*r.opts.MaxRecordSize {
			return Site{}, fmt.Errorf("%w: %s: records at %s:%d exceed %d bytes together",
				ErrTooLarge, p.where, r.hdr.contigs[site.Contig].Name, site.Pos, 4*r.opts.MaxRecordSize)
		}
		site.Records = append(site.Records, p.enc)
	}
	r.lastContig, r.lastPos = site.Contig, site.Pos
	return site, nil
}

func parseInt64(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// parseFloat64 accepts what C's strtod accepts for VCF purposes, keeping
// out-of-range values as ±Inf or 0 as strtod does.
func parseFloat64(s string) (float64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, nil
		}
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.IsNaN(f) {
		return math.NaN(), nil
	}
	return f, nil
}

// readLimited reads one line (without its newline) of at most max bytes.
// It returns io.EOF only at a clean end of input.
func readLimited(br *bufio.Reader, max int, buf []byte) ([]byte, error) {
	buf = buf[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > max+1 {
			return nil, fmt.Errorf("%w: line longer than %d bytes", ErrTooLarge, max)
		}
		buf = append(buf, chunk...)
		switch err {
		case nil:
			buf = buf[:len(buf)-1]
			if n := len(buf); n > 0 && buf[n-1] == '\r' {
				buf = buf[:n-1]
			}
			return buf, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return buf, nil // last line without a newline
		default:
			return nil, err
		}
	}
}
