package keyfile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var v2Types = []string{KeyTypeX25519MLKEM1024, KeyTypeEd25519, KeyTypeMLDSA65, KeyTypeMLDSA87}

// v2Secret and v2Public return deterministic byte strings of the sizes of
// keyType (the key file layer does not check the keys themselves).
func v2Secret(t testing.TB, keyType string) []byte {
	n, _, ok := V2KeySizes(keyType)
	if !ok {
		t.Fatalf("unknown type %q", keyType)
	}
	return pattern(n, 3)
}

func v2Public(t testing.TB, keyType string) []byte {
	_, n, ok := V2KeySizes(keyType)
	if !ok {
		t.Fatalf("unknown type %q", keyType)
	}
	return pattern(n, 5)
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// The sizes of the spec's table (doc/crypt4gh-v2.md, section 12).
func TestV2KeySizes(t *testing.T) {
	for _, c := range []struct {
		keyType        string
		secret, public int
	}{
		{"x25519-mlkem1024", 96, 1600},
		{"ed25519", 32, 32},
		{"mldsa65", 32, 1952},
		{"mldsa87", 32, 2592},
	} {
		s, p, ok := V2KeySizes(c.keyType)
		if !ok || s != c.secret || p != c.public {
			t.Errorf("%s: %d, %d, %v; want %d, %d", c.keyType, s, p, ok, c.secret, c.public)
		}
	}
	if _, _, ok := V2KeySizes("rsa"); ok {
		t.Error("rsa is known")
	}
}

// Marshal then parse gives the key back, for every type with kdf none and
// scrypt, and for one type with bcrypt and pbkdf2; the v1 functions reject
// every v2 file and the detection helpers agree.
func TestV2RoundTrip(t *testing.T) {
	type tc struct{ keyType, kdf string }
	var cases []tc
	for _, kt := range v2Types {
		cases = append(cases, tc{kt, KDFNone}, tc{kt, KDFScrypt})
	}
	cases = append(cases, tc{KeyTypeMLDSA87, KDFBcrypt}, tc{KeyTypeX25519MLKEM1024, KDFPBKDF2})
	for _, c := range cases {
		for _, comment := range []string{"", "lab signing key ü"} {
			t.Run(fmt.Sprintf("%s/%s/%q", c.keyType, c.kdf, comment), func(t *testing.T) {
				secret := v2Secret(t, c.keyType)
				var pw []byte
				if c.kdf != KDFNone {
					pw = []byte("pass " + c.kdf)
				}
				opts := fastOptions(c.kdf)
				opts.Comment = comment
				out, err := MarshalV2PrivateKey(c.keyType, secret, pw, opts)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.HasPrefix(out, []byte("-----BEGIN CRYPT4GH V2 PRIVATE KEY-----\n")) {
					t.Fatalf("unexpected output %q", out)
				}
				for vname, data := range map[string][]byte{"LF": out, "CRLF": toCRLF(out), "wrapped": wrapBody(out, 64)} {
					if !IsV2PrivateKey(data) || IsV2PublicKey(data) || IsPrivateKey(data) || IsPublicKey(data) {
						t.Errorf("%s: detection: v2 private %v, v2 public %v, v1 private %v, v1 public %v", vname,
							IsV2PrivateKey(data), IsV2PublicKey(data), IsPrivateKey(data), IsPublicKey(data))
					}
					if kt, err := V2PrivateKeyType(data); err != nil || kt != c.keyType {
						t.Errorf("%s: V2PrivateKeyType = %q, %v", vname, kt, err)
					}
					var pf PassphraseFunc
					if pw != nil {
						pf = staticPassphrase(string(pw))
					} else {
						pf = noPassphrase(t)
					}
					k, err := ParseV2PrivateKey(data, pf)
					if err != nil {
						t.Fatalf("%s: %v", vname, err)
					}
					if k.Type != c.keyType || !bytes.Equal(k.Secret, secret) || k.Comment != comment ||
						k.KDF != c.kdf || k.Rounds != opts.Rounds || k.Encrypted != (pw != nil) || k.Label != LabelV2Private {
						t.Errorf("%s: got %+v", vname, *k)
					}
					if _, err := ParsePrivateKey(data, pf); !errors.Is(err, ErrMalformed) {
						t.Errorf("%s: v1 ParsePrivateKey: %v", vname, err)
					}
					if _, _, err := ParseV2PublicKey(data); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "private key") {
						t.Errorf("%s: ParseV2PublicKey(private): %v", vname, err)
					}
				}
				if pw == nil {
					return
				}
				if _, err := ParseV2PrivateKey(out, staticPassphrase("wrong")); !errors.Is(err, ErrIncorrectPassphrase) {
					t.Errorf("wrong passphrase: %v", err)
				}
				if _, err := ParseV2PrivateKey(out, nil); !errors.Is(err, ErrPassphraseRequired) {
					t.Errorf("nil passphrase: %v", err)
				}
				sentinel := errors.New("no terminal")
				if _, err := ParseV2PrivateKey(out, func() ([]byte, error) { return nil, sentinel }); !errors.Is(err, sentinel) {
					t.Errorf("failing passphrase func: %v", err)
				}
			})
		}
	}
}

