package crypt4gh_test

// Attacks on v2 files (doc/crypt4gh-v2.md sections 4, 5, 7, 11). Each
// asserts the specific error class and, for payload attacks, that no
// plaintext of a bad segment is released: readers output exactly the
// plaintext of the segments before the damage.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
)

// v2Expect is what every reading path must do with a damaged file.
type v2Expect struct {
	target    error  // error class (streaming readers, and random access unless raTarget)
	msg       string // text the error must contain ("" for any)
	raTarget  error  // random-access class, if it differs
	raMsg     string // random-access text, if target differs
	streamOut int    // plaintext bytes the streaming readers release before failing
	raAtOpen  bool   // DecryptReaderAt fails when opening (it checks the end up front)
	raOut     int    // otherwise: bytes ReadAt returns before failing
}

// v2CheckAttack runs data through every reading path and checks exp.
func v2CheckAttack(t *testing.T, what string, data, pt []byte, exp v2Expect, opts crypt4gh.DecryptOptions, ids ...crypt4gh.Identity) {
	t.Helper()
	for _, r := range v2ReadPaths(data, opts, ids...) {
		ra := strings.HasPrefix(r.path, "readerat")
		target, msg := exp.target, exp.msg
		if ra && exp.raTarget != nil {
			target, msg = exp.raTarget, exp.raMsg
		}
		if r.err == nil {
			t.Fatalf("%s: %s: accepted (%d bytes out)", what, r.path, len(r.out))
		}
		if !errors.Is(r.err, target) {
			t.Fatalf("%s: %s: error %q, want one wrapping %q", what, r.path, r.err, target)
		}
		if !strings.Contains(r.err.Error(), msg) {
			t.Fatalf("%s: %s: error %q does not contain %q", what, r.path, r.err, msg)
		}
		if !ra {
			if !bytes.Equal(r.out, pt[:exp.streamOut]) {
				t.Fatalf("%s: %s: released %d bytes, want exactly the %d before the damage", what, r.path, len(r.out), exp.streamOut)
			}
			continue
		}
		if r.atOpen != exp.raAtOpen {
			t.Fatalf("%s: %s: failed at open = %v, want %v (%v)", what, r.path, r.atOpen, exp.raAtOpen, r.err)
		}
		if r.atOpen {
			continue
		}
		// ReadAt returns exactly the bytes before the damage.
		p := append(bytes.Clone(r.out), r.rest...)
		if !bytes.Equal(r.out, pt[:exp.raOut]) {
			t.Fatalf("%s: %s: ReadAt returned %d bytes, want the %d before the damage", what, r.path, len(r.out), exp.raOut)
		}
		// No byte of the bad segment is in the buffer (the AEADs zero
		// their output on failure, and nothing after it is read).
		bad := p[exp.raOut:min(len(p), exp.raOut+segSize)]
		if !bytes.Equal(bad, make([]byte, len(bad))) {
			t.Fatalf("%s: %s: the read buffer holds bytes of the rejected segment", what, r.path)
		}
	}
}

// v2File is an encrypted file cut into its parts.
type v2File struct {
	pt, ct []byte
	hs     int
	segs   [][]byte
}

func v2NewFile(t testing.TB, pt []byte, opts crypt4gh.EncryptOptions, rs ...crypt4gh.Recipient) v2File {
	t.Helper()
	ct := encryptBytes(t, pt, opts, rs...)
	_, hs, err := crypt4gh.ParseHeader(ct)
	if err != nil {
		t.Fatal(err)
	}
	return v2File{pt: pt, ct: ct, hs: hs, segs: v2Split(ct[hs:])}
}

// with returns the header followed by the given segments.
func (f v2File) with(segs ...[]byte) []byte {
	out := bytes.Clone(f.ct[:f.hs])
	for _, s := range segs {
		out = append(out, s...)
	}
	return out
}

// pick returns f's segments at the given indexes.
func (f v2File) pick(idx ...int) [][]byte {
	var out [][]byte
	for _, i := range idx {
		out = append(out, f.segs[i])
	}
	return out
}

