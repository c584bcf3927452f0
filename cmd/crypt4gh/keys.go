package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/term"
	"github.com/crypt4gh-go/crypt4gh/signing"
)

const (
	envSecretKey  = "C4GH_SECRET_KEY"
	envPublicKey  = "C4GH_PUBLIC_KEY"
	envPassphrase = "C4GH_PASSPHRASE"

	defaultSecretKey = "~/.c4gh/key"
	defaultPublicKey = "~/.c4gh/key.pub"

	// passphraseAttempts is how many times a wrong passphrase typed on
	// the terminal is asked again.
	passphraseAttempts = 3
)

// secretKeyPath picks the secret key: --sk, else $C4GH_SECRET_KEY, else
// ~/.c4gh/key. With ephemeralOK (encrypt), no --sk and no environment
// variable give "" (use a fresh writer key), as in the Python tool.
func (a *app) secretKeyPath(flagValue string, ephemeralOK bool) (path, source string) {
	switch {
	case flagValue != "":
		return flagValue, "--sk"
	case a.getenv(envSecretKey) != "":
		return a.getenv(envSecretKey), envSecretKey
	case ephemeralOK:
		return "", ""
	}
	return defaultSecretKey, "default"
}

// privateKeyFile describes a kind of private key file for loadPrivate.
type privateKeyFile[T any] struct {
	// role names the key in messages ("secret key", "signing key").
	role string
	// parse reads the file; it returns the passphrase function's own
	// errors unchanged.
	parse func(data []byte, passphrase crypt4gh.PassphraseFunc) (T, error)
	// hint is added to malformed-key errors.
	hint string
}

var (
	secretKeyFile = privateKeyFile[crypt4gh.Identity]{
		role:  "secret key",
		parse: crypt4gh.ParsePrivateKey,
		hint:  "--sk needs a private key: a Crypt4GH key (crypt4gh keygen), a hybrid post-quantum key (crypt4gh keygen --pq) or an OpenSSH ed25519 key",
	}
	signingKeyFile = privateKeyFile[crypt4gh.Signer]{
		role:  "signing key",
		parse: signing.ParseSigner,
		hint:  "--sign needs a signing key: one made by 'crypt4gh keygen --sign ed25519|mldsa65|mldsa87', or an OpenSSH ed25519 key",
	}
)

// loadIdentity reads the private key at path (source says where the path
// came from, for hints): a Crypt4GH key, a hybrid post-quantum key or an
// OpenSSH ed25519 key. An encrypted key takes its passphrase from
// $C4GH_PASSPHRASE, else from a prompt on the terminal.
func (a *app) loadIdentity(path, source string) (crypt4gh.Identity, error) {
	return loadPrivate(a, secretKeyFile, path, source)
}

