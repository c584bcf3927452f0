package crypt4gh_test

// Behaviour tests of the v2 profile (doc/crypt4gh-v2.md). Layouts are
// checked independently of the library: keys are derived here with
// crypto/hkdf and segments opened here with the AEADs, following the spec.

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/signing"
	"golang.org/x/crypto/chacha20poly1305"
)

const (
	segSize  = crypt4gh.SegmentSize
	cSegSize = crypt4gh.CipherSegmentSize
)

type v2Method struct {
	name   string
	method uint32
}

var (
	v2AllMethods = []v2Method{
		{"v1", crypt4gh.DataChaCha20Poly1305},
		{"pr736", crypt4gh.DataChaCha20Poly1305PR736},
		{"sealed-chacha", crypt4gh.DataSealedChaCha20Poly1305},
		{"sealed-aes", crypt4gh.DataSealedAES256GCM},
	}
	v2SealedMethods = v2AllMethods[2:]
)

func v2IsSealed(m uint32) bool { return m >= crypt4gh.DataSealedChaCha20Poly1305 }

// v2PathResult is what one reading path gave.
type v2PathResult struct {
	path   string
	out    []byte
	err    error
	atOpen bool   // the error came from opening (header checks, last-segment check)
	rest   []byte // random access: the part of the read buffer after out
}

// v2ReadPaths decrypts data through every reading path: the streaming
// reader in parallel and on one goroutine, and the random-access reader
// (parallel and on one goroutine) read whole with ReadAt.
func v2ReadPaths(data []byte, opts crypt4gh.DecryptOptions, ids ...crypt4gh.Identity) []v2PathResult {
	return v2ReadPathsConc(data, opts, []int{0, 1}, ids...)
}

// v2ReadPathsConc is v2ReadPaths with the given concurrency settings.
func v2ReadPathsConc(data []byte, opts crypt4gh.DecryptOptions, concs []int, ids ...crypt4gh.Identity) []v2PathResult {
	var res []v2PathResult
	for _, conc := range concs {
		o := opts
		o.Concurrency = conc
		name := fmt.Sprintf("stream%d", conc)
		r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(data), o, ids...)
		if err != nil {
			res = append(res, v2PathResult{path: name, err: err, atOpen: true})
			continue
		}
		var buf bytes.Buffer
		_, err = io.Copy(&buf, r)
		res = append(res, v2PathResult{path: name, out: buf.Bytes(), err: err})
	}
	for _, conc := range concs {
		o := opts
		o.Concurrency = conc
		o.Range = nil
		name := fmt.Sprintf("readerat%d", conc)
		ra, err := crypt4gh.DecryptReaderAtWithOptions(bytes.NewReader(data), int64(len(data)), o, ids...)
		if err != nil {
			res = append(res, v2PathResult{path: name, err: err, atOpen: true})
			continue
		}
		p := make([]byte, ra.Size())
		n, err := ra.ReadAt(p, 0)
		if err == io.EOF && n == len(p) {
			err = nil
		}
		res = append(res, v2PathResult{path: name, out: p[:n], err: err, rest: p[n:]})
	}
	return res
}

// v2MustDecrypt requires every reading path to give want.
func v2MustDecrypt(t testing.TB, what string, data []byte, opts crypt4gh.DecryptOptions, want []byte, ids ...crypt4gh.Identity) {
	t.Helper()
	for _, r := range v2ReadPaths(data, opts, ids...) {
		if r.err != nil {
			t.Fatalf("%s: %s: %v", what, r.path, r.err)
		}
		if !bytes.Equal(r.out, want) {
			t.Fatalf("%s: %s: got %d bytes, want %d (or contents differ)", what, r.path, len(r.out), len(want))
		}
	}
}

// v2MustFail requires every reading path to fail with an error wrapping
// target whose text contains msg.
func v2MustFail(t testing.TB, what string, data []byte, opts crypt4gh.DecryptOptions, target error, msg string, ids ...crypt4gh.Identity) []v2PathResult {
	t.Helper()
	res := v2ReadPaths(data, opts, ids...)
	for _, r := range res {
		if r.err == nil {
			t.Fatalf("%s: %s: succeeded (%d bytes), want %v", what, r.path, len(r.out), target)
		}
		if !errors.Is(r.err, target) {
			t.Fatalf("%s: %s: error %q, want one wrapping %q", what, r.path, r.err, target)
		}
		if !strings.Contains(r.err.Error(), msg) {
			t.Fatalf("%s: %s: error %q does not contain %q", what, r.path, r.err, msg)
		}
	}
	return res
}

