package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/auth"
	"github.com/crypt4gh-go/crypt4gh/internal/server"
	"github.com/crypt4gh-go/crypt4gh/internal/server/servertest"
	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

type env = servertest.Env

const adminToken = servertest.AdminToken

func newEnv(t *testing.T) *env { return servertest.Start(t) }

func sha256hex(s string) string { return servertest.SHA256Hex(s) }

// client is a requester with its own key pair.
type client struct {
	id  *crypt4gh.X25519Identity
	pub string
}

func newClient(t *testing.T) client {
	id, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return client{id: id, pub: base64.StdEncoding.EncodeToString(id.PublicKey())}
}

func do(e *env, method, path, token string, hdr map[string]string, body io.Reader) *http.Response {
	e.T.Helper()
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		e.T.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	return resp
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decrypt(t *testing.T, stream []byte, id crypt4gh.Identity) []byte {
	t.Helper()
	r, err := crypt4gh.Decrypt(bytes.NewReader(stream), id)
	if err != nil {
		t.Fatalf("decrypting the response: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decrypting the response: %v", err)
	}
	return out
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31 + i>>9)
	}
	return b
}

func TestWholeFileAndRanges(t *testing.T) {
	e := newEnv(t)
	plain := pattern(5*crypt4gh.SegmentSize + 4321)
	f := e.Ingest("obj1", "ds1", plain, nil, "")
	if f.PlaintextSize != int64(len(plain)) || f.PlaintextSHA256 != sha256hex(string(plain)) {
		t.Fatalf("ingest recorded size %d sha %s", f.PlaintextSize, f.PlaintextSHA256)
	}
	c := newClient(t)
	tok := e.Token("ds1")

	resp := do(e, "GET", "/files/obj1", tok, map[string]string{"X-C4GH-Public-Key": c.pub}, nil)
	body := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Fatalf("Content-Length %d, body %d", resp.ContentLength, len(body))
	}
	if got := decrypt(t, body, c.id); !bytes.Equal(got, plain) {
		t.Fatal("whole file: plaintext differs")
	}
	// The archive key cannot read the response: it was re-encrypted.
	if _, err := crypt4gh.Decrypt(bytes.NewReader(body), e.Archive); err == nil {
		t.Fatal("the response header still opens with the archive key")
	}

	n := int64(len(plain))
	seg := int64(crypt4gh.SegmentSize)
	for _, tc := range []struct {
		rng        string
		start, end int64
	}{
		{"bytes=0-0", 0, 1},
		{"bytes=100-199", 100, 200},
		{fmt.Sprintf("bytes=%d-%d", seg-10, 3*seg+10), seg - 10, 3*seg + 11},
		{fmt.Sprintf("bytes=%d-", 4*seg+7), 4*seg + 7, n},
		{"bytes=-1000", n - 1000, n},
		{fmt.Sprintf("bytes=%d-%d", n-5, n+100), n - 5, n},
	} {
		resp := do(e, "GET", "/files/obj1", tok, map[string]string{"X-C4GH-Public-Key": c.pub, "Range": tc.rng}, nil)
		body := readAll(t, resp)
		if resp.StatusCode != http.StatusPartialContent {
			t.Fatalf("%s: status %d: %s", tc.rng, resp.StatusCode, body)
		}
		want := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end-1, n)
		if cr := resp.Header.Get("Content-Range"); cr != want {
			t.Fatalf("%s: Content-Range %q, want %q", tc.rng, cr, want)
		}
		if got := decrypt(t, body, c.id); !bytes.Equal(got, plain[tc.start:tc.end]) {
			t.Fatalf("%s: got %d bytes, want plaintext[%d:%d]", tc.rng, len(got), tc.start, tc.end)
		}
		// Only the segments holding the range are sent.
		segs := (tc.end-1)/seg - tc.start/seg + 1
		if max := int64(600) + segs*crypt4gh.CipherSegmentSize; int64(len(body)) > max {
			t.Fatalf("%s: %d bytes sent for %d segments", tc.rng, len(body), segs)
		}
	}
	resp = do(e, "GET", "/files/obj1", tok, map[string]string{"X-C4GH-Public-Key": c.pub, "Range": fmt.Sprintf("bytes=%d-", n)}, nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("range past the end: status %d, want 416", resp.StatusCode)
	}
}

