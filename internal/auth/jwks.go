package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	// maxJWKSSize bounds a fetched JWKS document; real ones are a few KiB.
	maxJWKSSize = 256 << 10
	// maxJWKSKeys bounds the keys taken from one JWKS.
	maxJWKSKeys = 64
	// minRefetch is the least time between fetches of one JWKS caused by
	// tokens naming a kid that is not in it, so unknown kids cannot be used
	// to make the server hammer an issuer.
	minRefetch = time.Minute
	// failureBackoff is how long a failed fetch is remembered before it is
	// retried; until then requests fail fast.
	failureBackoff = 5 * time.Second
)

// publicKey is one usable key from a JWKS.
type publicKey struct {
	kid string
	alg string // the JWT alg this key verifies: ES256, RS256 or EdDSA
	key crypto.PublicKey
}

// keyCache holds the JWKS of every allow-listed JKU. The set of JKUs is
// fixed at construction, so only allow-listed URLs can ever be fetched and
// the cache cannot grow.
type keyCache struct {
	client *http.Client
	ttl    time.Duration
	now    func() time.Time
	sets   map[string]*keySet // by JKU; read-only after construction
}

type keySet struct {
	// lock is a one-slot semaphore held while the set is read or fetched,
	// so concurrent requests wait for one fetch instead of each starting
	// their own; unlike a mutex, waiting respects the request context.
	lock chan struct{}

	// mu guards the fields below. Holders of lock take it to write; the
	// common case (keys known and fresh) only reads under it, so
	// concurrent requests do not queue behind one another on lock, which
	// on a loaded machine makes a convoy.
	mu        sync.RWMutex
	static    bool // keys were provisioned out of band; never fetch
	keys      []publicKey
	fetched   time.Time // last successful fetch
	attempted time.Time // last fetch attempt, successful or not
	lastErr   error     // error of the last attempt, if it failed
}

func newKeyCache(client *http.Client, ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{client: client, ttl: ttl, now: now, sets: make(map[string]*keySet)}
}

// add registers jku, with keys if they were provisioned out of band.
func (c *keyCache) add(jku string, static []publicKey) error {
	s, ok := c.sets[jku]
	if !ok {
		s = &keySet{lock: make(chan struct{}, 1)}
		c.sets[jku] = s
	}
	if len(static) > 0 {
		if !s.static && ok {
			return fmt.Errorf("JKU %q is listed both with and without provisioned keys", jku)
		}
		s.static = true
		s.keys = append(s.keys, static...)
	} else if s.static {
		return fmt.Errorf("JKU %q is listed both with and without provisioned keys", jku)
	}
	return nil
}

func keysUnavailable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Reason: "issuer keys unavailable", Err: err}
}

// get returns the keys of jku that may verify a token with this kid and alg
// (all keys for alg when kid is empty), fetching the JWKS if needed.
func (c *keyCache) get(ctx context.Context, jku, kid, alg string) (jwt.VerificationKeySet, *Error) {
	s := c.sets[jku]
	if s == nil {
		// Unreachable: callers pass only allow-listed JKUs.
		return jwt.VerificationKeySet{}, unauthorized("untrusted jku", fmt.Errorf("jku %q has no key set", jku))
	}
	if ks, ok := c.fastGet(s, kid, alg); ok {
		return ks, nil
	}
	select {
	case s.lock <- struct{}{}:
	case <-ctx.Done():
		return jwt.VerificationKeySet{}, keysUnavailable(ctx.Err())
	}
	defer func() { <-s.lock }()
	// Only lock holders write the fields, so reading them here needs no
	// RLock; writes take mu so fastGet never sees a torn update. The
	// fetch itself runs without mu, so fastGet is never held up by it.

	unknown := func() (jwt.VerificationKeySet, *Error) {
		return jwt.VerificationKeySet{}, unauthorized("unknown signing key", fmt.Errorf("no %s key with kid %q at %s", alg, clip(kid), jku))
	}
	if s.static {
		if ks, ok := s.match(kid, alg); ok {
			return ks, nil
		}
		return unknown()
	}

	now := c.now()
	fresh := !s.fetched.IsZero() && now.Sub(s.fetched) < c.ttl
	switch {
	case fresh:
		if ks, ok := s.match(kid, alg); ok {
			return ks, nil
		}
		if now.Sub(s.attempted) < minRefetch {
			return unknown()
		}
	case s.lastErr != nil && now.Sub(s.attempted) < failureBackoff:
		return jwt.VerificationKeySet{}, keysUnavailable(s.lastErr)
	}

	keys, err := c.fetch(ctx, jku)
	if err != nil {
		// A request that gave up is no evidence against the issuer.
		if ctx.Err() == nil {
			s.mu.Lock()
			s.attempted, s.lastErr = now, err
			s.mu.Unlock()
		}
		return jwt.VerificationKeySet{}, keysUnavailable(err)
	}
	s.mu.Lock()
	s.keys, s.fetched, s.attempted, s.lastErr = keys, now, now, nil
	s.mu.Unlock()
	if ks, ok := s.match(kid, alg); ok {
		return ks, nil
	}
	return unknown()
}

