package remote

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
)

// archive is a small server in the layout Open expects: GET
// /files/ID/header re-encrypts the stored header for the key in
// X-C4GH-Public-Key, GET /files/ID/payload serves the payload by range.
type archive struct {
	id       *crypt4gh.X25519Identity // the archive's own key
	header   *crypt4gh.Header
	payload  *rangeServer
	trailing bool  // append a byte to the header response
	sizeLie  int64 // added to the announced payload size
}

func newArchive(t *testing.T, plain []byte) (*archive, *httptest.Server) {
	t.Helper()
	a := &archive{id: newIdentity(t)}
	file := encryptFor(t, plain, a.id)
	h, n, err := crypt4gh.ParseHeader(file)
	if err != nil {
		t.Fatal(err)
	}
	a.header = h
	a.payload = &rangeServer{}
	a.payload.set(file[n:])
	mux := http.NewServeMux()
	mux.HandleFunc("GET /files/{id}/header", a.serveHeader)
	mux.Handle("GET /files/{id}/payload", a.payload)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return a, ts
}

func (a *archive) serveHeader(w http.ResponseWriter, r *http.Request) {
	key, err := base64.StdEncoding.DecodeString(r.Header.Get(PublicKeyHeader))
	if err != nil || len(key) == 0 {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"msg":"missing or malformed X-C4GH-Public-Key","status_code":400}`)
		return
	}
	var rcpt crypt4gh.Recipient
	if len(key) == 32 {
		rcpt, err = crypt4gh.NewX25519Recipient(key)
	} else {
		rcpt, err = crypt4gh.ParsePublicKey(key)
	}
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"msg":"bad key","status_code":400}`)
		return
	}
	nh, err := crypt4gh.ReencryptHeader(a.header, []crypt4gh.Identity{a.id}, []crypt4gh.Recipient{rcpt}, &crypt4gh.ReencryptOptions{Trim: true})
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	a.payload.mu.Lock()
	size := int64(len(a.payload.content))
	a.payload.mu.Unlock()
	w.Header().Set(PayloadSizeHeader, fmt.Sprint(size+a.sizeLie))
	w.Header().Set("Content-Type", "application/octet-stream")
	body := nh.Marshal()
	if a.trailing {
		body = append(body, 0)
	}
	w.Write(body)
}

