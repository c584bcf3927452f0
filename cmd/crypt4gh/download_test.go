package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/remote"
)

// testArchive is a small server implementing the archive's HTTP API (DRS,
// /files, htsget) with the library, for the download tests. Its "BAM" is
// any bytes: an htsget region start-end maps to those plaintext bytes.
type testArchive struct {
	t     *testing.T
	key   *crypt4gh.X25519Identity
	token string

	mu      sync.Mutex
	objects map[string]*testObject
	// Faults.
	checksum   string // replaces the DRS checksum
	tamper     bool   // flip a payload byte of /files responses
	cutTail    int64  // drop this many bytes from the end of /files bodies
	ignoreRng  bool   // /files answers ranges with the whole file (200)
	payload200 bool   // /payload ignores Range
	shortBody  bool   // /files bodies end before their Content-Length
	hits       map[string]int
}

type testObject struct {
	plain   []byte
	header  *crypt4gh.Header
	payload []byte
}

func newTestArchive(t *testing.T) (*testArchive, *httptest.Server) {
	a := &testArchive{t: t, token: "s3cret-visa", objects: map[string]*testObject{}, hits: map[string]int{}}
	var err error
	if a.key, err = crypt4gh.GenerateX25519Identity(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ga4gh/drs/v1/objects/{id}", a.drsObject)
	mux.HandleFunc("GET /ga4gh/drs/v1/objects/{id}/access/{aid}", a.drsAccess)
	mux.HandleFunc("GET /files/{id}", a.file)
	mux.HandleFunc("GET /files/{id}/payload", a.payload)
	mux.HandleFunc("GET /reads/{id}", a.htsget)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.hits[r.URL.Path]++
		a.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return a, srv
}

// add stores plain as object id.
func (a *testArchive) add(id string, plain []byte) {
	var buf bytes.Buffer
	w, err := crypt4gh.Encrypt(&buf, a.key.Recipient())
	if err != nil {
		a.t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		a.t.Fatal(err)
	}
	h, n, err := crypt4gh.ParseHeader(buf.Bytes())
	if err != nil {
		a.t.Fatal(err)
	}
	a.mu.Lock()
	a.objects[id] = &testObject{plain: plain, header: h, payload: buf.Bytes()[n:]}
	a.mu.Unlock()
}

func drsError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"msg": msg, "status_code": code})
}

// object checks the token and returns the object named in the path.
func (a *testArchive) object(w http.ResponseWriter, r *http.Request) *testObject {
	if r.Header.Get("Authorization") != "Bearer "+a.token {
		drsError(w, http.StatusUnauthorized, "a valid visa is required")
		return nil
	}
	a.mu.Lock()
	o := a.objects[r.PathValue("id")]
	a.mu.Unlock()
	if o == nil {
		drsError(w, http.StatusNotFound, "no object "+r.PathValue("id"))
	}
	return o
}

// recipient reads the requester's key.
func (a *testArchive) recipient(w http.ResponseWriter, r *http.Request) crypt4gh.Recipient {
	b, err := base64.StdEncoding.DecodeString(r.Header.Get(remote.PublicKeyHeader))
	var rc crypt4gh.Recipient
	if err == nil && len(b) == 32 {
		rc, err = crypt4gh.NewX25519Recipient(b)
	} else if err == nil {
		rc, err = crypt4gh.ParsePublicKey(b)
	}
	if err != nil {
		drsError(w, http.StatusBadRequest, "missing or malformed X-C4GH-Public-Key")
		return nil
	}
	return rc
}

func (a *testArchive) base(r *http.Request) string { return "http://" + r.Host }

