package integrity

import (
	"errors"
	"fmt"
)

// The trees have the shape of RFC 6962: at every level, pairs of
// neighbours are hashed and a lone last node is carried up unchanged. Level
// 0 holds the N leaves, level l has width(l) = ⌈N/2^l⌉ nodes and the root
// is the single node of the top level. A first tree (no previous tree to
// bind) has exactly the RFC 6962 root of its leaf data.
//
// The levels from cut upwards are the top-of-tree cache stored with a
// dataset; the subtree under a level-cut node (a "chunk" of 2^cut leaves)
// is rebuilt from the stored commitments whenever a proof needs it.

// defaultCut is the number of bottom levels the cache leaves out: chunks
// of 1024 leaves, rebuilt in well under a millisecond, and a cache of
// about 2·N/1024 nodes (0.2 GB for a human genome with 32-byte hashes).
const defaultCut = 10

// maxCut bounds the cache level a manifest may ask for.
const maxCut = 24

// shape describes a tree of n ≥ 1 leaves.
type shape struct {
	n      uint64
	widths []uint64 // widths[l] for l = 0..depth; widths[depth] == 1
	cut    int      // the lowest cached level: min(requested, depth)
}

func newShape(n uint64, cut int) (shape, error) {
	if n == 0 {
		return shape{}, errors.New("integrity: a table needs at least one position")
	}
	if n > maxPositions {
		return shape{}, fmt.Errorf("integrity: %d positions is more than the limit of %d", n, uint64(maxPositions))
	}
	s := shape{n: n, widths: []uint64{n}}
	for w := n; w > 1; {
		w = (w + 1) / 2
		s.widths = append(s.widths, w)
	}
	s.cut = min(cut, s.depth())
	return s, nil
}

func (s shape) depth() int { return len(s.widths) - 1 }

// chunks is the number of level-cut subtrees.
func (s shape) chunks() uint64 { return s.widths[s.cut] }

// chunksIn is the number of chunks holding positions lo..hi-1, lo being
// the start of a chunk.
func (s shape) chunksIn(lo, hi uint64) uint64 { return (hi - lo + 1<<s.cut - 1) >> s.cut }

// chunkSpan returns the leaves [lo, hi) under chunk c.
func (s shape) chunkSpan(c uint64) (lo, hi uint64) {
	lo = c << s.cut
	return lo, min(s.n, lo+1<<s.cut)
}

// topNodes is the number of nodes in the cached levels cut..depth.
func (s shape) topNodes() uint64 {
	var t uint64
	for _, w := range s.widths[s.cut:] {
		t += w
	}
	return t
}

// topOffset is the index, within the cached levels, of node i of level l
// (l ≥ cut).
func (s shape) topOffset(l int, i uint64) uint64 {
	var t uint64
	for _, w := range s.widths[s.cut:l] {
		t += w
	}
	return t + i
}

// chunkBuilder computes the levels 0..cut of one chunk of one tree. Its
// buffers are reused from chunk to chunk; a builder is used by one
// goroutine.
type chunkBuilder struct {
	levels [][]byte
	counts []int
	lbuf   [maxLeafInput]byte
	nbuf   [nodeBufSize]byte
}

// build hashes the chunk whose first leaf is lo, from count commitments
// of csize bytes each, into levels 0..cut. prev holds the levels of the
// same chunk in the previous tree (nil for a first tree), whose hashes are
// phs bytes. The result
// aliases b's buffers and is valid until the next call.
func (b *chunkBuilder) build(h Hash, cut int, lo uint64, count int, commits []byte, csize int, prev [][]byte, phs int) [][]byte {
	hs := h.Size()
	if len(b.levels) != cut+1 {
		b.levels = make([][]byte, cut+1)
		b.counts = make([]int, cut+1)
	}
	cnt := count
	for l := 0; l <= cut; l++ {
		if need := cnt * hs; cap(b.levels[l]) < need {
			b.levels[l] = make([]byte, need)
		} else {
			b.levels[l] = b.levels[l][:need]
		}
		b.counts[l] = cnt
		cnt = (cnt + 1) / 2
	}
	leaves := b.levels[0]
	for k := 0; k < count; k++ {
		var p []byte
		if prev != nil {
			p = prev[0][k*phs : (k+1)*phs]
		}
		h.hashLeaf(leaves[k*hs:(k+1)*hs], b.lbuf[:], lo+uint64(k), commits[k*csize:(k+1)*csize], p)
	}
	for l := 0; l < cut; l++ {
		below, above := b.levels[l], b.levels[l+1]
		nb := b.counts[l]
		for k := 0; k < b.counts[l+1]; k++ {
			dst := above[k*hs : (k+1)*hs]
			left := below[2*k*hs : (2*k+1)*hs]
			if 2*k+1 >= nb {
				copy(dst, left) // lone last node: carried up
				continue
			}
			var p []byte
			if prev != nil {
				p = prev[l+1][k*phs : (k+1)*phs]
			}
			h.hashNode(dst, b.nbuf[:], left, below[(2*k+1)*hs:(2*k+2)*hs], p)
		}
	}
	return b.levels
}

