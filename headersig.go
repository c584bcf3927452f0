package crypt4gh

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrSignature is wrapped by errors of header signature verification:
// a required signature is missing or invalid.
var ErrSignature = errors.New("crypt4gh: header signature")

// signatureMessage is what a v2 signature signs (doc/crypt4gh-v2.md
// section 7): the data method and a commitment to the data key, so that
// re-encryption for new readers keeps the signature valid.
func signatureMessage(alg uint32, keyID [32]byte, k DataKey) []byte {
	m := append([]byte("crypt4gh-v2 signature"), 0)
	m = binary.LittleEndian.AppendUint32(m, alg)
	m = append(m, keyID[:]...)
	m = binary.LittleEndian.AppendUint32(m, k.Method)
	commitment := deriveKey(k.Key[:], labelCommitment)
	m = append(m, commitment...)
	clear(commitment)
	return m
}

// Sign adds a signature by s to the version 2 header h, whose content c
// (from Decrypt or the writer) gives the data key.
func (h *Header) Sign(c *HeaderContent, s Signer) error {
	if h.Version < Version2 || len(c.DataKeys) != 1 {
		return errors.New("crypt4gh: only version 2 headers (one data key) can be signed")
	}
	if len(h.Signatures) >= 16 {
		return errors.New("crypt4gh: a header holds at most 16 signatures")
	}
	alg := s.SignatureAlgorithm()
	id := KeyID(alg, s.PublicKey())
	sig, err := s.Sign(signatureMessage(alg, id, c.DataKeys[0]))
	if err != nil {
		return fmt.Errorf("crypt4gh: signing the header: %w", err)
	}
	h.Signatures = append(h.Signatures, SignatureRecord{Algorithm: alg, KeyID: id, Signature: sig})
	return nil
}

// Verify checks that h carries a valid signature by v over the data key of
// c. It fails, wrapping ErrSignature, if there is no signature by v's key
// or if the one there does not verify.
func (h *Header) Verify(c *HeaderContent, v Verifier) error {
	alg := v.SignatureAlgorithm()
	id := KeyID(alg, v.PublicKey())
	if h.Version < Version2 || len(c.DataKeys) != 1 {
		return fmt.Errorf("%w missing: a version %d header has no signatures", ErrSignature, h.Version)
	}
	found := false
	for _, s := range h.Signatures {
		if s.Algorithm != alg || s.KeyID != id {
			continue
		}
		found = true
		if v.Verify(signatureMessage(alg, id, c.DataKeys[0]), s.Signature) {
			return nil
		}
	}
	if found {
		return fmt.Errorf("%w invalid: the signature by key %x does not verify", ErrSignature, id[:8])
	}
	return fmt.Errorf("%w missing: no signature by key %x", ErrSignature, id[:8])
}
