package main

import (
	"fmt"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/keyfile"
	"github.com/crypt4gh-go/crypt4gh/signing"
)

// cmdPubkey prints the public key of a private key (--sk) or converts a
// public key file (--pk, e.g. an ssh-ed25519 line) to the Crypt4GH form,
// like ssh-keygen -y. Classical, hybrid and signing keys work.
func (a *app) cmdPubkey(args []string) error {
	fs := newFlagSet("pubkey")
	var sk, pk string
	fs.StringVar(&sk, "sk", "", "")
	fs.StringVar(&pk, "pk", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if sk != "" && pk != "" {
		return usageErrorf("pubkey", "give --sk or --pk, not both")
	}
	var out []byte
	var err error
	switch {
	case pk != "":
		out, err = publicKeyOfPublic(pk)
	case sk != "" && isSigningKeyFile(sk):
		out, err = a.publicKeyOfSigner(sk)
	default:
		path, source := a.secretKeyPath(sk, false)
		var id crypt4gh.Identity
		if id, err = a.loadIdentity(path, source); err != nil {
			return err
		}
		defer zeroIdentity(id)
		out, err = marshalPublic(selfRecipient(id))
	}
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(out)
	return err
}

// marshalPublic returns the public key file of a recipient.
func marshalPublic(r crypt4gh.Recipient) ([]byte, error) {
	switch r := r.(type) {
	case *crypt4gh.X25519Recipient:
		return crypt4gh.MarshalRecipient(r), nil
	case *crypt4gh.HybridRecipient:
		return crypt4gh.MarshalHybridRecipient(r), nil
	}
	return nil, fmt.Errorf("cannot write a public key file for a %T key", r)
}

// publicKeyOfPublic rewrites a public key file in the Crypt4GH form: a
// recipient key, or a version 2 signature verification key.
func publicKeyOfPublic(path string) ([]byte, error) {
	data, err := readPublicKeyFile(path, "public key")
	if err != nil {
		return nil, err
	}
	if keyfile.IsV2PublicKey(data) {
		if t, _, err := keyfile.ParseV2PublicKey(data); err == nil && t != keyfile.KeyTypeX25519MLKEM1024 {
			v, err := signing.ParseVerifier(data)
			if err != nil {
				return nil, withCode(fmt.Errorf("public key %s: %w", path, err), exitKey)
			}
			return signing.MarshalVerifier(v)
		}
	}
	r, err := loadRecipient(path)
	if err != nil {
		return nil, err
	}
	return marshalPublic(r)
}

// publicKeyOfSigner returns the verification key file of a signing key.
func (a *app) publicKeyOfSigner(path string) ([]byte, error) {
	signers, err := a.loadSigners([]string{path})
	if err != nil {
		return nil, err
	}
	defer zeroSigners(signers)
	v, err := signing.NewVerifier(signers[0].SignatureAlgorithm(), signers[0].PublicKey())
	if err != nil {
		return nil, err
	}
	return signing.MarshalVerifier(v)
}

const pubkeyUsage = `Usage: crypt4gh pubkey [--sk PATH | --pk PATH]

Prints a public key file on standard output: the public key of the secret
key --sk (default: $C4GH_SECRET_KEY, else ~/.c4gh/key), or the Crypt4GH
form of the public key --pk (an "ssh-ed25519 …" line is converted to its
X25519 key). Crypt4GH keys, hybrid post-quantum keys (keygen --pq),
signing keys (keygen --sign: the verification key is printed) and OpenSSH
ed25519 secret keys are accepted.

Examples:
    crypt4gh pubkey --sk ~/.c4gh/key > my.pub
    crypt4gh pubkey --sk ~/.ssh/id_ed25519 > my.pub
    crypt4gh pubkey --pk ~/.ssh/id_ed25519.pub > my.pub
    crypt4gh pubkey --sk ~/.c4gh/sign > sign.pub

Exit status: 0 success, 2 usage error, 6 key file problem.
`
