package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

// accessIDCrypt4GH names the one DRS access method resolved through
// /access: a Crypt4GH stream re-encrypted for the requester's key.
const accessIDCrypt4GH = "crypt4gh"

type drsChecksum struct {
	Checksum string `json:"checksum"`
	Type     string `json:"type"`
}

type drsAccessURL struct {
	URL     string   `json:"url"`
	Headers []string `json:"headers,omitempty"`
}

type drsAccessMethod struct {
	Type      string        `json:"type"`
	AccessID  string        `json:"access_id,omitempty"`
	AccessURL *drsAccessURL `json:"access_url,omitempty"`
	Available *bool         `json:"available,omitempty"`
}

type drsObject struct {
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	SelfURI       string            `json:"self_uri"`
	Size          int64             `json:"size"`
	CreatedTime   string            `json:"created_time"`
	MimeType      string            `json:"mime_type,omitempty"`
	Checksums     []drsChecksum     `json:"checksums"`
	AccessMethods []drsAccessMethod `json:"access_methods"`
	Description   string            `json:"description,omitempty"`
}

// drsBody is the POST body of the DRS endpoints that take passports.
type drsBody struct {
	Passports []string `json:"passports"`
	Expand    bool     `json:"expand"`
	BulkIDs   []string `json:"bulk_object_ids"`
	BulkAcc   []struct {
		ID        string   `json:"bulk_object_id"`
		AccessIDs []string `json:"bulk_access_ids"`
	} `json:"bulk_object_access_ids"`
}

// readBody decodes a bounded JSON body. An empty body is an empty request.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, v any) error {
	if r.Method != http.MethodPost {
		return nil
	}
	body := http.MaxBytesReader(w, r.Body, s.limits.MaxJSONBody)
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return errors.New("malformed JSON body")
	}
	return nil
}

var errTooLarge = errors.New("request body too large")

func bodyErrorStatus(err error) int {
	if errors.Is(err, errTooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

func (s *Server) drsHost() string {
	u, err := url.Parse(s.opts.PublicURL)
	if err != nil {
		return "localhost"
	}
	return u.Host
}

func (s *Server) drsObjectOf(f store.File) drsObject {
	o := drsObject{
		ID:          f.ID,
		Name:        f.Name,
		SelfURI:     "drs://" + s.drsHost() + "/" + url.PathEscape(f.ID),
		Size:        f.PlaintextSize,
		CreatedTime: f.CreatedAt.UTC().Format(time.RFC3339),
		MimeType:    mimeTypeOf(f.Format),
		Checksums:   []drsChecksum{{Checksum: f.PlaintextSHA256, Type: "sha-256"}},
		AccessMethods: []drsAccessMethod{{
			Type: "https", AccessID: accessIDCrypt4GH,
		}},
		Description: "Crypt4GH-encrypted at rest; served re-encrypted for the public key in the X-C4GH-Public-Key request header.",
	}
	if kind := htsgetKind(f.Format); kind != "" && f.IndexKey != "" {
		o.AccessMethods = append(o.AccessMethods, drsAccessMethod{
			Type:      "htsget",
			AccessURL: &drsAccessURL{URL: s.opts.PublicURL + "/" + kind + "/" + url.PathEscape(f.ID)},
		})
	}
	return o
}

func mimeTypeOf(format string) string {
	switch format {
	case "BAM":
		return "application/vnd.ga4gh.bam"
	case "CRAM":
		return "application/vnd.ga4gh.cram"
	case "VCF":
		return "application/vnd.ga4gh.vcf"
	case "BCF":
		return "application/vnd.ga4gh.bcf"
	}
	return "application/octet-stream"
}

func htsgetKind(format string) string {
	switch format {
	case "BAM", "CRAM":
		return "reads"
	case "VCF", "BCF":
		return "variants"
	}
	return ""
}

func (s *Server) handleDRSServiceInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, "", map[string]any{
		"id":          "org.crypt4gh-go.drs",
		"name":        "crypt4gh-server DRS",
		"type":        map[string]string{"group": "org.ga4gh", "artifact": "drs", "version": "1.5.0"},
		"description": "GA4GH DRS over Crypt4GH files encrypted once at rest; every download is re-encrypted for the requester's public key.",
		"organization": map[string]string{
			"name": "crypt4gh-go", "url": "https://github.com/crypt4gh-go/crypt4gh",
		},
		"version": "1.0.0",
		"drs":     map[string]any{"maxBulkRequestLength": s.limits.MaxBulk},
		"crypt4gh": map[string]any{
			"public_key_headers": PublicKeyHeaders,
			"public_key":         s.keys.Recipient().String(),
		},
	})
}

func (s *Server) handleDRSObject(w http.ResponseWriter, r *http.Request) {
	var body drsBody
	if err := s.readBody(w, r, &body); err != nil {
		writeError(w, bodyErrorStatus(err), err.Error())
		return
	}
	a, ok := s.authorize(w, r, "drs_object", r.PathValue("id"), body.Passports, writeError)
	if !ok {
		return
	}
	s.auditDecision(r, a.ev, true, "granted")
	writeJSON(w, http.StatusOK, "", s.drsObjectOf(a.file))
}

func (s *Server) handleDRSOptions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, "", map[string]any{
		"drs_object_id":   r.PathValue("id"),
		"supported_types": []string{"BearerAuth", "PassportAuth"},
	})
}

// accessURLFor is where a client fetches the Crypt4GH stream; it repeats
// the caller's own bearer token so a DRS client can follow the URL as is.
func (s *Server) accessURLFor(r *http.Request, f store.File) drsAccessURL {
	u := drsAccessURL{URL: s.opts.PublicURL + "/files/" + url.PathEscape(f.ID)}
	if tok := bearerToken(r); tok != "" {
		u.Headers = []string{"Authorization: Bearer " + tok}
	}
	return u
}

