// Package tsatest runs a real RFC 3161 time-stamping authority, OpenSSL's
// `openssl ts -reply`, behind an http.Handler, for tests of this module
// that need tokens from an implementation other than our own.
package tsatest

import (
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// NeedOpenSSL returns the path of the openssl binary, skipping the test
// when it is absent (failing instead under C4GH_REQUIRE_SERVICES=1).
func NeedOpenSSL(t testing.TB) string {
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

// Run runs a command in dir and returns its combined output, failing
// the test if it fails.
func Run(t testing.TB, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// OpenSSL is a real OpenSSL time-stamping authority: a CA and a TSA
// certificate made with `openssl req`/`openssl x509`, answering queries with
// `openssl ts -reply`.
type OpenSSL struct {
	openssl, dir, config string
	mu                   sync.Mutex
}

// NewOpenSSL sets up an OpenSSL TSA in a temporary directory. essAlg is
// the hash of its ESS certificate identifiers ("sha1" for the v1
// attribute, "sha256" for v2). It accepts SHA-2 and SHA-3 imprints.
func NewOpenSSL(t testing.TB, essAlg string) *OpenSSL {
	t.Helper()
	openssl := NeedOpenSSL(t)
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	Run(t, dir, openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", "/CN=OpenSSL Test CA",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	Run(t, dir, openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=OpenSSL Test TSA")
	write("tsa.ext", "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\nextendedKeyUsage=critical,timeStamping\n")
	Run(t, dir, openssl, "x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
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
digests = sha256, sha384, sha512, sha3-256, sha3-512
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 3
ordering = yes
tsa_name = yes
ess_cert_id_chain = yes
ess_cert_id_alg = %s
`, dir, essAlg))
	return &OpenSSL{openssl: openssl, dir: dir, config: filepath.Join(dir, "tsa.cnf")}
}

// ServeHTTP hands the query to `openssl ts -reply` and returns its reply.
func (o *OpenSSL) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(resp)
}

// Roots returns a pool holding the TSA's root certificate.
func (o *OpenSSL) Roots(t testing.TB) *x509.CertPool {
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