func seq(from, to int) []int { // [from, to)
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

func cat(parts ...[]int) []int {
	var out []int
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestV2AttackPayload: truncation, drop, swap, duplicate, moved final,
// appended data and splicing, for both sealed methods, on a file whose final
// segment is short (A) and one whose final segment is full (B).
func TestV2AttackPayload(t *testing.T) {
	id := newID(t)
	for _, m := range v2SealedMethods {
		opts := crypt4gh.EncryptOptions{DataMethod: m.method}
		for _, shape := range []struct {
			name string
			n    int
		}{{"short-final", 5*segSize + 1000}, {"full-final", 6 * segSize}} {
			t.Run(m.name+"/"+shape.name, func(t *testing.T) {
				f := v2NewFile(t, pseudoRandom(shape.n, uint64(shape.n)+uint64(m.method)), opts, id.Recipient())
				splice := v2NewFile(t, f.pt, opts, id.Recipient()) // same plaintext, same reader, other key
				v2AttackPayload(t, f, splice, shape.n%segSize == 0, id)
			})
		}
	}
}

func v2AttackPayload(t *testing.T, f, splice v2File, fullFinal bool, id *crypt4gh.X25519Identity) {
	const N = 6
	if len(f.segs) != N {
		t.Fatalf("%d segments, want %d", len(f.segs), N)
	}
	S := segSize
	check := func(what string, idx []int, exp v2Expect) {
		t.Helper()
		v2CheckAttack(t, what, f.with(f.pick(idx...)...), f.pt, exp, crypt4gh.DecryptOptions{}, id)
	}
	order := func(pos, found int) string { return fmt.Sprintf("position %d is segment %d", pos, found) }
	authAt := func(pos int) string { return fmt.Sprintf("data segment %d failed authentication", pos) }
	v2MustDecrypt(t, "intact", f.ct, crypt4gh.DecryptOptions{}, f.pt, id)

	// Truncation at every segment boundary: no final segment. The last
	// segment present authenticates only as non-final, so it is withheld.
	for k := 0; k < N; k++ {
		check(fmt.Sprintf("cut after %d segments", k), seq(0, k), v2Expect{
			target: crypt4gh.ErrTruncated, msg: "truncated stream", streamOut: max(0, k-1) * S, raAtOpen: true})
	}
	// Truncation inside segments: inside the nonce or tag framing it is
	// ErrTruncated; inside the ciphertext the cut segment cannot be told
	// from a modified final segment, so it is ErrAuthentication.
	for k := 0; k < N; k++ {
		for _, r := range []int{1, 12, 27, 28, 29, 1000, len(f.segs[k]) - 16, len(f.segs[k]) - 1} {
			if r >= len(f.segs[k]) {
				continue
			}
			data := append(f.with(f.pick(seq(0, k)...)...), f.segs[k][:r]...)
			exp := v2Expect{target: crypt4gh.ErrTruncated, msg: fmt.Sprintf("data segment %d has only %d bytes", k, r), streamOut: k * S, raAtOpen: true}
			if r >= 28 {
				exp = v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(k), streamOut: k * S, raAtOpen: true}
			}
			v2CheckAttack(t, fmt.Sprintf("cut inside segment %d at %d", k, r), data, f.pt, exp, crypt4gh.DecryptOptions{}, id)
		}
	}
	// Drop a segment: the next one shows up at its position.
	for j := 0; j < N-1; j++ {
		check(fmt.Sprintf("drop %d", j), cat(seq(0, j), seq(j+1, N)), v2Expect{
			target: crypt4gh.ErrSegmentOrder, msg: order(j, j+1), streamOut: j * S,
			raTarget: crypt4gh.ErrSegmentOrder, raMsg: order(N-2, N-1), raAtOpen: true})
	}
	// Swap two neighbours before the final segment.
	for j := 0; j < N-2; j++ {
		idx := seq(0, N)
		idx[j], idx[j+1] = idx[j+1], idx[j]
		check(fmt.Sprintf("swap %d,%d", j, j+1), idx, v2Expect{
			target: crypt4gh.ErrSegmentOrder, msg: order(j, j+1), streamOut: j * S, raOut: j * S})
	}
	// Duplicate a segment.
	for j := 0; j < N-1; j++ {
		check(fmt.Sprintf("duplicate %d", j), cat(seq(0, j+1), []int{j}, seq(j+1, N)), v2Expect{
			target: crypt4gh.ErrSegmentOrder, msg: order(j+1, j), streamOut: (j + 1) * S,
			raTarget: crypt4gh.ErrSegmentOrder, raMsg: order(N, N-1), raAtOpen: true})
	}
	// Splice a segment of another file for the same reader (same
	// plaintext, another data key).
	for j := 0; j < N; j++ {
		data := f.with(append(f.pick(seq(0, j)...), append([][]byte{splice.segs[j]}, f.pick(seq(j+1, N)...)...)...)...)
		v2CheckAttack(t, fmt.Sprintf("splice %d", j), data, f.pt, v2Expect{
			target: crypt4gh.ErrAuthentication, msg: authAt(j), streamOut: j * S, raAtOpen: j == N-1, raOut: j * S}, crypt4gh.DecryptOptions{}, id)
	}
	// The whole payload of the other file under this header.
	v2CheckAttack(t, "other payload", f.with(splice.segs...), f.pt, v2Expect{
		target: crypt4gh.ErrAuthentication, msg: authAt(0), raTarget: crypt4gh.ErrAuthentication, raMsg: authAt(N - 1), raAtOpen: true}, crypt4gh.DecryptOptions{}, id)

	// Attacks that move the final segment. With a full final segment the
	// framing stays aligned and the reader names the misplaced segment;
	// with a short one the framing breaks and the segment that straddles
	// it fails authentication.
	swapFinal := cat(seq(0, N-2), []int{N - 1, N - 2})
	moveFinal := cat([]int{0, 1, N - 1}, seq(2, N-1))
	appendCopy := cat(seq(0, N), []int{1})
	dupFinal := cat(seq(0, N), []int{N - 1})
	junk := func(n int) []byte { return append(bytes.Clone(f.ct), bytes.Repeat([]byte{0xa5}, n)...) }
	finalThenMore := fmt.Sprintf("data segment %d is the final segment but more data follows", N-1)
	if fullFinal {
		check("swap final", swapFinal, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: order(N-2, N-1), streamOut: (N - 2) * S,
			raTarget: crypt4gh.ErrSegmentOrder, raMsg: order(N-1, N-2), raAtOpen: true})
		check("move final to 2", moveFinal, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: order(2, N-1), streamOut: 2 * S,
			raTarget: crypt4gh.ErrSegmentOrder, raMsg: order(N-1, N-2), raAtOpen: true})
		check("copy after final", appendCopy, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: finalThenMore, streamOut: (N - 1) * S,
			raTarget: crypt4gh.ErrSegmentOrder, raMsg: order(N, 1), raAtOpen: true})
		check("duplicate final", dupFinal, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: finalThenMore, streamOut: (N - 1) * S,
			raTarget: crypt4gh.ErrSegmentOrder, raMsg: order(N, N-1), raAtOpen: true})
		v2CheckAttack(t, "10 bytes after final", junk(10), f.pt, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: finalThenMore, streamOut: (N - 1) * S,
			raTarget: crypt4gh.ErrTruncated, raMsg: fmt.Sprintf("data segment %d has only 10 bytes", N), raAtOpen: true}, crypt4gh.DecryptOptions{}, id)
		v2CheckAttack(t, "100 bytes after final", junk(100), f.pt, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: finalThenMore, streamOut: (N - 1) * S,
			raTarget: crypt4gh.ErrAuthentication, raMsg: authAt(N), raAtOpen: true}, crypt4gh.DecryptOptions{}, id)
	} else {
		check("swap final", swapFinal, v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(N - 2), streamOut: (N - 2) * S,
			raTarget: crypt4gh.ErrAuthentication, raMsg: authAt(N - 1), raAtOpen: true})
		check("move final to 2", moveFinal, v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(2), streamOut: 2 * S,
			raTarget: crypt4gh.ErrAuthentication, raMsg: authAt(N - 1), raAtOpen: true})
		check("copy after final", appendCopy, v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(N - 1), streamOut: (N - 1) * S,
			raTarget: crypt4gh.ErrAuthentication, raMsg: authAt(N), raAtOpen: true})
		check("duplicate final", dupFinal, v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(N - 1), streamOut: (N - 1) * S, raAtOpen: true})
		for _, n := range []int{10, 100} {
			v2CheckAttack(t, fmt.Sprintf("%d bytes after final", n), junk(n), f.pt, v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(N - 1),
				streamOut: (N - 1) * S, raAtOpen: true}, crypt4gh.DecryptOptions{}, id)
		}
	}
}

