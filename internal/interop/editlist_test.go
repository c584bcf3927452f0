package interop

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
)

// editListPlainSize is the plaintext the edit list tests cut from: seven
// full segments and a short eighth.
const editListPlainSize = 7*65536 + 1234

var editLists = []struct {
	name    string
	lengths []uint64
	// neic, if set, is what neic yields where it departs from the standard.
	neic func(pt []byte) []byte
}{
	{"odd-1", []uint64{100}, nil},
	{"even-2", []uint64{100, 200}, nil},
	{"odd-3-across-boundary", []uint64{65530, 20, 70000}, nil},
	{"even-2-whole-segment", []uint64{131072, 65536}, nil},
	{"odd-1-past-first-segment", []uint64{200000}, nil},
	{"even-6-spec-example", []uint64{0, 7853, 71721, 307929, 51299, 38}, nil},
	{"odd-5-spec-example-open-end", []uint64{0, 7853, 71721, 307929, 51299}, nil},
	{"odd-7-tiny-pieces", []uint64{0, 10, 65536, 1, 1, 131072, 5}, nil},
	{"even-2-keep-nothing", []uint64{0, 0}, nil},
	// peer: when an even list's last keep ends exactly at the end of the
	// plaintext and a skip lies in the same stretch of the last segment,
	// neic ignores that skip: here it returns the last 10 bytes, not 3 + 5.
	// Its read() maps streamPos+canRead through the list to decide whether
	// a gap lies ahead; past the last keep the mapping returns the list's
	// end (with an io.EOF it ignores), which here equals start+canRead, so
	// it copies the buffered bytes, skip included, in one go. (It depends
	// on the Read size: io.ReadAll's buffers hit it.)
	{"even-4-keep-last-bytes", []uint64{editListPlainSize - 10, 3, 2, 5}, func(pt []byte) []byte { return pt[len(pt)-10:] }},
	{"even-4-keep-last-bytes-wider", []uint64{editListPlainSize - 20, 3, 2, 15}, func(pt []byte) []byte { return pt[len(pt)-20:] }},
	{"even-4-keep-to-segment-end", []uint64{1000, 3, 2, 65536 - 1005}, nil},
}

// neicWant is what neic returns for the edit list (the standard's result
// unless the case records a peer deviation).
func neicWant(pt []byte, i int) []byte {
	if f := editLists[i].neic; f != nil {
		return f(pt)
	}
	return applyEditList(pt, editLists[i].lengths)
}

// neic's writer stores an edit list; we apply it as the standard says,
// with the streaming Reader and with DecryptReaderAt.
func TestEditListNeicToOurs(t *testing.T) {
	alice := newKeyPair(t)
	pt := payload(editListPlainSize, 500)
	for i, el := range editLists {
		t.Run(el.name, func(t *testing.T) {
			want := applyEditList(pt, el.lengths)
			ct := neicEncrypt(t, pt, nil, neicEditList(el.lengths...), alice.pk)
			// neic writes, per recipient, the data key packet then the edit
			// list packet.
			if h, _, _ := splitFile(t, ct); len(h.Packets) != 2 {
				t.Fatalf("neic wrote %d packets, want 2", len(h.Packets))
			}
			r, err := crypt4gh.Decrypt(bytes.NewReader(ct), alice.id)
			mustOK(t, "Decrypt", err)
			if got := r.HeaderContent().EditList; fmt.Sprint([]uint64(got)) != fmt.Sprint(el.lengths) {
				t.Fatalf("edit list read as %v, want %v", got, el.lengths)
			}
			got, err := ourDecrypt(ct, alice.id)
			mustOK(t, "Decrypt", err)
			assertSame(t, "Decrypt", got, want)
			got, err = ourDecryptAt(ct, alice.id)
			mustOK(t, "DecryptReaderAt", err)
			assertSame(t, "DecryptReaderAt", got, want)

			got, err = neicDecrypt(ct, alice.sk)
			mustOK(t, "neic decrypt", err)
			assertSame(t, "neic decrypt of its own file", got, neicWant(pt, i))
		})
	}
}

