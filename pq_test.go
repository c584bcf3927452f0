package crypt4gh_test

import (
	"bytes"
	"crypto/mlkem"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
)

// dataKeyPacket returns a 40-byte data key packet plaintext (type 0, method
// 2, a key), the usual content of a hybrid packet.
func dataKeyPacket(b byte) []byte {
	p := binary.LittleEndian.AppendUint32(nil, crypt4gh.TypeDataKey)
	p = binary.LittleEndian.AppendUint32(p, crypt4gh.DataSealedChaCha20Poly1305)
	return append(p, bytes.Repeat([]byte{b}, 32)...)
}

func mustHybrid(t testing.TB) *crypt4gh.HybridIdentity {
	t.Helper()
	id, err := crypt4gh.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestHybridSizes(t *testing.T) {
	if crypt4gh.HybridPublicKeySize != 1600 || crypt4gh.HybridSecretKeySize != 96 || crypt4gh.HybridPacketOverhead != 32+1568+12+16 {
		t.Fatalf("sizes %d %d %d", crypt4gh.HybridPublicKeySize, crypt4gh.HybridSecretKeySize, crypt4gh.HybridPacketOverhead)
	}
	id := mustHybrid(t)
	if n := len(id.PublicKey()); n != 1600 {
		t.Errorf("public key %d bytes", n)
	}
	if n := len(id.SecretKey()); n != 96 {
		t.Errorf("secret key %d bytes", n)
	}
	if !bytes.Equal(id.Recipient().Bytes(), id.PublicKey()) {
		t.Error("Recipient().Bytes() differs from PublicKey()")
	}
}

func TestHybridRoundTrip(t *testing.T) {
	id := mustHybrid(t)
	// The recipient made from the public key bytes and the identity made
	// from the secret bytes behave like the originals.
	r, err := crypt4gh.NewHybridRecipient(id.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	id2, err := crypt4gh.NewHybridIdentity(id.SecretKey())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(id2.PublicKey(), id.PublicKey()) {
		t.Fatal("NewHybridIdentity derives another public key")
	}
	for _, pt := range [][]byte{nil, dataKeyPacket(7), bytes.Repeat([]byte("edit list "), 500)} {
		for name, rcpt := range map[string]*crypt4gh.HybridRecipient{"Recipient()": id.Recipient(), "NewHybridRecipient": r} {
			t.Run(fmt.Sprintf("%s/%d", name, len(pt)), func(t *testing.T) {
				p, err := rcpt.SealPacket(pt)
				if err != nil {
					t.Fatal(err)
				}
				if p.Method != crypt4gh.PacketX25519MLKEM1024 {
					t.Errorf("method %d", p.Method)
				}
				if len(p.Payload) != crypt4gh.HybridPacketOverhead+len(pt) {
					t.Errorf("payload %d bytes, want %d", len(p.Payload), crypt4gh.HybridPacketOverhead+len(pt))
				}
				for _, opener := range []*crypt4gh.HybridIdentity{id, id2} {
					got, err := opener.OpenPacket(p)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, pt) {
						t.Error("plaintext differs")
					}
				}
				// Fresh randomness every time.
				p2, _ := rcpt.SealPacket(pt)
				if bytes.Equal(p.Payload[:32], p2.Payload[:32]) || bytes.Equal(p.Payload[32:1600], p2.Payload[32:1600]) ||
					bytes.Equal(p.Payload[1600:1612], p2.Payload[1600:1612]) {
					t.Error("two packets share an ephemeral key, ML-KEM ciphertext or nonce")
				}
			})
		}
	}
}

func TestHybridWrongIdentity(t *testing.T) {
	id, other := mustHybrid(t), mustHybrid(t)
	x, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	hp, err := id.Recipient().SealPacket(dataKeyPacket(1))
	if err != nil {
		t.Fatal(err)
	}
	xp, err := x.Recipient().SealPacket(dataKeyPacket(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		id   crypt4gh.Identity
		p    crypt4gh.HeaderPacket
	}{
		{"other hybrid key", other, hp},
		{"classical identity, hybrid packet", x, hp},
		{"hybrid identity, classical packet", id, xp},
		{"hybrid packet relabelled as classical", x, crypt4gh.HeaderPacket{Method: crypt4gh.PacketX25519, Payload: hp.Payload}},
		{"classical packet relabelled as hybrid", id, crypt4gh.HeaderPacket{Method: crypt4gh.PacketX25519MLKEM1024, Payload: append(bytes.Clone(xp.Payload), make([]byte, 1600)...)}},
		{"unknown method", id, crypt4gh.HeaderPacket{Method: 77, Payload: hp.Payload}},
	} {
		if _, err := c.id.OpenPacket(c.p); !errors.Is(err, crypt4gh.ErrIncorrectIdentity) {
			t.Errorf("%s: error %v, want ErrIncorrectIdentity", c.name, err)
		}
	}
	// A payload too short to be a hybrid packet is malformed.
	for _, n := range []int{0, 32, crypt4gh.HybridPacketOverhead - 1} {
		_, err := id.OpenPacket(crypt4gh.HeaderPacket{Method: crypt4gh.PacketX25519MLKEM1024, Payload: hp.Payload[:n]})
		if !errors.Is(err, crypt4gh.ErrMalformedHeader) || errors.Is(err, crypt4gh.ErrIncorrectIdentity) {
			t.Errorf("%d-byte payload: %v", n, err)
		}
	}
}

// Every single-bit flip at sampled positions of each field of the payload
// makes the packet fail to authenticate.
func TestHybridBitFlips(t *testing.T) {
	id := mustHybrid(t)
	pt := dataKeyPacket(3)
	p, err := id.Recipient().SealPacket(pt)
	if err != nil {
		t.Fatal(err)
	}
	ctStart := 32 + 1568 + 12
	tagStart := len(p.Payload) - 16
	fields := []struct {
		name      string
		positions []int
	}{
		// Bit 255 of an X25519 u-coordinate is ignored by X25519 itself;
		// the combiner hashes E, so flipping it must still fail.
		{"writer pk", []int{0, 1, 15, 30, 31}},
		{"mlkem ct", []int{32, 33, 32 + 784, 1598, 1599}},
		{"nonce", []int{1600, 1605, 1611}},
		{"ciphertext", []int{ctStart, ctStart + 4, ctStart + 20, tagStart - 1}},
		{"tag", []int{tagStart, tagStart + 8, len(p.Payload) - 1}},
	}
	for _, f := range fields {
		for _, pos := range f.positions {
			for bit := range 8 {
				mut := bytes.Clone(p.Payload)
				mut[pos] ^= 1 << bit
				got, err := id.OpenPacket(crypt4gh.HeaderPacket{Method: p.Method, Payload: mut})
				if !errors.Is(err, crypt4gh.ErrIncorrectIdentity) {
					t.Errorf("%s: flip of bit %d at %d: %v (plaintext %x)", f.name, bit, pos, err, got)
				}
			}
		}
	}
	// Appending or removing a byte also fails.
	for _, mut := range [][]byte{append(bytes.Clone(p.Payload), 0), p.Payload[:len(p.Payload)-1]} {
		if _, err := id.OpenPacket(crypt4gh.HeaderPacket{Method: p.Method, Payload: mut}); !errors.Is(err, crypt4gh.ErrIncorrectIdentity) {
			t.Errorf("%d-byte payload: %v", len(mut), err)
		}
	}
	if got, err := id.OpenPacket(p); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("the unmodified packet no longer opens: %v", err)
	}
}

func TestNewHybridRecipientRejects(t *testing.T) {
	pub := mustHybrid(t).PublicKey()
	lowOrder := bytes.Clone(pub)
	clear(lowOrder[:32]) // u = 0
	one := bytes.Clone(pub)
	clear(one[:32])
	one[0] = 1 // u = 1, order 4
	badEK := bytes.Clone(pub)
	for i := 32; i < 64; i++ {
		badEK[i] = 0xff // coefficients ≥ q fail the FIPS 203 modulus check
	}
	for name, key := range map[string][]byte{
		"empty":           nil,
		"1599 bytes":      pub[:1599],
		"1601 bytes":      append(bytes.Clone(pub), 0),
		"X25519 only":     pub[:32],
		"low-order u=0":   lowOrder,
		"low-order u=1":   one,
		"invalid ML-KEM":  badEK,
		"ML-KEM-768 size": pub[:32+mlkem.EncapsulationKeySize768],
	} {
		if _, err := crypt4gh.NewHybridRecipient(key); !errors.Is(err, crypt4gh.ErrMalformedKey) {
			t.Errorf("%s: error %v, want ErrMalformedKey", name, err)
		}
	}
	for _, n := range []int{0, 32, 95, 97} {
		if _, err := crypt4gh.NewHybridIdentity(make([]byte, n)); !errors.Is(err, crypt4gh.ErrMalformedKey) {
			t.Errorf("%d-byte secret: %v", n, err)
		}
	}
}

func TestHybridZero(t *testing.T) {
	id := mustHybrid(t)
	p, err := id.Recipient().SealPacket(dataKeyPacket(2))
	if err != nil {
		t.Fatal(err)
	}
	id.Zero()
	if !bytes.Equal(id.SecretKey(), make([]byte, 96)) {
		t.Error("secret not cleared")
	}
	if _, err := id.OpenPacket(p); err == nil {
		t.Error("a zeroed identity opened a packet")
	}
}

func TestPostQuantum(t *testing.T) {
	x, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    crypt4gh.Recipient
		want bool
	}{{x.Recipient(), false}, {mustHybrid(t).Recipient(), true}} {
		pq, ok := c.r.(crypt4gh.PostQuantumRecipient)
		if !ok || pq.PostQuantum() != c.want {
			t.Errorf("%T: PostQuantumRecipient %v, PostQuantum() = %v", c.r, ok, ok && pq.PostQuantum())
		}
		p, err := c.r.SealPacket(dataKeyPacket(0))
		if err != nil {
			t.Fatal(err)
		}
		if crypt4gh.IsPostQuantumMethod(p.Method) != c.want {
			t.Errorf("%T: IsPostQuantumMethod(%d) = %v", c.r, p.Method, !c.want)
		}
	}
	for _, m := range []uint32{2, 3, 0xffffffff} {
		if crypt4gh.IsPostQuantumMethod(m) {
			t.Errorf("IsPostQuantumMethod(%d)", m)
		}
	}
}