// TestV2AttackSegmentMap: the same attacks on rearranged (segment-mapped)
// files, one without the final segment and one with it.
func TestV2AttackSegmentMap(t *testing.T) {
	id := newID(t)
	S := segSize
	for _, m := range v2SealedMethods {
		for _, fullFinal := range []bool{false, true} {
			n := 5*S + 1000
			if fullFinal {
				n = 6 * S
			}
			t.Run(fmt.Sprintf("%s/full-final=%v", m.name, fullFinal), func(t *testing.T) {
				f := v2NewFile(t, pseudoRandom(n, uint64(n)), crypt4gh.EncryptOptions{DataMethod: m.method}, id.Recipient())
				rearr := func(rg crypt4gh.Range, want []int) v2File {
					var out bytes.Buffer
					if err := crypt4gh.RearrangeReaderAt(&out, bytes.NewReader(f.ct), int64(len(f.ct)), []crypt4gh.Identity{id}, []crypt4gh.Recipient{id.Recipient()}, rg); err != nil {
						t.Fatal(err)
					}
					_, hs, c := v2Parse(t, out.Bytes(), id)
					r := v2File{pt: v2Cut(f.pt, rg), ct: out.Bytes(), hs: hs, segs: v2Split(out.Bytes()[hs:])}
					if c.SegmentMap == nil || len(r.segs) != len(want) {
						t.Fatalf("rearranged to %v: map %v, %d segments", rg, c.SegmentMap, len(r.segs))
					}
					for i, w := range want {
						if !bytes.Equal(r.segs[i], f.segs[w]) {
							t.Fatalf("rearranged segment %d is not original segment %d", i, w)
						}
					}
					v2MustDecrypt(t, "rearranged", r.ct, crypt4gh.DecryptOptions{}, r.pt, id)
					return r
				}
				order := func(pos, found int) string { return fmt.Sprintf("position %d is segment %d", pos, found) }
				authAt := func(pos int) string { return fmt.Sprintf("data segment %d failed authentication", pos) }
				check := func(r v2File, what string, idx []int, exp v2Expect) {
					t.Helper()
					v2CheckAttack(t, what, r.with(r.pick(idx...)...), r.pt, exp, crypt4gh.DecryptOptions{}, id)
				}

				// Segments 1..4 of 6: the final one is not there.
				r1 := rearr(crypt4gh.Range{Start: int64(S), End: int64(5 * S)}, []int{1, 2, 3, 4})
				for k := 0; k < 4; k++ {
					check(r1, fmt.Sprintf("map 1-4: cut after %d", k), seq(0, k), v2Expect{
						target: crypt4gh.ErrTruncated, msg: "the segment map lists 4", streamOut: k * S, raAtOpen: true})
				}
				check(r1, "map 1-4: swap 0,1", []int{1, 0, 2, 3}, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: order(0, 2)})
				check(r1, "map 1-4: drop 1", []int{0, 2, 3}, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: order(1, 3), streamOut: S,
					raTarget: crypt4gh.ErrTruncated, raMsg: "the segment map lists 4", raAtOpen: true})
				check(r1, "map 1-4: duplicate 1", []int{0, 1, 1, 2, 3}, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: order(2, 2), streamOut: 2 * S,
					raTarget: crypt4gh.ErrSegmentOrder, raMsg: "the payload holds 5 segments, the segment map 4", raAtOpen: true})
				// An extra segment after the last one listed (the edit list
				// ends before it: the streaming reader reads on to check).
				// (With everything in one job the streaming reader opens the
				// unlisted segment as index -1 and names it "segment 1 at
				// position 4" rather than reporting the count: right class,
				// odd message.)
				check(r1, "map 1-4: extra segment", []int{0, 1, 2, 3, 0}, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: "", streamOut: 4 * S,
					raTarget: crypt4gh.ErrSegmentOrder, raMsg: "the payload holds 5 segments, the segment map 4", raAtOpen: true})
				// A segment of the original file that the map does not list.
				v2CheckAttack(t, "map 1-4: segment 0 in place of 1", r1.with(append([][]byte{f.segs[0]}, r1.segs[1:]...)...), r1.pt,
					v2Expect{target: crypt4gh.ErrSegmentOrder, msg: order(0, 0)}, crypt4gh.DecryptOptions{}, id)

				// Segments 3..5 of 6: the final one is there.
				r2 := rearr(crypt4gh.Range{Start: int64(3 * S), End: -1}, []int{3, 4, 5})
				for k := 0; k < 3; k++ {
					check(r2, fmt.Sprintf("map 3-5: cut after %d", k), seq(0, k), v2Expect{
						target: crypt4gh.ErrTruncated, msg: "the segment map lists 3", streamOut: k * S, raAtOpen: true})
				}
				check(r2, "map 3-5: swap 0,1", []int{1, 0, 2}, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: order(0, 4)})
				if fullFinal {
					check(r2, "map 3-5: swap final", []int{0, 2, 1}, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: order(1, 5), streamOut: S,
						raTarget: crypt4gh.ErrSegmentOrder, raMsg: order(2, 4), raAtOpen: true})
					check(r2, "map 3-5: extra segment", []int{0, 1, 2, 0}, v2Expect{target: crypt4gh.ErrSegmentOrder, msg: "", streamOut: 3 * S,
						raTarget: crypt4gh.ErrSegmentOrder, raMsg: "the payload holds 4 segments, the segment map 3", raAtOpen: true})
				} else {
					check(r2, "map 3-5: swap final", []int{0, 2, 1}, v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(1), streamOut: S,
						raTarget: crypt4gh.ErrAuthentication, raMsg: authAt(2), raAtOpen: true})
					check(r2, "map 3-5: extra segment", []int{0, 1, 2, 0}, v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(2), streamOut: 2 * S,
						raTarget: crypt4gh.ErrSegmentOrder, raMsg: "the payload holds 4 segments, the segment map 3", raAtOpen: true})
				}
			})
		}
	}
}

