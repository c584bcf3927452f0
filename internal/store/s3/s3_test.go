package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/storetest"
)

// testConfig reads the test server from the environment that
// scripts/services/s3.sh prints, skipping when it is unset unless
// C4GH_REQUIRE_SERVICES=1.
func testConfig(t *testing.T) Config {
	t.Helper()
	cfg := Config{
		Endpoint:  os.Getenv("C4GH_TEST_S3_ENDPOINT"),
		AccessKey: os.Getenv("C4GH_TEST_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("C4GH_TEST_S3_SECRET_KEY"),
		Bucket:    os.Getenv("C4GH_TEST_S3_BUCKET"),
	}
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		if os.Getenv("C4GH_REQUIRE_SERVICES") == "1" {
			t.Fatal("C4GH_TEST_S3_ENDPOINT/C4GH_TEST_S3_BUCKET are unset but C4GH_REQUIRE_SERVICES=1; start scripts/services/s3.sh")
		}
		t.Skip("C4GH_TEST_S3_ENDPOINT is unset; run scripts/services/s3.sh start DIR and export its output")
	}
	return cfg
}

// openFresh opens the test bucket under a new random prefix, so each
// test sees an empty store, and deletes what it left at cleanup.
func openFresh(t *testing.T, cfg Config) *Store {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	cfg.Prefix = "test-" + hex.EncodeToString(b[:])
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		var keys []string
		s.List(ctx, "", func(info store.ObjectInfo) error { keys = append(keys, info.Key); return nil })
		for _, k := range keys {
			if err := s.Delete(ctx, k); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	cfg := testConfig(t)
	storetest.TestObjectStore(t, func(t *testing.T) store.ObjectStore { return openFresh(t, cfg) })
}

func TestPrefixIsolation(t *testing.T) {
	cfg := testConfig(t)
	a, b := openFresh(t, cfg), openFresh(t, cfg)
	ctx := context.Background()
	if err := a.Put(ctx, "k", strings.NewReader("a"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("object under one prefix visible under another: %v", err)
	}
	for _, bad := range []string{"../up", "/abs", "a//b"} {
		c := cfg
		c.Prefix = bad
		if _, err := Open(ctx, c); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Open with Prefix %q = %v, want ErrInvalidKey", bad, err)
		}
	}
}

func TestPresignGet(t *testing.T) {
	s := openFresh(t, testConfig(t))
	ctx := context.Background()
	data := "presigned payload bytes"
	if err := s.Put(ctx, "dir/obj name.c4gh", strings.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	u, err := s.PresignGet(ctx, "dir/obj name.c4gh", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	get := func(rawURL string, rangeHeader string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", rawURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rangeHeader != "" {
			req.Header.Set("Range", rangeHeader)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(u.String(), ""); code != http.StatusOK || body != data {
		t.Fatalf("presigned GET = %d %q, want 200 %q", code, body, data)
	}
	// A client may ask for a byte range with the same URL (htsget).
	if code, body := get(u.String(), "bytes=10-18"); code != http.StatusPartialContent || body != data[10:19] {
		t.Errorf("ranged presigned GET = %d %q, want 206 %q", code, body, data[10:19])
	}

	// Tampering with any signed part of the URL is refused by the server.
	tampered := map[string]func() string{
		"signature": func() string {
			v := *u
			q := v.Query()
			sig := []byte(q.Get("X-Amz-Signature"))
			sig[0] = "01"[map[bool]int{true: 1}[sig[0] == '0']]
			q.Set("X-Amz-Signature", string(sig))
			v.RawQuery = q.Encode()
			return v.String()
		},
		"object": func() string {
			v := *u
			v.Path = strings.Replace(v.Path, "obj%20name", "other", 1)
			v.RawPath = ""
			v.Path = strings.Replace(v.Path, "obj name", "other", 1)
			return v.String()
		},
		"expiry": func() string {
			v := *u
			q := v.Query()
			q.Set("X-Amz-Expires", "604800")
			v.RawQuery = q.Encode()
			return v.String()
		},
		"date": func() string {
			v := *u
			q := v.Query()
			d := []byte(q.Get("X-Amz-Date")) // 20060102T150405Z: move the seconds
			d[len(d)-2] = "01"[map[bool]int{true: 1}[d[len(d)-2] == '0']]
			q.Set("X-Amz-Date", string(d))
			v.RawQuery = q.Encode()
			return v.String()
		},
	}
	for name, mk := range tampered {
		raw := mk()
		if raw == u.String() {
			t.Errorf("%s: tampering changed nothing", name)
			continue
		}
		if code, body := get(raw, ""); code != http.StatusForbidden {
			t.Errorf("%s tampered: status %d (body %.100q), want 403", name, code, body)
		}
	}
	// Another access key: refused, though servers differ on the status
	// (versitygw answers 404 for an unknown key, AWS 403).
	v := *u
	q := v.Query()
	cred := q.Get("X-Amz-Credential") // ACCESSKEY/date/region/s3/aws4_request
	q.Set("X-Amz-Credential", "AKIDTAMPERED"+cred[strings.IndexByte(cred, '/'):])
	v.RawQuery = q.Encode()
	if code, body := get(v.String(), ""); code < 400 || code == http.StatusNotFound && !strings.Contains(body, "User") {
		t.Errorf("credential tampered: status %d (body %.100q), want refused", code, body)
	}

	for _, d := range []time.Duration{0, -time.Second, MaxPresignExpiry + time.Second} {
		if _, err := s.PresignGet(ctx, "x", d); err == nil {
			t.Errorf("PresignGet with expiry %v succeeded", d)
		}
	}
	if _, err := s.PresignGet(ctx, "../x", time.Minute); !errors.Is(err, store.ErrInvalidKey) {
		t.Errorf("PresignGet(../x) = %v, want ErrInvalidKey", err)
	}
}

func TestPresignExpired(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a presigned URL to expire")
	}
	s := openFresh(t, testConfig(t))
	ctx := context.Background()
	if err := s.Put(ctx, "o", strings.NewReader("x"), 1); err != nil {
		t.Fatal(err)
	}
	u, err := s.PresignGet(ctx, "o", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired presigned GET = %d, want 403", resp.StatusCode)
	}
}

// TestUnavailable: a server that is not there gives ErrUnavailable,
// quickly, and the secret key never appears in the error.
func TestUnavailable(t *testing.T) {
	cfg := Config{
		Endpoint:  "127.0.0.1:1",
		AccessKey: "AKIDEXAMPLE",
		SecretKey: "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY",
		Bucket:    "b",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	_, err := Open(ctx, cfg)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Open on a closed port = %v, want ErrUnavailable", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Open took %v, until the test's deadline", time.Since(start))
	}
	if strings.Contains(err.Error(), cfg.SecretKey) {
		t.Error("error reveals the secret key")
	}
	if strings.Contains(fmt.Sprint(cfg), cfg.SecretKey) || strings.Contains(fmt.Sprintf("%+v", cfg), cfg.SecretKey) {
		t.Error("Config's string form reveals the secret key")
	}
}

func TestWrongCredentials(t *testing.T) {
	cfg := testConfig(t)
	cfg.SecretKey = "not-the-secret-key-0123456789"
	_, err := Open(context.Background(), cfg)
	if err == nil {
		t.Fatal("Open with a wrong secret key succeeded")
	}
	if strings.Contains(err.Error(), cfg.SecretKey) {
		t.Error("error reveals the secret key")
	}
}

// TestServerRestart stops and restarts an S3 server under an open Store:
// while it is down every call fails with ErrUnavailable, and afterwards
// the same Store works again. It runs its own server through
// scripts/services/s3.sh so the shared one stays up.
func TestServerRestart(t *testing.T) {
	testConfig(t) // the services are available on this machine
	if testing.Short() {
		t.Skip("starts its own S3 server")
	}
	script, err := filepath.Abs("../../../scripts/services/s3.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	service := func(cmd string) string {
		t.Helper()
		out, err := exec.Command("bash", script, cmd, dir).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("s3.sh %s: %v\n%s", cmd, err, stderr)
		}
		return string(out)
	}
	t.Cleanup(func() { exec.Command("bash", script, "stop", dir).Run() })
	env := map[string]string{}
	for line := range strings.Lines(service("start")) {
		k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "=")
		if !ok {
			t.Fatalf("s3.sh printed %q", line)
		}
		env[k] = v
	}
	cfg := Config{
		Endpoint:  env["C4GH_TEST_S3_ENDPOINT"],
		AccessKey: env["C4GH_TEST_S3_ACCESS_KEY"],
		SecretKey: env["C4GH_TEST_S3_SECRET_KEY"],
		Bucket:    env["C4GH_TEST_S3_BUCKET"],
	}
	ctx := context.Background()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "survivor", strings.NewReader("still here"), 10); err != nil {
		t.Fatal(err)
	}

	service("stop")
	downCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := s.Ping(downCtx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping with the server down = %v, want ErrUnavailable", err)
	}
	if _, err := s.Stat(downCtx, "survivor"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Stat with the server down = %v, want ErrUnavailable", err)
	}
	if _, err := s.GetRange(downCtx, "survivor", 0, -1); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("GetRange with the server down = %v, want ErrUnavailable", err)
	}
	if err := s.Put(downCtx, "lost", strings.NewReader("x"), 1); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Put with the server down = %v, want ErrUnavailable", err)
	}
	if err := s.List(downCtx, "", func(store.ObjectInfo) error { return nil }); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("List with the server down = %v, want ErrUnavailable", err)
	}
	if downCtx.Err() != nil {
		t.Error("calls against a stopped server ran into the 60 s deadline")
	}

	service("start")
	rc, err := s.GetRange(ctx, "survivor", 6, -1)
	if err != nil {
		t.Fatalf("GetRange after restart: %v", err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "here" {
		t.Errorf("GetRange after restart = %q, %v; want \"here\"", b, err)
	}
}
