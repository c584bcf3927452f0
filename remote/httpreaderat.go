package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HTTPOptions adjust [NewHTTPReaderAtWithOptions].
type HTTPOptions struct {
	// Retries is how many times a request that failed transiently (a
	// network error, a body cut short, status 408, 429 or 5xx) is tried
	// again. 0 means 4; a negative value disables retries.
	Retries int
	// Backoff is the wait before the first retry; it doubles for each
	// later one, with jitter, up to 10 s. 0 means 250 ms. A Retry-After
	// header up to 10 s takes precedence.
	Backoff time.Duration
}

const (
	defaultRetries = 4
	defaultBackoff = 250 * time.Millisecond
	maxBackoff     = 10 * time.Second
)

// HTTPReaderAt reads an HTTP resource at offsets with single-range GET
// requests. It is safe for concurrent use; each ReadAt is one request (plus
// retries).
//
// The resource's identity is pinned when it is opened: its strong ETag is
// sent as If-Match (a weak one, or Last-Modified, is compared instead),
// and every response must carry the same size. A resource that changes
// gives an error wrapping [ErrChanged]. Every response must be a 206 whose
// Content-Range is exactly the range asked for and whose body has exactly
// its length; anything else is an error wrapping [ErrBadResponse] or
// [ErrNoRangeSupport], never a short or shifted read.
type HTTPReaderAt struct {
	ctx    context.Context
	client *http.Client
	url    string
	header http.Header
	retrier

	size         int64
	etag         string // as received, "" if none
	strongETag   bool
	lastModified string
}

var _ io.ReaderAt = (*HTTPReaderAt)(nil)

// NewHTTPReaderAt opens the resource at url with the default options. See
// [NewHTTPReaderAtWithOptions].
func NewHTTPReaderAt(ctx context.Context, client *http.Client, url string, header http.Header) (*HTTPReaderAt, error) {
	return NewHTTPReaderAtWithOptions(ctx, client, url, header, nil)
}

// NewHTTPReaderAtWithOptions opens the resource at url: it asks for its
// first byte to learn its size (from Content-Range) and ETag, and checks
// that the server honours ranges. header is sent with every request (for
// example Authorization); client nil means http.DefaultClient.
//
// ctx governs the requests of every later ReadAt too (io.ReaderAt has no
// context of its own): cancel it to abort reads in progress.
func NewHTTPReaderAtWithOptions(ctx context.Context, client *http.Client, url string, header http.Header, opts *HTTPOptions) (*HTTPReaderAt, error) {
	if client == nil {
		client = http.DefaultClient
	}
	r := &HTTPReaderAt{ctx: ctx, client: client, url: url, header: header.Clone(), retrier: newRetrier(ctx, opts)}
	if _, err := http.NewRequest(http.MethodGet, url, nil); err != nil {
		return nil, fmt.Errorf("remote: bad URL: %w", err)
	}
	err := r.retry(func() error { return r.probe() })
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Size returns the size of the resource in bytes.
func (r *HTTPReaderAt) Size() int64 { return r.size }

// ETag returns the ETag the resource had when it was opened ("" if the
// server sent none).
func (r *HTTPReaderAt) ETag() string { return r.etag }

// probe learns the size and validators of the resource.
func (r *HTTPReaderAt) probe() error {
	resp, err := r.get("bytes=0-0", false)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	r.etag = resp.Header.Get("ETag")
	r.strongETag = r.etag != "" && !strings.HasPrefix(r.etag, "W/")
	r.lastModified = resp.Header.Get("Last-Modified")
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr, err := ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return r.protocolError(err)
		}
		if cr.Unsatisfied || cr.First != 0 || cr.Last != 0 || cr.Size < 1 {
			return r.protocolError(fmt.Errorf("%w: asked for byte 0, got Content-Range %q", ErrBadResponse, truncate(resp.Header.Get("Content-Range"), 80)))
		}
		r.size = cr.Size
		return nil
	case http.StatusRequestedRangeNotSatisfiable:
		// Only an empty resource has no byte 0.
		cr, err := ParseContentRange(resp.Header.Get("Content-Range"))
		if err == nil && cr.Unsatisfied && cr.Size == 0 {
			r.size = 0
			return nil
		}
		return r.protocolError(fmt.Errorf("%w: byte 0 is not satisfiable (Content-Range %q)", ErrBadResponse, truncate(resp.Header.Get("Content-Range"), 80)))
	case http.StatusOK:
		if resp.ContentLength == 0 {
			r.size = 0
			return nil
		}
		return r.protocolError(fmt.Errorf("%w (it answered a request for bytes 0-0 with 200 and the whole body)", ErrNoRangeSupport))
	}
	return r.protocolError(fmt.Errorf("%w: unexpected status %s", ErrBadResponse, resp.Status))
}

