package integrity

import (
	"bytes"
	"crypto"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
)

// refLevels computes every level of a (possibly chained) tree naively.
func refLevels(h Hash, commits [][]byte, prev [][][]byte) [][][]byte {
	var lbuf [maxLeafInput]byte
	var nbuf [nodeBufSize]byte
	var levels [][][]byte
	var cur [][]byte
	for i, c := range commits {
		var p []byte
		if prev != nil {
			p = prev[0][i]
		}
		d := make([]byte, h.Size())
		h.hashLeaf(d, lbuf[:], uint64(i), c, p)
		cur = append(cur, d)
	}
	levels = append(levels, cur)
	for l := 0; len(cur) > 1; l++ {
		var next [][]byte
		for k := 0; 2*k < len(cur); k++ {
			if 2*k+1 == len(cur) {
				next = append(next, cur[2*k])
				continue
			}
			var p []byte
			if prev != nil {
				p = prev[l+1][k]
			}
			d := make([]byte, h.Size())
			h.hashNode(d, nbuf[:], cur[2*k], cur[2*k+1], p)
			next = append(next, d)
		}
		levels = append(levels, next)
		cur = next
	}
	return levels
}

// TestFirstTreeIsRFC6962 checks a first tree against an independent RFC
// 6962 implementation (transparency-dev/merkle) on the same leaf data.
func TestFirstTreeIsRFC6962(t *testing.T) {
	th := rfc6962.New(crypto.SHA256)
	for _, n := range []int{1, 2, 3, 5, 7, 8, 9, 31, 100, 1025} {
		commits := randCommits(n, 32, uint64(n))
		leafHashes := make([][]byte, n)
		for i, c := range commits {
			data := append([]byte("pos"), binary.BigEndian.AppendUint64(nil, uint64(i))...)
			leafHashes[i] = th.HashLeaf(append(data, c...))
		}
		want := rfcRoot(th, leafHashes)
		got := refLevels(SHA256, commits, nil)
		if root := got[len(got)-1][0]; !bytes.Equal(root, want) {
			t.Fatalf("n=%d: root %x, RFC 6962 gives %x", n, root, want)
		}
	}
}

func rfcRoot(th *rfc6962.Hasher, leaves [][]byte) []byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return th.HashChildren(rfcRoot(th, leaves[:k]), rfcRoot(th, leaves[k:]))
}

func randCommits(n, size int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
		for j := range out[i] {
			out[i][j] = byte(r.Uint32())
		}
	}
	return out
}

// TestTreeEngines checks the chunked builder plus top (what Protect and
// PartialProof use) and the verifier's multi-leaf recomputation against
// the naive reference, for chained trees of mixed hashes, many sizes, cache
// levels and position sets.
func TestTreeEngines(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	hashes := []Hash{SHA256, SHA512, SHA3_256}
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 33, 100, 257, 1000} {
		for _, cut := range []int{0, 1, 2, 5, 10} {
			sh, err := newShape(uint64(n), cut)
			if err != nil {
				t.Fatal(err)
			}
			commits := [][][]byte{randCommits(n, 64, uint64(n)), randCommits(n, 32, uint64(n+1))}
			gens := []int{0, 0, 1}
			var ref [][][][]byte
			var tops [][]byte
			for ti, h := range hashes {
				var prev [][][]byte
				var prevTop []byte
				phs := 0
				if ti > 0 {
					prev, prevTop, phs = ref[ti-1], tops[ti-1], hashes[ti-1].Size()
				}
				lv := refLevels(h, commits[gens[ti]], prev)
				ref = append(ref, lv)
				// Chunked build.
				builders := make([]chunkBuilder, ti+1)
				var roots []byte
				for c := uint64(0); c < sh.chunks(); c++ {
					lo, hi := sh.chunkSpan(c)
					var pl [][]byte
					pphs := 0
					for tj := 0; tj <= ti; tj++ {
						flat := bytes.Join(commits[gens[tj]][lo:hi], nil)
						pl = builders[tj].build(hashes[tj], sh.cut, lo, int(hi-lo), flat, len(commits[gens[tj]][0]), pl, pphs)
						pphs = hashes[tj].Size()
					}
					roots = append(roots, pl[sh.cut]...)
				}
				top := sh.buildTop(h, roots, prevTop, phs)
				tops = append(tops, top)
				if got, want := top[len(top)-h.Size():], lv[len(lv)-1][0]; !bytes.Equal(got, want) {
					t.Fatalf("n=%d cut=%d tree %d: chunked root %x, want %x", n, cut, ti, got, want)
				}
				for l := sh.cut; l <= sh.depth(); l++ {
					for i, node := range lv[l] {
						o := int(sh.topOffset(l, uint64(i))) * h.Size()
						if !bytes.Equal(top[o:o+h.Size()], node) {
							t.Fatalf("n=%d cut=%d tree %d: cache node (%d,%d) differs", n, cut, ti, l, i)
						}
					}
				}
			}
			// Multi-leaf proofs for random position sets.
			for trial := 0; trial < 5; trial++ {
				var pos []uint64
				for i := 0; i < n; i++ {
					if r.IntN(4) == 0 || (trial == 0 && i == n-1) {
						pos = append(pos, uint64(i))
					}
				}
				if len(pos) == 0 {
					pos = []uint64{uint64(r.IntN(n))}
				}
				pl := sh.plan(pos)
				var prev [][]byte
				phs := 0
				for ti, h := range hashes {
					leaves := make([]byte, 0, len(pos)*h.Size())
					for _, p := range pos {
						leaves = append(leaves, ref[ti][0][p]...)
					}
					var sibs [][]byte
					for _, s := range pl.sibs {
						sibs = append(sibs, ref[ti][s.level][s.index])
					}
					vals, err := sh.recompute(h, pl, leaves, sibs, prev, phs)
					if err != nil {
						t.Fatal(err)
					}
					if got, want := vals[sh.depth()], ref[ti][len(ref[ti])-1][0]; !bytes.Equal(got, want) {
						t.Fatalf("n=%d positions %v tree %d: recomputed root differs", n, pos, ti)
					}
					if len(sibs) > 0 {
						bad := append([][]byte(nil), sibs...)
						bad[0] = bytes.Repeat([]byte{1}, h.Size())
						vals, _ := sh.recompute(h, pl, leaves, bad, prev, phs)
						if bytes.Equal(vals[sh.depth()], ref[ti][len(ref[ti])-1][0]) {
							t.Fatalf("n=%d: a changed sibling still gives the root", n)
						}
					}
					prev, phs = vals, h.Size()
				}
			}
		}
	}
}

func TestPlanSizes(t *testing.T) {
	sh, _ := newShape(3_100_000_000, defaultCut)
	for _, c := range []struct {
		name string
		pos  []uint64
		max  int
	}{
		{"one position", []uint64{1_234_567_890}, 32},
		{"1 kbp region", expand([]Range{{1000, 2000}}), 2 * 32},
	} {
		pl := sh.plan(c.pos)
		if len(pl.sibs) > c.max || len(pl.sibs) == 0 {
			t.Errorf("%s: %d siblings, want 1..%d", c.name, len(pl.sibs), c.max)
		}
		t.Log(c.name, fmt.Sprint(len(pl.sibs)), "siblings")
	}
}
