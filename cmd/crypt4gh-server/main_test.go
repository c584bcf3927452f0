package main

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// TestEmbeddedDefaults runs the server as the README's one command does:
// no configuration at all. It must create its key, admin token and dev
// issuer key privately, say how to ingest and download, and serve what
// the ingest command archived with a token from the token command.
func TestEmbeddedDefaults(t *testing.T) {
	bin := serverBinary(t)
	data := filepath.Join(t.TempDir(), "archive")
	addr := freePort(t)
	cmd := exec.Command(bin, "-data-dir", data, "-listen", addr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: &stdout}, &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, url: "http://" + addr, logs: &stderr}
	t.Cleanup(p.stop)
	waitHealthy(t, p)
	for _, name := range []string{"archive.sec", "admin-token", "dev-issuer.key", "headers.db"} {
		st, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, st.Mode().Perm())
		}
	}
	if st, _ := os.Stat(data); st.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v, want 0700", st.Mode().Perm())
	}
	out := stdout.String()
	for _, want := range []string{"ingest -data-dir " + data, "token -data-dir " + data, "crypt4gh download"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the start message does not say %q:\n%s", want, out)
		}
	}

	dir := testvectors.GenomicsDir(t)
	run := func(args ...string) string {
		t.Helper()
		c := exec.Command(bin, args...)
		b, err := c.Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return string(b)
	}
	run("ingest", "-data-dir", data, "-dataset", "demo", "-id", "na12878",
		"-index", filepath.Join(dir, "htsnexus_test_NA12878.bam.bai"), filepath.Join(dir, "htsnexus_test_NA12878.bam"))
	tok := strings.TrimSpace(run("token", "-data-dir", data, "-dataset", "demo"))
	user, _ := crypt4gh.GenerateX25519Identity()
	code, body := fetch(t, p.url+"/files/na12878", map[string]string{
		"Authorization": "Bearer " + tok, "X-C4GH-Public-Key": base64.StdEncoding.EncodeToString(user.PublicKey()),
	})
	if code != 200 {
		t.Fatalf("download: %d %s", code, body)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "htsnexus_test_NA12878.bam"))
	if !bytes.Equal(decryptAll(t, body, user), want) {
		t.Fatal("downloaded BAM differs")
	}
	// A second ingest of the same id is a conflict (exit 3).
	c := exec.Command(bin, "ingest", "-data-dir", data, "-dataset", "demo", "-id", "na12878", filepath.Join(dir, "spec-v4.3.vcf.gz"))
	if err := c.Run(); c.ProcessState.ExitCode() != exitConflict {
		t.Fatalf("duplicate ingest: %v (exit %d)", err, c.ProcessState.ExitCode())
	}
	// SIGTERM drains and exits cleanly.
	p.stop()
	if !p.cmd.ProcessState.Success() {
		t.Fatalf("server exit: %v\n%s", p.cmd.ProcessState, stderr.String())
	}
}

func waitHealthy(t *testing.T, p *proc) {
	t.Helper()
	for i := 0; i < 400; i++ {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		sleep()
	}
	t.Fatalf("server did not become ready:\n%s", p.logs)
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.json")
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	for _, tc := range []struct{ config, want string }{
		{`{"listen": 5}`, "cannot unmarshal"},
		{`{"lisen": "x"}`, "unknown field"},
		{`{"database": {"driver": "mysql"}}`, "want sqlite or postgres"},
		{`{"objects": {"backend": "ftp"}}`, "want local or s3"},
		{`{"archive_keys": [{}]}`, "exactly one of file and pkcs11"},
		{`{"database": {"driver": "postgres", "dsn_env": "C4GH_NO_SUCH_VAR"}}`, "C4GH_NO_SUCH_VAR"},
		{`{"archive_keys": [{"file": "/nonexistent/key"}]}`, "no such file"},
	} {
		var stderr bytes.Buffer
		code := run([]string{"sweep", "-config", write(tc.config), "-data-dir", filepath.Join(dir, "d")}, io.Discard, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: exit %d, %q; want an error mentioning %q", tc.config, code, stderr.String(), tc.want)
		}
	}
	var stderr bytes.Buffer
	if code := run([]string{"frobnicate"}, io.Discard, &stderr); code != exitUsage {
		t.Fatalf("unknown command: exit %d", code)
	}
}
