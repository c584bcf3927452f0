package crypt4gh_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// classify maps an error to the manifest's error classes.
func classify(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, crypt4gh.ErrIncorrectPassphrase):
		return testvectors.ErrorPassphrase
	case errors.Is(err, crypt4gh.ErrMalformedKey), errors.Is(err, crypt4gh.ErrPassphraseRequired):
		return testvectors.ErrorFormat
	case errors.Is(err, crypt4gh.ErrNoMatchingKey):
		return testvectors.ErrorNoKey
	case errors.Is(err, crypt4gh.ErrAuthentication):
		return testvectors.ErrorMAC
	case errors.Is(err, crypt4gh.ErrTruncated):
		return testvectors.ErrorTruncated
	case errors.Is(err, crypt4gh.ErrUnsupported), errors.Is(err, crypt4gh.ErrUnsupportedVersion):
		return testvectors.ErrorUnsupported
	case errors.Is(err, crypt4gh.ErrNotCrypt4GH), errors.Is(err, crypt4gh.ErrMalformedHeader):
		return testvectors.ErrorFormat
	}
	return "unclassified: " + err.Error()
}

// cliExitClass maps the CLI's documented exit codes to error classes.
var cliExitClass = map[int][]string{
	3: {testvectors.ErrorNoKey},
	4: {testvectors.ErrorMAC},
	5: {testvectors.ErrorFormat, testvectors.ErrorTruncated, testvectors.ErrorUnsupported},
	6: {testvectors.ErrorPassphrase, testvectors.ErrorFormat},
}

func passFunc(p *string) crypt4gh.PassphraseFunc {
	if p == nil {
		return nil
	}
	return func() ([]byte, error) { return []byte(*p), nil }
}

func loadIdentity(m *testvectors.Manifest, path string, pass *string) (crypt4gh.Identity, error) {
	data, err := os.ReadFile(m.Path(path))
	if err != nil {
		return nil, err
	}
	return crypt4gh.ParseIdentity(data, passFunc(pass))
}

func loadRecipient(t *testing.T, m *testvectors.Manifest, path string) *crypt4gh.X25519Recipient {
	t.Helper()
	r, err := crypt4gh.ParseRecipient(m.ReadFile(t, path))
	if err != nil {
		t.Fatalf("public key %s: %v", path, err)
	}
	return r
}

// input returns the bytes to decrypt: the optional detached header then
// the file.
func input(t *testing.T, m *testvectors.Manifest, c testvectors.Case) []byte {
	var b []byte
	if c.HeaderFile != "" {
		b = append(b, m.ReadFile(t, c.HeaderFile)...)
	}
	return append(b, m.ReadFile(t, c.File)...)
}

// want returns the expected output's hash and size.
func checkOutput(t *testing.T, c testvectors.Case, got []byte) {
	t.Helper()
	sum := sha256.Sum256(got)
	if int64(len(got)) != c.PlaintextSize || hex.EncodeToString(sum[:]) != c.PlaintextSHA256 {
		t.Fatalf("output: %d bytes sha256 %x, want %d bytes sha256 %s", len(got), sum, c.PlaintextSize, c.PlaintextSHA256)
	}
}

func checkError(t *testing.T, c testvectors.Case, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("succeeded, want a %s error", c.ErrorClass)
	}
	got := classify(err)
	if got != c.ErrorClass && !slices.Contains(c.AcceptableErrorClasses, got) {
		t.Fatalf("error %q is class %q, want %q (or %v)", err, got, c.ErrorClass, c.AcceptableErrorClasses)
	}
}

// decryptPaths decrypts data through every reading path of the library and
// requires them to agree: the streaming reader (parallel and on one
// goroutine) and the random-access reader.
func decryptPaths(data []byte, ids []crypt4gh.Identity, rng *crypt4gh.Range) ([]byte, error) {
	var outs [][]byte
	for _, conc := range []int{0, 1} {
		r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(data), crypt4gh.DecryptOptions{Concurrency: conc, Range: rng}, ids...)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, r); err != nil {
			return nil, err
		}
		outs = append(outs, buf.Bytes())
	}
	ra, err := crypt4gh.DecryptReaderAt(bytes.NewReader(data), int64(len(data)), ids...)
	if err != nil {
		return nil, fmt.Errorf("ReaderAt: %w", err)
	}
	start, end := int64(0), ra.Size()
	if rng != nil {
		start = min(rng.Start, ra.Size())
		if rng.End >= 0 {
			end = min(rng.End, ra.Size())
		}
	}
	buf := make([]byte, end-start)
	if n, err := ra.ReadAt(buf, start); err != nil && !(err == io.EOF && n == len(buf)) {
		return nil, fmt.Errorf("ReaderAt: %w", err)
	}
	outs = append(outs, buf)
	for i := 1; i < len(outs); i++ {
		if !bytes.Equal(outs[0], outs[i]) {
			return nil, fmt.Errorf("decryption paths disagree: path %d gave %d bytes, path 0 %d", i, len(outs[i]), len(outs[0]))
		}
	}
	return outs[0], nil
}

