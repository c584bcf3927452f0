package remote

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/crypt4gh-go/crypt4gh"
)

// maxHeaderFetch bounds the bytes read of a header, as crypt4gh.ReadHeader
// bounds what it accepts.
const maxHeaderFetch = 64 << 20

// Open opens a file of a Crypt4GH archive that serves headers and
// payloads apart: fileURL is the file's resource (https://HOST/files/ID).
// It fetches {fileURL}/header with publicKey in the X-C4GH-Public-Key header
// (publicKey is a raw 32-byte X25519 key or the bytes of a public key file;
// it is sent base64 encoded), decrypts that header with id, and reads the
// encrypted payload from {fileURL}/payload by range. header is sent with
// every request (Authorization); client nil means http.DefaultClient.
//
// Reads of the returned ReaderAt fetch only the segments they touch (and
// the last segment, which is authenticated when the file is opened). ctx
// governs those reads too. The file's expiry, if any, is checked.
func Open(ctx context.Context, client *http.Client, fileURL string, id crypt4gh.Identity, publicKey []byte, header http.Header) (*crypt4gh.ReaderAt, error) {
	if client == nil {
		client = http.DefaultClient
	}
	headerURL, err := subresource(fileURL, "header")
	if err != nil {
		return nil, err
	}
	payloadURL, err := subresource(fileURL, "payload")
	if err != nil {
		return nil, err
	}
	hh := header.Clone()
	if hh == nil {
		hh = http.Header{}
	}
	hh.Set(PublicKeyHeader, base64.StdEncoding.EncodeToString(publicKey))

	var h *crypt4gh.Header
	payloadSize := int64(-1)
	err = newRetrier(ctx, nil).retry(func() error {
		h, payloadSize, err = fetchHeader(ctx, client, headerURL, hh)
		return err
	})
	if err != nil {
		return nil, err
	}
	c, err := h.Decrypt(id)
	if err != nil {
		return nil, err
	}
	payload, err := NewHTTPReaderAt(ctx, client, payloadURL, header)
	if err != nil {
		c.Zero()
		return nil, err
	}
	if payloadSize >= 0 && payloadSize != payload.Size() {
		c.Zero()
		return nil, fmt.Errorf("%w: the header says the payload is %d bytes, %s has %d", ErrBadResponse, payloadSize, payload.redacted(), payload.Size())
	}
	r, err := crypt4gh.NewReaderAtFromContent(payload, payload.Size(), c, crypt4gh.DecryptOptions{})
	if err != nil {
		c.Zero()
		return nil, err
	}
	return r, nil
}

// fetchHeader GETs a detached header; it returns the payload size the
// server announced, or -1.
func fetchHeader(ctx context.Context, client *http.Client, u string, header http.Header) (*crypt4gh.Header, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header = header.Clone()
	resp, err := send(client, req, http.StatusOK)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	where := RedactURL(req.URL)
	size := int64(-1)
	if v := resp.Header.Get(PayloadSizeHeader); v != "" {
		if size, err = parseDecimal(v); err != nil {
			return nil, 0, fmt.Errorf("%w: %s: %s %q %v", ErrBadResponse, where, PayloadSizeHeader, truncate(v, 40), err)
		}
	}
	br := bufio.NewReader(io.LimitReader(resp.Body, maxHeaderFetch+1))
	h, err := crypt4gh.ReadHeader(br)
	if err != nil {
		if errors.Is(err, crypt4gh.ErrTruncated) && resp.ContentLength < 0 {
			// The body may have been cut in transit.
			return nil, 0, &transientError{err: fmt.Errorf("%s: %w", where, err)}
		}
		return nil, 0, fmt.Errorf("%s: %w", where, err)
	}
	if _, err := br.ReadByte(); err == nil {
		return nil, 0, fmt.Errorf("%w: %s: bytes follow the header", ErrBadResponse, where)
	}
	return h, size, nil
}

// subresource returns base with one more path segment, keeping its query.
func subresource(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("remote: bad URL: %w", err)
	}
	return u.JoinPath(name).String(), nil
}

// OpenFile opens a whole Crypt4GH file (header and payload) at url, which
// must support range requests: a presigned object storage URL, a web
// server, an archive's /files/ID with a key header given in header. The
// header is decrypted with ids. Reads fetch only the segments they touch.
// ctx governs the reads of the returned ReaderAt too.
func OpenFile(ctx context.Context, client *http.Client, url string, header http.Header, ids ...crypt4gh.Identity) (*crypt4gh.ReaderAt, error) {
	src, err := NewHTTPReaderAt(ctx, client, url, header)
	if err != nil {
		return nil, err
	}
	head, err := readHead(src)
	if err != nil {
		return nil, err
	}
	return crypt4gh.DecryptReaderAt(&headCache{src: src, head: head}, src.Size(), ids...)
}

// headChunk is the first fetch of a file's start: a typical header is a
// few hundred bytes.
const headChunk = 64 << 10

// readHead fetches the start of src until it holds the whole header (or
// the header is found malformed, which the decryption will report).
func readHead(src *HTTPReaderAt) ([]byte, error) {
	var head []byte
	for n := int64(headChunk); ; n *= 4 {
		n = min(n, src.Size(), maxHeaderFetch)
		if int64(len(head)) < n {
			more := make([]byte, n-int64(len(head)))
			if _, err := src.ReadAt(more, int64(len(head))); err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			head = append(head, more...)
		}
		_, _, err := crypt4gh.ParseHeader(head)
		if !errors.Is(err, crypt4gh.ErrTruncated) || n == src.Size() || n == maxHeaderFetch {
			return head, nil
		}
	}
}

// headCache serves reads of the start of a file from memory, so that
// parsing the header costs no request per field.
type headCache struct {
	src  io.ReaderAt
	head []byte
}

func (c *headCache) ReadAt(p []byte, off int64) (int, error) {
	if off >= 0 && off+int64(len(p)) <= int64(len(c.head)) {
		return copy(p, c.head[off:]), nil
	}
	return c.src.ReadAt(p, off)
}
