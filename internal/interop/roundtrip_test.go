package interop

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
)

// Files we write decrypt with neic, for every size, with the pipelined
// writer fed by io.Copy and with the single-goroutine writer fed by small
// Write calls. Their layout is the standard one: a 124-byte header and
// n + 28 bytes per started segment, no empty trailing segment.
func TestRoundTripOursToNeic(t *testing.T) {
	alice := newKeyPair(t)
	variants := []struct {
		name  string
		opts  crypt4gh.EncryptOptions
		chunk int
	}{
		{"copy", crypt4gh.EncryptOptions{}, 0},
		{"1core-write1000", crypt4gh.EncryptOptions{Concurrency: 1}, 1000},
	}
	for i, sz := range sizes {
		pt := payload(sz.n, uint64(i))
		for _, v := range variants {
			t.Run(sz.name+"/"+v.name, func(t *testing.T) {
				ct := ourEncrypt(t, pt, v.opts, v.chunk, alice.recipient())
				if want := crypt4gh.HeaderSize(1, -1) + int(crypt4gh.EncryptedSize(int64(sz.n))); len(ct) != want {
					t.Fatalf("file is %d bytes, want %d", len(ct), want)
				}
				got, err := neicDecrypt(ct, alice.sk)
				mustOK(t, "neic decrypt", err)
				assertSame(t, "neic decrypt of our file", got, pt)
			})
		}
	}
}

// Files neic writes decrypt with our streaming Reader (pipelined and
// single-goroutine) and with DecryptReaderAt.
func TestRoundTripNeicToOurs(t *testing.T) {
	alice := newKeyPair(t)
	for i, sz := range sizes {
		pt := payload(sz.n, uint64(100+i))
		t.Run(sz.name, func(t *testing.T) {
			ct := neicEncrypt(t, pt, nil, nil, alice.pk)
			want := crypt4gh.HeaderSize(1, -1) + int(crypt4gh.EncryptedSize(int64(sz.n)))
			if sz.n == 0 {
				// peer: neic writes one 28-byte empty segment for empty
				// input (and only then).
				want += 28
			}
			if len(ct) != want {
				t.Fatalf("neic file is %d bytes, want %d", len(ct), want)
			}
			got, err := ourDecrypt(ct, alice.id)
			mustOK(t, "Decrypt", err)
			assertSame(t, "Decrypt", got, pt)

			r, err := crypt4gh.DecryptWithOptions(onlyReader{bytes.NewReader(ct)}, crypt4gh.DecryptOptions{Concurrency: 1}, alice.id)
			mustOK(t, "DecryptWithOptions", err)
			var buf bytes.Buffer
			_, err = buf.ReadFrom(r)
			mustOK(t, "Decrypt 1 core", err)
			assertSame(t, "Decrypt 1 core", buf.Bytes(), pt)

			got, err = ourDecryptAt(ct, alice.id)
			mustOK(t, "DecryptReaderAt", err)
			assertSame(t, "DecryptReaderAt", got, pt)
		})
	}
}

// Every recipient of a multi-recipient file can decrypt it, in both
// directions; a key that is not a recipient cannot.
func TestMultiRecipient(t *testing.T) {
	rs := []keyPair{newKeyPair(t), newKeyPair(t), newKeyPair(t)}
	outsider := newKeyPair(t)
	for i, sz := range sizes {
		pt := payload(sz.n, uint64(200+i))
		t.Run(sz.name+"/ours-to-neic", func(t *testing.T) {
			ct := ourEncrypt(t, pt, crypt4gh.EncryptOptions{}, 0, rs[0].recipient(), rs[1].recipient(), rs[2].recipient())
			if h, _, _ := splitFile(t, ct); len(h.Packets) != 3 {
				t.Fatalf("%d header packets, want 3", len(h.Packets))
			}
			for j, r := range rs {
				got, err := neicDecrypt(ct, r.sk)
				mustOK(t, "neic decrypt", err)
				assertSame(t, "neic decrypt, recipient "+strconv.Itoa(j), got, pt)
			}
			if _, err := neicDecrypt(ct, outsider.sk); err == nil {
				t.Fatal("neic decrypted our file with a key that is not a recipient")
			}
		})
		t.Run(sz.name+"/neic-to-ours", func(t *testing.T) {
			ct := neicEncrypt(t, pt, nil, nil, rs[0].pk, rs[1].pk, rs[2].pk)
			for j, r := range rs {
				got, err := ourDecrypt(ct, r.id)
				mustOK(t, "Decrypt", err)
				assertSame(t, "Decrypt, recipient "+strconv.Itoa(j), got, pt)
			}
			// All three identities at once: still one data key.
			r, err := crypt4gh.Decrypt(bytes.NewReader(ct), rs[0].id, rs[1].id, rs[2].id)
			mustOK(t, "Decrypt with 3 identities", err)
			if c := r.HeaderContent(); len(c.DataKeys) != 1 || len(c.Opened) != 3 {
				t.Fatalf("3 identities: %d data keys, %d packets opened; want 1 and 3", len(c.DataKeys), len(c.Opened))
			}
			_, err = ourDecrypt(ct, outsider.id)
			wantErrIs(t, "Decrypt with a non-recipient", err, crypt4gh.ErrNoMatchingKey)
		})
	}
}

