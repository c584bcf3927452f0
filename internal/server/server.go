// Package server is the Crypt4GH archive server: GA4GH DRS 1.5 and htsget
// 1.3 over files encrypted once at rest. Each file's header, sealed to
// the archive key, lives in a header database; its payload segments live
// in an object store. Per request only the header is re-encrypted, for
// the requester's public key; the payload is streamed unchanged, so no
// plaintext and no private key ever leave the archive.
//
// The server keeps no state of its own between requests: any number of
// processes can share one database and one object store.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/auth"
	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

// Authenticator checks a request's credentials: the Authorization bearer
// value (may be empty) and any passports from a DRS POST body.
// *auth.Verifier implements it.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string, passports []string) (auth.Grant, error)
}

// Limits bound what one request may cost.
type Limits struct {
	MaxJSONBody    int64         // DRS/htsget POST bodies (default 1 MiB)
	MaxIngestBytes int64         // one ingested file (default 1 TiB)
	MaxIndexBytes  int64         // one index (default 256 MiB)
	MaxBulk        int           // ids in one DRS bulk request (default 1000)
	MaxRegions     int           // regions in one htsget POST (default 64)
	RequestTimeout time.Duration // metadata requests (default 30 s)
	StallTimeout   time.Duration // a download making no progress (default 2 min)
}

func (l *Limits) defaults() {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxJSONBody, 1<<20)
	def(&l.MaxIngestBytes, 1<<40)
	def(&l.MaxIndexBytes, 256<<20)
	if l.MaxBulk <= 0 {
		l.MaxBulk = 1000
	}
	if l.MaxRegions <= 0 {
		l.MaxRegions = 64
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = 30 * time.Second
	}
	if l.StallTimeout <= 0 {
		l.StallTimeout = 2 * time.Minute
	}
}

// Options configure a Server.
type Options struct {
	// PublicURL is the base URL clients reach this server at (no trailing
	// slash); it is written into DRS self URIs, access URLs and tickets.
	PublicURL string
	DB        store.HeaderDB
	Objects   store.ObjectStore
	Keys      *Keyring
	Auth      Authenticator
	// AdminTokens are SHA-256 digests of the bearer tokens allowed to use
	// the /admin endpoints (ingest, register, sweep).
	AdminTokens [][32]byte
	// DevIssuer, if set, is mounted at /dev-issuer/ (JWKS and a token
	// endpoint for local development).
	DevIssuer *auth.DevIssuer
	Logger    *slog.Logger // operational log (default slog.Default())
	Audit     *slog.Logger // one record per access decision (default Logger)
	Limits    Limits
	Now       func() time.Time
}

// Server serves the archive's HTTP API. Create it with New.
type Server struct {
	opts    Options
	db      store.HeaderDB
	objects store.ObjectStore
	keys    *Keyring
	log     *slog.Logger
	audit   *slog.Logger
	limits  Limits
	metrics *metrics
	now     func() time.Time
	mux     *http.ServeMux
	// indexCache holds decrypted htsget indexes (64 MiB at most).
	indexCache *byteLRU
}

