package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/crypt4gh-go/crypt4gh"
)

// ArchiveKey is one archive key pair: the identity opens stored headers,
// the public half seals newly ingested ones. The identity may be a key
// file or a key held in a PKCS#11 token (crypt4gh.NewKeyAgreementIdentity).
type ArchiveKey struct {
	Identity crypt4gh.Identity
	Public   []byte // 32-byte X25519 public key
}

// Keyring holds the archive keys. The first is current: ingest seals new
// headers to it. All of them are tried when opening a stored header, so
// keys can be rotated by adding a new first key and re-sealing headers
// (crypt4gh-server rotate) before retiring the old one.
type Keyring struct {
	keys      []ArchiveKey
	ids       []crypt4gh.Identity
	recipient *crypt4gh.X25519Recipient
}

// NewKeyring returns a keyring; keys[0] is the current key.
func NewKeyring(keys ...ArchiveKey) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("server: no archive key configured")
	}
	k := &Keyring{keys: keys}
	for _, key := range keys {
		k.ids = append(k.ids, key.Identity)
	}
	r, err := crypt4gh.NewX25519Recipient(keys[0].Public)
	if err != nil {
		return nil, fmt.Errorf("server: archive public key: %w", err)
	}
	k.recipient = r
	return k, nil
}

// Identities returns every archive identity, current first.
func (k *Keyring) Identities() []crypt4gh.Identity { return k.ids }

// Recipient returns the current archive key as a recipient.
func (k *Keyring) Recipient() *crypt4gh.X25519Recipient { return k.recipient }

// CurrentID names the current key in the header database.
func (k *Keyring) CurrentID() string { return KeyIDOf(k.keys[0].Public) }

// KeyIDOf is the short, stable name of an archive public key stored with
// each header, so rotation can find the headers still sealed to an old key.
func KeyIDOf(public []byte) string {
	sum := sha256.Sum256(public)
	return hex.EncodeToString(sum[:8])
}
