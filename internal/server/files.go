package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

// crypt4ghMediaType is the media type of a Crypt4GH stream.
const crypt4ghMediaType = "application/vnd.ga4gh.crypt4gh"

// handleFile serves a whole file, or with a Range header a plaintext byte
// range of it, as a Crypt4GH stream for the requester's key: a new header,
// then the stored payload segments unchanged.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	a, rec, ok := s.authorizeWithKey(w, r, "download")
	if !ok {
		return
	}
	f := a.file
	var plan *crypt4gh.RangePlan
	status := http.StatusOK
	var firstByte, last int64
	if rh := r.Header.Get("Range"); rh != "" {
		start, end, ok, err := parseRange(rh, f.PlaintextSize)
		if err != nil {
			s.auditDecision(r, a.ev, false, "unsatisfiable range")
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", f.PlaintextSize))
			writeError(w, http.StatusRequestedRangeNotSatisfiable, err.Error())
			return
		}
		if ok {
			plan, err = crypt4gh.PlanRange(nil, crypt4gh.Range{Start: start, End: end})
			if err != nil {
				s.internalError(w, r, "planning range", err)
				return
			}
			status, firstByte, last = http.StatusPartialContent, start, end-1
		}
	}
	hdr, ranges, err := s.reencrypt(r.Context(), f, rec, plan)
	if err != nil {
		s.reencryptError(w, r, a, err)
		return
	}
	toOpen := ranges
	if r.Method == http.MethodHead {
		toOpen = nil
	}
	first, ok := s.openFirst(w, r, a, toOpen)
	if !ok {
		return
	}
	s.auditDecision(r, a.ev, true, "granted")
	total := int64(len(hdr))
	for _, pr := range ranges {
		total += pr[1] - pr[0]
	}
	h := w.Header()
	h.Set("Content-Type", crypt4ghMediaType)
	h.Set("Content-Length", strconv.FormatInt(total, 10))
	h.Set("Cache-Control", "no-store")
	h.Set("Accept-Ranges", "bytes")
	// The bytes differ per request (fresh keys); the content does not.
	h.Set("ETag", `W/"`+f.PlaintextSHA256+`"`)
	h.Set("X-C4GH-Plaintext-Size", strconv.FormatInt(f.PlaintextSize, 10))
	if status == http.StatusPartialContent {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", firstByte, last, f.PlaintextSize))
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		first.Close()
		return
	}
	if _, err := w.Write(hdr); err != nil {
		first.Close()
		return
	}
	s.streamPayload(w, r, f, ranges, first)
}

// openFirst opens the first payload range before any header is sent, so
// an object store that is down gives a 503 rather than a cut stream.
func (s *Server) openFirst(w http.ResponseWriter, r *http.Request, a access, ranges [][2]int64) (io.ReadCloser, bool) {
	if len(ranges) == 0 {
		return io.NopCloser(strings.NewReader("")), true
	}
	body, err := s.objects.GetRange(r.Context(), a.file.PayloadKey, ranges[0][0], ranges[0][1]-ranges[0][0])
	if err != nil {
		status, msg := storeStatus(err)
		s.auditDecision(r, a.ev, false, "object store unavailable")
		s.log.Warn("object store", "object", a.file.ID, "err", err, "request_id", requestID(r.Context()))
		if status == http.StatusNotFound {
			status, msg = http.StatusInternalServerError, "the object's payload is missing"
		}
		writeError(w, status, msg)
		return nil, false
	}
	return body, true
}

// authorizeWithKey authorises a /files/{id} request and parses the
// requester's key: the two checks every response sealed for a key needs.
func (s *Server) authorizeWithKey(w http.ResponseWriter, r *http.Request, action string) (access, crypt4gh.Recipient, bool) {
	a, ok := s.authorize(w, r, action, r.PathValue("id"), nil, writeError)
	if !ok {
		return a, nil, false
	}
	rec, ok := s.withKey(w, r, &a, writeError)
	return a, rec, ok
}

