package keyfile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/curve25519"

	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// staticPassphrase returns a PassphraseFunc that always yields pw.
func staticPassphrase(pw string) PassphraseFunc {
	return func() ([]byte, error) { return []byte(pw), nil }
}

// noPassphrase is a PassphraseFunc that fails the test when called.
func noPassphrase(t *testing.T) PassphraseFunc {
	return func() ([]byte, error) {
		t.Helper()
		t.Error("passphrase requested for an unencrypted key")
		return nil, errors.New("unexpected")
	}
}

func publicOf(t *testing.T, secret [32]byte) [32]byte {
	t.Helper()
	pub, err := curve25519.X25519(secret[:], curve25519.Basepoint)
	if err != nil {
		t.Fatal(err)
	}
	return [32]byte(pub)
}

func hexKey(t *testing.T, s string) [32]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hex key %q", s)
	}
	return [32]byte(b)
}

// Every c4gh key in the shared vectors parses to the expected secret/public
// key and metadata, and unencrypted keys re-marshal byte for byte.
func TestVectorKeys(t *testing.T) {
	m := testvectors.Load(t)
	n := 0
	for _, k := range m.Keys {
		if k.Kind != testvectors.KindC4GHPrivate && k.Kind != testvectors.KindC4GHPublic {
			continue
		}
		n++
		t.Run(k.Name, func(t *testing.T) {
			data := m.ReadFile(t, k.File)
			wantPub := hexKey(t, k.ExpectedX25519PublicHex)
			if k.Kind == testvectors.KindC4GHPublic {
				if !IsPublicKey(data) || IsPrivateKey(data) {
					t.Errorf("IsPublicKey=%v IsPrivateKey=%v", IsPublicKey(data), IsPrivateKey(data))
				}
				pub, err := ParsePublicKey(data)
				if err != nil {
					t.Fatal(err)
				}
				if pub != wantPub {
					t.Errorf("public key %x, want %x", pub, wantPub)
				}
				if out := MarshalPublicKey(pub); !bytes.Equal(out, data) {
					t.Errorf("MarshalPublicKey differs from the file:\n%s", out)
				}
				if _, err := ParsePrivateKey(data, nil); !errors.Is(err, ErrMalformed) {
					t.Errorf("ParsePrivateKey(public key) error = %v", err)
				}
				return
			}

			if !IsPrivateKey(data) || IsPublicKey(data) {
				t.Errorf("IsPublicKey=%v IsPrivateKey=%v", IsPublicKey(data), IsPrivateKey(data))
			}
			pf := noPassphrase(t)
			if k.Passphrase != nil {
				pf = staticPassphrase(*k.Passphrase)
				if _, err := ParsePrivateKey(data, nil); !errors.Is(err, ErrPassphraseRequired) {
					t.Errorf("nil PassphraseFunc: error %v, want ErrPassphraseRequired", err)
				}
			}
			key, err := ParsePrivateKey(data, pf)
			if err != nil {
				t.Fatal(err)
			}
			if want := hexKey(t, k.ExpectedX25519SecretHex); key.Secret != want {
				t.Errorf("secret mismatch")
			}
			if pub := publicOf(t, key.Secret); pub != wantPub {
				t.Errorf("derived public key %x, want %x", pub, wantPub)
			}
			wantComment := ""
			if k.Comment != nil {
				wantComment = *k.Comment
			}
			if key.Comment != wantComment {
				t.Errorf("comment %q, want %q", key.Comment, wantComment)
			}
			if k.KDF == nil || key.KDF != *k.KDF {
				t.Errorf("KDF %q, manifest %v", key.KDF, k.KDF)
			}
			if k.KDFRounds != nil && key.Rounds != uint32(*k.KDFRounds) {
				t.Errorf("rounds %d, want %d", key.Rounds, *k.KDFRounds)
			}
			if key.Encrypted != (k.Passphrase != nil) {
				t.Errorf("Encrypted = %v", key.Encrypted)
			}
			if key.Label != k.PEMLabel {
				t.Errorf("label %q, want %q", key.Label, k.PEMLabel)
			}
			if k.PublicKey != "" {
				pub, err := ParsePublicKey(m.ReadFile(t, k.PublicKey))
				if err != nil || pub != wantPub {
					t.Errorf("public key file %s: %x, %v", k.PublicKey, pub, err)
				}
			}
			if !key.Encrypted {
				out, err := MarshalPrivateKey(key.Secret, nil, WriteOptions{Comment: key.Comment, Label: key.Label})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, data) {
					t.Errorf("MarshalPrivateKey differs from the file:\n%s", out)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no c4gh keys in the manifest")
	}
}

// matchesClass reports whether err belongs to a manifest error class.
func matchesClass(err error, class string) bool {
	switch class {
	case testvectors.ErrorFormat:
		return errors.Is(err, ErrMalformed)
	case testvectors.ErrorTruncated:
		return errors.Is(err, ErrTruncated)
	case testvectors.ErrorUnsupported:
		return errors.Is(err, ErrUnsupported)
	case testvectors.ErrorPassphrase:
		return errors.Is(err, ErrIncorrectPassphrase)
	}
	return false
}

// The manifest's key cases that are not OpenSSH keys.
func TestVectorKeyCases(t *testing.T) {
	m := testvectors.Load(t)
	n := 0
	for _, c := range m.CasesOfKind(testvectors.CaseKey) {
		kind := c.KeyKind
		if k := m.KeyByFile(c.File); k != nil {
			kind = k.Kind
		}
		if kind == testvectors.KindSSHPrivate || kind == testvectors.KindSSHPublic {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			data := m.ReadFile(t, c.File)
			var pub [32]byte
			var err error
			if kind == testvectors.KindC4GHPublic {
				pub, err = ParsePublicKey(data)
			} else {
				var pf PassphraseFunc
				if c.Passphrase != nil {
					pf = staticPassphrase(*c.Passphrase)
				}
				var key *PrivateKey
				if key, err = ParsePrivateKey(data, pf); err == nil {
					pub = publicOf(t, key.Secret)
				}
			}
			switch c.Expect {
			case testvectors.ExpectOK:
				if err != nil {
					t.Fatal(err)
				}
				if want := hexKey(t, c.ExpectedX25519PublicHex); pub != want {
					t.Errorf("public key %x, want %x", pub, want)
				}
			case testvectors.ExpectError:
				if err == nil {
					t.Fatal("accepted")
				}
				ok := matchesClass(err, c.ErrorClass)
				for _, alt := range c.AcceptableErrorClasses {
					ok = ok || matchesClass(err, alt)
				}
				if !ok {
					t.Errorf("error %q is not of class %q", err, c.ErrorClass)
				}
				if c.Passphrase != nil && strings.Contains(err.Error(), *c.Passphrase) {
					t.Errorf("error %q contains the passphrase", err)
				}
			default:
				t.Fatalf("unexpected expect %q", c.Expect)
			}
		})
	}
	if n == 0 {
		t.Fatal("no c4gh key cases in the manifest")
	}
}

// fastOptions keeps KDF costs low in tests.
func fastOptions(kdf string) WriteOptions {
	switch kdf {
	case KDFBcrypt:
		return WriteOptions{KDF: kdf, Rounds: 2}
	case KDFPBKDF2:
		return WriteOptions{KDF: kdf, Rounds: 1000}
	}
	return WriteOptions{KDF: kdf}
}

var allKDFs = []string{KDFNone, KDFScrypt, KDFBcrypt, KDFPBKDF2}

func testSecret(i byte) [32]byte {
	var s [32]byte
	for j := range s {
		s[j] = i + byte(j)*7
	}
	return s
}

func toCRLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

// Marshal then Parse gives the key back for every KDF, with and without
// comment, under every label, with LF and CRLF line endings and with
// surrounding text.
func TestRoundTrip(t *testing.T) {
	labels := []string{"", LabelPrivate, LabelEncryptedPrivate, "ENCRYPTED PRIVATE KEY", "ANY OTHER LABEL"}
	for i, kdf := range allKDFs {
		for _, comment := range []string{"", "someone@example.org", "ünïcødé comment with spaces"} {
			for _, label := range labels {
				name := fmt.Sprintf("%s/%q/%q", kdf, comment, label)
				t.Run(name, func(t *testing.T) {
					secret := testSecret(byte(i))
					var pw []byte
					if kdf != KDFNone {
						pw = []byte("pass " + kdf)
					}
					opts := fastOptions(kdf)
					opts.Comment, opts.Label = comment, label
					out, err := MarshalPrivateKey(secret, pw, opts)
					if err != nil {
						t.Fatal(err)
					}
					wantLabel := label
					if wantLabel == "" {
						wantLabel = LabelPrivate
					}
					if !bytes.HasPrefix(out, []byte("-----BEGIN "+wantLabel+"-----\n")) {
						t.Fatalf("unexpected output %q", out)
					}
					variants := map[string][]byte{
						"LF":       out,
						"CRLF":     toCRLF(out),
						"embedded": append(append([]byte("Some text before\n\n"), toCRLF(out)...), "\n  trailing text\n"...),
						"wrapped":  wrapBody(out, 16),
					}
					for vname, data := range variants {
						if kdf == KDFScrypt && vname != "LF" {
							continue // slow KDF; the armour variants are covered by the others
						}
						if !IsPrivateKey(data) || IsPublicKey(data) {
							t.Errorf("%s: detection failed", vname)
						}
						var pf PassphraseFunc
						if pw != nil {
							pf = staticPassphrase(string(pw))
						}
						key, err := ParsePrivateKey(data, pf)
						if err != nil {
							t.Fatalf("%s: %v", vname, err)
						}
						want := PrivateKey{Secret: secret, Comment: comment, KDF: kdf, Rounds: opts.Rounds,
							Encrypted: kdf != KDFNone, Label: wantLabel}
						if *key != want {
							t.Errorf("%s: got %+v\nwant %+v", vname, *key, want)
						}
					}
				})
			}
		}
	}
}

// wrapBody re-wraps the base64 line of armoured text at width columns, with
// indentation and a blank line, which readers must tolerate.
func wrapBody(armored []byte, width int) []byte {
	lines := strings.Split(string(armored), "\n")
	var b strings.Builder
	b.WriteString(lines[0] + "\n")
	body := lines[1]
	for len(body) > width {
		b.WriteString("  " + body[:width] + " \n\n")
		body = body[width:]
	}
	b.WriteString(body + "\n" + lines[2] + "\n")
	return []byte(b.String())
}

func TestMarshalDefaults(t *testing.T) {
	secret := testSecret(9)
	for _, c := range []struct {
		kdf    string
		rounds uint32
	}{{"", 0}, {KDFScrypt, 0}, {KDFBcrypt, defaultBcryptRounds}, {KDFPBKDF2, defaultPBKDF2Rounds}} {
		out, err := MarshalPrivateKey(secret, []byte("pw"), WriteOptions{KDF: c.kdf, Rounds: 0})
		if err != nil {
			t.Fatal(err)
		}
		key, err := ParsePrivateKey(out, staticPassphrase("pw"))
		if err != nil {
			t.Fatal(err)
		}
		wantKDF := c.kdf
		if wantKDF == "" {
			wantKDF = KDFScrypt
		}
		if key.KDF != wantKDF || key.Rounds != c.rounds || key.Secret != secret {
			t.Errorf("KDF %q: got KDF %q rounds %d", c.kdf, key.KDF, key.Rounds)
		}
	}
	// Rounds are ignored for scrypt.
	out, err := MarshalPrivateKey(secret, []byte("pw"), WriteOptions{KDF: KDFScrypt, Rounds: 77})
	if err != nil {
		t.Fatal(err)
	}
	if key, err := ParsePrivateKey(out, staticPassphrase("pw")); err != nil || key.Rounds != 0 {
		t.Errorf("scrypt rounds: %v, %v", key, err)
	}
}

func TestMarshalErrors(t *testing.T) {
	secret := testSecret(1)
	for _, c := range []struct {
		name string
		pw   string
		opts WriteOptions
	}{
		{"passphrase with KDF none", "pw", WriteOptions{KDF: KDFNone}},
		{"KDF without passphrase", "", WriteOptions{KDF: KDFScrypt}},
		{"unknown KDF", "pw", WriteOptions{KDF: "xcrypt"}},
		{"label with newline", "", WriteOptions{Label: "A\nB"}},
		{"comment too long", "", WriteOptions{Comment: strings.Repeat("x", 0x10000)}},
		{"bcrypt rounds over the limit", "pw", WriteOptions{KDF: KDFBcrypt, Rounds: MaxBcryptRounds + 1}},
		{"pbkdf2 rounds over the limit", "pw", WriteOptions{KDF: KDFPBKDF2, Rounds: MaxPBKDF2Rounds + 1}},
		{"failing Rand", "pw", WriteOptions{KDF: KDFPBKDF2, Rounds: 1, Rand: bytes.NewReader(make([]byte, 10))}},
	} {
		var pw []byte
		if c.pw != "" {
			pw = []byte(c.pw)
		}
		out, err := MarshalPrivateKey(secret, pw, c.opts)
		if err == nil {
			t.Errorf("%s: accepted:\n%s", c.name, out)
		} else if !strings.HasPrefix(err.Error(), "keyfile: ") {
			t.Errorf("%s: error %q lacks the package prefix", c.name, err)
		}
	}
}

// A fixed Rand makes the output deterministic.
func TestMarshalUsesRand(t *testing.T) {
	opts := WriteOptions{KDF: KDFPBKDF2, Rounds: 10, Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 64))}
	a, err := MarshalPrivateKey(testSecret(3), []byte("pw"), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Rand = bytes.NewReader(bytes.Repeat([]byte{7}, 64))
	b, _ := MarshalPrivateKey(testSecret(3), []byte("pw"), opts)
	c, _ := MarshalPrivateKey(testSecret(3), []byte("pw"), WriteOptions{KDF: KDFPBKDF2, Rounds: 10})
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Error("Rand is not used for salt and nonce")
	}
}

