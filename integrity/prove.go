package integrity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
)

// ProveOptions configure [PartialProof].
type ProveOptions struct {
	// Table is the protected data. If it implements EntryReader only the
	// disclosed entries are read; otherwise it is scanned up to the last
	// disclosed position.
	Table Table
	// Identity is the data owner's private key, which decrypts the
	// openings of the disclosed positions (and only the Crypt4GH segments
	// that hold them).
	Identity crypt4gh.Identity
}

// PartialProof extracts from the dataset in dir a proof for the entries
// at the given positions: the entries, their commitments and openings in
// every generation, the sibling hashes of every tree, and the evidence.
// Nothing else goes into it, so (commitments being hiding) it reveals
// nothing about the other positions; and it is deterministic: the same
// dataset and positions give the same bytes.
//
// It reads the commitments of the 2^cut-leaf chunks around the disclosed
// positions (to rebuild their subtrees), the cached top of each tree, and
// the disclosed openings. Before returning it checks every opening, so a
// data file that differs from the protected one is reported here, naming
// the first position that differs.
func PartialProof(ctx context.Context, dir string, ranges []Range, opts ProveOptions) (*Proof, error) {
	if opts.Table == nil || opts.Identity == nil {
		return nil, errors.New("integrity: proving needs the data and the owner's private key")
	}
	d, err := Open(dir)
	if err != nil {
		return nil, err
	}
	if l := opts.Table.Layout(); !sameLayout(&l, &d.ev.Layout) {
		return nil, errors.New("integrity: the data given has a different layout (contigs or size) from the protected data")
	}
	rs, err := normalize(ranges, d.sh.n)
	if err != nil {
		return nil, err
	}
	if c := countPositions(rs); c > maxProofPositions {
		return nil, fmt.Errorf("integrity: %d positions is more than a proof may hold (%d)", c, maxProofPositions)
	}
	positions := expand(rs)
	p := &Proof{Evidence: d.ev, Ranges: rs}
	if p.Entries, err = readEntries(ctx, opts.Table, rs, positions); err != nil {
		return nil, err
	}
	for g, s := range d.schemes {
		pg := ProofGeneration{}
		if pg.Commitments, err = d.readRecords(genFile("commitments", g, "bin"), nil, rs, s.CommitmentSize(), d.sh.n); err != nil {
			return nil, err
		}
		if pg.Openings, err = d.openings(g, opts.Identity, positions); err != nil {
			return nil, err
		}
		p.Generations = append(p.Generations, pg)
	}
	var msg []byte
	for i, pos := range positions {
		for g, s := range d.schemes {
			var prev []byte
			if g > 0 {
				prev = p.Generations[g-1].Openings[i]
			}
			msg = message(msg[:0], p.Entries[i], prev)
			if !s.Verify(p.Generations[g].Commitments[i], p.Generations[g].Openings[i], msg) {
				return nil, fmt.Errorf("integrity: the data given does not match the protected data at %s (generation %d): is it the same file?", d.ev.Layout.Name(pos), g)
			}
		}
	}
	clear(msg)
	if p.Paths, err = d.siblings(ctx, positions); err != nil {
		return nil, err
	}
	return p, nil
}

// readEntries returns the entries at positions (nil where empty).
func readEntries(ctx context.Context, t Table, rs []Range, positions []uint64) ([][]byte, error) {
	out := make([][]byte, len(positions))
	l := t.Layout()
	if er, ok := t.(EntryReader); ok {
		for i, pos := range positions {
			e, err := er.EntryAt(pos)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	}
	end := rs[len(rs)-1].End
	next := uint64(0)
	// idx maps a position to its index in positions by walking the ranges.
	ri, base := 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pos, e, err := t.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if pos < next || pos >= l.Positions() {
			return nil, fmt.Errorf("integrity: the table gives %s after position %d: entries must be in increasing order within the layout", l.Name(pos), next)
		}
		next = pos + 1
		if pos >= end {
			break
		}
		for ri < len(rs) && pos >= rs[ri].End {
			base += int(rs[ri].Len())
			ri++
		}
		if pos >= rs[ri].Start {
			if len(e) == 0 || len(e) > maxEntrySize {
				return nil, fmt.Errorf("integrity: the entry at %s is %d bytes (must be 1..%d)", l.Name(pos), len(e), maxEntrySize)
			}
			out[base+int(pos-rs[ri].Start)] = e
		}
	}
	return out, nil
}