// Our writer stores an edit list (EncryptOptions.EditList); neic applies it
// the same way.
func TestEditListOursToNeic(t *testing.T) {
	alice, bob := newKeyPair(t), newKeyPair(t)
	pt := payload(editListPlainSize, 501)
	for i, el := range editLists {
		t.Run(el.name, func(t *testing.T) {
			want := applyEditList(pt, el.lengths)
			ct := ourEncrypt(t, pt, crypt4gh.EncryptOptions{EditList: el.lengths}, 0, alice.recipient(), bob.recipient())
			if h, _, _ := splitFile(t, ct); len(h.Packets) != 4 {
				t.Fatalf("%d packets, want 4 (data key + edit list per recipient)", len(h.Packets))
			}
			for _, k := range []keyPair{alice, bob} {
				got, err := neicDecrypt(ct, k.sk)
				mustOK(t, "neic decrypt", err)
				assertSame(t, "neic decrypt", got, neicWant(pt, i))
			}
			got, err := ourDecrypt(ct, bob.id)
			mustOK(t, "Decrypt", err)
			assertSame(t, "Decrypt", got, want)
		})
	}
}

// An edit list with no lengths keeps everything (ApplyEditList: "if
// IsEmpty(edlist) return input"). neic treats it so; we must too, both
// when a peer wrote it and when we wrote it.
func TestEditListEmpty(t *testing.T) {
	alice := newKeyPair(t)
	pt := payload(3*65536+7, 502)

	t.Run("neic-written", func(t *testing.T) {
		ct := neicEncrypt(t, pt, nil, neicEditList(), alice.pk)
		got, err := neicDecrypt(ct, alice.sk)
		mustOK(t, "neic decrypt", err)
		assertSame(t, "neic decrypt", got, pt)
		got, err = ourDecrypt(ct, alice.id)
		mustOK(t, "Decrypt", err)
		assertSame(t, "Decrypt of a file with an empty edit list", got, pt)
		got, err = ourDecryptAt(ct, alice.id)
		mustOK(t, "DecryptReaderAt", err)
		assertSame(t, "DecryptReaderAt of a file with an empty edit list", got, pt)
	})

	t.Run("ours-written", func(t *testing.T) {
		ct := ourEncrypt(t, pt, crypt4gh.EncryptOptions{EditList: crypt4gh.EditList{}}, 0, alice.recipient())
		got, err := neicDecrypt(ct, alice.sk)
		mustOK(t, "neic decrypt", err)
		assertSame(t, "neic decrypt", got, pt)
		got, err = ourDecrypt(ct, alice.id)
		mustOK(t, "Decrypt", err)
		assertSame(t, "Decrypt of our own file with an empty edit list", got, pt)
	})
}

// Rearrange (ours) cuts a range out of a file without decrypting its
// segments; neic reads the result. Sources: a neic file, one of ours, and
// one of ours that already has an edit list.
func TestRearrangeToNeic(t *testing.T) {
	alice, bob := newKeyPair(t), newKeyPair(t)
	pt := payload(editListPlainSize, 503)
	existing := []uint64{1000, 200000, 5, 150000}
	sources := []struct {
		name    string
		file    []byte
		visible []byte
	}{
		{"neic", neicEncrypt(t, pt, nil, nil, alice.pk), pt},
		{"ours", ourEncrypt(t, pt, crypt4gh.EncryptOptions{}, 0, alice.recipient()), pt},
		{"ours-with-edit-list", ourEncrypt(t, pt, crypt4gh.EncryptOptions{EditList: existing}, 0, alice.recipient()), applyEditList(pt, existing)},
	}
	ranges := []crypt4gh.Range{
		{Start: 0, End: 100},
		{Start: 65530, End: 65540},
		{Start: 70000, End: 300000},
		{Start: 131072, End: 196608},
		{Start: 300000, End: -1},
		{Start: 0, End: -1},
		{Start: 5, End: 5},
	}
	for _, src := range sources {
		for _, rg := range ranges {
			t.Run(fmt.Sprintf("%s/%d-%d", src.name, rg.Start, rg.End), func(t *testing.T) {
				end := int64(len(src.visible))
				if rg.End >= 0 {
					end = min(rg.End, end)
				}
				start := min(rg.Start, end)
				want := src.visible[start:end]
				var out bytes.Buffer
				err := crypt4gh.Rearrange(&out, bytes.NewReader(src.file), []crypt4gh.Identity{alice.id}, []crypt4gh.Recipient{bob.recipient()}, rg)
				mustOK(t, "Rearrange", err)
				// Only the segments that hold the range are kept.
				_, _, body := splitFile(t, out.Bytes())
				if len(want) > 0 {
					if _, _, full := splitFile(t, src.file); rg.Start > 65536 && len(body) >= len(full) {
						t.Fatalf("rearranged payload is %d bytes, the source's %d: no segment dropped", len(body), len(full))
					}
				}
				got, err := neicDecrypt(out.Bytes(), bob.sk)
				mustOK(t, "neic decrypt", err)
				assertSame(t, "neic decrypt of the rearranged file", got, want)
				got, err = ourDecrypt(out.Bytes(), bob.id)
				mustOK(t, "Decrypt", err)
				assertSame(t, "Decrypt of the rearranged file", got, want)
			})
		}
	}
}

