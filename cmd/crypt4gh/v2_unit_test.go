package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2031-02-03T04:05:06Z", time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC), ""},
		{"2031-02-03T04:05:06.5+01:00", time.Date(2031, 2, 3, 3, 5, 7, 0, time.UTC), ""},
		{"2031-02-03", time.Date(2031, 2, 3, 0, 0, 0, 0, time.UTC), ""},
		{"30d", time.Date(2030, 2, 1, 3, 4, 6, 0, time.UTC), ""},
		{"2w", time.Date(2030, 1, 16, 3, 4, 6, 0, time.UTC), ""},
		{"12h", time.Date(2030, 1, 2, 15, 4, 6, 0, time.UTC), ""},
		{"1h30m", time.Date(2030, 1, 2, 4, 34, 6, 0, time.UTC), ""},
		{"0d", time.Time{}, "must be positive"},
		{"-1h", time.Time{}, "must be positive"},
		{"tomorrow", time.Time{}, "want an RFC 3339 time"},
		{"99999999999999d", time.Time{}, "too far"},
	}
	for _, tt := range tests {
		got, err := parseWhen(tt.in, now)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseWhen(%q) = %v, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckLink(t *testing.T) {
	for _, ok := range []string{"https://example.org/a?b=c", "file:///data/x.c4gh", "s3://bucket/key", "drs://host/id", "htsget://h/reads/x", "HTTP://example.org/"} {
		if err := checkLink(ok); err != nil {
			t.Errorf("checkLink(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "no-scheme", "ftp://x/y", "https://x/\x01", "https://x/" + strings.Repeat("a", 9000)} {
		if err := checkLink(bad); err == nil {
			t.Errorf("checkLink(%.40q) accepted", bad)
		}
	}
}

func TestExitCodeV2(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{fmt.Errorf("x: %w", crypt4gh.ErrHeaderMAC), exitFormat},
		{&crypt4gh.OrderError{Position: 1, Found: 2, Kind: "out of order"}, exitAuth},
		{fmt.Errorf("%w at 2030-01-01T00:00:00Z", crypt4gh.ErrExpired), exitExpiry},
		{fmt.Errorf("%w: skips 9", crypt4gh.ErrEditListLimit), exitFormat},
		{fmt.Errorf("%w missing", crypt4gh.ErrSignature), exitSig},
		{crypt4gh.ErrNotPostQuantum, exitUsage},
		{crypt4gh.ErrNeedsRandomAccess, exitUsage},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.code {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.code)
		}
		if code := exitCode(tt.err); code != exitUsage && len(defaultHints(tt.err, code)) == 0 {
			t.Errorf("no hint for %v", tt.err)
		}
	}
}

// TestMaxSkippedSegments decrypts a file whose edit list skips 5 segments.
func TestMaxSkippedSegments(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(testvectors.Dir(t), "keys")
	data, err := os.ReadFile(filepath.Join(keys, "alpha.pub"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := crypt4gh.ParsePublicKey(data)
	if err != nil {
		t.Fatal(err)
	}
	plain := bytes.Repeat([]byte("0123456789abcdef"), 7*crypt4gh.SegmentSize/16)
	var buf bytes.Buffer
	w, err := crypt4gh.EncryptWithOptions(&buf, crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataSealedChaCha20Poly1305, EditList: crypt4gh.EditList{5 * crypt4gh.SegmentSize, 10}}, r)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "skip.c4gh")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envNoPQWarning: "1"}
	sk := filepath.Join(keys, "alpha.sec")
	out := filepath.Join(dir, "out")
	code, msg := runCLI(t, env, nil, "decrypt", "--sk", sk, "--max-skipped-segments", "2", "-i", file, "-o", out)
	if code != exitFormat || !strings.Contains(msg, "skips 5 segments, more than the limit of 2") || !strings.Contains(msg, "hint: the edit list makes the reader") {
		t.Errorf("limit 2: exit %d: %s", code, msg)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("output written")
	}
	for _, args := range [][]string{{"--max-skipped-segments", "5"}, {}} {
		code, msg = runCLI(t, env, nil, append([]string{"decrypt", "--sk", sk, "-i", file, "-o", out}, args...)...)
		got, _ := os.ReadFile(out)
		if code != 0 || !bytes.Equal(got, plain[5*crypt4gh.SegmentSize:][:10]) {
			t.Errorf("%v: exit %d, %q: %s", args, code, got, msg)
		}
	}
}

