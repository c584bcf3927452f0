package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/signing"
)

const vcfFile = "/work/shared/testdata/genomics/sample1-bcbio-cancer.vcf.gz"

type cli struct {
	t   *testing.T
	dir string
	env map[string]string
}

func (c *cli) run(args ...string) (int, string, string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb, func(k string) string { return c.env[k] })
	return code, out.String(), errb.String()
}

func (c *cli) must(args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(args...)
	if code != 0 {
		c.t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	return out
}

func (c *cli) path(name string) string { return filepath.Join(c.dir, name) }

func newCLI(t *testing.T) *cli {
	if _, err := os.Stat(vcfFile); err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	c := &cli{t: t, dir: t.TempDir(), env: map[string]string{"C4GH_PASSPHRASE": "owner passphrase"}}
	lab, err := signing.GenerateSigner(crypt4gh.SigEd25519)
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := signing.MarshalSigner(lab, nil, nil)
	pk, _ := signing.MarshalVerifier(lab.(*crypt4gh.Ed25519Signer).Verifier())
	owner, _ := crypt4gh.GenerateX25519Identity()
	osk, err := crypt4gh.MarshalIdentity(owner, []byte("owner passphrase"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"lab.sec": sk, "lab.pub": pk, "owner.sec": osk, "owner.pub": crypt4gh.MarshalRecipient(owner.Recipient())} {
		if err := os.WriteFile(c.path(name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestCLIEndToEnd(t *testing.T) {
	c := newCLI(t)
	ds, roots := c.path("ds"), c.path("dev-roots.pem")
	c.must("protect", "--in", vcfFile, "--out", ds, "--sign", c.path("lab.sec"), "--owner", c.path("owner.pub"), "--dev-tsa", roots)
	if fi, err := os.Stat(filepath.Join(ds, "opening-keys-0.c4gh")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("opening keys file: %v, mode %v", err, fi.Mode())
	}
	c.must("update", "--dir", ds, "--op", "upT", "--dev-tsa", roots)
	c.must("update", "--dir", ds, "--op", "upHT", "--hash", "sha512", "--dev-tsa", roots)
	c.must("update", "--dir", ds, "--op", "upCHT", "--in", vcfFile, "--sk", c.path("owner.sec"), "--dev-tsa", roots)
	proof := c.path("chrM.proof")
	c.must("prove", "--dir", ds, "--in", vcfFile, "--sk", c.path("owner.sec"), "--region", "chrM:100-300", "--out", proof)
	if err := os.WriteFile(c.path("policy.json"), []byte(c.must("policy", "--not-after", "2036-01-01")), 0o644); err != nil {
		t.Fatal(err)
	}
	verify := []string{"verify", "--proof", proof, "--policy", c.path("policy.json"), "--key", c.path("lab.pub"), "--tsa-roots", roots}
	out := c.must(append(verify, "--region", "chrM:150-200")...)
	for _, want := range []string{"valid: 201 positions", "chrM:150\tchrM 150 . T>C", "chrM:152\tchrM 152 rs117135796 T>C"} {
		if !strings.Contains(out, want) {
			t.Fatalf("verify output lacks %q:\n%s", want, out)
		}
	}
	if out := c.must("inspect", proof); !strings.Contains(out, `"op": "upCHT"`) || !strings.Contains(out, `"kind": "variants"`) {
		t.Fatalf("inspect output:\n%s", out)
	}

	// Exit codes per failure class.
	b, _ := os.ReadFile(proof)
	bad := bytes.Clone(b)
	bad[len(bad)-1] ^= 1 // the last sibling hash of the last tree
	os.WriteFile(c.path("bad.proof"), bad, 0o644)
	os.WriteFile(c.path("short.proof"), b[:len(b)/2], 0o644)
	other := newCLI(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"region not requested", append(verify, "--region", "chr22:1-10"), exitNotRequested},
		{"expired", append(verify, "--now", "2040-01-01T00:00:00Z"), exitExpired},
		{"tampered", []string{"verify", "--proof", c.path("bad.proof"), "--policy", c.path("policy.json"), "--key", c.path("lab.pub"), "--tsa-roots", roots}, exitData},
		{"truncated", []string{"verify", "--proof", c.path("short.proof"), "--policy", c.path("policy.json"), "--key", c.path("lab.pub"), "--tsa-roots", roots}, exitMalformed},
		{"unknown lab key", []string{"verify", "--proof", proof, "--policy", c.path("policy.json"), "--key", other.path("lab.pub"), "--tsa-roots", roots}, exitSignature},
		{"no command", nil, exitUsage},
		{"missing flags", []string{"verify", "--proof", proof}, exitUsage},
		{"wrong data", []string{"prove", "--dir", ds, "--in", "/work/shared/testdata/genomics/spec-v4.3.vcf.gz", "--sk", c.path("owner.sec"), "--region", "chrM:1-5", "--out", c.path("x")}, exitError},
	} {
		code, _, errs := c.run(tc.args...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d (%s)", tc.name, code, tc.code, errs)
		}
		if strings.Contains(errs, "owner passphrase") {
			t.Errorf("%s: the passphrase appears in the error output", tc.name)
		}
	}
}

func TestCLIWholeFile(t *testing.T) {
	c := newCLI(t)
	cram := "/work/shared/testdata/genomics/htsnexus_test_NA12878.cram"
	ds, roots := c.path("ds"), c.path("roots.pem")
	c.must("protect", "--whole-file", "--chunk-size", "65536", "--in", cram, "--out", ds, "--sign", c.path("lab.sec"), "--owner", c.path("owner.pub"), "--dev-tsa", roots)
	proof := c.path("p")
	c.must("prove", "--whole-file", "--chunk-size", "65536", "--dir", ds, "--in", cram, "--sk", c.path("owner.sec"), "--bytes", "0-100000", "--out", proof)
	os.WriteFile(c.path("policy.json"), []byte(c.must("policy", "--not-after", "2036-01-01")), 0o644)
	out := c.must("verify", "--proof", proof, "--policy", c.path("policy.json"), "--key", c.path("lab.pub"), "--tsa-roots", roots, "--bytes", "0-100000")
	if !strings.Contains(out, "valid: 2 positions") || !strings.Contains(out, "chunk 1 (bytes 65536-131071)\t65536 bytes") {
		t.Fatalf("verify output:\n%s", out)
	}
}
