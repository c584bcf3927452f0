// Package tsa obtains and checks RFC 3161 time-stamp tokens, the evidence
// that a digest existed at a given time.
//
// A [Stamper] turns a digest into a token: [NewHTTPStamper] asks a remote
// time-stamping authority (TSA) over HTTP, and a [LocalAuthority] signs
// tokens in-process with any time the caller chooses, which is what tests
// (and offline demonstrations of a century of renewals) need.
//
// [Verify] is the other half: it parses a token and checks everything a
// verifier must check before relying on its time: the CMS signature, the
// ESS signing-certificate binding, the TSA certificate's extended key usage
// and key usage, the certificate chain to caller-supplied roots at the
// token's own time, and the message imprint. Each failed check returns an
// error wrapping one of the sentinel errors below, so callers (the
// integrity policy, in particular) can tell "the TSA was not trusted" from
// "the token is about a different digest".
//
// Tokens are accepted in DER only, and at most [MaxTokenSize] bytes long.
// The parser is written on cryptobyte rather than on a BER-tolerant CMS
// library: a long-term archive must re-check the exact signed bytes, and
// malformed input must end in an error, never in a panic.
package tsa

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"math/big"
	"time"
)

// MaxTokenSize bounds the tokens [Verify] accepts and the responses
// [NewHTTPStamper] reads. Classical tokens are 1–10 KB; the bound leaves
// room for post-quantum signatures and certificate chains.
const MaxTokenSize = 256 << 10

// maxCerts bounds the certificates a token may carry, so that chain
// building stays cheap on hostile input.
const maxCerts = 16

// A Stamper obtains a time-stamp token for a digest.
//
// Stamp returns a DER TimeStampToken (a CMS ContentInfo holding SignedData
// over a TSTInfo) whose message imprint is (h, digest). digest must be
// h.Size() bytes long. A Stamper checks what it can without trust roots
// (status, imprint, nonce, signature against the embedded certificate);
// callers must still [Verify] the token against the roots they trust.
type Stamper interface {
	Stamp(ctx context.Context, h crypto.Hash, digest []byte) (token []byte, err error)
}

// Sentinel errors. Every error from [Verify] wraps exactly one of them,
// naming the check that failed.
var (
	// ErrMalformed: the token is not a well-formed DER TimeStampToken.
	ErrMalformed = errors.New("tsa: malformed token")
	// ErrTooLarge: the token (or a TSA response) exceeds MaxTokenSize.
	ErrTooLarge = errors.New("tsa: token too large")
	// ErrUnsupported: the token uses an algorithm this package does not
	// accept (including SHA-1 for the content digest or signature).
	ErrUnsupported = errors.New("tsa: unsupported algorithm")
	// ErrSignature: the CMS signature or the signed message digest does not
	// verify, or the signer certificate is missing from the token.
	ErrSignature = errors.New("tsa: bad signature")
	// ErrESS: the ESS signing-certificate(-v2) attribute is missing or does
	// not identify the signer certificate.
	ErrESS = errors.New("tsa: signing-certificate attribute does not match the signer")
	// ErrEKU: the TSA certificate's extended key usage is not exactly
	// timeStamping, marked critical (RFC 3161 section 2.3).
	ErrEKU = errors.New("tsa: certificate is not a time-stamping certificate")
	// ErrKeyUsage: the TSA certificate's key usage lacks digitalSignature.
	ErrKeyUsage = errors.New("tsa: certificate key usage does not allow signing")
	// ErrValidity: the token's genTime is outside the TSA certificate's
	// validity period.
	ErrValidity = errors.New("tsa: time outside the certificate validity period")
	// ErrChain: the TSA certificate does not chain to the trusted roots at
	// the token's genTime.
	ErrChain = errors.New("tsa: certificate not trusted")
	// ErrImprintMismatch: the token is about a different digest or hash.
	ErrImprintMismatch = errors.New("tsa: message imprint mismatch")
	// ErrRejected: a TSA answered with a failure status (Stamp only).
	ErrRejected = errors.New("tsa: request rejected")
	// ErrNonce: a TSA response does not echo the request nonce (Stamp only).
	ErrNonce = errors.New("tsa: nonce mismatch")
)

