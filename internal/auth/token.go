package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The signature algorithms accepted. GA4GH allows ES256 and RS256; EdDSA is
// added for issuers (such as a development issuer) using Ed25519 keys.
var validAlgs = []string{"ES256", "RS256", "EdDSA"}

const controlledAccessGrants = "ControlledAccessGrants"

// claims is the payload of a Passport or Visa JWT.
type claims struct {
	jwt.RegisteredClaims
	// Passport is non-nil when the ga4gh_passport_v1 claim is present.
	Passport *[]string `json:"ga4gh_passport_v1,omitempty"`
	Visa     *visa     `json:"ga4gh_visa_v1,omitempty"`
}

// visa is the ga4gh_visa_v1 object.
type visa struct {
	Type       string           `json:"type"`
	Asserted   *jwt.NumericDate `json:"asserted"`
	Value      string           `json:"value"`
	Source     string           `json:"source"`
	By         string           `json:"by"`
	Conditions json.RawMessage  `json:"conditions,omitempty"`
}

func (v *Verifier) newParser() *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods(validAlgs),
		jwt.WithLeeway(v.skew),
		jwt.WithTimeFunc(v.now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	)
}

// verifyCredential verifies a Passport or Visa JWT presented directly by
// the client and returns what it grants.
func (v *Verifier) verifyCredential(ctx context.Context, tok string, now time.Time) (credential, *Error) {
	var c claims
	ti, err := v.verifyJWT(ctx, tok, &c, true, now)
	if err != nil {
		return credential{}, err
	}
	if ti.Audience != "" && !slices.Contains(c.Audience, ti.Audience) {
		return credential{}, unauthorized("wrong audience", fmt.Errorf("issuer %q requires audience %q", ti.Issuer, ti.Audience))
	}
	if c.Subject == "" {
		return credential{}, unauthorized("missing subject", fmt.Errorf("token from %q has no sub", ti.Issuer))
	}
	// Grants last as long as the tokens would still be accepted, so a
	// token accepted within the skew does not yield an already-lapsed grant.
	pexp := c.ExpiresAt.Add(v.skew)
	cred := credential{
		subject:  c.Subject,
		issuer:   c.Issuer,
		expiry:   pexp,
		datasets: make(map[string]time.Time),
	}

	if c.Visa != nil {
		// The visa claims were checked before the signature was verified.
		cred.datasets[c.Visa.Value] = cred.expiry
		return cred, nil
	}

	visas := *c.Passport
	if len(visas) > MaxVisas {
		return credential{}, unauthorized("too many visas", fmt.Errorf("%d visas, at most %d accepted", len(visas), MaxVisas))
	}
	// Visas that do not verify are skipped, not fatal: a passport normally
	// carries visas of many types from many issuers, most of them
	// irrelevant here. Up to a few reasons are kept for the audit log.
	var skipped []string
	for i, s := range visas {
		dataset, exp, err := v.verifyVisa(ctx, s, now)
		if err != nil {
			if err.Status >= 500 {
				err.Err = fmt.Errorf("visa %d: %w", i, errOrReason(err))
				return credential{}, err
			}
			if len(skipped) < 5 {
				skipped = append(skipped, fmt.Sprintf("visa %d: %v", i, errOrReason(err)))
			}
			continue
		}
		exp = earliest(exp.Add(v.skew), pexp)
		cred.expiry = earliest(cred.expiry, exp)
		if old, ok := cred.datasets[dataset]; !ok || exp.After(old) {
			cred.datasets[dataset] = exp
		}
	}
	if len(cred.datasets) == 0 {
		var detail error
		if len(skipped) > 0 {
			detail = errors.New(strings.Join(skipped, "; "))
		} else {
			detail = errors.New("passport has no visas")
		}
		return credential{}, forbidden("no visas for any dataset", detail)
	}
	return cred, nil
}

// verifyVisa verifies a visa embedded in a passport and returns the dataset
// it grants and its expiry.
func (v *Verifier) verifyVisa(ctx context.Context, tok string, now time.Time) (string, time.Time, *Error) {
	var c claims
	if _, err := v.verifyJWT(ctx, tok, &c, false, now); err != nil {
		return "", time.Time{}, err
	}
	return c.Visa.Value, c.ExpiresAt.Time, nil
}