// TestFollowHTTPSLink fetches a detached payload over https.
func TestFollowHTTPSLink(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(testvectors.Dir(t), "keys")
	var payload []byte
	mux := http.NewServeMux()
	mux.HandleFunc("/payload", func(w http.ResponseWriter, r *http.Request) { w.Write(payload) })
	mux.HandleFunc("/insecure", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+r.Host+"/payload", http.StatusFound)
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	saved := httpClient
	defer func() { httpClient = saved }()
	httpClient = srv.Client()
	httpClient.CheckRedirect = saved.CheckRedirect

	plainFile := filepath.Join(dir, "plain")
	plain := bytes.Repeat([]byte("https "), 30000)
	if err := os.WriteFile(plainFile, plain, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envNoPQWarning: "1"}
	for _, path := range []string{"payload", "missing", "insecure"} {
		hdr, pl := filepath.Join(dir, path+".hdr"), filepath.Join(dir, path+".payload")
		code, msg := runCLI(t, env, nil, "encrypt", "-r", filepath.Join(keys, "alpha.pub"), "--link", srv.URL+"/"+path,
			"--header", hdr, "-i", plainFile, "-o", pl)
		if code != 0 {
			t.Fatalf("encrypt: exit %d: %s", code, msg)
		}
	}
	// The server serves the payload of the first file.
	var err error
	if payload, err = os.ReadFile(filepath.Join(dir, "payload.payload")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	sk := filepath.Join(keys, "alpha.sec")
	code, msg := runCLI(t, env, nil, "decrypt", "--sk", sk, "--follow-link", "-i", filepath.Join(dir, "payload.hdr"), "-o", out)
	got, _ := os.ReadFile(out)
	if code != 0 || !bytes.Equal(got, plain) {
		t.Fatalf("decrypt: exit %d, %d bytes: %s", code, len(got), msg)
	}
	if want := "crypt4gh: fetching the payload from " + srv.URL + "/payload\n"; msg != want {
		t.Errorf("stderr %q, want %q", msg, want)
	}
	code, msg = runCLI(t, env, nil, "decrypt", "--sk", sk, "--follow-link", "-i", filepath.Join(dir, "missing.hdr"), "-o", out+"2")
	if code != exitError || !strings.Contains(msg, "404 Not Found") {
		t.Errorf("missing payload: exit %d: %s", code, msg)
	}
	code, msg = runCLI(t, env, nil, "decrypt", "--sk", sk, "--follow-link", "-i", filepath.Join(dir, "insecure.hdr"), "-o", out+"3")
	if code != exitError || !strings.Contains(msg, "not https") {
		t.Errorf("redirect to http: exit %d: %s", code, msg)
	}
	for _, f := range []string{out + "2", out + "3"} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s written", f)
		}
	}
}

// v2Case holds the v2 manifest fields the shared loader does not know.
type v2Case struct {
	Name               string `json:"name"`
	VerifyPK           string `json:"verify_pk"`
	Now                *int64 `json:"now"`
	MaxSkippedSegments int64  `json:"max_skipped_segments"`
}

// TestV2Vectors runs every case of the v2 vectors (testdata/v2) through
// the command: by file, with a detached header, and through a pipe for
// errors and ranges.
func TestV2Vectors(t *testing.T) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "v2"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := testvectors.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, testvectors.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var extra struct{ Cases []v2Case }
	if err := json.Unmarshal(raw, &extra); err != nil {
		t.Fatal(err)
	}
	if len(extra.Cases) != len(m.Cases) || len(m.Cases) == 0 {
		t.Fatalf("%d cases, %d with extras", len(m.Cases), len(extra.Cases))
	}
	for i, c := range m.Cases {
		x := extra.Cases[i]
		if c.Kind == testvectors.CaseKey {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			env := map[string]string{envNoPQWarning: "1"}
			if x.Now != nil {
				env["C4GH_TEST_NOW"] = time.Unix(*x.Now, 0).UTC().Format(time.RFC3339)
			}
			args := []string{"decrypt", "--sk", m.Path(c.SecretKey)}
			if x.VerifyPK != "" {
				args = append(args, "--verify", m.Path(x.VerifyPK))
			}
			if x.MaxSkippedSegments > 0 {
				args = append(args, "--max-skipped-segments", strconv.FormatInt(x.MaxSkippedSegments, 10))
			}
			if c.Range != nil {
				args = append(args, "--range", fmt.Sprintf("%d-%d", c.Range[0], c.Range[1]))
			}
			input := m.Path(c.File)
			if c.HeaderFile != "" {
				whole := filepath.Join(t.TempDir(), "whole.c4gh")
				if err := os.WriteFile(whole, append(m.ReadFile(t, c.HeaderFile), m.ReadFile(t, c.File)...), 0o600); err != nil {
					t.Fatal(err)
				}
				checkCase(t, m, c, env, nil, append(slices.Clone(args), "--header", m.Path(c.HeaderFile), "-i", input))
				input = whole
			}
			if c.Expect == testvectors.ExpectError && c.ErrorClass == testvectors.ErrorTruncated {
				// A header alone whose header has a link is reported as
				// a detached payload, not as a truncated stream.
				code, msg := runCLI(t, env, nil, append(slices.Clone(args), "-i", input, "-o", filepath.Join(t.TempDir(), "out"))...)
				if code == exitUsage && strings.Contains(msg, "the payload is detached at ") {
					return
				}
			}
			checkCase(t, m, c, env, nil, append(slices.Clone(args), "-i", input))
			if c.Range != nil || c.Expect != testvectors.ExpectOK {
				checkCase(t, m, c, env, pipeFrom(t, input), args)
			}
			if c.Kind == testvectors.CaseReencrypt {
				// Our re-encryption of the source keeps the signature.
				out := filepath.Join(t.TempDir(), "re.c4gh")
				rargs := []string{"reencrypt", "--sk", m.Path(c.SourceSecretKey), "-i", m.Path(c.SourceFile), "-o", out}
				for _, pk := range c.RecipientPKs {
					rargs = append(rargs, "-r", m.Path(pk))
				}
				if c.Trim {
					rargs = append(rargs, "--trim")
				}
				if code, msg := runCLI(t, env, nil, rargs...); code != 0 {
					t.Fatalf("reencrypt: exit %d: %s", code, msg)
				}
				checkCase(t, m, c, env, nil, append(slices.Clone(args), "-i", out))
			}
		})
	}
}