// loadSigners reads the --sign key files, with the passphrase rules of
// --sk.
func (a *app) loadSigners(paths []string) ([]crypt4gh.Signer, error) {
	var out []crypt4gh.Signer
	for _, p := range paths {
		s, err := loadPrivate(a, signingKeyFile, p, "--sign")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func loadPrivate[T any](a *app, kind privateKeyFile[T], path, source string) (T, error) {
	var zero T
	data, err := os.ReadFile(expandHome(path))
	if err != nil {
		err = fmt.Errorf("reading %s: %w", kind.role, err)
		if errors.Is(err, fs.ErrNotExist) {
			switch source {
			case "default":
				return zero, withCode(err, exitKey, "give the key with --sk PATH or C4GH_SECRET_KEY, or create one with 'crypt4gh keygen'")
			case envSecretKey:
				return zero, withCode(err, exitKey, "the path comes from C4GH_SECRET_KEY")
			}
		}
		return zero, withCode(err, exitKey)
	}
	defer clear(data)
	malformed := func(err error) error {
		if errors.Is(err, crypt4gh.ErrMalformedKey) {
			return withHint(err, kind.hint)
		}
		return err
	}

	if env := a.getenv(envPassphrase); env != "" {
		k, err := kind.parse(data, func() ([]byte, error) { return []byte(env), nil })
		if err != nil {
			err = fmt.Errorf("%s %s: %w", kind.role, path, err)
			if errors.Is(err, crypt4gh.ErrIncorrectPassphrase) {
				return zero, withHint(err, "check the passphrase (it was taken from C4GH_PASSPHRASE)")
			}
			return zero, malformed(err)
		}
		return k, nil
	}

	prompted := false
	ask := func() ([]byte, error) {
		if a.noTTY {
			return nil, noPassphrase()
		}
		p, err := term.ReadPassphrase(fmt.Sprintf("Passphrase for %s: ", path))
		if errors.Is(err, term.ErrNoTerminal) {
			return nil, noPassphrase()
		}
		if err != nil {
			return nil, err
		}
		prompted = true
		return p, nil
	}
	for attempt := 1; ; attempt++ {
		// The parsers return the prompt's own errors unchanged.
		k, err := kind.parse(data, ask)
		if err == nil {
			return k, nil
		}
		if prompted && errors.Is(err, crypt4gh.ErrIncorrectPassphrase) && attempt < passphraseAttempts {
			fmt.Fprintln(a.stderr, "crypt4gh: incorrect passphrase, try again")
			continue
		}
		return zero, malformed(fmt.Errorf("%s %s: %w", kind.role, path, err))
	}
}

func noPassphrase() error { return errNoPassphrase{} }

// errNoPassphrase is ErrPassphraseRequired with what to do about it.
type errNoPassphrase struct{}

func (errNoPassphrase) Error() string {
	return "the key is encrypted: set C4GH_PASSPHRASE or run on a terminal"
}
func (errNoPassphrase) Unwrap() error { return crypt4gh.ErrPassphraseRequired }

// zeroIdentity overwrites the secret of an identity loaded by loadIdentity.
func zeroIdentity(id crypt4gh.Identity) {
	switch id := id.(type) {
	case *crypt4gh.X25519Identity:
		id.Zero()
	case *crypt4gh.HybridIdentity:
		id.Zero()
	}
}

// zeroSigners overwrites the secrets of signers loaded by loadSigners.
func zeroSigners(signers []crypt4gh.Signer) {
	for _, s := range signers {
		if z, ok := s.(interface{ Zero() }); ok {
			z.Zero()
		}
	}
}

// selfRecipient returns the user's own public key as a recipient: a
// classical key writes its packets with itself (as the Python tool does
// for rearrange), a hybrid key with fresh keys (hybrid packets have no
// sender).
func selfRecipient(id crypt4gh.Identity) crypt4gh.Recipient {
	switch id := id.(type) {
	case *crypt4gh.X25519Identity:
		return id.Recipient().WithSender(id)
	case *crypt4gh.HybridIdentity:
		return id.Recipient()
	}
	return nil
}

// withSender makes classical recipients write their packets with the
// user's classical key, so readers can check the sender; hybrid
// recipients, and all recipients when id is not classical, are unchanged.
func withSender(rs []crypt4gh.Recipient, id crypt4gh.Identity) []crypt4gh.Recipient {
	out := make([]crypt4gh.Recipient, len(rs))
	copy(out, rs)
	if x, ok := id.(*crypt4gh.X25519Identity); ok {
		for i, r := range out {
			if xr, ok := r.(*crypt4gh.X25519Recipient); ok {
				out[i] = xr.WithSender(x)
			}
		}
	}
	return out
}

// isPostQuantum reports whether packets sealed for r resist a quantum
// computer.
func isPostQuantum(r crypt4gh.Recipient) bool {
	pq, ok := r.(crypt4gh.PostQuantumRecipient)
	return ok && pq.PostQuantum()
}

// recipientKey returns the public key bytes of a recipient, to spot
// duplicates.
func recipientKey(r crypt4gh.Recipient) []byte {
	switch r := r.(type) {
	case *crypt4gh.X25519Recipient:
		return r.PublicKey()
	case *crypt4gh.HybridRecipient:
		return r.Bytes()
	}
	return nil
}

// loadRecipients reads the public key files, dropping duplicate keys
// (the same key under two names), as the Python tool does.
func (a *app) loadRecipients(paths []string) ([]crypt4gh.Recipient, error) {
	var out []crypt4gh.Recipient
	for _, p := range paths {
		r, err := loadRecipient(p)
		if err != nil {
			return nil, err
		}
		dup := false
		for _, o := range out {
			if bytes.Equal(recipientKey(o), recipientKey(r)) {
				dup = true
			}
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out, nil
}

func readPublicKeyFile(path, role string) ([]byte, error) {
	data, err := os.ReadFile(expandHome(path))
	if err != nil {
		return nil, withCode(fmt.Errorf("reading %s: %w", role, err), exitKey)
	}
	return data, nil
}

// loadRecipient reads a public key: Crypt4GH, hybrid post-quantum or
// ssh-ed25519.
func loadRecipient(path string) (crypt4gh.Recipient, error) {
	data, err := readPublicKeyFile(path, "public key")
	if err != nil {
		return nil, err
	}
	r, err := crypt4gh.ParsePublicKey(data)
	if err != nil {
		return nil, withCode(fmt.Errorf("public key %s: %w", path, err), exitKey,
			"public keys are Crypt4GH public key files (.pub from crypt4gh keygen, or keygen --pq) or 'ssh-ed25519 AAAA…' lines")
	}
	return r, nil
}

// loadSender reads a --sender_pk key, which must be classical: hybrid
// packets are always written with a fresh key and have no sender.
func loadSender(path string) (*crypt4gh.X25519Recipient, error) {
	r, err := loadRecipient(path)
	if err != nil {
		return nil, err
	}
	x, ok := r.(*crypt4gh.X25519Recipient)
	if !ok {
		return nil, withCode(fmt.Errorf("--sender_pk %s is a hybrid post-quantum key: hybrid header packets have no sender", path), exitUsage,
			"--sender_pk takes a classical Crypt4GH or ssh-ed25519 public key; check provenance of v2 files with --verify instead")
	}
	return x, nil
}

// loadVerifiers reads --verify key files.
func loadVerifiers(paths []string) ([]crypt4gh.Verifier, error) {
	var out []crypt4gh.Verifier
	for _, p := range paths {
		data, err := readPublicKeyFile(p, "verification key")
		if err != nil {
			return nil, err
		}
		v, err := signing.ParseVerifier(data)
		if err != nil {
			return nil, withCode(fmt.Errorf("verification key %s: %w", p, err), exitKey,
				"--verify takes the public key of a signing key (crypt4gh keygen --sign) or an 'ssh-ed25519 AAAA…' line")
		}
		out = append(out, v)
	}
	return out, nil
}
