package tsa

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"time"

	"github.com/digitorus/timestamp"
)

// LocalPolicy is the TSA policy OID of tokens from a [LocalAuthority]. It
// is the example arc used by OpenSSL's documentation and carries no
// registered meaning: a verifier must not mistake a local token for one
// issued under a public TSA's policy.
var LocalPolicy = asn1.ObjectIdentifier{1, 2, 3, 4, 1}

// LocalAuthority is an in-process time-stamping authority with its own
// certification authority, for tests and offline use. Both of its
// certificates (ECDSA P-256) are valid over [notBefore, notAfter], and
// [LocalAuthority.At] issues tokens carrying any genTime the caller picks,
// so a test can play out a century of renewals in milliseconds.
//
// Tokens it issues are standard RFC 3161 tokens (OpenSSL's `ts -verify`
// accepts them) and verify with [Verify] against [LocalAuthority.Roots]
// when their genTime lies within the validity period.
//
// A LocalAuthority is safe for concurrent use.
type LocalAuthority struct {
	ca      *x509.Certificate
	tsaCert *x509.Certificate
	tsaKey  crypto.Signer
	roots   *x509.CertPool
}

// NewLocalAuthority creates an authority named name (the common name of
// its certificates) with fresh keys.
func NewLocalAuthority(name string, notBefore, notAfter time.Time) (*LocalAuthority, error) {
	return newLocalAuthority(name, notBefore, notAfter, nil)
}

// newLocalAuthority lets tests alter the TSA certificate template to build
// authorities that break one rule at a time.
func newLocalAuthority(name string, notBefore, notAfter time.Time, tweak func(*x509.Certificate)) (*LocalAuthority, error) {
	if !notBefore.Before(notAfter) {
		return nil, fmt.Errorf("tsa: validity period [%s, %s] is empty", notBefore, notAfter)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to generate a CA key: %w", err)
	}
	tsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to generate a TSA key: %w", err)
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		return n.Add(n, big.NewInt(1))
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name + " root CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to create the CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to parse the CA certificate: %w", err)
	}
	// x509.CreateCertificate marks extended key usage non-critical; RFC
	// 3161 requires it critical, so the extension is written by hand.
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
	if err != nil {
		return nil, err
	}
	tsaTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name + " TSA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: oidEKU, Critical: true, Value: eku}},
	}
	if tweak != nil {
		tweak(tsaTmpl)
	}
	tsaDER, err := x509.CreateCertificate(rand.Reader, tsaTmpl, ca, &tsaKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to create the TSA certificate: %w", err)
	}
	tsaCert, err := x509.ParseCertificate(tsaDER)
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to parse the TSA certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &LocalAuthority{ca: ca, tsaCert: tsaCert, tsaKey: tsaKey, roots: roots}, nil
}

// Roots returns a pool holding the authority's root certificate.
func (a *LocalAuthority) Roots() *x509.CertPool { return a.roots }

// Root returns the authority's root certificate, for writing to a file a
// verifier (or `openssl ts -verify -CAfile`) can load.
func (a *LocalAuthority) Root() *x509.Certificate { return a.ca }

// Certificate returns the TSA (signing) certificate.
func (a *LocalAuthority) Certificate() *x509.Certificate { return a.tsaCert }

// At returns a Stamper whose tokens carry genTime t (truncated to the
// second, in UTC), whatever the clock says.
func (a *LocalAuthority) At(t time.Time) Stamper {
	return stamperFunc(func(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		resp, err := a.respond(h, digest, t, nil, true)
		if err != nil {
			return nil, err
		}
		return parseResponse(resp)
	})
}

type stamperFunc func(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error)

func (f stamperFunc) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	return f(ctx, h, digest)
}

