package tsa

import (
	"bytes"
	"crypto"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	_ "crypto/sha1" // ESS signing-certificate (v1) identifies certificates by SHA-1
	_ "crypto/sha256"
	_ "crypto/sha3"
	_ "crypto/sha512"
)

// errWrap returns an error that wraps sentinel with a description of the
// failed check.
func errWrap(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

var (
	oidSignedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCert    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidSigningCertV2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSHA1           = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidSHA3_256       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 8}
	oidSHA3_512       = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 10}
	oidRSA            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASHA256      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidRSASHA384      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidRSASHA512      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey    = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSASHA256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSASHA384    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSASHA512    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidEd25519        = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidECDSAP256Curve = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7} // used as a signature OID by some CMS libraries
)

// hashForOID maps the digest algorithms accepted for imprints, message
// digests and ESS certificate hashes. SHA-1 is accepted only where
// allowSHA1 is set (the ESS v1 attribute, which is defined over SHA-1).
func hashForOID(oid asn1.ObjectIdentifier, allowSHA1 bool) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512):
		return crypto.SHA512, true
	case oid.Equal(oidSHA3_256):
		return crypto.SHA3_256, true
	case oid.Equal(oidSHA3_512):
		return crypto.SHA3_512, true
	case oid.Equal(oidSHA1) && allowSHA1:
		return crypto.SHA1, true
	}
	return 0, false
}

func oidForHash(h crypto.Hash) (asn1.ObjectIdentifier, bool) {
	switch h {
	case crypto.SHA256:
		return oidSHA256, true
	case crypto.SHA384:
		return oidSHA384, true
	case crypto.SHA512:
		return oidSHA512, true
	case crypto.SHA3_256:
		return oidSHA3_256, true
	case crypto.SHA3_512:
		return oidSHA3_512, true
	}
	return nil, false
}

// timeStampReq is RFC 3161's TimeStampReq without the fields this
// package never sends (reqPolicy, extensions). certReq is omitted when
// false, as DER requires for a DEFAULT FALSE field.
type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	Nonce          *big.Int `asn1:"optional"`
	CertReq        bool     `asn1:"optional"`
}

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

// marshalRequest encodes a TimeStampReq for digest, a hash by h. The
// SHA-2 algorithm identifiers carry NULL parameters, as OpenSSL writes
// them; the SHA-3 ones carry none, as RFC 8702 requires.
func marshalRequest(h crypto.Hash, digest []byte, nonce *big.Int, certReq bool) ([]byte, error) {
	oid, ok := oidForHash(h)
	if !ok {
		return nil, errWrap(ErrUnsupported, "imprint hash %v", h)
	}
	alg := pkix.AlgorithmIdentifier{Algorithm: oid}
	switch h {
	case crypto.SHA256, crypto.SHA384, crypto.SHA512:
		alg.Parameters = asn1.NullRawValue
	}
	return asn1.Marshal(timeStampReq{Version: 1, MessageImprint: messageImprint{alg, digest}, Nonce: nonce, CertReq: certReq})
}

// token is a parsed, not yet verified, TimeStampToken.
type token struct {
	certs       []*x509.Certificate
	signer      *x509.Certificate
	digestHash  crypto.Hash
	sigAlg      asn1.ObjectIdentifier
	signature   []byte
	signedAttrs []byte // DER of the SET OF Attribute, as signed (tag 0x31)
	attrs       map[string][][]byte
	eContent    []byte
	info        tstInfo
}

type tstInfo struct {
	policy   asn1.ObjectIdentifier
	hash     crypto.Hash
	imprint  []byte
	serial   *big.Int
	genTime  time.Time
	accuracy time.Duration
	nonce    *big.Int
}

func malformed(format string, args ...any) error { return errWrap(ErrMalformed, format, args...) }

var (
	tagCtx0Cons = cbasn1.Tag(0).Constructed().ContextSpecific()
	tagCtx1Cons = cbasn1.Tag(1).Constructed().ContextSpecific()
	tagCtx0Prim = cbasn1.Tag(0).ContextSpecific()
	tagCtx1Prim = cbasn1.Tag(1).ContextSpecific()
)