func (a *testArchive) drsObject(w http.ResponseWriter, r *http.Request) {
	o := a.object(w, r)
	if o == nil {
		return
	}
	sum := sha256.Sum256(o.plain)
	a.mu.Lock()
	checksum := hex.EncodeToString(sum[:])
	if a.checksum != "" {
		checksum = a.checksum
	}
	a.mu.Unlock()
	id := r.PathValue("id")
	json.NewEncoder(w).Encode(map[string]any{
		"id": id, "self_uri": "drs://" + r.Host + "/" + id, "size": len(o.plain),
		"created_time": time.Now().UTC().Format(time.RFC3339),
		"checksums":    []map[string]string{{"type": "sha-256", "checksum": checksum}},
		"access_methods": []map[string]any{
			{"type": "htsget", "access_url": map[string]any{"url": a.base(r) + "/reads/" + id}},
			{"type": "https", "access_id": "crypt4gh"},
		},
	})
}

func (a *testArchive) drsAccess(w http.ResponseWriter, r *http.Request) {
	if a.object(w, r) == nil {
		return
	}
	if r.PathValue("aid") != "crypt4gh" {
		drsError(w, http.StatusNotFound, "no access method "+r.PathValue("aid"))
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"url":     a.base(r) + "/files/" + r.PathValue("id"),
		"headers": []string{"Authorization: Bearer " + a.token},
	})
}

// plan returns the header for rc and the payload bytes serving the
// plaintext range rg.
func (a *testArchive) plan(o *testObject, rc crypt4gh.Recipient, rg crypt4gh.Range) ([]byte, [][2]int64) {
	p, err := crypt4gh.PlanRange(nil, rg)
	if err != nil {
		a.t.Error(err)
		return nil, nil
	}
	h, err := crypt4gh.RearrangeHeader(o.header, []crypt4gh.Identity{a.key}, []crypt4gh.Recipient{rc}, p, int64(len(o.payload)))
	if err != nil {
		a.t.Error(err)
		return nil, nil
	}
	return h.Marshal(), p.PayloadRanges(int64(len(o.payload)))
}

func (a *testArchive) file(w http.ResponseWriter, r *http.Request) {
	o := a.object(w, r)
	if o == nil {
		return
	}
	rc := a.recipient(w, r)
	if rc == nil {
		return
	}
	a.mu.Lock()
	tamper, cut, ignoreRng, short := a.tamper, a.cutTail, a.ignoreRng, a.shortBody
	a.mu.Unlock()
	size := int64(len(o.plain))
	status := http.StatusOK
	var body []byte
	if rh := r.Header.Get("Range"); rh != "" && !ignoreRng {
		var first, last int64 = 0, -1
		spec := strings.TrimPrefix(rh, "bytes=")
		f, l, _ := strings.Cut(spec, "-")
		first, _ = strconv.ParseInt(f, 10, 64)
		if l != "" {
			last, _ = strconv.ParseInt(l, 10, 64)
		}
		if first >= size {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			drsError(w, http.StatusRequestedRangeNotSatisfiable, "range not satisfiable")
			return
		}
		if last < 0 || last >= size {
			last = size - 1
		}
		hdr, ranges := a.plan(o, rc, crypt4gh.Range{Start: first, End: last + 1})
		body = hdr
		for _, pr := range ranges {
			body = append(body, o.payload[pr[0]:pr[1]]...)
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, size))
		status = http.StatusPartialContent
	} else {
		h, err := crypt4gh.ReencryptHeader(o.header, []crypt4gh.Identity{a.key}, []crypt4gh.Recipient{rc}, &crypt4gh.ReencryptOptions{Trim: true})
		if err != nil {
			a.t.Error(err)
			return
		}
		body = append(h.Marshal(), o.payload...)
	}
	if tamper {
		body[len(body)-100] ^= 1
	}
	if cut > 0 {
		// A body that ends early but says so with its length: a server
		// that lost data, not a broken connection.
		body = body[:len(body)-int(cut)]
	}
	w.Header().Set("Content-Type", "application/vnd.ga4gh.crypt4gh")
	length := len(body)
	if short {
		// The connection breaks at a segment boundary.
		body = body[:len(body)-crypt4gh.CipherSegmentSize]
	}
	w.Header().Set("Content-Length", strconv.Itoa(length))
	w.WriteHeader(status)
	w.Write(body)
}

