package remote

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
)

// rangeServer serves one resource with net/http.ServeContent, a real HTTP
// range implementation, and counts what it sends. Hooks inject faults.
type rangeServer struct {
	mu      sync.Mutex
	content []byte
	etag    string

	requests atomic.Int64
	sent     atomic.Int64 // body bytes written
	active   atomic.Int64 // requests being handled

	// hook, if set, may answer a request itself (returning true).
	hook func(w http.ResponseWriter, r *http.Request, n int64) bool
	// ignoreIfMatch drops If-Match, as a server without precondition
	// support would.
	ignoreIfMatch bool
}

func newRangeServer(t *testing.T, content []byte) (*rangeServer, *httptest.Server) {
	t.Helper()
	s := &rangeServer{}
	s.set(content)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

// set replaces the resource, with a new strong ETag.
func (s *rangeServer) set(content []byte) {
	sum := sha256.Sum256(content)
	s.mu.Lock()
	s.content = content
	s.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	s.mu.Unlock()
}

func (s *rangeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.active.Add(1)
	defer s.active.Add(-1)
	n := s.requests.Add(1)
	if s.hook != nil && s.hook(w, r, n) {
		return
	}
	s.mu.Lock()
	content, etag := s.content, s.etag
	s.mu.Unlock()
	if s.ignoreIfMatch {
		r.Header.Del("If-Match")
	}
	w.Header().Set("ETag", etag)
	http.ServeContent(countingWriter{w, &s.sent}, r, "", time.Time{}, bytes.NewReader(content))
}

// bytesSent returns the body bytes sent so far, once the handlers of the
// requests answered have returned (a client can see a whole response
// before its handler has counted the last write).
func (s *rangeServer) bytesSent(t testing.TB) int64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.active.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("server handlers still running")
		}
		time.Sleep(time.Millisecond)
	}
	return s.sent.Load()
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// fast are options for tests: quick retries.
var fast = &HTTPOptions{Retries: 3, Backoff: time.Millisecond}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// encryptFor returns plain encrypted for id.
func encryptFor(t testing.TB, plain []byte, id *crypt4gh.X25519Identity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := crypt4gh.Encrypt(&buf, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func newIdentity(t testing.TB) *crypt4gh.X25519Identity {
	t.Helper()
	id, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// readAll reads ra from start to end in chunks of n bytes.
func readAll(t *testing.T, ra io.ReaderAt, size int64, n int) []byte {
	t.Helper()
	out := make([]byte, 0, size)
	buf := make([]byte, n)
	for off := int64(0); off < size; {
		m, err := ra.ReadAt(buf, off)
		out = append(out, buf[:m]...)
		off += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadAt(%d): %v", off, err)
		}
	}
	return out
}