// A sender's long-term key: our WithSender files carry the sender's public
// key in every packet and neic decrypts them; neic files written with a
// private key pass our RequireSender for that sender only.
func TestSenderKey(t *testing.T) {
	alice, sender, other := newKeyPair(t), newKeyPair(t), newKeyPair(t)
	pt := payload(100000, 300)

	t.Run("ours-WithSender-to-neic", func(t *testing.T) {
		ct := ourEncrypt(t, pt, crypt4gh.EncryptOptions{}, 0, alice.id.Recipient().WithSender(sender.id))
		got, err := neicDecrypt(ct, alice.sk)
		mustOK(t, "neic decrypt", err)
		assertSame(t, "neic decrypt", got, pt)
		_, hdr, _ := splitFile(t, ct)
		// Packet layout: 16-byte file header, then length(4) method(4)
		// writer_public_key(32).
		if !bytes.Equal(hdr[24:56], sender.pk[:]) {
			t.Fatalf("writer public key in packet is %x, want the sender's %x", hdr[24:56], sender.pk)
		}
		// And we accept it back under RequireSender.
		got, err = ourDecrypt(ct, crypt4gh.RequireSender(alice.id, sender.id.Recipient()))
		mustOK(t, "RequireSender", err)
		assertSame(t, "RequireSender", got, pt)
	})

	t.Run("neic-with-private-key-to-ours", func(t *testing.T) {
		ct := neicEncrypt(t, pt, &sender.sk, nil, alice.pk)
		got, err := ourDecrypt(ct, crypt4gh.RequireSender(alice.id, sender.id.Recipient()))
		mustOK(t, "RequireSender(right sender)", err)
		assertSame(t, "RequireSender(right sender)", got, pt)

		r, err := crypt4gh.Decrypt(bytes.NewReader(ct), alice.id)
		mustOK(t, "Decrypt", err)
		if wk := r.HeaderContent().WriterKeys; len(wk) != 1 || !bytes.Equal(wk[0], sender.pk[:]) {
			t.Fatalf("WriterKeys = %x, want [%x]", wk, sender.pk)
		}

		_, err = ourDecrypt(ct, crypt4gh.RequireSender(alice.id, other.id.Recipient()))
		wantErrIs(t, "RequireSender(wrong sender)", err, crypt4gh.ErrNoMatchingKey)
	})

	t.Run("neic-ephemeral-rejected", func(t *testing.T) {
		ct := neicEncrypt(t, pt, nil, nil, alice.pk)
		_, err := ourDecrypt(ct, crypt4gh.RequireSender(alice.id, sender.id.Recipient()))
		wantErrIs(t, "RequireSender on an ephemeral-key file", err, crypt4gh.ErrNoMatchingKey)
	})
}

