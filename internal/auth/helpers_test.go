package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// t0 is the fixed "now" of the tests.
var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// testKeys are generated once: RSA key generation is slow.
var testKeys = sync.OnceValue(func() (k struct {
	es, esOther *ecdsa.PrivateKey
	rs          *rsa.PrivateKey
	ed          ed25519.PrivateKey
}) {
	var err error
	if k.es, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if k.esOther, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if k.rs, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	return k
})

// testIssuer is a token issuer whose JWKS is served by a real HTTP server.
type testIssuer struct {
	iss  string
	jku  string
	srv  *httptest.Server
	hits atomic.Int32
	down atomic.Bool
	jwks atomic.Pointer[[]byte]
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	ti := &testIssuer{}
	ti.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ti.hits.Add(1)
		if ti.down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(*ti.jwks.Load())
	}))
	t.Cleanup(ti.srv.Close)
	ti.iss = ti.srv.URL
	ti.jku = ti.srv.URL + "/jwks.json"
	k := testKeys()
	ti.setKeys(t, map[string]crypto.PublicKey{
		"es": &k.es.PublicKey,
		"rs": &k.rs.PublicKey,
		"ed": k.ed.Public(),
	})
	return ti
}

// setKeys replaces the JWKS the server publishes.
func (ti *testIssuer) setKeys(t *testing.T, keys map[string]crypto.PublicKey) {
	t.Helper()
	var set struct {
		Keys []jwk `json:"keys"`
	}
	for kid, pub := range keys {
		set.Keys = append(set.Keys, toJWK(t, kid, pub))
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	ti.jwks.Store(&b)
}

func toJWK(t *testing.T, kid string, pub crypto.PublicKey) jwk {
	t.Helper()
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		b, err := pub.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return jwk{Kty: "EC", Kid: kid, Crv: "P-256", X: b64url(b[1:33]), Y: b64url(b[33:])}
	case *rsa.PublicKey:
		return jwk{Kty: "RSA", Kid: kid, N: b64url(pub.N.Bytes()), E: b64url(big.NewInt(int64(pub.E)).Bytes())}
	case ed25519.PublicKey:
		return jwk{Kty: "OKP", Kid: kid, Crv: "Ed25519", X: b64url(pub)}
	}
	t.Fatalf("unsupported key %T", pub)
	return jwk{}
}

func (ti *testIssuer) trusted() TrustedIssuer { return TrustedIssuer{Issuer: ti.iss, JKU: ti.jku} }

// clock is a settable time source.
type clock struct{ now atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.now.Store(&t) }
func (c *clock) Now() time.Time   { return *c.now.Load() }

func newVerifier(t *testing.T, c *clock, cfg Config) *Verifier {
	t.Helper()
	cfg.Now = c.Now
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// tok describes a JWT to sign. Zero fields get working defaults.
type tok struct {
	alg    string // ES256 (default), RS256, EdDSA, none, HS256
	kid    string // default: the key's kid for alg
	key    any    // default: the issuer's key for alg
	header map[string]any
	claims map[string]any
	noJKU  bool
}

func (ti *testIssuer) sign(t *testing.T, d tok) string {
	t.Helper()
	k := testKeys()
	if d.alg == "" {
		d.alg = "ES256"
	}
	var method jwt.SigningMethod
	var key any
	kid := ""
	switch d.alg {
	case "ES256":
		method, key, kid = jwt.SigningMethodES256, k.es, "es"
	case "RS256":
		method, key, kid = jwt.SigningMethodRS256, k.rs, "rs"
	case "EdDSA":
		method, key, kid = jwt.SigningMethodEdDSA, k.ed, "ed"
	case "none":
		method, key = jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType
	case "HS256":
		method = jwt.SigningMethodHS256
	default:
		t.Fatalf("alg %s", d.alg)
	}
	if d.key != nil {
		key = d.key
	}
	if d.kid != "" {
		kid = d.kid
	}
	jt := jwt.NewWithClaims(method, jwt.MapClaims(d.claims))
	jt.Header["kid"] = kid
	if !d.noJKU {
		jt.Header["jku"] = ti.jku
	}
	for h, v := range d.header {
		if v == nil {
			delete(jt.Header, h)
		} else {
			jt.Header[h] = v
		}
	}
	s, err := jt.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// visaClaims returns valid ControlledAccessGrants visa claims for dataset;
// mod may adjust them.
func (ti *testIssuer) visaClaims(dataset string, exp time.Time) map[string]any {
	return map[string]any{
		"iss": ti.iss,
		"sub": "visa-subject",
		"iat": t0.Add(-time.Hour).Unix(),
		"exp": exp.Unix(),
		"jti": "v1",
		"ga4gh_visa_v1": map[string]any{
			"type":     "ControlledAccessGrants",
			"asserted": t0.Add(-24 * time.Hour).Unix(),
			"value":    dataset,
			"source":   "https://dac.example.org/dacs/1",
			"by":       "dac",
		},
	}
}

func (ti *testIssuer) visa(t *testing.T, dataset string, exp time.Time) string {
	return ti.sign(t, tok{claims: ti.visaClaims(dataset, exp), header: map[string]any{"typ": "vnd.ga4gh.visa+jwt"}})
}

func (ti *testIssuer) passportClaims(exp time.Time, visas ...string) map[string]any {
	if visas == nil {
		visas = []string{}
	}
	return map[string]any{
		"iss":               ti.iss,
		"sub":               "alice",
		"iat":               t0.Add(-time.Minute).Unix(),
		"exp":               exp.Unix(),
		"ga4gh_passport_v1": visas,
	}
}

func (ti *testIssuer) passport(t *testing.T, exp time.Time, visas ...string) string {
	return ti.sign(t, tok{claims: ti.passportClaims(exp, visas...), header: map[string]any{"typ": "vnd.ga4gh.passport+jwt"}})
}

// withVisa returns claims with the visa object modified by f.
func withVisa(c map[string]any, f func(v map[string]any)) map[string]any {
	f(c["ga4gh_visa_v1"].(map[string]any))
	return c
}

// authErr asserts err is an *Error and returns it.
func authErr(t *testing.T, err error) *Error {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
	}
	return ae
}

// assertNoLeak checks an error mentions no credential presented.
func assertNoLeak(t *testing.T, err error, creds ...string) {
	t.Helper()
	msg := err.Error()
	for _, c := range creds {
		if c == "" {
			continue
		}
		parts := strings.Split(c, ".")
		for _, p := range append(parts, c) {
			if len(p) >= 16 && strings.Contains(msg, p) {
				t.Errorf("error %q contains credential text", msg)
			}
		}
	}
}

var bg = context.Background()