// ReadAt reads len(p) bytes at offset off with one range request. At the
// end of the resource it returns the bytes there are and io.EOF.
func (r *HTTPReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("remote: negative offset")
	}
	if off >= r.size {
		if len(p) == 0 && off == r.size {
			return 0, nil
		}
		return 0, io.EOF
	}
	want := int64(len(p))
	if want > r.size-off {
		want = r.size - off
	}
	if want == 0 {
		return 0, nil
	}
	err := r.retry(func() error { return r.readRange(p[:want], off) })
	if err != nil {
		return 0, err
	}
	if want < int64(len(p)) {
		return int(want), io.EOF
	}
	return int(want), nil
}

// readRange fills p with the bytes at off, which the caller has checked
// lie inside the resource.
func (r *HTTPReaderAt) readRange(p []byte, off int64) error {
	last := off + int64(len(p)) - 1
	resp, err := r.get(fmt.Sprintf("bytes=%d-%d", off, last), true)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
	case http.StatusPreconditionFailed:
		return r.changed("If-Match failed")
	case http.StatusRequestedRangeNotSatisfiable:
		return r.changed(fmt.Sprintf("bytes %d-%d are no longer there", off, last))
	case http.StatusOK:
		return r.protocolError(fmt.Errorf("%w (it answered a range request with 200 and the whole body)", ErrNoRangeSupport))
	default:
		return r.protocolError(fmt.Errorf("%w: unexpected status %s", ErrBadResponse, resp.Status))
	}
	if et := resp.Header.Get("ETag"); r.etag != "" && et != "" && et != r.etag {
		return r.changed("its ETag is now " + truncate(et, 80))
	}
	if lm := resp.Header.Get("Last-Modified"); r.etag == "" && r.lastModified != "" && lm != "" && lm != r.lastModified {
		return r.changed("it was modified at " + truncate(lm, 40))
	}
	cr, err := ParseContentRange(resp.Header.Get("Content-Range"))
	if err != nil {
		return r.protocolError(err)
	}
	if cr.Size >= 0 && cr.Size != r.size {
		return r.changed(fmt.Sprintf("its size is now %d bytes, not %d", cr.Size, r.size))
	}
	if cr.Unsatisfied || cr.First != off || cr.Last != last {
		return r.protocolError(fmt.Errorf("%w: asked for bytes %d-%d, got Content-Range %q", ErrBadResponse, off, last, truncate(resp.Header.Get("Content-Range"), 80)))
	}
	if resp.ContentLength >= 0 && resp.ContentLength != int64(len(p)) {
		return r.protocolError(fmt.Errorf("%w: Content-Length %d for a range of %d bytes", ErrBadResponse, resp.ContentLength, len(p)))
	}
	if n, err := io.ReadFull(resp.Body, p); err != nil {
		// Usually the connection broke: worth a retry.
		return &transientError{err: fmt.Errorf("remote: reading bytes %d-%d of %s: got %d of %d bytes: %w", off, last, r.redacted(), n, len(p), unexpectedEOF(err))}
	}
	var extra [1]byte
	if n, _ := resp.Body.Read(extra[:]); n > 0 {
		return r.protocolError(fmt.Errorf("%w: the body is longer than the %d bytes of its Content-Range", ErrBadResponse, len(p)))
	}
	return nil
}

