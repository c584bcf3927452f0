package crypt4gh_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
)

func newID(t testing.TB) *crypt4gh.X25519Identity {
	t.Helper()
	id, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func pseudoRandom(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func encryptBytes(t testing.TB, pt []byte, opts crypt4gh.EncryptOptions, rs ...crypt4gh.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := crypt4gh.EncryptWithOptions(&buf, opts, rs...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var sizes = []int{0, 1, 100, 65535, 65536, 65537, 131072, 3*65536 + 32768, 40*65536 + 7}

func TestRoundTripSizes(t *testing.T) {
	id := newID(t)
	for _, n := range sizes {
		pt := pseudoRandom(n, uint64(n))
		for _, conc := range []int{0, 1, 3} {
			ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{Concurrency: conc}, id.Recipient())
			if want := int64(crypt4gh.HeaderSize(1, -1)) + crypt4gh.EncryptedSize(int64(n)); int64(len(ct)) != want {
				t.Fatalf("size %d: file is %d bytes, EncryptedSize says %d", n, len(ct), want)
			}
			got, err := decryptPaths(ct, []crypt4gh.Identity{id}, nil)
			if err != nil {
				t.Fatalf("size %d: %v", n, err)
			}
			if !bytes.Equal(got, pt) {
				t.Fatalf("size %d concurrency %d: round trip differs", n, conc)
			}
		}
	}
}

// Writes of every awkward size, and ReadFrom, must give the same stream.
func TestWriterChunking(t *testing.T) {
	id := newID(t)
	pt := pseudoRandom(5*65536+123, 7)
	for _, chunk := range []int{1, 7, 4096, 65535, 65537, 1 << 20} {
		var buf bytes.Buffer
		w, err := crypt4gh.Encrypt(&buf, id.Recipient())
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < len(pt); off += chunk {
			w.Write(pt[off:min(len(pt), off+chunk)])
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := crypt4gh.Decrypt(&buf, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(iotestOneByte(r, chunk))
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
	}
}

// iotestOneByte reads through small reads when chunk is small, to exercise
// Read with tiny buffers.
func iotestOneByte(r io.Reader, chunk int) io.Reader {
	if chunk > 8 {
		return r
	}
	return readerFunc(func(p []byte) (int, error) { return r.Read(p[:min(len(p), chunk)]) })
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestMultipleRecipientsAndSender(t *testing.T) {
	a, b, c, sender := newID(t), newID(t), newID(t), newID(t)
	pt := pseudoRandom(70000, 1)
	ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, a.Recipient().WithSender(sender), b.Recipient().WithSender(sender))
	for _, id := range []*crypt4gh.X25519Identity{a, b} {
		got, err := decryptPaths(ct, []crypt4gh.Identity{crypt4gh.RequireSender(id, sender.Recipient())}, nil)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("recipient: %v", err)
		}
	}
	if _, err := crypt4gh.Decrypt(bytes.NewReader(ct), c); !errors.Is(err, crypt4gh.ErrNoMatchingKey) {
		t.Fatalf("third party: %v, want ErrNoMatchingKey", err)
	}
	if _, err := crypt4gh.Decrypt(bytes.NewReader(ct), crypt4gh.RequireSender(a, c.Recipient())); !errors.Is(err, crypt4gh.ErrNoMatchingKey) {
		t.Fatalf("wrong sender: %v, want ErrNoMatchingKey", err)
	}
	// Several identities: the one that matches is used.
	if _, err := crypt4gh.Decrypt(bytes.NewReader(ct), c, b); err != nil {
		t.Fatalf("identity list: %v", err)
	}
}

// Segment nonces must never repeat within a file (a reused nonce under one
// key breaks ChaCha20-Poly1305), nor across files.
func TestNoncesUnique(t *testing.T) {
	id := newID(t)
	seen := map[string]bool{}
	for f := 0; f < 3; f++ {
		ct := encryptBytes(t, make([]byte, 50*65536), crypt4gh.EncryptOptions{}, id.Recipient())
		h, n, err := crypt4gh.ParseHeader(ct)
		if err != nil {
			t.Fatal(err)
		}
		for off := n; off < len(ct); off += crypt4gh.CipherSegmentSize {
			nonce := string(ct[off : off+12])
			if seen[nonce] {
				t.Fatalf("file %d: nonce at offset %d repeats", f, off)
			}
			seen[nonce] = true
		}
		nonce := string(h.Packets[0].Payload[32:44])
		if seen["h"+nonce] {
			t.Fatal("header nonce repeats")
		}
		seen["h"+nonce] = true
	}
}

func TestTamperedPayload(t *testing.T) {
	id := newID(t)
	pt := pseudoRandom(3*65536+500, 2)
	ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, id.Recipient())
	hs := crypt4gh.HeaderSize(1, -1)
	rng := rand.New(rand.NewPCG(5, 6))
	positions := []int{hs, hs + 11, hs + 12, hs + 65563, hs + 65564, len(ct) - 1}
	for i := 0; i < 200; i++ {
		positions = append(positions, hs+rng.IntN(len(ct)-hs))
	}
	for _, pos := range positions {
		bad := bytes.Clone(ct)
		bad[pos] ^= 0x01
		seg := int64((pos - hs) / crypt4gh.CipherSegmentSize)
		r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(bad), crypt4gh.DecryptOptions{}, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		var ae *crypt4gh.AuthError
		if !errors.As(err, &ae) || ae.Index != seg {
			t.Fatalf("flip at %d: error %v, want AuthError for segment %d", pos, err, seg)
		}
		// Only the authenticated segments before the damage come out.
		if int64(len(got)) != seg*65536 || !bytes.Equal(got, pt[:len(got)]) {
			t.Fatalf("flip at %d: released %d bytes, want the %d before segment %d", pos, len(got), seg*65536, seg)
		}
		if _, err := crypt4gh.DecryptReaderAt(bytes.NewReader(bad), int64(len(bad)), id); err == nil && seg == 3 {
			t.Fatalf("flip in the last segment not seen when opening for random access")
		}
	}
}

func TestTamperedHeader(t *testing.T) {
	id := newID(t)
	ct := encryptBytes(t, []byte("hello"), crypt4gh.EncryptOptions{}, id.Recipient())
	hs := crypt4gh.HeaderSize(1, -1)
	for pos := 0; pos < hs; pos++ {
		bad := bytes.Clone(ct)
		bad[pos] ^= 0x80
		r, err := crypt4gh.Decrypt(bytes.NewReader(bad), id)
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if err == nil {
			t.Fatalf("flip of header byte %d went unnoticed", pos)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "crypt4gh: ") {
			t.Fatalf("flip of header byte %d: error %q lacks the package prefix", pos, msg)
		}
	}
}

// Truncating a file anywhere gives an error, or (only at a segment
// boundary, which version 1 cannot detect) a prefix of the plaintext.
func TestTruncation(t *testing.T) {
	id := newID(t)
	pt := pseudoRandom(2*65536+100, 3)
	ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, id.Recipient())
	hs := crypt4gh.HeaderSize(1, -1)
	cuts := []int{}
	for i := 0; i < hs+40; i++ {
		cuts = append(cuts, i)
	}
	for _, b := range []int{hs + 65564, hs + 2*65564} {
		for d := -30; d <= 30; d++ {
			cuts = append(cuts, b+d)
		}
	}
	for _, cut := range cuts {
		got, err := decryptPaths(ct[:cut], []crypt4gh.Identity{id}, nil)
		boundary := cut >= hs && (cut-hs)%crypt4gh.CipherSegmentSize == 0
		switch {
		case boundary && err == nil:
			if !bytes.Equal(got, pt[:len(got)]) || len(got) != (cut-hs)/crypt4gh.CipherSegmentSize*65536 {
				t.Fatalf("cut %d: wrong prefix", cut)
			}
		case err == nil:
			t.Fatalf("cut at %d not detected", cut)
		}
	}
}

func TestTwoEditListsRejected(t *testing.T) {
	id := newID(t)
	key := crypt4gh.DataKey{}
	h, err := crypt4gh.EncryptHeader(&crypt4gh.HeaderContent{DataKeys: []crypt4gh.DataKey{key}, EditList: crypt4gh.EditList{1, 2}}, id.Recipient(), id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Decrypt(id); !errors.Is(err, crypt4gh.ErrMalformedHeader) || !strings.Contains(err.Error(), "edit list") {
		t.Fatalf("two edit lists: %v", err)
	}
}

func TestEditListsEndToEnd(t *testing.T) {
	id := newID(t)
	pt := pseudoRandom(5*65536+1000, 4)
	lists := []crypt4gh.EditList{{}, {0}, {10}, {10, 20}, {65536, 65536}, {100, 1, 200000, 5, 7}, {0, 0}, {3 * 65536, 1000, 65536 + 5}}
	for _, el := range lists {
		ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{EditList: el}, id.Recipient())
		want := applyEditListRef(el, pt)
		got, err := decryptPaths(ct, []crypt4gh.Identity{id}, nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("edit list %v: %v (%d bytes, want %d)", el, err, len(got), len(want))
		}
		// Ranges through an edit list, by every path.
		for _, r := range []crypt4gh.Range{{0, 1}, {5, 70000}, {65530, -1}, {int64(len(want)), -1}} {
			got, err := decryptPaths(ct, []crypt4gh.Identity{id}, &r)
			if err != nil {
				t.Fatal(err)
			}
			if w := cut(want, r); !bytes.Equal(got, w) {
				t.Fatalf("edit list %v range %v: %d bytes, want %d", el, r, len(got), len(w))
			}
			var out bytes.Buffer
			if err := crypt4gh.Rearrange(&out, bytes.NewReader(ct), []crypt4gh.Identity{id}, []crypt4gh.Recipient{id.Recipient()}, r); err != nil {
				t.Fatal(err)
			}
			got, err = decryptPaths(out.Bytes(), []crypt4gh.Identity{id}, nil)
			if err != nil || !bytes.Equal(got, cut(want, r)) {
				t.Fatalf("rearranged %v %v: %v", el, r, err)
			}
			_, on, _ := crypt4gh.ParseHeader(out.Bytes())
			_, cn, _ := crypt4gh.ParseHeader(ct)
			if out.Len()-on > len(ct)-cn {
				t.Fatalf("edit list %v range %v: rearranged file (%d bytes) larger than the original (%d)", el, r, out.Len(), len(ct))
			}
		}
	}
}

func cut(b []byte, r crypt4gh.Range) []byte {
	s := min(int(r.Start), len(b))
	e := len(b)
	if r.End >= 0 {
		e = min(int(r.End), len(b))
	}
	return b[s:e]
}

func applyEditListRef(e crypt4gh.EditList, payload []byte) []byte {
	var out []byte
	pos := 0
	for i, l := range e {
		end := min(len(payload), pos+int(min(l, uint64(len(payload)))))
		if i%2 == 1 {
			out = append(out, payload[pos:end]...)
		}
		pos = end
	}
	if len(e)%2 == 1 || e == nil {
		out = append(out, payload[pos:]...)
	}
	if e != nil && len(e) == 0 {
		return payload
	}
	return out
}

func TestReaderAtRandomAccess(t *testing.T) {
	id := newID(t)
	pt := pseudoRandom(40*65536+999, 9)
	ct := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, id.Recipient())
	ra, err := crypt4gh.DecryptReaderAt(bytes.NewReader(ct), int64(len(ct)), id)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Size() != int64(len(pt)) {
		t.Fatalf("Size %d, want %d", ra.Size(), len(pt))
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 300; i++ {
		off := rng.Int64N(int64(len(pt)))
		n := rng.IntN(3 * 65536)
		if i%10 == 0 {
			n = rng.IntN(40 * 65536)
		}
		buf := make([]byte, n)
		got, err := ra.ReadAt(buf, off)
		wantN := min(n, len(pt)-int(off))
		if got != wantN || (got < n && err != io.EOF) || (got == n && err != nil) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", n, off, got, err)
		}
		if !bytes.Equal(buf[:got], pt[off:off+int64(got)]) {
			t.Fatalf("ReadAt(%d, %d): wrong bytes", n, off)
		}
	}
	// Seek from the end, as tools reading a BGZF EOF marker do.
	if pos, err := ra.Seek(-28, io.SeekEnd); err != nil || pos != int64(len(pt))-28 {
		t.Fatalf("Seek end: %d %v", pos, err)
	}
	tail, err := io.ReadAll(ra)
	if err != nil || !bytes.Equal(tail, pt[len(pt)-28:]) {
		t.Fatalf("read after SeekEnd: %v", err)
	}
	if _, err := ra.ReadAt(make([]byte, 1), int64(len(pt))); err != io.EOF {
		t.Fatalf("ReadAt at the end: %v", err)
	}
}

func TestTwoDataKeys(t *testing.T) {
	// A file whose segments alternate between two data keys, as the
	// standard allows, built from two encryptions of the same recipient.
	id := newID(t)
	pt := pseudoRandom(4*65536, 11)
	a := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, id.Recipient())
	b := encryptBytes(t, pt, crypt4gh.EncryptOptions{}, id.Recipient())
	ha, na, _ := crypt4gh.ParseHeader(a)
	hb, nb, _ := crypt4gh.ParseHeader(b)
	h := &crypt4gh.Header{Version: 1, Packets: append(ha.Packets, hb.Packets...)}
	out := h.Marshal()
	for s := 0; s < 4; s++ {
		src, n := a, na
		if s%2 == 1 {
			src, n = b, nb
		}
		out = append(out, src[n+s*crypt4gh.CipherSegmentSize:n+(s+1)*crypt4gh.CipherSegmentSize]...)
	}
	got, err := decryptPaths(out, []crypt4gh.Identity{id}, nil)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("two data keys: %v", err)
	}
	// Re-encryption keeps both keys.
	other := newID(t)
	nh, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{id}, []crypt4gh.Recipient{other.Recipient()}, &crypt4gh.ReencryptOptions{Trim: true})
	if err != nil {
		t.Fatal(err)
	}
	re := append(nh.Marshal(), out[h.Size():]...)
	if got, err := decryptPaths(re, []crypt4gh.Identity{other}, nil); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("re-encrypted two-key file: %v", err)
	}
}

