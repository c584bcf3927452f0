package auth

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzAuthenticate feeds arbitrary bearer values and passports to a
// verifier that trusts a development issuer (whose keys need no network).
// Whatever the input, the verifier must return a grant or an *Error with a
// 401, 403 or 503 status, never panic, and never echo the input.
func FuzzAuthenticate(f *testing.F) {
	d, err := NewDevIssuer("http://localhost/dev-issuer", filepath.Join(f.TempDir(), "k.pem"))
	if err != nil {
		f.Fatal(err)
	}
	good, err := d.Mint("fuzz", []string{"A", "B"}, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	f.Add(good)
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add(good[:len(good)/2])
	f.Add("static-token")
	f.Add("a.b.c")
	f.Add("..")
	f.Add(b64url([]byte(`{"alg":"none"}`)) + "." + b64url([]byte(`{"ga4gh_visa_v1":{}}`)) + ".")
	f.Add(b64url([]byte(`{"alg":"ES256","kid":1,"jku":[]}`)) + "." + b64url([]byte(`{"exp":1e400,"ga4gh_passport_v1":null}`)) + ".AA")
	f.Add(b64url([]byte(`{"alg":"ES256"}`)) + "." + b64url([]byte(`{"iss":"http://localhost/dev-issuer","exp":9999999999,"ga4gh_passport_v1":["x.y.z","","a"]}`)) + ".AA")

	v, err := NewVerifier(Config{
		Issuers: []TrustedIssuer{d.Trusted()},
		Tokens:  []StaticToken{{SHA256: sha("static-token"), Subject: "s", Datasets: []string{"A"}}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, call := range []struct {
			bearer    string
			passports []string
		}{{in, nil}, {"", []string{in}}} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			g, err := v.Authenticate(ctx, call.bearer, call.passports)
			cancel()
			if err == nil {
				if len(g.Datasets) == 0 {
					t.Fatal("success without datasets")
				}
				continue
			}
			ae := authErr(t, err)
			switch ae.Status {
			case http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable:
			default:
				t.Fatalf("status %d", ae.Status)
			}
			if ae.Reason == "" {
				t.Fatal("empty reason")
			}
			if len(in) >= 40 && strings.Contains(err.Error(), in) {
				t.Fatalf("error echoes the input: %v", err)
			}
		}
	})
}

// FuzzParseJWKS checks the JWKS parser never panics and only returns keys
// of the three supported algorithms.
func FuzzParseJWKS(f *testing.F) {
	d, err := NewDevIssuer("http://localhost/dev-issuer", filepath.Join(f.TempDir(), "k.pem"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(d.jwks)
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""},{"kty":"oct","k":"AA"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseJWKS(data)
		if err != nil {
			return
		}
		for _, k := range keys {
			switch k.alg {
			case "ES256", "RS256", "EdDSA":
			default:
				t.Fatalf("key with alg %q", k.alg)
			}
			if k.key == nil {
				t.Fatal("nil key")
			}
		}
	})
}