// parseToken decodes a DER TimeStampToken. It checks structure only; the
// signature and the semantic checks are separate steps.
func parseToken(der []byte) (*token, error) {
	if len(der) > MaxTokenSize {
		return nil, errWrap(ErrTooLarge, "token is %d bytes, limit %d", len(der), MaxTokenSize)
	}
	if len(der) == 0 {
		return nil, malformed("empty token")
	}
	in := cryptobyte.String(der)
	var ci, sdWrap, sd cryptobyte.String
	var ct asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, malformed("ContentInfo is not a single DER SEQUENCE")
	}
	if !ci.ReadASN1ObjectIdentifier(&ct) || !ct.Equal(oidSignedData) {
		return nil, malformed("content type is not SignedData")
	}
	if !ci.ReadASN1(&sdWrap, tagCtx0Cons) || !ci.Empty() || !sdWrap.ReadASN1(&sd, cbasn1.SEQUENCE) || !sdWrap.Empty() {
		return nil, malformed("bad SignedData wrapper")
	}

	var version int64
	var digestAlgs, eci cryptobyte.String
	if !sd.ReadASN1Integer(&version) || version < 1 || version > 5 {
		return nil, malformed("bad SignedData version")
	}
	if !sd.ReadASN1(&digestAlgs, cbasn1.SET) {
		return nil, malformed("bad SignedData digestAlgorithms")
	}
	if !sd.ReadASN1(&eci, cbasn1.SEQUENCE) {
		return nil, malformed("bad EncapsulatedContentInfo")
	}
	var eContentType asn1.ObjectIdentifier
	var eWrap, eContent cryptobyte.String
	if !eci.ReadASN1ObjectIdentifier(&eContentType) {
		return nil, malformed("bad eContentType")
	}
	if !eContentType.Equal(oidTSTInfo) {
		return nil, malformed("eContentType %s is not id-ct-TSTInfo", eContentType)
	}
	if !eci.ReadASN1(&eWrap, tagCtx0Cons) || !eci.Empty() || !eWrap.ReadASN1(&eContent, cbasn1.OCTET_STRING) || !eWrap.Empty() {
		return nil, malformed("missing or bad eContent")
	}

	t := &token{eContent: eContent}
	var certs cryptobyte.String
	var hasCerts bool
	if !sd.ReadOptionalASN1(&certs, &hasCerts, tagCtx0Cons) {
		return nil, malformed("bad certificates field")
	}
	for !certs.Empty() {
		var c cryptobyte.String
		if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return nil, malformed("certificate set holds something other than a certificate")
		}
		if len(t.certs) == maxCerts {
			return nil, malformed("more than %d certificates", maxCerts)
		}
		cert, err := x509.ParseCertificate(c)
		if err != nil {
			return nil, malformed("certificate %d: %v", len(t.certs), err)
		}
		t.certs = append(t.certs, cert)
	}
	var skip cryptobyte.String
	if !sd.ReadOptionalASN1(&skip, nil, tagCtx1Cons) { // CRLs: not used
		return nil, malformed("bad crls field")
	}
	var sis, si cryptobyte.String
	if !sd.ReadASN1(&sis, cbasn1.SET) || !sd.Empty() {
		return nil, malformed("bad signerInfos")
	}
	if !sis.ReadASN1(&si, cbasn1.SEQUENCE) {
		return nil, malformed("no SignerInfo")
	}
	if !sis.Empty() {
		return nil, malformed("more than one SignerInfo")
	}
	if err := t.parseSignerInfo(si); err != nil {
		return nil, err
	}
	info, err := parseTSTInfo(eContent)
	if err != nil {
		return nil, err
	}
	t.info = info
	return t, nil
}

