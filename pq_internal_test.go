package crypt4gh

import (
	"bytes"
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/mlkem/mlkemtest"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// fill returns n bytes start, start+1, ...
func fill(n int, start byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// Known answer: a hybrid packet built from fixed inputs (recipient secret,
// ephemeral X25519 key, ML-KEM encapsulation randomness, nonce). K is
// recomputed here from the spec formula of section 6 with the primitives
// directly, independently of hybridKey, and must both equal the key the
// sealer used and open the payload.
func TestHybridKnownAnswer(t *testing.T) {
	xsk := fill(32, 0x10)
	seed := fill(64, 0x40)
	ephSecret := fill(32, 0xa0)
	m := fill(32, 0xc0) // ML-KEM encapsulation randomness
	nonce := fill(12, 0xe0)
	plaintext := []byte("crypt4gh-v2 hybrid known-answer plaintext, 40")

	id, err := NewHybridIdentity(append(bytes.Clone(xsk), seed...))
	if err != nil {
		t.Fatal(err)
	}
	eph, err := ecdh.X25519().NewPrivateKey(ephSecret)
	if err != nil {
		t.Fatal(err)
	}
	payload, k, err := sealHybrid(plaintext, id.Recipient(), eph, func(ek *mlkem.EncapsulationKey1024) ([]byte, []byte, error) {
		return mlkemtest.Encapsulate1024(ek, m)
	}, nonce)
	if err != nil {
		t.Fatal(err)
	}

	// Independent recomputation from the spec.
	xPriv, _ := ecdh.X25519().NewPrivateKey(xsk)
	xpk := xPriv.PublicKey().Bytes()
	dk, err := mlkem.NewDecapsulationKey1024(seed)
	if err != nil {
		t.Fatal(err)
	}
	ek := dk.EncapsulationKey().Bytes()
	if !bytes.Equal(id.PublicKey(), append(bytes.Clone(xpk), ek...)) {
		t.Fatal("public key is not x25519_pk || mlkem_ek")
	}
	ssM, ctM, err := mlkemtest.Encapsulate1024(dk.EncapsulationKey(), m)
	if err != nil {
		t.Fatal(err)
	}
	if ss2, err := dk.Decapsulate(ctM); err != nil || !bytes.Equal(ss2, ssM) {
		t.Fatal("ML-KEM decapsulation disagrees with encapsulation")
	}
	E := eph.PublicKey().Bytes()
	ssX, err := eph.ECDH(xPriv.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if ssX2, _ := xPriv.ECDH(eph.PublicKey()); !bytes.Equal(ssX, ssX2) {
		t.Fatal("X25519 is not symmetric")
	}
	var in []byte
	in = append(in, "crypt4gh-v2 X25519-MLKEM1024"...)
	in = append(in, ssM...)
	in = append(in, ssX...)
	in = append(in, ctM...)
	in = append(in, E...)
	in = append(in, ek...)
	in = append(in, xpk...)
	want := sha3.Sum256(in)
	if k != want {
		t.Fatalf("K = %x, the spec formula gives %x", k, want)
	}

	// Layout: E[32] || ct_M[1568] || nonce[12] || ChaCha20-Poly1305(K, nonce, plaintext, "").
	if len(payload) != 32+1568+12+len(plaintext)+16 {
		t.Fatalf("payload is %d bytes", len(payload))
	}
	if !bytes.Equal(payload[:32], E) || !bytes.Equal(payload[32:1600], ctM) || !bytes.Equal(payload[1600:1612], nonce) {
		t.Fatal("payload layout differs from E || ct_M || nonce || ...")
	}
	aead, _ := chacha20poly1305.New(want[:])
	pt, err := aead.Open(nil, nonce, payload[1612:], nil)
	if err != nil || !bytes.Equal(pt, plaintext) {
		t.Fatalf("the payload does not open under the recomputed K: %v", err)
	}
	got, err := id.OpenPacket(HeaderPacket{Method: PacketX25519MLKEM1024, Payload: payload})
	if err != nil || !bytes.Equal(got, plaintext) {
		t.Fatalf("OpenPacket: %v", err)
	}

	// Pinned values, so that any change of the construction shows.
	const wantK = "ac96149fd41e78bf169b6ee063d622552f8fa318c4e964a2ca9e643c69f302c6"
	sum := sha256.Sum256(payload)
	const wantPayloadSHA256 = "aeac6182b1604e5a74e6605ec28779baa4093dae8cf966ad78e913a162784381"
	if hex.EncodeToString(k[:]) != wantK || hex.EncodeToString(sum[:]) != wantPayloadSHA256 {
		t.Errorf("pinned values changed: K %x, SHA-256(payload) %x", k, sum)
	}
}

// A writer key whose X25519 result is all zero is rejected as not for us.
func TestHybridLowOrderWriter(t *testing.T) {
	id, err := GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	p, err := id.Recipient().SealPacket([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []byte{0, 1} {
		mut := bytes.Clone(p.Payload)
		clear(mut[:32])
		mut[0] = u
		_, err := id.OpenPacket(HeaderPacket{Method: PacketX25519MLKEM1024, Payload: mut})
		if !errors.Is(err, ErrIncorrectIdentity) {
			t.Errorf("u=%d: %v", u, err)
		}
	}
	// The sealer refuses a nonce of the wrong size.
	eph, _ := ecdh.X25519().GenerateKey(rand.Reader)
	if _, _, err := sealHybrid(nil, id.Recipient(), eph, encapsulate, make([]byte, 24)); err == nil {
		t.Error("24-byte nonce accepted")
	}
}

// OpenPacket never panics, and opens nothing but the one packet sealed for
// its key (sealed deterministically, so that every fuzzing process agrees).
func FuzzHybridOpenPacket(f *testing.F) {
	id, err := NewHybridIdentity(fill(96, 9))
	if err != nil {
		f.Fatal(err)
	}
	eph, err := ecdh.X25519().NewPrivateKey(fill(32, 1))
	if err != nil {
		f.Fatal(err)
	}
	sealed, _, err := sealHybrid(fill(40, 5), id.Recipient(), eph, func(ek *mlkem.EncapsulationKey1024) ([]byte, []byte, error) {
		return mlkemtest.Encapsulate1024(ek, fill(32, 2))
	}, fill(12, 3))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(PacketX25519MLKEM1024, sealed)
	f.Add(PacketX25519MLKEM1024, sealed[:HybridPacketOverhead])
	f.Add(PacketX25519MLKEM1024, sealed[:100])
	f.Add(PacketX25519MLKEM1024, []byte{})
	f.Add(PacketX25519, sealed)
	f.Add(PacketX25519MLKEM1024, make([]byte, HybridPacketOverhead+40))
	f.Fuzz(func(t *testing.T, method uint32, payload []byte) {
		pt, err := id.OpenPacket(HeaderPacket{Method: method, Payload: payload})
		if err == nil {
			if method != PacketX25519MLKEM1024 || !bytes.Equal(payload, sealed) || !bytes.Equal(pt, fill(40, 5)) {
				t.Fatalf("opened a packet that was not sealed for it: %x", pt)
			}
			return
		}
		if !errors.Is(err, ErrIncorrectIdentity) && !errors.Is(err, ErrMalformedHeader) {
			t.Fatalf("error %v is neither ErrIncorrectIdentity nor ErrMalformedHeader", err)
		}
	})
}
