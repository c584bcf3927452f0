package interop

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/neicnordic/crypt4gh/keys"
)

func passphrase(p string) crypt4gh.PassphraseFunc {
	return func() ([]byte, error) { return []byte(p), nil }
}

// sshKeygen makes an OpenSSH ed25519 key pair with ssh-keygen and returns
// the private and public key files.
func sshKeygen(t *testing.T, pass, comment string) (priv, pub []byte) {
	t.Helper()
	bin, err := exec.LookPath("ssh-keygen")
	if err != nil {
		t.Skip("ssh-keygen not installed (apt-get install openssh-client)")
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	// -a 16 is ssh-keygen's default bcrypt_pbkdf round count; say it so a
	// different default cannot slow the test down.
	cmd := exec.Command(bin, "-q", "-t", "ed25519", "-a", "16", "-N", pass, "-C", comment, "-f", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	priv, err = os.ReadFile(path)
	mustOK(t, "read private key", err)
	pub, err = os.ReadFile(path + ".pub")
	mustOK(t, "read public key", err)
	return priv, pub
}

// OpenSSH ed25519 keys made by ssh-keygen, plain and passphrase-protected
// (aes256-ctr + bcrypt_pbkdf), convert to the same X25519 keys in both
// libraries and work across them in both directions.
func TestSSHKeys(t *testing.T) {
	t.Parallel() // KDFs dominate; let them overlap
	pt := payload(3*65536+99, 600)
	for _, tc := range []struct{ name, pass string }{{"plain", ""}, {"passphrase", "correct horse battery"}} {
		t.Run(tc.name, func(t *testing.T) {
			comment := "interop-" + tc.name + "@test"
			priv, pub := sshKeygen(t, tc.pass, comment)

			var neicPass []byte
			if tc.pass != "" {
				neicPass = []byte(tc.pass)
			}
			nsk, err := keys.ReadPrivateKey(bytes.NewReader(priv), neicPass)
			mustOK(t, "neic ReadPrivateKey", err)
			npk, err := keys.ReadPublicKey(bytes.NewReader(pub))
			mustOK(t, "neic ReadPublicKey", err)
			if keys.DerivePublicKey(nsk) != npk {
				t.Fatal("neic: the ssh public key does not match the private key")
			}

			id, err := crypt4gh.ParseIdentity(priv, passphrase(tc.pass))
			mustOK(t, "ParseIdentity", err)
			rec, err := crypt4gh.ParseRecipient(pub)
			mustOK(t, "ParseRecipient", err)
			if !bytes.Equal(id.SecretKey(), nsk[:]) {
				t.Fatalf("X25519 secret: ours %x, neic %x", id.SecretKey(), nsk)
			}
			if !bytes.Equal(id.PublicKey(), npk[:]) || !bytes.Equal(rec.PublicKey(), npk[:]) {
				t.Fatalf("X25519 public: ours %x (from private) %x (from .pub), neic %x", id.PublicKey(), rec.PublicKey(), npk)
			}
			if id.Comment != comment {
				t.Errorf("comment %q, want %q", id.Comment, comment)
			}

			// Ours encrypts to the .pub we parsed; neic decrypts with the
			// private key it parsed.
			ct := ourEncrypt(t, pt, crypt4gh.EncryptOptions{}, 0, rec)
			got, err := neicDecrypt(ct, nsk)
			mustOK(t, "neic decrypt", err)
			assertSame(t, "neic decrypt with its ssh key", got, pt)

			// neic encrypts to the .pub it parsed; we decrypt with ours.
			ct = neicEncrypt(t, pt, nil, nil, npk)
			got, err = ourDecrypt(ct, id)
			mustOK(t, "Decrypt", err)
			assertSame(t, "Decrypt with our ssh key", got, pt)

			if tc.pass != "" {
				_, err = crypt4gh.ParseIdentity(priv, nil)
				wantErrIs(t, "ParseIdentity without passphrase", err, crypt4gh.ErrPassphraseRequired)
				_, err = crypt4gh.ParseIdentity(priv, passphrase("wrong"))
				wantErrIs(t, "ParseIdentity with a wrong passphrase", err, crypt4gh.ErrIncorrectPassphrase)
				if _, err := keys.ReadPrivateKey(bytes.NewReader(priv), []byte("wrong")); err == nil {
					t.Error("neic opened the ssh key with a wrong passphrase")
				}
			}
		})
	}
}

// Crypt4GH key files we write are read by neic, for every KDF both support.
func TestKeyFilesOursToNeic(t *testing.T) {
	t.Parallel() // KDFs dominate; let them overlap
	kdfs := []struct {
		name, pass string
		opts       crypt4gh.KeyFileOptions
	}{
		{"none", "", crypt4gh.KeyFileOptions{Comment: "plain"}},
		{"scrypt", "pw-scrypt", crypt4gh.KeyFileOptions{KDF: "scrypt", Comment: "scrypt key"}},
		{"bcrypt", "pw-bcrypt", crypt4gh.KeyFileOptions{KDF: "bcrypt", Rounds: 16}},
		{"pbkdf2_hmac_sha256", "pw-pbkdf2", crypt4gh.KeyFileOptions{KDF: "pbkdf2_hmac_sha256", Comment: "pbkdf2"}},
	}
	pt := payload(70000, 601)
	for _, k := range kdfs {
		t.Run(k.name, func(t *testing.T) {
			kp := newKeyPair(t)
			sec, err := crypt4gh.MarshalIdentity(kp.id, []byte(k.pass), &k.opts)
			mustOK(t, "MarshalIdentity", err)
			pub := crypt4gh.MarshalRecipient(kp.id.Recipient())
			if !strings.Contains(string(pub), "CRYPT4GH PUBLIC KEY") {
				t.Fatalf("public key file:\n%s", pub)
			}

			var neicPass []byte
			if k.pass != "" {
				neicPass = []byte(k.pass)
			}
			nsk, err := keys.ReadPrivateKey(bytes.NewReader(sec), neicPass)
			mustOK(t, "neic ReadPrivateKey of our key file", err)
			if nsk != kp.sk {
				t.Fatalf("neic read secret %x, want %x", nsk, kp.sk)
			}
			npk, err := keys.ReadPublicKey(bytes.NewReader(pub))
			mustOK(t, "neic ReadPublicKey of our key file", err)
			if npk != kp.pk {
				t.Fatalf("neic read public %x, want %x", npk, kp.pk)
			}
			if k.pass != "" {
				if _, err := keys.ReadPrivateKey(bytes.NewReader(sec), []byte("wrong")); err == nil {
					t.Error("neic opened our key file with a wrong passphrase")
				}
			}
			// And the keys neic read work: it encrypts to the public key,
			// we decrypt with the identity parsed back from our file.
			id, err := crypt4gh.ParseIdentity(sec, passphrase(k.pass))
			mustOK(t, "ParseIdentity of our own key file", err)
			got, err := ourDecrypt(neicEncrypt(t, pt, nil, nil, npk), id)
			mustOK(t, "Decrypt", err)
			assertSame(t, "Decrypt", got, pt)
		})
	}
}

// Key files neic writes (always scrypt, label CRYPT4GH ENCRYPTED PRIVATE
// KEY) are read by us.
func TestKeyFilesNeicToOurs(t *testing.T) {
	t.Parallel() // KDFs dominate; let them overlap
	npk, nsk, err := keys.GenerateKeyPair()
	mustOK(t, "neic GenerateKeyPair", err)
	var pub bytes.Buffer
	mustOK(t, "neic WriteCrypt4GHX25519PublicKey", keys.WriteCrypt4GHX25519PublicKey(&pub, npk))
	rec, err := crypt4gh.ParseRecipient(pub.Bytes())
	mustOK(t, "ParseRecipient of a neic public key", err)
	if !bytes.Equal(rec.PublicKey(), npk[:]) {
		t.Fatalf("public key %x, want %x", rec.PublicKey(), npk)
	}

	pt := payload(70000, 602)
	for _, pass := range []string{"neic-pass", ""} {
		name := "passphrase"
		if pass == "" {
			name = "empty-passphrase"
		}
		t.Run(name, func(t *testing.T) {
			var sec bytes.Buffer
			mustOK(t, "neic WriteCrypt4GHX25519PrivateKey", keys.WriteCrypt4GHX25519PrivateKey(&sec, nsk, []byte(pass)))
			if !strings.Contains(sec.String(), "CRYPT4GH ENCRYPTED PRIVATE KEY") {
				t.Fatalf("neic key file:\n%s", sec.String())
			}
			// peer: neic always encrypts the key with scrypt, even under an
			// empty passphrase; such a file still asks for a passphrase.
			_, err := crypt4gh.ParseIdentity(sec.Bytes(), nil)
			wantErrIs(t, "ParseIdentity without a passphrase", err, crypt4gh.ErrPassphraseRequired)
			_, err = crypt4gh.ParseIdentity(sec.Bytes(), passphrase("wrong"))
			wantErrIs(t, "ParseIdentity with a wrong passphrase", err, crypt4gh.ErrIncorrectPassphrase)

			id, err := crypt4gh.ParseIdentity(sec.Bytes(), passphrase(pass))
			mustOK(t, "ParseIdentity of a neic key file", err)
			if !bytes.Equal(id.SecretKey(), nsk[:]) {
				t.Fatalf("secret %x, want %x", id.SecretKey(), nsk)
			}
			got, err := neicDecrypt(ourEncrypt(t, pt, crypt4gh.EncryptOptions{}, 0, rec), nsk)
			mustOK(t, "neic decrypt", err)
			assertSame(t, "neic decrypt", got, pt)
			got, err = ourDecrypt(neicEncrypt(t, pt, nil, nil, npk), id)
			mustOK(t, "Decrypt", err)
			assertSame(t, "Decrypt", got, pt)
		})
	}
}