func (t *token) parseSignerInfo(si cryptobyte.String) error {
	var version int64
	if !si.ReadASN1Integer(&version) || (version != 1 && version != 3) {
		return malformed("bad SignerInfo version")
	}
	switch {
	case si.PeekASN1Tag(cbasn1.SEQUENCE): // issuerAndSerialNumber
		var ias, issuer cryptobyte.String
		serial := new(big.Int)
		if !si.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
			!ias.ReadASN1Integer(serial) || !ias.Empty() {
			return malformed("bad issuerAndSerialNumber")
		}
		for _, c := range t.certs {
			if bytes.Equal(c.RawIssuer, issuer) && c.SerialNumber.Cmp(serial) == 0 {
				t.signer = c
				break
			}
		}
	case si.PeekASN1Tag(tagCtx0Prim): // subjectKeyIdentifier
		var ski cryptobyte.String
		if !si.ReadASN1(&ski, tagCtx0Prim) {
			return malformed("bad subjectKeyIdentifier")
		}
		for _, c := range t.certs {
			if len(ski) > 0 && bytes.Equal(c.SubjectKeyId, ski) {
				t.signer = c
				break
			}
		}
	default:
		return malformed("bad SignerIdentifier")
	}

	digestOID, err := readAlgorithm(&si)
	if err != nil {
		return err
	}
	var ok bool
	if t.digestHash, ok = hashForOID(digestOID, false); !ok {
		return errWrap(ErrUnsupported, "digest algorithm %s", digestOID)
	}
	var attrs cryptobyte.String
	if !si.PeekASN1Tag(tagCtx0Cons) {
		// RFC 3161 requires the ESS signing-certificate attribute, hence
		// signed attributes.
		return malformed("SignerInfo has no signed attributes")
	}
	if !si.ReadASN1Element(&attrs, tagCtx0Cons) {
		return malformed("bad signedAttrs")
	}
	if t.sigAlg, err = readAlgorithm(&si); err != nil {
		return err
	}
	var sig cryptobyte.String
	if !si.ReadASN1(&sig, cbasn1.OCTET_STRING) {
		return malformed("bad signature field")
	}
	t.signature = sig
	var unsigned cryptobyte.String // unsigned attributes: not used
	if !si.ReadOptionalASN1(&unsigned, nil, tagCtx1Cons) || !si.Empty() {
		return malformed("trailing data in SignerInfo")
	}

	// The signature covers the DER SET OF encoding of the attributes, that
	// is the [0] IMPLICIT element with its tag replaced by SET.
	t.signedAttrs = append([]byte{0x31}, attrs[1:]...)
	var set cryptobyte.String
	if signed := cryptobyte.String(t.signedAttrs); !signed.ReadASN1(&set, cbasn1.SET) || !signed.Empty() {
		return malformed("bad signedAttrs")
	}
	t.attrs = make(map[string][][]byte)
	for !set.Empty() {
		var a, values cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !set.ReadASN1(&a, cbasn1.SEQUENCE) || !a.ReadASN1ObjectIdentifier(&oid) ||
			!a.ReadASN1(&values, cbasn1.SET) || !a.Empty() {
			return malformed("bad signed attribute")
		}
		key := oid.String()
		if _, dup := t.attrs[key]; dup {
			return malformed("signed attribute %s appears twice", key)
		}
		var vs [][]byte
		for !values.Empty() {
			var v cryptobyte.String
			var tag cbasn1.Tag
			if !values.ReadAnyASN1Element(&v, &tag) {
				return malformed("bad value of signed attribute %s", key)
			}
			vs = append(vs, v)
		}
		t.attrs[key] = vs
	}
	return nil
}

// readAlgorithm reads an AlgorithmIdentifier and returns its OID. Absent or
// NULL parameters are accepted; algorithms needing parameters (such as
// RSASSA-PSS) are not supported.
func readAlgorithm(s *cryptobyte.String) (asn1.ObjectIdentifier, error) {
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, malformed("bad AlgorithmIdentifier")
	}
	if !alg.Empty() {
		var null cryptobyte.String
		if !alg.ReadASN1(&null, cbasn1.NULL) || !null.Empty() || !alg.Empty() {
			if oid.Equal(oidECDSAP256Curve) || oid.Equal(oidECPublicKey) {
				// Some CMS writers put the curve here; it carries no
				// information the certificate does not.
				return oid, nil
			}
			return nil, errWrap(ErrUnsupported, "algorithm %s with parameters", oid)
		}
	}
	return oid, nil
}