// TestVectors runs every case of the shared interoperability manifest
// through the library and through the CLI.
func TestVectors(t *testing.T) {
	m := testvectors.Load(t)
	if len(m.Cases) == 0 {
		t.Fatal("manifest has no cases")
	}
	cli := buildCLI(t)
	for _, c := range m.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Run("lib", func(t *testing.T) { runLibCase(t, m, c) })
			t.Run("cli", func(t *testing.T) { runCLICase(t, m, c, cli) })
		})
	}
}

func runLibCase(t *testing.T, m *testvectors.Manifest, c testvectors.Case) {
	if c.Kind == testvectors.CaseKey {
		runKeyCase(t, m, c)
		return
	}
	id, err := loadIdentity(m, c.SecretKey, c.Passphrase)
	if err != nil {
		if c.Expect == testvectors.ExpectError {
			checkError(t, c, err)
			return
		}
		t.Fatalf("secret key %s: %v", c.SecretKey, err)
	}
	ids := []crypt4gh.Identity{id}
	if c.SenderPK != "" {
		ids = []crypt4gh.Identity{crypt4gh.RequireSender(id, loadRecipient(t, m, c.SenderPK))}
	}
	var rng *crypt4gh.Range
	if c.Range != nil {
		rng = &crypt4gh.Range{Start: c.Range[0], End: c.Range[1]}
	}
	data := input(t, m, c)
	got, err := decryptPaths(data, ids, rng)
	if c.Expect == testvectors.ExpectError {
		checkError(t, c, err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, c, got)

	if rng != nil {
		// Rearranging to the range and decrypting the result gives it too.
		var out bytes.Buffer
		if err := crypt4gh.Rearrange(&out, bytes.NewReader(data), ids, []crypt4gh.Recipient{id.(*crypt4gh.X25519Identity).Recipient()}, *rng); err != nil {
			t.Fatalf("Rearrange: %v", err)
		}
		got, err := decryptPaths(out.Bytes(), ids, nil)
		if err != nil {
			t.Fatalf("decrypting the rearranged file: %v", err)
		}
		checkOutput(t, c, got)
	}
	if c.Kind == testvectors.CaseReencrypt {
		ourReencryption(t, m, c)
	}
}

// ourReencryption repeats the case's re-encryption with this library and
// checks the result decrypts (or fails) as the peer's did.
func ourReencryption(t *testing.T, m *testvectors.Manifest, c testvectors.Case) {
	src, err := loadIdentity(m, c.SourceSecretKey, c.SourcePassphrase)
	if err != nil {
		t.Fatal(err)
	}
	var recips []crypt4gh.Recipient
	for _, p := range c.RecipientPKs {
		recips = append(recips, loadRecipient(t, m, p))
	}
	in := m.ReadFile(t, c.SourceFile)
	h, n, err := crypt4gh.ParseHeader(in)
	if err != nil {
		t.Fatal(err)
	}
	nh, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{src}, recips, &crypt4gh.ReencryptOptions{Trim: c.Trim})
	if err != nil {
		t.Fatalf("ReencryptHeader: %v", err)
	}
	out := nh.Marshal()
	if c.HeaderOnly {
		if n != len(in) {
			t.Fatalf("header-only source has %d bytes after the header", len(in)-n)
		}
		out = append(out, m.ReadFile(t, c.File)...)
	} else {
		out = append(out, in[n:]...)
	}
	id, err := loadIdentity(m, c.SecretKey, c.Passphrase)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decryptPaths(out, []crypt4gh.Identity{id}, nil)
	if c.Expect == testvectors.ExpectError {
		checkError(t, c, err)
		return
	}
	if err != nil {
		t.Fatalf("decrypting our re-encryption: %v", err)
	}
	checkOutput(t, c, got)
}