// TestV2AttackPR736: PR 736 binds segment order through the sequence
// number, and the trailing segment.
func TestV2AttackPR736(t *testing.T) {
	id := newID(t)
	S := segSize
	f := v2NewFile(t, pseudoRandom(5*S+1000, 736), crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataChaCha20Poly1305PR736}, id.Recipient())
	authAt := func(pos int) string { return fmt.Sprintf("data segment %d failed authentication", pos) }
	check := func(what string, idx []int, exp v2Expect) {
		t.Helper()
		v2CheckAttack(t, what, f.with(f.pick(idx...)...), f.pt, exp, crypt4gh.DecryptOptions{}, id)
	}
	check("swap 1,2", []int{0, 2, 1, 3, 4, 5}, v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(1), streamOut: S, raOut: S})
	check("drop 2", []int{0, 1, 3, 4, 5}, v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(2), streamOut: 2 * S,
		raTarget: crypt4gh.ErrAuthentication, raMsg: authAt(4), raAtOpen: true})
	check("duplicate 2", []int{0, 1, 2, 2, 3, 4, 5}, v2Expect{target: crypt4gh.ErrAuthentication, msg: authAt(3), streamOut: 3 * S,
		raTarget: crypt4gh.ErrAuthentication, raMsg: authAt(6), raAtOpen: true})
	for k := 1; k < 6; k++ {
		// PR 736 does not bind the final segment: the k segments present
		// are authentic and come out, then the end is rejected.
		check(fmt.Sprintf("cut after %d", k), seq(0, k), v2Expect{target: crypt4gh.ErrTruncated, msg: "missing trailing segment", streamOut: k * S, raAtOpen: true})
	}
}

// v2Field is a byte range of a header and the errors a flip in it may give.
type v2Field struct {
	name   string
	lo, hi int
	want   []error
	msg    string
}

