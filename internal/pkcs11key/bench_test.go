package pkcs11key

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
)

// BenchmarkX25519 compares one agreement through SoftHSM2 (C_DeriveKey,
// C_GetAttributeValue, C_DestroyObject) with crypto/ecdh in process.
func BenchmarkX25519(b *testing.B) {
	peer, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	peerPub := peer.PublicKey().Bytes()

	b.Run("softhsm2", func(b *testing.B) {
		k := generateKey(b, testConfig(b))
		for b.Loop() {
			if _, err := k.X25519(peerPub); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-ecdh", func(b *testing.B) {
		priv, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		pub := peer.PublicKey()
		for b.Loop() {
			if _, err := priv.ECDH(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReencryptHeader re-encrypts a one-packet header for one new
// reader, the archive's per-request work, with the archive key in
// SoftHSM2 and in a key file (in memory).
func BenchmarkReencryptHeader(b *testing.B) {
	reader, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, id crypt4gh.Identity, archive crypt4gh.Recipient) {
		file := encryptFile(b, []byte("benchmark"), archive)
		h, err := crypt4gh.ReadHeader(bytes.NewReader(file))
		if err != nil {
			b.Fatal(err)
		}
		ids := []crypt4gh.Identity{id}
		recipients := []crypt4gh.Recipient{reader.Recipient()}
		opts := &crypt4gh.ReencryptOptions{Trim: true}
		for b.Loop() {
			if _, err := crypt4gh.ReencryptHeader(h, ids, recipients, opts); err != nil {
				b.Fatal(err)
			}
		}
	}

	b.Run("softhsm2", func(b *testing.B) {
		k := generateKey(b, testConfig(b))
		id, err := crypt4gh.NewKeyAgreementIdentity(k)
		if err != nil {
			b.Fatal(err)
		}
		pub, err := crypt4gh.NewX25519Recipient(k.PublicKey())
		if err != nil {
			b.Fatal(err)
		}
		run(b, id, pub)
	})
	b.Run("keyfile", func(b *testing.B) {
		id, err := crypt4gh.GenerateX25519Identity()
		if err != nil {
			b.Fatal(err)
		}
		run(b, id, id.Recipient())
	})
}