// Empty and segment-aligned inputs, byte for byte.
func TestEmptyAndAligned(t *testing.T) {
	alice := newKeyPair(t)

	t.Run("ours-empty", func(t *testing.T) {
		ct := ourEncrypt(t, nil, crypt4gh.EncryptOptions{}, 0, alice.recipient())
		// We write a header and no segment (as the Python reference does).
		if len(ct) != crypt4gh.HeaderSize(1, -1) {
			t.Fatalf("empty file is %d bytes, want the %d-byte header alone", len(ct), crypt4gh.HeaderSize(1, -1))
		}
		// neic reads it as empty (its reader hits EOF where the first
		// segment would start).
		got, err := neicDecrypt(ct, alice.sk)
		mustOK(t, "neic decrypt of an empty payload", err)
		if len(got) != 0 {
			t.Fatalf("neic read %d bytes from an empty file", len(got))
		}
	})

	t.Run("neic-empty", func(t *testing.T) {
		ct := neicEncrypt(t, nil, nil, nil, alice.pk)
		_, _, body := splitFile(t, ct)
		// peer: neic writes one empty segment (nonce + tag) for empty input.
		if len(body) != 28 {
			t.Fatalf("neic empty payload is %d bytes, want 28", len(body))
		}
		got, err := ourDecrypt(ct, alice.id)
		mustOK(t, "Decrypt", err)
		if len(got) != 0 {
			t.Fatalf("read %d bytes, want 0", len(got))
		}
		ra, err := crypt4gh.DecryptReaderAt(bytes.NewReader(ct), int64(len(ct)), alice.id)
		mustOK(t, "DecryptReaderAt", err)
		if ra.Size() != 0 {
			t.Fatalf("ReaderAt.Size() = %d, want 0", ra.Size())
		}
		// The empty segment still authenticates: damage in it is caught.
		bad := bytes.Clone(ct)
		bad[len(bad)-1] ^= 1
		_, err = ourDecrypt(bad, alice.id)
		wantErrIs(t, "Decrypt of a damaged empty segment", err, crypt4gh.ErrAuthentication)
		_, err = crypt4gh.DecryptReaderAt(bytes.NewReader(bad), int64(len(bad)), alice.id)
		wantErrIs(t, "DecryptReaderAt of a damaged empty segment", err, crypt4gh.ErrAuthentication)
	})

	for _, n := range []int{65536, 131072, 3 * 65536} {
		pt := payload(n, uint64(n))
		segs := n / 65536
		t.Run("aligned-"+strconv.Itoa(n), func(t *testing.T) {
			ours := ourEncrypt(t, pt, crypt4gh.EncryptOptions{}, 0, alice.recipient())
			theirs := neicEncrypt(t, pt, nil, nil, alice.pk)
			for name, ct := range map[string][]byte{"ours": ours, "neic": theirs} {
				_, _, body := splitFile(t, ct)
				// No extra empty segment at a segment boundary, on either side.
				if len(body) != segs*crypt4gh.CipherSegmentSize {
					t.Fatalf("%s: payload is %d bytes, want %d full segments", name, len(body), segs)
				}
			}
			got, err := neicDecrypt(ours, alice.sk)
			mustOK(t, "neic decrypt", err)
			assertSame(t, "neic decrypt", got, pt)
			got, err = ourDecrypt(theirs, alice.id)
			mustOK(t, "Decrypt", err)
			assertSame(t, "Decrypt", got, pt)
		})
	}
}

// Segment nonces in our files never repeat (the crypt4gh-rust bug class),
// and each file uses a fresh data key, so two encryptions of the same
// plaintext share no ciphertext.
func TestOurNoncesUnique(t *testing.T) {
	alice := newKeyPair(t)
	pt := payload(5<<20, 400)
	a := ourEncrypt(t, pt, crypt4gh.EncryptOptions{}, 0, alice.recipient())
	b := ourEncrypt(t, pt, crypt4gh.EncryptOptions{Concurrency: 1}, 0, alice.recipient())
	seen := map[[12]byte]bool{}
	for _, ct := range [][]byte{a, b} {
		_, _, body := splitFile(t, ct)
		for i, n := range segmentNonces(body) {
			if seen[n] {
				t.Fatalf("segment %d reuses nonce %x", i, n)
			}
			seen[n] = true
		}
	}
	_, _, ba := splitFile(t, a)
	_, _, bb := splitFile(t, b)
	if bytes.Equal(ba[12:60], bb[12:60]) {
		t.Fatal("two encryptions of the same plaintext produced the same first ciphertext bytes")
	}
}