// v2HeaderFields maps the header at the start of ct. mine lists, per
// packet, whether it is the reader's data key packet (flips there lose the
// key), another packet of the reader, or a packet of someone else.
func v2HeaderFields(t *testing.T, ct []byte, hs int, mineKey map[int]bool) []v2Field {
	lengthErrs := []error{crypt4gh.ErrMalformedHeader, crypt4gh.ErrTruncated, crypt4gh.ErrNoMatchingKey, crypt4gh.ErrHeaderMAC}
	fs := []v2Field{
		{"magic", 0, 8, []error{crypt4gh.ErrNotCrypt4GH}, ""},
		{"version", 8, 12, []error{crypt4gh.ErrUnsupportedVersion}, ""},
		{"packet count", 12, 16, []error{crypt4gh.ErrMalformedHeader, crypt4gh.ErrTruncated}, ""},
	}
	off := 16
	n := int(binary.LittleEndian.Uint32(ct[12:]))
	for i := 0; i < n; i++ {
		l := int(binary.LittleEndian.Uint32(ct[off:]))
		content := []error{crypt4gh.ErrHeaderMAC}
		if mineKey[i] {
			content = []error{crypt4gh.ErrNoMatchingKey}
		}
		p := fmt.Sprintf("packet %d ", i)
		fs = append(fs,
			v2Field{p + "length", off, off + 4, lengthErrs, ""},
			v2Field{p + "method", off + 4, off + 8, content, ""},
			v2Field{p + "writer key", off + 8, off + 40, content, ""},
			v2Field{p + "nonce", off + 40, off + 52, content, ""},
			v2Field{p + "ciphertext", off + 52, off + l - 16, content, ""},
			v2Field{p + "tag", off + l - 16, off + l, content, ""})
		off += l
	}
	fs = append(fs, v2Field{"MAC", off, off + 32, []error{crypt4gh.ErrHeaderMAC}, "header MAC mismatch"})
	off += 32
	sigErrs := []error{crypt4gh.ErrSignature, crypt4gh.ErrMalformedHeader, crypt4gh.ErrTruncated}
	fs = append(fs, v2Field{"signature count", off, off + 4, sigErrs, ""})
	s := int(binary.LittleEndian.Uint32(ct[off:]))
	off += 4
	for i := 0; i < s; i++ {
		l := int(binary.LittleEndian.Uint32(ct[off:]))
		p := fmt.Sprintf("signature %d ", i)
		fs = append(fs,
			v2Field{p + "record length", off, off + 4, sigErrs, ""},
			v2Field{p + "algorithm", off + 4, off + 8, []error{crypt4gh.ErrSignature}, "missing"},
			v2Field{p + "key id", off + 8, off + 40, []error{crypt4gh.ErrSignature}, "missing"},
			v2Field{p + "signature", off + 40, off + l, []error{crypt4gh.ErrSignature}, "invalid"})
		off += l
	}
	if off != hs {
		t.Fatalf("header fields end at %d, header is %d bytes", off, hs)
	}
	return fs
}

// TestV2AttackBitFlips flips bits in every field of a signed version 2
// header with two readers and in every part of its segments.
func TestV2AttackBitFlips(t *testing.T) {
	id, other := newID(t), newID(t)
	ed := v2Ed25519(t)
	for _, m := range v2SealedMethods {
		t.Run(m.name, func(t *testing.T) {
			opts := crypt4gh.EncryptOptions{DataMethod: m.method, Signers: []crypt4gh.Signer{ed}, Expiry: time.Now().Add(100 * 365 * 24 * time.Hour)}
			dopts := crypt4gh.DecryptOptions{Verifiers: []crypt4gh.Verifier{ed.Verifier()}}
			f := v2NewFile(t, pseudoRandom(segSize+500, 3), opts, id.Recipient(), other.Recipient())
			v2MustDecrypt(t, "intact", f.ct, dopts, f.pt, id)
			// Packets: id's data key, id's expiry, other's data key, other's expiry.
			fields := v2HeaderFields(t, f.ct, f.hs, map[int]bool{0: true})
			// Header damage is found by code shared by every reading path:
			// one streaming and one random-access path suffice.
			for _, fd := range fields {
				positions := seq(fd.lo, fd.hi)
				if len(positions) > 16 { // long opaque fields: spread samples
					positions = []int{fd.lo, fd.lo + 1, fd.lo + 7, fd.lo + 12, (fd.lo + fd.hi) / 2, fd.hi - 9, fd.hi - 2, fd.hi - 1}
				}
				for _, pos := range positions {
					bits := []int{pos % 8}
					if fd.hi-fd.lo <= 8 { // small structural fields: every bit
						bits = []int{0, 1, 2, 3, 4, 5, 6, 7}
					}
					for _, b := range bits {
						bad := bytes.Clone(f.ct)
						bad[pos] ^= 1 << b
						for _, r := range v2ReadPathsConc(bad, dopts, []int{1}, id) {
							if r.err == nil {
								t.Fatalf("%s: flip of byte %d bit %d: %s accepted it", fd.name, pos, b, r.path)
							}
							okClass := false
							for _, w := range fd.want {
								okClass = okClass || errors.Is(r.err, w)
							}
							if !okClass || !strings.Contains(r.err.Error(), fd.msg) {
								t.Fatalf("%s: flip of byte %d bit %d: %s: %q, want one of %v %q", fd.name, pos, b, r.path, r.err, fd.want, fd.msg)
							}
							if !r.atOpen && !strings.HasPrefix(fd.name, "signature") {
								t.Fatalf("%s: flip of byte %d bit %d: %s: header damage found only in the payload: %v", fd.name, pos, b, r.path, r.err)
							}
						}
					}
				}
			}
			// Segments: nonce, ciphertext, tag of the full first segment
			// (sampled: each failure is diagnosed by trying other indexes)
			// and every byte of the short final one.
			for j, seg := range f.segs {
				var positions []int
				if len(seg) == cSegSize {
					positions = []int{0, 5, 11, 12, 1000, cSegSize - 17, cSegSize - 16, cSegSize - 1}
				} else {
					positions = seq(0, len(seg))
				}
				for _, p := range positions {
					bad := bytes.Clone(f.ct)
					bad[f.hs+j*cSegSize+p] ^= 1 << (p % 8)
					v2CheckAttack(t, fmt.Sprintf("segment %d byte %d", j, p), bad, f.pt, v2Expect{
						target: crypt4gh.ErrAuthentication, msg: fmt.Sprintf("data segment %d failed", j), streamOut: j * segSize,
						raAtOpen: j == len(f.segs)-1, raOut: j * segSize}, dopts, id)
				}
			}
		})
	}
}

