package tsa

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// needOpenSSL returns the path of the openssl binary, skipping the test
// when it is absent (failing instead under C4GH_REQUIRE_SERVICES=1).
func needOpenSSL(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("C4GH_REQUIRE_SERVICES") == "1" {
			t.Fatal("openssl not found and C4GH_REQUIRE_SERVICES=1")
		}
		t.Skip("openssl not found; install the openssl package to run the interop tests")
	}
	return p
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// opensslTSA is a real OpenSSL time-stamping authority: a CA and a TSA
// certificate made with `openssl req`/`openssl x509`, answering queries with
// `openssl ts -reply`.
type opensslTSA struct {
	openssl, dir, config string
	mu                   sync.Mutex
}

func newOpenSSLTSA(t *testing.T, essAlg string) *opensslTSA {
	openssl := needOpenSSL(t)
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run(t, dir, openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", "/CN=OpenSSL Test CA",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	run(t, dir, openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=OpenSSL Test TSA")
	write("tsa.ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=critical,timeStamping\n")
	run(t, dir, openssl, "x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
		"-out", "tsa.crt", "-days", "3650", "-extfile", "tsa.ext")
	write("tsaserial", "01\n")
	write("tsa.cnf", fmt.Sprintf(`[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = %s
serial = $dir/tsaserial
crypto_device = builtin
signer_cert = $dir/tsa.crt
certs = $dir/ca.crt
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.5
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 3
ordering = yes
tsa_name = yes
ess_cert_id_chain = yes
ess_cert_id_alg = %s
`, dir, essAlg))
	return &opensslTSA{openssl: openssl, dir: dir, config: filepath.Join(dir, "tsa.cnf")}
}

// ServeHTTP hands the query to `openssl ts -reply` and returns its reply.
func (o *opensslTSA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock() // openssl keeps its serial in a file
	defer o.mu.Unlock()
	q, err := io.ReadAll(r.Body)
	if err != nil || os.WriteFile(filepath.Join(o.dir, "q.tsq"), q, 0o600) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	cmd := exec.Command(o.openssl, "ts", "-reply", "-config", o.config, "-queryfile", "q.tsq", "-out", "r.tsr")
	cmd.Dir = o.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		http.Error(w, string(out), http.StatusInternalServerError)
		return
	}
	resp, err := os.ReadFile(filepath.Join(o.dir, "r.tsr"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", replyContentType)
	w.Write(resp)
}

func (o *opensslTSA) roots(t *testing.T) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(o.dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("no certificate in ca.crt")
	}
	return pool
}

// TestOpenSSLTSA asks a real OpenSSL TSA, through NewHTTPStamper, for
// tokens with ESS v1 (SHA-1) and v2 (SHA-256) certificate identifiers,
// fractional-second genTimes and a certificate chain, and verifies them.
func TestOpenSSLTSA(t *testing.T) {
	for _, ess := range []string{"sha256", "sha1"} {
		t.Run("ess_"+ess, func(t *testing.T) {
			o := newOpenSSLTSA(t, ess)
			srv := httptest.NewServer(o)
			defer srv.Close()
			digest := sha256.Sum256([]byte("a Merkle root"))
			before := time.Now().Add(-2 * time.Second)
			tok := stamp(t, NewHTTPStamper(srv.URL, srv.Client()), crypto.SHA256, digest[:])
			r := o.roots(t)
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

// TestOpenSSLVerifiesLocalTokens checks that `openssl ts -verify` accepts
// tokens from LocalAuthority, now and (with -attime) in 2071.
func TestOpenSSLVerifiesLocalTokens(t *testing.T) {
	openssl := needOpenSSL(t)
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
		out := run(t, dir, openssl, "ts", "-verify", "-digest", hex.EncodeToString(digest[:]), "-token_in",
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