func TestV2PublicRoundTrip(t *testing.T) {
	for _, kt := range v2Types {
		t.Run(kt, func(t *testing.T) {
			pub := v2Public(t, kt)
			out := MarshalV2PublicKey(kt, pub)
			if !bytes.HasPrefix(out, []byte("-----BEGIN CRYPT4GH V2 PUBLIC KEY-----\n")) {
				t.Fatalf("unexpected output %q", out)
			}
			for vname, data := range map[string][]byte{"LF": out, "CRLF": toCRLF(out), "wrapped": wrapBody(out, 70),
				"other label": bytes.ReplaceAll(out, []byte("CRYPT4GH V2 PUBLIC KEY"), []byte("SOME KEY"))} {
				if !IsV2PublicKey(data) || IsV2PrivateKey(data) || IsPublicKey(data) || IsPrivateKey(data) {
					t.Errorf("%s: detection failed", vname)
				}
				gotType, got, err := ParseV2PublicKey(data)
				if err != nil || gotType != kt || !bytes.Equal(got, pub) {
					t.Errorf("%s: %q, %v", vname, gotType, err)
				}
				if _, err := ParseV2PrivateKey(data, noPassphrase(t)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "public key") {
					t.Errorf("%s: ParseV2PrivateKey(public): %v", vname, err)
				}
				if _, err := ParsePublicKey(data); !errors.Is(err, ErrMalformed) {
					t.Errorf("%s: v1 ParsePublicKey: %v", vname, err)
				}
			}
		})
	}
}

// v2PrivBody assembles a v2 private body from raw fields.
func v2PrivBody(keyType, kdf string, opts []byte, cipher string, blob, comment []byte) []byte {
	b := appendStr([]byte(magicV2), []byte(keyType))
	return append(b, build(kdf, opts, cipher, blob, comment)[len(magic):]...)
}

func v2PubBody(keyType string, pub []byte) []byte {
	return appendStr(appendStr([]byte(magicV2), []byte(keyType)), pub)
}

