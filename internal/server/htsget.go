package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/htsget"
	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

const htsgetMediaType = "application/vnd.ga4gh.htsget.v1.3.0+json"

// writeHtsgetError writes the htsget error JSON for a status.
func writeHtsgetError(w http.ResponseWriter, status int, msg string) {
	kind := map[int]string{
		http.StatusBadRequest:            "InvalidInput",
		http.StatusUnauthorized:          "InvalidAuthentication",
		http.StatusForbidden:             "PermissionDenied",
		http.StatusNotFound:              "NotFound",
		http.StatusRequestEntityTooLarge: "PayloadTooLarge",
	}[status]
	if kind == "" {
		kind = "InternalError"
	}
	writeHtsgetErrorKind(w, status, kind, msg)
}

func writeHtsgetErrorKind(w http.ResponseWriter, status int, kind, msg string) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, "application/json", map[string]any{"htsget": map[string]string{"error": kind, "message": msg}})
}

func (s *Server) handleHtsgetServiceInfo(kind string) http.HandlerFunc {
	formats := []string{"BAM", "CRAM"}
	if kind == "variants" {
		formats = []string{"VCF", "BCF"}
	}
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, "", map[string]any{
			"id":      "org.crypt4gh-go.htsget." + kind,
			"name":    "crypt4gh-server htsget",
			"type":    map[string]string{"group": "org.ga4gh", "artifact": "htsget", "version": "1.3.0"},
			"version": "1.0.0",
			"organization": map[string]string{
				"name": "crypt4gh-go", "url": "https://github.com/crypt4gh-go/crypt4gh",
			},
			"htsget": map[string]any{
				"datatype": kind, "formats": formats,
				"fieldsParameterEffective": false, "tagsParametersEffective": false,
				"encryptionSchemes": []string{"crypt4gh"},
			},
		})
	}
}

// htsgetRequest is a parsed htsget query (GET parameters or POST body).
type htsgetRequest struct {
	Format           string         `json:"format"`
	Class            string         `json:"class"`
	EncryptionScheme string         `json:"encryptionScheme"`
	Regions          []htsgetRegion `json:"regions"`
	Fields           []string       `json:"fields"`
	Tags             []string       `json:"tags"`
	NoTags           []string       `json:"notags"`
}

type htsgetRegion struct {
	ReferenceName string  `json:"referenceName"`
	Start         *uint32 `json:"start"`
	End           *uint32 `json:"end"`
}

type htsgetInputError struct{ kind, msg string }

func (e *htsgetInputError) Error() string { return e.msg }

func invalid(kind, format string, a ...any) error {
	return &htsgetInputError{kind: kind, msg: fmt.Sprintf(format, a...)}
}

// parseHtsgetGET reads the GET query parameters of htsget 1.3.
func parseHtsgetGET(q url.Values) (htsgetRequest, error) {
	var req htsgetRequest
	for k, v := range q {
		if len(v) > 1 {
			return req, invalid("InvalidInput", "parameter %q given more than once", k)
		}
	}
	req.Format = q.Get("format")
	req.Class = q.Get("class")
	req.EncryptionScheme = q.Get("encryptionScheme")
	num := func(name string) (*uint32, error) {
		v := q.Get(name)
		if v == "" {
			return nil, nil
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, invalid("InvalidInput", "%s must be an unsigned 32-bit integer", name)
		}
		u := uint32(n)
		return &u, nil
	}
	start, err := num("start")
	if err != nil {
		return req, err
	}
	end, err := num("end")
	if err != nil {
		return req, err
	}
	ref := q.Get("referenceName")
	if ref != "" || start != nil || end != nil {
		req.Regions = []htsgetRegion{{ReferenceName: ref, Start: start, End: end}}
	}
	if req.Class == "header" {
		for k := range q {
			if k != "format" && k != "class" && k != "encryptionScheme" {
				return req, invalid("InvalidInput", "class=header allows no parameter but format (got %q)", k)
			}
		}
	}
	return req, nil
}