// fastGet answers from a static or fresh set holding the key, without
// taking the fetch lock.
func (c *keyCache) fastGet(s *keySet, kid, alg string) (jwt.VerificationKeySet, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.static && (s.fetched.IsZero() || c.now().Sub(s.fetched) >= c.ttl) {
		return jwt.VerificationKeySet{}, false
	}
	return s.match(kid, alg)
}

func (s *keySet) match(kid, alg string) (jwt.VerificationKeySet, bool) {
	var ks jwt.VerificationKeySet
	for _, k := range s.keys {
		if (kid == "" || k.kid == kid) && k.alg == alg {
			ks.Keys = append(ks.Keys, k.key)
		}
	}
	return ks, len(ks.Keys) > 0
}

func (c *keyCache) fetch(ctx context.Context, jku string) ([]publicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jku, nil)
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching JWKS from %s: HTTP status %d", jku, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetching JWKS from %s: %w", jku, err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("JWKS at %s is larger than %d bytes", jku, maxJWKSSize)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("JWKS at %s: %w", jku, err)
	}
	return keys, nil
}

// errUnsupportedKey marks a well-formed JWK this verifier does not use (a
// different curve, an encryption key, ...). Such keys are skipped.
var errUnsupportedKey = errors.New("unsupported key")

// parseJWKS parses a JWK Set (RFC 7517), keeping the keys that can verify
// ES256, RS256 or EdDSA signatures. Unsupported keys are skipped; a
// malformed supported key fails the whole set, since it signals a broken or
// tampered document.
func parseJWKS(data []byte) ([]publicKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("malformed JWKS: %w", err)
	}
	if set.Keys == nil {
		return nil, errors.New("malformed JWKS: no keys member")
	}
	if len(set.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("JWKS has %d keys, at most %d accepted", len(set.Keys), maxJWKSKeys)
	}
	var keys []publicKey
	for i, raw := range set.Keys {
		k, err := parseJWK(raw)
		if errors.Is(err, errUnsupportedKey) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// jwk holds the JWK members this package reads.
type jwk struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid,omitempty"`
	Use    string   `json:"use,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	N      string   `json:"n,omitempty"`
	E      string   `json:"e,omitempty"`
}

func parseJWK(raw json.RawMessage) (publicKey, error) {
	var j jwk
	if err := json.Unmarshal(raw, &j); err != nil {
		return publicKey{}, fmt.Errorf("malformed JWK: %w", err)
	}
	if j.Use != "" && j.Use != "sig" {
		return publicKey{}, errUnsupportedKey
	}
	if j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify") {
		return publicKey{}, errUnsupportedKey
	}
	k := publicKey{kid: j.Kid}
	switch {
	case j.Kty == "EC" && j.Crv == "P-256" && (j.Alg == "" || j.Alg == "ES256"):
		x, errX := b64(j.X)
		y, errY := b64(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return publicKey{}, errors.New("EC key: x and y must be 32-byte base64url values")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return publicKey{}, fmt.Errorf("EC key: %w", err)
		}
		k.alg, k.key = "ES256", pub
	case j.Kty == "RSA" && (j.Alg == "" || j.Alg == "RS256"):
		n, errN := b64(j.N)
		e, errE := b64(j.E)
		if errN != nil || errE != nil {
			return publicKey{}, errors.New("RSA key: n and e must be base64url values")
		}
		pub, err := rsaKey(n, e)
		if err != nil {
			return publicKey{}, fmt.Errorf("RSA key: %w", err)
		}
		k.alg, k.key = "RS256", pub
	case j.Kty == "OKP" && j.Crv == "Ed25519" && (j.Alg == "" || j.Alg == "EdDSA" || j.Alg == "Ed25519"):
		x, err := b64(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return publicKey{}, errors.New("Ed25519 key: x must be a 32-byte base64url value")
		}
		k.alg, k.key = "EdDSA", ed25519.PublicKey(x)
	default:
		return publicKey{}, errUnsupportedKey
	}
	return k, nil
}

func rsaKey(n, e []byte) (*rsa.PublicKey, error) {
	// Leading zero octets are not allowed (RFC 7518 §6.3.1), and would let
	// one key have many encodings.
	if len(n) == 0 || n[0] == 0 || len(e) == 0 || e[0] == 0 || len(e) > 4 {
		return nil, errors.New("non-minimal or out of range modulus or exponent")
	}
	N := new(big.Int).SetBytes(n)
	bits := N.BitLen()
	if bits < 2048 || bits > 8192 {
		return nil, fmt.Errorf("%d-bit modulus; 2048 to 8192 bits accepted", bits)
	}
	var exp int
	for _, b := range e {
		exp = exp<<8 | int(b)
	}
	if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
		return nil, errors.New("invalid public exponent")
	}
	return &rsa.PublicKey{N: N, E: exp}, nil
}

// b64 decodes base64url without padding, tolerating padding some issuers add.
func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
