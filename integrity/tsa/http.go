package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"strings"

	"github.com/digitorus/timestamp"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

const (
	queryContentType = "application/timestamp-query"
	replyContentType = "application/timestamp-reply"
)

// NewHTTPStamper returns a Stamper that asks the TSA at url for tokens over
// the RFC 3161 HTTP transport (section 3.4): it POSTs a TimeStampReq with a
// fresh 64-bit nonce and certReq set, and accepts the answer only if the
// HTTP status is 200, the body is at most MaxTokenSize bytes, the PKI status
// is granted, and the token is well formed, echoes the nonce, carries and is
// signed by its signer certificate, and is over the requested imprint.
//
// A nil client means http.DefaultClient. The trust decision is left to
// [Verify]: Stamp does not know the caller's roots.
func NewHTTPStamper(url string, client *http.Client) Stamper {
	if client == nil {
		client = http.DefaultClient
	}
	return &httpStamper{url: url, client: client}
}

type httpStamper struct {
	url    string
	client *http.Client
}

func (s *httpStamper) Stamp(ctx context.Context, h crypto.Hash, digest []byte) ([]byte, error) {
	if _, ok := oidForHash(h); !ok {
		return nil, errWrap(ErrUnsupported, "imprint hash %v", h)
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("tsa: digest is %d bytes, %v needs %d", len(digest), h, h.Size())
	}
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to draw a nonce: %w", err)
	}
	req, err := marshalRequest(h, digest, nonce, true)
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to encode the request: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("tsa: %w", err)
	}
	hr.Header.Set("Content-Type", queryContentType)
	hr.Header.Set("Accept", replyContentType)
	resp, err := s.client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("tsa: request to %s failed: %w", s.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered HTTP %s", ErrRejected, s.url, resp.Status)
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != replyContentType {
		return nil, fmt.Errorf("%w: %s answered with content type %q, not %s", ErrRejected, s.url, ct, replyContentType)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxTokenSize+1))
	if err != nil {
		return nil, fmt.Errorf("tsa: failed to read the response from %s: %w", s.url, err)
	}
	if len(body) > MaxTokenSize {
		return nil, errWrap(ErrTooLarge, "response from %s exceeds %d bytes", s.url, MaxTokenSize)
	}
	tok, err := parseResponse(body)
	if err != nil {
		return nil, err
	}
	t, err := parseToken(tok)
	if err != nil {
		return nil, err
	}
	if t.info.nonce == nil || t.info.nonce.Cmp(nonce) != 0 {
		return nil, errWrap(ErrNonce, "response from %s does not echo the request nonce", s.url)
	}
	if err := t.checkImprint(h, digest); err != nil {
		return nil, err
	}
	if err := t.checkSignature(); err != nil {
		return nil, err
	}
	if err := t.checkESS(); err != nil {
		return nil, err
	}
	return tok, nil
}

// parseResponse decodes a TimeStampResp and returns its token if the
// status is granted (0) or grantedWithMods (1).
func parseResponse(der []byte) ([]byte, error) {
	in := cryptobyte.String(der)
	var resp, status cryptobyte.String
	if !in.ReadASN1(&resp, cbasn1.SEQUENCE) || !in.Empty() || !resp.ReadASN1(&status, cbasn1.SEQUENCE) {
		return nil, malformed("TimeStampResp is not a DER SEQUENCE")
	}
	var code int64
	if !status.ReadASN1Integer(&code) {
		return nil, malformed("bad PKIStatus")
	}
	if code != 0 && code != 1 {
		var texts []string
		var free cryptobyte.String
		if status.PeekASN1Tag(cbasn1.SEQUENCE) && status.ReadASN1(&free, cbasn1.SEQUENCE) {
			for !free.Empty() {
				var s cryptobyte.String
				if !free.ReadASN1(&s, cbasn1.UTF8String) {
					break
				}
				texts = append(texts, strings.ToValidUTF8(string(s), "?"))
			}
		}
		var fail string
		var bits []byte
		var bs cryptobyte.String
		if status.PeekASN1Tag(cbasn1.BIT_STRING) && status.ReadASN1(&bs, cbasn1.BIT_STRING) && len(bs) > 1 {
			bits = bs[1:]
			for i := 0; i < len(bits)*8 && i < 32; i++ {
				if bits[i/8]&(0x80>>(i%8)) != 0 {
					fail += fmt.Sprintf(" failInfo=%d (%s)", i, timestamp.FailureInfo(i))
				}
			}
		}
		return nil, fmt.Errorf("%w: PKIStatus %d %q%s", ErrRejected, code, texts, fail)
	}
	var tok cryptobyte.String
	if !resp.ReadASN1Element(&tok, cbasn1.SEQUENCE) || !resp.Empty() {
		return nil, malformed("granted TimeStampResp carries no token")
	}
	return tok, nil
}