func runKeyCase(t *testing.T, m *testvectors.Manifest, c testvectors.Case) {
	data := m.ReadFile(t, c.File)
	k := m.KeyByFile(c.File)
	pass := c.Passphrase
	if c.Expect == testvectors.ExpectOK && k != nil && pass == nil {
		pass = k.Passphrase
	}
	var pub []byte
	var err error
	switch c.KeyKind {
	case testvectors.KindC4GHPublic, testvectors.KindSSHPublic:
		var r *crypt4gh.X25519Recipient
		if r, err = crypt4gh.ParseRecipient(data); err == nil {
			pub = r.PublicKey()
		}
	default:
		var id *crypt4gh.X25519Identity
		if id, err = crypt4gh.ParseIdentity(data, passFunc(pass)); err == nil {
			pub = id.PublicKey()
			if k != nil && k.ExpectedX25519SecretHex != "" && hex.EncodeToString(id.SecretKey()) != k.ExpectedX25519SecretHex {
				t.Errorf("secret %x, want %s", id.SecretKey(), k.ExpectedX25519SecretHex)
			}
		}
	}
	if c.Expect == testvectors.ExpectError {
		checkError(t, c, err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	want := c.ExpectedX25519PublicHex
	if want == "" && k != nil {
		want = k.ExpectedX25519PublicHex
	}
	if want == "" {
		t.Fatal("case gives no expected public key")
	}
	if hex.EncodeToString(pub) != want {
		t.Fatalf("public key %x, want %s", pub, want)
	}
}

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// buildCLI builds cmd/crypt4gh once per test binary.
func buildCLI(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crypt4gh-cli")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "crypt4gh")
		if runtime.GOOS == "windows" {
			cliPath += ".exe"
		}
		out, err := exec.Command("go", "build", "-o", cliPath, "./cmd/crypt4gh").CombinedOutput()
		if err != nil {
			cliErr = fmt.Errorf("go build ./cmd/crypt4gh: %v\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

// runCLI runs the CLI with stdin and returns stdout, stderr and exit code.
func runCLI(t *testing.T, cli string, stdin []byte, env []string, args ...string) ([]byte, string, int) {
	t.Helper()
	cmd := exec.Command(cli, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.Bytes(), stderr.String(), code
}

func runCLICase(t *testing.T, m *testvectors.Manifest, c testvectors.Case, cli string) {
	env := []string{"C4GH_PASSPHRASE=", "C4GH_SECRET_KEY=", "C4GH_NO_PQ_WARNING=1"}
	if c.Kind == testvectors.CaseKey {
		pass := c.Passphrase
		if k := m.KeyByFile(c.File); c.Expect == testvectors.ExpectOK && k != nil && pass == nil {
			pass = k.Passphrase
		}
		if pass != nil {
			env = append(env, "C4GH_PASSPHRASE="+*pass)
		}
		flag := "--sk"
		if c.KeyKind == testvectors.KindC4GHPublic || c.KeyKind == testvectors.KindSSHPublic {
			flag = "--pk"
		}
		out, stderr, code := runCLI(t, cli, nil, env, "pubkey", flag, m.Path(c.File))
		if c.Expect == testvectors.ExpectError {
			checkCLIError(t, c, code, stderr)
			return
		}
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		r, err := crypt4gh.ParseRecipient(out)
		if err != nil {
			t.Fatalf("pubkey output %q: %v", out, err)
		}
		want := c.ExpectedX25519PublicHex
		if k := m.KeyByFile(c.File); want == "" && k != nil {
			want = k.ExpectedX25519PublicHex
		}
		if hex.EncodeToString(r.PublicKey()) != want {
			t.Fatalf("public key %x, want %s", r.PublicKey(), want)
		}
		return
	}
	if c.Passphrase != nil {
		env = append(env, "C4GH_PASSPHRASE="+*c.Passphrase)
	}
	args := []string{"decrypt", "--sk", m.Path(c.SecretKey)}
	if c.SenderPK != "" {
		args = append(args, "--sender_pk", m.Path(c.SenderPK))
	}
	if c.Range != nil {
		args = append(args, "--range", fmt.Sprintf("%d-%d", c.Range[0], c.Range[1]))
	}
	var stdin []byte
	if c.HeaderFile != "" {
		stdin = input(t, m, c)
	} else {
		args = append(args, "-i", m.Path(c.File))
	}
	out, stderr, code := runCLI(t, cli, stdin, env, args...)
	if c.Expect == testvectors.ExpectError {
		checkCLIError(t, c, code, stderr)
		return
	}
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkOutput(t, c, out)
}

func checkCLIError(t *testing.T, c testvectors.Case, code int, stderr string) {
	t.Helper()
	if code == 0 {
		t.Fatalf("exit 0, want failure (%s)", c.ErrorClass)
	}
	if !strings.HasPrefix(stderr, "crypt4gh: error: ") {
		t.Fatalf("stderr %q does not start with an error line", stderr)
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		t.Fatalf("CLI crashed: %s", stderr)
	}
	classes := cliExitClass[code]
	for _, cl := range append([]string{c.ErrorClass}, c.AcceptableErrorClasses...) {
		if slices.Contains(classes, cl) {
			return
		}
	}
	t.Fatalf("exit code %d (classes %v), want one for %s %v; stderr: %s", code, classes, c.ErrorClass, c.AcceptableErrorClasses, stderr)
}
