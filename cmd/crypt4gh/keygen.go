package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/keyfile"
	"github.com/crypt4gh-go/crypt4gh/internal/term"
	"github.com/crypt4gh-go/crypt4gh/signing"
)

func (a *app) cmdKeygen(args []string) error {
	fs := newFlagSet("keygen")
	var (
		force, nocrypt, relock, quiet, pq bool
		pk, sk, comment, kdf, sign        string
	)
	fs.BoolVar(&force, "f", false, "")
	fs.BoolVar(&force, "force", false, "")
	fs.StringVar(&pk, "pk", "", "")
	fs.StringVar(&sk, "sk", "", "")
	fs.BoolVar(&nocrypt, "nocrypt", false, "")
	fs.StringVar(&comment, "C", "", "")
	fs.StringVar(&comment, "comment", "", "")
	fs.StringVar(&kdf, "kdf", "scrypt", "")
	fs.BoolVar(&relock, "relock", false, "")
	fs.BoolVar(&quiet, "q", false, "")
	fs.BoolVar(&quiet, "quiet", false, "")
	fs.BoolVar(&pq, "pq", false, "")
	fs.StringVar(&sign, "sign", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var signAlg uint32
	if sign != "" {
		var ok bool
		if signAlg, ok = signatureAlgorithms[strings.ToLower(sign)]; !ok {
			return usageErrorf("keygen", "unknown --sign %q: want ed25519, mldsa65 or mldsa87", sign)
		}
	}
	if pq && sign != "" {
		return usageErrorf("keygen", "--pq makes an encryption key and --sign a signing key: give one of them")
	}
	if relock && (pq || sign != "") {
		return usageErrorf("keygen", "--relock keeps the key type of the file: drop --pq and --sign")
	}
	switch kdf {
	case "scrypt", "bcrypt", "pbkdf2_hmac_sha256":
	default:
		return usageErrorf("keygen", "unknown --kdf %q: want scrypt, bcrypt or pbkdf2_hmac_sha256", kdf)
	}
	// Defaults as in crypt4gh-keygen, including its environment variables;
	// signing keys have their own.
	if sign != "" {
		sk, pk = cmp.Or(sk, defaultSigningKey), cmp.Or(pk, defaultSigningPublicKey)
	}
	if sk == "" {
		sk = cmp.Or(a.getenv(envSecretKey), defaultSecretKey)
	}
	if pk == "" {
		pk = cmp.Or(a.getenv(envPublicKey), defaultPublicKey)
	}
	opts := &crypt4gh.KeyFileOptions{KDF: kdf, Comment: comment}
	if relock {
		return a.relock(sk, nocrypt, comment != "", opts, quiet)
	}
	skPath, pkPath := expandHome(sk), expandHome(pk)
	if skPath == pkPath {
		return usageErrorf("keygen", "--sk and --pk are the same file")
	}

	for _, p := range []string{skPath, pkPath} {
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if force {
			continue
		}
		if a.noTTY || !term.Available() {
			return withCode(fmt.Errorf("%s already exists", p), exitError, "use -f to overwrite it")
		}
		ok, err := term.Confirm(fmt.Sprintf("%s already exists. Overwrite it? (y/n) ", p))
		if err != nil {
			return err
		}
		if !ok {
			return withCode(fmt.Errorf("not overwriting %s", p), exitError)
		}
	}

	var passphrase []byte
	if !nocrypt {
		var err error
		if passphrase, err = a.newPassphrase(sk); err != nil {
			return err
		}
		defer clear(passphrase)
	}

	skData, pkData, err := generateKey(pq, signAlg, passphrase, opts)
	if err != nil {
		return err
	}
	defer clear(skData)

	for _, p := range []string{skPath, pkPath} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
	}
	if err := writeFileAtomic(skPath, skData, 0o600, true); err != nil {
		return err
	}
	if err := writeFileAtomic(pkPath, pkData, 0o666, false); err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(a.stderr, "crypt4gh: private key saved in %s\n", skPath)
		fmt.Fprintf(a.stderr, "crypt4gh: public key saved in %s\n", pkPath)
		if len(passphrase) == 0 && !nocrypt {
			fmt.Fprintln(a.stderr, "crypt4gh: warning: the passphrase is empty: the private key is not encrypted")
		}
	}
	return nil
}

// signatureAlgorithms are the values of keygen --sign.
var signatureAlgorithms = map[string]uint32{
	"ed25519": crypt4gh.SigEd25519,
	"mldsa65": crypt4gh.SigMLDSA65,
	"mldsa87": crypt4gh.SigMLDSA87,
}

const (
	defaultSigningKey       = "~/.c4gh/sign"
	defaultSigningPublicKey = "~/.c4gh/sign.pub"
)

