package crypt4gh_test

import (
	"bytes"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
)

// Per-file header costs of one recipient: sealing and opening the 40-byte
// data key packet.

type benchKey struct {
	name string
	id   crypt4gh.Identity
	r    crypt4gh.Recipient
}

func benchKeys(b *testing.B) []benchKey {
	x, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	h, err := crypt4gh.GenerateHybridIdentity()
	if err != nil {
		b.Fatal(err)
	}
	return []benchKey{{"x25519", x, x.Recipient()}, {"hybrid", h, h.Recipient()}}
}

func BenchmarkRecipientWrap(b *testing.B) {
	pt := dataKeyPacket(1)
	for _, k := range benchKeys(b) {
		b.Run(k.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := k.r.SealPacket(pt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRecipientUnwrap(b *testing.B) {
	pt := dataKeyPacket(1)
	for _, k := range benchKeys(b) {
		b.Run(k.name, func(b *testing.B) {
			p, err := k.r.SealPacket(pt)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := k.id.OpenPacket(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// sigMessage has the size of a v2 signature message (22 + 4 + 32 + 4 + 32).
var sigMessage = bytes.Repeat([]byte{1}, 94)

func BenchmarkSign(b *testing.B) {
	b.Run("ed25519", func(b *testing.B) {
		s, err := crypt4gh.GenerateEd25519Signer()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Sign(sigMessage); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	b.Run("ed25519", func(b *testing.B) {
		s, err := crypt4gh.GenerateEd25519Signer()
		if err != nil {
			b.Fatal(err)
		}
		v := s.Verifier()
		sig, _ := s.Sign(sigMessage)
		for b.Loop() {
			if !v.Verify(sigMessage, sig) {
				b.Fatal("verify failed")
			}
		}
	})
}