// v2HKDF is HKDF-SHA-256 with an empty salt and 32 bytes of output, as
// every derivation of the spec.
func v2HKDF(t testing.TB, ikm []byte, info string) []byte {
	t.Helper()
	k, err := hkdf.Key(sha256.New, ikm, nil, info, 32)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// v2AESKey is K_j of section 5.3.
func v2AESKey(t testing.TB, kData []byte, j uint64) []byte {
	return v2HKDF(t, kData, "crypt4gh-v2 payload aes-256-gcm"+string(binary.LittleEndian.AppendUint64(nil, j)))
}

// v2SegmentAEAD returns the AEAD that seals segment i of a sealed payload
// (method 2 or 3), derived here from the spec.
func v2SegmentAEAD(t testing.TB, method uint32, kData []byte, i uint64) cipher.AEAD {
	t.Helper()
	switch method {
	case crypt4gh.DataSealedChaCha20Poly1305:
		a, err := chacha20poly1305.New(v2HKDF(t, kData, "crypt4gh-v2 payload chacha20-poly1305"))
		if err != nil {
			t.Fatal(err)
		}
		return a
	case crypt4gh.DataSealedAES256GCM:
		b, err := aes.NewCipher(v2AESKey(t, kData, i>>20))
		if err != nil {
			t.Fatal(err)
		}
		a, err := cipher.NewGCM(b)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	t.Fatalf("method %d is not sealed", method)
	return nil
}

// v2SealedAD is le64(i) || final.
func v2SealedAD(i uint64, final bool) []byte {
	ad := binary.LittleEndian.AppendUint64(nil, i)
	if final {
		return append(ad, 1)
	}
	return append(ad, 0)
}

// v2Split cuts a payload into cipher segments.
func v2Split(payload []byte) [][]byte {
	var segs [][]byte
	for off := 0; off < len(payload); off += cSegSize {
		segs = append(segs, payload[off:min(off+cSegSize, len(payload))])
	}
	return segs
}

// v2PacketsEnd returns the offset of the end of the last header packet of
// the raw header at the start of b (where the v2 MAC starts).
func v2PacketsEnd(t testing.TB, b []byte) int {
	t.Helper()
	if len(b) < 16 || string(b[:8]) != "crypt4gh" {
		t.Fatal("not a crypt4gh header")
	}
	n := int(binary.LittleEndian.Uint32(b[12:]))
	off := 16
	for i := 0; i < n; i++ {
		off += int(binary.LittleEndian.Uint32(b[off:]))
	}
	return off
}

// v2MAC computes the header MAC of section 4 over the raw header bytes
// from the magic to the end of the last packet.
func v2MAC(t testing.TB, macInput []byte, kData []byte) []byte {
	m := hmac.New(sha256.New, v2HKDF(t, kData, "crypt4gh-v2 header mac"))
	m.Write(macInput)
	return m.Sum(nil)
}

// v2SetMAC recomputes the MAC of a version 2 header built by hand.
func v2SetMAC(t testing.TB, h *crypt4gh.Header, kData []byte) {
	t.Helper()
	raw := h.Marshal()
	h.MAC = v2MAC(t, raw[:v2PacketsEnd(t, raw)], kData)
}

// v2DataKeyPlain returns a data key packet plaintext.
func v2DataKeyPlain(k crypt4gh.DataKey) []byte {
	p := binary.LittleEndian.AppendUint32(nil, crypt4gh.TypeDataKey)
	p = binary.LittleEndian.AppendUint32(p, k.Method)
	p = append(p, k.Key[:]...)
	if k.Method == crypt4gh.DataChaCha20Poly1305PR736 {
		p = binary.LittleEndian.AppendUint64(p, k.Seq)
	}
	return p
}

// v2Craft builds a header of the given version whose packets are the given
// plaintexts sealed for r, with a correct MAC under kData for version 2.
func v2Craft(t testing.TB, version uint32, kData []byte, r crypt4gh.Recipient, plains ...[]byte) *crypt4gh.Header {
	t.Helper()
	h := &crypt4gh.Header{Version: version}
	for _, p := range plains {
		hp, err := r.SealPacket(p)
		if err != nil {
			t.Fatal(err)
		}
		h.Packets = append(h.Packets, hp)
	}
	if version >= crypt4gh.Version2 {
		v2SetMAC(t, h, kData)
	}
	return h
}

// v2Parse parses the header of a file and decrypts it with id.
func v2Parse(t testing.TB, ct []byte, ids ...crypt4gh.Identity) (*crypt4gh.Header, int, *crypt4gh.HeaderContent) {
	t.Helper()
	h, n, err := crypt4gh.ParseHeader(ct)
	if err != nil {
		t.Fatal(err)
	}
	c, err := h.Decrypt(ids...)
	if err != nil {
		t.Fatal(err)
	}
	return h, n, c
}

func v2Hybrid(t testing.TB) *crypt4gh.HybridIdentity {
	t.Helper()
	id, err := crypt4gh.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func v2Ed25519(t testing.TB) *crypt4gh.Ed25519Signer {
	t.Helper()
	s, err := crypt4gh.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func v2MLDSA(t testing.TB, alg uint32) *signing.MLDSASigner {
	t.Helper()
	s, err := signing.GenerateSigner(alg)
	if err != nil {
		t.Fatal(err)
	}
	return s.(*signing.MLDSASigner)
}

// v2Ranges returns valid ranges of a plaintext of n bytes.
func v2Ranges(n int) []crypt4gh.Range {
	cands := []crypt4gh.Range{{0, int64(n)}, {0, 0}, {int64(n), int64(n)}, {0, -1}, {1, int64(n) - 1},
		{segSize - 1, segSize + 1}, {int64(n) / 2, int64(n)}, {int64(n) - 1, int64(n)}, {segSize, 2*segSize + 3},
		{int64(n) / 3, -1}, {3 * segSize, 5*segSize + 1}, {int64(n) - 70000, int64(n) - 10}}
	var out []crypt4gh.Range
	for _, r := range cands {
		if r.Start >= 0 && r.Start <= int64(n) && (r.End < 0 || (r.End >= r.Start && r.End <= int64(n))) {
			out = append(out, r)
		}
	}
	return out
}

func v2Cut(pt []byte, r crypt4gh.Range) []byte {
	if r.End < 0 {
		return pt[r.Start:]
	}
	return pt[r.Start:r.End]
}

// TestV2RoundTrip: every data method, every size, every reading path,
// ranges and rearrangement; file sizes as EncryptedSizeFor says.
func TestV2RoundTrip(t *testing.T) {
	id := newID(t)
	sizes := []int{0, 1, 65535, 65536, 65537, 3 * 65536, 40*65536 + 5}
	for _, m := range v2AllMethods {
		for _, n := range sizes {
			t.Run(fmt.Sprintf("%s/%d", m.name, n), func(t *testing.T) {
				pt := pseudoRandom(n, uint64(n)+uint64(m.method)<<40)
				var ct []byte
				for _, conc := range []int{0, 1} {
					ct = encryptBytes(t, pt, crypt4gh.EncryptOptions{DataMethod: m.method, Concurrency: conc}, id.Recipient())
					h, hs, c := v2Parse(t, ct, id)
					wantVersion := uint32(crypt4gh.Version1)
					if v2IsSealed(m.method) {
						wantVersion = crypt4gh.Version2
					}
					if h.Version != wantVersion || binary.LittleEndian.Uint32(ct[8:]) != wantVersion {
						t.Fatalf("version %d, want %d", h.Version, wantVersion)
					}
					if len(c.DataKeys) != 1 || c.DataKeys[0].Method != m.method {
						t.Fatalf("data keys %d, method %d", len(c.DataKeys), c.DataKeys[0].Method)
					}
					if got, want := int64(len(ct)-hs), crypt4gh.EncryptedSizeFor(m.method, int64(n)); got != want {
						t.Fatalf("concurrency %d: payload %d bytes, EncryptedSizeFor says %d", conc, got, want)
					}
					v2MustDecrypt(t, fmt.Sprintf("encrypted with concurrency %d", conc), ct, crypt4gh.DecryptOptions{}, pt, id)
				}
				for _, rg := range v2Ranges(n) {
					want := v2Cut(pt, rg)
					what := fmt.Sprintf("range [%d,%d)", rg.Start, rg.End)
					for _, conc := range []int{0, 1} {
						r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(ct), crypt4gh.DecryptOptions{Range: &rg, Concurrency: conc}, id)
						if err != nil {
							t.Fatalf("%s: %v", what, err)
						}
						got, err := io.ReadAll(r)
						if err != nil || !bytes.Equal(got, want) {
							t.Fatalf("%s stream%d: %d bytes, %v", what, conc, len(got), err)
						}
					}
					ra, err := crypt4gh.DecryptReaderAt(bytes.NewReader(ct), int64(len(ct)), id)
					if err != nil {
						t.Fatal(err)
					}
					buf := make([]byte, len(want))
					if k, err := ra.ReadAt(buf, rg.Start); k != len(want) || (err != nil && err != io.EOF) || !bytes.Equal(buf, want) {
						t.Fatalf("%s ReadAt: %d, %v", what, k, err)
					}
					if _, err := ra.Seek(rg.Start, io.SeekStart); err != nil {
						t.Fatal(err)
					}
					if _, err := io.ReadFull(ra, buf); err != nil || !bytes.Equal(buf, want) {
						t.Fatalf("%s Seek+Read: %v", what, err)
					}
					v2CheckRearrange(t, what, ct, m.method, rg, want, id)
				}
			})
		}
	}
}

// v2CheckRearrange rearranges ct to rg both ways and decrypts the results.
func v2CheckRearrange(t *testing.T, what string, ct []byte, method uint32, rg crypt4gh.Range, want []byte, id *crypt4gh.X25519Identity) {
	t.Helper()
	ids := []crypt4gh.Identity{id}
	rs := []crypt4gh.Recipient{id.Recipient()}
	var streamed, random bytes.Buffer
	errS := crypt4gh.Rearrange(&streamed, bytes.NewReader(ct), ids, rs, rg)
	errR := crypt4gh.RearrangeReaderAt(&random, bytes.NewReader(ct), int64(len(ct)), ids, rs, rg)
	switch {
	case method == crypt4gh.DataChaCha20Poly1305PR736:
		// PR 736 files cannot be rearranged (section 10).
		if !errors.Is(errS, crypt4gh.ErrUnsupported) || !errors.Is(errR, crypt4gh.ErrUnsupported) {
			t.Fatalf("%s: rearranging PR 736: %v / %v, want ErrUnsupported", what, errS, errR)
		}
		return
	case v2IsSealed(method):
		if !errors.Is(errS, crypt4gh.ErrNeedsRandomAccess) {
			t.Fatalf("%s: streaming Rearrange of a sealed file: %v, want ErrNeedsRandomAccess", what, errS)
		}
	default:
		if errS != nil {
			t.Fatalf("%s: Rearrange: %v", what, errS)
		}
		v2MustDecrypt(t, what+" (Rearrange)", streamed.Bytes(), crypt4gh.DecryptOptions{}, want, id)
	}
	if errR != nil {
		t.Fatalf("%s: RearrangeReaderAt: %v", what, errR)
	}
	v2MustDecrypt(t, what+" (RearrangeReaderAt)", random.Bytes(), crypt4gh.DecryptOptions{}, want, id)
	if v2IsSealed(method) {
		h, hs, c := v2Parse(t, random.Bytes(), id)
		if h.Version != crypt4gh.Version2 {
			t.Fatalf("%s: rearranged sealed file has version %d", what, h.Version)
		}
		segs := int64(len(random.Bytes())-hs+cSegSize-1) / cSegSize
		if c.SegmentMap == nil {
			if segs != int64(len(ct)-h.Size()+cSegSize-1)/cSegSize {
				t.Fatalf("%s: segments dropped without a segment map", what)
			}
		} else if c.SegmentMap.Segments() != segs {
			t.Fatalf("%s: segment map lists %d segments, payload holds %d", what, c.SegmentMap.Segments(), segs)
		}
	}
}

// TestV2PR736Layout checks PR 736 files byte by byte against section 10.
func TestV2PR736Layout(t *testing.T) {
	id := newID(t)
	for _, n := range []int{0, 1000, segSize, 2*segSize + 5, 3 * segSize} {
		pt := pseudoRandom(n, uint64(n)+736)
		ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataChaCha20Poly1305PR736}, id.Recipient())
		h, hs, c := v2Parse(t, ct, id)
		if h.Version != 1 || len(h.Packets) != 1 || h.MAC != nil {
			t.Fatalf("n=%d: version %d, %d packets", n, h.Version, len(h.Packets))
		}
		plain, err := id.OpenPacket(h.Packets[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) != 48 || binary.LittleEndian.Uint32(plain) != 0 || binary.LittleEndian.Uint32(plain[4:]) != 1 {
			t.Fatalf("n=%d: data key packet %x, want le32 0 || le32 1 || key || le64 seq", n, plain)
		}
		var key [32]byte
		copy(key[:], plain[8:40])
		seq := binary.LittleEndian.Uint64(plain[40:])
		if c.DataKeys[0] != (crypt4gh.DataKey{Method: 1, Key: key, Seq: seq}) {
			t.Fatalf("n=%d: Header.Decrypt gives another data key", n)
		}
		segs := v2Split(ct[hs:])
		if len(segs) != n/segSize+1 {
			t.Fatalf("n=%d: %d segments, want %d (an empty final one on a boundary)", n, len(segs), n/segSize+1)
		}
		a, _ := chacha20poly1305.New(key[:])
		var got []byte
		for i, s := range segs {
			ad := binary.LittleEndian.AppendUint64(nil, seq+uint64(i))
			p, err := a.Open(nil, s[:12], s[12:], ad)
			if err != nil {
				t.Fatalf("n=%d: segment %d does not open with AD le64(seq+%d): %v", n, i, i, err)
			}
			if _, err := a.Open(nil, s[:12], s[12:], binary.LittleEndian.AppendUint64(nil, seq+uint64(i)+1)); err == nil {
				t.Fatalf("n=%d: segment %d opens under another sequence number", n, i)
			}
			got = append(got, p...)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("n=%d: segments opened by hand give another plaintext", n)
		}
		if n%segSize == 0 && len(segs[len(segs)-1]) != 28 {
			t.Fatalf("n=%d: final segment is %d bytes, want an empty (28-byte) one", n, len(segs[len(segs)-1]))
		}
	}
}

// TestV2PR736Wraparound: a file made by hand (not by the library) with
// seq = 2^64-2, whose segment AD wraps to 0 at segment 2, reads back.
func TestV2PR736Wraparound(t *testing.T) {
	id := newID(t)
	k := crypt4gh.DataKey{Method: crypt4gh.DataChaCha20Poly1305PR736, Seq: 1<<64 - 2}
	copy(k.Key[:], pseudoRandom(32, 1))
	h := v2Craft(t, 1, nil, id.Recipient(), v2DataKeyPlain(k))
	pt := pseudoRandom(3*segSize, 2)
	a, _ := chacha20poly1305.New(k.Key[:])
	file := h.Marshal()
	for i := 0; i <= 3; i++ { // 3 full segments and the empty final one
		nonce := pseudoRandom(12, uint64(100+i))
		seg := pt[min(i*segSize, len(pt)):min((i+1)*segSize, len(pt))]
		ad := binary.LittleEndian.AppendUint64(nil, k.Seq+uint64(i)) // wraps: 2^64-2, 2^64-1, 0, 1
		file = append(file, nonce...)
		file = a.Seal(file, nonce, seg, ad)
	}
	v2MustDecrypt(t, "seq 2^64-2", file, crypt4gh.DecryptOptions{}, pt, id)
	// The reader takes the sequence number from the header: with seq+1
	// there, no segment opens.
	k2 := k
	k2.Seq++
	h2 := v2Craft(t, 1, nil, id.Recipient(), v2DataKeyPlain(k2))
	bad := append(h2.Marshal(), file[h.Size():]...)
	res := v2MustFail(t, "wrong seq", bad, crypt4gh.DecryptOptions{}, crypt4gh.ErrAuthentication, "segment", id)
	for _, r := range res {
		if !r.atOpen && len(r.out) != 0 {
			t.Fatalf("%s: released %d bytes", r.path, len(r.out))
		}
	}
}

// TestV2PR736MissingTrailingSegment: a PR 736 payload cut at a segment
// boundary ends with a full segment and is rejected.
func TestV2PR736MissingTrailingSegment(t *testing.T) {
	id := newID(t)
	for _, n := range []int{segSize, 2*segSize + 5, 3 * segSize} {
		pt := pseudoRandom(n, 9)
		ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataChaCha20Poly1305PR736}, id.Recipient())
		hs := len(ct) - int(crypt4gh.EncryptedSizeFor(1, int64(n)))
		for k := 0; k <= n/segSize; k++ {
			cut := ct[:hs+k*cSegSize]
			if len(cut) == len(ct) {
				continue
			}
			res := v2MustFail(t, fmt.Sprintf("n=%d cut after %d segments", n, k), cut, crypt4gh.DecryptOptions{}, crypt4gh.ErrTruncated, "missing trailing segment", id)
			for _, r := range res {
				// PR 736 does not bind the final segment: the segments
				// present are authentic and come out before the error.
				if !r.atOpen && !bytes.Equal(r.out, pt[:k*segSize]) {
					t.Fatalf("n=%d cut %d: %s released %d bytes, want %d", n, k, r.path, len(r.out), k*segSize)
				}
				if strings.HasPrefix(r.path, "readerat") && !r.atOpen {
					t.Fatalf("n=%d cut %d: the random-access reader did not check the end up front", n, k)
				}
			}
		}
	}
}