// TestV2AttackHeaderPackets: adding, dropping, reordering packets and
// changing the count.
func TestV2AttackHeaderPackets(t *testing.T) {
	id, other, third := newID(t), newID(t), newID(t)
	hy := v2Hybrid(t)
	for _, m := range v2SealedMethods {
		t.Run(m.name, func(t *testing.T) {
			opts := crypt4gh.EncryptOptions{DataMethod: m.method}
			pt := pseudoRandom(2*segSize+5, 4)
			f := v2NewFile(t, pt, opts, id.Recipient(), other.Recipient())
			h, _, c := v2Parse(t, f.ct, id)
			payload := f.ct[f.hs:]
			build := func(pk []crypt4gh.HeaderPacket) []byte {
				nh := *h
				nh.Packets = pk
				return append(nh.Marshal(), payload...)
			}
			macErr := func(what string, data []byte, ids ...crypt4gh.Identity) {
				t.Helper()
				v2MustFail(t, what, data, crypt4gh.DecryptOptions{}, crypt4gh.ErrHeaderMAC, "header MAC mismatch", ids...)
			}
			// Another file's packet for a third reader.
			g := v2NewFile(t, pt, opts, third.Recipient(), id.Recipient())
			hg, _, _ := v2Parse(t, g.ct, third)
			macErr("add a foreign packet", build(append(slices.Clone(h.Packets), hg.Packets[0])), id)
			macErr("add a foreign hybrid packet", build(append(slices.Clone(h.Packets), v2Craft(t, 2, nil, hy.Recipient(), v2DataKeyPlain(c.DataKeys[0])).Packets[0])), id)
			// Another file's packet for this reader: a second data key.
			v2MustFail(t, "add a packet of another file for this reader", build(append(slices.Clone(h.Packets), hg.Packets[1])), crypt4gh.DecryptOptions{}, crypt4gh.ErrHeaderMAC, "header MAC mismatch", id)
			// Anyone with the reader's public key can seal an edit list,
			// an expiry or a link for them: the MAC stops it.
			for name, p := range map[string][]byte{
				"edit list": binary.LittleEndian.AppendUint64([]byte{1, 0, 0, 0, 1, 0, 0, 0}, 3),
				"link":      append([]byte{3, 0, 0, 0}, "https://evil.example/"...),
				"expiry":    binary.LittleEndian.AppendUint64([]byte{2, 0, 0, 0}, 1),
			} {
				inj := v2Craft(t, 1, nil, id.Recipient(), p).Packets[0]
				macErr("inject "+name, build(append(slices.Clone(h.Packets), inj)), id)
				macErr("inject "+name+" first", build(append([]crypt4gh.HeaderPacket{inj}, h.Packets...)), id)
			}
			// Repeat the reader's own packet.
			macErr("duplicate packet", build(append(slices.Clone(h.Packets), h.Packets[0])), id)
			// Drop, reorder.
			macErr("drop the other reader's packet", build(h.Packets[:1]), id)
			macErr("drop for the other reader", build(h.Packets[1:]), other)
			macErr("reorder", build([]crypt4gh.HeaderPacket{h.Packets[1], h.Packets[0]}), id)
			// The count field: more or fewer packets than present.
			for _, d := range []int{-1, 1, 2, 1000} {
				bad := bytes.Clone(f.ct)
				binary.LittleEndian.PutUint32(bad[12:], uint32(2+d))
				for _, r := range v2ReadPaths(bad, crypt4gh.DecryptOptions{}, id) {
					if r.err == nil || !r.atOpen || !(errors.Is(r.err, crypt4gh.ErrMalformedHeader) || errors.Is(r.err, crypt4gh.ErrTruncated) || errors.Is(r.err, crypt4gh.ErrHeaderMAC)) {
						t.Fatalf("count %d: %s: %v", 2+d, r.path, r.err)
					}
				}
			}
			// Removing the expiry packet (the attack expiry is there for).
			e := v2NewFile(t, pt, crypt4gh.EncryptOptions{DataMethod: m.method, Expiry: time.Unix(1, 0)}, id.Recipient())
			he, _, _ := v2Parse(t, e.ct, id)
			v2MustFail(t, "expired", e.ct, crypt4gh.DecryptOptions{}, crypt4gh.ErrExpired, "file expired at 1970-01-01T00:00:01Z", id)
			he.Packets = he.Packets[:1]
			macErr("expiry packet dropped", append(he.Marshal(), e.ct[e.hs:]...), id)
		})
	}
}

