// Package auth decides who may read which dataset from the archive server.
//
// A request carries credentials in one of two forms, and may carry both:
//
//   - a bearer value from the Authorization header, which is either a static
//     token listed (by its SHA-256) in the configuration, a GA4GH Passport JWT
//     (claim ga4gh_passport_v1, a list of visa JWTs), or a single GA4GH Visa
//     JWT (claim ga4gh_visa_v1);
//   - passports from a DRS POST body, each a Passport or Visa JWT.
//
// The result is a [Grant]: a subject and the datasets it may read, each with
// the instant the permission lapses. Every failure is an [*Error] carrying an
// HTTP status (401, 403 or 503) and a short reason that is safe to show the
// client and to write to an audit log. Token text never appears in errors.
//
// # Trust
//
// A JWT is trusted only if its (iss, jku) pair is on the configured
// allow-list; the pair is checked before any key is fetched, so a token
// cannot make the server contact an arbitrary URL. A token without a jku
// header is verified with the first JKU configured for its issuer. Keys are
// fetched from the JKU as a JWKS over HTTPS (plain HTTP is accepted only for
// loopback hosts, for development) and cached. Only ES256, RS256 and EdDSA
// signatures are accepted; "none" and the HMAC algorithms are always
// rejected, so a public key can never be used as an HMAC secret.
//
// # Visas
//
// Only ControlledAccessGrants visas grant anything; other visa types are
// ignored. The dataset identifier is the visa value exactly as given (a URL
// or a plain id; no normalisation, case-sensitive). A visa must name who
// asserted it (by, and "self" is not accepted for access grants), its source,
// and an asserted time that is not in the future. Visas carrying conditions
// are ignored: this server is a limited clearinghouse that does not evaluate
// conditions. A visa inside a passport is trusted on its own signature,
// regardless of its sub (the broker that signed the passport is trusted to
// have linked the identities). Visas that fail verification are skipped; a
// passport with no usable visa yields a 403. Each dataset's expiry is the
// earlier of the visa's and the passport's exp.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Limits on untrusted input. They bound memory and CPU per request.
const (
	// MaxTokenSize is the largest bearer value or passport accepted, in bytes.
	// Larger values are refused before any parsing.
	MaxTokenSize = 64 << 10
	// MaxVisas is the largest number of visas accepted in one passport.
	MaxVisas = 256
	// MaxPassports is the largest number of passports accepted in one request.
	MaxPassports = 16
	// maxValueLen bounds a visa's value and source strings.
	maxValueLen = 255
)

// Grant is the outcome of a successful [Verifier.Authenticate].
type Grant struct {
	// Subject is the sub of the first credential presented (the bearer value
	// if any, else the first passport), or a static token's configured
	// subject.
	Subject string
	// Issuer is the iss of that credential; empty for a static token.
	Issuer string
	// Datasets maps each dataset the subject may read to the instant the
	// permission lapses: the exp of the tokens granting it plus the allowed
	// clock skew (the instant the tokens themselves stop being accepted). The zero time means it never lapses (static tokens
	// without an expiry). When several credentials grant the same dataset,
	// the latest expiry wins.
	Datasets map[string]time.Time
	// Expiry is the earliest expiry, skew included, of all tokens (and
	// visas) that contributed to the grant; zero if none of them expires.
	Expiry time.Time
}

// Allows reports whether g permits reading dataset at instant now. The
// dataset must match a granted identifier exactly.
func (g Grant) Allows(dataset string, now time.Time) bool {
	exp, ok := g.Datasets[dataset]
	if !ok {
		return false
	}
	return exp.IsZero() || now.Before(exp)
}

// LogValue reports the subject, issuer and number of datasets for audit logs.
func (g Grant) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("subject", g.Subject),
		slog.String("issuer", g.Issuer),
		slog.Int("datasets", len(g.Datasets)),
		slog.Time("expiry", g.Expiry),
	)
}

// TrustedIssuer is one entry of the allow-list of passport and visa issuers.
type TrustedIssuer struct {
	// Issuer must equal the token's iss claim exactly.
	Issuer string
	// JKU is the JWKS URL allowed for this issuer. It must equal the token's
	// jku header exactly. It must be https, or http on a loopback host.
	JKU string
	// Audience, if set, must appear in the aud claim of every token from this
	// issuer presented directly (as the bearer value or a passport). Visas
	// embedded in a passport are not audience-checked: they are not issued
	// for a particular clearinghouse.
	Audience string

	// keys, when set, are the issuer's keys provisioned out of band (the
	// development issuer); the JKU is then never fetched.
	keys []publicKey
}

// StaticToken is a plain bearer token granting fixed datasets. Only the
// token's hash is configured, so a leaked configuration does not leak tokens.
type StaticToken struct {
	// SHA256 is the lowercase or uppercase hex SHA-256 of the token.
	SHA256   string
	Subject  string
	Datasets []string
	// Expires is when the token stops working; zero means never.
	Expires time.Time
}