// buildTop computes the cached levels cut..depth of a tree from its chunk
// roots (level cut, concatenated), binding prevTop (the previous tree's
// cached levels in topOffset order, phs bytes a node, or nil). It returns the levels in
// topOffset order; the root is the last node.
func (s shape) buildTop(h Hash, roots, prevTop []byte, phs int) []byte {
	hs := h.Size()
	top := make([]byte, 0, int(s.topNodes())*hs)
	top = append(top, roots...)
	var nbuf [nodeBufSize]byte
	start := 0 // offset of level l in top
	for l := s.cut; l < s.depth(); l++ {
		nb, na := s.widths[l], s.widths[l+1]
		next := len(top)
		po := s.topOffset(l+1, 0)
		for k := uint64(0); k < na; k++ {
			left := top[start+int(2*k)*hs : start+int(2*k+1)*hs]
			if 2*k+1 >= nb {
				top = append(top, left...)
				continue
			}
			right := top[start+int(2*k+1)*hs : start+int(2*k+2)*hs]
			var p []byte
			if prevTop != nil {
				o := int(po+k) * phs
				p = prevTop[o : o+phs]
			}
			var dst [maxHashSize]byte
			h.hashNode(dst[:hs], nbuf[:], left, right, p)
			top = append(top, dst[:hs]...)
		}
		start = next
	}
	return top
}

// plan lists what a proof for the given leaves (sorted, distinct, < n)
// holds and computes: known[l] are the nodes of level l the verifier
// derives, sibs the nodes the proof must carry, level by level and in
// increasing index order within a level.
type plan struct {
	known [][]uint64
	sibs  []nodeRef
}

type nodeRef struct {
	level int
	index uint64
}

func (s shape) plan(leaves []uint64) plan {
	p := plan{known: make([][]uint64, s.depth()+1)}
	p.known[0] = leaves
	for l := 0; l < s.depth(); l++ {
		cur := p.known[l]
		next := make([]uint64, 0, (len(cur)+1)/2+1)
		for k := 0; k < len(cur); k++ {
			j := cur[k]
			switch {
			case j%2 == 0 && k+1 < len(cur) && cur[k+1] == j+1:
				k++ // both children known
			case j%2 == 0 && j+1 < s.widths[l]:
				p.sibs = append(p.sibs, nodeRef{l, j + 1})
			case j%2 == 0:
				// lone last node, carried up
			default:
				p.sibs = append(p.sibs, nodeRef{l, j - 1})
			}
			next = append(next, j/2)
		}
		p.known[l+1] = next
	}
	return p
}

// recompute derives the known nodes of one tree from its leaf hashes
// (aligned with known[0]) and the proof's siblings, binding prev (the
// previous tree's known nodes, phs bytes each, or nil). It returns the known nodes of
// every level; the root is vals[depth]. It fails if sibs has the wrong
// number of nodes.
func (s shape) recompute(h Hash, p plan, leaves []byte, sibs [][]byte, prev [][]byte, phs int) ([][]byte, error) {
	hs := h.Size()
	if len(sibs) != len(p.sibs) {
		return nil, fmt.Errorf("%w: %d sibling hashes, the positions need %d", ErrPath, len(sibs), len(p.sibs))
	}
	for i, sb := range sibs {
		if len(sb) != hs {
			return nil, fmt.Errorf("%w: sibling %d is %d bytes, %s needs %d", ErrPath, i, len(sb), h, hs)
		}
	}
	vals := make([][]byte, s.depth()+1)
	vals[0] = leaves
	var nbuf [nodeBufSize]byte
	si := 0
	for l := 0; l < s.depth(); l++ {
		cur, v := p.known[l], vals[l]
		out := make([]byte, 0, len(p.known[l+1])*hs)
		for k := 0; k < len(cur); k++ {
			j := cur[k]
			mine := v[k*hs : (k+1)*hs]
			var left, right []byte
			switch {
			case j%2 == 0 && k+1 < len(cur) && cur[k+1] == j+1:
				left, right = mine, v[(k+1)*hs:(k+2)*hs]
				k++
			case j%2 == 0 && j+1 < s.widths[l]:
				left, right = mine, sibs[si]
				si++
			case j%2 == 0:
				out = append(out, mine...)
				continue
			default:
				left, right = sibs[si], mine
				si++
			}
			var pn []byte
			if prev != nil {
				o := (len(out) / hs) * phs
				pn = prev[l+1][o : o+phs]
			}
			var dst [maxHashSize]byte
			h.hashNode(dst[:hs], nbuf[:], left, right, pn)
			out = append(out, dst[:hs]...)
		}
		vals[l+1] = out
	}
	return vals, nil
}