func TestDetachedHeader(t *testing.T) {
	id := newID(t)
	pt := pseudoRandom(100000, 12)
	var hdr, payload bytes.Buffer
	w, err := crypt4gh.EncryptWithOptions(&payload, crypt4gh.EncryptOptions{HeaderTo: &hdr}, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(pt)
	w.Close()
	if int64(payload.Len()) != crypt4gh.EncryptedSize(int64(len(pt))) {
		t.Fatalf("payload %d bytes", payload.Len())
	}
	h, err := crypt4gh.ReadHeader(&hdr)
	if err != nil {
		t.Fatal(err)
	}
	r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(payload.Bytes()), crypt4gh.DecryptOptions{Header: h}, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("detached: %v", err)
	}
	c, err := h.Decrypt(id)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := crypt4gh.NewReaderAtFromContent(bytes.NewReader(payload.Bytes()), int64(payload.Len()), c, crypt4gh.DecryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := ra.ReadAt(buf, 99990); err != nil || !bytes.Equal(buf, pt[99990:]) {
		t.Fatalf("detached ReadAt: %v", err)
	}
}

// The root package is the format library: it may import only the standard
// library and golang.org/x/crypto.
func TestRootDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "github.com/crypt4gh-go/crypt4gh") || strings.HasPrefix(p, "golang.org/x/crypto") || strings.HasPrefix(p, "golang.org/x/sys") {
			continue
		}
		t.Errorf("root package depends on %s", p)
	}
}