// Config configures a [Verifier]. Zero values select the documented defaults.
type Config struct {
	Issuers []TrustedIssuer
	Tokens  []StaticToken
	// ClockSkew is tolerated on exp, nbf, iat and asserted. Default 30s.
	ClockSkew time.Duration
	// JWKSCacheTTL is how long a fetched JWKS is used before it is fetched
	// again. Default 5m. Independently, a token whose kid is not in a fresh
	// JWKS causes at most one refetch per minute per JKU.
	JWKSCacheTTL time.Duration
	// HTTPClient fetches JWKS documents. Default: a client with a 10s
	// timeout. Redirects are never followed, whatever the client says.
	HTTPClient *http.Client
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Error is the only error type [Verifier.Authenticate] returns.
type Error struct {
	// Status is the HTTP status to answer with: 401 (no valid credential),
	// 403 (valid credential, nothing granted) or 503 (keys unavailable).
	Status int
	// Reason is short, fixed text safe to show the client and to log, such
	// as "missing token", "token expired", "untrusted issuer",
	// "untrusted jku", "bad signature", "malformed token" or
	// "no visas for any dataset".
	Reason string
	// Err is optional detail for server logs. It never contains token text
	// or secrets, but may name issuers, URLs and key ids.
	Err error
}

// Error returns the reason followed by any detail. Show clients only Reason.
func (e *Error) Error() string {
	if e.Err != nil {
		return "auth: " + e.Reason + ": " + e.Err.Error()
	}
	return "auth: " + e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

// LogValue renders the error for audit logs.
func (e *Error) LogValue() slog.Value {
	attrs := []slog.Attr{slog.Int("status", e.Status), slog.String("reason", e.Reason)}
	if e.Err != nil {
		attrs = append(attrs, slog.String("detail", e.Err.Error()))
	}
	return slog.GroupValue(attrs...)
}

func unauthorized(reason string, detail error) *Error {
	return &Error{Status: http.StatusUnauthorized, Reason: reason, Err: detail}
}

func forbidden(reason string, detail error) *Error {
	return &Error{Status: http.StatusForbidden, Reason: reason, Err: detail}
}

// Verifier authenticates requests. It is safe for concurrent use.
type Verifier struct {
	issuers []TrustedIssuer
	tokens  []staticToken
	skew    time.Duration
	now     func() time.Time
	keys    *keyCache
	jwt     *jwt.Parser
}

type staticToken struct {
	hash     [sha256.Size]byte
	subject  string
	datasets []string
	expires  time.Time
}

// NewVerifier checks cfg and returns a Verifier. It does no network I/O.
func NewVerifier(cfg Config) (*Verifier, error) {
	v := &Verifier{skew: cfg.ClockSkew, now: cfg.Now}
	if v.skew == 0 {
		v.skew = 30 * time.Second
	}
	if v.skew < 0 {
		return nil, errors.New("auth: negative ClockSkew")
	}
	if v.now == nil {
		v.now = time.Now
	}
	ttl := cfg.JWKSCacheTTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	if ttl < 0 {
		return nil, errors.New("auth: negative JWKSCacheTTL")
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	// A redirect would let the JWKS come from a URL that is not on the
	// allow-list.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	v.keys = newKeyCache(client, ttl, v.now)
	v.jwt = v.newParser()

	for i, ti := range cfg.Issuers {
		if ti.Issuer == "" {
			return nil, fmt.Errorf("auth: trusted issuer %d: empty Issuer", i)
		}
		if err := checkJKU(ti.JKU); err != nil {
			return nil, fmt.Errorf("auth: trusted issuer %q: %w", ti.Issuer, err)
		}
		if err := v.keys.add(ti.JKU, ti.keys); err != nil {
			return nil, fmt.Errorf("auth: trusted issuer %q: %w", ti.Issuer, err)
		}
		v.issuers = append(v.issuers, ti)
	}
	for i, t := range cfg.Tokens {
		h, err := hex.DecodeString(t.SHA256)
		if err != nil || len(h) != sha256.Size {
			return nil, fmt.Errorf("auth: static token %d: SHA256 must be 64 hex digits", i)
		}
		if t.Subject == "" {
			return nil, fmt.Errorf("auth: static token %d: empty Subject", i)
		}
		for _, d := range t.Datasets {
			if d == "" {
				return nil, fmt.Errorf("auth: static token %d: empty dataset", i)
			}
		}
		st := staticToken{subject: t.Subject, datasets: t.Datasets, expires: t.Expires}
		copy(st.hash[:], h)
		v.tokens = append(v.tokens, st)
	}
	return v, nil
}

// checkJKU requires an absolute https URL, or http on a loopback host.
func checkJKU(jku string) error {
	u, err := url.Parse(jku)
	if err != nil || u.Host == "" {
		return fmt.Errorf("JKU %q is not an absolute URL", jku)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("JKU %q must use https (http is allowed only on loopback hosts)", jku)
	}
	return fmt.Errorf("JKU %q must use https", jku)
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Authenticate checks the Authorization bearer value (may be "", and may
// include the "Bearer " scheme prefix) and any passports from a DRS POST
// body. Accepted bearer values: a static token; a Passport JWT (claim
// ga4gh_passport_v1: list of visa JWTs); a single Visa JWT (claim
// ga4gh_visa_v1). Each passport must be a Passport or Visa JWT.
//
// Every credential presented must be valid; the datasets they grant are
// combined. Errors are always of type [*Error].
func (v *Verifier) Authenticate(ctx context.Context, bearer string, passports []string) (Grant, error) {
	g, err := v.authenticate(ctx, bearer, passports)
	if err != nil {
		return Grant{}, err
	}
	return g, nil
}

func (v *Verifier) authenticate(ctx context.Context, bearer string, passports []string) (Grant, *Error) {
	if len(bearer) > 7 && strings.EqualFold(bearer[:7], "bearer ") {
		bearer = strings.TrimLeft(bearer[7:], " ")
	}
	if bearer == "" && len(passports) == 0 {
		return Grant{}, unauthorized("missing token", nil)
	}
	if len(passports) > MaxPassports {
		return Grant{}, unauthorized("too many passports", fmt.Errorf("%d passports, at most %d accepted", len(passports), MaxPassports))
	}

	now := v.now()
	g := Grant{Datasets: make(map[string]time.Time)}
	first := true
	add := func(c credential) {
		if first {
			g.Subject, g.Issuer = c.subject, c.issuer
			first = false
		}
		g.Expiry = earliest(g.Expiry, c.expiry)
		for d, exp := range c.datasets {
			old, ok := g.Datasets[d]
			if !ok || (!old.IsZero() && (exp.IsZero() || exp.After(old))) {
				g.Datasets[d] = exp
			}
		}
	}

	if bearer != "" {
		if len(bearer) > MaxTokenSize {
			return Grant{}, unauthorized("token too large", fmt.Errorf("%d bytes, at most %d accepted", len(bearer), MaxTokenSize))
		}
		if c, ok, err := v.static(bearer, now); ok || err != nil {
			if err != nil {
				return Grant{}, err
			}
			add(c)
		} else {
			if strings.Count(bearer, ".") != 2 {
				return Grant{}, unauthorized("unknown token", nil)
			}
			c, err := v.verifyCredential(ctx, bearer, now)
			if err != nil {
				return Grant{}, err
			}
			add(c)
		}
	}
	for i, p := range passports {
		if len(p) > MaxTokenSize {
			return Grant{}, unauthorized("token too large", fmt.Errorf("passport %d: %d bytes, at most %d accepted", i, len(p), MaxTokenSize))
		}
		c, err := v.verifyCredential(ctx, p, now)
		if err != nil {
			err.Err = fmt.Errorf("passport %d: %w", i, errOrReason(err))
			return Grant{}, err
		}
		add(c)
	}
	if len(g.Datasets) == 0 {
		return Grant{}, forbidden("no visas for any dataset", nil)
	}
	return g, nil
}

func errOrReason(e *Error) error {
	if e.Err != nil {
		return e.Err
	}
	return errors.New(e.Reason)
}

// credential is what one verified token contributes to a Grant.
type credential struct {
	subject, issuer string
	expiry          time.Time // zero: never
	datasets        map[string]time.Time
}

// static looks bearer up among the static tokens. ok reports a match.
func (v *Verifier) static(bearer string, now time.Time) (c credential, ok bool, err *Error) {
	h := sha256.Sum256([]byte(bearer))
	match := -1
	// Compare against every entry, without early exit, so timing reveals
	// neither which entry matched nor how much of a hash did.
	for i := range v.tokens {
		if subtle.ConstantTimeCompare(h[:], v.tokens[i].hash[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return credential{}, false, nil
	}
	t := v.tokens[match]
	if !t.expires.IsZero() && !now.Before(t.expires) {
		return credential{}, true, unauthorized("token expired", fmt.Errorf("static token for %q expired at %s", t.subject, t.expires.UTC().Format(time.RFC3339)))
	}
	if len(t.datasets) == 0 {
		return credential{}, true, forbidden("no datasets granted", fmt.Errorf("static token for %q grants no datasets", t.subject))
	}
	c = credential{subject: t.subject, expiry: t.expires, datasets: make(map[string]time.Time, len(t.datasets))}
	for _, d := range t.datasets {
		c.datasets[d] = t.expires
	}
	return c, true, nil
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}