// TestV2SealedLayout opens sealed payloads by hand with keys derived from
// the spec, and recomputes the header MAC.
func TestV2SealedLayout(t *testing.T) {
	id := newID(t)
	for _, m := range v2SealedMethods {
		for _, n := range []int{0, 1000, segSize, 3*segSize + 7} {
			pt := pseudoRandom(n, uint64(n)+uint64(m.method))
			ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{DataMethod: m.method}, id.Recipient())
			h, hs, c := v2Parse(t, ct, id)
			what := fmt.Sprintf("%s n=%d", m.name, n)
			if h.Version != 2 || len(h.Packets) != 1 || len(h.Signatures) != 0 {
				t.Fatalf("%s: version %d, %d packets, %d signatures", what, h.Version, len(h.Packets), len(h.Signatures))
			}
			plain, err := id.OpenPacket(h.Packets[0])
			if err != nil {
				t.Fatal(err)
			}
			if len(plain) != 40 || binary.LittleEndian.Uint32(plain) != 0 || binary.LittleEndian.Uint32(plain[4:]) != m.method {
				t.Fatalf("%s: data key packet %x", what, plain)
			}
			kData := plain[8:40]
			if !bytes.Equal(c.DataKeys[0].Key[:], kData) {
				t.Fatalf("%s: Header.Decrypt gives another key", what)
			}
			// Section 3: v2 header = packets | mac[32] | le32 s | signatures.
			end := v2PacketsEnd(t, ct)
			if hs != end+32+4 || binary.LittleEndian.Uint32(ct[end+32:]) != 0 {
				t.Fatalf("%s: header is %d bytes, packets end at %d", what, hs, end)
			}
			if !bytes.Equal(ct[end:end+32], v2MAC(t, ct[:end], kData)) {
				t.Fatalf("%s: header MAC is not HMAC-SHA-256(K_mac, magic..last packet)", what)
			}
			segs := v2Split(ct[hs:])
			if want := max(1, (n+segSize-1)/segSize); len(segs) != want {
				t.Fatalf("%s: %d segments, want %d", what, len(segs), want)
			}
			var got []byte
			base := segs[0][:12]
			for i, s := range segs {
				final := i == len(segs)-1
				a := v2SegmentAEAD(t, m.method, kData, uint64(i))
				p, err := a.Open(nil, s[:12], s[12:], v2SealedAD(uint64(i), final))
				if err != nil {
					t.Fatalf("%s: segment %d does not open with AD le64(%d)||%v: %v", what, i, i, final, err)
				}
				if _, err := a.Open(nil, s[:12], s[12:], v2SealedAD(uint64(i), !final)); err == nil {
					t.Fatalf("%s: segment %d opens with the other final flag", what, i)
				}
				if _, err := a.Open(nil, s[:12], s[12:], v2SealedAD(uint64(i)+1, final)); err == nil {
					t.Fatalf("%s: segment %d opens under index %d", what, i, i+1)
				}
				// Nonces: random base plus the index (96-bit LE addition).
				if want := v2NonceAdd(base, uint64(i)); !bytes.Equal(s[:12], want) {
					t.Fatalf("%s: segment %d nonce %x, want base+%d = %x", what, i, s[:12], i, want)
				}
				got = append(got, p...)
			}
			if !bytes.Equal(got, pt) {
				t.Fatalf("%s: plaintext differs", what)
			}
			if n == 0 && len(segs[0]) != 28 {
				t.Fatalf("%s: empty plaintext gives a %d-byte segment, want 28", what, len(segs[0]))
			}
			// K_data itself must not open anything (key separation).
			if a, err := chacha20poly1305.New(kData); err == nil {
				if _, err := a.Open(nil, segs[0][:12], segs[0][12:], v2SealedAD(0, len(segs) == 1)); err == nil {
					t.Fatalf("%s: segment opens under K_data directly", what)
				}
			}
		}
	}
}