// generateKey makes a key pair and returns its private and public key
// files: a classical X25519 key, a hybrid post-quantum key (pq) or a
// signing key (signAlg != 0).
func generateKey(pq bool, signAlg uint32, passphrase []byte, opts *crypt4gh.KeyFileOptions) (sk, pk []byte, err error) {
	switch {
	case signAlg != 0:
		s, err := signing.GenerateSigner(signAlg)
		if err != nil {
			return nil, nil, err
		}
		defer zeroSigners([]crypt4gh.Signer{s})
		if sk, err = signing.MarshalSigner(s, passphrase, opts); err != nil {
			return nil, nil, err
		}
		v, err := signing.NewVerifier(signAlg, s.PublicKey())
		if err != nil {
			return nil, nil, err
		}
		pk, err = signing.MarshalVerifier(v)
		return sk, pk, err
	case pq:
		id, err := crypt4gh.GenerateHybridIdentity()
		if err != nil {
			return nil, nil, err
		}
		defer id.Zero()
		if sk, err = crypt4gh.MarshalHybridIdentity(id, passphrase, opts); err != nil {
			return nil, nil, err
		}
		return sk, crypt4gh.MarshalHybridRecipient(id.Recipient()), nil
	}
	id, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		return nil, nil, err
	}
	defer id.Zero()
	if sk, err = crypt4gh.MarshalIdentity(id, passphrase, opts); err != nil {
		return nil, nil, err
	}
	return sk, crypt4gh.MarshalRecipient(id.Recipient()), nil
}

// relock rewrites the private key at sk under a new passphrase (or none
// with --nocrypt), as crypt4gh-keygen --relock does. Any private key
// type works: Crypt4GH (an OpenSSH key is rewritten as a Crypt4GH key),
// hybrid and signing keys.
func (a *app) relock(sk string, nocrypt, newComment bool, opts *crypt4gh.KeyFileOptions, quiet bool) error {
	// marshal writes the key under a passphrase; comment is the key's.
	var marshal func(passphrase []byte) ([]byte, error)
	var comment string
	if isSigningKeyFile(sk) {
		signers, err := a.loadSigners([]string{sk})
		if err != nil {
			return err
		}
		defer zeroSigners(signers)
		s := signers[0]
		switch s := s.(type) {
		case *crypt4gh.Ed25519Signer:
			comment = s.Comment
		case *signing.MLDSASigner:
			comment = s.Comment
		}
		marshal = func(p []byte) ([]byte, error) { return signing.MarshalSigner(s, p, opts) }
	} else {
		id, err := a.loadIdentity(sk, "--sk")
		if err != nil {
			return err
		}
		defer zeroIdentity(id)
		switch id := id.(type) {
		case *crypt4gh.X25519Identity:
			comment = id.Comment
			marshal = func(p []byte) ([]byte, error) { return crypt4gh.MarshalIdentity(id, p, opts) }
		case *crypt4gh.HybridIdentity:
			comment = id.Comment
			marshal = func(p []byte) ([]byte, error) { return crypt4gh.MarshalHybridIdentity(id, p, opts) }
		default:
			return fmt.Errorf("cannot relock a %T key", id)
		}
	}
	if !newComment {
		opts.Comment = comment
	}
	var passphrase []byte
	if !nocrypt {
		if a.noTTY || !term.Available() {
			return withCode(errors.New("--relock asks for the new passphrase on the terminal, and there is none"), exitError,
				"use --nocrypt to remove the passphrase")
		}
		var err error
		if passphrase, err = a.promptTwice(sk, "new "); err != nil {
			return err
		}
		defer clear(passphrase)
	}
	data, err := marshal(passphrase)
	if err != nil {
		return err
	}
	defer clear(data)
	if err := writeFileAtomic(expandHome(sk), data, 0o600, true); err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(a.stderr, "crypt4gh: private key relocked in %s\n", expandHome(sk))
	}
	return nil
}

// isSigningKeyFile reports whether path holds a version 2 signing key.
func isSigningKeyFile(path string) bool {
	data, err := os.ReadFile(expandHome(path))
	if err != nil || !keyfile.IsV2PrivateKey(data) {
		return false
	}
	t, err := keyfile.V2PrivateKeyType(data)
	return err == nil && t != keyfile.KeyTypeX25519MLKEM1024
}

// newPassphrase returns the passphrase for a new key: $C4GH_PASSPHRASE,
// else typed twice on the terminal. It is never taken from the command
// line.
func (a *app) newPassphrase(sk string) ([]byte, error) {
	if env := a.getenv(envPassphrase); env != "" {
		return []byte(env), nil
	}
	if a.noTTY || !term.Available() {
		return nil, withCode(errors.New("no passphrase for the new private key"), exitError,
			"set C4GH_PASSPHRASE, run on a terminal, or use --nocrypt for an unencrypted key")
	}
	return a.promptTwice(sk, "")
}

func (a *app) promptTwice(sk, adj string) ([]byte, error) {
	p1, err := term.ReadPassphrase(fmt.Sprintf("Enter %spassphrase for %s (empty for no passphrase): ", adj, sk))
	if err != nil {
		return nil, err
	}
	p2, err := term.ReadPassphrase(fmt.Sprintf("Enter %spassphrase for %s (again): ", adj, sk))
	if err != nil {
		clear(p1)
		return nil, err
	}
	defer clear(p2)
	if !bytes.Equal(p1, p2) {
		clear(p1)
		return nil, withCode(errors.New("the passphrases do not match"), exitError)
	}
	return p1, nil
}

// writeFileAtomic writes data to a temporary file next to path, syncs it
// and renames it over path. With exact, the mode is set to perm whatever
// the umask (private keys are always 0600).
func writeFileAtomic(path string, data []byte, perm os.FileMode, exact bool) error {
	f, tmp, err := createTemp(path, perm)
	if err != nil {
		return err
	}
	o := &output{w: f, f: f, tmp: tmp, final: path}
	defer o.abort()
	if exact {
		if err := f.Chmod(perm); err != nil {
			return err
		}
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return o.commit()
}