// TestV2AttackSignatures: forged, transplanted and stripped signatures.
func TestV2AttackSignatures(t *testing.T) {
	id := newID(t)
	victim, attacker := v2Ed25519(t), v2Ed25519(t)
	ml := v2MLDSA(t, crypt4gh.SigMLDSA65)
	pt := pseudoRandom(1000, 5)
	opts := crypt4gh.DecryptOptions{Verifiers: []crypt4gh.Verifier{victim.Verifier()}}
	f := v2NewFile(t, pt, crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{victim}}, id.Recipient())
	h, _, _ := v2Parse(t, f.ct, id)
	v2MustDecrypt(t, "genuine", f.ct, opts, pt, id)
	with := func(sigs ...crypt4gh.SignatureRecord) []byte {
		nh := *h
		nh.Signatures = sigs
		return append(nh.Marshal(), f.ct[f.hs:]...)
	}
	vid := crypt4gh.KeyID(crypt4gh.SigEd25519, victim.PublicKey())
	rec := h.Signatures[0]
	if rec.KeyID != vid {
		t.Fatal("record key id")
	}
	invalid := func(what string, data []byte) {
		t.Helper()
		v2MustFail(t, what, data, opts, crypt4gh.ErrSignature, "invalid", id)
	}
	missing := func(what string, data []byte) {
		t.Helper()
		v2MustFail(t, what, data, opts, crypt4gh.ErrSignature, "missing", id)
	}
	invalid("random bytes", with(crypt4gh.SignatureRecord{Algorithm: crypt4gh.SigEd25519, KeyID: vid, Signature: pseudoRandom(64, 1)}))
	invalid("wrong length", with(crypt4gh.SignatureRecord{Algorithm: crypt4gh.SigEd25519, KeyID: vid, Signature: rec.Signature[:63]}))
	invalid("empty", with(crypt4gh.SignatureRecord{Algorithm: crypt4gh.SigEd25519, KeyID: vid}))
	// A valid signature by the attacker, relabelled with the victim's key id.
	g := v2NewFile(t, pt, crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{attacker}}, id.Recipient())
	hg, _, cg := v2Parse(t, g.ct, id)
	forged := hg.Signatures[0]
	forged.KeyID = vid
	fh := *hg
	fh.Signatures = []crypt4gh.SignatureRecord{forged}
	invalid("attacker's signature under the victim's key id", append(fh.Marshal(), g.ct[g.hs:]...))
	// A recipient (who holds the data key) signs a header for the file:
	// valid for the attacker's key, useless for the victim's.
	if err := h.Sign(cg, attacker); err == nil {
		// Signing with another file's content gives a signature over
		// another key commitment.
		invalid("signature over another data key", with(crypt4gh.SignatureRecord{Algorithm: crypt4gh.SigEd25519, KeyID: vid, Signature: h.Signatures[len(h.Signatures)-1].Signature}))
	}
	// The victim's genuine signature from another file.
	o := v2NewFile(t, pt, crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{victim}}, id.Recipient())
	ho, _, _ := v2Parse(t, o.ct, id)
	invalid("transplanted", with(ho.Signatures[0]))
	// Next to a bad record, a good one still verifies (the reader looks for
	// any valid record by the key).
	v2MustDecrypt(t, "bad then good", with(crypt4gh.SignatureRecord{Algorithm: crypt4gh.SigEd25519, KeyID: vid, Signature: pseudoRandom(64, 2)}, rec), opts, pt, id)
	// Stripped, or relabelled to another algorithm.
	missing("stripped", with())
	relabel := rec
	relabel.Algorithm = crypt4gh.SigMLDSA65
	missing("other algorithm", with(relabel))
	unknown := rec
	unknown.Algorithm = 99
	missing("unknown algorithm", with(unknown))
	// Unknown algorithms are ignored when not asked for.
	v2MustDecrypt(t, "unknown algorithm, no verifier", with(unknown, rec), crypt4gh.DecryptOptions{}, pt, id)
	// ML-DSA: random bytes of the right size.
	fm := v2NewFile(t, pt, crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{ml}}, id.Recipient())
	hm, _, _ := v2Parse(t, fm.ct, id)
	hm.Signatures[0].Signature = pseudoRandom(3309, 3)
	v2MustFail(t, "ML-DSA random bytes", append(hm.Marshal(), fm.ct[fm.hs:]...), crypt4gh.DecryptOptions{Verifiers: []crypt4gh.Verifier{ml.Verifier()}}, crypt4gh.ErrSignature, "invalid", id)
	// Expired and signed: the expiry is checked too.
	ex := v2NewFile(t, pt, crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{victim}, Expiry: time.Unix(2000000000, 0)}, id.Recipient())
	v2MustFail(t, "signed, expired", ex.ct, crypt4gh.DecryptOptions{Verifiers: opts.Verifiers, Now: func() time.Time { return time.Unix(2000000001, 0) }}, crypt4gh.ErrExpired, "file expired at 2033-05-18T03:33:20Z", id)
}