func v2NonceAdd(base []byte, i uint64) []byte {
	lo := binary.LittleEndian.Uint64(base)
	hi := binary.LittleEndian.Uint32(base[8:])
	sum := lo + i
	if sum < lo {
		hi++
	}
	out := binary.LittleEndian.AppendUint64(nil, sum)
	return binary.LittleEndian.AppendUint32(out, hi)
}

// TestV2AESKeyRotation: K_j of section 5.3 depends on j; segment 0 opens
// under K_0 and not under K_1 (2^20 segments are too many to write here;
// internal/segment tests the rotation with small periods).
func TestV2AESKeyRotation(t *testing.T) {
	id := newID(t)
	ct := encryptBytes(t, pseudoRandom(1000, 1), crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataSealedAES256GCM}, id.Recipient())
	_, hs, c := v2Parse(t, ct, id)
	kData := c.DataKeys[0].Key[:]
	k0, k1, k2 := v2AESKey(t, kData, 0), v2AESKey(t, kData, 1), v2AESKey(t, kData, 2)
	if bytes.Equal(k0, k1) || bytes.Equal(k1, k2) || bytes.Equal(k0, k2) {
		t.Fatal("K_j does not depend on j")
	}
	seg := ct[hs:]
	for j, k := range [][]byte{k0, k1} {
		b, _ := aes.NewCipher(k)
		a, _ := cipher.NewGCM(b)
		_, err := a.Open(nil, seg[:12], seg[12:], v2SealedAD(0, true))
		if (err == nil) != (j == 0) {
			t.Fatalf("segment 0 under K_%d: %v", j, err)
		}
	}
	// The ChaCha payload key is another derivation.
	if bytes.Equal(v2HKDF(t, kData, "crypt4gh-v2 payload chacha20-poly1305"), k0) {
		t.Fatal("AES and ChaCha payload keys coincide")
	}
}

// TestV2Signatures: Ed25519 and ML-DSA signatures sign, verify, survive
// re-encryption and rearrangement, and fail as section 7 says.
func TestV2Signatures(t *testing.T) {
	id, other := newID(t), newID(t)
	ed := v2Ed25519(t)
	ml65 := v2MLDSA(t, crypt4gh.SigMLDSA65)
	ml87 := v2MLDSA(t, crypt4gh.SigMLDSA87)
	pt := pseudoRandom(3*segSize+10, 77)
	for _, tc := range []struct {
		name    string
		signer  crypt4gh.Signer
		ver     crypt4gh.Verifier
		sigSize int
	}{
		{"ed25519", ed, ed.Verifier(), 64},
		{"mldsa65", ml65, ml65.Verifier(), 3309},
		{"mldsa87", ml87, ml87.Verifier(), 4627},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{tc.signer}}, id.Recipient())
			h, hs, c := v2Parse(t, ct, id)
			if h.Version != 2 || c.DataKeys[0].Method != crypt4gh.DataSealedChaCha20Poly1305 || len(h.Signatures) != 1 {
				t.Fatalf("version %d, method %d, %d signatures", h.Version, c.DataKeys[0].Method, len(h.Signatures))
			}
			// The record on the wire (section 3 and 7).
			end := v2PacketsEnd(t, ct) + 32
			if binary.LittleEndian.Uint32(ct[end:]) != 1 {
				t.Fatal("signature count is not 1")
			}
			rec := ct[end+4 : hs]
			alg := tc.signer.SignatureAlgorithm()
			keyID := sha256.Sum256(append(binary.LittleEndian.AppendUint32(nil, alg), tc.signer.PublicKey()...))
			if int(binary.LittleEndian.Uint32(rec)) != len(rec) || len(rec) != 40+tc.sigSize ||
				binary.LittleEndian.Uint32(rec[4:]) != alg || !bytes.Equal(rec[8:40], keyID[:]) {
				t.Fatalf("signature record %x…: want length %d, algorithm %d, key_id %x", rec[:40], 40+tc.sigSize, alg, keyID)
			}
			if crypt4gh.KeyID(alg, tc.signer.PublicKey()) != keyID {
				t.Fatal("KeyID differs from SHA-256(le32(alg) || pk)")
			}
			// The message, built here from the spec, verifies.
			msg := append([]byte("crypt4gh-v2 signature\x00"), binary.LittleEndian.AppendUint32(nil, alg)...)
			msg = append(msg, keyID[:]...)
			msg = binary.LittleEndian.AppendUint32(msg, crypt4gh.DataSealedChaCha20Poly1305)
			msg = append(msg, v2HKDF(t, c.DataKeys[0].Key[:], "crypt4gh-v2 key commitment")...)
			if !tc.ver.Verify(msg, rec[40:]) {
				t.Fatal("the signature does not verify over the message of section 7")
			}
			if alg == crypt4gh.SigEd25519 && !ed25519.Verify(tc.signer.PublicKey(), msg, rec[40:]) {
				t.Fatal("crypto/ed25519 rejects the signature")
			}

			opts := crypt4gh.DecryptOptions{Verifiers: []crypt4gh.Verifier{tc.ver}}
			v2MustDecrypt(t, "verified", ct, opts, pt, id)
			if err := h.Verify(c, tc.ver); err != nil {
				t.Fatal(err)
			}

			// Re-encryption for a new reader keeps the signature valid.
			nh, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{id}, []crypt4gh.Recipient{other.Recipient()}, &crypt4gh.ReencryptOptions{Trim: true})
			if err != nil {
				t.Fatal(err)
			}
			re := append(nh.Marshal(), ct[hs:]...)
			v2MustDecrypt(t, "re-encrypted", re, opts, pt, other)
			// So does a new expiry and a new link.
			exp := time.Now().Add(time.Hour).Truncate(time.Second)
			link := "https://example.org/new"
			nh2, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{id}, []crypt4gh.Recipient{other.Recipient()}, &crypt4gh.ReencryptOptions{Trim: true, Expiry: &exp, Link: &link})
			if err != nil {
				t.Fatal(err)
			}
			v2MustDecrypt(t, "re-encrypted with expiry and link", append(nh2.Marshal(), ct[hs:]...), opts, pt, other)

			// Rearrangement (a segment map) keeps it too.
			var out bytes.Buffer
			rg := crypt4gh.Range{Start: segSize + 5, End: 2*segSize + 9}
			if err := crypt4gh.RearrangeReaderAt(&out, bytes.NewReader(ct), int64(len(ct)), []crypt4gh.Identity{id}, []crypt4gh.Recipient{other.Recipient()}, rg); err != nil {
				t.Fatal(err)
			}
			v2MustDecrypt(t, "rearranged", out.Bytes(), opts, v2Cut(pt, rg), other)

			// Missing: unsigned file, or another key.
			plain := encryptBytes(t, pt, crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataSealedChaCha20Poly1305}, id.Recipient())
			v2MustFail(t, "unsigned", plain, opts, crypt4gh.ErrSignature, "missing", id)
			v1 := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, id.Recipient())
			v2MustFail(t, "version 1", v1, opts, crypt4gh.ErrSignature, "missing", id)
			wrong := v2Ed25519(t).Verifier()
			v2MustFail(t, "other key", ct, crypt4gh.DecryptOptions{Verifiers: []crypt4gh.Verifier{wrong}}, crypt4gh.ErrSignature, "missing", id)

			// Tampered: flip a byte of the signature.
			bad := bytes.Clone(ct)
			bad[hs-1] ^= 0x01
			v2MustFail(t, "tampered", bad, opts, crypt4gh.ErrSignature, "invalid", id)
			// Without a verifier, signatures are not checked.
			v2MustDecrypt(t, "tampered, not verified", bad, crypt4gh.DecryptOptions{}, pt, id)
		})
	}

	t.Run("two signers", func(t *testing.T) {
		ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{ed, ml65}}, id.Recipient())
		v2MustDecrypt(t, "both", ct, crypt4gh.DecryptOptions{Verifiers: []crypt4gh.Verifier{ed.Verifier(), ml65.Verifier()}}, pt, id)
		v2MustFail(t, "ml-dsa-87 asked", ct, crypt4gh.DecryptOptions{Verifiers: []crypt4gh.Verifier{ed.Verifier(), ml87.Verifier()}}, crypt4gh.ErrSignature, "missing", id)
	})
}

