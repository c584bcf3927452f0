package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDevIssuerOffline(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "dev-issuer.pem")
	// Nothing listens here: the key must come from Trusted(), not a fetch.
	d, err := NewDevIssuer("http://127.0.0.1:1/dev-issuer/", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if d.JKU() != "http://127.0.0.1:1/dev-issuer/jwks.json" || d.Issuer() != "http://127.0.0.1:1/dev-issuer" {
		t.Fatalf("JKU %q issuer %q", d.JKU(), d.Issuer())
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}

	tokn, err := d.Mint("dev-user", []string{"EGAD1", "https://example.org/ds/2"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Config{Issuers: []TrustedIssuer{d.Trusted()}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := v.Authenticate(bg, tokn, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if g.Subject != "dev-user" || !g.Allows("EGAD1", now) || !g.Allows("https://example.org/ds/2", now) || g.Allows("EGAD3", now) {
		t.Fatalf("grant %+v", g)
	}
	if g.Allows("EGAD1", now.Add(2*time.Hour)) {
		t.Error("grant outlives the token's ttl")
	}

	// A restart loads the same key: old tokens stay valid.
	d2, err := NewDevIssuer("http://127.0.0.1:1/dev-issuer", keyFile)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := NewVerifier(Config{Issuers: []TrustedIssuer{d2.Trusted()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Authenticate(bg, tokn, nil); err != nil {
		t.Fatalf("token from before the restart: %v", err)
	}

	// Another dev issuer's key does not verify it.
	d3, err := NewDevIssuer("http://127.0.0.1:1/dev-issuer", filepath.Join(t.TempDir(), "other.pem"))
	if err != nil {
		t.Fatal(err)
	}
	v3, err := NewVerifier(Config{Issuers: []TrustedIssuer{d3.Trusted()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v3.Authenticate(bg, tokn, nil); err == nil || authErr(t, err).Status != http.StatusUnauthorized {
		t.Fatalf("token verified by another key: %v", err)
	}
}

// TestDevIssuerOverHTTP verifies minted tokens through the JWKS handler,
// the way a second server trusting this one would.
func TestDevIssuerOverHTTP(t *testing.T) {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	d, err := NewDevIssuer(srv.URL+"/dev-issuer", filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	mux.Handle("/dev-issuer/jwks.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		d.JWKS().ServeHTTP(w, r)
	}))

	resp, err := http.Post(d.JKU(), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST to JWKS: %d", resp.StatusCode)
	}

	ti := d.Trusted()
	v, err := NewVerifier(Config{Issuers: []TrustedIssuer{{Issuer: ti.Issuer, JKU: ti.JKU}}})
	if err != nil {
		t.Fatal(err)
	}
	tokn, err := d.Mint("u", []string{"A"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	g, err := v.Authenticate(bg, "", []string{tokn})
	if err != nil {
		t.Fatal(err)
	}
	if !g.Allows("A", time.Now()) || hits != 2 {
		t.Fatalf("grant %v, %d JWKS requests (want 2: the POST and one fetch)", g.Datasets, hits)
	}
}

func TestDevIssuerKeyFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)

	tests := []struct {
		name string
		path string
		want string // "" for success
	}{
		{"Ed25519 key", write("ed.pem", pkcs8(edKey), 0o600), ""},
		{"group-readable", write("open.pem", pkcs8(edKey), 0o640), "chmod 600"},
		{"P-384 key", write("p384.pem", pkcs8(p384), 0o600), "P-256 or Ed25519"},
		{"not PEM", write("junk.pem", []byte("hello"), 0o600), "PEM"},
		{"trailing data", write("trail.pem", append(pkcs8(edKey), "junk"...), 0o600), "PEM"},
		{"wrong PEM type", write("type.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1}}), 0o600), "PEM"},
		{"missing directory", filepath.Join(dir, "no", "such", "k.pem"), "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDevIssuer("http://localhost:8080/dev-issuer", tt.path)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				tokn, err := d.Mint("u", []string{"A"}, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				v, _ := NewVerifier(Config{Issuers: []TrustedIssuer{d.Trusted()}})
				if _, err := v.Authenticate(bg, tokn, nil); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "BEGIN") {
				t.Errorf("error quotes key material: %v", err)
			}
		})
	}
}

func TestDevIssuerMintRejects(t *testing.T) {
	d, err := NewDevIssuer("http://localhost/dev-issuer", filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		subject  string
		datasets []string
		ttl      time.Duration
	}{
		{"empty subject", "", []string{"A"}, time.Hour},
		{"no datasets", "u", nil, time.Hour},
		{"empty dataset", "u", []string{""}, time.Hour},
		{"long dataset", "u", []string{strings.Repeat("x", 256)}, time.Hour},
		{"too many datasets", "u", make([]string, MaxVisas+1), time.Hour},
		{"zero ttl", "u", []string{"A"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := d.Mint(tt.subject, tt.datasets, tt.ttl); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := NewDevIssuer("http://example.org/dev-issuer", filepath.Join(t.TempDir(), "k.pem")); err == nil {
		t.Error("accepted a plain-http issuer on a public host")
	}
}

func TestDevIssuerTokenShape(t *testing.T) {
	d, err := NewDevIssuer("http://localhost/dev-issuer", filepath.Join(t.TempDir(), "k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tokn, err := d.Mint("u", []string{"A"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var hdr map[string]any
	var body struct {
		Passport []string `json:"ga4gh_passport_v1"`
	}
	decodePart(t, tokn, 0, &hdr)
	decodePart(t, tokn, 1, &body)
	if hdr["alg"] != "ES256" || hdr["typ"] != "vnd.ga4gh.passport+jwt" || hdr["jku"] != d.JKU() || hdr["kid"] == "" {
		t.Errorf("passport header %v", hdr)
	}
	if len(body.Passport) != 1 {
		t.Fatalf("passport claims %+v", body)
	}
	var vc map[string]any
	decodePart(t, body.Passport[0], 1, &vc)
	visa, _ := vc["ga4gh_visa_v1"].(map[string]any)
	if visa["type"] != "ControlledAccessGrants" || visa["value"] != "A" || visa["by"] != "dac" || visa["source"] == "" {
		t.Errorf("visa claims %v", vc)
	}
	if _, ok := vc["ga4gh_passport_v1"]; ok {
		t.Error("visa carries a passport claim")
	}
}

func decodePart(t *testing.T, tokn string, i int, v any) {
	t.Helper()
	b, err := b64(strings.Split(tokn, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
