package sshkey

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"testing"
)

// ParseEd25519PrivateKey and ParseEd25519PublicKey return the Ed25519 key
// itself: signatures made with the seed verify under the .pub key, and the
// X25519 conversion of ParsePrivateKey still derives from the same seed.
func TestEd25519Keys(t *testing.T) {
	keygen := sshKeygen(t)
	for _, c := range []struct{ cipher, pass string }{{"", ""}, {"aes256-ctr", "pw"}, {"chacha20-poly1305@openssh.com", "pw"}} {
		t.Run(c.cipher+"/"+c.pass, func(t *testing.T) {
			priv, pub := genKey(t, keygen, c.cipher, c.pass, "signer@example")
			seed, comment, err := ParseEd25519PrivateKey(priv, staticPassphrase(c.pass))
			if err != nil {
				t.Fatal(err)
			}
			edPub, pubComment, err := ParseEd25519PublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			if comment != "signer@example" || pubComment != comment {
				t.Errorf("comments %q, %q", comment, pubComment)
			}
			sk := ed25519.NewKeyFromSeed(seed[:])
			if !bytes.Equal(sk.Public().(ed25519.PublicKey), edPub[:]) {
				t.Fatalf("public key from seed %x, from .pub %x", sk.Public(), edPub)
			}
			msg := []byte("message")
			if !ed25519.Verify(edPub[:], msg, ed25519.Sign(sk, msg)) {
				t.Error("signature does not verify")
			}
			// The X25519 view of the same files agrees.
			xsec, _, err := ParsePrivateKey(priv, staticPassphrase(c.pass))
			if err != nil {
				t.Fatal(err)
			}
			xpub, _, err := ParsePublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			if x25519Public(t, xsec) != xpub {
				t.Error("X25519 conversion disagrees")
			}
			if c.pass != "" {
				if _, _, err := ParseEd25519PrivateKey(priv, staticPassphrase("wrong")); !errors.Is(err, ErrIncorrectPassphrase) {
					t.Errorf("wrong passphrase: %v", err)
				}
				if _, _, err := ParseEd25519PrivateKey(priv, nil); !errors.Is(err, ErrPassphraseRequired) {
					t.Errorf("nil passphrase: %v", err)
				}
			}
		})
	}
}

func TestEd25519PublicKeyRejects(t *testing.T) {
	// A y coordinate with no x on the curve.
	var notOnCurve []byte
	for y := byte(2); notOnCurve == nil; y++ {
		enc := make([]byte, 32)
		enc[0] = y
		if _, _, err := decodeEdwards(enc); err != nil {
			notOnCurve = enc
		}
	}
	offCurve := "ssh-ed25519 " + base64.StdEncoding.EncodeToString(putStr(putStr(nil, []byte(keyTypeEd)), notOnCurve)) + " x"
	for name, data := range map[string][]byte{
		"not on the curve": []byte(offCurve),
		"not a key":        []byte("hello"),
		"rsa":              []byte("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDx user"),
		"short blob":       []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAAQA= x"),
	} {
		if _, _, err := ParseEd25519PublicKey(data); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