// TestV2Expiry: DecryptOptions.Now, IgnoreExpiry, and ReencryptOptions.Expiry.
func TestV2Expiry(t *testing.T) {
	id, other := newID(t), newID(t)
	pt := pseudoRandom(70000, 5)
	exp := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{Expiry: exp}, id.Recipient())
	h, hs, c := v2Parse(t, ct, id)
	if h.Version != 2 || c.DataKeys[0].Method != crypt4gh.DataSealedChaCha20Poly1305 || !c.Expiry.Equal(exp) {
		t.Fatalf("version %d, method %d, expiry %v", h.Version, c.DataKeys[0].Method, c.Expiry)
	}
	at := func(tm time.Time) crypt4gh.DecryptOptions {
		return crypt4gh.DecryptOptions{Now: func() time.Time { return tm }}
	}
	v2MustDecrypt(t, "before", ct, at(exp.Add(-time.Hour)), pt, id)
	v2MustDecrypt(t, "at the instant", ct, at(exp), pt, id)
	v2MustFail(t, "after", ct, at(exp.Add(time.Second)), crypt4gh.ErrExpired, "2031-03-04T05:06:07Z", id)
	o := at(exp.Add(time.Hour))
	o.IgnoreExpiry = true
	v2MustDecrypt(t, "ignored", ct, o, pt, id)

	// The real clock.
	past := encryptBytes(t, pt, crypt4gh.EncryptOptions{Expiry: time.Unix(1000000000, 0)}, id.Recipient())
	v2MustFail(t, "past, real clock", past, crypt4gh.DecryptOptions{}, crypt4gh.ErrExpired, "2001-09-09T01:46:40Z", id)

	// Re-encryption keeps the expiry unless told to replace it.
	kept, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{id}, []crypt4gh.Recipient{other.Recipient()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v2MustFail(t, "kept", append(kept.Marshal(), ct[hs:]...), at(exp.Add(time.Second)), crypt4gh.ErrExpired, "2031", other)
	later := exp.Add(24 * time.Hour)
	moved, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{id}, []crypt4gh.Recipient{other.Recipient()}, &crypt4gh.ReencryptOptions{Expiry: &later})
	if err != nil {
		t.Fatal(err)
	}
	re := append(moved.Marshal(), ct[hs:]...)
	v2MustDecrypt(t, "replaced", re, at(exp.Add(time.Hour)), pt, other)
	v2MustFail(t, "replaced, after", re, at(later.Add(time.Second)), crypt4gh.ErrExpired, "2031-03-05T05:06:07Z", other)
	if _, _, c := v2Parse(t, re, other); !c.Expiry.Equal(later) {
		t.Fatalf("replaced expiry %v", c.Expiry)
	}
	// A zero time removes it.
	var zero time.Time
	gone, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{id}, []crypt4gh.Recipient{other.Recipient()}, &crypt4gh.ReencryptOptions{Expiry: &zero})
	if err != nil {
		t.Fatal(err)
	}
	v2MustDecrypt(t, "removed", append(gone.Marshal(), ct[hs:]...), at(later.Add(time.Hour)), pt, other)

	// Expiry needs a sealed method; PR 736 is version 1.
	var buf bytes.Buffer
	if _, err := crypt4gh.EncryptWithOptions(&buf, crypt4gh.EncryptOptions{Expiry: exp, DataMethod: crypt4gh.DataChaCha20Poly1305PR736}, id.Recipient()); err == nil {
		t.Fatal("expiry with PR 736 accepted")
	}
}

// TestV2Link: link round trip on a header-only file, and repointing.
func TestV2Link(t *testing.T) {
	id, other := newID(t), newID(t)
	pt := pseudoRandom(100000, 6)
	const uri = "https://archive.example.org/objects/abc?part=1"
	var hdr, payload bytes.Buffer
	w, err := crypt4gh.EncryptWithOptions(&payload, crypt4gh.EncryptOptions{HeaderTo: &hdr, Link: uri}, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(pt)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	headerOnly := hdr.Bytes()
	h, n, c := v2Parse(t, headerOnly, id)
	if n != len(headerOnly) || h.Version != 2 || c.Link != uri {
		t.Fatalf("header-only file: %d of %d bytes, version %d, link %q", n, len(headerOnly), h.Version, c.Link)
	}
	// The header and the detached payload read as a file.
	v2MustDecrypt(t, "header+payload", append(bytes.Clone(headerOnly), payload.Bytes()...), crypt4gh.DecryptOptions{}, pt, id)
	r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(payload.Bytes()), crypt4gh.DecryptOptions{Header: h}, id)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("detached: %v", err)
	}
	// The header alone is a truncated sealed stream (the library does not
	// follow links).
	v2MustFail(t, "header only", headerOnly, crypt4gh.DecryptOptions{}, crypt4gh.ErrTruncated, "truncated stream", id)

	for _, newURI := range []string{"s3://bucket/key", "drs://drs.example.org/123", ""} {
		u := newURI
		// Repoint for the same reader and a new one.
		nh, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{id}, []crypt4gh.Recipient{id.Recipient(), other.Recipient()}, &crypt4gh.ReencryptOptions{Link: &u})
		if err != nil {
			t.Fatalf("repoint to %q: %v", u, err)
		}
		perReader := 2 // data key, link
		if u == "" {
			perReader = 1
		}
		if nh.Version != 2 || len(nh.Packets) != 2*perReader {
			t.Fatalf("repointed header: version %d, %d packets", nh.Version, len(nh.Packets))
		}
		for _, reader := range []crypt4gh.Identity{id, other} {
			nc, err := nh.Decrypt(reader)
			if err != nil || nc.Link != u {
				t.Fatalf("repointed to %q: link %q, %v", u, nc.Link, err)
			}
		}
	}
	for _, bad := range []string{"no-scheme", "https://a/\x00b", "https://a/\nb", "https://" + strings.Repeat("a", 9000)} {
		if _, err := crypt4gh.EncryptWithOptions(io.Discard, crypt4gh.EncryptOptions{Link: bad}, id.Recipient()); err == nil {
			t.Errorf("link %q accepted", bad)
		}
	}
}

