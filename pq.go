package crypt4gh

import (
	"crypto/ecdh"
	"crypto/mlkem"
	"crypto/rand"
	"crypto/sha3"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// Hybrid post-quantum recipients (doc/crypt4gh-v2.md, section 6): packet
// method 1, X25519 and ML-KEM-1024 combined with SHA3-256, then
// ChaCha20-Poly1305.

// Sizes of hybrid keys and packets.
const (
	// HybridPublicKeySize is the size of a hybrid public key:
	// x25519_pk[32] || mlkem_ek[1568].
	HybridPublicKeySize = 32 + mlkem.EncapsulationKeySize1024
	// HybridSecretKeySize is the size of a hybrid private key:
	// x25519_sk[32] || mlkem_seed[64] (the FIPS 203 seed d || z).
	HybridSecretKeySize = 32 + mlkem.SeedSize
	// HybridPacketOverhead is what a hybrid packet payload adds to its
	// plaintext: E[32] || ct_M[1568] || nonce[12] || ... || tag[16].
	HybridPacketOverhead = 32 + mlkem.CiphertextSize1024 + chacha20poly1305.NonceSize + chacha20poly1305.Overhead
)

// hybridLabel is the domain separator of the SHA3-256 combiner.
const hybridLabel = "crypt4gh-v2 X25519-MLKEM1024"

// PostQuantumRecipient is implemented by recipients that can tell whether
// the packets they seal resist a quantum computer. Writers use it to warn
// about, or refuse, headers that a classical packet opens ("store now,
// decrypt later"). Recipients that do not implement it are classical.
type PostQuantumRecipient interface {
	PostQuantum() bool
}

// IsPostQuantumMethod reports whether a header packet encryption method
// resists a quantum computer (PacketX25519MLKEM1024). A header with a packet
// of any other method can be decrypted by whoever breaks that method.
func IsPostQuantumMethod(method uint32) bool {
	return method == PacketX25519MLKEM1024
}

// PostQuantum returns false: X25519 falls to a quantum computer.
func (r *X25519Recipient) PostQuantum() bool { return false }

// HybridIdentity is a hybrid post-quantum private key: an X25519 secret and
// an ML-KEM-1024 decapsulation key (kept as its 64-byte seed). It opens
// header packets of method PacketX25519MLKEM1024 sealed for its public key.
type HybridIdentity struct {
	xSecret [32]byte
	seed    [mlkem.SeedSize]byte
	xPriv   *ecdh.PrivateKey
	dk      *mlkem.DecapsulationKey1024
	public  []byte // x25519_pk || mlkem_ek
	// Comment is the comment stored in the key file, if any.
	Comment string
}

// HybridRecipient is a hybrid post-quantum public key. Every packet sealed
// for it uses a fresh X25519 key pair and a fresh ML-KEM encapsulation.
type HybridRecipient struct {
	xPub   *ecdh.PublicKey
	ek     *mlkem.EncapsulationKey1024
	public []byte // x25519_pk || mlkem_ek
}

var (
	_ Identity             = (*HybridIdentity)(nil)
	_ Recipient            = (*HybridRecipient)(nil)
	_ PostQuantumRecipient = (*HybridRecipient)(nil)
	_ PostQuantumRecipient = (*X25519Recipient)(nil)
)

// GenerateHybridIdentity returns a new random hybrid key pair.
func GenerateHybridIdentity() (*HybridIdentity, error) {
	var secret [HybridSecretKeySize]byte
	defer clear(secret[:])
	if _, err := rand.Read(secret[:]); err != nil {
		return nil, err
	}
	return NewHybridIdentity(secret[:])
}

// NewHybridIdentity returns the identity for a 96-byte hybrid secret,
// x25519_sk[32] || mlkem_seed[64]. The secret is copied.
func NewHybridIdentity(secret []byte) (*HybridIdentity, error) {
	if len(secret) != HybridSecretKeySize {
		return nil, fmt.Errorf("%w: hybrid secret key is %d bytes, want %d", ErrMalformedKey, len(secret), HybridSecretKeySize)
	}
	id := &HybridIdentity{}
	copy(id.xSecret[:], secret[:32])
	copy(id.seed[:], secret[32:])
	var err error
	if id.xPriv, err = ecdh.X25519().NewPrivateKey(id.xSecret[:]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	if id.dk, err = mlkem.NewDecapsulationKey1024(id.seed[:]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	id.public = make([]byte, 0, HybridPublicKeySize)
	id.public = append(id.public, id.xPriv.PublicKey().Bytes()...)
	id.public = append(id.public, id.dk.EncapsulationKey().Bytes()...)
	return id, nil
}

// Recipient returns the public key of id.
func (id *HybridIdentity) Recipient() *HybridRecipient {
	r, err := NewHybridRecipient(id.public)
	if err != nil {
		// Unreachable: the public key was derived from a valid secret and
		// a clamped X25519 scalar never yields a low-order public key.
		panic("crypt4gh: invalid hybrid public key derived from a secret: " + err.Error())
	}
	return r
}

// PublicKey returns the 1600-byte public key x25519_pk || mlkem_ek.
func (id *HybridIdentity) PublicKey() []byte { return append([]byte(nil), id.public...) }

// SecretKey returns a copy of the 96-byte secret x25519_sk || mlkem_seed.
// Callers should clear it when done.
func (id *HybridIdentity) SecretKey() []byte {
	s := make([]byte, 0, HybridSecretKeySize)
	s = append(s, id.xSecret[:]...)
	return append(s, id.seed[:]...)
}

// Zero overwrites the secret key bytes held by id and drops its expanded
// keys; the identity is unusable after. The expanded copies inside the
// standard library's key objects cannot be overwritten and are left to the
// garbage collector.
func (id *HybridIdentity) Zero() {
	clear(id.xSecret[:])
	clear(id.seed[:])
	id.xPriv = nil
	id.dk = nil
}

// OpenPacket decrypts a PacketX25519MLKEM1024 packet addressed to id. Other
// methods, and packets that do not authenticate under id's key, give an
// error wrapping ErrIncorrectIdentity; a payload too short to be a hybrid
// packet gives one wrapping ErrMalformedHeader.
func (id *HybridIdentity) OpenPacket(p HeaderPacket) ([]byte, error) {
	if p.Method != PacketX25519MLKEM1024 {
		return nil, fmt.Errorf("%w: packet encryption method %d", ErrIncorrectIdentity, p.Method)
	}
	if id.xPriv == nil || id.dk == nil {
		return nil, errors.New("crypt4gh: the hybrid identity was zeroed")
	}
	if len(p.Payload) < HybridPacketOverhead {
		return nil, fmt.Errorf("%w: hybrid header packet payload is %d bytes, want at least %d", ErrMalformedHeader, len(p.Payload), HybridPacketOverhead)
	}
	const ctEnd = 32 + mlkem.CiphertextSize1024
	writer, ctM := p.Payload[:32], p.Payload[32:ctEnd]
	nonce, sealed := p.Payload[ctEnd:ctEnd+chacha20poly1305.NonceSize], p.Payload[ctEnd+chacha20poly1305.NonceSize:]

	ePub, err := ecdh.X25519().NewPublicKey(writer)
	if err != nil { // unreachable: any 32 bytes are an X25519 public key
		return nil, fmt.Errorf("%w: %v", ErrIncorrectIdentity, err)
	}
	ssX, err := id.xPriv.ECDH(ePub)
	if err != nil {
		// All-zero shared secret: a low-order writer key cannot have been
		// made for us.
		return nil, fmt.Errorf("%w: low-order writer key", ErrIncorrectIdentity)
	}
	defer clear(ssX)
	ssM, err := id.dk.Decapsulate(ctM)
	if err != nil { // unreachable: the ciphertext has the right length
		return nil, fmt.Errorf("%w: %v", ErrIncorrectIdentity, err)
	}
	defer clear(ssM)
	k := hybridKey(ssM, ssX, ctM, writer, id.public[32:], id.public[:32])
	aead, _ := chacha20poly1305.New(k[:])
	clear(k[:])
	pt, err := aead.Open(nil, nonce, sealed, nil)
	if err != nil {
		return nil, ErrIncorrectIdentity
	}
	return pt, nil
}

// NewHybridRecipient returns the recipient for a 1600-byte hybrid public
// key, x25519_pk[32] || mlkem_ek[1568]. It rejects a low-order X25519 key
// and an ML-KEM encapsulation key that fails the FIPS 203 modulus check.
func NewHybridRecipient(pub []byte) (*HybridRecipient, error) {
	if len(pub) != HybridPublicKeySize {
		return nil, fmt.Errorf("%w: hybrid public key is %d bytes, want %d", ErrMalformedKey, len(pub), HybridPublicKeySize)
	}
	r := &HybridRecipient{public: append([]byte(nil), pub...)}
	var err error
	if r.xPub, err = ecdh.X25519().NewPublicKey(r.public[:32]); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
	}
	// Low-order points give an all-zero shared secret with every scalar
	// (clamped scalars are multiples of the cofactor): probe with one.
	if _, err := lowOrderProbe.ECDH(r.xPub); err != nil {
		return nil, fmt.Errorf("%w: the X25519 part of the hybrid public key is a low-order point", ErrMalformedKey)
	}
	if r.ek, err = mlkem.NewEncapsulationKey1024(r.public[32:]); err != nil {
		return nil, fmt.Errorf("%w: the ML-KEM-1024 part of the hybrid public key is invalid: %v", ErrMalformedKey, err)
	}
	return r, nil
}

// lowOrderProbe is a fixed, public X25519 key used only to detect
// low-order public keys.
var lowOrderProbe = func() *ecdh.PrivateKey {
	k, err := ecdh.X25519().NewPrivateKey([]byte("crypt4gh low-order point probe!!"))
	if err != nil {
		panic(err)
	}
	return k
}()

// Bytes returns the 1600-byte public key x25519_pk || mlkem_ek.
func (r *HybridRecipient) Bytes() []byte { return append([]byte(nil), r.public...) }

// PostQuantum returns true: packets sealed for r stay secret unless both
// X25519 and ML-KEM-1024 are broken.
func (r *HybridRecipient) PostQuantum() bool { return true }

// SealPacket encrypts a packet plaintext for r with a fresh X25519 key pair,
// a fresh ML-KEM-1024 encapsulation and a random nonce.
func (r *HybridRecipient) SealPacket(plaintext []byte) (HeaderPacket, error) {
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return HeaderPacket{}, err
	}
	var nonce [chacha20poly1305.NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return HeaderPacket{}, err
	}
	payload, k, err := sealHybrid(plaintext, r, eph, encapsulate, nonce[:])
	clear(k[:])
	if err != nil {
		return HeaderPacket{}, fmt.Errorf("crypt4gh: sealing hybrid header packet: %w", err)
	}
	return HeaderPacket{Method: PacketX25519MLKEM1024, Payload: payload}, nil
}

// encapsulate is the randomized ML-KEM-1024 encapsulation.
func encapsulate(ek *mlkem.EncapsulationKey1024) (sharedKey, ciphertext []byte, err error) {
	sharedKey, ciphertext = ek.Encapsulate()
	return sharedKey, ciphertext, nil
}

// sealHybrid builds a hybrid packet payload from explicit randomness: the
// writer's ephemeral X25519 key, the ML-KEM encapsulation and the nonce. It
// also returns the packet key K (for tests; callers clear it).
func sealHybrid(plaintext []byte, r *HybridRecipient, eph *ecdh.PrivateKey,
	encaps func(*mlkem.EncapsulationKey1024) (sharedKey, ciphertext []byte, err error), nonce []byte) ([]byte, [32]byte, error) {
	var k [32]byte
	if len(nonce) != chacha20poly1305.NonceSize {
		return nil, k, fmt.Errorf("nonce is %d bytes, want %d", len(nonce), chacha20poly1305.NonceSize)
	}
	ssX, err := eph.ECDH(r.xPub)
	if err != nil { // the all-zero shared secret
		return nil, k, errors.New("X25519 public key is a low-order point")
	}
	defer clear(ssX)
	ssM, ctM, err := encaps(r.ek)
	if err != nil {
		return nil, k, err
	}
	defer clear(ssM)
	if len(ctM) != mlkem.CiphertextSize1024 || len(ssM) != mlkem.SharedKeySize {
		return nil, k, errors.New("ML-KEM-1024 encapsulation returned the wrong sizes")
	}
	writer := eph.PublicKey().Bytes()
	k = hybridKey(ssM, ssX, ctM, writer, r.public[32:], r.public[:32])
	aead, _ := chacha20poly1305.New(k[:])
	out := make([]byte, 0, HybridPacketOverhead+len(plaintext))
	out = append(out, writer...)
	out = append(out, ctM...)
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, nil), k, nil
}

// hybridKey is the combiner of section 6:
// SHA3-256(label || ss_M || ss_X || ct_M || E || mlkem_ek || x25519_pk).
func hybridKey(ssM, ssX, ctM, writerPublic, ek, xPub []byte) [32]byte {
	h := sha3.New256()
	h.Write([]byte(hybridLabel))
	h.Write(ssM)
	h.Write(ssX)
	h.Write(ctM)
	h.Write(writerPublic)
	h.Write(ek)
	h.Write(xPub)
	var k [32]byte
	h.Sum(k[:0])
	h.Reset()
	return k
}
