package sshkey

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/curve25519"

	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

func staticPassphrase(pw string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(pw), nil }
}

func x25519Public(t *testing.T, secret [32]byte) [32]byte {
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

func isSSH(kind string) bool {
	return kind == testvectors.KindSSHPrivate || kind == testvectors.KindSSHPublic
}

func TestVectorKeys(t *testing.T) {
	m := testvectors.Load(t)
	n := 0
	for _, k := range m.Keys {
		if !isSSH(k.Kind) {
			continue
		}
		n++
		t.Run(k.Name, func(t *testing.T) {
			data := m.ReadFile(t, k.File)
			wantPub := hexKey(t, k.ExpectedX25519PublicHex)
			if k.Kind == testvectors.KindSSHPublic {
				if !IsPublicKey(data) || IsPrivateKey(data) {
					t.Errorf("IsPublicKey=%v IsPrivateKey=%v", IsPublicKey(data), IsPrivateKey(data))
				}
				pub, comment, err := ParsePublicKey(data)
				if err != nil {
					t.Fatal(err)
				}
				if pub != wantPub {
					t.Errorf("public key %x, want %x", pub, wantPub)
				}
				if fields := strings.Fields(string(data)); len(fields) < 3 || comment != fields[2] {
					t.Errorf("comment %q", comment)
				}
				return
			}
			if !IsPrivateKey(data) || IsPublicKey(data) {
				t.Errorf("IsPublicKey=%v IsPrivateKey=%v", IsPublicKey(data), IsPrivateKey(data))
			}
			var pf func() ([]byte, error)
			if k.Passphrase != nil {
				pf = staticPassphrase(*k.Passphrase)
				if _, _, err := ParsePrivateKey(data, nil); !errors.Is(err, ErrPassphraseRequired) {
					t.Errorf("nil passphrase: %v", err)
				}
			}
			secret, comment, err := ParsePrivateKey(data, pf)
			if err != nil {
				t.Fatal(err)
			}
			if want := hexKey(t, k.ExpectedX25519SecretHex); secret != want {
				t.Errorf("secret mismatch")
			}
			if pub := x25519Public(t, secret); pub != wantPub {
				t.Errorf("derived public key %x, want %x", pub, wantPub)
			}
			if k.Comment != nil && comment != *k.Comment {
				t.Errorf("comment %q, want %q", comment, *k.Comment)
			}
			if k.PublicKey != "" {
				pub, _, err := ParsePublicKey(m.ReadFile(t, k.PublicKey))
				if err != nil || pub != wantPub {
					t.Errorf("%s: %x, %v", k.PublicKey, pub, err)
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no ssh keys in the manifest")
	}
}

func TestVectorKeyCases(t *testing.T) {
	m := testvectors.Load(t)
	n := 0
	for _, c := range m.CasesOfKind(testvectors.CaseKey) {
		kind := c.KeyKind
		if k := m.KeyByFile(c.File); k != nil {
			kind = k.Kind
		}
		if !isSSH(kind) {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			data := m.ReadFile(t, c.File)
			var pub [32]byte
			var err error
			if kind == testvectors.KindSSHPublic {
				pub, _, err = ParsePublicKey(data)
			} else {
				var pf func() ([]byte, error)
				if c.Passphrase != nil {
					pf = staticPassphrase(*c.Passphrase)
				}
				var secret [32]byte
				if secret, _, err = ParsePrivateKey(data, pf); err == nil {
					pub = x25519Public(t, secret)
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
				want := map[string]error{
					testvectors.ErrorPassphrase:  ErrIncorrectPassphrase,
					testvectors.ErrorFormat:      ErrMalformed,
					testvectors.ErrorUnsupported: ErrUnsupported,
					testvectors.ErrorTruncated:   ErrTruncated,
				}[c.ErrorClass]
				if want == nil || !errors.Is(err, want) {
					t.Errorf("error %q, want class %q", err, c.ErrorClass)
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
		t.Fatal("no ssh key cases in the manifest")
	}
}

// sshKeygen returns the ssh-keygen path; without it the test is skipped,
// unless CI=true, where it fails.
func sshKeygen(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ssh-keygen is required in CI: %v", err)
		}
		t.Skip("ssh-keygen not found")
	}
	return path
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

var allCiphers = []string{
	"aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc",
	"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com",
}

// genKey makes an Ed25519 key with ssh-keygen and returns the private and
// public key files' contents.
func genKey(t *testing.T, keygen, cipher, pass, comment string) (priv, pub []byte) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "key")
	args := []string{"-q", "-t", "ed25519", "-a", "2", "-N", pass, "-C", comment, "-f", file}
	if cipher != "" {
		args = append(args, "-Z", cipher)
	}
	run(t, keygen, args...)
	priv, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pub, err = os.ReadFile(file + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// Keys made by ssh-keygen with every cipher it offers: the X25519 public key
// derived from the private key equals the one converted from the .pub file
// (and from its RFC 4716 export).
func TestSSHKeygenCiphers(t *testing.T) {
	keygen := sshKeygen(t)
	for _, cipher := range append([]string{"none"}, allCiphers...) {
		t.Run(cipher, func(t *testing.T) {
			pass := "pass phrase"
			if cipher == "none" {
				pass = ""
			}
			priv, pub := genKey(t, keygen, cipher, pass, "user@"+cipher)
			wantName := cipher
			if wantName == "none" {
				wantName = "none\x00\x00\x00\x04none" // cipher and KDF both none
			}
			if !bytes.Contains(findPEM(priv), []byte(wantName)) {
				t.Fatalf("ssh-keygen did not use cipher %s", cipher)
			}
			secret, comment, err := ParsePrivateKey(priv, staticPassphrase(pass))
			if err != nil {
				t.Fatal(err)
			}
			xpub, pubComment, err := ParsePublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			if got := x25519Public(t, secret); got != xpub {
				t.Errorf("public key from private %x, from .pub %x", got, xpub)
			}
			if comment != "user@"+cipher || pubComment != comment {
				t.Errorf("comments %q, %q", comment, pubComment)
			}

			pubFile := filepath.Join(t.TempDir(), "k.pub")
			if err := os.WriteFile(pubFile, pub, 0o600); err != nil {
				t.Fatal(err)
			}
			rfc := run(t, keygen, "-e", "-f", pubFile)
			if xrfc, _, err := ParsePublicKey(rfc); err != nil || xrfc != xpub {
				t.Errorf("RFC 4716 export: %x, %v\n%s", xrfc, err, rfc)
			}

			if pass == "" {
				return
			}
			for _, wrong := range []string{"pass phrasE", "x"} {
				_, _, err := ParsePrivateKey(priv, staticPassphrase(wrong))
				if !errors.Is(err, ErrIncorrectPassphrase) || err.Error() != ErrIncorrectPassphrase.Error() {
					t.Errorf("wrong passphrase %q: %v", wrong, err)
				}
			}
			if _, _, err := ParsePrivateKey(priv, staticPassphrase("")); !errors.Is(err, ErrIncorrectPassphrase) {
				t.Errorf("empty passphrase: %v", err)
			}
			if _, _, err := ParsePrivateKey(priv, nil); !errors.Is(err, ErrPassphraseRequired) {
				t.Errorf("nil passphrase: %v", err)
			}
			sentinel := errors.New("no tty")
			if _, _, err := ParsePrivateKey(priv, func() ([]byte, error) { return nil, sentinel }); !errors.Is(err, sentinel) {
				t.Errorf("failing passphrase func: %v", err)
			}
		})
	}
}

// Flipping a bit of the encrypted private section is caught: by the tag for
// AEAD ciphers, by the check integers when it hits the first block.
func TestSSHKeygenTampered(t *testing.T) {
	keygen := sshKeygen(t)
	for _, cipher := range []string{"aes256-ctr", "aes256-cbc", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"} {
		priv, _ := genKey(t, keygen, cipher, "pw", "")
		body := findPEM(priv)
		ciph := ciphers[cipher]
		sectionEnd := len(body) - ciph.tagLen
		positions := []int{sectionEnd - 1} // last ciphertext byte (padding)
		if ciph.tagLen > 0 {
			positions = append(positions, len(body)-1) // tag
		}
		// The private section string ends at sectionEnd; its first block holds the check integers.
		first := sectionEnd - lenOfSection(body)
		positions = append(positions, first, first+7)
		for _, pos := range positions {
			mut := bytes.Clone(body)
			mut[pos] ^= 0x01
			_, _, err := ParsePrivateKey(armor(mut), staticPassphrase("pw"))
			if ciph.tagLen == 0 && pos == sectionEnd-1 {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrIncorrectPassphrase) {
					t.Errorf("%s, flip at %d: %v", cipher, pos, err)
				}
				continue
			}
			if !errors.Is(err, ErrIncorrectPassphrase) {
				t.Errorf("%s, flip at %d: %v, want ErrIncorrectPassphrase", cipher, pos, err)
			}
		}
	}
}

// lenOfSection returns the length of the private section string of an
// openssh-key-v1 body.
func lenOfSection(body []byte) int {
	r := &reader{buf: body[len(privateMagic):]}
	r.str("")
	r.str("")
	r.str("")
	r.uint32("")
	r.str("")
	return len(r.str(""))
}

func TestOtherKeyTypesUnsupported(t *testing.T) {
	keygen := sshKeygen(t)
	for _, typ := range [][]string{{"ecdsa", "-b", "256"}, {"rsa", "-b", "1024"}} {
		file := filepath.Join(t.TempDir(), "key")
		run(t, keygen, append(append([]string{"-q", "-t"}, typ...), "-N", "", "-f", file)...)
		priv, _ := os.ReadFile(file)
		pub, _ := os.ReadFile(file + ".pub")
		if !IsPrivateKey(priv) || !IsPublicKey(pub) {
			t.Errorf("%s: not detected", typ[0])
		}
		_, _, err1 := ParsePrivateKey(priv, nil)
		_, _, err2 := ParsePublicKey(pub)
		for _, err := range []error{err1, err2} {
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "only ssh-ed25519") ||
				!strings.Contains(err.Error(), typ[0]) {
				t.Errorf("%s: %v", typ[0], err)
			}
		}
	}
}

// The conversion agrees with X25519 scalar multiplication for random keys:
// Montgomery(Ed25519 public) == X25519(clamp(SHA-512(seed)[:32]), base).
func TestConversionConsistency(t *testing.T) {
	for i := 0; i < 64; i++ {
		seed := sha512.Sum512([]byte{byte(i)})
		priv := ed25519.NewKeyFromSeed(seed[:32])
		u, err := edwardsToMontgomery(priv[32:])
		if err != nil {
			t.Fatal(err)
		}
		h := sha512.Sum512(seed[:32])
		h[0] &= 248
		h[31] &= 127
		h[31] |= 64
		if want := x25519Public(t, [32]byte(h[:32])); u != want {
			t.Fatalf("seed %d: converted %x, want %x", i, u, want)
		}
	}
}

// leBytes encodes y (< 2^255) little-endian with the given sign bit.
func leBytes(y *big.Int, sign byte) []byte {
	var be [32]byte
	y.FillBytes(be[:])
	out := make([]byte, 32)
	for i := range out {
		out[i] = be[31-i]
	}
	out[31] |= sign << 7
	return out
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConversionRejects(t *testing.T) {
	pMinus1 := new(big.Int).Sub(fieldP, bigOne)
	// A valid key, and its sum with the order-2 point (0, -1), which is (-x, -y).
	valid := ed25519.NewKeyFromSeed(make([]byte, 32))[32:]
	x, y, err := decodeEdwards(valid)
	if err != nil {
		t.Fatal(err)
	}
	negY := new(big.Int).Sub(fieldP, y)
	mixed := leBytes(negY, byte(1-x.Bit(0)))

	var notOnCurve []byte
	for i := int64(2); ; i++ {
		enc := leBytes(big.NewInt(i), 0)
		if _, _, err := decodeEdwards(enc); err != nil {
			notOnCurve = enc
			break
		}
	}
	for name, enc := range map[string][]byte{
		"identity":              leBytes(bigOne, 0),
		"identity, sign set":    leBytes(bigOne, 1),
		"order 2 (y = -1)":      leBytes(pMinus1, 0),
		"order 4 (y = 0)":       leBytes(new(big.Int), 0),
		"order 4, other sign":   leBytes(new(big.Int), 1),
		"order 8":               mustHex(t, "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
		"order 8, other":        mustHex(t, "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
		"mixed order":           mixed,
		"y = p (non-canonical)": leBytes(fieldP, 0),
		"y = 2^255-1":           bytes.Repeat([]byte{0xff}, 32),
		"not on the curve":      notOnCurve,
	} {
		if u, err := edwardsToMontgomery(enc); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: accepted (u = %x), err %v", name, u, err)
		}
	}
}

// armor wraps an openssh-key-v1 body as ssh-keygen does.
func armor(body []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: body})
}

func putStr(b []byte, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// keyParts are the fields of an unencrypted openssh-key-v1 file.
type keyParts struct {
	cipher, kdf    string
	kdfOptions     []byte
	nkeys          uint32
	pubType        string
	pub            []byte
	check1, check2 uint32
	privType       string
	privPub, priv  []byte
	comment        string
	blockSize      int    // padding block size; 0 means 8
	badPadding     bool   // corrupt the last padding byte
	noPadding      bool   // leave the section unaligned
	sectionTrail   []byte // appended after the private section string
}

func defaultParts() keyParts {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	return keyParts{cipher: "none", kdf: "none", nkeys: 1, pubType: keyTypeEd, pub: priv[32:],
		check1: 7, check2: 7, privType: keyTypeEd, privPub: priv[32:], priv: priv, comment: "me"}
}

func (k keyParts) body() []byte {
	b := []byte(privateMagic)
	b = putStr(b, []byte(k.cipher))
	b = putStr(b, []byte(k.kdf))
	b = putStr(b, k.kdfOptions)
	b = binary.BigEndian.AppendUint32(b, k.nkeys)
	b = putStr(b, putStr(putStr(nil, []byte(k.pubType)), k.pub))
	var s []byte
	s = binary.BigEndian.AppendUint32(s, k.check1)
	s = binary.BigEndian.AppendUint32(s, k.check2)
	s = putStr(s, []byte(k.privType))
	s = putStr(s, k.privPub)
	s = putStr(s, k.priv)
	s = putStr(s, []byte(k.comment))
	bs := k.blockSize
	if bs == 0 {
		bs = 8
	}
	for i := byte(1); !k.noPadding && len(s)%bs != 0; i++ {
		s = append(s, i)
	}
	if k.badPadding {
		s[len(s)-1] ^= 0xff
	}
	b = putStr(b, s)
	return append(b, k.sectionTrail...)
}

func TestMalformedPrivate(t *testing.T) {
	good := defaultParts()
	if _, c, err := ParsePrivateKey(armor(good.body()), nil); err != nil || c != "me" {
		t.Fatalf("the base key does not parse: %v", err)
	}
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{4}, 32))
	bcryptOpts := func(salt string, rounds uint32) []byte {
		return binary.BigEndian.AppendUint32(putStr(nil, []byte(salt)), rounds)
	}
	type mod func(*keyParts)
	for _, c := range []struct {
		name     string
		mod      mod
		class    error
		contains string
	}{
		{"two keys", func(k *keyParts) { k.nkeys = 2 }, ErrMalformed, "2 keys"},
		{"rsa", func(k *keyParts) { k.pubType = "ssh-rsa" }, ErrUnsupported, `"ssh-rsa" (only ssh-ed25519`},
		{"unknown cipher", func(k *keyParts) { k.cipher = "twofish-cbc" }, ErrUnsupported, `unsupported cipher "twofish-cbc"`},
		{"unknown KDF", func(k *keyParts) { k.kdf, k.cipher, k.blockSize = "argon2", "aes256-ctr", 16 }, ErrUnsupported, `unsupported KDF "argon2"`},
		{"bcrypt rounds over the limit", func(k *keyParts) {
			k.kdf, k.cipher, k.kdfOptions = kdfBcrypt, "aes256-ctr", bcryptOpts("salt", MaxBcryptRounds+1)
			k.blockSize = 16
		}, ErrUnsupported, "limit"},
		{"bcrypt zero rounds", func(k *keyParts) {
			k.kdf, k.cipher, k.kdfOptions = kdfBcrypt, "aes256-ctr", bcryptOpts("salt", 0)
			k.blockSize = 16
		}, ErrMalformed, "at least 1"},
		{"bcrypt empty salt", func(k *keyParts) {
			k.kdf, k.cipher, k.kdfOptions = kdfBcrypt, "aes256-ctr", bcryptOpts("", 16)
			k.blockSize = 16
		}, ErrMalformed, "salt"},
		{"bcrypt options trailing data", func(k *keyParts) {
			k.kdf, k.cipher, k.kdfOptions = kdfBcrypt, "aes256-ctr", append(bcryptOpts("salt", 16), 0)
			k.blockSize = 16
		}, ErrMalformed, "trailing"},
		{"bcrypt options truncated", func(k *keyParts) {
			k.kdf, k.cipher, k.kdfOptions = kdfBcrypt, "aes256-ctr", bcryptOpts("salt", 16)[:9]
			k.blockSize = 16
		}, ErrTruncated, "rounds"},
		{"bcrypt with cipher none", func(k *keyParts) { k.kdf, k.kdfOptions = kdfBcrypt, bcryptOpts("salt", 16) }, ErrMalformed, "cipher none"},
		{"KDF none with a cipher", func(k *keyParts) { k.cipher, k.blockSize = "aes256-ctr", 16 }, ErrMalformed, "KDF none"},
		{"KDF none with options", func(k *keyParts) { k.kdfOptions = []byte{0} }, ErrMalformed, "options"},
		{"check integers differ", func(k *keyParts) { k.check2 = 8 }, ErrMalformed, "check integers"},
		{"private key type differs", func(k *keyParts) { k.privType = "ssh-ed448" }, ErrMalformed, "differs"},
		{"public key differs", func(k *keyParts) { k.pub = other[32:] }, ErrMalformed, "differs"},
		{"private section public key differs", func(k *keyParts) { k.privPub = other[32:] }, ErrMalformed, "differs"},
		{"seed does not match", func(k *keyParts) { k.priv = append(bytes.Clone(other[:32]), k.pub...) }, ErrMalformed, "seed"},
		{"short public key", func(k *keyParts) { k.pub = k.pub[:31] }, ErrMalformed, "31 bytes"},
		{"short private key", func(k *keyParts) { k.priv = k.priv[:63] }, ErrMalformed, "63 bytes"},
		{"bad padding", func(k *keyParts) { k.badPadding = true }, ErrMalformed, "padding"},
		{"section not a block multiple", func(k *keyParts) { k.noPadding = true }, ErrMalformed, "block size"},
		{"trailing data", func(k *keyParts) { k.sectionTrail = []byte{0} }, ErrMalformed, "after the private section"},
	} {
		k := defaultParts()
		c.mod(&k)
		_, _, err := ParsePrivateKey(armor(k.body()), staticPassphrase("pw"))
		switch {
		case err == nil:
			t.Errorf("%s: accepted", c.name)
		case !errors.Is(err, c.class):
			t.Errorf("%s: error %q is not %q", c.name, err, c.class)
		case !strings.Contains(err.Error(), c.contains):
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.contains)
		case !strings.HasPrefix(err.Error(), "sshkey: "):
			t.Errorf("%s: error %q lacks the package prefix", c.name, err)
		}
	}

	for name, data := range map[string][]byte{
		"empty":           nil,
		"garbage":         []byte("this is not a key"),
		"other PEM type":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}),
		"wrong magic":     armor([]byte("openssh-key-v2\x00....")),
		"public key file": []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG90OzQG1hqKop9bWgH7bQjoGRUEmPA3naiD09hJUtAW x"),
	} {
		if _, _, err := ParsePrivateKey(data, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
		if IsPrivateKey(data) {
			t.Errorf("%s: IsPrivateKey", name)
		}
	}

	// Every strict prefix of a valid body is truncated.
	body := good.body()
	for n := len(privateMagic); n < len(body); n++ {
		if _, _, err := ParsePrivateKey(armor(body[:n]), nil); !errors.Is(err, ErrTruncated) {
			t.Errorf("%d of %d bytes: %v", n, len(body), err)
		}
	}
}

// Surrounding text and CRLF line endings around the PEM block are accepted.
func TestPrivateKeyArmourVariants(t *testing.T) {
	data := armor(defaultParts().body())
	crlf := bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
	for name, d := range map[string][]byte{
		"CRLF":     crlf,
		"embedded": append(append([]byte("key follows\r\n\r\n"), crlf...), "trailing text\n"...),
	} {
		if _, c, err := ParsePrivateKey(d, nil); err != nil || c != "me" || !IsPrivateKey(d) {
			t.Errorf("%s: %q, %v", name, c, err)
		}
	}
}

func TestPublicKeyForms(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32))
	blob := putStr(putStr(nil, []byte(keyTypeEd)), priv[32:])
	b64 := base64.StdEncoding.EncodeToString(blob)
	want, err := edwardsToMontgomery(priv[32:])
	if err != nil {
		t.Fatal(err)
	}
	wrapped := b64[:20] + "\n" + b64[20:]
	for _, c := range []struct {
		name, data, comment string
	}{
		{"plain", "ssh-ed25519 " + b64 + " a comment  with spaces\n", "a comment  with spaces"},
		{"no comment", "ssh-ed25519 " + b64, ""},
		{"CRLF and blank lines", "\r\n# a comment line\r\n\tssh-ed25519 " + b64 + " me@host\r\n\r\n", "me@host"},
		{"RFC 4716", "---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"256-bit ED25519, converted\"\n" + wrapped + "\n---- END SSH2 PUBLIC KEY ----\n", "256-bit ED25519, converted"},
		{"RFC 4716 continued header, CRLF", "text\r\n---- BEGIN SSH2 PUBLIC KEY ----\r\nSubject: me\r\ncomment: long \\\r\nvalue\r\n" + wrapped + "\r\n---- END SSH2 PUBLIC KEY ----\r\n", "long value"},
	} {
		got, comment, err := ParsePublicKey([]byte(c.data))
		if err != nil || got != want || comment != c.comment {
			t.Errorf("%s: %x %q %v", c.name, got, comment, err)
		}
		if !IsPublicKey([]byte(c.data)) || IsPrivateKey([]byte(c.data)) {
			t.Errorf("%s: detection failed", c.name)
		}
	}

	blobWith := func(typ string, key []byte, extra ...byte) string {
		return base64.StdEncoding.EncodeToString(append(putStr(putStr(nil, []byte(typ)), key), extra...))
	}
	for _, c := range []struct {
		name, data string
		class      error
	}{
		{"empty", "", ErrMalformed},
		{"type only", "ssh-ed25519", ErrMalformed},
		{"not a key type", "hello " + b64, ErrMalformed},
		{"options prefix", `from="1.2.3.4" ssh-ed25519 ` + b64, ErrMalformed},
		{"bad base64", "ssh-ed25519 AAAA*AAA", ErrMalformed},
		{"two keys", "ssh-ed25519 " + b64 + "\nssh-ed25519 " + b64, ErrMalformed},
		{"type mismatch", "ssh-ed25519 " + blobWith("ssh-rsa", priv[32:]), ErrMalformed},
		{"rsa", "ssh-rsa " + blobWith("ssh-rsa", []byte{1, 0, 1}), ErrUnsupported},
		{"short key", "ssh-ed25519 " + blobWith(keyTypeEd, priv[32:63]), ErrMalformed},
		{"trailing data", "ssh-ed25519 " + blobWith(keyTypeEd, priv[32:], 0), ErrMalformed},
		{"truncated blob", "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob[:20]), ErrTruncated},
		{"identity point", "ssh-ed25519 " + blobWith(keyTypeEd, leBytes(bigOne, 0)), ErrMalformed},
		{"RFC 4716 without END", "---- BEGIN SSH2 PUBLIC KEY ----\n" + b64 + "\n", ErrMalformed},
		{"RFC 4716 bad base64", "---- BEGIN SSH2 PUBLIC KEY ----\n*\n---- END SSH2 PUBLIC KEY ----\n", ErrMalformed},
	} {
		_, _, err := ParsePublicKey([]byte(c.data))
		if !errors.Is(err, c.class) || !strings.HasPrefix(err.Error(), "sshkey: ") {
			t.Errorf("%s: %v, want %v", c.name, err, c.class)
		}
	}
}
