// Package remote reads Crypt4GH files over HTTP without downloading them
// whole.
//
// [HTTPReaderAt] is an [io.ReaderAt] over any HTTP resource that honours
// single-range requests (an archive's payload endpoint, a presigned object
// storage URL, a plain web server). It pins the resource's ETag so that a
// file replaced on the server mid-read is an error rather than a mix of old
// and new bytes, checks every 206 response exactly, and retries transient
// failures a bounded number of times.
//
// [Open] opens a file served by a Crypt4GH archive that keeps headers apart
// from payloads (GET {file}/header re-encrypted for the caller's key, GET
// {file}/payload by range), and [OpenFile] a whole Crypt4GH file at any
// range-capable URL. Both return a [crypt4gh.ReaderAt]: reads fetch and
// decrypt only the segments they touch.
package remote

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// Header names of the archive server's protocol.
const (
	// PublicKeyHeader carries the requester's public key, base64: the raw
	// 32-byte X25519 key or a whole public key file.
	PublicKeyHeader = "X-C4GH-Public-Key"
	// PayloadSizeHeader is the encrypted payload size sent with a
	// detached header.
	PayloadSizeHeader = "X-C4GH-Payload-Size"
	// PlaintextSizeHeader is the plaintext size sent with a detached
	// header.
	PlaintextSizeHeader = "X-C4GH-Plaintext-Size"
)

var (
	// ErrChanged means the resource changed on the server (another ETag,
	// another size, or a failed If-Match) while it was being read. Bytes
	// read before and after the change must not be combined: open it again.
	ErrChanged = errors.New("remote: the object changed on the server while it was being read")
	// ErrNoRangeSupport means the server answered a range request with
	// the whole resource (200 instead of 206): it cannot be read at offsets.
	ErrNoRangeSupport = errors.New("remote: the server does not support range requests")
	// ErrBadResponse means a response breaks the HTTP range protocol or
	// the archive's: a missing or malformed Content-Range, a body of the
	// wrong length, a header with trailing bytes.
	ErrBadResponse = errors.New("remote: malformed response")
)

// StatusError is an HTTP error status, with the message the server gave in
// its body (DRS, htsget and S3 error documents are understood; otherwise the
// body's first line), cleaned of control characters.
type StatusError struct {
	Method     string
	URL        string // scheme, host and path: the query (which may hold a signature) is left out
	StatusCode int
	Status     string // "404 Not Found"
	Message    string // the server's message, "" if none
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Method, e.URL, e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Temporary reports a status worth retrying: 408, 429 and 5xx except 501.
func (e *StatusError) Temporary() bool {
	switch e.StatusCode {
	case http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return e.StatusCode >= 500 && e.StatusCode <= 599
}

// maxErrorBody bounds what is read of an error response.
const maxErrorBody = 64 << 10

// ResponseError reads (at most 64 KiB of) an error response's body and
// closes it, and returns the StatusError describing it.
func ResponseError(resp *http.Response) *StatusError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	e := &StatusError{StatusCode: resp.StatusCode, Status: resp.Status, Message: errorMessage(body)}
	if e.Status == "" {
		e.Status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	if req := resp.Request; req != nil {
		e.Method = req.Method
		e.URL = RedactURL(req.URL)
	}
	return e
}

// RedactURL returns u without its query, fragment and user information,
// which may hold credentials (presigned URLs carry signatures in the
// query), for messages and logs.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := c.String()
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}

// errorMessage extracts the message of an error document: DRS
// {"msg": …}, htsget {"htsget": {"error": …, "message": …}}, S3
// <Error><Code/><Message/></Error>, else the first line of text.
func errorMessage(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var doc struct {
		Msg     string `json:"msg"`
		Message string `json:"message"`
		Error   any    `json:"error"`
		Htsget  *struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		} `json:"htsget"`
	}
	if body[0] == '{' && json.Unmarshal(body, &doc) == nil {
		switch {
		case doc.Htsget != nil && (doc.Htsget.Error != "" || doc.Htsget.Message != ""):
			return clean(joinNonEmpty(doc.Htsget.Error, doc.Htsget.Message))
		case doc.Msg != "":
			return clean(doc.Msg)
		case doc.Message != "":
			return clean(doc.Message)
		}
		if s, ok := doc.Error.(string); ok && s != "" {
			return clean(s)
		}
	}
	if body[0] == '<' {
		var x struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		if xml.Unmarshal(body, &x) == nil && (x.Code != "" || x.Message != "") {
			return clean(joinNonEmpty(x.Code, x.Message))
		}
	}
	line, _, _ := strings.Cut(string(body), "\n")
	return clean(line)
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}

// clean makes server text safe to print on a terminal: no control
// characters, no invalid UTF-8, at most 300 characters.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "…"
	}
	return s
}