func TestWrongPassphrase(t *testing.T) {
	const pass = "correct horse"
	for _, kdf := range allKDFs[1:] {
		out, err := MarshalPrivateKey(testSecret(5), []byte(pass), fastOptions(kdf))
		if err != nil {
			t.Fatal(err)
		}
		for _, wrong := range []string{"correct horsE", ""} {
			_, err := ParsePrivateKey(out, staticPassphrase(wrong))
			if !errors.Is(err, ErrIncorrectPassphrase) {
				t.Errorf("%s, passphrase %q: error %v, want ErrIncorrectPassphrase", kdf, wrong, err)
			} else if strings.Contains(err.Error(), "horse") || err.Error() != ErrIncorrectPassphrase.Error() {
				t.Errorf("%s: unexpected message %q", kdf, err)
			}
		}
		if _, err := ParsePrivateKey(out, nil); !errors.Is(err, ErrPassphraseRequired) {
			t.Errorf("%s, nil PassphraseFunc: %v", kdf, err)
		}
		sentinel := errors.New("no terminal")
		_, err = ParsePrivateKey(out, func() ([]byte, error) { return nil, sentinel })
		if !errors.Is(err, sentinel) || !strings.HasPrefix(err.Error(), "keyfile: ") {
			t.Errorf("%s, failing PassphraseFunc: %v", kdf, err)
		}
	}
}