func (a *testArchive) payload(w http.ResponseWriter, r *http.Request) {
	o := a.object(w, r)
	if o == nil {
		return
	}
	a.mu.Lock()
	ignore := a.payload200
	a.mu.Unlock()
	if ignore {
		r.Header.Del("Range")
	}
	w.Header().Set("ETag", `"`+r.PathValue("id")+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(o.payload))
}

func (a *testArchive) htsget(w http.ResponseWriter, r *http.Request) {
	o := a.object(w, r)
	if o == nil {
		return
	}
	rc := a.recipient(w, r)
	if rc == nil {
		return
	}
	q := r.URL.Query()
	htsErr := func(code int, name, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"htsget": map[string]string{"error": name, "message": msg}})
	}
	if s := q.Get("encryptionScheme"); s != "crypt4gh" {
		htsErr(400, "InvalidInput", "encryptionScheme="+s)
		return
	}
	if f := q.Get("format"); f != "" && f != "BAM" {
		htsErr(400, "UnsupportedFormat", "format "+f)
		return
	}
	rg := crypt4gh.Range{Start: 0, End: -1}
	if name := q.Get("referenceName"); name != "" && name != "chr1" {
		htsErr(404, "NotFound", "no reference "+name)
		return
	}
	if s := q.Get("start"); s != "" {
		rg.Start, _ = strconv.ParseInt(s, 10, 64)
	}
	if e := q.Get("end"); e != "" {
		rg.End, _ = strconv.ParseInt(e, 10, 64)
	}
	if q.Get("class") == "header" {
		rg = crypt4gh.Range{Start: 0, End: 100}
	}
	hdr, ranges := a.plan(o, rc, rg)
	urls := []map[string]any{{"url": "data:application/vnd.ga4gh.crypt4gh;base64," + base64.StdEncoding.EncodeToString(hdr), "class": "header"}}
	for _, pr := range ranges {
		// Two segments a URL, so that a region takes several.
		for s := pr[0]; s < pr[1]; s += 2 * crypt4gh.CipherSegmentSize {
			e := min(pr[1], s+2*crypt4gh.CipherSegmentSize)
			urls = append(urls, map[string]any{
				"url":   a.base(r) + "/files/" + r.PathValue("id") + "/payload",
				"class": "body",
				"headers": map[string]string{
					"Range":         fmt.Sprintf("bytes=%d-%d", s, e-1),
					"Authorization": "Bearer " + a.token,
				},
			})
		}
	}
	json.NewEncoder(w).Encode(map[string]any{"htsget": map[string]any{"format": "BAM", "encryptionScheme": "crypt4gh", "urls": urls}})
}

// dl runs the command with the given environment and returns its exit
// code, standard output and standard error.
func dl(t *testing.T, env map[string]string, args ...string) (int, []byte, string) {
	t.Helper()
	dir := t.TempDir()
	files := make([]*os.File, 3)
	for i, name := range []string{"stdin", "stdout", "stderr"} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[i] = f
	}
	a := &app{stdin: files[0], stdout: files[1], stderr: files[2], noTTY: true, now: time.Now,
		getenv: func(k string) string { return env[k] }}
	code := a.run(args)
	out, _ := os.ReadFile(files[1].Name())
	msg, _ := os.ReadFile(files[2].Name())
	return code, out, string(msg)
}