// TestV2EditListLimit: MaxSkippedSegments at and over the limit.
func TestV2EditListLimit(t *testing.T) {
	id := newID(t)
	pt := pseudoRandom(6*segSize, 8)
	for _, tc := range []struct {
		el      crypt4gh.EditList
		skipped int64
	}{
		{crypt4gh.EditList{3 * segSize, 10}, 3},
		{crypt4gh.EditList{2*segSize + 5}, 2},
		{crypt4gh.EditList{segSize + 5, 10, segSize, 10}, 1},
		{crypt4gh.EditList{10, 10, 4 * segSize, 10}, 3},
		{crypt4gh.EditList{5*segSize - 1, 1}, 4},
	} {
		for _, m := range v2AllMethods {
			ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{DataMethod: m.method, EditList: tc.el}, id.Recipient())
			want := applyEditListRef(tc.el, pt)
			what := fmt.Sprintf("%s %v", m.name, tc.el)
			v2MustDecrypt(t, what+" at the limit", ct, crypt4gh.DecryptOptions{MaxSkippedSegments: tc.skipped}, want, id)
			v2MustDecrypt(t, what+" no limit", ct, crypt4gh.DecryptOptions{}, want, id)
			if tc.skipped > 0 {
				msg := fmt.Sprintf("skips %d segments, more than the limit of %d", tc.skipped, tc.skipped-1)
				if tc.skipped == 1 {
					// 0 means "no limit": the smallest limit is 1.
					v2MustDecrypt(t, what+" limit 1", ct, crypt4gh.DecryptOptions{MaxSkippedSegments: 1}, want, id)
					continue
				}
				v2MustFail(t, what+" over the limit", ct, crypt4gh.DecryptOptions{MaxSkippedSegments: tc.skipped - 1}, crypt4gh.ErrEditListLimit, msg, id)
			}
		}
	}
}

// TestV2Versioning: which version each feature writes, and the
// post-quantum rules.
func TestV2Versioning(t *testing.T) {
	id := newID(t)
	hy := v2Hybrid(t)
	ed := v2Ed25519(t)
	pt := []byte("versioning")
	for _, tc := range []struct {
		name    string
		opts    crypt4gh.EncryptOptions
		rs      []crypt4gh.Recipient
		version uint32
		method  uint32
	}{
		{"default", crypt4gh.EncryptOptions{}, []crypt4gh.Recipient{id.Recipient()}, 1, 0},
		{"pr736", crypt4gh.EncryptOptions{DataMethod: 1}, []crypt4gh.Recipient{id.Recipient()}, 1, 1},
		{"sealed-chacha", crypt4gh.EncryptOptions{DataMethod: 2}, []crypt4gh.Recipient{id.Recipient()}, 2, 2},
		{"sealed-aes", crypt4gh.EncryptOptions{DataMethod: 3}, []crypt4gh.Recipient{id.Recipient()}, 2, 3},
		{"expiry", crypt4gh.EncryptOptions{Expiry: time.Now().Add(time.Hour)}, []crypt4gh.Recipient{id.Recipient()}, 2, 2},
		{"link", crypt4gh.EncryptOptions{Link: "https://x.example/y"}, []crypt4gh.Recipient{id.Recipient()}, 2, 2},
		{"signature", crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{ed}}, []crypt4gh.Recipient{id.Recipient()}, 2, 2},
		{"hybrid", crypt4gh.EncryptOptions{}, []crypt4gh.Recipient{hy.Recipient()}, 2, 2},
		{"hybrid+aes", crypt4gh.EncryptOptions{DataMethod: 3}, []crypt4gh.Recipient{hy.Recipient(), id.Recipient()}, 2, 3},
	} {
		ct := encryptBytes(t, pt, tc.opts, tc.rs...)
		if v := binary.LittleEndian.Uint32(ct[8:]); v != tc.version {
			t.Errorf("%s: version %d, want %d", tc.name, v, tc.version)
			continue
		}
		var ids []crypt4gh.Identity
		if _, ok := tc.rs[0].(*crypt4gh.HybridRecipient); ok {
			ids = append(ids, hy)
		} else {
			ids = append(ids, id)
		}
		_, _, c := v2Parse(t, ct, ids...)
		if c.DataKeys[0].Method != tc.method || c.Version != tc.version {
			t.Errorf("%s: method %d (content version %d), want %d", tc.name, c.DataKeys[0].Method, c.Version, tc.method)
		}
		v2MustDecrypt(t, tc.name, ct, crypt4gh.DecryptOptions{}, pt, ids...)
	}
	// v2 features with a version 1 method are refused, not silently dropped.
	for name, opts := range map[string]crypt4gh.EncryptOptions{
		"pr736+link":      {DataMethod: 1, Link: "https://x.example/y"},
		"pr736+signature": {DataMethod: 1, Signers: []crypt4gh.Signer{ed}},
	} {
		if _, err := crypt4gh.EncryptWithOptions(io.Discard, opts, id.Recipient()); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := crypt4gh.EncryptWithOptions(io.Discard, crypt4gh.EncryptOptions{DataMethod: 1}, hy.Recipient()); err == nil {
		t.Error("hybrid recipient with PR 736 accepted")
	}
	if _, err := crypt4gh.EncryptWithOptions(io.Discard, crypt4gh.EncryptOptions{DataMethod: 9}, id.Recipient()); err == nil {
		t.Error("data method 9 accepted")
	}
	// RequirePostQuantum.
	if _, err := crypt4gh.EncryptWithOptions(io.Discard, crypt4gh.EncryptOptions{RequirePostQuantum: true}, id.Recipient()); !errors.Is(err, crypt4gh.ErrNotPostQuantum) {
		t.Errorf("classical recipient with RequirePostQuantum: %v", err)
	}
	if _, err := crypt4gh.EncryptWithOptions(io.Discard, crypt4gh.EncryptOptions{RequirePostQuantum: true}, hy.Recipient(), id.Recipient()); !errors.Is(err, crypt4gh.ErrNotPostQuantum) {
		t.Errorf("mixed recipients with RequirePostQuantum: %v", err)
	}
	ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{RequirePostQuantum: true}, hy.Recipient())
	v2MustDecrypt(t, "pq only", ct, crypt4gh.DecryptOptions{}, pt, hy)
}

