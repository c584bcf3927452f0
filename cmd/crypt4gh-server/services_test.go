package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// These tests run the crypt4gh-server binary as users do, against the
// real PostgreSQL, S3 server and SoftHSM2 token that
// scripts/services/up.sh starts (C4GH_TEST_* variables).

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// serverBinary builds the command once per test run.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crypt4gh-server-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "crypt4gh-server")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// needEnv returns the named variables, skipping the test when one is
// unset, unless C4GH_REQUIRE_SERVICES=1 makes that a failure.
func needEnv(t *testing.T, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			if os.Getenv("C4GH_REQUIRE_SERVICES") == "1" {
				t.Fatalf("$%s is not set: run the tests through scripts/test.sh (scripts/services/up.sh)", n)
			}
			t.Skipf("$%s is not set: start the services with scripts/services/up.sh", n)
		}
		out[n] = v
	}
	return out
}

func randomID(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a running server process.
type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func startServer(t *testing.T, config string, env []string, dataDir string) *proc {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(serverBinary(t), "serve", "-config", config, "-listen", addr, "-data-dir", dataDir)
	cmd.Env = append(os.Environ(), env...)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, &lockedWriter{w: logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, url: "http://" + addr, logs: logs}
	t.Cleanup(func() { p.stop() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not start: %s", logs.String())
	return nil
}

func (p *proc) stop() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.cmd.Process.Kill()
			<-done
		}
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

const testUserToken = "scale-out-user-token-0123456789"

// writeConfig writes a configuration for PostgreSQL + S3 (a prefix of its
// own) with the given archive key entry and a static user token.
func writeConfig(t *testing.T, dsnEnv, s3Env map[string]string, prefix string, archiveKey map[string]any) string {
	t.Helper()
	cfg := map[string]any{
		"database": map[string]any{"driver": "postgres", "dsn_env": "C4GH_TEST_POSTGRES_DSN"},
		"objects": map[string]any{"backend": "s3", "s3": map[string]any{
			"endpoint": s3Env["C4GH_TEST_S3_ENDPOINT"], "bucket": s3Env["C4GH_TEST_S3_BUCKET"],
			"access_key": s3Env["C4GH_TEST_S3_ACCESS_KEY"], "secret_key_env": "C4GH_TEST_S3_SECRET_KEY", "prefix": prefix,
		}},
		"archive_keys": []any{archiveKey},
		"auth": map[string]any{
			"dev_issuer": false,
			"tokens":     []any{map[string]any{"sha256": sha256Hex(testUserToken), "subject": "tester", "datasets": []string{"shared"}}},
		},
		"log": map[string]any{"level": "info"},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func sha256Hex(s string) string {
	sum := sha256Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ingestHTTP uploads a file (and index) through the admin endpoint.
func ingestHTTP(t *testing.T, base, adminTok, id string, data, index []byte, indexFormat string) *http.Response {
	t.Helper()
	var body io.Reader = bytes.NewReader(data)
	ct := "application/octet-stream"
	url := fmt.Sprintf("%s/admin/files?id=%s&dataset=shared&name=%s", base, id, id)
	if index != nil {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, _ := mw.CreateFormFile("index", "index")
		w.Write(index)
		w, _ = mw.CreateFormFile("file", id)
		w.Write(data)
		mw.Close()
		body, ct = &buf, mw.FormDataContentType()
		url += fmt.Sprintf("&size=%d&index_format=%s", len(data), indexFormat)
	}
	req, _ := http.NewRequest("POST", url, body)
	req.Header.Set("Authorization", "Bearer "+adminTok)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func fetch(t *testing.T, url string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func decryptAll(t *testing.T, stream []byte, id crypt4gh.Identity) []byte {
	t.Helper()
	r, err := crypt4gh.Decrypt(bytes.NewReader(stream), id)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	return b
}

// TestScaleOutWithPKCS11 runs two server processes that share one
// PostgreSQL database, one S3 bucket and one archive key held in a
// SoftHSM2 token: what one ingests, the other serves, byte for byte.
func TestScaleOutWithPKCS11(t *testing.T) {
	pg := needEnv(t, "C4GH_TEST_POSTGRES_DSN")
	s3 := needEnv(t, "C4GH_TEST_S3_ENDPOINT", "C4GH_TEST_S3_BUCKET", "C4GH_TEST_S3_ACCESS_KEY", "C4GH_TEST_S3_SECRET_KEY")
	hsm := needEnv(t, "C4GH_TEST_PKCS11_MODULE", "C4GH_TEST_PKCS11_TOKEN", "C4GH_TEST_PKCS11_PIN", "SOFTHSM2_CONF")
	bin := serverBinary(t)

	// The archive key is generated inside the token and never leaves it.
	label := randomID("archive-")
	gen := exec.Command(bin, "pkcs11", "generate", "-module", hsm["C4GH_TEST_PKCS11_MODULE"], "-token", hsm["C4GH_TEST_PKCS11_TOKEN"], "-key-label", label, "-pin-env", "C4GH_TEST_PKCS11_PIN")
	pubFile, err := gen.Output()
	if err != nil {
		t.Fatalf("pkcs11 generate: %v", err)
	}
	if _, err := crypt4gh.ParseRecipient(pubFile); err != nil {
		t.Fatalf("pkcs11 generate printed no public key: %v\n%s", err, pubFile)
	}
	cfg := writeConfig(t, pg, s3, randomID("scaleout-")+"/", map[string]any{"pkcs11": map[string]any{
		"module": hsm["C4GH_TEST_PKCS11_MODULE"], "token": hsm["C4GH_TEST_PKCS11_TOKEN"], "key_label": label, "pin_env": "C4GH_TEST_PKCS11_PIN",
	}})
	shared := t.TempDir() // the admin token file; no other state is local
	a := startServer(t, cfg, nil, shared)
	b := startServer(t, cfg, nil, shared)
	adminTok, _ := os.ReadFile(filepath.Join(shared, "admin-token"))
	admin := strings.TrimSpace(string(adminTok))

	// The public key the servers publish is the token's.
	for _, p := range []*proc{a, b} {
		if code, body := fetch(t, p.url+"/public-key", nil); code != 200 || !bytes.Equal(body, pubFile) {
			t.Fatalf("%s/public-key: %d %s", p.url, code, body)
		}
	}

	dir := testvectors.GenomicsDir(t)
	bam, _ := os.ReadFile(filepath.Join(dir, "htsnexus_test_NA12878.bam"))
	bai, _ := os.ReadFile(filepath.Join(dir, "htsnexus_test_NA12878.bam.bai"))
	id1, id2 := randomID("bam-"), randomID("blob-")
	if resp := ingestHTTP(t, a.url, admin, id1, bam, bai, "BAI"); resp.StatusCode != 201 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("ingest on A: %d %s\n%s", resp.StatusCode, body, a.logs)
	}
	blob := make([]byte, 3*crypt4gh.SegmentSize+5)
	rand.Read(blob)
	if resp := ingestHTTP(t, b.url, admin, id2, blob, nil, ""); resp.StatusCode != 201 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("ingest on B: %d %s", resp.StatusCode, body)
	}
	// The second process sees the same id as taken.
	if resp := ingestHTTP(t, b.url, admin, id1, blob, nil, ""); resp.StatusCode != http.StatusConflict {
		t.Fatalf("duplicate id on the other process: %d", resp.StatusCode)
	}

	user, _ := crypt4gh.GenerateX25519Identity()
	key := base64.StdEncoding.EncodeToString(user.PublicKey())
	hdr := map[string]string{"Authorization": "Bearer " + testUserToken, "X-C4GH-Public-Key": key}
	var wg sync.WaitGroup
	for _, tc := range []struct {
		p    *proc
		id   string
		want []byte
	}{{b, id1, bam}, {a, id2, blob}, {a, id1, bam}, {b, id2, blob}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, body := fetch(t, tc.p.url+"/files/"+tc.id, hdr)
			if code != 200 {
				t.Errorf("%s/files/%s: %d %s", tc.p.url, tc.id, code, body)
				return
			}
			if got := decryptAll(t, body, user); !bytes.Equal(got, tc.want) {
				t.Errorf("%s/files/%s: plaintext differs", tc.p.url, tc.id)
			}
		}()
	}
	wg.Wait()

	// An htsget ticket from B for what A ingested.
	code, body := fetch(t, b.url+"/reads/"+id1+"?referenceName=11&start=4999999&end=5050000", hdr)
	if code != 200 {
		t.Fatalf("htsget on B: %d %s", code, body)
	}
	var tk struct {
		Htsget struct {
			URLs []struct {
				URL     string
				Headers map[string]string
			}
		}
	}
	json.Unmarshal(body, &tk)
	var stream []byte
	for _, u := range tk.Htsget.URLs {
		if rest, ok := strings.CutPrefix(u.URL, "data:"); ok {
			_, b64, _ := strings.Cut(rest, "base64,")
			h, _ := base64.StdEncoding.DecodeString(b64)
			stream = append(stream, h...)
			continue
		}
		code, part := fetch(t, u.URL, u.Headers)
		if code != 206 {
			t.Fatalf("ticket URL: %d", code)
		}
		stream = append(stream, part...)
	}
	region := decryptAll(t, stream, user)
	if len(region) == 0 || len(region) >= len(bam) || !bytes.Equal(region[:1000], bam[:1000]) {
		t.Fatalf("htsget region: %d bytes", len(region))
	}
	// Both processes wrote audit records for the same subject.
	for _, p := range []*proc{a, b} {
		if !strings.Contains(p.logs.String(), `"subject":"tester"`) {
			t.Fatalf("no audit record on %s", p.url)
		}
	}
}

// TestOutagesAndCrash gives one server its own PostgreSQL and S3 server,
// stops each of them under it (503, then recovery when they return), and
// kills the server in the middle of an ingest (no half-registered
// object; the sweep removes what was left).
func TestOutagesAndCrash(t *testing.T) {
	needEnv(t, "C4GH_TEST_POSTGRES_DSN", "C4GH_TEST_S3_ENDPOINT")
	root, err := filepath.Abs(filepath.Join("..", "..", "scripts", "services"))
	if err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir(): PostgreSQL runs as its own user, which must be
	// able to reach its data directory.
	svcDir, err := os.MkdirTemp("", "c4gh-outage-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(svcDir, 0o755)
	t.Cleanup(func() { os.RemoveAll(svcDir) })
	service := func(name, verb string) map[string]string {
		t.Helper()
		out, err := exec.Command(filepath.Join(root, name+".sh"), verb, filepath.Join(svcDir, name)).Output()
		if err != nil {
			t.Fatalf("%s.sh %s: %v", name, verb, err)
		}
		env := map[string]string{}
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
				env[k] = v
			}
		}
		return env
	}
	pg := service("postgres", "start")
	s3 := service("s3", "start")
	t.Cleanup(func() { service("postgres", "stop"); service("s3", "stop") })
	data := t.TempDir()
	cfg := writeConfig(t, pg, s3, "outage/", map[string]any{"file": filepath.Join(data, "archive.sec")})
	env := []string{"C4GH_TEST_POSTGRES_DSN=" + pg["C4GH_TEST_POSTGRES_DSN"], "C4GH_TEST_S3_SECRET_KEY=" + s3["C4GH_TEST_S3_SECRET_KEY"]}
	srv := startServer(t, cfg, env, data)
	admin := strings.TrimSpace(readFile(t, filepath.Join(data, "admin-token")))
	blob := make([]byte, 2*crypt4gh.SegmentSize)
	rand.Read(blob)
	if resp := ingestHTTP(t, srv.url, admin, "f1", blob, nil, ""); resp.StatusCode != 201 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("ingest: %d %s", resp.StatusCode, b)
	}
	user, _ := crypt4gh.GenerateX25519Identity()
	hdr := map[string]string{"Authorization": "Bearer " + testUserToken, "X-C4GH-Public-Key": base64.StdEncoding.EncodeToString(user.PublicKey())}
	get := func() (int, []byte) { return fetch(t, srv.url+"/files/f1", hdr) }

	for _, name := range []string{"postgres", "s3"} {
		service(name, "stop")
		code, body := get()
		if code != http.StatusServiceUnavailable {
			t.Fatalf("%s down: status %d %s\n%s", name, code, body, srv.logs)
		}
		if code, _ := fetch(t, srv.url+"/readyz", nil); code != http.StatusServiceUnavailable {
			t.Fatalf("%s down: /readyz %d", name, code)
		}
		service(name, "start")
		var ok bool
		for i := 0; i < 100 && !ok; i++ {
			code, body = get()
			ok = code == 200
			if !ok {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if !ok {
			t.Fatalf("no recovery after %s returned: %d %s", name, code, body)
		}
		if got := decryptAll(t, body, user); !bytes.Equal(got, blob) {
			t.Fatalf("after %s outage: plaintext differs", name)
		}
	}

	// Kill the server while a large upload streams in.
	big := make([]byte, 64<<20)
	rand.Read(big)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(big[:32<<20])
		time.Sleep(300 * time.Millisecond)
		srv.cmd.Process.Kill()
		pw.Write(big[32<<20:])
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.url+"/admin/files?id=crashed&dataset=shared", pr)
	req.ContentLength = int64(len(big))
	req.Header.Set("Authorization", "Bearer "+admin)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 201 {
			t.Fatal("the killed ingest reported success")
		}
	}
	srv.cmd.Wait()
	srv = startServer(t, cfg, env, data)
	if code, _ := fetch(t, srv.url+"/ga4gh/drs/v1/objects/crashed", map[string]string{"Authorization": "Bearer " + testUserToken}); code != 404 {
		t.Fatalf("a killed ingest left a registered object: %d", code)
	}
	sweep := exec.Command(serverBinary(t), "sweep", "-config", cfg, "-data-dir", data, "-grace", "0s")
	sweep.Env = append(os.Environ(), env...)
	out, err := sweep.CombinedOutput()
	if err != nil {
		t.Fatalf("sweep: %v %s", err, out)
	}
	t.Logf("sweep after the crash: %s", strings.TrimSpace(lastLine(string(out))))
	if resp := ingestHTTP(t, srv.url, admin, "crashed", blob, nil, ""); resp.StatusCode != 201 {
		t.Fatalf("re-ingest after the crash: %d", resp.StatusCode)
	}
	if code, body := get(); code != 200 || !bytes.Equal(decryptAll(t, body, user), blob) {
		t.Fatalf("the sweep damaged a registered file: %d", code)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