func TestHeaderAndPayloadEndpoints(t *testing.T) {
	e := newEnv(t)
	plain := pattern(3*crypt4gh.SegmentSize + 99)
	f := e.Ingest("obj2", "ds1", plain, nil, "")
	c := newClient(t)
	tok := e.Token("ds1")

	resp := do(e, "GET", "/files/obj2/header", tok, map[string]string{"Htsget-Context-Public-Key": c.pub}, nil)
	hdr := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("header: %d %s", resp.StatusCode, hdr)
	}
	if resp.Header.Get("X-C4GH-Payload-Size") != fmt.Sprint(f.PayloadSize) {
		t.Fatalf("X-C4GH-Payload-Size = %q", resp.Header.Get("X-C4GH-Payload-Size"))
	}
	resp = do(e, "GET", "/files/obj2/payload", tok, nil, nil)
	payload := readAll(t, resp)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || int64(len(payload)) != f.PayloadSize || etag == "" {
		t.Fatalf("payload: status %d, %d bytes, etag %q", resp.StatusCode, len(payload), etag)
	}
	if got := decrypt(t, append(hdr, payload...), c.id); !bytes.Equal(got, plain) {
		t.Fatal("header + payload does not decrypt to the plaintext")
	}
	// Ranged payload reads, stable ETag, conditional requests.
	resp = do(e, "GET", "/files/obj2/payload", tok, map[string]string{"Range": "bytes=65564-131127"}, nil)
	part := readAll(t, resp)
	if resp.StatusCode != 206 || !bytes.Equal(part, payload[65564:131128]) || resp.Header.Get("ETag") != etag {
		t.Fatalf("ranged payload: status %d, %d bytes, etag %q", resp.StatusCode, len(part), resp.Header.Get("ETag"))
	}
	resp = do(e, "GET", "/files/obj2/payload", tok, map[string]string{"If-None-Match": etag}, nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: status %d", resp.StatusCode)
	}
	resp = do(e, "GET", "/files/obj2/payload", tok, map[string]string{"If-Match": `"other"`}, nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("If-Match mismatch: status %d", resp.StatusCode)
	}
	resp = do(e, "GET", "/files/obj2/payload", tok, map[string]string{"Range": fmt.Sprintf("bytes=%d-", f.PayloadSize)}, nil)
	readAll(t, resp)
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Fatalf("payload range past the end: %d", resp.StatusCode)
	}
}

