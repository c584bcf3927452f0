package tsa

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh/integrity/tsa/tsatest"
)

// TestOpenSSLTSA asks a real OpenSSL TSA, through NewHTTPStamper, for
// tokens with ESS v1 (SHA-1) and v2 (SHA-256) certificate identifiers,
// fractional-second genTimes and a certificate chain, and verifies them.
func TestOpenSSLTSA(t *testing.T) {
	for _, ess := range []string{"sha256", "sha1"} {
		t.Run("ess_"+ess, func(t *testing.T) {
			o := tsatest.NewOpenSSL(t, ess)
			srv := httptest.NewServer(o)
			defer srv.Close()
			digest := sha256.Sum256([]byte("a Merkle root"))
			before := time.Now().Add(-2 * time.Second)
			tok := stamp(t, NewHTTPStamper(srv.URL, srv.Client()), crypto.SHA256, digest[:])
			r := o.Roots(t)
			v, err := Verify(tok, crypto.SHA256, digest[:], r)
			if err != nil {
				t.Fatal(err)
			}
			if v.Time.Before(before) || v.Time.After(time.Now().Add(2*time.Second)) {
				t.Errorf("genTime %s is not now", v.Time)
			}
			if v.Policy.String() != "1.2.3.4.1" || v.Accuracy != 1500*time.Millisecond+100*time.Microsecond {
				t.Errorf("policy %s accuracy %v", v.Policy, v.Accuracy)
			}
			if v.Signer.Subject.CommonName != "OpenSSL Test TSA" {
				t.Errorf("signer %s", v.Signer.Subject)
			}
			other := sha256.Sum256([]byte("another root"))
			if _, err := Verify(tok, crypto.SHA256, other[:], r); !errors.Is(err, ErrImprintMismatch) {
				t.Errorf("other digest: got %v", err)
			}
			if _, err := Verify(flipSignature(t, tok), crypto.SHA256, digest[:], r); !errors.Is(err, ErrSignature) {
				t.Errorf("flipped signature: got %v", err)
			}
		})
	}
}

// TestOpenSSLTSASHA3 asks a real OpenSSL TSA for tokens over SHA3-256 and
// SHA3-512 imprints (what a SHA3-256 integrity tree needs) and verifies
// them; the local authority refuses such requests by name.
func TestOpenSSLTSASHA3(t *testing.T) {
	o := tsatest.NewOpenSSL(t, "sha256")
	srv := httptest.NewServer(o)
	defer srv.Close()
	for _, h := range []crypto.Hash{crypto.SHA3_256, crypto.SHA3_512} {
		hh := h.New()
		hh.Write([]byte("a SHA-3 Merkle root"))
		digest := hh.Sum(nil)
		tok := stamp(t, NewHTTPStamper(srv.URL, srv.Client()), h, digest)
		v, err := Verify(tok, h, digest, o.Roots(t))
		if err != nil {
			t.Fatalf("%v: %v", h, err)
		}
		if v.Hash != h {
			t.Errorf("token imprint hash %v, want %v", v.Hash, h)
		}
		other := append([]byte(nil), digest...)
		other[0] ^= 1
		if _, err := Verify(tok, h, other, o.Roots(t)); !errors.Is(err, ErrImprintMismatch) {
			t.Errorf("%v, other digest: got %v", h, err)
		}
		if _, err := Verify(tok, crypto.SHA256, digest[:32], o.Roots(t)); !errors.Is(err, ErrImprintMismatch) {
			t.Errorf("%v token checked as SHA-256: got %v", h, err)
		}
		a := newAuthority(t, nil)
		if _, err := a.At(time.Now()).Stamp(context.Background(), h, digest); !errors.Is(err, ErrUnsupported) {
			t.Errorf("local authority, %v: got %v, want ErrUnsupported", h, err)
		}
	}
}

// TestOpenSSLVerifiesLocalTokens checks that `openssl ts -verify` accepts
// tokens from LocalAuthority, now and (with -attime) in 2071.
func TestOpenSSLVerifiesLocalTokens(t *testing.T) {
	openssl := tsatest.NeedOpenSSL(t)
	dir := t.TempDir()
	a := newAuthority(t, nil)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Root().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("genome root"))
	for _, at := range []time.Time{time.Now(), time.Date(2071, 6, 1, 0, 0, 0, 0, time.UTC)} {
		tok := stamp(t, a.At(at), crypto.SHA256, digest[:])
		if err := os.WriteFile(filepath.Join(dir, "token.der"), tok, 0o600); err != nil {
			t.Fatal(err)
		}
		out := tsatest.Run(t, dir, openssl, "ts", "-verify", "-digest", hex.EncodeToString(digest[:]), "-token_in",
			"-in", "token.der", "-CAfile", "ca.pem", "-attime", fmt.Sprint(at.Unix()))
		if !strings.Contains(out, "Verification: OK") {
			t.Fatalf("openssl ts -verify at %s: %s", at, out)
		}
		// And OpenSSL must refuse it for another digest, so the check above
		// is not vacuous.
		wrong := sha256.Sum256([]byte("other"))
		cmd := exec.Command(openssl, "ts", "-verify", "-digest", hex.EncodeToString(wrong[:]), "-token_in",
			"-in", "token.der", "-CAfile", "ca.pem", "-attime", fmt.Sprint(at.Unix()))
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err == nil || strings.Contains(string(out), "Verification: OK") {
			t.Fatalf("openssl accepted a wrong digest: %s", out)
		}
	}
}