// handleFileHeader serves the re-encrypted header alone, for clients that
// fetch the payload themselves (random access over /payload).
func (s *Server) handleFileHeader(w http.ResponseWriter, r *http.Request) {
	a, rec, ok := s.authorizeWithKey(w, r, "header")
	if !ok {
		return
	}
	hdr, _, err := s.reencrypt(r.Context(), a.file, rec, nil)
	if err != nil {
		s.reencryptError(w, r, a, err)
		return
	}
	s.auditDecision(r, a.ev, true, "granted")
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.Itoa(len(hdr)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-C4GH-Payload-Size", strconv.FormatInt(a.file.PayloadSize, 10))
	h.Set("X-C4GH-Plaintext-Size", strconv.FormatInt(a.file.PlaintextSize, 10))
	w.Write(hdr)
}

// handlePayload serves the stored encrypted payload with ordinary HTTP
// range semantics. It is ciphertext, useless without a header, so no key
// is needed; the dataset grant still is.
func (s *Server) handlePayload(w http.ResponseWriter, r *http.Request) {
	a, ok := s.authorize(w, r, "payload", r.PathValue("id"), nil, writeError)
	if !ok {
		return
	}
	f := a.file
	etag := payloadETag(f)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "application/octet-stream")
	if im := r.Header.Get("If-Match"); im != "" && im != "*" && !etagListHas(im, etag) {
		s.auditDecision(r, a.ev, false, "precondition failed")
		writeError(w, http.StatusPreconditionFailed, "the object changed (ETag mismatch)")
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagListHas(inm, etag) {
		s.auditDecision(r, a.ev, true, "not modified")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	start, end, status := int64(0), f.PayloadSize, http.StatusOK
	if rh := r.Header.Get("Range"); rh != "" && (r.Header.Get("If-Range") == "" || r.Header.Get("If-Range") == etag) {
		a0, b0, ok, err := parseRange(rh, f.PayloadSize)
		if err != nil {
			s.auditDecision(r, a.ev, false, "unsatisfiable range")
			h.Set("Content-Range", fmt.Sprintf("bytes */%d", f.PayloadSize))
			writeError(w, http.StatusRequestedRangeNotSatisfiable, err.Error())
			return
		}
		if ok {
			start, end, status = a0, b0, http.StatusPartialContent
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, f.PayloadSize))
		}
	}
	ranges := [][2]int64{{start, end}}
	if r.Method == http.MethodHead || end == start {
		ranges = nil
	}
	first, ok := s.openFirst(w, r, a, ranges)
	if !ok {
		return
	}
	s.auditDecision(r, a.ev, true, "granted")
	h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	w.WriteHeader(status)
	if len(ranges) == 0 {
		first.Close()
		return
	}
	s.streamPayload(w, r, f, ranges, first)
}

func payloadETag(f store.File) string {
	if f.PayloadSHA256 != "" {
		return `"` + f.PayloadSHA256 + `"`
	}
	return fmt.Sprintf(`"%s-%d"`, f.ID, f.PayloadSize)
}

func etagListHas(list, etag string) bool {
	for _, e := range strings.Split(list, ",") {
		if strings.TrimSpace(e) == etag {
			return true
		}
	}
	return false
}

// reencrypt opens the stored header with the archive keys and seals it
// for rec: whole (plan == nil) or for a range plan. It returns the header
// bytes and the payload byte ranges to send after it.
func (s *Server) reencrypt(ctx context.Context, f store.File, rec crypt4gh.Recipient, plan *crypt4gh.RangePlan) ([]byte, [][2]int64, error) {
	start := time.Now()
	defer func() { s.metrics.reencrypt.observe(time.Since(start).Seconds()) }()
	h, _, err := crypt4gh.ParseHeader(f.Header)
	if err != nil {
		return nil, nil, fmt.Errorf("stored header of %s: %w", f.ID, err)
	}
	ids := s.keys.Identities()
	if plan == nil {
		nh, err := crypt4gh.ReencryptHeader(h, ids, []crypt4gh.Recipient{rec}, &crypt4gh.ReencryptOptions{Trim: true})
		if err != nil {
			return nil, nil, err
		}
		return nh.Marshal(), [][2]int64{{0, f.PayloadSize}}, nil
	}
	nh, err := crypt4gh.RearrangeHeader(h, ids, []crypt4gh.Recipient{rec}, plan, f.PayloadSize)
	if err != nil {
		return nil, nil, err
	}
	return nh.Marshal(), plan.PayloadRanges(f.PayloadSize), nil
}

