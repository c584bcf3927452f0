package crypt4gh_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 8032 section 7.1, test 1 (empty message) and test 3 (two bytes).
func TestEd25519KnownAnswer(t *testing.T) {
	for _, c := range []struct{ seed, pub, msg, sig string }{
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
			"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
		{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
			"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
			"6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
	} {
		s, err := crypt4gh.NewEd25519Signer(mustHex(t, c.seed))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.PublicKey(), mustHex(t, c.pub)) {
			t.Errorf("public key %x", s.PublicKey())
		}
		sig, err := s.Sign(mustHex(t, c.msg))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sig, mustHex(t, c.sig)) {
			t.Errorf("signature %x", sig)
		}
		v, err := crypt4gh.NewEd25519Verifier(mustHex(t, c.pub))
		if err != nil {
			t.Fatal(err)
		}
		if !v.Verify(mustHex(t, c.msg), mustHex(t, c.sig)) {
			t.Error("RFC 8032 signature does not verify")
		}
	}
}

// signerPair is a signer and the verifier of its public key, as a
// signing-package test would build them.
type signerPair struct {
	name    string
	alg     uint32
	pubSize int
	sigSize int
	signer  crypt4gh.Signer
	verify  crypt4gh.Verifier
}

// checkSignerPair runs the common assertions on a signer/verifier pair: the
// algorithm and sizes of the spec's table, sign/verify, and failures for a
// wrong message, a wrong key and every flipped bit at sampled positions.
func checkSignerPair(t *testing.T, p signerPair, other crypt4gh.Verifier) {
	t.Helper()
	if p.signer.SignatureAlgorithm() != p.alg || p.verify.SignatureAlgorithm() != p.alg {
		t.Errorf("algorithms %d, %d, want %d", p.signer.SignatureAlgorithm(), p.verify.SignatureAlgorithm(), p.alg)
	}
	if len(p.signer.PublicKey()) != p.pubSize || !bytes.Equal(p.signer.PublicKey(), p.verify.PublicKey()) {
		t.Errorf("public key %d bytes, want %d (signer and verifier agree: %v)", len(p.signer.PublicKey()), p.pubSize,
			bytes.Equal(p.signer.PublicKey(), p.verify.PublicKey()))
	}
	msg := []byte("crypt4gh-v2 signature\x00 header message")
	sig, err := p.signer.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != p.sigSize {
		t.Errorf("signature %d bytes, want %d", len(sig), p.sigSize)
	}
	if !p.verify.Verify(msg, sig) {
		t.Fatal("valid signature rejected")
	}
	if p.verify.Verify(append(bytes.Clone(msg), 0), sig) || p.verify.Verify(msg[1:], sig) || p.verify.Verify(nil, sig) {
		t.Error("signature verifies for another message")
	}
	if other.Verify(msg, sig) {
		t.Error("signature verifies under another key")
	}
	if p.verify.Verify(msg, sig[:len(sig)-1]) || p.verify.Verify(msg, append(bytes.Clone(sig), 0)) || p.verify.Verify(msg, nil) {
		t.Error("signature of the wrong length verifies")
	}
	for _, pos := range []int{0, 1, len(sig) / 2, len(sig) - 2, len(sig) - 1} {
		for bit := range 8 {
			mut := bytes.Clone(sig)
			mut[pos] ^= 1 << bit
			if p.verify.Verify(msg, mut) {
				t.Errorf("signature with bit %d of byte %d flipped verifies", bit, pos)
			}
		}
	}
}

func TestEd25519SignVerify(t *testing.T) {
	s, err := crypt4gh.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	o, err := crypt4gh.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	checkSignerPair(t, signerPair{name: "ed25519", alg: crypt4gh.SigEd25519, pubSize: 32, sigSize: 64, signer: s, verify: s.Verifier()}, o.Verifier())

	// A signer rebuilt from its seed is the same key.
	s2, err := crypt4gh.NewEd25519Signer(s.Seed())
	if err != nil || !bytes.Equal(s2.PublicKey(), s.PublicKey()) {
		t.Fatalf("NewEd25519Signer(Seed()): %v", err)
	}
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := crypt4gh.NewEd25519Signer(make([]byte, n)); err == nil {
			t.Errorf("%d-byte seed accepted", n)
		}
		if _, err := crypt4gh.NewEd25519Verifier(make([]byte, n)); err == nil {
			t.Errorf("%d-byte public key accepted", n)
		}
	}
	s.Zero()
	if _, err := s.Sign([]byte("x")); err == nil {
		t.Error("a zeroed signer signed")
	}
}

// KeyID is SHA-256(le32(algorithm) || public_key), section 7.
func TestKeyID(t *testing.T) {
	for _, c := range []struct {
		alg uint32
		pub []byte
	}{
		{crypt4gh.SigEd25519, bytes.Repeat([]byte{1}, 32)},
		{crypt4gh.SigMLDSA65, bytes.Repeat([]byte{2}, 1952)},
		{crypt4gh.SigMLDSA87, bytes.Repeat([]byte{3}, 2592)},
		{0x01020304, nil},
	} {
		in := binary.LittleEndian.AppendUint32(nil, c.alg)
		want := sha256.Sum256(append(in, c.pub...))
		if got := crypt4gh.KeyID(c.alg, c.pub); got != want {
			t.Errorf("alg %d: %x, want %x", c.alg, got, want)
		}
	}
	// Little-endian, and the algorithm is bound.
	pub := bytes.Repeat([]byte{9}, 32)
	if crypt4gh.KeyID(1, pub) == crypt4gh.KeyID(2, pub) {
		t.Error("the key ID does not depend on the algorithm")
	}
	want := sha256.Sum256(append([]byte{1, 0, 0, 0}, pub...))
	if crypt4gh.KeyID(1, pub) != want {
		t.Error("algorithm is not encoded little-endian")
	}
}