// TestAuthorizationMatrix checks every refusal names its reason, has the
// right status and leaves an audit record.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	e.Ingest("a1", "ds1", pattern(1000), nil, "")
	e.Ingest("b1", "ds2", pattern(1000), nil, "")
	c := newClient(t)
	good := e.Token("ds1")
	other, err := auth.NewDevIssuer(e.URL+"/dev-issuer", filepath.Join(t.TempDir(), "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := other.Mint("mallory", []string{"ds1"}, time.Hour)
	expired, _ := e.Dev.Mint("alice", []string{"ds1"}, -time.Hour)
	key := map[string]string{"X-C4GH-Public-Key": c.pub}
	cases := []struct {
		name, path, token string
		hdr               map[string]string
		status            int
		reason            string
	}{
		{"no token", "/files/a1", "", key, 401, ""},
		{"garbage token", "/files/a1", "not-a-token", key, 401, ""},
		{"forged signature", "/files/a1", forged, key, 401, ""},
		{"expired", "/files/a1", expired, key, 401, ""},
		{"other dataset", "/files/b1", good, key, 403, "no grant for dataset"},
		{"static token, its dataset", "/files/b1", servertest.StaticToken, key, 200, "granted"},
		{"static token, other dataset", "/files/a1", servertest.StaticToken, key, 403, "no grant for dataset"},
		{"unknown id", "/files/nope", good, key, 404, "no such object"},
		{"traversal id", "/files/..%2F..%2Fetc%2Fpasswd", good, key, 404, ""},
		{"no key", "/files/a1", good, nil, 400, "bad or missing public key"},
		{"malformed key", "/files/a1", good, map[string]string{"X-C4GH-Public-Key": "AAAA"}, 400, "bad or missing public key"},
		{"low-order key", "/files/a1", good, map[string]string{"X-C4GH-Public-Key": base64.StdEncoding.EncodeToString(make([]byte, 32))}, 400, ""},
		{"two different keys", "/files/a1", good, map[string]string{"X-C4GH-Public-Key": c.pub, "Crypt4Gh-Pubkey": newClient(t).pub}, 400, ""},
		{"Crypt4Gh-Pubkey header", "/files/a1", good, map[string]string{"Crypt4Gh-Pubkey": c.pub}, 200, "granted"},
		{"DRS object, other dataset", "/ga4gh/drs/v1/objects/b1", good, nil, 403, ""},
		{"DRS object, no token", "/ga4gh/drs/v1/objects/a1", "", nil, 401, ""},
		{"payload without token", "/files/a1/payload", "", nil, 401, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := strings.Count(e.Audit.String(), "\n")
			resp := do(e, "GET", tc.path, tc.token, tc.hdr, nil)
			body := readAll(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status >= 400 {
				var msg struct {
					Msg string `json:"msg"`
				}
				if json.Unmarshal(body, &msg) != nil || msg.Msg == "" {
					t.Fatalf("error body has no reason: %s", body)
				}
			}
			if tc.reason != "" && !strings.Contains(e.Audit.String(), `"reason":"`+tc.reason+`"`) {
				t.Fatalf("no audit record with reason %q", tc.reason)
			}
			if strings.Count(e.Audit.String(), "\n") == before && tc.path != "/files/..%2F..%2Fetc%2Fpasswd" {
				t.Fatal("no audit record written")
			}
		})
	}
	if strings.Contains(e.Audit.String(), good) || strings.Contains(e.Audit.String(), servertest.StaticToken) {
		t.Fatal("a token was written to the audit log")
	}
}

func TestDRS(t *testing.T) {
	e := newEnv(t)
	plain := pattern(70000)
	e.Ingest("d1", "ds1", plain, nil, "")
	e.Ingest("d2", "ds1", pattern(10), nil, "")
	e.Ingest("d3", "ds2", pattern(10), nil, "")
	tok := e.Token("ds1")

	resp := do(e, "GET", "/ga4gh/drs/v1/service-info", "", nil, nil)
	var si struct {
		Type struct{ Artifact, Version string }
	}
	json.Unmarshal(readAll(t, resp), &si)
	if si.Type.Artifact != "drs" || si.Type.Version != "1.5.0" {
		t.Fatalf("service-info type %+v", si.Type)
	}

	var obj struct {
		ID         string
		SelfURI    string `json:"self_uri"`
		Size       int64
		Checksums  []struct{ Checksum, Type string }
		AccessMeth []struct {
			Type     string
			AccessID string `json:"access_id"`
		} `json:"access_methods"`
	}
	resp = do(e, "GET", "/ga4gh/drs/v1/objects/d1", tok, nil, nil)
	if err := json.Unmarshal(readAll(t, resp), &obj); err != nil || resp.StatusCode != 200 {
		t.Fatalf("object: %d %v", resp.StatusCode, err)
	}
	if obj.Size != int64(len(plain)) || len(obj.Checksums) != 1 || obj.Checksums[0].Checksum != sha256hex(string(plain)) || obj.Checksums[0].Type != "sha-256" {
		t.Fatalf("object metadata %+v", obj)
	}
	if !strings.HasPrefix(obj.SelfURI, "drs://") || len(obj.AccessMeth) != 1 || obj.AccessMeth[0].AccessID != "crypt4gh" {
		t.Fatalf("object %+v", obj)
	}
	// POST with passports in the body instead of a bearer token.
	resp = do(e, "POST", "/ga4gh/drs/v1/objects/d1", "", map[string]string{"Content-Type": "application/json"},
		strings.NewReader(`{"passports":["`+tok+`"]}`))
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("POST object with passport: %d %s", resp.StatusCode, b)
	}
	// Access: a URL + headers that fetch a stream for our key.
	resp = do(e, "GET", "/ga4gh/drs/v1/objects/d1/access/crypt4gh", tok, nil, nil)
	var acc struct {
		URL     string
		Headers []string
	}
	if err := json.Unmarshal(readAll(t, resp), &acc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("access: %d %v", resp.StatusCode, err)
	}
	c := newClient(t)
	req, _ := http.NewRequest("GET", acc.URL, nil)
	for _, h := range acc.Headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	req.Header.Set("X-C4GH-Public-Key", c.pub)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := decrypt(t, readAll(t, r2), c.id); !bytes.Equal(got, plain) {
		t.Fatal("access URL stream does not decrypt to the plaintext")
	}
	resp = do(e, "GET", "/ga4gh/drs/v1/objects/d1/access/s3", tok, nil, nil)
	if readAll(t, resp); resp.StatusCode != 404 {
		t.Fatalf("unknown access id: %d", resp.StatusCode)
	}
	// Bulk: resolved, forbidden and missing ids reported per object.
	resp = do(e, "POST", "/ga4gh/drs/v1/objects", tok, nil, strings.NewReader(`{"bulk_object_ids":["d1","d2","d3","zz"]}`))
	var bulk struct {
		Summary    struct{ Requested, Resolved, Unresolved int }
		Resolved   []struct{ ID string } `json:"resolved_drs_object"`
		Unresolved []struct {
			ErrorCode int      `json:"error_code"`
			ObjectIDs []string `json:"object_ids"`
		} `json:"unresolved_drs_objects"`
	}
	if err := json.Unmarshal(readAll(t, resp), &bulk); err != nil || resp.StatusCode != 200 {
		t.Fatalf("bulk: %d %v", resp.StatusCode, err)
	}
	if bulk.Summary.Requested != 4 || bulk.Summary.Resolved != 2 || len(bulk.Resolved) != 2 {
		t.Fatalf("bulk summary %+v", bulk.Summary)
	}
	codes := map[int]string{}
	for _, u := range bulk.Unresolved {
		codes[u.ErrorCode] = strings.Join(u.ObjectIDs, ",")
	}
	if codes[403] != "d3" || codes[404] != "zz" {
		t.Fatalf("bulk unresolved %+v", bulk.Unresolved)
	}
	resp = do(e, "POST", "/ga4gh/drs/v1/objects/access", tok, nil, strings.NewReader(`{"bulk_object_access_ids":[{"bulk_object_id":"d1","bulk_access_ids":["crypt4gh"]},{"bulk_object_id":"d3","bulk_access_ids":["crypt4gh"]}]}`))
	var bacc struct {
		URLs []struct {
			ObjectID string `json:"drs_object_id"`
			URL      string
		} `json:"resolved_drs_object_access_urls"`
	}
	if err := json.Unmarshal(readAll(t, resp), &bacc); err != nil || resp.StatusCode != 200 || len(bacc.URLs) != 1 || bacc.URLs[0].ObjectID != "d1" {
		t.Fatalf("bulk access: %d %+v %v", resp.StatusCode, bacc, err)
	}
	// Oversized and malformed bodies.
	resp = do(e, "POST", "/ga4gh/drs/v1/objects", tok, nil, strings.NewReader(`{"bulk_object_ids":["`+strings.Repeat("x", 2<<20)+`"]}`))
	if readAll(t, resp); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d", resp.StatusCode)
	}
	resp = do(e, "POST", "/ga4gh/drs/v1/objects/d1", tok, nil, strings.NewReader(`{"passports":`))
	if readAll(t, resp); resp.StatusCode != 400 {
		t.Fatalf("malformed body: %d", resp.StatusCode)
	}
}

