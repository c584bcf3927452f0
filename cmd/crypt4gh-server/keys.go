package main

import (
	"errors"
	"os"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/pkcs11key"
)

func publicKeyFile(pub []byte) []byte {
	r, err := crypt4gh.NewX25519Recipient(pub)
	if err != nil {
		return nil
	}
	return crypt4gh.MarshalRecipient(r)
}

// importKeyFile moves an existing Crypt4GH archive key into a token.
func importKeyFile(cfg pkcs11key.Config, path, passEnv string) (*pkcs11key.Key, error) {
	if path == "" {
		return nil, usageError{errors.New("import needs -key-file")}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	id, err := crypt4gh.ParseIdentity(data, func() ([]byte, error) {
		s, err := secretFrom(passEnv, "")
		return []byte(s), err
	})
	if err != nil {
		return nil, err
	}
	defer id.Zero()
	secret := id.SecretKey()
	defer clear(secret)
	return pkcs11key.Import(cfg, secret)
}