// validate checks the request against the stored file's format.
func (req *htsgetRequest) validate(kind string, f store.File) error {
	if req.Format == "" {
		req.Format = f.Format
	}
	req.Format = strings.ToUpper(req.Format)
	if htsgetKind(req.Format) != kind {
		return invalid("UnsupportedFormat", "format %q is not served under /%s", req.Format, kind)
	}
	if req.Format != f.Format {
		return invalid("UnsupportedFormat", "this object is %s, not %s", f.Format, req.Format)
	}
	switch strings.ToLower(req.EncryptionScheme) {
	case "", "crypt4gh", "c4gh":
	default:
		return invalid("UnsupportedFormat", "encryptionScheme %q is not served: this server serves only crypt4gh", req.EncryptionScheme)
	}
	if req.Class != "" && req.Class != "header" {
		return invalid("InvalidInput", "class must be \"header\" or absent")
	}
	if req.Class == "header" && len(req.Regions) > 0 {
		return invalid("InvalidInput", "class=header takes no regions")
	}
	for _, rg := range req.Regions {
		if rg.ReferenceName == "" {
			return invalid("InvalidInput", "start and end need a referenceName")
		}
		if rg.ReferenceName == "*" && (rg.Start != nil || rg.End != nil) {
			return invalid("InvalidInput", "referenceName \"*\" takes no start or end")
		}
		if rg.Start != nil && rg.End != nil && *rg.Start > *rg.End {
			return invalid("InvalidRange", "start %d is after end %d", *rg.Start, *rg.End)
		}
	}
	return nil
}

type htsgetURL struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Class   string            `json:"class,omitempty"`
}

// handleHtsget answers a reads or variants ticket request: the stored
// index gives the plaintext byte ranges of the region, which become whole
// Crypt4GH segments plus an edit list; the ticket holds the re-encrypted
// header inline and Range URLs over the stored payload.
func (s *Server) handleHtsget(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req htsgetRequest
		var err error
		if r.Method == http.MethodPost {
			if r.URL.RawQuery != "" {
				writeHtsgetError(w, http.StatusBadRequest, "POST takes no query parameters")
				return
			}
			if err = s.readBody(w, r, &req); err != nil {
				writeHtsgetError(w, bodyErrorStatus(err), err.Error())
				return
			}
			if len(req.Regions) > s.limits.MaxRegions {
				writeHtsgetErrorKind(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge", "too many regions")
				return
			}
		} else if req, err = parseHtsgetGET(r.URL.Query()); err != nil {
			s.htsgetInputError(w, err)
			return
		}
		a, ok := s.authorize(w, r, "htsget", r.PathValue("id"), nil, writeHtsgetError)
		if !ok {
			return
		}
		f := a.file
		if htsgetKind(f.Format) != kind || f.IndexKey == "" {
			s.auditDecision(r, a.ev, false, "not served by htsget")
			writeHtsgetError(w, http.StatusNotFound, "this object has no "+kind+" index")
			return
		}
		if err := req.validate(kind, f); err != nil {
			s.auditDecision(r, a.ev, false, "invalid htsget query")
			s.htsgetInputError(w, err)
			return
		}
		rec, ok := s.withKey(w, r, &a, writeHtsgetError)
		if !ok {
			return
		}
		ranges, err := s.htsgetRanges(r, f, req)
		if err != nil {
			s.auditDecision(r, a.ev, false, "invalid htsget query")
			switch {
			case errors.Is(err, htsget.ErrUnknownReference):
				writeHtsgetError(w, http.StatusNotFound, err.Error())
			case errors.Is(err, htsget.ErrInvalidRange):
				writeHtsgetErrorKind(w, http.StatusBadRequest, "InvalidRange", err.Error())
			case isKeyOutage(err):
				s.log.Error("archive key unavailable", "object", f.ID, "err", err, "request_id", requestID(r.Context()))
				writeHtsgetError(w, http.StatusServiceUnavailable, "the archive key is temporarily unavailable")
			default:
				status, msg := storeStatus(err)
				if status == http.StatusInternalServerError {
					s.log.Error("htsget planning", "object", f.ID, "err", err, "request_id", requestID(r.Context()))
					msg = "cannot plan this query"
				}
				writeHtsgetError(w, status, msg)
			}
			return
		}
		plan, err := crypt4gh.PlanRanges(nil, ranges)
		if err != nil {
			s.internalError(w, r, "planning segments", err)
			return
		}
		hdr, payloadRanges, err := s.reencrypt(r.Context(), f, rec, plan)
		if err != nil {
			s.reencryptError(w, r, a, err)
			return
		}
		s.auditDecision(r, a.ev, true, "granted")
		urls := []htsgetURL{{URL: "data:" + crypt4ghMediaType + ";base64," + base64.StdEncoding.EncodeToString(hdr)}}
		payloadURL := s.opts.PublicURL + "/files/" + url.PathEscape(f.ID) + "/payload"
		for _, pr := range payloadRanges {
			h := map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", pr[0], pr[1]-1)}
			if tok := bearerToken(r); tok != "" {
				h["Authorization"] = "Bearer " + tok
			}
			urls = append(urls, htsgetURL{URL: payloadURL, Headers: h})
		}
		writeJSON(w, http.StatusOK, htsgetMediaType, map[string]any{"htsget": map[string]any{
			"format": f.Format, "encryptionScheme": "crypt4gh", "urls": urls,
		}})
	}
}

