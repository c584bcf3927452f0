package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestJWKSCaching(t *testing.T) {
	iss := newTestIssuer(t)
	clk := newClock(t0)
	v := newVerifier(t, clk, Config{Issuers: []TrustedIssuer{iss.trusted()}, JWKSCacheTTL: 5 * time.Minute})
	exp := t0.Add(24 * time.Hour)
	good := iss.visa(t, "A", exp)
	auth := func() error { _, err := v.Authenticate(bg, good, nil); return err }

	steps := []struct {
		advance time.Duration
		hits    int32
	}{
		{0, 1},               // first use fetches
		{time.Minute, 1},     // cached
		{4 * time.Minute, 2}, // 5m old: stale, refetched
		{time.Minute, 2},     // cached again
	}
	for i, s := range steps {
		clk.set(clk.Now().Add(s.advance))
		if err := auth(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if n := iss.hits.Load(); n != s.hits {
			t.Fatalf("step %d: %d fetches, want %d", i, n, s.hits)
		}
	}
}

func TestJWKSUnknownKidRefetchesOncePerMinute(t *testing.T) {
	iss := newTestIssuer(t)
	clk := newClock(t0)
	v := newVerifier(t, clk, Config{Issuers: []TrustedIssuer{iss.trusted()}})
	exp := t0.Add(24 * time.Hour)
	k := testKeys()
	unknown := iss.sign(t, tok{kid: "rotated", claims: iss.visaClaims("A", exp)})
	known := iss.visa(t, "A", exp)

	if _, err := v.Authenticate(bg, known, nil); err != nil {
		t.Fatal(err)
	}
	check := func(step string, token string, wantHits int32, wantReason string) {
		t.Helper()
		_, err := v.Authenticate(bg, token, nil)
		if wantReason == "" && err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if wantReason != "" {
			if ae := authErr(t, err); ae.Reason != wantReason || ae.Status != http.StatusUnauthorized {
				t.Fatalf("%s: got %v, want %q", step, err, wantReason)
			}
		}
		if n := iss.hits.Load(); n != wantHits {
			t.Fatalf("%s: %d fetches, want %d", step, n, wantHits)
		}
	}
	clk.set(t0.Add(2 * time.Minute))
	check("unknown kid refetches once", unknown, 2, "unknown signing key")
	check("then fails without fetching", unknown, 2, "unknown signing key")
	check("known kids still work", known, 2, "")

	// The issuer rotates in the key; after a minute the kid miss refetches.
	iss.setKeys(t, map[string]crypto.PublicKey{"rotated": &k.es.PublicKey})
	clk.set(t0.Add(2*time.Minute + 30*time.Second))
	check("still rate limited", unknown, 2, "unknown signing key")
	clk.set(t0.Add(3*time.Minute + time.Second))
	check("refetch finds the rotated key", unknown, 3, "")
}

func TestJWKSServerDown(t *testing.T) {
	iss := newTestIssuer(t)
	iss.down.Store(true)
	clk := newClock(t0)
	v := newVerifier(t, clk, Config{Issuers: []TrustedIssuer{iss.trusted()}})
	tokn := iss.visa(t, "A", t0.Add(time.Hour))
	for i, wantHits := range []int32{1, 1} { // the second attempt is backed off
		_, err := v.Authenticate(bg, tokn, nil)
		ae := authErr(t, err)
		if ae.Status != http.StatusServiceUnavailable || ae.Reason != "issuer keys unavailable" {
			t.Fatalf("attempt %d: got %v", i, err)
		}
		if n := iss.hits.Load(); n != wantHits {
			t.Fatalf("attempt %d: %d fetches, want %d", i, n, wantHits)
		}
		assertNoLeak(t, err, tokn)
	}
	iss.down.Store(false)
	clk.set(t0.Add(failureBackoff))
	if _, err := v.Authenticate(bg, tokn, nil); err != nil {
		t.Fatalf("after recovery: %v", err)
	}

	// A server that is not listening at all.
	addr := iss.srv.URL
	iss.srv.Close()
	v = newVerifier(t, clk, Config{Issuers: []TrustedIssuer{{Issuer: iss.iss, JKU: addr + "/jwks.json"}}})
	_, err := v.Authenticate(bg, tokn, nil)
	if ae := authErr(t, err); ae.Status != http.StatusServiceUnavailable {
		t.Fatalf("closed server: %v", err)
	}
}

func TestJWKSBadResponses(t *testing.T) {
	k := testKeys()
	goodSet, _ := json.Marshal(map[string]any{"keys": []jwk{toJWK(t, "es", &k.es.PublicKey)}})
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"redirect is not followed", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/elsewhere" {
				w.Write(goodSet)
				return
			}
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"keys":[],"pad":"`))
			w.Write([]byte(strings.Repeat("x", maxJWKSSize)))
			w.Write([]byte(`"}`))
		}},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }},
		{"no keys member", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }},
		{"404", http.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			iss := &testIssuer{iss: "https://issuer.example.org", jku: srv.URL + "/jwks.json"}
			v := newVerifier(t, newClock(t0), Config{Issuers: []TrustedIssuer{iss.trusted()}})
			_, err := v.Authenticate(bg, iss.visa(t, "A", t0.Add(time.Hour)), nil)
			if ae := authErr(t, err); ae.Status != http.StatusServiceUnavailable || ae.Reason != "issuer keys unavailable" {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestJWKSConcurrentFirstUse(t *testing.T) {
	iss := newTestIssuer(t)
	v := newVerifier(t, newClock(t0), Config{Issuers: []TrustedIssuer{iss.trusted()}})
	tokn := iss.visa(t, "A", t0.Add(time.Hour))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := v.Authenticate(bg, tokn, nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := iss.hits.Load(); n != 1 {
		t.Errorf("%d fetches for concurrent first use, want 1", n)
	}
}

func TestParseJWK(t *testing.T) {
	k := testKeys()
	es := toJWK(t, "es", &k.es.PublicKey)
	rs := toJWK(t, "rs", &k.rs.PublicKey)
	ed := toJWK(t, "ed", k.ed.Public())
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(j jwk, f func(*jwk)) jwk { f(&j); return j }

	tests := []struct {
		name string
		key  any
		alg  string // "" when the key must be skipped; "error" when it must fail
	}{
		{"EC P-256", es, "ES256"},
		{"RSA", rs, "RS256"},
		{"Ed25519", ed, "EdDSA"},
		{"EC with alg", mod(es, func(j *jwk) { j.Alg = "ES256" }), "ES256"},
		{"padded base64", mod(es, func(j *jwk) { j.X += "=" }), "ES256"},
		{"encryption key", mod(es, func(j *jwk) { j.Use = "enc" }), ""},
		{"EC key for another alg", mod(es, func(j *jwk) { j.Alg = "ES384" }), ""},
		{"RSA key for PS256", mod(rs, func(j *jwk) { j.Alg = "PS256" }), ""},
		{"symmetric key", map[string]any{"kty": "oct", "k": "c2VjcmV0"}, ""},
		{"P-384", map[string]any{"kty": "EC", "crv": "P-384", "x": b64url(p384.X.Bytes()), "y": b64url(p384.Y.Bytes())}, ""},
		{"key_ops without verify", map[string]any{"kty": "OKP", "crv": "Ed25519", "x": ed.X, "key_ops": []string{"encrypt"}}, ""},
		{"EC point not on curve", mod(es, func(j *jwk) { j.Y = j.X }), "error"},
		{"EC short coordinate", mod(es, func(j *jwk) { j.X = j.X[:20] }), "error"},
		{"EC bad base64", mod(es, func(j *jwk) { j.X = "!!" + j.X[2:] }), "error"},
		{"RSA 1024-bit", toJWK(t, "s", &small.PublicKey), "error"},
		{"RSA even exponent", mod(rs, func(j *jwk) { j.E = b64url([]byte{1, 0, 0}) }), "error"},
		{"RSA leading zero", mod(rs, func(j *jwk) { j.N = "AA" + j.N }), "error"},
		{"RSA huge exponent", mod(rs, func(j *jwk) { j.E = b64url([]byte{1, 0, 0, 0, 1}) }), "error"},
		{"Ed25519 short", mod(ed, func(j *jwk) { j.X = j.X[:10] }), "error"},
		{"not an object", []int{1}, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := parseJWKS([]byte(`{"keys":[` + string(raw) + `]}`))
			switch tt.alg {
			case "error":
				if err == nil {
					t.Fatalf("accepted: %v", keys)
				}
			case "":
				if err != nil || len(keys) != 0 {
					t.Fatalf("got %v, %v; want the key skipped", keys, err)
				}
			default:
				if err != nil || len(keys) != 1 || keys[0].alg != tt.alg {
					t.Fatalf("got %v, %v; want one %s key", keys, err, tt.alg)
				}
			}
		})
	}
}

func TestParseJWKSTooManyKeys(t *testing.T) {
	k := testKeys()
	keys := make([]jwk, maxJWKSKeys+1)
	for i := range keys {
		keys[i] = toJWK(t, "es", &k.es.PublicKey)
	}
	data, _ := json.Marshal(map[string]any{"keys": keys})
	if _, err := parseJWKS(data); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("got %v", err)
	}
}