func testPlain(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestDownload(t *testing.T) {
	a, srv := newTestArchive(t)
	plain := testPlain(5*crypt4gh.SegmentSize + 4321)
	a.add("F1", plain)
	host := strings.TrimPrefix(srv.URL, "http://")
	env := map[string]string{envToken: a.token}
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(a.token+"\n"), 0o600)

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want []byte
	}{
		{"drs URI", []string{"--plain-http", "drs://" + host + "/F1"}, env, plain},
		{"drs URL", []string{srv.URL + "/ga4gh/drs/v1/objects/F1"}, env, plain},
		{"token file", []string{"--token-file", tokenFile, srv.URL + "/ga4gh/drs/v1/objects/F1"}, nil, plain},
		{"drs range", []string{"--range", "70000-140000", srv.URL + "/ga4gh/drs/v1/objects/F1"}, env, plain[70000:140000]},
		{"drs open range", []string{"--range=300000-", "--plain-http", "drs://" + host + "/F1"}, env, plain[300000:]},
		{"range past the end", []string{"--range=300000-999999", srv.URL + "/files/F1"}, env, plain[300000:]},
		{"files URL", []string{srv.URL + "/files/F1"}, env, plain},
		{"files range", []string{"--range", "1-2", srv.URL + "/files/F1"}, env, plain[1:2]},
		{"htsget", []string{srv.URL + "/reads/F1"}, env, plain},
		{"htsget region", []string{"--region", "chr1:100,001-300,000", srv.URL + "/reads/F1?format=BAM"}, env, plain[100000:300000]},
		{"htsget open region", []string{"--region", "chr1:200001", "--format", "bam", srv.URL + "/reads/F1"}, env, plain[200000:]},
		{"htsget header", []string{"--class", "header", srv.URL + "/reads/F1"}, env, plain[:100]},
		{"options after the URL", []string{srv.URL + "/files/F1", "--range", "5-10"}, env, plain[5:10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, _, stderr := dl(t, tt.env, append([]string{"download", "-o", out}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("got %d bytes, want %d (or they differ)", len(got), len(tt.want))
			}
			if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
				t.Errorf("output mode %v, want 0600", st.Mode().Perm())
			}
			if strings.Contains(stderr, a.token) {
				t.Errorf("the token shows on standard error: %s", stderr)
			}
		})
	}

	// Standard output.
	code, out, stderr := dl(t, env, "download", "--range", "10-20", srv.URL+"/files/F1")
	if code != 0 || !bytes.Equal(out, plain[10:20]) {
		t.Fatalf("to stdout: exit %d, %q: %s", code, out, stderr)
	}

	// A range is served by the segments that hold it only.
	a.mu.Lock()
	clear(a.hits)
	a.mu.Unlock()
	if code, _, stderr := dl(t, env, "download", "-o", filepath.Join(dir, "r"), "--region", "chr1:131073-131080", srv.URL+"/reads/F1"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	a.mu.Lock()
	if n := a.hits["/files/F1/payload"]; n != 1 {
		t.Errorf("a region in one segment fetched %d payload ranges", n)
	}
	a.mu.Unlock()
}