func (s *Server) htsgetInputError(w http.ResponseWriter, err error) {
	var ie *htsgetInputError
	if errors.As(err, &ie) {
		writeHtsgetErrorKind(w, http.StatusBadRequest, ie.kind, ie.msg)
		return
	}
	writeHtsgetError(w, http.StatusBadRequest, err.Error())
}

// htsgetRanges plans the plaintext byte ranges of a query from the
// stored index and metadata; several regions are merged in file order.
func (s *Server) htsgetRanges(r *http.Request, f store.File, req htsgetRequest) ([]crypt4gh.Range, error) {
	var meta htsget.Meta
	if err := json.Unmarshal(f.Meta, &meta); err != nil {
		return nil, fmt.Errorf("stored htsget metadata of %s: %w", f.ID, err)
	}
	index, err := s.loadIndex(r, f)
	if err != nil {
		return nil, err
	}
	queries := []htsget.Query{{Class: req.Class}}
	if len(req.Regions) > 0 {
		queries = queries[:0]
		for _, rg := range req.Regions {
			q := htsget.Query{ReferenceName: rg.ReferenceName}
			if rg.Start != nil {
				q.Start = int64(*rg.Start)
			}
			if rg.End != nil {
				q.End = int64(*rg.End)
			}
			queries = append(queries, q)
		}
	}
	var all []htsget.Range
	for _, q := range queries {
		rs, err := htsget.Plan(meta, index, q)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Start < all[j].Start })
	var out []crypt4gh.Range
	for _, rg := range all {
		if rg.End <= rg.Start {
			continue
		}
		if n := len(out); n > 0 && rg.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, rg.End)
			continue
		}
		out = append(out, crypt4gh.Range{Start: rg.Start, End: rg.End})
	}
	return out, nil
}

// loadIndex returns the plaintext index of f: stored as a Crypt4GH file
// sealed to the archive key, decrypted here (it is small) and cached.
func (s *Server) loadIndex(r *http.Request, f store.File) ([]byte, error) {
	if b, ok := s.indexCache.get(f.IndexKey); ok {
		return b, nil
	}
	info, err := s.objects.Stat(r.Context(), f.IndexKey)
	if err != nil {
		return nil, err
	}
	if info.Size > s.limits.MaxIndexBytes*2 {
		return nil, fmt.Errorf("index object of %s is %d bytes, over the limit", f.ID, info.Size)
	}
	rc, err := s.objects.GetRange(r.Context(), f.IndexKey, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	enc, err := io.ReadAll(io.LimitReader(rc, info.Size+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading index: %v", store.ErrUnavailable, err)
	}
	dec, err := crypt4gh.Decrypt(bytes.NewReader(enc), s.keys.Identities()...)
	if err != nil {
		return nil, fmt.Errorf("opening index of %s: %w", f.ID, err)
	}
	index, err := io.ReadAll(dec)
	if err != nil {
		return nil, fmt.Errorf("decrypting index of %s: %w", f.ID, err)
	}
	s.indexCache.put(f.IndexKey, index)
	return index, nil
}