// body returns the decoded c4gh-v1 body of an armoured key.
func body(t *testing.T, armored []byte) []byte {
	t.Helper()
	b, err := decodeArmor(armored)
	if err != nil {
		t.Fatal(err)
	}
	return b.body
}

// Flipping any bit of the encrypted blob (nonce, ciphertext or tag), or of
// the KDF salt, is detected.
func TestTamperedBlob(t *testing.T) {
	out, err := MarshalPrivateKey(testSecret(6), []byte("pw"), WriteOptions{KDF: KDFPBKDF2, Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, out)
	blobStart := len(b) - encryptedBlobSize
	saltStart := len(magic) + 2 + len(KDFPBKDF2) + 2 + 4
	for _, pos := range []int{saltStart, saltStart + 15, blobStart, blobStart + 11, blobStart + 12, blobStart + 43, len(b) - 1} {
		mut := bytes.Clone(b)
		mut[pos] ^= 0x10
		_, err := ParsePrivateKey(encodeArmor(LabelPrivate, mut), staticPassphrase("pw"))
		if !errors.Is(err, ErrIncorrectPassphrase) {
			t.Errorf("flip at %d: %v, want ErrIncorrectPassphrase", pos, err)
		}
	}
}

// build assembles a c4gh-v1 body from raw fields; a nil comment is omitted.
func build(kdf string, opts []byte, cipher string, blob, comment []byte) []byte {
	b := []byte(magic)
	b = appendStr(b, []byte(kdf))
	if kdf != KDFNone {
		b = appendStr(b, opts)
	}
	b = appendStr(b, []byte(cipher))
	b = appendStr(b, blob)
	if comment != nil {
		b = appendStr(b, comment)
	}
	return b
}

func rounds(r uint32, salt string) []byte {
	return append([]byte{byte(r >> 24), byte(r >> 16), byte(r >> 8), byte(r)}, salt...)
}

func TestMalformed(t *testing.T) {
	raw := make([]byte, 32)
	blob60 := make([]byte, 60)
	armor := func(b []byte) []byte { return encodeArmor(LabelPrivate, b) }
	valid := armor(build(KDFNone, nil, CipherNone, raw, []byte("c")))
	for _, c := range []struct {
		name     string
		data     []byte
		class    error
		contains string
	}{
		{"empty", nil, ErrMalformed, "BEGIN"},
		{"garbage", []byte("this is not a key\nQUFBQQ==\n"), ErrMalformed, "BEGIN"},
		{"no END", bytes.Split(valid, []byte("-----END"))[0], ErrMalformed, "END"},
		{"END label mismatch", bytes.Replace(valid, []byte("END CRYPT4GH"), []byte("END CRYPT5GH"), 1), ErrMalformed, "does not match"},
		{"empty body", []byte("-----BEGIN X-----\n\n-----END X-----\n"), ErrMalformed, "empty"},
		{"bad base64", []byte("-----BEGIN X-----\nYzRn*C12MQ==\n-----END X-----\n"), ErrMalformed, "base64"},
		{"unpadded base64", []byte("-----BEGIN X-----\nYzRnaC12MQ\n-----END X-----\n"), ErrMalformed, "base64"},
		{"non-canonical base64", []byte("-----BEGIN X-----\nYzRnaC12MR==\n-----END X-----\n"), ErrMalformed, "base64"},
		{"garbage after padding", []byte("-----BEGIN X-----\nYzRnaC12MQ==QUFB\n-----END X-----\n"), ErrMalformed, "base64"},
		{"space inside base64", bytes.Replace(valid, []byte("YzRn"), []byte("YzR n"), 1), ErrMalformed, "base64"},
		{"armour header", []byte("-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n\nYzRnaC12MQ==\n-----END X-----\n"), ErrMalformed, "base64"},
		{"not c4gh", armor([]byte("c4gh-v2 and some more bytes, not a key")), ErrMalformed, "c4gh-v1"},
		{"public key as private", MarshalPublicKey([32]byte{1}), ErrMalformed, "public key"},
		{"magic only", armor([]byte(magic)), ErrTruncated, "KDF name"},
		{"unsupported KDF", armor(build("xcrypt", rounds(1, "salt"), CipherChaCha20Poly1305, blob60, nil)), ErrUnsupported, `unsupported KDF "xcrypt"`},
		{"unsupported cipher", armor(build(KDFScrypt, rounds(0, "salt"), "chacha20_poly1306", blob60, nil)), ErrUnsupported, `unsupported cipher "chacha20_poly1306"`},
		{"unsupported cipher with KDF none", armor(build(KDFNone, nil, "aes", raw, nil)), ErrUnsupported, `"aes"`},
		{"long KDF name", armor(build(strings.Repeat("k", 5000), rounds(1, "s"), CipherNone, raw, nil)), ErrUnsupported, `"...`},
		{"bcrypt rounds over limit", armor(build(KDFBcrypt, rounds(MaxBcryptRounds+1, "salt"), CipherChaCha20Poly1305, blob60, nil)), ErrUnsupported, "limit"},
		{"pbkdf2 rounds over limit", armor(build(KDFPBKDF2, rounds(0xffffffff, "salt"), CipherChaCha20Poly1305, blob60, nil)), ErrUnsupported, "limit"},
		{"bcrypt zero rounds", armor(build(KDFBcrypt, rounds(0, "salt"), CipherChaCha20Poly1305, blob60, nil)), ErrMalformed, "at least 1"},
		{"pbkdf2 zero rounds", armor(build(KDFPBKDF2, rounds(0, "salt"), CipherChaCha20Poly1305, blob60, nil)), ErrMalformed, "at least 1"},
		{"bcrypt empty salt", armor(build(KDFBcrypt, rounds(4, ""), CipherChaCha20Poly1305, blob60, nil)), ErrMalformed, "salt"},
		{"short KDF options", armor(build(KDFScrypt, []byte{0, 0}, CipherChaCha20Poly1305, blob60, nil)), ErrMalformed, "options"},
		{"KDF none but encrypted", armor(build(KDFNone, nil, CipherChaCha20Poly1305, blob60, nil)), ErrMalformed, "KDF none"},
		{"KDF but not encrypted", armor(build(KDFScrypt, rounds(0, "salt"), CipherNone, raw, nil)), ErrMalformed, "unencrypted"},
		{"short raw key", armor(build(KDFNone, nil, CipherNone, raw[:31], nil)), ErrMalformed, "31 bytes"},
		{"long raw key", armor(build(KDFNone, nil, CipherNone, append(raw, 0), nil)), ErrMalformed, "33 bytes"},
		{"short encrypted key", armor(build(KDFScrypt, rounds(0, "salt"), CipherChaCha20Poly1305, blob60[:59], nil)), ErrMalformed, "59 bytes"},
		{"trailing data", armor(append(build(KDFNone, nil, CipherNone, raw, []byte("c")), 0)), ErrMalformed, "trailing"},
	} {
		_, err := ParsePrivateKey(c.data, staticPassphrase("pw"))
		switch {
		case err == nil:
			t.Errorf("%s: accepted", c.name)
		case !errors.Is(err, c.class):
			t.Errorf("%s: error %q is not %q", c.name, err, c.class)
		case !strings.Contains(err.Error(), c.contains):
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.contains)
		case !strings.HasPrefix(err.Error(), "keyfile: "):
			t.Errorf("%s: error %q lacks the package prefix", c.name, err)
		}
	}
}