// Wrong sizes and unknown types are rejected with errors naming the
// problem, before any passphrase is asked for.
func TestV2Malformed(t *testing.T) {
	armor := func(b []byte) []byte { return encodeArmor(LabelV2Private, b) }
	type tc struct {
		name     string
		data     []byte
		class    error
		contains []string
	}
	var cases []tc
	for _, kt := range v2Types {
		s, _, _ := V2KeySizes(kt)
		for _, n := range []int{s - 1, s + 1, 0} {
			cases = append(cases,
				tc{fmt.Sprintf("%s clear %d bytes", kt, n), armor(v2PrivBody(kt, KDFNone, nil, CipherNone, make([]byte, n), nil)),
					ErrMalformed, []string{fmt.Sprintf("%d bytes, want %d", n, s)}},
				tc{fmt.Sprintf("%s encrypted %d bytes", kt, n+28), armor(v2PrivBody(kt, KDFScrypt, rounds(0, "salt"), CipherChaCha20Poly1305, make([]byte, n+28), nil)),
					ErrMalformed, []string{fmt.Sprintf("%d bytes, want %d", n+28, s+28)}})
		}
	}
	cases = append(cases,
		tc{"unknown type", armor(v2PrivBody("rsa4096", KDFNone, nil, CipherNone, make([]byte, 32), nil)), ErrUnsupported, []string{`unsupported key type "rsa4096"`}},
		tc{"empty type", armor(v2PrivBody("", KDFNone, nil, CipherNone, make([]byte, 32), nil)), ErrUnsupported, []string{`unsupported key type ""`}},
		tc{"long type", armor(v2PrivBody(strings.Repeat("t", 300), KDFNone, nil, CipherNone, make([]byte, 32), nil)), ErrUnsupported, []string{`"...`}},
		tc{"unknown KDF", armor(v2PrivBody(KeyTypeEd25519, "argon2", rounds(1, "s"), CipherChaCha20Poly1305, make([]byte, 60), nil)), ErrUnsupported, []string{`"argon2"`}},
		tc{"unknown cipher", armor(v2PrivBody(KeyTypeEd25519, KDFScrypt, rounds(0, "s"), "aes", make([]byte, 60), nil)), ErrUnsupported, []string{`"aes"`}},
		tc{"bcrypt rounds over limit", armor(v2PrivBody(KeyTypeEd25519, KDFBcrypt, rounds(MaxBcryptRounds+1, "s"), CipherChaCha20Poly1305, make([]byte, 60), nil)), ErrUnsupported, []string{"limit"}},
		tc{"trailing data", armor(append(v2PrivBody(KeyTypeEd25519, KDFNone, nil, CipherNone, make([]byte, 32), []byte("c")), 1)), ErrMalformed, []string{"trailing"}},
		tc{"magic only", armor([]byte(magicV2)), ErrTruncated, []string{"key type"}},
		tc{"v1 key", encodeArmor(LabelPrivate, build(KDFNone, nil, CipherNone, make([]byte, 32), nil)), ErrMalformed, []string{"version 1"}},
		tc{"not a key", armor([]byte("hello world")), ErrMalformed, []string{"c4gh-v2"}},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseV2PrivateKey(c.data, noPassphrase(t))
			checkV2Error(t, err, c.class, c.contains)
			if _, err2 := V2PrivateKeyType(c.data); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("V2PrivateKeyType: %v, ParseV2PrivateKey: %v", err2, err)
			}
		})
	}

	pubCases := []tc{
		{"unknown type", encodeArmor(LabelV2Public, v2PubBody("x448", make([]byte, 56))), ErrUnsupported, []string{`unsupported key type "x448"`}},
		{"trailing data", encodeArmor(LabelV2Public, append(v2PubBody(KeyTypeEd25519, make([]byte, 32)), 0)), ErrMalformed, []string{"trailing"}},
		{"truncated", encodeArmor(LabelV2Public, v2PubBody(KeyTypeEd25519, make([]byte, 32))[:20]), ErrTruncated, []string{"public key"}},
		{"v1 key", MarshalPublicKey([32]byte{1}), ErrMalformed, []string{"version 1"}},
	}
	for _, kt := range v2Types {
		_, p, _ := V2KeySizes(kt)
		for _, n := range []int{p - 1, p + 1, 0} {
			pubCases = append(pubCases, tc{fmt.Sprintf("%s %d bytes", kt, n), encodeArmor(LabelV2Public, v2PubBody(kt, make([]byte, n))),
				ErrMalformed, []string{kt, fmt.Sprintf("%d bytes, want %d", n, p)}})
		}
	}
	for _, c := range pubCases {
		t.Run("public/"+c.name, func(t *testing.T) {
			_, _, err := ParseV2PublicKey(c.data)
			checkV2Error(t, err, c.class, c.contains)
		})
	}
}