// respond builds a granted TimeStampResp.
func (a *LocalAuthority) respond(h crypto.Hash, digest []byte, t time.Time, nonce *big.Int, certs bool) ([]byte, error) {
	switch h {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
	case crypto.SHA3_256, crypto.SHA3_512:
		// The token encoder this authority uses knows only SHA-2. Real
		// TSAs that accept SHA-3 imprints (OpenSSL's does) work through
		// NewHTTPStamper, and Verify checks their tokens.
		return nil, errWrap(ErrUnsupported, "imprint hash %v: the local authority issues SHA-2 imprints only; use a TSA that accepts %v", h, h)
	default:
		return nil, errWrap(ErrUnsupported, "imprint hash %v", h)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("tsa: digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	ts := &timestamp.Timestamp{
		HashAlgorithm:     h,
		HashedMessage:     digest,
		Time:              t.UTC().Truncate(time.Second),
		Accuracy:          time.Second,
		Policy:            LocalPolicy,
		Nonce:             nonce,
		AddTSACertificate: certs,
	}
	resp, err := ts.CreateResponseWithOpts(a.tsaCert, a.tsaKey, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to sign a token: %w", err)
	}
	return resp, nil
}

// maxQuerySize bounds TimeStampReq bodies: a request is an imprint, a
// nonce and a few flags.
const maxQuerySize = 16 << 10

// ServeHTTP answers RFC 3161 requests (POST, application/timestamp-query)
// with tokens stamped at the current time, so that [NewHTTPStamper] and
// other clients can be tested against a live server. Requests that parse
// but cannot be granted get a TimeStampResp with status rejection, as the
// RFC asks; transport errors get an HTTP error status.
func (a *LocalAuthority) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "RFC 3161 requests must be POSTed", http.StatusMethodNotAllowed)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != queryContentType {
		http.Error(w, "content type must be "+queryContentType, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxQuerySize+1))
	if err != nil {
		http.Error(w, "failed to read the request", http.StatusBadRequest)
		return
	}
	if len(body) > maxQuerySize {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	reject := func(fi timestamp.FailureInfo) {
		resp, err := timestamp.CreateErrorResponse(timestamp.Rejection, fi)
		if err != nil {
			http.Error(w, "failed to encode a rejection", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", replyContentType)
		w.Write(resp)
	}
	req, err := timestamp.ParseRequest(body)
	if err != nil {
		reject(timestamp.BadDataFormat)
		return
	}
	if req.TSAPolicyOID != nil && !req.TSAPolicyOID.Equal(LocalPolicy) {
		reject(timestamp.UnacceptedPolicy)
		return
	}
	if len(req.Extensions) > 0 {
		reject(timestamp.UnacceptedExtension)
		return
	}
	if _, ok := oidForHash(req.HashAlgorithm); !ok || len(req.HashedMessage) != req.HashAlgorithm.Size() {
		reject(timestamp.BadAlgorithm)
		return
	}
	resp, err := a.respond(req.HashAlgorithm, req.HashedMessage, time.Now(), req.Nonce, req.Certificates)
	if err != nil {
		reject(timestamp.SystemFailure)
		return
	}
	w.Header().Set("Content-Type", replyContentType)
	w.Write(resp)
}

// MarshalPEM encodes the authority for offline reuse: the root
// certificate, the TSA certificate and the TSA private key (PKCS #8), as
// PEM blocks in that order. The root's own key is not kept by a
// LocalAuthority (it is only needed to issue the TSA certificate), so it
// cannot leak from here. The output holds a private key: write it to a
// file readable only by its owner (mode 0600).
func (a *LocalAuthority) MarshalPEM() ([]byte, error) {
	key, err := x509.MarshalPKCS8PrivateKey(a.tsaKey)
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to encode the TSA key: %w", err)
	}
	var out []byte
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.ca.Raw})...)
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.tsaCert.Raw})...)
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})...)
	return out, nil
}

// ParseLocalAuthority decodes what [LocalAuthority.MarshalPEM] wrote. It
// checks that the root is a self-signed CA, that it issued the TSA
// certificate, that the TSA certificate is a proper time-stamping
// certificate, and that the key belongs to it.
func ParseLocalAuthority(data []byte) (*LocalAuthority, error) {
	var blocks []*pem.Block
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) != 3 || blocks[0].Type != "CERTIFICATE" || blocks[1].Type != "CERTIFICATE" || blocks[2].Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("tsa: local authority file must hold two CERTIFICATE blocks and a PRIVATE KEY block, in that order")
	}
	ca, err := x509.ParseCertificate(blocks[0].Bytes)
	if err != nil {
		return nil, fmt.Errorf("tsa: local authority root certificate: %w", err)
	}
	tsaCert, err := x509.ParseCertificate(blocks[1].Bytes)
	if err != nil {
		return nil, fmt.Errorf("tsa: local authority TSA certificate: %w", err)
	}
	if !ca.IsCA || ca.CheckSignatureFrom(ca) != nil {
		return nil, fmt.Errorf("tsa: local authority root is not a self-signed CA certificate")
	}
	if err := tsaCert.CheckSignatureFrom(ca); err != nil {
		return nil, fmt.Errorf("tsa: local authority TSA certificate was not issued by its root: %w", err)
	}
	if err := checkTSACertificate(tsaCert); err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(blocks[2].Bytes)
	if err != nil {
		return nil, fmt.Errorf("tsa: local authority key is not a PKCS #8 private key")
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("tsa: local authority key cannot sign")
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(tsaCert.PublicKey) {
		return nil, fmt.Errorf("tsa: local authority key does not match its TSA certificate")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &LocalAuthority{ca: ca, tsaCert: tsaCert, tsaKey: signer, roots: roots}, nil
}
