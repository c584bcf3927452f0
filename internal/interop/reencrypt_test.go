package interop

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/neicnordic/crypt4gh/model/headers"
	"github.com/neicnordic/crypt4gh/streaming"
	"golang.org/x/crypto/chacha20poly1305"
)

// Our ReencryptHeader on neic files: the payload is untouched, the new
// recipient decrypts with neic, the edit list survives (or is replaced on
// request), and Trim decides whether the source's other reader (carol,
// whose packets alice cannot open) keeps access. Alice's own packets are
// replaced by bob's either way.
func TestReencryptOursOfNeic(t *testing.T) {
	alice, bob, carol := newKeyPair(t), newKeyPair(t), newKeyPair(t)
	pt := payload(7*65536/2, 700)
	el := []uint64{1000, 100000, 20000}
	cases := []struct {
		name    string
		srcEL   []uint64 // edit list neic writes
		opts    crypt4gh.ReencryptOptions
		visible []byte
	}{
		{"no-edit-list", nil, crypt4gh.ReencryptOptions{}, pt},
		{"no-edit-list-trim", nil, crypt4gh.ReencryptOptions{Trim: true}, pt},
		{"edit-list-kept", el, crypt4gh.ReencryptOptions{Trim: true}, applyEditList(pt, el)},
		{"edit-list-replaced", el, crypt4gh.ReencryptOptions{Trim: true, EditList: crypt4gh.EditList{5, 10}}, applyEditList(pt, []uint64{5, 10})},
		{"edit-list-removed", el, crypt4gh.ReencryptOptions{Trim: true, EditList: crypt4gh.EditList{}}, pt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var nel *headers.DataEditListHeaderPacket
			if tc.srcEL != nil {
				nel = neicEditList(tc.srcEL...)
			}
			src := neicEncrypt(t, pt, nil, nel, alice.pk, carol.pk)
			h, _, body := splitFile(t, src)
			opts := tc.opts
			nh, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{alice.id}, []crypt4gh.Recipient{bob.recipient()}, &opts)
			mustOK(t, "ReencryptHeader", err)
			out := append(nh.Marshal(), body...)

			got, err := neicDecrypt(out, bob.sk)
			mustOK(t, "neic decrypt as the new recipient", err)
			assertSame(t, "neic decrypt as the new recipient", got, tc.visible)

			if _, err := neicDecrypt(out, alice.sk); err == nil {
				t.Fatal("alice's packets survived the re-encryption")
			}
			got, err = neicDecrypt(out, carol.sk)
			if tc.opts.Trim {
				if err == nil {
					t.Fatal("the other reader still decrypts a trimmed header")
				}
			} else {
				mustOK(t, "neic decrypt as the other reader (packets kept)", err)
				assertSame(t, "neic decrypt as the other reader", got, tc.visible)
			}
		})
	}
}