func (s *Server) handleDRSAccess(w http.ResponseWriter, r *http.Request) {
	var body drsBody
	if err := s.readBody(w, r, &body); err != nil {
		writeError(w, bodyErrorStatus(err), err.Error())
		return
	}
	a, ok := s.authorize(w, r, "drs_access", r.PathValue("id"), body.Passports, writeError)
	if !ok {
		return
	}
	if r.PathValue("access_id") != accessIDCrypt4GH {
		s.auditDecision(r, a.ev, false, "unknown access id")
		writeError(w, http.StatusNotFound, "no such access id (this server offers \"crypt4gh\")")
		return
	}
	s.auditDecision(r, a.ev, true, "granted")
	writeJSON(w, http.StatusOK, "", s.accessURLFor(r, a.file))
}

// bulkAuthorize authorises one id of a bulk request without writing a
// response: it returns the file or the status to report it under.
func (s *Server) bulkAuthorize(r *http.Request, action, id string, passports []string) (store.File, int) {
	rec := &recorder{header: http.Header{}}
	a, ok := s.authorize(rec, r, action, id, passports, func(w http.ResponseWriter, status int, msg string) { rec.status = status })
	if !ok {
		return store.File{}, rec.status
	}
	s.auditDecision(r, a.ev, true, "granted")
	return a.file, 0
}

// recorder is a ResponseWriter that only remembers the status; bulk
// requests report per-object failures in the body.
type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return len(p), nil }
func (r *recorder) WriteHeader(code int)        { r.status = code }

type unresolved struct {
	ErrorCode int      `json:"error_code"`
	ObjectIDs []string `json:"object_ids"`
}

func groupUnresolved(m map[int][]string) []unresolved {
	out := []unresolved{}
	for code, ids := range m {
		out = append(out, unresolved{ErrorCode: code, ObjectIDs: ids})
	}
	return out
}

// checkBulk answers 400 for an empty bulk list and 413 for one over
// maxBulkRequestLength.
func (s *Server) checkBulk(w http.ResponseWriter, field string, n int) bool {
	switch {
	case n == 0:
		writeError(w, http.StatusBadRequest, field+" is empty")
	case n > s.limits.MaxBulk:
		writeError(w, http.StatusRequestEntityTooLarge, "more ids than maxBulkRequestLength")
	default:
		return true
	}
	return false
}

func (s *Server) handleDRSBulk(w http.ResponseWriter, r *http.Request) {
	var body drsBody
	if err := s.readBody(w, r, &body); err != nil {
		writeError(w, bodyErrorStatus(err), err.Error())
		return
	}
	if !s.checkBulk(w, "bulk_object_ids", len(body.BulkIDs)) {
		return
	}
	resolved := []drsObject{}
	failed := map[int][]string{}
	for _, id := range body.BulkIDs {
		f, status := s.bulkAuthorize(r, "drs_object", id, body.Passports)
		if status == http.StatusUnauthorized {
			writeError(w, status, "invalid credentials")
			return
		}
		if status != 0 {
			failed[status] = append(failed[status], id)
			continue
		}
		resolved = append(resolved, s.drsObjectOf(f))
	}
	writeJSON(w, http.StatusOK, "", map[string]any{
		"summary": map[string]int{
			"requested": len(body.BulkIDs), "resolved": len(resolved), "unresolved": len(body.BulkIDs) - len(resolved),
		},
		"resolved_drs_object":    resolved,
		"unresolved_drs_objects": groupUnresolved(failed),
	})
}

func (s *Server) handleDRSBulkAccess(w http.ResponseWriter, r *http.Request) {
	var body drsBody
	if err := s.readBody(w, r, &body); err != nil {
		writeError(w, bodyErrorStatus(err), err.Error())
		return
	}
	if !s.checkBulk(w, "bulk_object_access_ids", len(body.BulkAcc)) {
		return
	}
	type bulkURL struct {
		ObjectID string   `json:"drs_object_id"`
		AccessID string   `json:"drs_access_id"`
		URL      string   `json:"url"`
		Headers  []string `json:"headers,omitempty"`
	}
	resolved := []bulkURL{}
	failed := map[int][]string{}
	resolvedObjects := 0
	for _, req := range body.BulkAcc {
		f, status := s.bulkAuthorize(r, "drs_access", req.ID, body.Passports)
		if status == http.StatusUnauthorized {
			writeError(w, status, "invalid credentials")
			return
		}
		if status != 0 {
			failed[status] = append(failed[status], req.ID)
			continue
		}
		// An object counts as resolved when every access id it asks for
		// resolves; each access id is answered once.
		unknown := false
		for _, acc := range slices.Compact(slices.Sorted(slices.Values(req.AccessIDs))) {
			if acc != accessIDCrypt4GH {
				unknown = true
				continue
			}
			u := s.accessURLFor(r, f)
			resolved = append(resolved, bulkURL{ObjectID: f.ID, AccessID: acc, URL: u.URL, Headers: u.Headers})
		}
		if unknown || len(req.AccessIDs) == 0 {
			failed[http.StatusNotFound] = append(failed[http.StatusNotFound], req.ID)
		} else {
			resolvedObjects++
		}
	}
	writeJSON(w, http.StatusOK, "", map[string]any{
		"summary": map[string]int{
			"requested": len(body.BulkAcc), "resolved": resolvedObjects, "unresolved": len(body.BulkAcc) - resolvedObjects,
		},
		"resolved_drs_object_access_urls": resolved,
		"unresolved_drs_objects":          groupUnresolved(failed),
	})
}