// openings derives generation g's openings at positions (in increasing
// order) from the keys of their chunks, the only part of the keys file
// it decrypts.
func (d *Dataset) openings(g int, id crypt4gh.Identity, positions []uint64) ([][]byte, error) {
	cut := d.sh.cut
	var chunks []Range
	for _, p := range positions {
		c := p >> cut
		switch n := len(chunks); {
		case n > 0 && chunks[n-1].End > c:
		case n > 0 && chunks[n-1].End == c:
			chunks[n-1].End++
		default:
			chunks = append(chunks, Range{c, c + 1})
		}
	}
	keys, err := d.readRecords(keysFile(g), id, chunks, commit.OpeningKeySize, d.sh.chunks())
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, k := range keys {
			clear(k)
		}
	}()
	s := d.schemes[g]
	os := s.OpeningSize()
	out := make([][]byte, len(positions))
	ki := -1
	var rnd io.Reader
	for i, p := range positions {
		c := p >> cut
		if i == 0 || c != positions[i-1]>>cut {
			ki++
			rnd = nil
		}
		if rnd == nil || p != positions[i-1]+1 {
			// The stream of p's chunk, from p's opening on.
			rnd = commit.NewOpeningStream((*[commit.OpeningKeySize]byte)(keys[ki]), (p-c<<cut)*uint64(os))
		}
		out[i] = make([]byte, os)
		if err := readOpenings(s, rnd, out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readRecords reads the records at rs from a dataset file of count
// fixed-size records, decrypting it with id if it is encrypted.
func (d *Dataset) readRecords(name string, id crypt4gh.Identity, rs []Range, size int, count uint64) ([][]byte, error) {
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, fmt.Errorf("integrity: %w", err)
	}
	defer f.Close()
	var r io.ReaderAt = f
	if id != nil {
		fi, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("integrity: %w", err)
		}
		ra, err := crypt4gh.DecryptReaderAt(f, fi.Size(), id)
		if err != nil {
			return nil, fmt.Errorf("integrity: decrypting %s: %w", name, err)
		}
		if ra.Size() != int64(count)*int64(size) {
			return nil, fmt.Errorf("integrity: %s holds %d bytes, want %d", name, ra.Size(), int64(count)*int64(size))
		}
		r = ra
	}
	out := make([][]byte, 0, countPositions(rs))
	for _, rg := range rs {
		buf := make([]byte, int(rg.Len())*size)
		if _, err := r.ReadAt(buf, int64(rg.Start)*int64(size)); err != nil {
			return nil, fmt.Errorf("integrity: reading %s: %w", name, err)
		}
		for k := range int(rg.Len()) {
			out = append(out, buf[k*size:(k+1)*size:(k+1)*size])
		}
	}
	return out, nil
}

// siblings returns, per tree, the sibling hashes a proof for positions
// carries: below the cache level from the rebuilt chunks that hold the
// positions, above it from the tree caches.
func (d *Dataset) siblings(ctx context.Context, positions []uint64) ([][][]byte, error) {
	pl := d.sh.plan(positions)
	paths := make([][][]byte, len(d.trees))
	for t := range paths {
		paths[t] = make([][]byte, len(pl.sibs))
	}
	cut := d.sh.cut
	// Group the low siblings by chunk.
	byChunk := map[uint64][]int{}
	var chunks []uint64
	for i, s := range pl.sibs {
		if s.level >= cut {
			continue
		}
		c := s.index >> (cut - s.level)
		if _, ok := byChunk[c]; !ok {
			chunks = append(chunks, c)
		}
		byChunk[c] = append(byChunk[c], i)
	}
	slices.Sort(chunks)
	files := make([]*os.File, len(d.gens))
	for g := range d.gens {
		f, err := os.Open(d.path(genFile("commitments", g, "bin")))
		if err != nil {
			return nil, fmt.Errorf("integrity: %w", err)
		}
		defer f.Close()
		files[g] = f
	}
	builders := make([]chunkBuilder, len(d.trees))
	commits := make([][]byte, len(d.gens))
	for _, c := range chunks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lo, hi := d.sh.chunkSpan(c)
		for g, f := range files {
			cs := d.schemes[g].CommitmentSize()
			commits[g] = slices.Grow(commits[g][:0], int(hi-lo)*cs)[:int(hi-lo)*cs]
			if _, err := f.ReadAt(commits[g], int64(lo)*int64(cs)); err != nil {
				return nil, fmt.Errorf("integrity: reading commitments of generation %d: %w", g, err)
			}
		}
		var prev [][]byte
		phs := 0
		for t, tr := range d.trees {
			levels := builders[t].build(tr.hash, cut, lo, int(hi-lo), commits[tr.gen], d.schemes[tr.gen].CommitmentSize(), prev, phs)
			hs := tr.hash.Size()
			for _, i := range byChunk[c] {
				s := pl.sibs[i]
				local := s.index - c<<(cut-s.level)
				paths[t][i] = slices.Clone(levels[s.level][int(local)*hs : int(local+1)*hs])
			}
			prev, phs = levels, hs
		}
	}
	// The high siblings, from the caches.
	for t, tr := range d.trees {
		f, err := os.Open(d.path(genFile("tree", t, "cache")))
		if err != nil {
			return nil, fmt.Errorf("integrity: %w", err)
		}
		defer f.Close()
		hs := tr.hash.Size()
		for i, s := range pl.sibs {
			if s.level < cut {
				continue
			}
			v := make([]byte, hs)
			if _, err := f.ReadAt(v, int64(d.sh.topOffset(s.level, s.index))*int64(hs)); err != nil {
				return nil, fmt.Errorf("integrity: reading the cache of tree %d: %w", t, err)
			}
			paths[t][i] = v
		}
	}
	return paths, nil
}