// TestDownloadKeyFile downloads with a long-term key instead of an
// ephemeral one: the server encrypts for the key sent.
func TestDownloadKeyFile(t *testing.T) {
	a, srv := newTestArchive(t)
	plain := testPlain(1000)
	a.add("F1", plain)
	dir := t.TempDir()
	id, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyData, err := crypt4gh.MarshalIdentity(id, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sk := filepath.Join(dir, "me.sec")
	os.WriteFile(sk, keyData, 0o600)
	out := filepath.Join(dir, "out")
	code, _, stderr := dl(t, map[string]string{envToken: a.token}, "download", "--sk", sk, "-o", out, srv.URL+"/files/F1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, plain) {
		t.Fatal("plaintext differs")
	}
}

func TestDownloadFailures(t *testing.T) {
	a, srv := newTestArchive(t)
	plain := testPlain(4 * crypt4gh.SegmentSize)
	a.add("F1", plain)
	env := map[string]string{envToken: a.token}
	drs := srv.URL + "/ga4gh/drs/v1/objects/F1"

	tests := []struct {
		name   string
		fault  func()
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"no token", nil, nil, []string{drs}, exitNetwork, `401 Unauthorized: a valid visa is required`},
		{"wrong token", nil, map[string]string{envToken: "nope"}, []string{drs}, exitNetwork, "hint: check the access token"},
		{"unknown object", nil, env, []string{srv.URL + "/ga4gh/drs/v1/objects/F9"}, exitNetwork, "404 Not Found: no object F9"},
		{"htsget error", nil, env, []string{"--region", "chr7", srv.URL + "/reads/F1"}, exitNetwork, "NotFound: no reference chr7"},
		{"checksum mismatch", func() { a.checksum = strings.Repeat("ab", 32) }, env, []string{drs}, exitAuth, "SHA-256"},
		{"tampered segment", func() { a.tamper = true }, env, []string{drs}, exitAuth, "failed authentication"},
		{"cut at a segment boundary", func() { a.cutTail = crypt4gh.CipherSegmentSize }, env, []string{drs}, exitFormat, "ends after 196608 of its 262144 bytes"},
		{"cut at a segment boundary, no DRS size", func() { a.cutTail = crypt4gh.CipherSegmentSize }, env, []string{"--range", "0-262144", srv.URL + "/files/F1"}, exitFormat, "ends after"},
		{"connection cut at a segment boundary", func() { a.shortBody = true }, env, []string{"--range", "0-262144", srv.URL + "/files/F1"}, exitNetwork, "connection closed early"},
		{"range ignored", func() { a.ignoreRng = true }, env, []string{"--range", "5-10", drs}, 0, ""},
		{"unsatisfiable range", nil, env, []string{"--range", "999999-", drs}, exitNetwork, "416"},
		{"htsget 200 for a range", func() { a.payload200 = true }, env, []string{srv.URL + "/reads/F1"}, exitNetwork, "asked for bytes 0-131127, got 200 OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.mu.Lock()
			a.checksum, a.tamper, a.cutTail, a.ignoreRng, a.payload200, a.shortBody = "", false, 0, false, false, false
			if tt.fault != nil {
				tt.fault()
			}
			a.mu.Unlock()
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			code, _, stderr := dl(t, tt.env, append([]string{"download", "-o", out}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not say %q", stderr, tt.stderr)
			}
			if strings.Contains(stderr, a.token) {
				t.Errorf("the token shows on standard error: %s", stderr)
			}
			_, err := os.Stat(out)
			if (err == nil) != (tt.code == 0) {
				t.Errorf("output exists: %v, exit %d", err == nil, code)
			}
			if tt.code == 0 {
				if got, _ := os.ReadFile(out); !bytes.Equal(got, plain[5:10]) {
					t.Errorf("got %q", got)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(dir, ".*")); len(m) > 0 {
				t.Errorf("temporary files left: %v", m)
			}
		})
	}

	// A server that is not there.
	srv.Close()
	code, _, stderr := dl(t, env, "download", "-o", filepath.Join(t.TempDir(), "out"), drs)
	if code != exitNetwork || !strings.Contains(stderr, "connection refused") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

func TestDownloadUsage(t *testing.T) {
	tests := []struct {
		args   []string
		stderr string
	}{
		{nil, "a URL is required"},
		{[]string{"a", "b"}, `unexpected argument "b"`},
		{[]string{"--token", "x", "https://h/files/1"}, "tokens are never taken on the command line"},
		{[]string{"ftp://h/x"}, `unsupported URL scheme "ftp"`},
		{[]string{"drs://h"}, "drs://HOST/ID"},
		{[]string{"drs://prefix:123"}, "compact identifiers"},
		{[]string{"h/files/1"}, "no scheme"},
		{[]string{"--region", "chr1:5-2", "https://h/reads/1"}, "END is before START"},
		{[]string{"--region", "chr1:0-2", "https://h/reads/1"}, "positions start at 1"},
		{[]string{"--region", "chr1", "https://h/files/1"}, "--region, --class and --format are for htsget"},
		{[]string{"--range", "1-2", "https://h/variants/1"}, "--range is for DRS and file URLs"},
		{[]string{"--class", "body", "https://h/reads/1"}, `invalid --class "body"`},
		{[]string{"--format", "SAM", "https://h/reads/1"}, `invalid --format "SAM"`},
		{[]string{"--range", "5-1", "https://h/files/1"}, "END must be greater than START"},
	}
	for _, tt := range tests {
		code, _, stderr := dl(t, nil, append([]string{"download"}, tt.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tt.stderr) {
			t.Errorf("download %q: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.stderr)
		}
	}
	code, out, _ := dl(t, nil, "download", "--help")
	if code != 0 || !bytes.Contains(out, []byte("Usage: crypt4gh download")) {
		t.Errorf("--help: exit %d, %q", code, out)
	}
	// Tokens with control characters are refused (they would forge
	// request headers).
	code, _, stderr := dl(t, map[string]string{envToken: "a\x01b"}, "download", "https://h/files/1")
	if code != exitUsage || !strings.Contains(stderr, "non-printable") {
		t.Errorf("bad token: exit %d, %q", code, stderr)
	}
}

func TestClassifyURL(t *testing.T) {
	tests := []struct {
		in    string
		plain bool
		kind  urlKind
		url   string
	}{
		{"drs://example.org/EGAF01", false, kindDRS, "https://example.org/ga4gh/drs/v1/objects/EGAF01"},
		{"drs://localhost:8080/a%2Fb", true, kindDRS, "http://localhost:8080/ga4gh/drs/v1/objects/a%2Fb"},
		{"https://example.org/ga4gh/drs/v1/objects/X", false, kindDRS, "https://example.org/ga4gh/drs/v1/objects/X"},
		{"https://example.org/api/ga4gh/drs/v1/objects/X", false, kindDRS, "https://example.org/api/ga4gh/drs/v1/objects/X"},
		{"https://example.org/htsget/reads/X?format=BAM", false, kindHtsget, "https://example.org/htsget/reads/X?format=BAM"},
		{"HTTPS://example.org/variants/X", false, kindHtsget, "https://example.org/variants/X"},
		{"https://example.org/files/X", false, kindFile, "https://example.org/files/X"},
		{"https://bucket.s3.example.org/x.c4gh?X-Amz-Signature=1", false, kindFile, "https://bucket.s3.example.org/x.c4gh?X-Amz-Signature=1"},
		{"https://example.org/reads/", false, kindFile, "https://example.org/reads/"},
	}
	for _, tt := range tests {
		got, err := classifyURL(tt.in, tt.plain)
		if err != nil {
			t.Errorf("classifyURL(%q): %v", tt.in, err)
			continue
		}
		if got.kind != tt.kind || got.url.String() != tt.url {
			t.Errorf("classifyURL(%q) = %d %s, want %d %s", tt.in, got.kind, got.url, tt.kind, tt.url)
		}
	}
}

func TestParseRegion(t *testing.T) {
	tests := []struct {
		in         string
		name       string
		start, end int64
		err        string
	}{
		{"chr1", "chr1", -1, -1, ""},
		{"chr1:1-100", "chr1", 0, 100, ""},
		{"chr1:101-200", "chr1", 100, 200, ""},
		{"chr20:1,000,001-1,100,000", "chr20", 1000000, 1100000, ""},
		{"chr1:5", "chr1", 4, -1, ""},
		{"chr1:5-", "chr1", 4, -1, ""},
		{"chr1:7-7", "chr1", 6, 7, ""},
		{"*", "*", -1, -1, ""},
		{"HLA-A*01:01:01:01", "HLA-A*01:01:01", 0, -1, ""}, // as samtools without braces
		{"{HLA-A*01:01:01:01}:10-20", "HLA-A*01:01:01:01", 9, 20, ""},
		{"{HLA-A*01:01:01:01}", "HLA-A*01:01:01:01", -1, -1, ""},
		{"chrUn:KI270742v1", "chrUn:KI270742v1", -1, -1, ""},
		{"", "", 0, 0, "empty"},
		{":1-2", "", 0, 0, "missing reference name"},
		{"chr1:0", "", 0, 0, "positions start at 1"},
		{"chr1:9-3", "", 0, 0, "END is before START"},
		{"chr1:1-2-3", "chr1:1-2-3", -1, -1, ""},
		{"*:1-5", "", 0, 0, "take no positions"},
		{"{chr1", "", 0, 0, "missing }"},
		{"{chr1}x", "", 0, 0, "want {NAME}:START-END"},
		{"chr 1", "", 0, 0, "non-printable"},
		{"chr1:99999999999999999999", "", 0, 0, "out of range"},
	}
	for _, tt := range tests {
		r, err := parseRegion(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseRegion(%q): err %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || r.name != tt.name || r.start != tt.start || r.end != tt.end {
			t.Errorf("parseRegion(%q) = %+v, %v; want %s %d %d", tt.in, r, err, tt.name, tt.start, tt.end)
		}
	}
}

func FuzzParseRegion(f *testing.F) {
	for _, s := range []string{"chr1", "chr1:1-100", "chr20:1,000,001-1,100,000", "*", "{HLA-A*01:01}:10-20", "chr1:5-", "x:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRegion(s)
		if err != nil {
			return
		}
		if r.name == "" || (r.start < -1) || (r.end >= 0 && (r.start < 0 || r.end <= r.start)) {
			t.Fatalf("parseRegion(%q) = %+v", s, r)
		}
		// The htsget query built from it survives URL encoding.
		q := url.Values{"referenceName": {r.name}}
		back, err := url.ParseQuery(q.Encode())
		if err != nil || back.Get("referenceName") != r.name {
			t.Fatalf("reference name %q does not survive the query", r.name)
		}
	})
}

func FuzzDecodeDataURI(f *testing.F) {
	f.Add("data:application/vnd.ga4gh.crypt4gh;base64,Y3J5cHQ0Z2g=")
	f.Add("data:,hello%20world")
	f.Add("data:;base64,Y3J5cHQ0Z2g")
	f.Add("data:text/plain")
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.HasPrefix(s, "data:") {
			s = "data:" + s
		}
		b, err := decodeDataURI(s)
		if err == nil && len(b) > len(s) {
			t.Fatalf("%d bytes decoded from a %d-byte URI", len(b), len(s))
		}
	})
}

// FuzzTicket feeds arbitrary JSON to the ticket checks.
func FuzzTicket(f *testing.F) {
	f.Add(`{"htsget":{"format":"BAM","encryptionScheme":"crypt4gh","urls":[{"url":"data:;base64,AA=="},{"url":"https://h/files/1/payload","headers":{"Range":"bytes=0-99"}}]}}`)
	f.Add(`{"htsget":{"urls":[{"url":"ftp://x"}]}}`)
	f.Add(`{"htsget":{"urls":[{"url":"/rel","headers":{"Range":"bytes=5-1"}}]}}`)
	base, _ := url.Parse("https://example.org/reads/1")
	d := &downloader{}
	f.Fuzz(func(t *testing.T, s string) {
		var tk htsgetTicket
		if json.Unmarshal([]byte(s), &tk) != nil {
			return
		}
		parts, total, err := d.ticketParts(base, &tk)
		if err != nil {
			return
		}
		for _, p := range parts {
			if p.url != nil && p.url.Scheme != "https" {
				t.Fatalf("a %s URL from an https ticket", p.url.Scheme)
			}
			if p.first > p.last || (p.first < 0) != (p.last < 0) {
				t.Fatalf("bad range %d-%d", p.first, p.last)
			}
		}
		if total < -1 {
			t.Fatalf("total %d", total)
		}
	})
}
