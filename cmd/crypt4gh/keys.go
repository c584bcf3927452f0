package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/term"
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

// loadIdentity reads the private key at path (source says where the path
// came from, for hints). An encrypted key takes its passphrase from
// $C4GH_PASSPHRASE, else from a prompt on the terminal.
func (a *app) loadIdentity(path, source string) (*crypt4gh.X25519Identity, error) {
	data, err := os.ReadFile(expandHome(path))
	if err != nil {
		err = fmt.Errorf("reading secret key: %w", err)
		if errors.Is(err, fs.ErrNotExist) {
			switch source {
			case "default":
				return nil, withCode(err, exitKey, "give the key with --sk PATH or C4GH_SECRET_KEY, or create one with 'crypt4gh keygen'")
			case envSecretKey:
				return nil, withCode(err, exitKey, "the path comes from C4GH_SECRET_KEY")
			}
		}
		return nil, withCode(err, exitKey)
	}
	defer clear(data)

	if env := a.getenv(envPassphrase); env != "" {
		id, err := crypt4gh.ParseIdentity(data, func() ([]byte, error) { return []byte(env), nil })
		if err != nil {
			err = fmt.Errorf("secret key %s: %w", path, err)
			if errors.Is(err, crypt4gh.ErrIncorrectPassphrase) {
				return nil, withHint(err, "check the passphrase (it was taken from C4GH_PASSPHRASE)")
			}
			return nil, keyHint(err)
		}
		return id, nil
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
		// ParseIdentity returns the prompt's own errors unchanged.
		id, err := crypt4gh.ParseIdentity(data, ask)
		if err == nil {
			return id, nil
		}
		if prompted && errors.Is(err, crypt4gh.ErrIncorrectPassphrase) && attempt < passphraseAttempts {
			fmt.Fprintln(a.stderr, "crypt4gh: incorrect passphrase, try again")
			continue
		}
		err = fmt.Errorf("secret key %s: %w", path, err)
		return nil, keyHint(err)
	}
}

func noPassphrase() error { return errNoPassphrase{} }

// errNoPassphrase is ErrPassphraseRequired with what to do about it.
type errNoPassphrase struct{}

func (errNoPassphrase) Error() string {
	return "the key is encrypted: set C4GH_PASSPHRASE or run on a terminal"
}
func (errNoPassphrase) Unwrap() error { return crypt4gh.ErrPassphraseRequired }

// keyHint adds the hint for a malformed key file.
func keyHint(err error) error {
	if errors.Is(err, crypt4gh.ErrMalformedKey) {
		return withHint(err, "--sk needs a private key: a Crypt4GH key (crypt4gh keygen) or an OpenSSH ed25519 key")
	}
	return err
}

// loadRecipients reads the public key files, dropping duplicate keys
// (the same key under two names), as the Python tool does.
func (a *app) loadRecipients(paths []string) ([]*crypt4gh.X25519Recipient, error) {
	var out []*crypt4gh.X25519Recipient
	for _, p := range paths {
		r, err := loadRecipient(p)
		if err != nil {
			return nil, err
		}
		dup := false
		for _, o := range out {
			if bytes.Equal(o.PublicKey(), r.PublicKey()) {
				dup = true
			}
		}
		if !dup {
			out = append(out, r)
		}
	}
	return out, nil
}

func loadRecipient(path string) (*crypt4gh.X25519Recipient, error) {
	data, err := os.ReadFile(expandHome(path))
	if err != nil {
		return nil, withCode(fmt.Errorf("reading public key: %w", err), exitKey)
	}
	r, err := crypt4gh.ParseRecipient(data)
	if err != nil {
		return nil, withCode(fmt.Errorf("public key %s: %w", path, err), exitKey,
			"public keys are Crypt4GH public key files (.pub from crypt4gh keygen) or 'ssh-ed25519 AAAA…' lines")
	}
	return r, nil
}
