package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestHTTPReaderAtReads(t *testing.T) {
	content := randomBytes(1, 300_000)
	s, ts := newRangeServer(t, content)
	r, err := NewHTTPReaderAt(context.Background(), ts.Client(), ts.URL+"/obj", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != int64(len(content)) {
		t.Fatalf("Size = %d, want %d", r.Size(), len(content))
	}
	if r.ETag() == "" {
		t.Error("ETag not pinned")
	}

	tests := []struct {
		off, n  int64
		wantN   int
		wantEOF bool
	}{
		{0, 1, 1, false},
		{0, 300_000, 300_000, false},
		{12345, 70000, 70000, false},
		{299_999, 1, 1, false},
		{299_990, 20, 10, true},
		{300_000, 5, 0, true},
		{400_000, 5, 0, true},
		{5, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d+%d", tt.off, tt.n), func(t *testing.T) {
			before := s.bytesSent(t)
			p := make([]byte, tt.n)
			n, err := r.ReadAt(p, tt.off)
			if n != tt.wantN {
				t.Errorf("n = %d, want %d", n, tt.wantN)
			}
			if (err == io.EOF) != tt.wantEOF || (err != nil && err != io.EOF) {
				t.Errorf("err = %v, want EOF %v", err, tt.wantEOF)
			}
			if n > 0 && !bytes.Equal(p[:n], content[tt.off:tt.off+int64(n)]) {
				t.Error("bytes differ from the resource")
			}
			if sent := s.bytesSent(t) - before; sent != int64(n) {
				t.Errorf("server sent %d bytes for a read of %d", sent, n)
			}
		})
	}
	if _, err := r.ReadAt(make([]byte, 1), -1); err == nil {
		t.Error("negative offset accepted")
	}
}

func TestHTTPReaderAtConcurrent(t *testing.T) {
	content := randomBytes(2, 1<<20)
	_, ts := newRangeServer(t, content)
	r, err := NewHTTPReaderAt(context.Background(), ts.Client(), ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(g), 0))
			for range 20 {
				off := rnd.Int64N(int64(len(content)))
				p := make([]byte, 1+rnd.IntN(100_000))
				n, err := r.ReadAt(p, off)
				if err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(p[:n], content[off:off+int64(n)]) {
					errs <- fmt.Errorf("read at %d differs", off)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestHTTPReaderAtEmpty(t *testing.T) {
	_, ts := newRangeServer(t, nil)
	r, err := NewHTTPReaderAt(context.Background(), ts.Client(), ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != 0 {
		t.Fatalf("Size = %d", r.Size())
	}
	if n, err := r.ReadAt(make([]byte, 4), 0); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt = %d, %v; want 0, EOF", n, err)
	}
}

func TestHTTPReaderAtSendsHeaders(t *testing.T) {
	s, ts := newRangeServer(t, randomBytes(3, 1000))
	var bad []string
	var mu sync.Mutex
	s.hook = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			bad = append(bad, "no Authorization")
		}
		if r.Header.Get("Accept-Encoding") != "identity" {
			bad = append(bad, "Accept-Encoding "+r.Header.Get("Accept-Encoding"))
		}
		if n > 1 && r.Header.Get("If-Match") == "" {
			bad = append(bad, "no If-Match")
		}
		return false
	}
	r, err := NewHTTPReaderAt(context.Background(), ts.Client(), ts.URL, http.Header{"Authorization": {"Bearer t0ken"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(make([]byte, 10), 100); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Error(bad)
	}
}

func TestHTTPReaderAtChanged(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignoreIfMatch=%v", ignore), func(t *testing.T) {
			s, ts := newRangeServer(t, randomBytes(4, 100_000))
			s.ignoreIfMatch = ignore
			r, err := NewHTTPReaderAtWithOptions(context.Background(), ts.Client(), ts.URL, nil, fast)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.ReadAt(make([]byte, 10), 10); err != nil {
				t.Fatal(err)
			}
			s.set(randomBytes(5, 100_000)) // same size, new content
			p := make([]byte, 10)
			n, err := r.ReadAt(p, 10)
			if !errors.Is(err, ErrChanged) {
				t.Fatalf("ReadAt after a change = %d, %v; want ErrChanged", n, err)
			}
			if n != 0 {
				t.Errorf("n = %d after a change", n)
			}
		})
	}
	t.Run("size", func(t *testing.T) {
		s, ts := newRangeServer(t, randomBytes(4, 100_000))
		s.ignoreIfMatch = true
		r, err := NewHTTPReaderAtWithOptions(context.Background(), ts.Client(), ts.URL, nil, fast)
		if err != nil {
			t.Fatal(err)
		}
		s.set(randomBytes(4, 200_000))
		s.mu.Lock()
		s.etag = r.ETag() // a server that keeps the ETag: the size still tells
		s.mu.Unlock()
		if _, err := r.ReadAt(make([]byte, 10), 10); !errors.Is(err, ErrChanged) {
			t.Fatalf("err = %v, want ErrChanged", err)
		}
	})
}

