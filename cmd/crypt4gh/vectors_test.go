package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// runCLI runs the command in-process with the given environment and
// standard input (nil: an empty file) and returns the exit code and
// standard error.
func runCLI(t *testing.T, env map[string]string, stdin *os.File, args ...string) (int, string) {
	t.Helper()
	dir := t.TempDir()
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	if stdin == nil {
		if stdin, err = os.Open(os.DevNull); err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
	}
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, noTTY: true,
		getenv: func(k string) string { return env[k] }}
	if v := env["C4GH_TEST_NOW"]; v != "" {
		// The clock of the expiry check, as in the scripts.
		now, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.Fatal(err)
		}
		a.now = func() time.Time { return now }
	}
	code := a.run(args)
	msg, _ := os.ReadFile(stderr.Name())
	return code, string(msg)
}

// classCodes maps the manifest's error classes to the exit codes that
// report them.
var classCodes = map[string]int{
	testvectors.ErrorMAC:         exitAuth,
	testvectors.ErrorNoKey:       exitNoKey,
	testvectors.ErrorFormat:      exitFormat,
	testvectors.ErrorPassphrase:  exitKey,
	testvectors.ErrorTruncated:   exitFormat,
	testvectors.ErrorUnsupported: exitFormat,
	// v2 classes (testdata/v2/README.md).
	"header_mac":      exitFormat,
	"signature":       exitSig,
	"expired":         exitExpiry,
	"order":           exitAuth,
	"edit_list_limit": exitFormat,
}

// TestVectors decrypts every decrypt, range and reencrypt case of the
// shared vectors through the command, by file (-i, -o) and, for ranges,
// through a pipe too, and checks the output or the exit code.
func TestVectors(t *testing.T) {
	m := testvectors.Load(t)
	n := 0
	for _, c := range m.Cases {
		if c.Kind == testvectors.CaseKey {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			env := map[string]string{}
			if c.Passphrase != nil {
				env[envPassphrase] = *c.Passphrase
			}
			args := []string{"decrypt", "--sk", m.Path(c.SecretKey)}
			if c.SenderPK != "" {
				args = append(args, "--sender_pk", m.Path(c.SenderPK))
			}
			if c.Range != nil {
				args = append(args, "--range", fmt.Sprintf("%d-%d", c.Range[0], c.Range[1]))
			}
			input := m.Path(c.File)
			if c.HeaderFile != "" {
				// Both as one stream and with decrypt --header.
				whole := filepath.Join(t.TempDir(), "whole.c4gh")
				hdr := m.ReadFile(t, c.HeaderFile)
				if err := os.WriteFile(whole, append(hdr, m.ReadFile(t, c.File)...), 0o600); err != nil {
					t.Fatal(err)
				}
				checkCase(t, m, c, env, nil, append(slices.Clone(args), "--header", m.Path(c.HeaderFile), "-i", input))
				input = whole
			}
			checkCase(t, m, c, env, nil, append(slices.Clone(args), "-i", input))
			if c.Range != nil || c.Expect != testvectors.ExpectOK {
				// The streaming path (a range of a pipe is not read at
				// offsets; errors must not depend on the path).
				checkCase(t, m, c, env, pipeFrom(t, input), args)
			}
			if c.Kind == testvectors.CaseReencrypt {
				reencryptCase(t, m, c, env)
			}
		})
	}
	if n == 0 {
		t.Fatal("no cases in the manifest")
	}
}

// reencryptCase re-encrypts the case's source file with our command, as
// the case describes, and checks the result decrypts like the case's file.
func reencryptCase(t *testing.T, m *testvectors.Manifest, c testvectors.Case, env map[string]string) {
	srcEnv := map[string]string{}
	if c.SourcePassphrase != nil {
		srcEnv[envPassphrase] = *c.SourcePassphrase
	}
	out := filepath.Join(t.TempDir(), "re.c4gh")
	args := []string{"reencrypt", "--sk", m.Path(c.SourceSecretKey), "-i", m.Path(c.SourceFile), "-o", out}
	for _, pk := range c.RecipientPKs {
		args = append(args, "--recipient_pk", m.Path(pk))
	}
	if c.Trim {
		args = append(args, "--trim")
	}
	if c.HeaderOnly {
		args = append(args, "--header-only")
	}
	if code, msg := runCLI(t, srcEnv, nil, args...); code != 0 {
		t.Fatalf("reencrypt: exit %d: %s", code, msg)
	}
	dargs := []string{"decrypt", "--sk", m.Path(c.SecretKey)}
	if c.HeaderOnly {
		dargs = append(dargs, "--header", out, "-i", m.Path(c.File))
	} else {
		dargs = append(dargs, "-i", out)
	}
	checkCase(t, m, c, env, nil, dargs)
}

func pipeFrom(t *testing.T, path string) *os.File {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.Write(data)
		w.Close()
	}()
	t.Cleanup(func() { r.Close() })
	return r
}

// checkCase runs args with -o OUT added and checks the outcome against c.
func checkCase(t *testing.T, m *testvectors.Manifest, c testvectors.Case, env map[string]string, stdin *os.File, args []string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	args = append(slices.Clone(args), "-o", out)
	code, msg := runCLI(t, env, stdin, args...)
	desc := strings.Join(args, " ")
	if c.Expect == testvectors.ExpectError {
		allowed := []int{classCodes[c.ErrorClass]}
		for _, cl := range c.AcceptableErrorClasses {
			allowed = append(allowed, classCodes[cl])
		}
		if c.ErrorClass == testvectors.ErrorFormat && m.KeyByFile(c.SecretKey) == nil {
			allowed = []int{exitKey} // the key file itself is broken
		}
		if !slices.Contains(allowed, code) {
			t.Errorf("%s: exit %d, want one of %v (class %s): %s", desc, code, allowed, c.ErrorClass, msg)
		}
		if !strings.HasPrefix(msg, "crypt4gh: error: ") || strings.Count(msg, "error:") != 1 {
			t.Errorf("%s: stderr is not one error line (plus hints): %q", desc, msg)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: failed but wrote %s", desc, out)
		}
		return
	}
	if code != 0 {
		t.Fatalf("%s: exit %d: %s", desc, code, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want := c.PlaintextSHA256
	if c.Range != nil && c.SourcePlaintext != "" && want == "" {
		src := m.ReadFile(t, c.SourcePlaintext)
		sum := sha256.Sum256(src[c.Range[0]:min(c.Range[1], int64(len(src)))])
		want = hex.EncodeToString(sum[:])
	}
	sum := sha256.Sum256(got)
	if int64(len(got)) != c.PlaintextSize || hex.EncodeToString(sum[:]) != want {
		t.Errorf("%s: got %d bytes (sha256 %x), want %d bytes (sha256 %s)", desc, len(got), sum[:8], c.PlaintextSize, want)
	}
}