// Every strict prefix of a key body without comment is reported as truncated.
func TestTruncated(t *testing.T) {
	for _, kdf := range allKDFs {
		out, err := MarshalPrivateKey(testSecret(2), map[bool][]byte{true: []byte("pw")}[kdf != KDFNone], fastOptions(kdf))
		if err != nil {
			t.Fatal(err)
		}
		b := body(t, out)
		for n := len(magic); n < len(b); n++ {
			_, err := ParsePrivateKey(encodeArmor(LabelPrivate, b[:n]), staticPassphrase("pw"))
			if !errors.Is(err, ErrTruncated) || !errors.Is(err, ErrMalformed) {
				t.Errorf("%s, %d of %d bytes: %v", kdf, n, len(b), err)
			}
		}
	}
}

func TestPublicKey(t *testing.T) {
	pub := [32]byte{0xde, 0xad, 0xbe, 0xef}
	out := MarshalPublicKey(pub)
	want := "-----BEGIN CRYPT4GH PUBLIC KEY-----\n3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n-----END CRYPT4GH PUBLIC KEY-----\n"
	if string(out) != want {
		t.Fatalf("MarshalPublicKey = %q", out)
	}
	for name, data := range map[string][]byte{
		"LF":       out,
		"CRLF":     toCRLF(out),
		"embedded": append([]byte("recipient:\r\n\r\n"), append(toCRLF(out), " \r\n"...)...),
		"label":    []byte("-----BEGIN SOME KEY-----\n3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n-----END SOME KEY-----"),
	} {
		got, err := ParsePublicKey(data)
		if err != nil || got != pub {
			t.Errorf("%s: %x, %v", name, got, err)
		}
	}
	priv, _ := MarshalPrivateKey(testSecret(1), nil, WriteOptions{})
	for name, data := range map[string][]byte{
		"private key": priv,
		"31 bytes":    encodeArmor(LabelPublic, make([]byte, 31)),
		"33 bytes":    encodeArmor(LabelPublic, make([]byte, 33)),
		"raw private": encodeArmor(LabelPrivate, make([]byte, 32)),
		"garbage":     []byte("ssh-ed25519 AAAA"),
	} {
		if _, err := ParsePublicKey(data); !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "keyfile: ") {
			t.Errorf("%s: error %v, want ErrMalformed", name, err)
		}
	}
}

// A raw 32-byte key under a PRIVATE label (htslib-crypt4gh) is a private key.
func TestRawPrivateKey(t *testing.T) {
	secret := testSecret(4)
	data := encodeArmor(LabelPrivate, secret[:])
	if !IsPrivateKey(data) || IsPublicKey(data) {
		t.Fatal("detection failed")
	}
	key, err := ParsePrivateKey(data, noPassphrase(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := (PrivateKey{Secret: secret, KDF: KDFNone, Label: LabelPrivate}); *key != want {
		t.Errorf("got %+v", *key)
	}
}
