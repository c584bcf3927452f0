package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DevIssuer is a local Passport and Visa issuer for development and tests,
// so a default setup works offline. It signs with one ES256 key kept in a
// file, so tokens it minted stay valid across restarts.
//
// It is not an identity provider: anyone who can call Mint gets any grant.
// Expose minting only to the local operator.
type DevIssuer struct {
	issuer string
	jku    string
	kid    string
	signer crypto.Signer
	method jwt.SigningMethod
	pub    jwk
	jwks   []byte
	now    func() time.Time
}

// NewDevIssuer loads the issuer's private key from keyFile, generating an
// ES256 (P-256) key and writing it there with mode 0600 if the file does
// not exist. An existing file must hold a PKCS#8 "PRIVATE KEY" PEM block
// with a P-256 or Ed25519 key and must not be readable by group or others.
//
// issuerURL is the iss of minted tokens; the JWKS is published at
// issuerURL + "/jwks.json" (see [DevIssuer.JKU]), where the server must
// mount [DevIssuer.JWKS]. For example, with issuerURL
// "http://localhost:8080/dev-issuer" mount it at /dev-issuer/jwks.json.
func NewDevIssuer(issuerURL string, keyFile string) (*DevIssuer, error) {
	issuerURL = strings.TrimRight(issuerURL, "/")
	jku := issuerURL + "/jwks.json"
	if err := checkJKU(jku); err != nil {
		return nil, fmt.Errorf("auth: dev issuer URL: %w", err)
	}
	signer, err := loadOrCreateKey(keyFile)
	if err != nil {
		return nil, fmt.Errorf("auth: dev issuer key: %w", err)
	}
	d := &DevIssuer{issuer: issuerURL, jku: jku, signer: signer, now: time.Now}
	switch pub := signer.Public().(type) {
	case *ecdsa.PublicKey:
		b, err := pub.Bytes()
		if err != nil {
			return nil, fmt.Errorf("auth: dev issuer key: %w", err)
		}
		d.method = jwt.SigningMethodES256
		d.pub = jwk{Kty: "EC", Crv: "P-256", X: b64url(b[1:33]), Y: b64url(b[33:])}
	case ed25519.PublicKey:
		d.method = jwt.SigningMethodEdDSA
		d.pub = jwk{Kty: "OKP", Crv: "Ed25519", X: b64url(pub)}
	}
	d.kid = thumbprint(d.pub)
	d.pub.Kid, d.pub.Use, d.pub.Alg = d.kid, "sig", d.method.Alg()
	d.jwks, err = json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{d.pub}})
	if err != nil {
		return nil, fmt.Errorf("auth: dev issuer JWKS: %w", err)
	}
	return d, nil
}

// thumbprint is the RFC 7638 JWK thumbprint, used as a kid that is stable
// for as long as the key is.
func thumbprint(k jwk) string {
	// The required members in lexicographic order, without whitespace.
	var s string
	switch k.Kty {
	case "EC":
		s = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, k.Crv, k.X, k.Y)
	case "OKP":
		s = fmt.Sprintf(`{"crv":%q,"kty":"OKP","x":%q}`, k.Crv, k.X)
	}
	h := sha256.Sum256([]byte(s))
	return b64url(h[:])
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

const devKeyPEMType = "PRIVATE KEY"

func loadOrCreateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, err
	}
	if err := checkKeyFileMode(path); err != nil {
		return nil, err
	}
	return parseKey(path, data)
}

func checkKeyFileMode(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %v; a private key file must not be accessible by group or others (chmod 600)", path, fi.Mode().Perm())
	}
	return nil
}

func parseKey(path string, data []byte) (crypto.Signer, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != devKeyPEMType || len(strings.TrimSpace(string(rest))) != 0 {
		return nil, fmt.Errorf("%s: expected one PEM %q block", path, devKeyPEMType)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return k, nil
		}
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("%s: key must be P-256 or Ed25519", path)
}

// createKey generates a key and publishes it at path atomically: it is
// written to a temporary file and hard-linked into place, so a concurrent
// process never sees a partial file, and if another process created path
// first, that key wins and is loaded instead.
func createKey(path string) (crypto.Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: devKeyPEMType, Bytes: der})

	var suffix [8]byte
	rand.Read(suffix[:])
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(suffix[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return loadOrCreateKey(path)
	} else if err != nil {
		return nil, err
	}
	return k, nil
}

// JWKS serves the issuer's public key as a JWK Set.
func (d *DevIssuer) JWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(d.jwks)
	})
}

// JKU is the URL where the JWKS is expected to be served.
func (d *DevIssuer) JKU() string { return d.jku }

// Issuer is the iss of tokens minted by d.
func (d *DevIssuer) Issuer() string { return d.issuer }

// Trusted returns the allow-list entry for d. It carries d's public key, so
// a [Verifier] configured with it never fetches the JWKS: the default setup
// works offline and before the server is listening.
func (d *DevIssuer) Trusted() TrustedIssuer {
	pub, err := parseJWK(mustJSON(d.pub))
	if err != nil {
		panic("auth: internal error: dev issuer JWK does not parse: " + err.Error())
	}
	return TrustedIssuer{Issuer: d.issuer, JKU: d.jku, keys: []publicKey{pub}}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("auth: internal error: " + err.Error())
	}
	return b
}

// Mint returns a Passport JWT for subject, valid for ttl, holding one
// ControlledAccessGrants visa (signed by the same key) for each dataset.
func (d *DevIssuer) Mint(subject string, datasets []string, ttl time.Duration) (string, error) {
	if subject == "" {
		return "", errors.New("auth: mint: empty subject")
	}
	if ttl <= 0 {
		return "", errors.New("auth: mint: ttl must be positive")
	}
	if len(datasets) == 0 || len(datasets) > MaxVisas {
		return "", fmt.Errorf("auth: mint: need 1 to %d datasets, got %d", MaxVisas, len(datasets))
	}
	now := d.now().Truncate(time.Second)
	exp := jwt.NewNumericDate(now.Add(ttl))
	visas := make([]string, 0, len(datasets))
	for _, ds := range datasets {
		if ds == "" || len(ds) > maxValueLen {
			return "", fmt.Errorf("auth: mint: dataset id must be 1 to %d bytes", maxValueLen)
		}
		c := claims{
			RegisteredClaims: d.registered(subject, now, exp),
			Visa: &visa{
				Type:     controlledAccessGrants,
				Asserted: jwt.NewNumericDate(now),
				Value:    ds,
				Source:   d.issuer,
				By:       "dac",
			},
		}
		s, err := d.sign(c, "vnd.ga4gh.visa+jwt")
		if err != nil {
			return "", err
		}
		visas = append(visas, s)
	}
	c := claims{RegisteredClaims: d.registered(subject, now, exp), Passport: &visas}
	return d.sign(c, "vnd.ga4gh.passport+jwt")
}

func (d *DevIssuer) registered(subject string, now time.Time, exp *jwt.NumericDate) jwt.RegisteredClaims {
	var id [16]byte
	rand.Read(id[:])
	return jwt.RegisteredClaims{
		Issuer:    d.issuer,
		Subject:   subject,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: exp,
		ID:        hex.EncodeToString(id[:]),
	}
}

func (d *DevIssuer) sign(c claims, typ string) (string, error) {
	t := jwt.NewWithClaims(d.method, c)
	t.Header["typ"] = typ
	t.Header["kid"] = d.kid
	t.Header["jku"] = d.jku
	s, err := t.SignedString(d.signer)
	if err != nil {
		return "", fmt.Errorf("auth: mint: %w", err)
	}
	return s, nil
}
