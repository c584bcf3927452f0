package interop

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/neicnordic/crypt4gh/keys"
	"github.com/neicnordic/crypt4gh/model/headers"
	"github.com/neicnordic/crypt4gh/streaming"
)

// Sizes every round trip runs over: empty, one byte, around and at segment
// boundaries, 3.5 segments, and a ~5 MiB payload that is not aligned.
var sizes = []struct {
	name string
	n    int
}{
	{"empty", 0},
	{"1B", 1},
	{"65535", 65535},
	{"65536", 65536},
	{"65537", 65537},
	{"131072", 131072},
	{"3.5seg", 7 * 65536 / 2},
	{"5MiB", 5<<20 + 12345},
}

// keyPair is one X25519 key seen from both libraries.
type keyPair struct {
	id *crypt4gh.X25519Identity
	sk [32]byte // neic's private key form
	pk [32]byte // neic's public key form
}

func newKeyPair(t testing.TB) keyPair {
	t.Helper()
	id, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return keyPairOf(t, id)
}

func keyPairOf(t testing.TB, id *crypt4gh.X25519Identity) keyPair {
	t.Helper()
	kp := keyPair{id: id}
	copy(kp.sk[:], id.SecretKey())
	copy(kp.pk[:], id.PublicKey())
	if got := keys.DerivePublicKey(kp.sk); got != kp.pk {
		t.Fatalf("neic derives public key %x from our secret, we derive %x", got, kp.pk)
	}
	return kp
}

func (k keyPair) recipient() crypt4gh.Recipient { return k.id.Recipient() }

// payload returns n deterministic pseudo-random bytes.
func payload(n int, seed uint64) []byte {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(s).Read(b)
	return b
}

// ---- our side ----

// ourEncrypt encrypts pt with EncryptWithOptions. chunk > 0 feeds it with
// Write calls of that size; otherwise io.Copy (ReadFrom) is used.
func ourEncrypt(t testing.TB, pt []byte, opts crypt4gh.EncryptOptions, chunk int, rs ...crypt4gh.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := crypt4gh.EncryptWithOptions(&buf, opts, rs...)
	if err != nil {
		t.Fatal(err)
	}
	if chunk > 0 {
		for p := pt; len(p) > 0; {
			n := min(chunk, len(p))
			if _, err := w.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
	} else if _, err := io.Copy(w, bytes.NewReader(pt)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// onlyReader hides every method but Read (no WriterTo, no Seeker).
type onlyReader struct{ io.Reader }

// ourDecrypt decrypts ct with the streaming Reader.
func ourDecrypt(ct []byte, ids ...crypt4gh.Identity) ([]byte, error) {
	r, err := crypt4gh.Decrypt(onlyReader{bytes.NewReader(ct)}, ids...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// ourDecryptAt decrypts ct with DecryptReaderAt, reading it whole with
// ReadAt.
func ourDecryptAt(ct []byte, ids ...crypt4gh.Identity) ([]byte, error) {
	r, err := crypt4gh.DecryptReaderAt(bytes.NewReader(ct), int64(len(ct)), ids...)
	if err != nil {
		return nil, err
	}
	out := make([]byte, r.Size())
	n, err := r.ReadAt(out, 0)
	if err != nil && !(err == io.EOF && n == len(out)) {
		return out[:n], err
	}
	return out, nil
}

// ---- neic side ----

// neicEncrypt encrypts pt with neic's streaming writer; writerSK nil uses
// NewCrypt4GHWriterWithoutPrivateKey (ephemeral writer key).
func neicEncrypt(t testing.TB, pt []byte, writerSK *[32]byte, el *headers.DataEditListHeaderPacket, pks ...[32]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *streaming.Crypt4GHWriter
	var err error
	if writerSK == nil {
		w, err = streaming.NewCrypt4GHWriterWithoutPrivateKey(&buf, pks, el)
	} else {
		w, err = streaming.NewCrypt4GHWriter(&buf, *writerSK, pks, el)
	}
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

// neicDecrypt decrypts ct with neic's streaming reader over a
// non-seekable source.
func neicDecrypt(ct []byte, sk [32]byte) (out []byte, err error) {
	defer func() {
		// peer: neic panics on some inputs (e.g. unknown packet types);
		// report that as an error instead of killing the test binary.
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("neic panicked: %v", p)
		}
	}()
	r, err := streaming.NewCrypt4GHReader(onlyReader{bytes.NewReader(ct)}, sk, nil)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func neicEditList(lengths ...uint64) *headers.DataEditListHeaderPacket {
	return &headers.DataEditListHeaderPacket{
		PacketType:    headers.PacketType{PacketType: headers.DataEditList},
		NumberLengths: uint32(len(lengths)),
		Lengths:       lengths,
	}
}

// ---- reference semantics ----

// applyEditList is ApplyEditList from the standard (§ "Edit List"): an
// empty list keeps everything; lengths alternate skip, keep, …; a final
// skip keeps the rest, a final keep drops it.
func applyEditList(in []byte, el []uint64) []byte {
	if len(el) == 0 {
		return in
	}
	n := uint64(len(in))
	clamp := func(x uint64) uint64 { return min(x, n) }
	out := []byte{}
	var pos uint64
	for i := 0; i < len(el); i += 2 {
		pos += el[i]
		if i+1 == len(el) {
			out = append(out, in[clamp(pos):]...)
			break
		}
		keep := el[i+1]
		out = append(out, in[clamp(pos):clamp(pos+keep)]...)
		pos += keep
	}
	return out
}

// ---- assertions ----

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:8]) }

func assertSame(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		i := 0
		for i < len(got) && i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: got %d bytes (sha %s), want %d bytes (sha %s); first difference at %d", what, len(got), sum(got), len(want), sum(want), i)
	}
}

func mustOK(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErrIs(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want one wrapping %v", what, err, target)
	}
}

// splitFile cuts a file into its header and payload.
func splitFile(t testing.TB, file []byte) (*crypt4gh.Header, []byte, []byte) {
	t.Helper()
	h, n, err := crypt4gh.ParseHeader(file)
	if err != nil {
		t.Fatal(err)
	}
	return h, file[:n], file[n:]
}

// segmentNonces returns the nonces of the cipher segments of a payload.
func segmentNonces(payload []byte) [][12]byte {
	var out [][12]byte
	for off := 0; off < len(payload); off += crypt4gh.CipherSegmentSize {
		var n [12]byte
		copy(n[:], payload[off:])
		out = append(out, n)
	}
	return out
}
