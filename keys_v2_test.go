package crypt4gh_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
)

func static(pw string) crypt4gh.PassphraseFunc {
	return func() ([]byte, error) { return []byte(pw), nil }
}

// neverAsked fails the test if the passphrase is requested.
func neverAsked(t *testing.T) crypt4gh.PassphraseFunc {
	return func() ([]byte, error) {
		t.Helper()
		t.Error("passphrase requested")
		return nil, errors.New("unexpected")
	}
}

// kdfCases are the KDFs of the round trips: none and scrypt for every key
// type, bcrypt and pbkdf2 for some.
var kdfCases = []struct {
	kdf    string
	pw     string
	rounds uint32
}{{"none", "", 0}, {"scrypt", "pass", 0}, {"bcrypt", "pass", 2}, {"pbkdf2_hmac_sha256", "pass", 1000}}

func TestHybridKeyFiles(t *testing.T) {
	id := mustHybrid(t)
	for _, c := range kdfCases {
		t.Run(c.kdf, func(t *testing.T) {
			out, err := crypt4gh.MarshalHybridIdentity(id, []byte(c.pw), &crypt4gh.KeyFileOptions{KDF: c.kdf, Rounds: c.rounds, Comment: "hybrid " + c.kdf})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(out, []byte("-----BEGIN CRYPT4GH V2 PRIVATE KEY-----\n")) {
				t.Fatalf("unexpected file %q", out[:40])
			}
			pf := neverAsked(t)
			if c.pw != "" {
				pf = static(c.pw)
			}
			got, err := crypt4gh.ParsePrivateKey(out, pf)
			if err != nil {
				t.Fatal(err)
			}
			hid, ok := got.(*crypt4gh.HybridIdentity)
			if !ok {
				t.Fatalf("ParsePrivateKey returned %T", got)
			}
			if !bytes.Equal(hid.SecretKey(), id.SecretKey()) || hid.Comment != "hybrid "+c.kdf {
				t.Errorf("key or comment %q differs", hid.Comment)
			}
			if c.pw == "" {
				return
			}
			checkPassphraseErrors(t, out, func(data []byte, pf crypt4gh.PassphraseFunc) error {
				_, err := crypt4gh.ParsePrivateKey(data, pf)
				return err
			})
		})
	}

	pubFile := crypt4gh.MarshalHybridRecipient(id.Recipient())
	if !bytes.HasPrefix(pubFile, []byte("-----BEGIN CRYPT4GH V2 PUBLIC KEY-----\n")) {
		t.Fatalf("unexpected public key file %q", pubFile[:40])
	}
	r, err := crypt4gh.ParsePublicKey(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	hr, ok := r.(*crypt4gh.HybridRecipient)
	if !ok || !bytes.Equal(hr.Bytes(), id.PublicKey()) {
		t.Fatalf("ParsePublicKey returned %T", r)
	}
	p, err := hr.SealPacket(dataKeyPacket(4))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := id.OpenPacket(p); err != nil || !bytes.Equal(pt, dataKeyPacket(4)) {
		t.Fatalf("packet sealed for the parsed recipient: %v", err)
	}
}

// checkPassphraseErrors checks an encrypted key (passphrase "pass"): wrong
// → ErrIncorrectPassphrase, nil → ErrPassphraseRequired, and a failing
// passphrase source's error comes back unchanged.
func checkPassphraseErrors(t *testing.T, data []byte, parse func([]byte, crypt4gh.PassphraseFunc) error) {
	t.Helper()
	if err := parse(data, static("wrong")); !errors.Is(err, crypt4gh.ErrIncorrectPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	if err := parse(data, nil); !errors.Is(err, crypt4gh.ErrPassphraseRequired) {
		t.Errorf("nil passphrase: %v", err)
	}
	sentinel := errors.New("no terminal")
	if err := parse(data, func() ([]byte, error) { return nil, sentinel }); err != sentinel {
		t.Errorf("failing passphrase source: %v", err)
	}
}

func TestEd25519KeyFiles(t *testing.T) {
	s, err := crypt4gh.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range kdfCases {
		t.Run(c.kdf, func(t *testing.T) {
			out, err := crypt4gh.MarshalEd25519Signer(s, []byte(c.pw), &crypt4gh.KeyFileOptions{KDF: c.kdf, Rounds: c.rounds, Comment: "signer"})
			if err != nil {
				t.Fatal(err)
			}
			pf := neverAsked(t)
			if c.pw != "" {
				pf = static(c.pw)
			}
			got, err := crypt4gh.ParseEd25519Signer(out, pf)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Seed(), s.Seed()) || got.Comment != "signer" {
				t.Error("key or comment differs")
			}
			if c.pw != "" {
				checkPassphraseErrors(t, out, func(data []byte, pf crypt4gh.PassphraseFunc) error {
					_, err := crypt4gh.ParseEd25519Signer(data, pf)
					return err
				})
			}
		})
	}
	v, err := crypt4gh.ParseEd25519Verifier(crypt4gh.MarshalEd25519Verifier(s.Verifier()))
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := s.Sign([]byte("m"))
	if !bytes.Equal(v.PublicKey(), s.PublicKey()) || !v.Verify([]byte("m"), sig) {
		t.Error("parsed verifier does not verify the signer's signature")
	}
}

// The generic parsers still return the v1 types for v1 and OpenSSH keys.
func TestParseKeyV1Compat(t *testing.T) {
	x, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := crypt4gh.MarshalIdentity(x, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := crypt4gh.ParsePrivateKey(priv, neverAsked(t))
	if xi, ok := id.(*crypt4gh.X25519Identity); err != nil || !ok || !bytes.Equal(xi.SecretKey(), x.SecretKey()) {
		t.Fatalf("v1 private key: %T, %v", id, err)
	}
	r, err := crypt4gh.ParsePublicKey(crypt4gh.MarshalRecipient(x.Recipient()))
	if xr, ok := r.(*crypt4gh.X25519Recipient); err != nil || !ok || !bytes.Equal(xr.PublicKey(), x.PublicKey()) {
		t.Fatalf("v1 public key: %T, %v", r, err)
	}
	// Errors give a nil interface, not a typed nil.
	if r, err := crypt4gh.ParsePublicKey([]byte("garbage")); r != nil || !errors.Is(err, crypt4gh.ErrMalformedKey) {
		t.Errorf("garbage public key: %v, %v", r, err)
	}
	if id, err := crypt4gh.ParsePrivateKey([]byte("garbage"), nil); id != nil || !errors.Is(err, crypt4gh.ErrMalformedKey) {
		t.Errorf("garbage private key: %v, %v", id, err)
	}
}

// Keys of the wrong kind are refused with errors naming both kinds, without
// asking for a passphrase.
func TestKeyKindMismatch(t *testing.T) {
	hid := mustHybrid(t)
	ed, _ := crypt4gh.GenerateEd25519Signer()
	x, _ := crypt4gh.GenerateX25519Identity()
	hybridPriv, _ := crypt4gh.MarshalHybridIdentity(hid, []byte("pw"), &crypt4gh.KeyFileOptions{KDF: "pbkdf2_hmac_sha256", Rounds: 1})
	edPriv, _ := crypt4gh.MarshalEd25519Signer(ed, []byte("pw"), &crypt4gh.KeyFileOptions{KDF: "pbkdf2_hmac_sha256", Rounds: 1})
	x25519Priv, _ := crypt4gh.MarshalIdentity(x, []byte("pw"), &crypt4gh.KeyFileOptions{KDF: "pbkdf2_hmac_sha256", Rounds: 1})
	hybridPub := crypt4gh.MarshalHybridRecipient(hid.Recipient())
	edPub := crypt4gh.MarshalEd25519Verifier(ed.Verifier())
	x25519Pub := crypt4gh.MarshalRecipient(x.Recipient())

	for _, c := range []struct {
		name     string
		err      error
		contains []string
	}{
		{"ed25519 key as identity", func() error { _, err := crypt4gh.ParsePrivateKey(edPriv, neverAsked(t)); return err }(), []string{`"ed25519"`, `"x25519-mlkem1024"`, "signing"}},
		{"hybrid key as signer", func() error { _, err := crypt4gh.ParseEd25519Signer(hybridPriv, neverAsked(t)); return err }(), []string{`"x25519-mlkem1024"`, `"ed25519"`}},
		{"v1 key as signer", func() error { _, err := crypt4gh.ParseEd25519Signer(x25519Priv, neverAsked(t)); return err }(), []string{"c4gh-v1", "signing"}},
		{"ed25519 public as recipient", func() error { _, err := crypt4gh.ParsePublicKey(edPub); return err }(), []string{`"ed25519"`}},
		{"hybrid public as verifier", func() error { _, err := crypt4gh.ParseEd25519Verifier(hybridPub); return err }(), []string{`"x25519-mlkem1024"`}},
		{"v1 public as verifier", func() error { _, err := crypt4gh.ParseEd25519Verifier(x25519Pub); return err }(), []string{"c4gh-v1"}},
		{"public as private", func() error { _, err := crypt4gh.ParsePrivateKey(hybridPub, neverAsked(t)); return err }(), []string{"public key"}},
		{"private as public", func() error { _, err := crypt4gh.ParsePublicKey(hybridPriv); return err }(), []string{"private key"}},
		{"private as verifier", func() error { _, err := crypt4gh.ParseEd25519Verifier(edPriv); return err }(), []string{"private key"}},
		{"public as signer", func() error { _, err := crypt4gh.ParseEd25519Signer(edPub, neverAsked(t)); return err }(), []string{"public key"}},
	} {
		switch {
		case c.err == nil:
			t.Errorf("%s: accepted", c.name)
		case !errors.Is(c.err, crypt4gh.ErrMalformedKey):
			t.Errorf("%s: %v is not ErrMalformedKey", c.name, c.err)
		}
		for _, s := range c.contains {
			if c.err != nil && !strings.Contains(c.err.Error(), s) {
				t.Errorf("%s: error %q does not mention %s", c.name, c.err, s)
			}
		}
	}
}

func sshKeygen(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ssh-keygen is required in CI: %v", err)
		}
		t.Skip("ssh-keygen not found")
	}
	return path
}