// New returns a server over the given stores and keys.
func New(opts Options) (*Server, error) {
	if opts.DB == nil || opts.Objects == nil || opts.Keys == nil || opts.Auth == nil {
		return nil, errors.New("server: DB, Objects, Keys and Auth are required")
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	if opts.PublicURL == "" {
		return nil, errors.New("server: PublicURL is required")
	}
	s := &Server{
		opts: opts, db: opts.DB, objects: opts.Objects, keys: opts.Keys,
		log: opts.Logger, audit: opts.Audit, limits: opts.Limits,
		metrics: newMetrics(), now: opts.Now,
		indexCache: newByteLRU(64 << 20),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.audit == nil {
		s.audit = s.log
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.limits.defaults()
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	handle := func(pattern, route string, h func(http.ResponseWriter, *http.Request)) {
		m.Handle(pattern, s.instrument(route, http.HandlerFunc(h)))
	}
	handle("GET /healthz", "healthz", s.handleHealthz)
	handle("GET /readyz", "readyz", s.handleReadyz)
	m.Handle("GET /metrics", s.metrics)
	handle("GET /openapi.yaml", "openapi", s.handleOpenAPI)
	handle("GET /", "root", s.handleRoot)

	handle("GET /files/{id}", "files", s.handleFile)
	handle("GET /files/{id}/header", "files_header", s.handleFileHeader)
	handle("GET /files/{id}/payload", "files_payload", s.handlePayload)
	handle("HEAD /files/{id}/payload", "files_payload", s.handlePayload)

	const drs = "/ga4gh/drs/v1"
	handle("GET "+drs+"/service-info", "drs_service_info", s.handleDRSServiceInfo)
	handle("GET "+drs+"/objects/{id}", "drs_object", s.handleDRSObject)
	handle("POST "+drs+"/objects/{id}", "drs_object", s.handleDRSObject)
	handle("OPTIONS "+drs+"/objects/{id}", "drs_options", s.handleDRSOptions)
	handle("GET "+drs+"/objects/{id}/access/{access_id}", "drs_access", s.handleDRSAccess)
	handle("POST "+drs+"/objects/{id}/access/{access_id}", "drs_access", s.handleDRSAccess)
	handle("POST "+drs+"/objects", "drs_bulk", s.handleDRSBulk)
	handle("POST "+drs+"/objects/access", "drs_bulk_access", s.handleDRSBulkAccess)

	for _, kind := range []string{"reads", "variants"} {
		handle("GET /"+kind+"/service-info", "htsget_service_info", s.handleHtsgetServiceInfo(kind))
		handle("GET /"+kind+"/{id}", "htsget", s.handleHtsget(kind))
		handle("POST /"+kind+"/{id}", "htsget", s.handleHtsget(kind))
	}

	handle("POST /admin/files", "admin_ingest", s.handleAdminIngest)
	handle("DELETE /admin/files/{id}", "admin_delete", s.handleAdminDelete)
	handle("POST /admin/sweep", "admin_sweep", s.handleAdminSweep)
	handle("GET /admin/public-key", "admin_public_key", s.handlePublicKey)
	handle("GET /public-key", "public_key", s.handlePublicKey)

	if d := s.opts.DevIssuer; d != nil {
		m.Handle("GET /dev-issuer/jwks.json", d.JWKS())
	}
	s.mux = m
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// instrument adds a request id, metrics and panic containment.
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.inflight.Add(1)
		defer s.metrics.inflight.Add(-1)
		rid := r.Header.Get("X-Request-Id")
		if rid == "" || len(rid) > 64 {
			rid = newRequestID()
		}
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("X-Request-Id", rid)
		ctx := context.WithValue(r.Context(), ridKey{}, rid)
		if !streamingRoutes[route] {
			// Metadata requests are bounded; downloads and uploads are
			// bounded by the stall timeout instead, since a large file
			// may take hours.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, s.limits.RequestTimeout)
			defer cancel()
		}
		r = r.WithContext(ctx)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("handler panic", "route", route, "request_id", rid, "panic", p)
				if !sw.wrote {
					writeError(sw, http.StatusInternalServerError, "internal error")
				}
			}
			s.metrics.observeRequest(route, sw.statusCode(), time.Since(start))
			s.log.Debug("request", "route", route, "method", r.Method, "path", r.URL.Path, "status", sw.statusCode(), "bytes", sw.n, "duration", time.Since(start), "request_id", rid)
		}()
		h.ServeHTTP(sw, r)
	})
}

// streamingRoutes move file bodies; they are not cut by RequestTimeout.
var streamingRoutes = map[string]bool{"files": true, "files_payload": true, "admin_ingest": true}

type ridKey struct{}

func requestID(ctx context.Context) string {
	v, _ := ctx.Value(ridKey{}).(string)
	return v
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter records the status and byte count and keeps the
// ResponseWriter's ReadFrom (sendfile) and Flush reachable.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	n      int64
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	n, err := io.Copy(w.ResponseWriter, r)
	w.n += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) statusCode() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.status
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"msg":"internal error","status_code":500}`)
	}
	if contentType == "" {
		contentType = "application/json"
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// writeError writes a DRS-style error body: {"msg", "status_code"}.
func writeError(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, "", map[string]any{"msg": msg, "status_code": status})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, "", map[string]string{"status": "ok"})
}

// handleReadyz reports whether the database and the object store answer.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	status := map[string]string{"database": "ok", "objects": "ok"}
	code := http.StatusOK
	if err := s.db.Ping(ctx); err != nil {
		status["database"], code = "unavailable", http.StatusServiceUnavailable
		s.log.Warn("readiness: database", "err", err)
	}
	if err := s.objects.Ping(ctx); err != nil {
		status["objects"], code = "unavailable", http.StatusServiceUnavailable
		s.log.Warn("readiness: object store", "err", err)
	}
	if code != http.StatusOK {
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, code, "", status)
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		writeError(w, http.StatusNotFound, "no such endpoint")
		return
	}
	writeJSON(w, http.StatusOK, "", map[string]any{
		"service": "crypt4gh-server",
		"drs":     s.opts.PublicURL + "/ga4gh/drs/v1",
		"htsget":  []string{s.opts.PublicURL + "/reads", s.opts.PublicURL + "/variants"},
		"openapi": s.opts.PublicURL + "/openapi.yaml",
	})
}

// handlePublicKey returns the current archive public key as a Crypt4GH
// public key file: what uploaders encrypt to.
func (s *Server) handlePublicKey(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	w.Write(crypt4gh.MarshalRecipient(s.keys.Recipient()))
}

// checkAdmin authorises an /admin request by its bearer token.
func (s *Server) checkAdmin(w http.ResponseWriter, r *http.Request, action string) bool {
	object := r.PathValue("id")
	if object == "" {
		object = r.URL.Query().Get("id")
	}
	tok := bearerToken(r)
	ok := false
	if tok != "" {
		sum := sha256.Sum256([]byte(tok))
		for _, t := range s.opts.AdminTokens {
			if subtle.ConstantTimeCompare(sum[:], t[:]) == 1 {
				ok = true
			}
		}
	}
	reason := "admin token accepted"
	if !ok {
		reason = "missing or unknown admin token"
	}
	s.auditDecision(r, accessEvent{Action: action, Subject: "admin", Object: object}, ok, reason)
	if !ok {
		writeError(w, http.StatusUnauthorized, reason)
	}
	return ok
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