func TestHTTPReaderAtRetries(t *testing.T) {
	content := randomBytes(6, 50_000)
	s, ts := newRangeServer(t, content)
	var failures int
	var mu sync.Mutex
	s.hook = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}
		return false
	}
	failures = 2 // the probe fails twice, then succeeds
	r, err := NewHTTPReaderAtWithOptions(context.Background(), ts.Client(), ts.URL, nil, fast)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	failures = 3 // as many as the retries allow
	mu.Unlock()
	before := s.requests.Load()
	p := make([]byte, 1000)
	if _, err := r.ReadAt(p, 500); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, content[500:1500]) {
		t.Fatal("bytes differ")
	}
	if got := s.requests.Load() - before; got != 4 {
		t.Errorf("%d requests, want 4 (3 failures, 1 success)", got)
	}

	// One failure more than the retries: the server's error.
	mu.Lock()
	failures = 4
	mu.Unlock()
	_, err = r.ReadAt(p, 500)
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusServiceUnavailable || se.Message != "busy" {
		t.Fatalf("err = %v, want a 503 StatusError with the message", err)
	}
	if !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("error %q does not count the attempts", err)
	}

	// Client errors are not retried.
	s.hook = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"msg":"visa expired","status_code":403}`)
		return true
	}
	before = s.requests.Load()
	_, err = r.ReadAt(p, 500)
	if !errors.As(err, &se) || se.StatusCode != 403 || se.Message != "visa expired" {
		t.Fatalf("err = %v, want a 403 with the server's message", err)
	}
	if got := s.requests.Load() - before; got != 1 {
		t.Errorf("a 403 was tried %d times", got)
	}
}

// TestHTTPReaderAtTruncatedBody cuts bodies short: retried, and never
// reported as the end of the resource.
func TestHTTPReaderAtTruncatedBody(t *testing.T) {
	content := randomBytes(7, 100_000)
	s, ts := newRangeServer(t, content)
	var cut int
	var mu sync.Mutex
	s.hook = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		mu.Lock()
		defer mu.Unlock()
		if cut == 0 || n == 1 {
			return false
		}
		cut--
		var first, last int64
		fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &first, &last)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, len(content)))
		w.Header().Set("Content-Length", fmt.Sprint(last-first+1))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(content[first : first+(last-first)/2]) // the server closes the connection
		return true
	}
	r, err := NewHTTPReaderAtWithOptions(context.Background(), ts.Client(), ts.URL, nil, fast)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	cut = 1
	mu.Unlock()
	p := make([]byte, 5000)
	if _, err := r.ReadAt(p, 1000); err != nil {
		t.Fatalf("a body cut once is not retried: %v", err)
	}
	if !bytes.Equal(p, content[1000:6000]) {
		t.Fatal("bytes differ")
	}
	mu.Lock()
	cut = 100
	mu.Unlock()
	n, err := r.ReadAt(p, 1000)
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || n != 0 {
		t.Fatalf("ReadAt of always cut bodies = %d, %v; want an error that is not EOF", n, err)
	}
	if !strings.Contains(err.Error(), "connection closed early") {
		t.Errorf("error %q does not say what happened", err)
	}
}

func TestHTTPReaderAtServerDown(t *testing.T) {
	s, ts := newRangeServer(t, randomBytes(8, 1000))
	r, err := NewHTTPReaderAtWithOptions(context.Background(), ts.Client(), ts.URL, nil, fast)
	if err != nil {
		t.Fatal(err)
	}
	ts.Close()
	if _, err := r.ReadAt(make([]byte, 10), 0); err == nil {
		t.Fatal("read from a stopped server succeeded")
	}
	_, err = NewHTTPReaderAtWithOptions(context.Background(), nil, ts.URL+"/x?X-Amz-Signature=secret", nil, fast)
	if err == nil {
		t.Fatal("opened a stopped server")
	}
	if strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "/x?…") {
		t.Errorf("error %q: want the URL without its query", err)
	}
	if n := s.requests.Load(); n != 1 {
		t.Errorf("%d requests reached the server", n)
	}
}

func TestHTTPReaderAtCancel(t *testing.T) {
	s, ts := newRangeServer(t, randomBytes(9, 1000))
	ctx, cancel := context.WithCancel(context.Background())
	r, err := NewHTTPReaderAt(ctx, ts.Client(), ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.hook = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		cancel()
		return true
	}
	if _, err := r.ReadAt(make([]byte, 10), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestHTTPReaderAtBadResponses has the server break the protocol in
// every way a response can.
func TestHTTPReaderAtBadResponses(t *testing.T) {
	content := randomBytes(10, 1000)
	type answer struct {
		status        int
		contentRange  string
		contentLength string
		body          string
	}
	tests := []struct {
		name string
		// probe answers the first request, read the second; nil: ServeContent.
		probe, read *answer
		want        error
	}{
		{"200 instead of 206 at open", &answer{status: 200, body: string(content)}, nil, ErrNoRangeSupport},
		{"200 instead of 206 on read", nil, &answer{status: 200, body: string(content)}, ErrNoRangeSupport},
		{"no Content-Range", &answer{status: 206, body: "x"}, nil, ErrBadResponse},
		{"huge size", &answer{status: 206, contentRange: "bytes 0-0/99999999999999999999", body: "x"}, nil, ErrBadResponse},
		{"size over 2^62", &answer{status: 206, contentRange: "bytes 0-0/4611686018427387905", body: "x"}, nil, ErrBadResponse},
		{"negative", &answer{status: 206, contentRange: "bytes -1-0/1000", body: "x"}, nil, ErrBadResponse},
		{"wrong first range", &answer{status: 206, contentRange: "bytes 0-9/1000", body: "0123456789"}, nil, ErrBadResponse},
		{"unknown size", &answer{status: 206, contentRange: "bytes 0-0/*", body: "x"}, nil, ErrBadResponse},
		{"416 on a non-empty object", &answer{status: 416, contentRange: "bytes */1000"}, nil, ErrBadResponse},
		{"shifted range", nil, &answer{status: 206, contentRange: "bytes 11-20/1000", body: "0123456789"}, ErrBadResponse},
		{"longer range", nil, &answer{status: 206, contentRange: "bytes 10-999999/1000000000", body: "0123456789"}, ErrChanged},
		{"range past the size", nil, &answer{status: 206, contentRange: "bytes 10-1000/1000", body: "0123456789"}, ErrBadResponse},
		{"other size", nil, &answer{status: 206, contentRange: "bytes 10-19/1001", body: "0123456789"}, ErrChanged},
		{"wrong Content-Length", nil, &answer{status: 206, contentRange: "bytes 10-19/1000", contentLength: "11", body: "0123456789x"}, ErrBadResponse},
		{"long body", nil, &answer{status: 206, contentRange: "bytes 10-19/1000", body: "0123456789" + strings.Repeat("x", 100000)}, ErrBadResponse},
		{"412", nil, &answer{status: 412}, ErrChanged},
		{"416 on read", nil, &answer{status: 416, contentRange: "bytes */5"}, ErrChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ts := newRangeServer(t, content)
			s.hook = func(w http.ResponseWriter, r *http.Request, n int64) bool {
				a := tt.probe
				if n > 1 {
					a = tt.read
				}
				if a == nil {
					return false
				}
				if a.contentRange != "" {
					w.Header().Set("Content-Range", a.contentRange)
				}
				if a.contentLength != "" {
					w.Header().Set("Content-Length", a.contentLength)
				}
				if f, ok := w.(http.Flusher); ok && a.contentLength == "" && len(a.body) > 100 {
					defer f.Flush() // chunked: no Content-Length to check
				}
				w.WriteHeader(a.status)
				io.WriteString(w, a.body)
				return true
			}
			r, err := NewHTTPReaderAtWithOptions(context.Background(), ts.Client(), ts.URL, nil, fast)
			if err == nil {
				p := make([]byte, 10)
				var n int
				n, err = r.ReadAt(p, 10)
				if err == nil {
					t.Fatalf("read succeeded: %q", p[:n])
				}
				if n != 0 {
					t.Errorf("n = %d with an error", n)
				}
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("err %v would pass for the end of the data", err)
			}
		})
	}
}

func TestResponseErrorMessages(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{`{"msg":"object not found","status_code":404}`, "object not found"},
		{`{"htsget":{"error":"NotFound","message":"no such read group"}}`, "NotFound: no such read group"},
		{`<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>`, "AccessDenied: Request has expired"},
		{"plain text\nsecond line", "plain text"},
		{"evil \x1b[31mred\x07", "evil  [31mred"},
		{strings.Repeat("a", 1000), strings.Repeat("a", 300) + "…"},
		{"", ""},
	}
	for _, tt := range tests {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, tt.body)
		}))
		resp, err := ts.Client().Get(ts.URL + "/x?X-Amz-Signature=secret")
		if err != nil {
			t.Fatal(err)
		}
		se := ResponseError(resp)
		ts.Close()
		if se.Message != tt.want {
			t.Errorf("message of %q = %q, want %q", tt.body, se.Message, tt.want)
		}
		if strings.Contains(se.Error(), "secret") {
			t.Errorf("error %q shows the URL's query", se)
		}
		if !strings.Contains(se.Error(), "GET "+ts.URL+"/x?…: 404 Not Found") {
			t.Errorf("error %q", se)
		}
	}
}

func FuzzErrorMessage(f *testing.F) {
	f.Add([]byte(`{"msg":"object not found","status_code":404}`))
	f.Add([]byte(`{"htsget":{"error":"NotFound","message":"no such read group"}}`))
	f.Add([]byte(`<Error><Code>AccessDenied</Code><Message>expired</Message></Error>`))
	f.Add([]byte("text\x1b[2J\nmore"))
	f.Fuzz(func(t *testing.T, body []byte) {
		msg := errorMessage(body)
		for _, r := range msg {
			if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("message %q holds a control character", msg)
			}
		}
		if n := len([]rune(msg)); n > 301 {
			t.Fatalf("message of %d characters", n)
		}
	})
}

func TestSubresource(t *testing.T) {
	tests := []struct{ base, want string }{
		{"https://h/files/F1", "https://h/files/F1/header"},
		{"https://h/files/F1/", "https://h/files/F1/header"},
		{"https://h/files/F1?token=x", "https://h/files/F1/header?token=x"},
		{"https://h/files/a%2Fb", "https://h/files/a%2Fb/header"},
	}
	for _, tt := range tests {
		got, err := subresource(tt.base, "header")
		if err != nil || got != tt.want {
			t.Errorf("subresource(%q) = %q, %v; want %q", tt.base, got, err, tt.want)
		}
	}
}