// TestV2ReaderAtShortReadCount: when a read hits a damaged segment, ReadAt
// returns the count of the good bytes before it (io.ReaderAt: "the number
// of bytes read"), which it has already written into p.
func TestV2ReaderAtShortReadCount(t *testing.T) {
	id := newID(t)
	for _, m := range v2AllMethods {
		f := v2NewFile(t, pseudoRandom(5*segSize+1000, 6), crypt4gh.EncryptOptions{DataMethod: m.method}, id.Recipient())
		bad := bytes.Clone(f.ct)
		bad[f.hs+2*cSegSize+100] ^= 1 // segment 2
		for _, conc := range []int{0, 1} {
			ra, err := crypt4gh.DecryptReaderAtWithOptions(bytes.NewReader(bad), int64(len(bad)), crypt4gh.DecryptOptions{Concurrency: conc}, id)
			if err != nil {
				t.Fatal(err)
			}
			for _, off := range []int64{0, 10, segSize + 7} {
				p := make([]byte, len(f.pt))
				n, err := ra.ReadAt(p, off)
				if !errors.Is(err, crypt4gh.ErrAuthentication) {
					t.Fatalf("%s: ReadAt at %d: %v", m.name, off, err)
				}
				if want := 2*segSize - int(off); n != want || !bytes.Equal(p[:n], f.pt[off:off+int64(n)]) {
					t.Errorf("%s concurrency %d: ReadAt at %d returned n = %d, want %d (the good bytes before segment 2, already in p)", m.name, conc, off, n, want)
				}
			}
		}
	}
}

// TestV2StreamChecksEndWithEditList: a sealed payload must end with its
// final segment (or, with a segment map, hold exactly the segments listed)
// whatever the edit list shows. DecryptReaderAt checks this up front; the
// streaming reader stops reading once the edit list needs no more data and
// so accepts, for the same file, a truncated payload, data after the final
// segment, reordered segments after the last kept byte, and an extra
// segment after those a segment map lists.
func TestV2StreamChecksEndWithEditList(t *testing.T) {
	id := newID(t)
	for _, el := range []crypt4gh.EditList{{0, 100}, {2 * segSize, 10}, {0, 5 * segSize}} {
		f := v2NewFile(t, pseudoRandom(6*segSize, 1), crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataSealedChaCha20Poly1305, EditList: el}, id.Recipient())
		for name, tc := range map[string]struct {
			idx    []int
			target error
		}{
			"cut after 3":      {[]int{0, 1, 2}, crypt4gh.ErrTruncated},
			"cut after 5":      {[]int{0, 1, 2, 3, 4}, crypt4gh.ErrTruncated},
			"copy after final": {[]int{0, 1, 2, 3, 4, 5, 1}, crypt4gh.ErrSegmentOrder},
			"swap 4,5":         {[]int{0, 1, 2, 3, 5, 4}, crypt4gh.ErrSegmentOrder},
		} {
			for _, r := range v2ReadPaths(f.with(f.pick(tc.idx...)...), crypt4gh.DecryptOptions{}, id) {
				if !errors.Is(r.err, tc.target) {
					t.Errorf("edit list %v, %s: %s: error %v, want %v (DecryptReaderAt rejects this file)", el, name, r.path, r.err, tc.target)
				}
			}
		}
	}
	// A rearranged file (segments 1..4 of 6, edit list keeping all of
	// them) with one more segment than its segment map lists.
	f := v2NewFile(t, pseudoRandom(6*segSize, 2), crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataSealedAES256GCM}, id.Recipient())
	var out bytes.Buffer
	if err := crypt4gh.RearrangeReaderAt(&out, bytes.NewReader(f.ct), int64(len(f.ct)), []crypt4gh.Identity{id}, []crypt4gh.Recipient{id.Recipient()}, crypt4gh.Range{Start: segSize, End: 5 * segSize}); err != nil {
		t.Fatal(err)
	}
	extra := append(bytes.Clone(out.Bytes()), f.segs[1]...)
	for _, r := range v2ReadPaths(extra, crypt4gh.DecryptOptions{}, id) {
		if !errors.Is(r.err, crypt4gh.ErrSegmentOrder) {
			t.Errorf("segment map 1-4 plus a segment: %s: error %v, want ErrSegmentOrder (DecryptReaderAt rejects this file)", r.path, r.err)
		}
	}
}