func parseTSTInfo(der []byte) (tstInfo, error) {
	var info tstInfo
	in := cryptobyte.String(der)
	var s, mi, hashed cryptobyte.String
	var version int64
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) || !in.Empty() {
		return info, malformed("TSTInfo is not a DER SEQUENCE")
	}
	if !s.ReadASN1Integer(&version) || version != 1 {
		return info, malformed("TSTInfo version is not 1")
	}
	if !s.ReadASN1ObjectIdentifier(&info.policy) {
		return info, malformed("bad TSTInfo policy")
	}
	if !s.ReadASN1(&mi, cbasn1.SEQUENCE) {
		return info, malformed("bad messageImprint")
	}
	hashOID, err := readAlgorithm(&mi)
	if err != nil {
		return info, err
	}
	if !mi.ReadASN1(&hashed, cbasn1.OCTET_STRING) || !mi.Empty() {
		return info, malformed("bad messageImprint hashedMessage")
	}
	var ok bool
	if info.hash, ok = hashForOID(hashOID, false); !ok {
		return info, errWrap(ErrUnsupported, "imprint hash %s", hashOID)
	}
	if len(hashed) != info.hash.Size() {
		return info, malformed("imprint is %d bytes, %v needs %d", len(hashed), info.hash, info.hash.Size())
	}
	info.imprint = hashed
	info.serial = new(big.Int)
	if !s.ReadASN1Integer(info.serial) {
		return info, malformed("bad TSTInfo serialNumber")
	}
	var gt cryptobyte.String
	if !s.ReadASN1(&gt, cbasn1.GeneralizedTime) {
		return info, malformed("bad TSTInfo genTime")
	}
	if info.genTime, err = parseGeneralizedTime(string(gt)); err != nil {
		return info, err
	}
	if s.PeekASN1Tag(cbasn1.SEQUENCE) {
		var acc cryptobyte.String
		s.ReadASN1(&acc, cbasn1.SEQUENCE)
		sec, ok1 := readImplicitInt(&acc, cbasn1.INTEGER)
		ms, ok2 := readImplicitInt(&acc, tagCtx0Prim)
		us, ok3 := readImplicitInt(&acc, tagCtx1Prim)
		if !ok1 || !ok2 || !ok3 || !acc.Empty() ||
			sec < 0 || sec > 1<<32 || ms < 0 || ms > 999 || us < 0 || us > 999 {
			return info, malformed("bad TSTInfo accuracy")
		}
		info.accuracy = time.Duration(sec)*time.Second + time.Duration(ms)*time.Millisecond + time.Duration(us)*time.Microsecond
	}
	if s.PeekASN1Tag(cbasn1.BOOLEAN) {
		var ordering bool
		if !s.ReadASN1Boolean(&ordering) {
			return info, malformed("bad TSTInfo ordering")
		}
	}
	if s.PeekASN1Tag(cbasn1.INTEGER) {
		info.nonce = new(big.Int)
		if !s.ReadASN1Integer(info.nonce) {
			return info, malformed("bad TSTInfo nonce")
		}
	}
	var skip cryptobyte.String
	if !s.ReadOptionalASN1(&skip, nil, tagCtx0Cons) || // tsa GeneralName: a hint only
		!s.ReadOptionalASN1(&skip, nil, tagCtx1Cons) || !s.Empty() { // extensions
		return info, malformed("trailing data in TSTInfo")
	}
	return info, nil
}

// readImplicitInt reads an optional INTEGER carried under tag (RFC 3161
// uses IMPLICIT tags, which cryptobyte's optional readers do not handle).
// An absent field reads as zero.
func readImplicitInt(s *cryptobyte.String, tag cbasn1.Tag) (int64, bool) {
	if !s.PeekASN1Tag(tag) {
		return 0, true
	}
	var content cryptobyte.String
	if !s.ReadASN1(&content, tag) || len(content) == 0 || len(content) > 8 {
		return 0, false
	}
	var v int64
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(content) })
	der := cryptobyte.String(b.BytesOrPanic())
	return v, der.ReadASN1Integer(&v)
}

