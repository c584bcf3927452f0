package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/auth"
	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

// accessEvent is one audit record: who asked for what, and the decision.
type accessEvent struct {
	Action    string // drs_object, drs_access, download, header, payload, htsget, ingest…
	Object    string
	Dataset   string
	Subject   string
	Issuer    string
	KeyDigest string // SHA-256 prefix of the requester's public key
}

// auditDecision writes one audit record and counts it.
func (s *Server) auditDecision(r *http.Request, ev accessEvent, allowed bool, reason string) {
	s.metrics.decision(allowed, reason)
	decision := "deny"
	if allowed {
		decision = "allow"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	s.audit.Info("access",
		"decision", decision, "reason", reason, "action", ev.Action,
		"object", ev.Object, "dataset", ev.Dataset,
		"subject", ev.Subject, "issuer", ev.Issuer, "requester_key", ev.KeyDigest,
		"remote", host, "request_id", requestID(r.Context()))
}

// access is an authorised request for one file.
type access struct {
	file  store.File
	grant auth.Grant
	ev    accessEvent
}

// authorize authenticates the request, loads the file and checks the
// grant covers its dataset. On failure it has written the response (401,
// 403, 404 or 503) and the audit record, and returns ok=false.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, action, id string, passports []string, errw errorWriter) (access, bool) {
	ev := accessEvent{Action: action, Object: id}
	if len(id) == 0 || len(id) > 256 {
		s.auditDecision(r, ev, false, "invalid object id")
		errw(w, http.StatusNotFound, "no such object")
		return access{}, false
	}
	grant, err := s.opts.Auth.Authenticate(r.Context(), bearerToken(r), passports)
	if err != nil {
		status, reason := http.StatusUnauthorized, "invalid credentials"
		var ae *auth.Error
		if errors.As(err, &ae) {
			status, reason = ae.Status, ae.Reason
		}
		s.auditDecision(r, ev, false, reason)
		errw(w, status, reason)
		return access{}, false
	}
	ev.Subject, ev.Issuer = grant.Subject, grant.Issuer
	f, err := s.db.Get(r.Context(), id)
	if err != nil {
		status, msg := storeStatus(err)
		reason := "object lookup failed"
		if status == http.StatusNotFound {
			reason = "no such object"
		}
		s.auditDecision(r, ev, false, reason)
		if status == http.StatusServiceUnavailable {
			s.log.Warn("header database unavailable", "err", err, "request_id", requestID(r.Context()))
		}
		errw(w, status, msg)
		return access{}, false
	}
	ev.Dataset = f.Dataset
	if !grant.Allows(f.Dataset, s.now()) {
		s.auditDecision(r, ev, false, "no grant for dataset")
		errw(w, http.StatusForbidden, "no access grant for this object's dataset")
		return access{}, false
	}
	return access{file: f, grant: grant, ev: ev}, true
}

// withKey parses the requester's public key; on failure it answers 400
// and audits the refusal.
func (s *Server) withKey(w http.ResponseWriter, r *http.Request, a *access, errw errorWriter) (crypt4gh.Recipient, bool) {
	rec, raw, err := requesterKey(r.Header)
	if err != nil {
		s.auditDecision(r, a.ev, false, "bad or missing public key")
		errw(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	sum := sha256.Sum256(raw)
	a.ev.KeyDigest = hex.EncodeToString(sum[:8])
	return rec, true
}

// errorWriter writes an error in the endpoint family's own format (DRS
// JSON or htsget JSON).
type errorWriter func(w http.ResponseWriter, status int, msg string)

// storeStatus maps a storage error to an HTTP status and a message that
// is safe to show (no DSNs, no paths).
func storeStatus(err error) (int, string) {
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrInvalidKey):
		return http.StatusNotFound, "no such object"
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "storage temporarily unavailable"
	}
	return http.StatusInternalServerError, "internal storage error"
}