// TestV2Hybrid: hybrid recipients round trip; ClassicallyExposed says whether a
// classical packet exists.
func TestV2Hybrid(t *testing.T) {
	hy, hy2, id := v2Hybrid(t), v2Hybrid(t), newID(t)
	pt := pseudoRandom(2*segSize+3, 10)
	ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, hy.Recipient(), hy2.Recipient())
	h, _, c := v2Parse(t, ct, hy)
	if c.ClassicallyExposed {
		t.Error("PQ-only file flagged ClassicallyExposed")
	}
	for i, p := range h.Packets {
		if p.Method != crypt4gh.PacketX25519MLKEM1024 || len(p.Payload) != crypt4gh.HybridPacketOverhead+40 {
			t.Fatalf("packet %d: method %d, %d bytes", i, p.Method, len(p.Payload))
		}
	}
	v2MustDecrypt(t, "first reader", ct, crypt4gh.DecryptOptions{}, pt, hy)
	v2MustDecrypt(t, "second reader", ct, crypt4gh.DecryptOptions{}, pt, hy2)
	v2MustFail(t, "classical key", ct, crypt4gh.DecryptOptions{}, crypt4gh.ErrNoMatchingKey, "", id)

	mixed := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, hy.Recipient(), id.Recipient())
	for _, ident := range []crypt4gh.Identity{hy, id} {
		_, _, c := v2Parse(t, mixed, ident)
		if !c.ClassicallyExposed {
			t.Error("file with a classical packet not flagged ClassicallyExposed")
		}
		v2MustDecrypt(t, "mixed", mixed, crypt4gh.DecryptOptions{}, pt, ident)
	}
	// Re-encryption from a classical reader to a PQ reader, trimmed, gives a
	// PQ-only header.
	hm, hs, _ := v2Parse(t, mixed, id)
	nh, err := crypt4gh.ReencryptHeader(hm, []crypt4gh.Identity{id}, []crypt4gh.Recipient{hy2.Recipient()}, &crypt4gh.ReencryptOptions{Trim: true})
	if err != nil {
		t.Fatal(err)
	}
	re := append(nh.Marshal(), mixed[hs:]...)
	if _, _, c := v2Parse(t, re, hy2); c.ClassicallyExposed {
		t.Error("trimmed PQ re-encryption still flagged ClassicallyExposed")
	}
	v2MustDecrypt(t, "re-encrypted to PQ", re, crypt4gh.DecryptOptions{}, pt, hy2)
}

// v2ReplaceHeader returns h's wire form followed by the payload of ct.
func v2ReplaceHeader(t testing.TB, h *crypt4gh.Header, ct []byte) []byte {
	t.Helper()
	_, n, err := crypt4gh.ParseHeader(ct)
	if err != nil {
		t.Fatal(err)
	}
	return append(h.Marshal(), ct[n:]...)
}

// TestV2PacketTypes: non-critical types are ignored in v2, critical
// unknown ones rejected by number; the one-per-type rule; methods by
// version.
func TestV2PacketTypes(t *testing.T) {
	id := newID(t)
	pt := pseudoRandom(segSize+10, 11)
	ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataSealedChaCha20Poly1305}, id.Recipient())
	_, _, c := v2Parse(t, ct, id)
	k := c.DataKeys[0]
	kd := k.Key[:]
	dk := v2DataKeyPlain(k)
	typ := func(ty uint32, rest ...byte) []byte {
		return append(binary.LittleEndian.AppendUint32(nil, ty), rest...)
	}
	expiry := func(s uint64) []byte { return binary.LittleEndian.AppendUint64(typ(crypt4gh.TypeExpiry), s) }
	link := func(u string) []byte { return append(typ(crypt4gh.TypeLink), u...) }

	// Our own MAC computation is what the library checks: the plain
	// rebuild decrypts.
	v2MustDecrypt(t, "rebuilt", v2ReplaceHeader(t, v2Craft(t, 2, kd, id.Recipient(), dk), ct), crypt4gh.DecryptOptions{}, pt, id)

	nonCrit := typ(0x80000007, 1, 2, 3, 4, 5)
	v2MustDecrypt(t, "non-critical type", v2ReplaceHeader(t, v2Craft(t, 2, kd, id.Recipient(), nonCrit, dk, typ(0xffffffff)), ct), crypt4gh.DecryptOptions{}, pt, id)
	v2MustFail(t, "critical type 5", v2ReplaceHeader(t, v2Craft(t, 2, kd, id.Recipient(), dk, typ(5, 0, 0, 0, 0)), ct), crypt4gh.DecryptOptions{}, crypt4gh.ErrUnsupported, "unknown critical header packet type 5", id)
	v2MustFail(t, "critical type 0x7fffffff", v2ReplaceHeader(t, v2Craft(t, 2, kd, id.Recipient(), dk, typ(0x7fffffff)), ct), crypt4gh.DecryptOptions{}, crypt4gh.ErrUnsupported, "2147483647", id)

	// Padding after the known fields of types 0, 2 and 4 is ignored.
	padded := append(bytes.Clone(dk), make([]byte, 24)...)
	v2MustDecrypt(t, "padded", v2ReplaceHeader(t, v2Craft(t, 2, kd, id.Recipient(), padded, append(expiry(1<<40), 9, 9, 9)), ct), crypt4gh.DecryptOptions{}, pt, id)

	// At most one opened packet of each of types 1–4.
	for name, extra := range map[string][][]byte{
		"two expiries": {expiry(1 << 40), expiry(1 << 41)},
		"two links":    {link("https://a.example/1"), link("https://a.example/2")},
		"two edit lists": {
			binary.LittleEndian.AppendUint64(typ(crypt4gh.TypeEditList, 1, 0, 0, 0), 5),
			binary.LittleEndian.AppendUint64(typ(crypt4gh.TypeEditList, 1, 0, 0, 0), 6),
		},
	} {
		h := v2Craft(t, 2, kd, id.Recipient(), append([][]byte{dk}, extra...)...)
		v2MustFail(t, name, v2ReplaceHeader(t, h, ct), crypt4gh.DecryptOptions{}, crypt4gh.ErrMalformedHeader, "more than one", id)
	}
	// For several recipients each, one copy each is fine.
	other := newID(t)
	h := v2Craft(t, 2, kd, id.Recipient(), dk, expiry(1<<40))
	h2 := v2Craft(t, 2, kd, other.Recipient(), dk, expiry(1<<40))
	h.Packets = append(h.Packets, h2.Packets...)
	v2SetMAC(t, h, kd)
	v2MustDecrypt(t, "one expiry per reader", v2ReplaceHeader(t, h, ct), crypt4gh.DecryptOptions{}, pt, id)

	// Version 2 headers take only sealed methods, exactly one data key.
	for _, m := range []uint32{0, 1, 4} {
		bad := v2DataKeyPlain(crypt4gh.DataKey{Method: m, Key: k.Key})
		v2MustFail(t, fmt.Sprintf("v2 with method %d", m), v2ReplaceHeader(t, v2Craft(t, 2, kd, id.Recipient(), bad), ct), crypt4gh.DecryptOptions{}, crypt4gh.ErrUnsupported, fmt.Sprintf("method %d", m), id)
	}
	other2 := k
	other2.Key[0] ^= 1
	v2MustFail(t, "two data keys", v2ReplaceHeader(t, v2Craft(t, 2, kd, id.Recipient(), dk, v2DataKeyPlain(other2)), ct), crypt4gh.DecryptOptions{}, crypt4gh.ErrMalformedHeader, "exactly one data key", id)
	aesKey := k
	aesKey.Method = crypt4gh.DataSealedAES256GCM
	v2MustFail(t, "mixed methods", v2ReplaceHeader(t, v2Craft(t, 2, kd, id.Recipient(), dk, v2DataKeyPlain(aesKey)), ct), crypt4gh.DecryptOptions{}, crypt4gh.ErrMalformedHeader, "", id)

	// Version 1 headers know types 0 and 1 and methods 0 and 1 only.
	v1ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, id.Recipient())
	_, _, c1 := v2Parse(t, v1ct, id)
	dk1 := v2DataKeyPlain(c1.DataKeys[0])
	for name, extra := range map[string][]byte{
		"expiry in v1":       expiry(1 << 40),
		"link in v1":         link("https://a.example/1"),
		"segment map in v1":  typ(crypt4gh.TypeSegmentMap, make([]byte, 28)...),
		"non-critical in v1": nonCrit,
		"sealed key in v1":   v2DataKeyPlain(crypt4gh.DataKey{Method: 2}),
	} {
		v2MustFail(t, name, v2ReplaceHeader(t, v2Craft(t, 1, nil, id.Recipient(), dk1, extra), v1ct), crypt4gh.DecryptOptions{}, crypt4gh.ErrUnsupported, "", id)
	}
	// A version 1 header with a v2 method in a packet of another reader is
	// fine: the reader never sees it.
	h1 := v2Craft(t, 1, nil, id.Recipient(), dk1)
	h1.Packets = append(h1.Packets, v2Craft(t, 1, nil, other.Recipient(), v2DataKeyPlain(crypt4gh.DataKey{Method: 2})).Packets...)
	v2MustDecrypt(t, "v1 with a foreign packet", v2ReplaceHeader(t, h1, v1ct), crypt4gh.DecryptOptions{}, pt, id)

	// Versions other than 1 and 2.
	for _, v := range []uint32{0, 3, 0x100} {
		bad := bytes.Clone(ct)
		binary.LittleEndian.PutUint32(bad[8:], v)
		v2MustFail(t, fmt.Sprintf("version %d", v), bad, crypt4gh.DecryptOptions{}, crypt4gh.ErrUnsupportedVersion, "", id)
	}
}

