package sshkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/poly1305"
)

// sshCipher describes a cipher of the openssh-key-v1 format (OpenSSH
// cipher.c). The bcrypt_pbkdf output is keyLen+ivLen bytes: key, then IV.
// For AEAD ciphers a tagLen-byte tag follows the private section string.
type sshCipher struct {
	name      string
	keyLen    int
	ivLen     int
	blockSize int
	tagLen    int
	// decrypt returns the plaintext of sealed in a new buffer, or
	// ErrIncorrectPassphrase if the tag does not verify.
	decrypt func(key, iv, sealed, tag []byte) ([]byte, error)
}

var ciphers = map[string]*sshCipher{}

func init() {
	add := func(c *sshCipher) { ciphers[c.name] = c }
	add(&sshCipher{name: "none", blockSize: 8})
	for _, n := range []int{16, 24, 32} {
		bits := map[int]string{16: "128", 24: "192", 32: "256"}[n]
		add(&sshCipher{name: "aes" + bits + "-ctr", keyLen: n, ivLen: aes.BlockSize, blockSize: aes.BlockSize, decrypt: decryptAESCTR})
		add(&sshCipher{name: "aes" + bits + "-cbc", keyLen: n, ivLen: aes.BlockSize, blockSize: aes.BlockSize, decrypt: decryptCBC(aes.NewCipher)})
	}
	add(&sshCipher{name: "3des-cbc", keyLen: 24, ivLen: des.BlockSize, blockSize: des.BlockSize, decrypt: decryptCBC(des.NewTripleDESCipher)})
	add(&sshCipher{name: "aes128-gcm@openssh.com", keyLen: 16, ivLen: 12, blockSize: aes.BlockSize, tagLen: 16, decrypt: decryptAESGCM})
	add(&sshCipher{name: "aes256-gcm@openssh.com", keyLen: 32, ivLen: 12, blockSize: aes.BlockSize, tagLen: 16, decrypt: decryptAESGCM})
	add(&sshCipher{name: "chacha20-poly1305@openssh.com", keyLen: 64, blockSize: 8, tagLen: poly1305.TagSize, decrypt: decryptChaChaPoly})
}

func decryptAESCTR(key, iv, sealed, _ []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, len(sealed))
	cipher.NewCTR(block, iv).XORKeyStream(plain, sealed)
	return plain, nil
}

// decryptCBC returns a CBC decrypter for a block cipher constructor. The
// caller has checked that sealed is a multiple of the block size.
func decryptCBC(newBlock func([]byte) (cipher.Block, error)) func(key, iv, sealed, _ []byte) ([]byte, error) {
	return func(key, iv, sealed, _ []byte) ([]byte, error) {
		block, err := newBlock(key)
		if err != nil {
			return nil, err
		}
		plain := make([]byte, len(sealed))
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, sealed)
		return plain, nil
	}
}

// decryptAESGCM opens aes*-gcm@openssh.com: AES-GCM with the 12-byte IV from
// the KDF as nonce and no additional data.
func decryptAESGCM(key, iv, sealed, tag []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	in := make([]byte, 0, len(sealed)+len(tag))
	in = append(append(in, sealed...), tag...)
	plain, err := gcm.Open(in[:0], iv, in, nil)
	if err != nil {
		return nil, ErrIncorrectPassphrase
	}
	return plain, nil
}

// decryptChaChaPoly opens chacha20-poly1305@openssh.com (OpenSSH
// PROTOCOL.chacha20poly1305) as used for key files: sequence number 0 and no
// encrypted length field. The 64-byte key is K_2 (payload) || K_1 (length;
// unused here). The Poly1305 key is the first 32 bytes of the K_2 keystream
// at block 0; the payload is encrypted from block 1. The original ChaCha20
// with a 64-bit zero nonce and a block counter below 2^32 produces the same
// keystream as the IETF variant with a 96-bit zero nonce.
func decryptChaChaPoly(key, _, sealed, tag []byte) ([]byte, error) {
	var nonce [chacha20.NonceSize]byte
	c, err := chacha20.NewUnauthenticatedCipher(key[:32], nonce[:])
	if err != nil {
		return nil, err
	}
	var polyKey [32]byte
	c.XORKeyStream(polyKey[:], polyKey[:])
	defer clear(polyKey[:])
	var mac [poly1305.TagSize]byte
	copy(mac[:], tag)
	// The poly1305 package is deprecated for general use, but this
	// construction needs the raw one-time MAC.
	//lint:ignore SA1019 OpenSSH's chacha20-poly1305 is built on raw Poly1305.
	if !poly1305.Verify(&mac, sealed, &polyKey) {
		return nil, ErrIncorrectPassphrase
	}
	plain := make([]byte, len(sealed))
	c.SetCounter(1)
	c.XORKeyStream(plain, sealed)
	return plain, nil
}
