package auth

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestAuthorisationMatrix runs each credential shape and attack through a
// verifier whose trusted issuer serves its JWKS over HTTP.
func TestAuthorisationMatrix(t *testing.T) {
	good := newTestIssuer(t)
	rogue := newTestIssuer(t) // a real issuer that is not trusted
	k := testKeys()
	exp := t0.Add(time.Hour)
	pubDER, err := x509.MarshalPKIXPublicKey(&k.es.PublicKey)
	if err != nil {
		t.Fatal(err)
	}

	type creds struct {
		bearer    string
		passports []string
	}
	tests := []struct {
		name   string
		creds  func(t *testing.T) creds
		status int    // 0: success
		reason string // expected Reason on failure
		allow  []string
		deny   []string
		// fetches is how many requests the trusted JWKS server may see;
		// -1 means any.
		fetches int32
	}{
		{
			name: "good passport ES256",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.passport(t, exp, good.visa(t, "EGAD0001", exp))}
			},
			allow: []string{"EGAD0001"}, deny: []string{"EGAD0002", "egad0001"}, fetches: 1,
		},
		{
			name: "good passport RS256 and EdDSA visas",
			creds: func(t *testing.T) creds {
				v1 := good.sign(t, tok{alg: "RS256", claims: good.visaClaims("https://ega.example.org/datasets/EGAD1", exp)})
				v2 := good.sign(t, tok{alg: "EdDSA", claims: good.visaClaims("EGAD2", exp)})
				return creds{bearer: good.sign(t, tok{alg: "RS256", claims: good.passportClaims(exp, v1, v2)})}
			},
			allow: []string{"https://ega.example.org/datasets/EGAD1", "EGAD2"}, deny: []string{"EGAD1"}, fetches: 1,
		},
		{
			name:  "good single visa",
			creds: func(t *testing.T) creds { return creds{bearer: good.visa(t, "EGAD0001", exp)} },
			allow: []string{"EGAD0001"}, deny: []string{"EGAD0002"}, fetches: 1,
		},
		{
			name: "passport in DRS body, with Bearer prefix elsewhere",
			creds: func(t *testing.T) creds {
				return creds{bearer: "Bearer " + good.visa(t, "A", exp), passports: []string{good.passport(t, exp, good.visa(t, "B", exp))}}
			},
			allow: []string{"A", "B"}, fetches: 1,
		},
		{
			name:  "static token",
			creds: func(*testing.T) creds { return creds{bearer: "s3cret-static-token-for-ci"} },
			allow: []string{"static-ds"}, deny: []string{"A"}, fetches: 0,
		},
		{
			name:   "wrong static token",
			creds:  func(*testing.T) creds { return creds{bearer: "s3cret-static-token-for-cj"} },
			status: 401, reason: "unknown token",
		},
		{
			name:   "expired static token",
			creds:  func(*testing.T) creds { return creds{bearer: "old-static-token"} },
			status: 401, reason: "token expired",
		},
		{
			name:   "static token granting nothing",
			creds:  func(*testing.T) creds { return creds{bearer: "empty-static-token"} },
			status: 403, reason: "no datasets granted",
		},
		{
			name:   "no credentials",
			creds:  func(*testing.T) creds { return creds{} },
			status: 401, reason: "missing token",
		},
		{
			name: "expired passport",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.passport(t, t0.Add(-time.Hour), good.visa(t, "A", exp))}
			},
			status: 401, reason: "token expired", fetches: -1,
		},
		{
			name: "expired passport within skew",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.passport(t, t0.Add(-10*time.Second), good.visa(t, "A", exp))}
			},
			allow: []string{"A"}, fetches: 1,
		},
		{
			name: "expired visa inside valid passport is skipped",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.passport(t, exp, good.visa(t, "A", t0.Add(-time.Hour)), good.visa(t, "B", exp))}
			},
			allow: []string{"B"}, deny: []string{"A"}, fetches: 1,
		},
		{
			name: "only an expired visa",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.passport(t, exp, good.visa(t, "A", t0.Add(-time.Hour)))}
			},
			status: 403, reason: "no visas for any dataset", fetches: 1,
		},
		{
			name: "forged signature",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.sign(t, tok{key: k.esOther, claims: good.passportClaims(exp, good.visa(t, "A", exp))})}
			},
			status: 401, reason: "bad signature", fetches: 1,
		},
		{
			name: "tampered payload",
			creds: func(t *testing.T) creds {
				a := strings.Split(good.visa(t, "A", exp), ".")
				b := strings.Split(good.visa(t, "B", exp), ".")
				return creds{bearer: a[0] + "." + b[1] + "." + a[2]}
			},
			status: 401, reason: "bad signature", fetches: 1,
		},
		{
			name: "forged visa inside valid passport is skipped",
			creds: func(t *testing.T) creds {
				forged := good.sign(t, tok{key: k.esOther, claims: good.visaClaims("A", exp)})
				return creds{bearer: good.passport(t, exp, forged)}
			},
			status: 403, reason: "no visas for any dataset", fetches: 1,
		},
		{
			name: "alg none",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.sign(t, tok{alg: "none", claims: good.visaClaims("A", exp)})}
			},
			status: 401, reason: "unsupported algorithm",
		},
		{
			name: "HS256 with the public key as secret",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.sign(t, tok{alg: "HS256", kid: "es", key: pubDER, claims: good.visaClaims("A", exp)})}
			},
			status: 401, reason: "unsupported algorithm",
		},
		{
			name: "untrusted issuer",
			creds: func(t *testing.T) creds {
				return creds{bearer: rogue.passport(t, exp, rogue.visa(t, "A", exp))}
			},
			status: 401, reason: "untrusted issuer",
		},
		{
			name: "untrusted jku",
			creds: func(t *testing.T) creds {
				c := good.passportClaims(exp, good.visa(t, "A", exp))
				return creds{bearer: good.sign(t, tok{claims: c, header: map[string]any{"jku": rogue.jku}})}
			},
			status: 401, reason: "untrusted jku",
		},
		{
			name: "untrusted jku on a visa is skipped without fetching",
			creds: func(t *testing.T) creds {
				v := good.sign(t, tok{claims: good.visaClaims("A", exp), header: map[string]any{"jku": rogue.jku}})
				return creds{bearer: good.passport(t, exp, v, good.visa(t, "B", exp))}
			},
			allow: []string{"B"}, deny: []string{"A"}, fetches: 1,
		},
		{
			name: "no jku header uses the configured JKU",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.sign(t, tok{noJKU: true, claims: good.visaClaims("A", exp)})}
			},
			allow: []string{"A"}, fetches: 1,
		},
		{
			name: "asserted in the future",
			creds: func(t *testing.T) creds {
				c := withVisa(good.visaClaims("A", exp), func(v map[string]any) { v["asserted"] = t0.Add(time.Hour).Unix() })
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			status: 403, reason: "no visas for any dataset",
		},
		{
			name: "conditions present",
			creds: func(t *testing.T) creds {
				c := withVisa(good.visaClaims("A", exp), func(v map[string]any) {
					v["conditions"] = []any{[]any{map[string]any{"type": "AffiliationAndRole", "value": "const:faculty@uni.example"}}}
				})
				return creds{bearer: good.passport(t, exp, good.sign(t, tok{claims: c}))}
			},
			status: 403, reason: "no visas for any dataset", fetches: 1,
		},
		{
			name: "empty conditions are no conditions",
			creds: func(t *testing.T) creds {
				c := withVisa(good.visaClaims("A", exp), func(v map[string]any) { v["conditions"] = []any{} })
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			allow: []string{"A"}, fetches: 1,
		},
		{
			name: "other visa types ignored",
			creds: func(t *testing.T) creds {
				c := withVisa(good.visaClaims("A", exp), func(v map[string]any) { v["type"] = "AffiliationAndRole" })
				return creds{bearer: good.passport(t, exp, good.sign(t, tok{claims: c}))}
			},
			status: 403, reason: "no visas for any dataset", fetches: 1,
		},
		{
			name: "self-asserted grant",
			creds: func(t *testing.T) creds {
				c := withVisa(good.visaClaims("A", exp), func(v map[string]any) { v["by"] = "self" })
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			status: 403, reason: "no visas for any dataset",
		},
		{
			name: "grant without by",
			creds: func(t *testing.T) creds {
				c := withVisa(good.visaClaims("A", exp), func(v map[string]any) { delete(v, "by") })
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			status: 403, reason: "no visas for any dataset",
		},
		{
			name: "grant without source",
			creds: func(t *testing.T) creds {
				c := withVisa(good.visaClaims("A", exp), func(v map[string]any) { delete(v, "source") })
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			status: 403, reason: "no visas for any dataset",
		},
		{
			name:   "empty passport",
			creds:  func(t *testing.T) creds { return creds{bearer: good.passport(t, exp)} },
			status: 403, reason: "no visas for any dataset", fetches: 1,
		},
		{
			name: "no exp",
			creds: func(t *testing.T) creds {
				c := good.visaClaims("A", exp)
				delete(c, "exp")
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			status: 401, reason: "token has no expiry", fetches: 1,
		},
		{
			name: "nbf in the future",
			creds: func(t *testing.T) creds {
				c := good.visaClaims("A", exp)
				c["nbf"] = t0.Add(5 * time.Minute).Unix()
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			status: 401, reason: "token not yet valid", fetches: 1,
		},
		{
			name: "iat in the future",
			creds: func(t *testing.T) creds {
				c := good.visaClaims("A", exp)
				c["iat"] = t0.Add(5 * time.Minute).Unix()
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			status: 401, reason: "token not yet valid", fetches: 1,
		},
		{
			name: "iat slightly in the future is within skew",
			creds: func(t *testing.T) creds {
				c := good.visaClaims("A", exp)
				c["iat"] = t0.Add(10 * time.Second).Unix()
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			allow: []string{"A"}, fetches: 1,
		},
		{
			name: "no subject",
			creds: func(t *testing.T) creds {
				c := good.visaClaims("A", exp)
				delete(c, "sub")
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			status: 401, reason: "missing subject", fetches: 1,
		},
		{
			name: "unexpected typ",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.sign(t, tok{claims: good.visaClaims("A", exp), header: map[string]any{"typ": "dpop+jwt"}})}
			},
			status: 401, reason: "unsupported token type",
		},
		{
			name: "crit header",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.sign(t, tok{claims: good.visaClaims("A", exp), header: map[string]any{"crit": []string{"exp"}}})}
			},
			status: 401, reason: "unsupported token type",
		},
		{
			name: "plain access token",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.sign(t, tok{claims: map[string]any{"iss": good.iss, "sub": "alice", "exp": exp.Unix(), "scope": "openid ga4gh_passport_v1"}})}
			},
			status: 401, reason: "unsupported token type",
		},
		{
			name: "passport nested in a passport",
			creds: func(t *testing.T) creds {
				inner := good.passport(t, exp, good.visa(t, "A", exp))
				return creds{bearer: good.passport(t, exp, inner)}
			},
			status: 403, reason: "no visas for any dataset", fetches: 1,
		},
		{
			name:   "malformed: not a JWT",
			creds:  func(*testing.T) creds { return creds{bearer: "not-a-token"} },
			status: 401, reason: "unknown token",
		},
		{
			name:   "malformed: three garbage segments",
			creds:  func(*testing.T) creds { return creds{bearer: "a.b.c"} },
			status: 401, reason: "malformed token",
		},
		{
			name:   "malformed: empty segments",
			creds:  func(*testing.T) creds { return creds{bearer: ".."} },
			status: 401, reason: "malformed token",
		},
		{
			name:   "malformed passport string",
			creds:  func(*testing.T) creds { return creds{passports: []string{"x"}} },
			status: 401, reason: "malformed token",
		},
		{
			name: "malformed: header not an object",
			creds: func(*testing.T) creds {
				return creds{bearer: b64url([]byte(`[1]`)) + "." + b64url([]byte(`{}`)) + ".AA"}
			},
			status: 401, reason: "malformed token",
		},
		{
			name: "malformed: exp is a string",
			creds: func(t *testing.T) creds {
				c := good.visaClaims("A", exp)
				c["exp"] = "tomorrow"
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			status: 401, reason: "malformed token",
		},
		{
			name: "oversized token",
			creds: func(t *testing.T) creds {
				return creds{bearer: strings.Repeat("A", MaxTokenSize) + ".b.c"}
			},
			status: 401, reason: "token too large",
		},
		{
			name: "oversized passport",
			creds: func(t *testing.T) creds {
				return creds{passports: []string{strings.Repeat("A", MaxTokenSize+1)}}
			},
			status: 401, reason: "token too large",
		},
		{
			name: "too many visas",
			creds: func(t *testing.T) creds {
				// Visas are not parsed before the count is checked, so
				// short stand-ins will do.
				visas := slices.Repeat([]string{"x.y.z"}, MaxVisas+1)
				return creds{bearer: good.passport(t, exp, visas...)}
			},
			status: 401, reason: "too many visas", fetches: 1,
		},
		{
			name: "too many passports",
			creds: func(t *testing.T) creds {
				return creds{passports: slices.Repeat([]string{"x.y.z"}, MaxPassports+1)}
			},
			status: 401, reason: "too many passports",
		},
		{
			name: "one bad credential fails the request",
			creds: func(t *testing.T) creds {
				return creds{bearer: good.visa(t, "A", exp), passports: []string{rogue.visa(t, "B", exp)}}
			},
			status: 401, reason: "untrusted issuer", fetches: 1,
		},
		{
			name: "audience required but absent",
			creds: func(t *testing.T) creds {
				// The audience issuer shares the good issuer's JWKS.
				c := good.visaClaims("A", exp)
				c["iss"] = "https://aud.example.org"
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			status: 401, reason: "wrong audience", fetches: 1,
		},
		{
			name: "audience required and present",
			creds: func(t *testing.T) creds {
				c := good.visaClaims("A", exp)
				c["iss"] = "https://aud.example.org"
				c["aud"] = []string{"other", "https://archive.example.org"}
				return creds{bearer: good.sign(t, tok{claims: c})}
			},
			allow: []string{"A"}, fetches: 1,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rogue.hits.Store(0)
			good.hits.Store(0)
			v := newVerifier(t, newClock(t0), Config{
				Issuers: []TrustedIssuer{
					good.trusted(),
					{Issuer: "https://aud.example.org", JKU: good.jku, Audience: "https://archive.example.org"},
				},
				Tokens: []StaticToken{
					{SHA256: sha("s3cret-static-token-for-ci"), Subject: "ci", Datasets: []string{"static-ds"}},
					{SHA256: strings.ToUpper(sha("old-static-token")), Subject: "old", Datasets: []string{"x"}, Expires: t0.Add(-time.Second)},
					{SHA256: sha("empty-static-token"), Subject: "nobody"},
				},
			})
			c := tt.creds(t)
			g, err := v.Authenticate(bg, c.bearer, c.passports)
			if n := rogue.hits.Load(); n != 0 {
				t.Errorf("untrusted JWKS server got %d requests", n)
			}
			if n := good.hits.Load(); tt.fetches >= 0 && n != tt.fetches {
				t.Errorf("trusted JWKS server got %d requests, want %d", n, tt.fetches)
			}
			if tt.status != 0 {
				if err == nil {
					t.Fatalf("accepted, granting %v; want %d %q", g.Datasets, tt.status, tt.reason)
				}
				ae := authErr(t, err)
				if ae.Status != tt.status || ae.Reason != tt.reason {
					t.Fatalf("got %d %q (%v), want %d %q", ae.Status, ae.Reason, err, tt.status, tt.reason)
				}
				assertNoLeak(t, err, append([]string{c.bearer}, c.passports...)...)
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			for _, d := range tt.allow {
				if !g.Allows(d, t0) {
					t.Errorf("Allows(%q) = false; grant %v", d, g.Datasets)
				}
			}
			for _, d := range tt.deny {
				if g.Allows(d, t0) {
					t.Errorf("Allows(%q) = true; grant %v", d, g.Datasets)
				}
			}
			if len(g.Datasets) != len(tt.allow) {
				t.Errorf("granted %v, want exactly %v", g.Datasets, tt.allow)
			}
		})
	}
}

func TestGrantExpiry(t *testing.T) {
	iss := newTestIssuer(t)
	v := newVerifier(t, newClock(t0), Config{Issuers: []TrustedIssuer{iss.trusted()}})
	pexp := t0.Add(2 * time.Hour)
	short := t0.Add(30 * time.Minute)
	long := t0.Add(5 * time.Hour)
	p := iss.passport(t, pexp, iss.visa(t, "A", short), iss.visa(t, "B", long), iss.visa(t, "C", short), iss.visa(t, "C", long))
	g, err := v.Authenticate(bg, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{
		"A": short, // the visa ends first
		"B": pexp,  // the passport ends first
		"C": pexp,  // the longer of two visas wins, bounded by the passport
	}
	const skew = 30 * time.Second // the default, added to every expiry
	for d, exp := range want {
		exp = exp.Add(skew)
		if !g.Datasets[d].Equal(exp) {
			t.Errorf("dataset %s expires %v, want %v", d, g.Datasets[d], exp)
		}
		if !g.Allows(d, exp.Add(-time.Second)) || g.Allows(d, exp) {
			t.Errorf("dataset %s: Allows does not switch off at %v", d, exp)
		}
	}
	if !g.Expiry.Equal(short.Add(skew)) {
		t.Errorf("Expiry %v, want the earliest %v", g.Expiry, short)
	}
	if g.Subject != "alice" || g.Issuer != iss.iss {
		t.Errorf("subject %q issuer %q", g.Subject, g.Issuer)
	}
}

func TestStaticTokenNeverExpires(t *testing.T) {
	v := newVerifier(t, newClock(t0), Config{Tokens: []StaticToken{{SHA256: sha("tok"), Subject: "ci", Datasets: []string{"A", "B"}}}})
	g, err := v.Authenticate(bg, "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	far := t0.AddDate(100, 0, 0)
	if !g.Allows("A", far) || !g.Allows("B", far) || g.Allows("C", t0) {
		t.Errorf("grant %v", g.Datasets)
	}
	if !g.Expiry.IsZero() || g.Subject != "ci" || g.Issuer != "" {
		t.Errorf("grant %+v", g)
	}
}

func TestNewVerifierRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"plain http JKU", Config{Issuers: []TrustedIssuer{{Issuer: "i", JKU: "http://example.org/jwks"}}}, "https"},
		{"relative JKU", Config{Issuers: []TrustedIssuer{{Issuer: "i", JKU: "/jwks"}}}, "absolute"},
		{"ftp JKU", Config{Issuers: []TrustedIssuer{{Issuer: "i", JKU: "ftp://example.org/jwks"}}}, "https"},
		{"empty issuer", Config{Issuers: []TrustedIssuer{{JKU: "https://example.org/jwks"}}}, "empty Issuer"},
		{"short hash", Config{Tokens: []StaticToken{{SHA256: "abcd", Subject: "s"}}}, "64 hex"},
		{"non-hex hash", Config{Tokens: []StaticToken{{SHA256: strings.Repeat("zz", 32), Subject: "s"}}}, "64 hex"},
		{"no subject", Config{Tokens: []StaticToken{{SHA256: sha("x")}}}, "empty Subject"},
		{"empty dataset", Config{Tokens: []StaticToken{{SHA256: sha("x"), Subject: "s", Datasets: []string{""}}}}, "empty dataset"},
		{"negative skew", Config{ClockSkew: -time.Second}, "ClockSkew"},
		{"negative TTL", Config{JWKSCacheTTL: -time.Second}, "JWKSCacheTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewVerifier(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
	for _, jku := range []string{"https://example.org/jwks", "http://localhost:8080/jwks", "http://127.0.0.1/jwks", "http://[::1]:1/jwks"} {
		if _, err := NewVerifier(Config{Issuers: []TrustedIssuer{{Issuer: "i", JKU: jku}}}); err != nil {
			t.Errorf("JKU %s: %v", jku, err)
		}
	}
}

func TestErrorRendering(t *testing.T) {
	e := &Error{Status: http.StatusUnauthorized, Reason: "token expired"}
	if e.Error() != "auth: token expired" {
		t.Errorf("Error() = %q", e.Error())
	}
	if v := e.LogValue().Group(); len(v) != 2 || v[1].Value.String() != "token expired" {
		t.Errorf("LogValue = %v", v)
	}
}

func TestCancelledContext(t *testing.T) {
	iss := newTestIssuer(t)
	v := newVerifier(t, newClock(t0), Config{Issuers: []TrustedIssuer{iss.trusted()}})
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, err := v.Authenticate(ctx, iss.visa(t, "A", t0.Add(time.Hour)), nil)
	if ae := authErr(t, err); ae.Status != http.StatusServiceUnavailable {
		t.Fatalf("got %v", err)
	}
	// The cancelled request must not poison the cache for others.
	if _, err := v.Authenticate(bg, iss.visa(t, "A", t0.Add(time.Hour)), nil); err != nil {
		t.Fatalf("after a cancelled request: %v", err)
	}
}