// Verified is what a successfully verified token attests.
type Verified struct {
	// Time is the token's genTime, in UTC.
	Time time.Time
	// Accuracy is the TSA's stated accuracy of Time (zero when absent).
	Accuracy time.Duration
	// Hash is the hash of the message imprint.
	Hash crypto.Hash
	// Policy is the TSA policy under which the token was issued.
	Policy asn1.ObjectIdentifier
	// Serial is the token's serial number, unique per TSA.
	Serial *big.Int
	// Nonce is the request nonce echoed by the TSA, or nil.
	Nonce *big.Int
	// Signer is the TSA certificate that signed the token.
	Signer *x509.Certificate
	// Chain is the verified chain from Signer to a trusted root, inclusive.
	Chain []*x509.Certificate
}

// Verify parses token and checks that it is a valid time-stamp token over
// (h, digest) from a TSA trusted by roots:
//
//   - the token is DER, at most MaxTokenSize bytes, with one signer;
//   - the content type is id-ct-TSTInfo, in the encapsulated content and in
//     the signed content-type attribute;
//   - the signed message-digest attribute matches the TSTInfo and the CMS
//     signature verifies under the embedded signer certificate;
//   - the TSTInfo message imprint is (h, digest);
//   - an ESS signing-certificate or signing-certificate-v2 attribute names
//     the signer certificate by hash (and by issuer and serial, if given);
//   - the signer certificate's extended key usage is timeStamping only,
//     marked critical, and its key usage, if present, has digitalSignature;
//   - genTime lies within the signer certificate's validity period, and the
//     certificate chains to roots, with every certificate valid at genTime.
//
// Validity is judged at genTime, not now: whether a TSA's key or hash was
// still trustworthy at that time is the caller's policy decision (in a
// renewal chain, the next timestamp vouches for this one).
//
// roots must not be nil (a nil pool would silently mean the system roots).
// Each failed check returns an error wrapping one of the package's sentinel
// errors.
func Verify(token []byte, h crypto.Hash, digest []byte, roots *x509.CertPool) (Verified, error) {
	if roots == nil {
		return Verified{}, errWrap(ErrChain, "no trust roots given")
	}
	t, err := parseToken(token)
	if err != nil {
		return Verified{}, err
	}
	if err := t.checkSignature(); err != nil {
		return Verified{}, err
	}
	if err := t.checkImprint(h, digest); err != nil {
		return Verified{}, err
	}
	if err := t.checkESS(); err != nil {
		return Verified{}, err
	}
	if err := checkTSACertificate(t.signer); err != nil {
		return Verified{}, err
	}
	if t.info.genTime.Before(t.signer.NotBefore) || t.info.genTime.After(t.signer.NotAfter) {
		return Verified{}, errWrap(ErrValidity, "genTime %s outside [%s, %s] of TSA certificate %q",
			t.info.genTime.Format(time.RFC3339), t.signer.NotBefore.Format(time.RFC3339),
			t.signer.NotAfter.Format(time.RFC3339), t.signer.Subject.String())
	}
	inter := x509.NewCertPool()
	for _, c := range t.certs {
		if c != t.signer {
			inter.AddCert(c)
		}
	}
	chains, err := t.signer.Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   t.info.genTime,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return Verified{}, errWrap(ErrChain, "TSA certificate %q at %s: %v",
			t.signer.Subject.String(), t.info.genTime.Format(time.RFC3339), err)
	}
	return Verified{
		Time:     t.info.genTime,
		Accuracy: t.info.accuracy,
		Hash:     t.info.hash,
		Policy:   t.info.policy,
		Serial:   t.info.serial,
		Nonce:    t.info.nonce,
		Signer:   t.signer,
		Chain:    chains[0],
	}, nil
}

var oidEKU = asn1.ObjectIdentifier{2, 5, 29, 37}

// checkTSACertificate enforces RFC 3161 section 2.3: the TSA certificate
// has exactly one extended key usage, timeStamping, and the extension is
// critical. Key usage, when present, must allow digital signatures.
func checkTSACertificate(c *x509.Certificate) error {
	critical, found := false, false
	for _, e := range c.Extensions {
		if e.Id.Equal(oidEKU) {
			found, critical = true, e.Critical
		}
	}
	if !found {
		return errWrap(ErrEKU, "certificate %q has no extended key usage extension", c.Subject.String())
	}
	if !critical {
		return errWrap(ErrEKU, "extended key usage of %q is not critical", c.Subject.String())
	}
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) != 0 {
		return errWrap(ErrEKU, "extended key usage of %q is not exactly timeStamping", c.Subject.String())
	}
	if c.KeyUsage != 0 && c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return errWrap(ErrKeyUsage, "key usage of %q lacks digitalSignature", c.Subject.String())
	}
	return nil
}