// parseGeneralizedTime parses a DER GeneralizedTime: UTC ("Z"), seconds
// present, optional fraction without trailing zeros.
func parseGeneralizedTime(s string) (time.Time, error) {
	if len(s) < 15 || s[len(s)-1] != 'Z' {
		return time.Time{}, malformed("genTime %q is not a UTC GeneralizedTime", s)
	}
	body := s[:len(s)-1]
	if len(body) > 14 {
		frac := body[14:]
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 || strings.HasSuffix(frac, "0") {
			return time.Time{}, malformed("genTime %q has a bad fraction", s)
		}
	}
	for i, c := range body {
		if i != 14 && (c < '0' || c > '9') {
			return time.Time{}, malformed("genTime %q is not a GeneralizedTime", s)
		}
	}
	t, err := time.Parse("20060102150405", body)
	if err != nil {
		return time.Time{}, malformed("genTime %q: %v", s, err)
	}
	return t.UTC(), nil
}

// checkSignature checks the signed content-type and message-digest
// attributes and the signature over the signed attributes.
func (t *token) checkSignature() error {
	if t.signer == nil {
		return errWrap(ErrSignature, "signer certificate not included in the token")
	}
	ct := t.attrs[oidContentType.String()]
	var oid asn1.ObjectIdentifier
	if len(ct) != 1 {
		return malformed("content-type attribute must have exactly one value")
	}
	if rest, err := asn1.Unmarshal(ct[0], &oid); err != nil || len(rest) != 0 || !oid.Equal(oidTSTInfo) {
		return errWrap(ErrSignature, "signed content-type attribute is not id-ct-TSTInfo")
	}
	md := t.attrs[oidMessageDigest.String()]
	if len(md) != 1 {
		return malformed("message-digest attribute must have exactly one value")
	}
	var want cryptobyte.String
	if s := cryptobyte.String(md[0]); !s.ReadASN1(&want, cbasn1.OCTET_STRING) || !s.Empty() {
		return malformed("bad message-digest attribute")
	}
	h := t.digestHash.New()
	h.Write(t.eContent)
	if subtle.ConstantTimeCompare(h.Sum(nil), want) != 1 {
		return errWrap(ErrSignature, "message digest does not match the TSTInfo")
	}
	alg, err := signatureAlgorithm(t.sigAlg, t.digestHash)
	if err != nil {
		return err
	}
	if err := t.signer.CheckSignature(alg, t.signedAttrs, t.signature); err != nil {
		return errWrap(ErrSignature, "%v", err)
	}
	return nil
}

// signatureAlgorithm maps a CMS signatureAlgorithm (which, for RSA and for
// some ECDSA writers, names only the key type) and the SignerInfo digest to
// an x509 algorithm, refusing combinations that disagree.
func signatureAlgorithm(sig asn1.ObjectIdentifier, digest crypto.Hash) (x509.SignatureAlgorithm, error) {
	byDigest := func(m map[crypto.Hash]x509.SignatureAlgorithm) (x509.SignatureAlgorithm, error) {
		if a, ok := m[digest]; ok {
			return a, nil
		}
		return 0, errWrap(ErrUnsupported, "signature algorithm %s with digest %v", sig, digest)
	}
	exact := func(h crypto.Hash, a x509.SignatureAlgorithm) (x509.SignatureAlgorithm, error) {
		if h != digest {
			return 0, errWrap(ErrSignature, "signature algorithm %s disagrees with digest algorithm %v", sig, digest)
		}
		return a, nil
	}
	ecdsa := map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.ECDSAWithSHA256, crypto.SHA384: x509.ECDSAWithSHA384, crypto.SHA512: x509.ECDSAWithSHA512}
	rsa := map[crypto.Hash]x509.SignatureAlgorithm{crypto.SHA256: x509.SHA256WithRSA, crypto.SHA384: x509.SHA384WithRSA, crypto.SHA512: x509.SHA512WithRSA}
	switch {
	case sig.Equal(oidECDSASHA256):
		return exact(crypto.SHA256, x509.ECDSAWithSHA256)
	case sig.Equal(oidECDSASHA384):
		return exact(crypto.SHA384, x509.ECDSAWithSHA384)
	case sig.Equal(oidECDSASHA512):
		return exact(crypto.SHA512, x509.ECDSAWithSHA512)
	case sig.Equal(oidECPublicKey), sig.Equal(oidECDSAP256Curve):
		return byDigest(ecdsa)
	case sig.Equal(oidRSA):
		return byDigest(rsa)
	case sig.Equal(oidRSASHA256):
		return exact(crypto.SHA256, x509.SHA256WithRSA)
	case sig.Equal(oidRSASHA384):
		return exact(crypto.SHA384, x509.SHA384WithRSA)
	case sig.Equal(oidRSASHA512):
		return exact(crypto.SHA512, x509.SHA512WithRSA)
	case sig.Equal(oidEd25519):
		return x509.PureEd25519, nil
	}
	return 0, errWrap(ErrUnsupported, "signature algorithm %s", sig)
}

