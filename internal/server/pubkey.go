package server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/crypt4gh-go/crypt4gh"
)

// PublicKeyHeaders are the request headers a client's Crypt4GH public key
// may arrive in: ours first, then the names NeIC SDA / htsget-rs and the
// DRS Crypt4GH proof of concept use, so their clients work unchanged.
var PublicKeyHeaders = []string{"X-C4GH-Public-Key", "Htsget-Context-Public-Key", "Crypt4Gh-Pubkey"}

var (
	errNoPublicKey  = errors.New("no Crypt4GH public key: send it base64-encoded in the X-C4GH-Public-Key header")
	errBadPublicKey = errors.New("malformed Crypt4GH public key: want base64 of a 32-byte X25519 key or of a Crypt4GH public key file")
	errTwoKeys      = errors.New("conflicting Crypt4GH public keys in the request headers")
)

// maxPublicKeyHeader bounds the header value before decoding; a
// post-quantum public key file is about 2.2 KB, base64 a third more.
const maxPublicKeyHeader = 8 << 10

// requesterKey returns the recipient the response is sealed for. Several
// of the accepted headers may be present only if they carry the same key.
func requesterKey(h http.Header) (crypt4gh.Recipient, []byte, error) {
	var found string
	for _, name := range PublicKeyHeaders {
		for _, v := range h.Values(name) {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			if found != "" && v != found {
				return nil, nil, errTwoKeys
			}
			found = v
		}
	}
	if found == "" {
		return nil, nil, errNoPublicKey
	}
	if len(found) > maxPublicKeyHeader {
		return nil, nil, errBadPublicKey
	}
	raw, err := base64.StdEncoding.DecodeString(found)
	if err != nil {
		if raw, err = base64.RawURLEncoding.DecodeString(strings.TrimRight(found, "=")); err != nil {
			return nil, nil, errBadPublicKey
		}
	}
	if len(raw) == 32 {
		r, err := crypt4gh.NewX25519Recipient(raw)
		if err != nil {
			return nil, nil, errBadPublicKey
		}
		return r, raw, nil
	}
	if bytes.Contains(raw, []byte("-----BEGIN")) {
		r, err := crypt4gh.ParsePublicKey(raw)
		if err != nil {
			return nil, nil, errBadPublicKey
		}
		return r, raw, nil
	}
	return nil, nil, errBadPublicKey
}