// verifyJWT parses tok into c and verifies its signature and time claims.
// Everything that can be decided from the unverified claims (shape, visa
// policy, issuer and jku allow-list) is decided before any key is fetched.
// top distinguishes a token presented directly from a visa in a passport.
func (v *Verifier) verifyJWT(ctx context.Context, tok string, c *claims, top bool, now time.Time) (*TrustedIssuer, *Error) {
	var ti *TrustedIssuer
	keyfunc := func(t *jwt.Token) (any, error) {
		if err := checkHeader(t.Header); err != nil {
			return nil, err
		}
		switch {
		case c.Passport != nil && c.Visa != nil:
			return nil, unauthorized("malformed token", errors.New("both ga4gh_passport_v1 and ga4gh_visa_v1 claims"))
		case c.Passport == nil && c.Visa == nil:
			return nil, unauthorized("unsupported token type", errors.New("neither ga4gh_passport_v1 nor ga4gh_visa_v1 claim"))
		case c.Passport != nil && !top:
			return nil, unauthorized("unsupported token type", errors.New("passport nested in a passport"))
		}
		if c.Visa != nil {
			if err := checkVisa(c.Visa, now, v.skew); err != nil {
				return nil, err
			}
		}
		var err *Error
		ti, err = v.trusted(c.Issuer, t.Header["jku"])
		if err != nil {
			return nil, err
		}
		kid, ok := t.Header["kid"].(string)
		if !ok && t.Header["kid"] != nil {
			return nil, unauthorized("malformed token", errors.New("kid header is not a string"))
		}
		// The header's jku, if any, equals ti.JKU; a token without one is
		// verified with the configured JKU.
		keys, err := v.keys.get(ctx, ti.JKU, kid, t.Method.Alg())
		if err != nil {
			return nil, err
		}
		return keys, nil
	}
	t, err := v.jwt.ParseWithClaims(tok, c, keyfunc)
	if err != nil {
		return nil, classify(err, t)
	}
	return ti, nil
}

// trusted finds the allow-list entry for the (iss, jku) pair.
func (v *Verifier) trusted(iss string, jkuHeader any) (*TrustedIssuer, *Error) {
	jku, ok := jkuHeader.(string)
	if !ok && jkuHeader != nil {
		return nil, unauthorized("malformed token", errors.New("jku header is not a string"))
	}
	known := false
	for i := range v.issuers {
		ti := &v.issuers[i]
		if ti.Issuer != iss {
			continue
		}
		known = true
		if jku == "" || jku == ti.JKU {
			return ti, nil
		}
	}
	if !known {
		return nil, unauthorized("untrusted issuer", fmt.Errorf("issuer %q is not trusted", clip(iss)))
	}
	return nil, unauthorized("untrusted jku", fmt.Errorf("jku %q is not trusted for issuer %q", clip(jku), clip(iss)))
}

// checkHeader rejects header parameters this verifier does not implement.
func checkHeader(h map[string]any) *Error {
	if typ, ok := h["typ"]; ok {
		s, isString := typ.(string)
		if !isString || !acceptedTyp(s) {
			return unauthorized("unsupported token type", fmt.Errorf("typ %q", clip(fmt.Sprint(typ))))
		}
	}
	// RFC 7515 requires rejecting tokens whose critical extensions are not
	// understood; none are understood here.
	if _, ok := h["crit"]; ok {
		return unauthorized("unsupported token type", errors.New("crit header present"))
	}
	return nil
}

func acceptedTyp(typ string) bool {
	typ = strings.ToLower(strings.TrimPrefix(strings.ToLower(typ), "application/"))
	switch typ {
	case "jwt", "at+jwt", "vnd.ga4gh.visa+jwt", "vnd.ga4gh.passport+jwt":
		return true
	}
	return false
}

// checkVisa applies the visa policy described in the package documentation.
func checkVisa(vc *visa, now time.Time, skew time.Duration) *Error {
	reject := func(format string, args ...any) *Error {
		return forbidden("no visas for any dataset", fmt.Errorf(format, args...))
	}
	switch {
	case vc.Type != controlledAccessGrants:
		return reject("visa type %q ignored", clip(vc.Type))
	case hasConditions(vc.Conditions):
		return reject("visa has conditions, which this server does not evaluate")
	case vc.Value == "" || len(vc.Value) > maxValueLen:
		return reject("visa value is empty or longer than %d bytes", maxValueLen)
	case vc.Source == "" || len(vc.Source) > maxValueLen:
		return reject("visa source is empty or longer than %d bytes", maxValueLen)
	case vc.By == "":
		return reject("visa does not say by whom it was asserted")
	case vc.By == "self":
		return reject("self-asserted access grant")
	case vc.Asserted == nil || vc.Asserted.Unix() <= 0:
		return reject("visa has no asserted time")
	case vc.Asserted.After(now.Add(skew)):
		return reject("visa asserted in the future")
	}
	return nil
}

// hasConditions reports whether a conditions claim is present and not
// empty. Anything other than null or an empty array counts as present.
func hasConditions(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return true
	}
	return len(list) > 0
}

// classify turns a jwt parse error into an *Error. t may be nil.
func classify(err error, t *jwt.Token) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return unauthorized("malformed token", err)
	}
	if t != nil {
		alg, _ := t.Header["alg"].(string)
		if !slices.Contains(validAlgs, alg) {
			return unauthorized("unsupported algorithm", fmt.Errorf("alg %q", clip(alg)))
		}
	}
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return unauthorized("bad signature", err)
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthorized("token expired", err)
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return unauthorized("token not yet valid", err)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return unauthorized("token has no expiry", err)
	}
	return unauthorized("invalid token", err)
}

// clip shortens attacker-controlled strings before they reach logs.
func clip(s string) string {
	const max = 100
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