// TestV2SegmentMapHeader: a segment map whose payload does not match is
// rejected; a hand-made map is honoured.
func TestV2SegmentMapHeader(t *testing.T) {
	id := newID(t)
	pt := pseudoRandom(5*segSize+100, 12)
	ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataSealedAES256GCM}, id.Recipient())
	_, hs, c := v2Parse(t, ct, id)
	kd := c.DataKeys[0].Key[:]
	dk := v2DataKeyPlain(c.DataKeys[0])
	segs := v2Split(ct[hs:])
	smap := func(total uint64, runs ...[2]uint64) []byte {
		b := binary.LittleEndian.AppendUint32(nil, crypt4gh.TypeSegmentMap)
		b = binary.LittleEndian.AppendUint64(b, total)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(runs)))
		for _, r := range runs {
			b = binary.LittleEndian.AppendUint64(b, r[0])
			b = binary.LittleEndian.AppendUint64(b, r[1])
		}
		return b
	}
	build := func(m []byte, idx ...int) []byte {
		out := v2Craft(t, 2, kd, id.Recipient(), dk, m).Marshal()
		for _, i := range idx {
			out = append(out, segs[i]...)
		}
		return out
	}
	// Segments 1, 2 and 5 (final) of 6.
	good := build(smap(6, [2]uint64{1, 2}, [2]uint64{5, 1}), 1, 2, 5)
	want := append(bytes.Clone(pt[segSize:3*segSize]), pt[5*segSize:]...)
	v2MustDecrypt(t, "map 1,2,5", good, crypt4gh.DecryptOptions{}, want, id)
	// Not listing the final one: segment 3 is then not final.
	v2MustDecrypt(t, "map 0..3", build(smap(6, [2]uint64{0, 4}), 0, 1, 2, 3), crypt4gh.DecryptOptions{}, pt[:4*segSize], id)

	v2MustFail(t, "map lists more", build(smap(6, [2]uint64{1, 2}, [2]uint64{5, 1}), 1, 2), crypt4gh.DecryptOptions{}, crypt4gh.ErrTruncated, "truncated stream", id)
	v2MustFail(t, "payload holds more", build(smap(6, [2]uint64{1, 2}), 1, 2, 3), crypt4gh.DecryptOptions{}, crypt4gh.ErrSegmentOrder, "", id)
	v2MustFail(t, "wrong segment", build(smap(6, [2]uint64{1, 2}, [2]uint64{5, 1}), 1, 3, 5), crypt4gh.DecryptOptions{}, crypt4gh.ErrSegmentOrder, "position 1 is segment 3", id)
	// The map says 7 segments: segment 5, which is final, is then followed
	// by more data.
	v2MustFail(t, "wrong total", build(smap(7, [2]uint64{5, 1}), 5), crypt4gh.DecryptOptions{}, crypt4gh.ErrSegmentOrder, "final segment", id)
	// Total 5 makes segment 4 final, which it is not: the stream is cut.
	v2MustFail(t, "non-final as final", build(smap(5, [2]uint64{4, 1}), 4), crypt4gh.DecryptOptions{}, crypt4gh.ErrTruncated, "truncated stream", id)
	// Malformed maps.
	for name, m := range map[string][]byte{
		"overlap":      smap(6, [2]uint64{0, 3}, [2]uint64{2, 1}),
		"empty run":    smap(6, [2]uint64{1, 0}),
		"outside":      smap(6, [2]uint64{5, 2}),
		"descending":   smap(6, [2]uint64{3, 1}, [2]uint64{1, 1}),
		"no runs":      smap(6),
		"huge total":   smap(1<<50, [2]uint64{0, 1}),
		"short packet": smap(6, [2]uint64{0, 1})[:20],
	} {
		v2MustFail(t, name, build(m, 0), crypt4gh.DecryptOptions{}, crypt4gh.ErrMalformedHeader, "segment map", id)
	}
}

// TestV2RearrangePastEnd: a range that starts past the last segment selects
// nothing. Reading such a range gives no bytes, and rearranging a version 1
// file to it gives a file with no visible bytes; a sealed file must
// rearrange the same way (a header whose segment map lists a placeholder
// segment, and that segment), not fail.
func TestV2RearrangePastEnd(t *testing.T) {
	id := newID(t)
	pt := pseudoRandom(3*segSize+10, 13) // 4 segments
	for _, m := range []v2Method{v2AllMethods[0], v2AllMethods[2], v2AllMethods[3]} {
		ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{DataMethod: m.method}, id.Recipient())
		for _, rg := range []crypt4gh.Range{{Start: 5 * segSize, End: 6 * segSize}, {Start: 10 * segSize, End: -1}, {Start: 4 * segSize, End: -1}} {
			what := fmt.Sprintf("%s [%d,%d)", m.name, rg.Start, rg.End)
			r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(ct), crypt4gh.DecryptOptions{Range: &rg}, id)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(r); err != nil || len(got) != 0 {
				t.Fatalf("%s: reading the range: %d bytes, %v", what, len(got), err)
			}
			var out bytes.Buffer
			if err := crypt4gh.RearrangeReaderAt(&out, bytes.NewReader(ct), int64(len(ct)), []crypt4gh.Identity{id}, []crypt4gh.Recipient{id.Recipient()}, rg); err != nil {
				t.Errorf("%s: RearrangeReaderAt: %v", what, err)
				continue
			}
			v2MustDecrypt(t, what, out.Bytes(), crypt4gh.DecryptOptions{}, nil, id)
		}
	}
}

// TestV2ReencryptKeepsOtherReaders: without Trim, re-encryption keeps the
// packets of readers the identity cannot open, and the new MAC covers them.
func TestV2ReencryptKeepsOtherReaders(t *testing.T) {
	a, b, c := newID(t), newID(t), v2Hybrid(t)
	pt := pseudoRandom(segSize+1, 14)
	ed := v2Ed25519(t)
	ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataSealedAES256GCM, Signers: []crypt4gh.Signer{ed}}, a.Recipient(), b.Recipient())
	h, hs, _ := v2Parse(t, ct, a)
	nh, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{a}, []crypt4gh.Recipient{c.Recipient()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(nh.Packets) != 2 || nh.Packets[0].Method != crypt4gh.PacketX25519MLKEM1024 || !bytes.Equal(nh.Packets[1].Payload, h.Packets[1].Payload) {
		t.Fatalf("re-encrypted header: %d packets", len(nh.Packets))
	}
	re := append(nh.Marshal(), ct[hs:]...)
	opts := crypt4gh.DecryptOptions{Verifiers: []crypt4gh.Verifier{ed.Verifier()}}
	v2MustDecrypt(t, "new reader", re, opts, pt, c)
	v2MustDecrypt(t, "kept reader", re, opts, pt, b)
	v2MustFail(t, "replaced reader", re, opts, crypt4gh.ErrNoMatchingKey, "", a)
	if _, _, cc := v2Parse(t, re, c); !cc.ClassicallyExposed {
		t.Error("the kept X25519 packet does not flag the header")
	}
	// Signing is for version 2 headers only.
	v1 := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, a.Recipient())
	h1, _, c1 := v2Parse(t, v1, a)
	if err := h1.Sign(c1, ed); err == nil {
		t.Error("a version 1 header was signed")
	}
}