// An OpenSSH Ed25519 key made by ssh-keygen is an Ed25519 signer and its
// .pub a verifier of the same key.
func TestOpenSSHEd25519Signer(t *testing.T) {
	keygen := sshKeygen(t)
	for _, pass := range []string{"", "pass"} {
		t.Run(fmt.Sprintf("passphrase %q", pass), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "id_ed25519")
			if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-a", "2", "-N", pass, "-C", "lab@example", "-f", file).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen: %v\n%s", err, out)
			}
			priv, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := os.ReadFile(file + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			pf := neverAsked(t)
			if pass != "" {
				pf = static(pass)
			}
			s, err := crypt4gh.ParseEd25519Signer(priv, pf)
			if err != nil {
				t.Fatal(err)
			}
			v, err := crypt4gh.ParseEd25519Verifier(pub)
			if err != nil {
				t.Fatal(err)
			}
			if s.Comment != "lab@example" || v.Comment != "lab@example" {
				t.Errorf("comments %q, %q", s.Comment, v.Comment)
			}
			other, _ := crypt4gh.GenerateEd25519Signer()
			checkSignerPair(t, signerPair{alg: crypt4gh.SigEd25519, pubSize: 32, sigSize: 64, signer: s, verify: v}, other.Verifier())
			if crypt4gh.KeyID(crypt4gh.SigEd25519, v.PublicKey()) != crypt4gh.KeyID(crypt4gh.SigEd25519, s.PublicKey()) {
				t.Error("key IDs differ")
			}
			if pass != "" {
				checkPassphraseErrors(t, priv, func(data []byte, pf crypt4gh.PassphraseFunc) error {
					_, err := crypt4gh.ParseEd25519Signer(data, pf)
					return err
				})
			}
			// The same files still work as X25519 keys, and ParsePrivateKey
			// and ParsePublicKey treat them so.
			id, err := crypt4gh.ParsePrivateKey(priv, pf)
			if err != nil {
				t.Fatal(err)
			}
			r, err := crypt4gh.ParsePublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			p, err := r.SealPacket([]byte("data key"))
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := id.OpenPacket(p); err != nil || string(pt) != "data key" {
				t.Errorf("X25519 view: %v", err)
			}
			// A v2 key file made from the OpenSSH seed is the same signer.
			v2, err := crypt4gh.MarshalEd25519Signer(s, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			s2, err := crypt4gh.ParseEd25519Signer(v2, nil)
			if err != nil || !bytes.Equal(s2.PublicKey(), v.PublicKey()) {
				t.Errorf("v2 copy of the OpenSSH key: %v", err)
			}
		})
	}
	// Other OpenSSH key types are refused with the type named.
	if _, err := crypt4gh.ParseEd25519Verifier([]byte("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAAQC7 me\n")); !errors.Is(err, crypt4gh.ErrMalformedKey) || !strings.Contains(err.Error(), `"ssh-rsa"`) {
		t.Errorf("ssh-rsa: %v", err)
	}
}