// reencryptError answers a failed re-encryption: the requester's key may
// not fit the file (a post-quantum key for a v1 file), or the archive key
// is unavailable (an HSM that went away), or the stored header is broken.
func (s *Server) reencryptError(w http.ResponseWriter, r *http.Request, a access, err error) {
	switch {
	case isKeyOutage(err):
		// An archive key failed (an HSM that went away, a PIN that
		// expired), as opposed to no key fitting: retry later.
		s.auditDecision(r, a.ev, false, "archive key unavailable")
		s.log.Error("archive key unavailable", "object", a.file.ID, "err", err, "request_id", requestID(r.Context()))
		writeError(w, http.StatusServiceUnavailable, "the archive key is temporarily unavailable")
	case errors.Is(err, crypt4gh.ErrUnsupported), errors.Is(err, crypt4gh.ErrMalformedKey):
		s.auditDecision(r, a.ev, false, "key not usable for this file")
		writeError(w, http.StatusBadRequest, "the public key cannot be used for this file: "+err.Error())
	case errors.Is(err, crypt4gh.ErrNoMatchingKey):
		s.auditDecision(r, a.ev, false, "archive key missing")
		s.log.Error("stored header does not open with any archive key", "object", a.file.ID, "key_id", a.file.KeyID, "request_id", requestID(r.Context()))
		writeError(w, http.StatusInternalServerError, "the archive key for this object is not configured")
	default:
		s.auditDecision(r, a.ev, false, "re-encryption failed")
		s.log.Error("re-encrypting header", "object", a.file.ID, "err", err, "request_id", requestID(r.Context()))
		writeError(w, http.StatusServiceUnavailable, "header re-encryption failed")
	}
}

// isKeyOutage reports whether an archive key failed (an HSM that went
// away, a PIN that expired), as opposed to no key fitting the header.
func isKeyOutage(err error) bool {
	var nm *crypt4gh.NoIdentityMatchError
	return errors.As(err, &nm) && len(nm.Errors) > 0
}

func (s *Server) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error(what, "err", err, "request_id", requestID(r.Context()))
	writeError(w, http.StatusInternalServerError, "internal error")
}

// copyChunk is how much is copied between write-deadline extensions.
const copyChunk = 4 << 20

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// streamPayload copies payload ranges from the object store to w. The
// headers are already sent, so a failure can only cut the response short;
// the client then sees a truncated stream, which Crypt4GH detects (the
// last segment does not authenticate or is missing). A client that stops
// reading for StallTimeout is dropped.
func (s *Server) streamPayload(w http.ResponseWriter, r *http.Request, f store.File, ranges [][2]int64, first io.ReadCloser) {
	rc := http.NewResponseController(w)
	for i, pr := range ranges {
		body := first
		if i > 0 {
			var err error
			body, err = s.objects.GetRange(r.Context(), f.PayloadKey, pr[0], pr[1]-pr[0])
			if err != nil {
				s.log.Error("reading payload", "object", f.ID, "err", err, "request_id", requestID(r.Context()))
				panic(http.ErrAbortHandler)
			}
		}
		n, err := s.copyWithDeadline(w, rc, body, pr[1]-pr[0])
		body.Close()
		s.metrics.bytesSent.Add(n)
		if err != nil {
			if r.Context().Err() == nil {
				s.log.Warn("payload stream cut", "object", f.ID, "sent", n, "err", err, "request_id", requestID(r.Context()))
			}
			panic(http.ErrAbortHandler)
		}
	}
}

func (s *Server) copyWithDeadline(w io.Writer, rc *http.ResponseController, src io.Reader, n int64) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var done int64
	for done < n {
		rc.SetWriteDeadline(time.Now().Add(s.limits.StallTimeout))
		step := min(copyChunk, n-done)
		m, err := io.CopyBuffer(w, io.LimitReader(src, step), *bp)
		done += m
		if err != nil {
			return done, err
		}
		if m < step {
			return done, io.ErrUnexpectedEOF
		}
	}
	rc.SetWriteDeadline(time.Time{})
	return done, nil
}

var errUnsatisfiable = errors.New("range not satisfiable")

// parseRange parses a single-range "bytes=" header for a resource of size
// bytes into [start, end). ok is false when the header should be ignored
// (several ranges, another unit, syntax errors: RFC 9110 lets a server
// serve the whole resource); err is set when the range is unsatisfiable.
func parseRange(h string, size int64) (start, end int64, ok bool, err error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, nil
	}
	if a == "" { // suffix: the last b bytes
		n, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || n < 0 {
			return 0, 0, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, errUnsatisfiable
		}
		return max(0, size-n), size, true, nil
	}
	start, perr := strconv.ParseInt(a, 10, 64)
	if perr != nil || start < 0 {
		return 0, 0, false, nil
	}
	end = size
	if b != "" {
		last, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || last < start {
			return 0, 0, false, nil
		}
		end = min(size, last+1)
	}
	if start >= size {
		return 0, 0, false, errUnsatisfiable
	}
	return start, end, true, nil
}