// neic's ReEncryptHeader and ReCrypt4GHWriter on our files: we decrypt the
// result as the new recipient, with the edit list neic carried over or
// added.
func TestReencryptNeicOfOurs(t *testing.T) {
	alice, bob, carol := newKeyPair(t), newKeyPair(t), newKeyPair(t)
	pt := payload(7*65536/2, 701)
	el := []uint64{65000, 1000, 70000, 3}
	for _, tc := range []struct {
		name string
		el   []uint64
	}{{"no-edit-list", nil}, {"edit-list", el}} {
		t.Run(tc.name, func(t *testing.T) {
			src := ourEncrypt(t, pt, crypt4gh.EncryptOptions{EditList: tc.el}, 0, alice.recipient())
			want := pt
			if tc.el != nil {
				want = applyEditList(pt, tc.el)
			}
			_, hdr, body := splitFile(t, src)

			t.Run("ReEncryptHeader", func(t *testing.T) {
				nh, err := headers.ReEncryptHeader(hdr, alice.sk, [][32]byte{bob.pk, carol.pk})
				mustOK(t, "neic ReEncryptHeader", err)
				out := append(bytes.Clone(nh), body...)
				for _, k := range []keyPair{bob, carol} {
					got, err := ourDecrypt(out, k.id)
					mustOK(t, "Decrypt", err)
					assertSame(t, "Decrypt of neic's re-encryption", got, want)
				}
				_, err = ourDecrypt(out, alice.id)
				wantErrIs(t, "old reader after neic re-encryption", err, crypt4gh.ErrNoMatchingKey)
			})

			t.Run("ReEncryptHeader-extra-edit-list", func(t *testing.T) {
				extra := []uint64{70000, 5}
				nh, err := headers.ReEncryptHeader(hdr, alice.sk, [][32]byte{bob.pk}, *neicEditList(extra...))
				mustOK(t, "neic ReEncryptHeader", err)
				got, err := ourDecrypt(append(bytes.Clone(nh), body...), bob.id)
				mustOK(t, "Decrypt", err)
				assertSame(t, "Decrypt with neic's added edit list", got, applyEditList(pt, extra))
			})

			t.Run("ReCrypt4GHWriter", func(t *testing.T) {
				r, err := streaming.ReCrypt4GHWriter(bytes.NewReader(src), alice.sk, [][32]byte{bob.pk})
				mustOK(t, "neic ReCrypt4GHWriter", err)
				out, err := io.ReadAll(r)
				mustOK(t, "read ReCrypt4GHWriter", err)
				got, err := ourDecrypt(out, bob.id)
				mustOK(t, "Decrypt", err)
				assertSame(t, "Decrypt of ReCrypt4GHWriter output", got, want)
				got, err = ourDecryptAt(out, bob.id)
				mustOK(t, "DecryptReaderAt", err)
				assertSame(t, "DecryptReaderAt of ReCrypt4GHWriter output", got, want)
			})
		})
	}
}

// A file whose segments alternate between two data keys (allowed by the
// standard). Both libraries read it; our ReencryptHeader keeps both keys,
// while neic's keeps only the first, so the file it re-encrypts no longer
// decrypts past segment 0.
func TestReencryptTwoDataKeys(t *testing.T) {
	alice, bob := newKeyPair(t), newKeyPair(t)
	pt := payload(4*65536+500, 702)

	var keys [2]crypt4gh.DataKey
	for i := range keys {
		_, _ = rand.Read(keys[i].Key[:])
	}
	h, err := crypt4gh.EncryptHeader(&crypt4gh.HeaderContent{DataKeys: keys[:]}, alice.recipient())
	mustOK(t, "EncryptHeader", err)
	file := h.Marshal()
	for i, off := 0, 0; off < len(pt); i, off = i+1, off+65536 {
		aead, err := chacha20poly1305.New(keys[i%2].Key[:])
		mustOK(t, "chacha20poly1305.New", err)
		nonce := make([]byte, 12)
		_, _ = rand.Read(nonce)
		file = append(file, nonce...)
		file = aead.Seal(file, nonce, pt[off:min(off+65536, len(pt))], nil)
	}

	got, err := ourDecrypt(file, alice.id)
	mustOK(t, "Decrypt", err)
	assertSame(t, "Decrypt of a two-key file", got, pt)
	got, err = neicDecrypt(file, alice.sk)
	mustOK(t, "neic decrypt", err)
	assertSame(t, "neic decrypt of a two-key file", got, pt)

	hdr, _, body := splitFile(t, file)
	ours, err := crypt4gh.ReencryptHeader(hdr, []crypt4gh.Identity{alice.id}, []crypt4gh.Recipient{bob.recipient()}, &crypt4gh.ReencryptOptions{Trim: true})
	mustOK(t, "ReencryptHeader", err)
	got, err = neicDecrypt(append(ours.Marshal(), body...), bob.sk)
	mustOK(t, "neic decrypt after our re-encryption", err)
	assertSame(t, "neic decrypt after our re-encryption", got, pt)

	// peer: neic's ReEncryptHeader keeps the first data key only.
	theirs, err := headers.ReEncryptHeader(hdr.Marshal(), alice.sk, [][32]byte{bob.pk})
	mustOK(t, "neic ReEncryptHeader", err)
	_, err = ourDecrypt(append(bytes.Clone(theirs), body...), bob.id)
	var ae *crypt4gh.AuthError
	if !errors.As(err, &ae) || ae.Index != 1 {
		t.Fatalf("after neic's re-encryption: got %v, want an AuthError at segment 1 (neic dropped the second data key)", err)
	}
}