// unexpectedEOF hides io.EOF and io.ErrUnexpectedEOF: a body cut short is
// a failed transfer, not the end of the resource, and callers (the
// crypt4gh readers) would take io.EOF for a truncated file.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("connection closed early")
	}
	return err
}

// get sends one GET with the given Range. With validate, the pinned
// validators are sent as preconditions.
func (r *HTTPReaderAt) get(rng string, validate bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	req.Header.Set("Range", rng)
	// Ranges are of the stored bytes: no transparent decompression.
	req.Header.Set("Accept-Encoding", "identity")
	if validate {
		if r.strongETag {
			req.Header.Set("If-Match", r.etag)
		} else if r.etag == "" && r.lastModified != "" {
			req.Header.Set("If-Unmodified-Since", r.lastModified)
		}
	}
	return send(r.client, req, http.StatusOK, http.StatusPartialContent, http.StatusPreconditionFailed, http.StatusRequestedRangeNotSatisfiable)
}

// send sends req and returns the response if its status is one of ok.
// Other statuses give a *StatusError; network errors and temporary
// statuses are wrapped in a *transientError.
func send(client *http.Client, req *http.Request, ok ...int) (*http.Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		err = redactError(err, req.URL)
		if req.Context().Err() != nil {
			return nil, err
		}
		return nil, &transientError{err: err}
	}
	for _, c := range ok {
		if resp.StatusCode == c {
			return resp, nil
		}
	}
	se := ResponseError(resp)
	if se.Temporary() {
		return nil, &transientError{err: se, after: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return nil, se
}

func (r *HTTPReaderAt) redacted() string {
	u, err := url.Parse(r.url)
	if err != nil {
		return "the resource"
	}
	return RedactURL(u)
}

func (r *HTTPReaderAt) changed(why string) error {
	return fmt.Errorf("%w: %s: %s", ErrChanged, r.redacted(), why)
}

func (r *HTTPReaderAt) protocolError(err error) error {
	return fmt.Errorf("%s: %w", r.redacted(), err)
}

// redactError removes the query of u from the *url.Error that
// http.Client returns: it may hold a presigned URL's signature.
func redactError(err error, u *url.URL) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		c := *ue
		c.URL = RedactURL(u)
		return &c
	}
	return err
}

// transientError marks a failure worth retrying.
type transientError struct {
	err   error
	after time.Duration // the server's Retry-After, 0 if none
}

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// retrier retries transient failures with exponential backoff.
type retrier struct {
	rctx    context.Context
	retries int
	backoff time.Duration
}

func newRetrier(ctx context.Context, opts *HTTPOptions) retrier {
	if opts == nil {
		opts = &HTTPOptions{}
	}
	r := retrier{rctx: ctx, retries: opts.Retries, backoff: opts.Backoff}
	switch {
	case r.retries == 0:
		r.retries = defaultRetries
	case r.retries < 0:
		r.retries = 0
	}
	if r.backoff <= 0 {
		r.backoff = defaultBackoff
	}
	return r
}

// retry runs f until it succeeds, fails for good (an error that is not a
// *transientError), or the retries are spent; the error returned is f's
// last.
func (r retrier) retry(f func() error) error {
	wait := r.backoff
	for attempt := 0; ; attempt++ {
		err := f()
		var te *transientError
		if err == nil || !errors.As(err, &te) {
			return err
		}
		if attempt >= r.retries {
			if attempt > 0 {
				return fmt.Errorf("%w (after %d attempts)", te.err, attempt+1)
			}
			return te.err
		}
		d := wait/2 + rand.N(wait/2+1) // jitter, so that parallel readers spread
		if te.after > 0 {
			d = te.after
		}
		t := time.NewTimer(d)
		select {
		case <-r.rctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while retrying after: %v)", r.rctx.Err(), te.err)
		case <-t.C:
		}
		wait = min(2*wait, maxBackoff)
	}
}

// retryAfter parses a Retry-After of delay seconds; dates and delays over
// the backoff cap are ignored (the usual backoff applies).
func retryAfter(v string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s < 0 || time.Duration(s)*time.Second > maxBackoff {
		return 0
	}
	return time.Duration(s) * time.Second
}
