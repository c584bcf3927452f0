package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

var (
	t2026 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2126 = time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC)
)

func newAuthority(t testing.TB, tweak func(*x509.Certificate)) *LocalAuthority {
	t.Helper()
	a, err := newLocalAuthority("test", t2026, t2126, tweak)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func digestOf(s string) []byte {
	d := sha256.Sum256([]byte(s))
	return d[:]
}

func stamp(t testing.TB, s Stamper, h crypto.Hash, digest []byte) []byte {
	t.Helper()
	tok, err := s.Stamp(context.Background(), h, digest)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLocalAuthorityCentury stamps at times spread over the authority's
// hundred-year validity and checks that every token verifies with its own
// time, imprint, policy and chain.
func TestLocalAuthorityCentury(t *testing.T) {
	a := newAuthority(t, nil)
	d512 := sha512.Sum512([]byte("root"))
	for _, tc := range []struct {
		at     time.Time
		h      crypto.Hash
		digest []byte
	}{
		{t2026, crypto.SHA256, digestOf("root")},
		{time.Date(2071, 6, 1, 12, 30, 15, 0, time.UTC), crypto.SHA256, digestOf("root")},
		{time.Date(2125, 12, 31, 23, 59, 59, 0, time.UTC), crypto.SHA512, d512[:]},
	} {
		tok := stamp(t, a.At(tc.at), tc.h, tc.digest)
		v, err := Verify(tok, tc.h, tc.digest, a.Roots())
		if err != nil {
			t.Fatalf("%s: %v", tc.at, err)
		}
		if !v.Time.Equal(tc.at) || v.Hash != tc.h || !v.Policy.Equal(LocalPolicy) {
			t.Errorf("got time %s hash %v policy %s, want %s %v %s", v.Time, v.Hash, v.Policy, tc.at, tc.h, LocalPolicy)
		}
		if v.Accuracy != time.Second || v.Serial == nil || v.Serial.Sign() <= 0 {
			t.Errorf("accuracy %v serial %v", v.Accuracy, v.Serial)
		}
		if !v.Signer.Equal(a.Certificate()) || len(v.Chain) != 2 || !v.Chain[1].Equal(a.Root()) {
			t.Errorf("signer or chain wrong: %d certificates", len(v.Chain))
		}
	}
}

// flipSignature corrupts the last byte of the CMS signature value.
func flipSignature(t testing.TB, tok []byte) []byte {
	t.Helper()
	p, err := parseToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(tok, p.signature)
	if i < 0 || bytes.Index(tok[i+1:], p.signature) >= 0 {
		t.Fatal("signature not found exactly once")
	}
	out := bytes.Clone(tok)
	out[i+len(p.signature)-1] ^= 1
	return out
}

// flipImprint corrupts the hashed message inside the signed TSTInfo.
func flipImprint(t testing.TB, tok, digest []byte) []byte {
	t.Helper()
	i := bytes.Index(tok, digest)
	if i < 0 {
		t.Fatal("imprint not found")
	}
	out := bytes.Clone(tok)
	out[i] ^= 1
	return out
}

func ekuExt(critical bool, oids ...asn1.ObjectIdentifier) pkix.Extension {
	v, err := asn1.Marshal(oids)
	if err != nil {
		panic(err)
	}
	return pkix.Extension{Id: oidEKU, Critical: critical, Value: v}
}

var (
	oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	oidCodeSigning  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 3}
)

func TestVerifyRejects(t *testing.T) {
	good := newAuthority(t, nil)
	other := newAuthority(t, nil)
	digest := digestOf("root")
	tok := stamp(t, good.At(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), crypto.SHA256, digest)

	rootsOf := func(tweak func(*x509.Certificate)) (*x509.CertPool, []byte) {
		a := newAuthority(t, tweak)
		return a.Roots(), stamp(t, a.At(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)), crypto.SHA256, digest)
	}
	noEKURoots, noEKU := rootsOf(func(c *x509.Certificate) { c.ExtraExtensions = nil })
	nonCritRoots, nonCrit := rootsOf(func(c *x509.Certificate) {
		c.ExtraExtensions = []pkix.Extension{ekuExt(false, oidTimeStamping)}
	})
	twoEKURoots, twoEKU := rootsOf(func(c *x509.Certificate) {
		c.ExtraExtensions = []pkix.Extension{ekuExt(true, oidTimeStamping, oidCodeSigning)}
	})
	codeSignRoots, codeSign := rootsOf(func(c *x509.Certificate) {
		c.ExtraExtensions = []pkix.Extension{ekuExt(true, oidCodeSigning)}
	})
	kuRoots, badKU := rootsOf(func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment })

	oversized := make([]byte, MaxTokenSize+1)
	copy(oversized, tok)

	for _, tc := range []struct {
		name   string
		tok    []byte
		h      crypto.Hash
		digest []byte
		roots  *x509.CertPool
		want   error
	}{
		{"imprint of another digest", tok, crypto.SHA256, digestOf("other"), good.Roots(), ErrImprintMismatch},
		{"imprint with another hash", tok, crypto.SHA512, make([]byte, 64), good.Roots(), ErrImprintMismatch},
		{"untrusted CA", tok, crypto.SHA256, digest, other.Roots(), ErrChain},
		{"nil roots", tok, crypto.SHA256, digest, nil, ErrChain},
		{"no EKU", noEKU, crypto.SHA256, digest, noEKURoots, ErrEKU},
		{"EKU not critical", nonCrit, crypto.SHA256, digest, nonCritRoots, ErrEKU},
		{"EKU not only timeStamping", twoEKU, crypto.SHA256, digest, twoEKURoots, ErrEKU},
		{"EKU codeSigning", codeSign, crypto.SHA256, digest, codeSignRoots, ErrEKU},
		{"key usage without digitalSignature", badKU, crypto.SHA256, digest, kuRoots, ErrKeyUsage},
		{"genTime before validity", stamp(t, good.At(t2026.Add(-time.Hour)), crypto.SHA256, digest), crypto.SHA256, digest, good.Roots(), ErrValidity},
		{"genTime after validity", stamp(t, good.At(t2126.Add(time.Hour)), crypto.SHA256, digest), crypto.SHA256, digest, good.Roots(), ErrValidity},
		{"tampered signature", flipSignature(t, tok), crypto.SHA256, digest, good.Roots(), ErrSignature},
		{"tampered TSTInfo", flipImprint(t, tok, digest), crypto.SHA256, digest, good.Roots(), ErrSignature},
		{"truncated", tok[:len(tok)-10], crypto.SHA256, digest, good.Roots(), ErrMalformed},
		{"trailing data", append(bytes.Clone(tok), 0), crypto.SHA256, digest, good.Roots(), ErrMalformed},
		{"garbage", []byte("this is not a time-stamp token"), crypto.SHA256, digest, good.Roots(), ErrMalformed},
		{"empty", nil, crypto.SHA256, digest, good.Roots(), ErrMalformed},
		{"oversized", oversized, crypto.SHA256, digest, good.Roots(), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(tc.tok, tc.h, tc.digest, tc.roots)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestVerifyWithoutCertificates: a token whose TSA left out its
// certificate cannot be checked and must say so.
func TestVerifyWithoutCertificates(t *testing.T) {
	a := newAuthority(t, nil)
	digest := digestOf("x")
	resp, err := a.respond(crypto.SHA256, digest, t2026.Add(time.Hour), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := parseResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(tok, crypto.SHA256, digest, a.Roots()); !errors.Is(err, ErrSignature) {
		t.Fatalf("got %v, want ErrSignature", err)
	}
}

func TestHTTPStamper(t *testing.T) {
	a, err := NewLocalAuthority("http", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	defer srv.Close()
	digest := digestOf("over http")
	before := time.Now().Add(-time.Second)
	tok := stamp(t, NewHTTPStamper(srv.URL, srv.Client()), crypto.SHA256, digest)
	v, err := Verify(tok, crypto.SHA256, digest, a.Roots())
	if err != nil {
		t.Fatal(err)
	}
	if v.Time.Before(before.Truncate(time.Second)) || v.Time.After(time.Now()) {
		t.Errorf("genTime %s is not now", v.Time)
	}
	if v.Nonce == nil {
		t.Error("nonce not echoed")
	}
}

func TestHTTPStamperRejects(t *testing.T) {
	a, err := NewLocalAuthority("http", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	digest := digestOf("x")
	// A response recorded earlier, replayed: its nonce is not ours.
	replayed, err := a.respond(crypto.SHA256, digest, time.Now(), big.NewInt(12345), true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		want    error
	}{
		{"replayed response", reply(replayed, replyContentType, http.StatusOK), ErrNonce},
		{"HTTP error", reply([]byte("down"), "text/plain", http.StatusServiceUnavailable), ErrRejected},
		{"wrong content type", reply(replayed, "text/html", http.StatusOK), ErrRejected},
		{"oversized", reply(make([]byte, MaxTokenSize+10), replyContentType, http.StatusOK), ErrTooLarge},
		{"garbage", reply([]byte{0x30, 0x03, 0x02, 0x01}, replyContentType, http.StatusOK), ErrMalformed},
		{"TSA rejection", func(w http.ResponseWriter, r *http.Request) {
			// The local authority answers an unparsable request with a
			// TimeStampResp of status rejection (badDataFormat).
			r2 := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte{0x30, 0}))
			r2.Header.Set("Content-Type", queryContentType)
			a.ServeHTTP(w, r2)
		}, ErrRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			_, err := NewHTTPStamper(srv.URL, srv.Client()).Stamp(context.Background(), crypto.SHA256, digest)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func reply(body []byte, ct string, code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(code)
		w.Write(body)
	}
}

func TestServeHTTPTransportErrors(t *testing.T) {
	a := newAuthority(t, nil)
	for _, tc := range []struct {
		method, ct string
		want       int
	}{
		{http.MethodGet, queryContentType, http.StatusMethodNotAllowed},
		{http.MethodPost, "text/plain", http.StatusUnsupportedMediaType},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(tc.method, "/", bytes.NewReader(nil))
		r.Header.Set("Content-Type", tc.ct)
		a.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s %s: got %d, want %d", tc.method, tc.ct, w.Code, tc.want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	a := newAuthority(f, nil)
	digest := digestOf("fuzz")
	tok := stamp(f, a.At(time.Date(2050, 1, 1, 0, 0, 0, 0, time.UTC)), crypto.SHA256, digest)
	f.Add(tok)
	f.Add(tok[:len(tok)/2])
	f.Add(flipSignature(f, tok))
	f.Add([]byte{0x30, 0x80, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Verify(b, crypto.SHA256, digest, a.Roots())
		if err == nil && (v.Signer == nil || !v.Signer.Equal(a.Certificate())) {
			t.Fatal("verified a token not signed by the authority")
		}
		if _, err := parseResponse(b); err == nil {
			return
		}
	})
}

func TestLocalAuthorityPEM(t *testing.T) {
	a := newAuthority(t, nil)
	p, err := a.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseLocalAuthority(p)
	if err != nil {
		t.Fatal(err)
	}
	digest := digestOf("reloaded")
	tok := stamp(t, b.At(time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)), crypto.SHA256, digest)
	if _, err := Verify(tok, crypto.SHA256, digest, a.Roots()); err != nil {
		t.Fatalf("token from the reloaded authority does not verify under the original roots: %v", err)
	}
	other, _ := newAuthority(t, nil).MarshalPEM()
	blocks := bytes.SplitAfter(p, []byte("-----END CERTIFICATE-----\n"))
	otherBlocks := bytes.SplitAfter(other, []byte("-----END CERTIFICATE-----\n"))
	for name, bad := range map[string][]byte{
		"empty":             nil,
		"foreign key":       append(append(bytes.Clone(blocks[0]), blocks[1]...), otherBlocks[2]...),
		"foreign root":      append(append(bytes.Clone(otherBlocks[0]), blocks[1]...), blocks[2]...),
		"missing key":       append(bytes.Clone(blocks[0]), blocks[1]...),
		"certificates only": bytes.Join([][]byte{blocks[0], blocks[1], blocks[1]}, nil),
	} {
		if _, err := ParseLocalAuthority(bad); err == nil {
			t.Errorf("%s: accepted", name)
		} else if bytes.Contains([]byte(err.Error()), []byte("PRIVATE")) && bytes.Contains([]byte(err.Error()), []byte("MII")) {
			t.Errorf("%s: error leaks key material: %v", name, err)
		}
	}
}

// TestMarshalRequest: the request encoder writes DER that parses back to
// what was asked, with NULL parameters for SHA-2 and none for SHA-3
// (RFC 8702), and certReq left out when false (DEFAULT FALSE).
func TestMarshalRequest(t *testing.T) {
	for _, tc := range []struct {
		h        crypto.Hash
		wantNull bool
	}{{crypto.SHA256, true}, {crypto.SHA512, true}, {crypto.SHA3_256, false}, {crypto.SHA3_512, false}} {
		digest := make([]byte, tc.h.Size())
		digest[0] = 7
		for _, certReq := range []bool{true, false} {
			der, err := marshalRequest(tc.h, digest, big.NewInt(42), certReq)
			if err != nil {
				t.Fatal(err)
			}
			var req timeStampReq
			if rest, err := asn1.Unmarshal(der, &req); err != nil || len(rest) != 0 {
				t.Fatalf("%v: %v (%d trailing bytes)", tc.h, err, len(rest))
			}
			oid, _ := oidForHash(tc.h)
			hasNull := bytes.Equal(req.MessageImprint.HashAlgorithm.Parameters.FullBytes, asn1.NullBytes)
			if req.Version != 1 || !req.MessageImprint.HashAlgorithm.Algorithm.Equal(oid) || hasNull != tc.wantNull ||
				!bytes.Equal(req.MessageImprint.HashedMessage, digest) || req.Nonce.Int64() != 42 || req.CertReq != certReq {
				t.Errorf("%v certReq=%v: parsed back as %+v", tc.h, certReq, req)
			}
			if !certReq && bytes.Contains(der, []byte{0x01, 0x01, 0x00}) {
				t.Errorf("%v: certReq FALSE encoded explicitly", tc.h)
			}
		}
	}
	if _, err := marshalRequest(crypto.MD5, make([]byte, 16), nil, true); !errors.Is(err, ErrUnsupported) {
		t.Errorf("MD5: got %v", err)
	}
}