func checkV2Error(t *testing.T, err error, class error, contains []string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatal("accepted")
	case !errors.Is(err, class):
		t.Errorf("error %q is not %q", err, class)
	case !strings.HasPrefix(err.Error(), "keyfile: "):
		t.Errorf("error %q lacks the package prefix", err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

// Every strict prefix of a v2 body is truncated.
func TestV2Truncated(t *testing.T) {
	out, err := MarshalV2PrivateKey(KeyTypeEd25519, v2Secret(t, KeyTypeEd25519), []byte("pw"), fastOptions(KDFPBKDF2))
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, out)
	for n := len(magicV2); n < len(b); n++ {
		_, err := ParseV2PrivateKey(encodeArmor(LabelV2Private, b[:n]), staticPassphrase("pw"))
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("%d of %d bytes: %v", n, len(b), err)
		}
	}
}

// A flipped bit in the salt or encrypted blob, or in the key type of an
// encrypted key of the same size... the blob does not authenticate the key
// type, so only the blob and salt are covered here.
func TestV2Tampered(t *testing.T) {
	out, err := MarshalV2PrivateKey(KeyTypeX25519MLKEM1024, v2Secret(t, KeyTypeX25519MLKEM1024), []byte("pw"), WriteOptions{KDF: KDFPBKDF2, Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, out)
	blobLen := nonceSize + 96 + tagSize
	blobStart := len(b) - blobLen
	saltStart := len(magicV2) + 2 + len(KeyTypeX25519MLKEM1024) + 2 + len(KDFPBKDF2) + 2 + 4
	for _, pos := range []int{saltStart, saltStart + 15, blobStart, blobStart + 11, blobStart + 12, blobStart + 60, len(b) - 1} {
		mut := bytes.Clone(b)
		mut[pos] ^= 0x01
		if _, err := ParseV2PrivateKey(encodeArmor(LabelV2Private, mut), staticPassphrase("pw")); !errors.Is(err, ErrIncorrectPassphrase) {
			t.Errorf("flip at %d: %v", pos, err)
		}
	}
}

func TestV2MarshalErrors(t *testing.T) {
	for _, c := range []struct {
		name, keyType string
		secret        []byte
		pw            string
		opts          WriteOptions
		contains      string
	}{
		{"unknown type", "rsa", make([]byte, 32), "", WriteOptions{}, `"rsa"`},
		{"short secret", KeyTypeMLDSA65, make([]byte, 31), "", WriteOptions{}, "31 bytes"},
		{"long secret", KeyTypeX25519MLKEM1024, make([]byte, 97), "", WriteOptions{}, "97 bytes"},
		{"passphrase with KDF none", KeyTypeEd25519, make([]byte, 32), "pw", WriteOptions{KDF: KDFNone}, "KDF none"},
		{"label with newline", KeyTypeEd25519, make([]byte, 32), "", WriteOptions{Label: "A\nB"}, "label"},
	} {
		var pw []byte
		if c.pw != "" {
			pw = []byte(c.pw)
		}
		out, err := MarshalV2PrivateKey(c.keyType, c.secret, pw, c.opts)
		if err == nil {
			t.Errorf("%s: accepted:\n%s", c.name, out)
		} else if !strings.HasPrefix(err.Error(), "keyfile: ") || !strings.Contains(err.Error(), c.contains) {
			t.Errorf("%s: error %q", c.name, err)
		}
	}
	for _, c := range []struct {
		keyType string
		n       int
	}{{"rsa", 32}, {KeyTypeEd25519, 31}, {KeyTypeMLDSA87, 1952}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MarshalV2PublicKey(%q, %d bytes) did not panic", c.keyType, c.n)
				}
			}()
			MarshalV2PublicKey(c.keyType, make([]byte, c.n))
		}()
	}
}
