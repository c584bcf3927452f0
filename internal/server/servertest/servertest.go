// Package servertest starts a real archive server for tests: SQLite in
// process, a local object directory (or the stores given), a generated
// archive key and the development token issuer, behind httptest.
package servertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/auth"
	"github.com/crypt4gh-go/crypt4gh/internal/server"
	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/localfs"
	"github.com/crypt4gh-go/crypt4gh/internal/store/sqlite"
)

// AdminToken is the admin bearer token of every test server.
const AdminToken = "test-admin-token-0123456789"

// StaticToken is a plain bearer token granting dataset "ds2".
const StaticToken = "static-token-for-ds2"

// Env is a running server.
type Env struct {
	T       testing.TB
	Server  *server.Server
	HTTP    *httptest.Server
	URL     string
	Dev     *auth.DevIssuer
	Archive *crypt4gh.X25519Identity
	DB      store.HeaderDB
	Objects store.ObjectStore
	Audit   *SyncBuffer
}

// SyncBuffer is a goroutine-safe buffer (the audit log).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Start runs a server over SQLite and a local directory in t.TempDir().
func Start(t testing.TB) *Env {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "headers.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	os.MkdirAll(filepath.Join(dir, "objects"), 0o700)
	objects, err := localfs.Open(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	return StartWith(t, db, objects)
}

// StartWith runs a server over the given stores.
func StartWith(t testing.TB, db store.HeaderDB, objects store.ObjectStore) *Env {
	t.Helper()
	e := &Env{T: t, DB: db, Objects: objects, Audit: &SyncBuffer{}}
	var err error
	e.Archive, err = crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := server.NewKeyring(server.ArchiveKey{Identity: e.Archive, Public: e.Archive.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	var handler http.Handler
	e.HTTP = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.HTTP.Close)
	e.URL = e.HTTP.URL
	e.Dev, err = auth.NewDevIssuer(e.URL+"/dev-issuer", filepath.Join(t.TempDir(), "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := auth.NewVerifier(auth.Config{
		Issuers: []auth.TrustedIssuer{e.Dev.Trusted()},
		Tokens:  []auth.StaticToken{{SHA256: SHA256Hex(StaticToken), Subject: "robot", Datasets: []string{"ds2"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Server, err = server.New(server.Options{
		PublicURL: e.URL, DB: db, Objects: objects, Keys: keys, Auth: verifier,
		AdminTokens: [][32]byte{sha256.Sum256([]byte(AdminToken))}, DevIssuer: e.Dev,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Audit:  slog.New(slog.NewJSONHandler(e.Audit, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	handler = e.Server.Handler()
	return e
}

// SHA256Hex is the hex SHA-256 of s.
func SHA256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Token mints a one-hour development passport for datasets.
func (e *Env) Token(datasets ...string) string {
	e.T.Helper()
	tok, err := e.Dev.Mint("alice", datasets, time.Hour)
	if err != nil {
		e.T.Fatal(err)
	}
	return tok
}

// Ingest archives data (and its index, if any) under id.
func (e *Env) Ingest(id, dataset string, data, index []byte, indexFormat string) store.File {
	e.T.Helper()
	f, err := e.Server.Ingest(context.Background(), server.IngestRequest{
		ID: id, Dataset: dataset, Name: id, Body: bytes.NewReader(data), Size: int64(len(data)),
		Index: index, IndexFormat: indexFormat,
	})
	if err != nil {
		e.T.Fatalf("ingest %s: %v", id, err)
	}
	return f
}