func TestEncryptedUpload(t *testing.T) {
	e := newEnv(t)
	plain := pattern(2*crypt4gh.SegmentSize + 5)
	other, _ := crypt4gh.GenerateX25519Identity()
	var enc bytes.Buffer
	w, err := crypt4gh.Encrypt(&enc, other.Recipient(), e.Archive.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()

	f := e.Ingest("enc1", "ds1", enc.Bytes(), nil, "")
	if f.PlaintextSHA256 != sha256hex(string(plain)) || f.PlaintextSize != int64(len(plain)) {
		t.Fatalf("checksums of an encrypted upload: %+v", f)
	}
	h, _, err := crypt4gh.ParseHeader(f.Header)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Packets) != 1 {
		t.Fatalf("stored header keeps %d packets, want only the archive's", len(h.Packets))
	}
	c := newClient(t)
	resp := do(e, "GET", "/files/enc1", e.Token("ds1"), map[string]string{"X-C4GH-Public-Key": c.pub}, nil)
	if got := decrypt(t, readAll(t, resp), c.id); !bytes.Equal(got, plain) {
		t.Fatal("re-encrypted upload does not decrypt to the plaintext")
	}

	// A tampered segment, a file for another key and a short body are all
	// refused, and leave nothing behind.
	bad := bytes.Clone(enc.Bytes())
	bad[len(bad)-100] ^= 1
	notOurs := func() []byte {
		var b bytes.Buffer
		w, _ := crypt4gh.Encrypt(&b, other.Recipient())
		w.Write(plain)
		w.Close()
		return b.Bytes()
	}()
	for name, body := range map[string][]byte{"tampered": bad, "other key": notOurs} {
		_, err := e.Server.Ingest(context.Background(), server.IngestRequest{ID: "bad-" + strings.ReplaceAll(name, " ", "-"), Dataset: "ds1", Body: bytes.NewReader(body), Size: int64(len(body))})
		var ie *server.IngestError
		if err == nil || !errors.As(err, &ie) {
			t.Fatalf("%s: err = %v, want an IngestError", name, err)
		}
	}
	_, err = e.Server.Ingest(context.Background(), server.IngestRequest{ID: "short", Dataset: "ds1", Body: bytes.NewReader(plain[:100]), Size: int64(len(plain))})
	if err == nil {
		t.Fatal("short plaintext body accepted")
	}
	var n int
	e.Objects.List(context.Background(), "", func(o store.ObjectInfo) error { n++; return nil })
	if n != 1 {
		t.Fatalf("%d objects in the store after failed ingests, want 1", n)
	}
	if _, err := e.DB.Get(context.Background(), "short"); err == nil {
		t.Fatal("a failed ingest left a row")
	}
	// Duplicate id.
	_, err = e.Server.Ingest(context.Background(), server.IngestRequest{ID: "enc1", Dataset: "ds1", Body: bytes.NewReader(plain), Size: int64(len(plain))})
	var ie *server.IngestError
	if !errors.As(err, &ie) || !ie.Conflict {
		t.Fatalf("duplicate id: %v", err)
	}
}