func (t *token) checkImprint(h crypto.Hash, digest []byte) error {
	if h != t.info.hash {
		return errWrap(ErrImprintMismatch, "token imprint uses %v, expected %v", t.info.hash, h)
	}
	if subtle.ConstantTimeCompare(t.info.imprint, digest) != 1 {
		return errWrap(ErrImprintMismatch, "token is over a different %v digest", h)
	}
	return nil
}

// checkESS checks that the signing-certificate attributes (v1, v2 or both)
// name the signer certificate: RFC 5035 binds the certificate to the
// signature so that a substituted certificate with the same key is caught.
func (t *token) checkESS() error {
	v1 := t.attrs[oidSigningCert.String()]
	v2 := t.attrs[oidSigningCertV2.String()]
	if len(v1) == 0 && len(v2) == 0 {
		return errWrap(ErrESS, "no signing-certificate attribute")
	}
	if len(v1) > 1 || len(v2) > 1 {
		return errWrap(ErrESS, "signing-certificate attribute with several values")
	}
	if len(v1) == 1 {
		if err := t.checkESSValue(v1[0], false); err != nil {
			return err
		}
	}
	if len(v2) == 1 {
		if err := t.checkESSValue(v2[0], true); err != nil {
			return err
		}
	}
	return nil
}

func (t *token) checkESSValue(der []byte, v2 bool) error {
	in := cryptobyte.String(der)
	var sc, ids, id, certHash cryptobyte.String
	if !in.ReadASN1(&sc, cbasn1.SEQUENCE) || !in.Empty() || !sc.ReadASN1(&ids, cbasn1.SEQUENCE) ||
		!ids.ReadASN1(&id, cbasn1.SEQUENCE) {
		return errWrap(ErrESS, "malformed signing-certificate attribute")
	}
	h := crypto.SHA1
	if v2 {
		h = crypto.SHA256
		if id.PeekASN1Tag(cbasn1.SEQUENCE) {
			oid, err := readAlgorithm(&id)
			if err != nil {
				return errWrap(ErrESS, "signing-certificate-v2 hash: %v", err)
			}
			var ok bool
			if h, ok = hashForOID(oid, false); !ok {
				return errWrap(ErrESS, "signing-certificate-v2 hash %s not supported", oid)
			}
		}
	}
	if !id.ReadASN1(&certHash, cbasn1.OCTET_STRING) {
		return errWrap(ErrESS, "malformed ESSCertID")
	}
	d := h.New()
	d.Write(t.signer.Raw)
	if subtle.ConstantTimeCompare(d.Sum(nil), certHash) != 1 {
		return errWrap(ErrESS, "certificate hash does not match the signer certificate")
	}
	if id.Empty() {
		return nil
	}
	// IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }
	var is, names, name, dn cryptobyte.String
	serial := new(big.Int)
	if !id.ReadASN1(&is, cbasn1.SEQUENCE) || !id.Empty() || !is.ReadASN1(&names, cbasn1.SEQUENCE) ||
		!is.ReadASN1Integer(serial) || !is.Empty() {
		return errWrap(ErrESS, "malformed issuerSerial")
	}
	if !names.ReadASN1(&name, cbasn1.Tag(4).Constructed().ContextSpecific()) || !names.Empty() ||
		!name.ReadASN1Element(&dn, cbasn1.SEQUENCE) || !name.Empty() {
		return errWrap(ErrESS, "issuerSerial issuer is not a single directory name")
	}
	if !bytes.Equal(dn, t.signer.RawIssuer) || serial.Cmp(t.signer.SerialNumber) != 0 {
		return errWrap(ErrESS, "issuerSerial does not name the signer certificate")
	}
	return nil
}