// Header packets the standard says to reject, which neic accepts or
// crashes on.
func TestHeaderPeerDeviations(t *testing.T) {
	alice := newKeyPair(t)
	pt := payload(200000, 504)

	seal := func(t *testing.T, plain []byte) crypt4gh.HeaderPacket {
		p, err := alice.id.Recipient().SealPacket(plain)
		mustOK(t, "SealPacket", err)
		return p
	}
	editListPacket := func(lengths ...uint64) []byte {
		b := binary.LittleEndian.AppendUint32(nil, 1)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(lengths)))
		for _, l := range lengths {
			b = binary.LittleEndian.AppendUint64(b, l)
		}
		return b
	}
	withExtraPacket := func(t *testing.T, file []byte, p crypt4gh.HeaderPacket) []byte {
		h, _, body := splitFile(t, file)
		h.Packets = append(h.Packets, p)
		return append(h.Marshal(), body...)
	}

	t.Run("two-edit-lists", func(t *testing.T) {
		first := []uint64{10, 20}
		file := ourEncrypt(t, pt, crypt4gh.EncryptOptions{EditList: first}, 0, alice.recipient())
		file = withExtraPacket(t, file, seal(t, editListPacket(0, 5)))
		// The standard: "If more than one edit list is present, the file
		// SHOULD be rejected." We reject it.
		_, err := ourDecrypt(file, alice.id)
		wantErrIs(t, "Decrypt of a file with two edit lists", err, crypt4gh.ErrMalformedHeader)
		_, err = crypt4gh.DecryptReaderAt(bytes.NewReader(file), int64(len(file)), alice.id)
		wantErrIs(t, "DecryptReaderAt of a file with two edit lists", err, crypt4gh.ErrMalformedHeader)
		// peer: neic accepts it silently and applies the first list.
		got, err := neicDecrypt(file, alice.sk)
		mustOK(t, "neic decrypt (peer accepts two edit lists)", err)
		assertSame(t, "neic applies the first edit list", got, applyEditList(pt, first))
	})

	t.Run("unknown-packet-type", func(t *testing.T) {
		file := ourEncrypt(t, pt, crypt4gh.EncryptOptions{}, 0, alice.recipient())
		file = withExtraPacket(t, file, seal(t, []byte{2, 0, 0, 0, 0, 0, 0, 0}))
		_, err := ourDecrypt(file, alice.id)
		wantErrIs(t, "Decrypt of a file with packet type 2", err, crypt4gh.ErrUnsupported)
		// peer: neic dereferences a nil packet and panics.
		_, err = neicDecrypt(file, alice.sk)
		if err == nil {
			t.Fatal("neic accepted an unknown packet type")
		}
		t.Logf("peer: neic on an unknown packet type: %v", err)
	})
}