func TestSweepRemovesOrphans(t *testing.T) {
	e := newEnv(t)
	e.Ingest("kept", "ds1", pattern(100), nil, "")
	// What a killed ingest leaves: a payload object without a row.
	ctx := context.Background()
	if err := e.Objects.Put(ctx, "payload/crashed/abc", bytes.NewReader(pattern(50)), 50); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Server.Sweep(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep within the grace period removed %d (%v)", n, err)
	}
	n, err := e.Server.Sweep(ctx, -time.Second)
	if err != nil || n != 1 {
		t.Fatalf("sweep removed %d (%v), want 1", n, err)
	}
	if _, err := e.Objects.Stat(ctx, "payload/crashed/abc"); err == nil {
		t.Fatal("orphan still there")
	}
	c := newClient(t)
	resp := do(e, "GET", "/files/kept", e.Token("ds1"), map[string]string{"X-C4GH-Public-Key": c.pub}, nil)
	if got := decrypt(t, readAll(t, resp), c.id); !bytes.Equal(got, pattern(100)) {
		t.Fatal("sweep damaged a registered file")
	}
}

func TestConcurrentDownloads(t *testing.T) {
	e := newEnv(t)
	plain := pattern(4*crypt4gh.SegmentSize + 17)
	e.Ingest("c1", "ds1", plain, nil, "")
	tok := e.Token("ds1")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := newClient(t)
			hdr := map[string]string{"X-C4GH-Public-Key": c.pub}
			want := plain
			if i%2 == 1 {
				hdr["Range"] = fmt.Sprintf("bytes=%d-%d", i*1000, i*15000)
				want = plain[i*1000 : i*15000+1]
			}
			req, _ := http.NewRequest("GET", e.URL+"/files/c1", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			for k, v := range hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r, err := crypt4gh.Decrypt(bytes.NewReader(body), c.id)
			if err != nil {
				errs <- err
				return
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, want) {
				errs <- fmt.Errorf("client %d: %d bytes, err %v", i, len(got), err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestOperationalEndpoints(t *testing.T) {
	e := newEnv(t)
	e.Ingest("m1", "ds1", pattern(10), nil, "")
	for _, p := range []string{"/healthz", "/readyz", "/openapi.yaml", "/public-key", "/"} {
		resp := do(e, "GET", p, "", nil, nil)
		if b := readAll(t, resp); resp.StatusCode != 200 || len(b) == 0 {
			t.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
	resp := do(e, "GET", "/public-key", "", nil, nil)
	pk, err := crypt4gh.ParseRecipient(readAll(t, resp))
	if err != nil || !bytes.Equal(pk.PublicKey(), e.Archive.PublicKey()) {
		t.Fatalf("/public-key does not give the archive key: %v", err)
	}
	do(e, "GET", "/files/m1", "", nil, nil).Body.Close()
	resp = do(e, "GET", "/metrics", "", nil, nil)
	m := string(readAll(t, resp))
	for _, want := range []string{
		`c4gh_http_requests_total{route="files",code="4xx"} 1`,
		`c4gh_access_decisions_total{decision="deny",reason="missing token"}`,
		`c4gh_ingested_files_total 1`,
		`c4gh_http_request_duration_seconds_bucket{route="files",le="+Inf"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Fatalf("metrics lack %q:\n%s", want, m)
		}
	}
	// Admin endpoints need the admin token.
	resp = do(e, "POST", "/admin/sweep", e.Token("ds1"), nil, nil)
	if readAll(t, resp); resp.StatusCode != 401 {
		t.Fatalf("sweep with a user token: %d", resp.StatusCode)
	}
	resp = do(e, "POST", "/admin/sweep?grace=1h", adminToken, nil, nil)
	if b := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(string(b), `"removed": 0`) {
		t.Fatalf("sweep: %d %s", resp.StatusCode, b)
	}
}

func TestAdminIngestOverHTTP(t *testing.T) {
	e := newEnv(t)
	plain := pattern(100000)
	resp := do(e, "POST", "/admin/files?id=h1&dataset=ds1&name=x.bin", adminToken, nil, bytes.NewReader(plain))
	if b := readAll(t, resp); resp.StatusCode != http.StatusCreated {
		t.Fatalf("ingest: %d %s", resp.StatusCode, b)
	}
	resp = do(e, "POST", "/admin/files?id=h1&dataset=ds1", adminToken, nil, bytes.NewReader(plain))
	if readAll(t, resp); resp.StatusCode != http.StatusConflict {
		t.Fatalf("duplicate ingest: %d", resp.StatusCode)
	}
	resp = do(e, "POST", "/admin/files?id=../../x&dataset=ds1", adminToken, nil, bytes.NewReader(plain))
	if readAll(t, resp); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("traversal id: %d", resp.StatusCode)
	}
	resp = do(e, "POST", "/admin/files?id=h2&dataset=ds1", "", nil, bytes.NewReader(plain))
	if readAll(t, resp); resp.StatusCode != 401 {
		t.Fatalf("ingest without admin token: %d", resp.StatusCode)
	}
	c := newClient(t)
	resp = do(e, "GET", "/files/h1", e.Token("ds1"), map[string]string{"X-C4GH-Public-Key": c.pub}, nil)
	if got := decrypt(t, readAll(t, resp), c.id); !bytes.Equal(got, plain) {
		t.Fatal("HTTP-ingested file does not round trip")
	}
	resp = do(e, "DELETE", "/admin/files/h1", adminToken, nil, nil)
	if readAll(t, resp); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	resp = do(e, "GET", "/files/h1", e.Token("ds1"), map[string]string{"X-C4GH-Public-Key": c.pub}, nil)
	if readAll(t, resp); resp.StatusCode != 404 {
		t.Fatalf("deleted file: %d", resp.StatusCode)
	}
}

func ingestReq(id string, data, index []byte, indexFormat string) server.IngestRequest {
	return server.IngestRequest{ID: id, Dataset: "genomics", Body: bytes.NewReader(data), Size: int64(len(data)), Index: index, IndexFormat: indexFormat}
}

// TestRegisterAndRotate registers a Crypt4GH file already in the object
// store, then rotates the archive key: a server holding the new key first
// and the old one second still serves it, Rotate re-seals the header, and
// a server with only the new key serves it afterwards.
func TestRegisterAndRotate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	plain := pattern(3*crypt4gh.SegmentSize + 11)
	var enc bytes.Buffer
	w, _ := crypt4gh.Encrypt(&enc, e.Archive.Recipient())
	w.Write(plain)
	w.Close()
	if err := e.Objects.Put(ctx, "incoming/x.c4gh", bytes.NewReader(enc.Bytes()), int64(enc.Len())); err != nil {
		t.Fatal(err)
	}
	f, err := e.Server.Register(ctx, server.IngestRequest{ID: "reg1", Dataset: "ds1"}, "incoming/x.c4gh", true)
	if err != nil {
		t.Fatal(err)
	}
	if f.PlaintextSHA256 != sha256hex(string(plain)) {
		t.Fatal("register recorded the wrong checksum")
	}
	if _, err := e.Objects.Stat(ctx, "incoming/x.c4gh"); err == nil {
		t.Fatal("register -delete-source left the source")
	}
	if _, err := e.Server.Register(ctx, server.IngestRequest{ID: "reg2", Dataset: "ds1"}, "payload/reg1/nope", false); err == nil {
		t.Fatal("registering a missing object succeeded")
	}

	newKey, _ := crypt4gh.GenerateX25519Identity()
	serve := func(keys ...*crypt4gh.X25519Identity) *httptest.Server {
		var ak []server.ArchiveKey
		for _, k := range keys {
			ak = append(ak, server.ArchiveKey{Identity: k, Public: k.PublicKey()})
		}
		ring, err := server.NewKeyring(ak...)
		if err != nil {
			t.Fatal(err)
		}
		verifier, _ := auth.NewVerifier(auth.Config{Issuers: []auth.TrustedIssuer{e.Dev.Trusted()}})
		srv, err := server.New(server.Options{PublicURL: "http://x", DB: e.DB, Objects: e.Objects, Keys: ring, Auth: verifier,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv.Handler())
		t.Cleanup(hs.Close)
		if len(keys) == 2 {
			n, err := srv.Rotate(ctx)
			if err != nil || n != 1 {
				t.Fatalf("rotate re-sealed %d headers (%v), want 1", n, err)
			}
		}
		return hs
	}
	c := newClient(t)
	get := func(hs *httptest.Server) (int, []byte) {
		req, _ := http.NewRequest("GET", hs.URL+"/files/reg1", nil)
		req.Header.Set("Authorization", "Bearer "+e.Token("ds1"))
		req.Header.Set("X-C4GH-Public-Key", c.pub)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(t, resp)
	}
	if code, _ := get(serve(newKey)); code != http.StatusInternalServerError {
		t.Fatalf("a server without the old key: %d, want 500 (key not configured)", code)
	}
	serve(newKey, e.Archive) // rotates
	code, body := get(serve(newKey))
	if code != 200 || !bytes.Equal(decrypt(t, body, c.id), plain) {
		t.Fatalf("after rotation, the new key alone: %d", code)
	}
	f, _ = e.DB.Get(ctx, "reg1")
	if f.KeyID != server.KeyIDOf(newKey.PublicKey()) {
		t.Fatalf("key id after rotation %q", f.KeyID)
	}
}

// failingAgreement is an archive key whose token has gone away.
type failingAgreement struct{ pub []byte }

func (f failingAgreement) PublicKey() []byte { return f.pub }
func (f failingAgreement) X25519(peer []byte) ([]byte, error) {
	return nil, errors.New("token removed")
}

// TestArchiveKeyOutage: when the key store fails (an HSM that went away),
// requests get 503 to retry, not 500 or a misleading "no key".
func TestArchiveKeyOutage(t *testing.T) {
	e := newEnv(t)
	e.Ingest("k1", "ds1", pattern(1000), nil, "")
	id, err := crypt4gh.NewKeyAgreementIdentity(failingAgreement{pub: e.Archive.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := server.NewKeyring(server.ArchiveKey{Identity: id, Public: e.Archive.PublicKey()})
	verifier, _ := auth.NewVerifier(auth.Config{Issuers: []auth.TrustedIssuer{e.Dev.Trusted()}})
	srv, err := server.New(server.Options{PublicURL: "http://x", DB: e.DB, Objects: e.Objects, Keys: ring, Auth: verifier,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	req, _ := http.NewRequest("GET", hs.URL+"/files/k1", nil)
	req.Header.Set("Authorization", "Bearer "+e.Token("ds1"))
	req.Header.Set("X-C4GH-Public-Key", newClient(t).pub)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(t, resp); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d %s, want 503 with Retry-After", resp.StatusCode, body)
	}
}
