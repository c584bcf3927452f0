package crypt4gh_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"golang.org/x/crypto/curve25519"
)

// localAgreement is a KeyAgreement over an in-memory secret, standing in
// for the arithmetic an HSM does; the PKCS#11 one is tested in its package.
type localAgreement struct {
	secret []byte
	fail   error
	calls  int
}

func (l *localAgreement) PublicKey() []byte {
	pub, _ := curve25519.X25519(l.secret, curve25519.Basepoint)
	return pub
}

func (l *localAgreement) X25519(peer []byte) ([]byte, error) {
	l.calls++
	if l.fail != nil {
		return nil, l.fail
	}
	return curve25519.X25519(l.secret, peer)
}

func TestKeyAgreementIdentity(t *testing.T) {
	id, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := crypt4gh.GenerateX25519Identity()
	plain := bytes.Repeat([]byte("agreement "), 9000)
	var enc bytes.Buffer
	w, err := crypt4gh.Encrypt(&enc, other.Recipient(), id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	decrypt := func(id crypt4gh.Identity) ([]byte, error) {
		r, err := crypt4gh.Decrypt(bytes.NewReader(enc.Bytes()), id)
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	}

	ka := &localAgreement{secret: id.SecretKey()}
	kid, err := crypt4gh.NewKeyAgreementIdentity(ka)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decrypt(kid)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, plain) {
		t.Fatal("plaintext differs")
	}
	if ka.calls == 0 {
		t.Fatal("the key agreement was never used")
	}

	// A failing token is reported as such, not as "no matching key".
	tokenGone := errors.New("token removed")
	ka.fail = tokenGone
	_, err = decrypt(kid)
	if !errors.Is(err, tokenGone) {
		t.Fatalf("err = %v, want the agreement's own error", err)
	}

	// A key the packets are not for is ErrNoMatchingKey.
	stranger, _ := crypt4gh.GenerateX25519Identity()
	skid, _ := crypt4gh.NewKeyAgreementIdentity(&localAgreement{secret: stranger.SecretKey()})
	if _, err := decrypt(skid); !errors.Is(err, crypt4gh.ErrNoMatchingKey) {
		t.Fatalf("err = %v, want ErrNoMatchingKey", err)
	}
}

func TestKeyAgreementIdentityBadPublicKey(t *testing.T) {
	if _, err := crypt4gh.NewKeyAgreementIdentity(badPub{}); !errors.Is(err, crypt4gh.ErrMalformedKey) {
		t.Fatalf("err = %v, want ErrMalformedKey", err)
	}
}

type badPub struct{}

func (badPub) PublicKey() []byte                  { return make([]byte, 31) }
func (badPub) X25519(peer []byte) ([]byte, error) { return nil, nil }