func TestOpen(t *testing.T) {
	plain := randomBytes(20, 20*crypt4gh.SegmentSize+1234)
	a, ts := newArchive(t, plain)
	me := newIdentity(t)
	ctx := context.Background()
	auth := http.Header{"Authorization": {"Bearer abc"}}

	for _, key := range [][]byte{me.PublicKey(), crypt4gh.MarshalRecipient(me.Recipient())} {
		r, err := Open(ctx, ts.Client(), ts.URL+"/files/F1", me, key, auth)
		if err != nil {
			t.Fatal(err)
		}
		if r.Size() != int64(len(plain)) {
			t.Fatalf("Size = %d, want %d", r.Size(), len(plain))
		}
		if got := readAll(t, r, r.Size(), 100_000); !bytes.Equal(got, plain) {
			t.Fatal("plaintext differs")
		}
	}

	// Only the segments a read touches are fetched.
	r, err := Open(ctx, ts.Client(), ts.URL+"/files/F1", me, me.PublicKey(), auth)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		off, n int64
		segs   int64
	}{
		{7*crypt4gh.SegmentSize + 10, 100, 1},
		{3*crypt4gh.SegmentSize - 1, 2*crypt4gh.SegmentSize + 2, 4},
		{0, 1, 1},
		{int64(len(plain)) - 5, 5, 0}, // the last segment is partial: counted below
	}
	for _, tt := range tests {
		before := a.payload.bytesSent(t)
		p := make([]byte, tt.n)
		if _, err := r.ReadAt(p, tt.off); err != nil {
			t.Fatalf("ReadAt(%d, %d): %v", tt.off, tt.n, err)
		}
		if !bytes.Equal(p, plain[tt.off:tt.off+tt.n]) {
			t.Fatalf("ReadAt(%d, %d): plaintext differs", tt.off, tt.n)
		}
		want := tt.segs * crypt4gh.CipherSegmentSize
		if tt.segs == 0 {
			want = 1234 + 28
		}
		if got := a.payload.bytesSent(t) - before; got != want {
			t.Errorf("ReadAt(%d, %d) fetched %d payload bytes, want %d", tt.off, tt.n, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	plain := randomBytes(21, 3*crypt4gh.SegmentSize)
	ctx := context.Background()
	me := newIdentity(t)

	t.Run("no key", func(t *testing.T) {
		_, ts := newArchive(t, plain)
		_, err := Open(ctx, ts.Client(), ts.URL+"/files/F1", me, nil, nil)
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != 400 || !strings.Contains(se.Message, "X-C4GH-Public-Key") {
			t.Fatalf("err = %v, want a 400 with the server's message", err)
		}
	})
	t.Run("wrong identity", func(t *testing.T) {
		_, ts := newArchive(t, plain)
		other := newIdentity(t)
		_, err := Open(ctx, ts.Client(), ts.URL+"/files/F1", other, me.PublicKey(), nil)
		if !errors.Is(err, crypt4gh.ErrNoMatchingKey) {
			t.Fatalf("err = %v, want ErrNoMatchingKey", err)
		}
	})
	t.Run("payload size mismatch", func(t *testing.T) {
		a, ts := newArchive(t, plain)
		a.sizeLie = 1
		_, err := Open(ctx, ts.Client(), ts.URL+"/files/F1", me, me.PublicKey(), nil)
		if !errors.Is(err, ErrBadResponse) {
			t.Fatalf("err = %v, want ErrBadResponse", err)
		}
	})
	t.Run("bytes after the header", func(t *testing.T) {
		a, ts := newArchive(t, plain)
		a.trailing = true
		_, err := Open(ctx, ts.Client(), ts.URL+"/files/F1", me, me.PublicKey(), nil)
		if !errors.Is(err, ErrBadResponse) {
			t.Fatalf("err = %v, want ErrBadResponse", err)
		}
	})
	t.Run("not found", func(t *testing.T) {
		_, ts := newArchive(t, plain)
		_, err := Open(ctx, ts.Client(), ts.URL+"/nothing/F1", me, me.PublicKey(), nil)
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != 404 {
			t.Fatalf("err = %v, want a 404", err)
		}
	})
	t.Run("truncated payload", func(t *testing.T) {
		a, ts := newArchive(t, plain)
		a.payload.mu.Lock()
		a.payload.content = a.payload.content[:len(a.payload.content)-100]
		a.payload.mu.Unlock()
		_, err := Open(ctx, ts.Client(), ts.URL+"/files/F1", me, me.PublicKey(), nil)
		if !errors.Is(err, crypt4gh.ErrTruncated) && !errors.Is(err, crypt4gh.ErrAuthentication) {
			t.Fatalf("err = %v, want a truncation or authentication error", err)
		}
	})
	t.Run("payload changed mid-read", func(t *testing.T) {
		a, ts := newArchive(t, plain)
		r, err := Open(ctx, ts.Client(), ts.URL+"/files/F1", me, me.PublicKey(), nil)
		if err != nil {
			t.Fatal(err)
		}
		a.payload.mu.Lock()
		c := bytes.Clone(a.payload.content)
		a.payload.mu.Unlock()
		c[10] ^= 1
		a.payload.set(c)
		if _, err := r.ReadAt(make([]byte, 10), 0); !errors.Is(err, ErrChanged) {
			t.Fatalf("err = %v, want ErrChanged", err)
		}
	})
}

func TestOpenFile(t *testing.T) {
	plain := randomBytes(22, 10*crypt4gh.SegmentSize+77)
	me := newIdentity(t)
	file := encryptFor(t, plain, me)
	s, ts := newRangeServer(t, file)
	ctx := context.Background()
	r, err := OpenFile(ctx, ts.Client(), ts.URL+"/reads.bam.c4gh?X-Amz-Signature=abc", nil, me)
	if err != nil {
		t.Fatal(err)
	}
	// The probe, the start of the file, the last segment.
	if n := s.requests.Load(); n != 3 {
		t.Errorf("opening took %d requests, want 3", n)
	}
	if r.Header() == nil {
		t.Error("no header")
	}
	p := make([]byte, 1000)
	before, reqs := s.bytesSent(t), s.requests.Load()
	off := int64(5*crypt4gh.SegmentSize + 100)
	if _, err := r.ReadAt(p, off); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p, plain[off:off+1000]) {
		t.Fatal("plaintext differs")
	}
	if got := s.bytesSent(t) - before; got != crypt4gh.CipherSegmentSize {
		t.Errorf("a read in one segment fetched %d bytes", got)
	}
	if got := s.requests.Load() - reqs; got != 1 {
		t.Errorf("a read in one segment took %d requests", got)
	}
	if got := readAll(t, r, r.Size(), 300_000); !bytes.Equal(got, plain) {
		t.Fatal("plaintext differs")
	}

	// A key the file is not for.
	if _, err := OpenFile(ctx, ts.Client(), ts.URL, nil, newIdentity(t)); !errors.Is(err, crypt4gh.ErrNoMatchingKey) {
		t.Fatalf("err = %v, want ErrNoMatchingKey", err)
	}

	// A tampered segment is an authentication error on read.
	bad := bytes.Clone(file)
	bad[len(file)-crypt4gh.CipherSegmentSize-5000] ^= 1
	s.set(bad)
	r, err = OpenFile(ctx, ts.Client(), ts.URL, nil, me)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(make([]byte, crypt4gh.SegmentSize), 8*crypt4gh.SegmentSize); !errors.Is(err, crypt4gh.ErrAuthentication) {
		t.Fatalf("err = %v, want ErrAuthentication", err)
	}

	// Not a Crypt4GH file.
	s.set([]byte("just some text, not encrypted"))
	if _, err := OpenFile(ctx, ts.Client(), ts.URL, nil, me); !errors.Is(err, crypt4gh.ErrNotCrypt4GH) {
		t.Fatalf("err = %v, want ErrNotCrypt4GH", err)
	}

	// A server claiming an enormous object cannot make us allocate it.
	s.hook = func(w http.ResponseWriter, r *http.Request, n int64) bool {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-0/%d", int64(1)<<62))
		w.WriteHeader(http.StatusPartialContent)
		io.WriteString(w, "c")
		return true
	}
	if _, err := OpenFile(ctx, ts.Client(), ts.URL, nil, me); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("err = %v, want ErrBadResponse", err)
	}
}

// TestOpenFileBigHeader has a header larger than the first fetch.
func TestOpenFileBigHeader(t *testing.T) {
	me := newIdentity(t)
	var rs []crypt4gh.Recipient
	for range 1200 { // ~ 124 bytes a packet: 150 KB of header
		rs = append(rs, newIdentity(t).Recipient())
	}
	rs = append(rs, me.Recipient())
	var buf bytes.Buffer
	w, err := crypt4gh.Encrypt(&buf, rs...)
	if err != nil {
		t.Fatal(err)
	}
	plain := randomBytes(23, 500_000)
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Header().Size() <= headChunk {
		t.Fatalf("header of %d bytes is not big enough for the test", w.Header().Size())
	}
	s, ts := newRangeServer(t, buf.Bytes())
	r, err := OpenFile(context.Background(), ts.Client(), ts.URL, nil, me)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.requests.Load(); n != 4 {
		t.Errorf("opening took %d requests, want 4", n)
	}
	if got := readAll(t, r, r.Size(), 1<<20); !bytes.Equal(got, plain) {
		t.Fatal("plaintext differs")
	}
}
