package pkcs11key

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/miekg/pkcs11"
)

// testConfig returns the configuration of the test token started by
// scripts/services/softhsm.sh, with a fresh key label.
func testConfig(t testing.TB) Config {
	t.Helper()
	env := map[string]string{}
	for _, v := range []string{"C4GH_TEST_PKCS11_MODULE", "C4GH_TEST_PKCS11_TOKEN", "C4GH_TEST_PKCS11_PIN"} {
		env[v] = os.Getenv(v)
		if env[v] != "" {
			continue
		}
		msg := v + " is not set; run scripts/services/softhsm.sh start DIR and export its output"
		if os.Getenv("C4GH_REQUIRE_SERVICES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return Config{
		Module:     env["C4GH_TEST_PKCS11_MODULE"],
		TokenLabel: env["C4GH_TEST_PKCS11_TOKEN"],
		PIN:        env["C4GH_TEST_PKCS11_PIN"],
		KeyLabel:   "test-" + randomHex(t, 8),
		Sessions:   4,
	}
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// cleanupKey closes k and removes its objects from the token when the test
// ends, so the shared token does not fill up.
func cleanupKey(t testing.TB, cfg Config, k *Key) {
	t.Cleanup(func() {
		k.Close()
		if err := Delete(cfg); err != nil {
			t.Errorf("Delete(%q): %v", cfg.KeyLabel, err)
		}
	})
}

func generateKey(t testing.TB, cfg Config) *Key {
	t.Helper()
	k, err := Generate(cfg)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	cleanupKey(t, cfg, k)
	return k
}

// checkAgreement compares k.X25519 with crypto/ecdh on n random peers.
func checkAgreement(t testing.TB, k *Key, n int) {
	t.Helper()
	hsmPub, err := ecdh.X25519().NewPublicKey(k.PublicKey())
	if err != nil {
		t.Fatalf("HSM public key: %v", err)
	}
	for range n {
		peer, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		want, err := peer.ECDH(hsmPub)
		if err != nil {
			t.Fatal(err)
		}
		got, err := k.X25519(peer.PublicKey().Bytes())
		if err != nil {
			t.Fatalf("X25519: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("X25519 = %x, crypto/ecdh = %x", got, want)
		}
	}
}

func TestGenerateAgreesWithECDH(t *testing.T) {
	cfg := testConfig(t)
	k := generateKey(t, cfg)
	if len(k.PublicKey()) != 32 {
		t.Fatalf("public key is %d bytes", len(k.PublicKey()))
	}
	checkAgreement(t, k, 20)

	// A second Open of the same key (sharing the loaded module) sees the
	// same public key.
	k2, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer k2.Close()
	if !bytes.Equal(k2.PublicKey(), k.PublicKey()) {
		t.Errorf("Open public key %x, Generate public key %x", k2.PublicKey(), k.PublicKey())
	}
	checkAgreement(t, k2, 2)

	if _, err := Generate(cfg); !errors.Is(err, ErrKeyExists) {
		t.Errorf("Generate with a used label: err = %v, want ErrKeyExists", err)
	}
}

func TestImportKeyFile(t *testing.T) {
	cfg := testConfig(t)
	// An archive key as it exists today: a passphrase-protected Crypt4GH
	// key file.
	orig, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	file, err := crypt4gh.MarshalIdentity(orig, []byte("file passphrase"), nil)
	if err != nil {
		t.Fatal(err)
	}
	fileKey, err := crypt4gh.ParseIdentity(file, func() ([]byte, error) { return []byte("file passphrase"), nil })
	if err != nil {
		t.Fatal(err)
	}
	secret := fileKey.SecretKey()
	k, err := Import(cfg, secret)
	clear(secret)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	cleanupKey(t, cfg, k)

	if !bytes.Equal(k.PublicKey(), fileKey.PublicKey()) {
		t.Fatalf("imported public key %x, key file public key %x", k.PublicKey(), fileKey.PublicKey())
	}
	checkAgreement(t, k, 5)

	// The imported private key is as protected as a generated one.
	infos, err := List(cfg)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	found := false
	for _, in := range infos {
		if in.Label != cfg.KeyLabel {
			continue
		}
		found = true
		if !in.Sensitive || in.Extractable {
			t.Errorf("imported key: Sensitive=%v Extractable=%v", in.Sensitive, in.Extractable)
		}
		if !bytes.Equal(in.PublicKey, fileKey.PublicKey()) {
			t.Errorf("List public key %x, want %x", in.PublicKey, fileKey.PublicKey())
		}
	}
	if !found {
		t.Errorf("List did not return %q", cfg.KeyLabel)
	}

	if _, err := Import(cfg, make([]byte, 31)); !errors.Is(err, ErrConfig) {
		t.Errorf("Import of a 31-byte secret: err = %v, want ErrConfig", err)
	}
}

func TestPrivateKeyNotExtractable(t *testing.T) {
	cfg := testConfig(t)
	k := generateKey(t, cfg)

	h, err := k.mod.openSession(k.slot, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	defer k.mod.ctx.CloseSession(h)
	priv, err := findPrivateKey(k.mod.ctx, h, k.prof, cfg.KeyLabel)
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := k.mod.ctx.GetAttributeValue(h, priv, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	if err == nil {
		t.Fatalf("reading CKA_VALUE of the private key succeeded (%d bytes)", len(attrs[0].Value))
	}
	if !errors.Is(err, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_SENSITIVE)) {
		t.Errorf("reading CKA_VALUE: err = %v, want CKR_ATTRIBUTE_SENSITIVE", err)
	}

	attrs, err = k.mod.ctx.GetAttributeValue(h, priv, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, nil),
		pkcs11.NewAttribute(pkcs11.CKA_NEVER_EXTRACTABLE, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, true, true} {
		if got := boolAttr(attrs[i]); got != want {
			t.Errorf("attribute %#x = %v, want %v", attrs[i].Type, got, want)
		}
	}
}

// encryptFile returns a Crypt4GH file of plaintext for recipients.
func encryptFile(t testing.TB, plaintext []byte, recipients ...crypt4gh.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := crypt4gh.Encrypt(&buf, recipients...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plaintext); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decryptFile(file []byte, ids ...crypt4gh.Identity) ([]byte, error) {
	r, err := crypt4gh.Decrypt(bytes.NewReader(file), ids...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestCrypt4GHThroughHSM(t *testing.T) {
	cfg := testConfig(t)
	k := generateKey(t, cfg)
	archive, err := crypt4gh.NewKeyAgreementIdentity(k)
	if err != nil {
		t.Fatal(err)
	}
	archivePub, err := crypt4gh.NewX25519Recipient(k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}

	plaintext := make([]byte, 3*crypt4gh.SegmentSize+1234)
	rand.Read(plaintext)
	file := encryptFile(t, plaintext, archivePub)

	got, err := decryptFile(file, archive)
	if err != nil {
		t.Fatalf("decrypting with the HSM identity: %v", err)
	}
	if !bytes.Equal(got, plaintext) {
		t.Fatal("HSM identity decrypted to different plaintext")
	}

	// The archive flow: split header and payload, re-encrypt the header
	// for a reader with the HSM key, and give the reader the new header
	// with the unchanged payload.
	br := bytes.NewReader(file)
	h, err := crypt4gh.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	payload := file[len(file)-br.Len():]
	reader, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	h2, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{archive}, []crypt4gh.Recipient{reader.Recipient()}, &crypt4gh.ReencryptOptions{Trim: true})
	if err != nil {
		t.Fatalf("ReencryptHeader with the HSM identity: %v", err)
	}
	readerFile := append(h2.Marshal(), payload...)
	got, err = decryptFile(readerFile, reader)
	if err != nil {
		t.Fatalf("reader decrypting the re-encrypted file: %v", err)
	}
	if !bytes.Equal(got, plaintext) {
		t.Fatal("re-encrypted file decrypts to different plaintext")
	}
	// Trim dropped the archive's packet: the archive cannot open the
	// reader's copy.
	if _, err := decryptFile(readerFile, archive); !errors.Is(err, crypt4gh.ErrNoMatchingKey) {
		t.Errorf("archive decrypting the reader's file: err = %v, want ErrNoMatchingKey", err)
	}

	// A file for someone else is "not for this key", not a token error.
	other, _ := crypt4gh.GenerateX25519Identity()
	_, err = decryptFile(encryptFile(t, []byte("x"), other.Recipient()), archive)
	var nomatch *crypt4gh.NoIdentityMatchError
	if !errors.As(err, &nomatch) || len(nomatch.Errors) != 0 {
		t.Errorf("decrypting a file for another key: err = %v, want a NoIdentityMatchError with no identity errors", err)
	}
}

func TestConcurrentAgreements(t *testing.T) {
	cfg := testConfig(t)
	cfg.Sessions = 3 // fewer sessions than goroutines, so calls wait for one
	k := generateKey(t, cfg)
	hsmPub, err := ecdh.X25519().NewPublicKey(k.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, calls = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for range goroutines {
		wg.Go(func() {
			for range calls {
				peer, err := ecdh.X25519().GenerateKey(rand.Reader)
				if err != nil {
					errs <- err
					return
				}
				want, _ := peer.ECDH(hsmPub)
				got, err := k.X25519(peer.PublicKey().Bytes())
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, want) {
					errs <- errors.New("agreement differs from crypto/ecdh")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := k.peak.Load(); n > int64(cfg.Sessions) {
		t.Errorf("%d sessions were open at once, pool size %d", n, cfg.Sessions)
	}
	if n := k.open.Load(); n < 1 {
		t.Errorf("%d sessions open after the run, want the pool kept", n)
	}
	k.Close()
	if n := k.open.Load(); n != 0 {
		t.Errorf("%d sessions open after Close", n)
	}
}

func TestWrongPIN(t *testing.T) {
	cfg := testConfig(t)
	k := generateKey(t, cfg)
	wrong := cfg
	wrong.PIN = "wrong-" + randomHex(t, 6)

	check := func(t *testing.T) {
		_, err := Open(wrong)
		if err == nil {
			t.Fatal("Open with a wrong PIN succeeded")
		}
		if !errors.Is(err, ErrPINIncorrect) {
			t.Errorf("err = %v, want ErrPINIncorrect", err)
		}
		for _, pin := range []string{wrong.PIN, cfg.PIN} {
			if strings.Contains(err.Error(), pin) {
				t.Errorf("error %q contains a PIN", err)
			}
		}
		if !strings.Contains(err.Error(), cfg.TokenLabel) {
			t.Errorf("error %q does not name the token", err)
		}
	}
	// While k is open the token is logged in, and only this package's
	// own check catches the wrong PIN.
	t.Run("logged in", check)
	k.Close()
	// With no session open the token checks the PIN itself.
	t.Run("logged out", func(t *testing.T) {
		check(t)
		if _, err := Open(wrong); !strings.Contains(err.Error(), "CKR_PIN_INCORRECT") {
			t.Errorf("error %q does not give the PKCS#11 code", err)
		}
	})
}

func TestNotFound(t *testing.T) {
	cfg := testConfig(t)
	tests := []struct {
		name  string
		edit  func(*Config)
		want  error
		names string
	}{
		{"unknown key label", func(c *Config) { c.KeyLabel = "no-such-key-" + randomHex(t, 4) }, ErrKeyNotFound, "no-such-key-"},
		{"unknown token", func(c *Config) { c.TokenLabel = "no-such-token" }, ErrTokenNotFound, "no-such-token"},
		{"missing module", func(c *Config) { c.Module = "/nonexistent/libpkcs11.so" }, ErrConfig, "/nonexistent/libpkcs11.so"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			tt.edit(&c)
			k, err := Open(c)
			if err == nil {
				k.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.names) {
				t.Errorf("error %q does not name %q", err, tt.names)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	good := Config{Module: "/x.so", TokenLabel: "t", PIN: "p", KeyLabel: "k"}
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no module", func(c *Config) { c.Module = "" }},
		{"no token", func(c *Config) { c.TokenLabel = "" }},
		{"no PIN", func(c *Config) { c.PIN = "" }},
		{"no key label", func(c *Config) { c.KeyLabel = "" }},
		{"unknown profile", func(c *Config) { c.Profile = "softhsm" }},
		{"negative sessions", func(c *Config) { c.Sessions = -1 }},
		{"too many sessions", func(c *Config) { c.Sessions = maxSessions + 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.edit(&c)
			if _, err := Open(c); !errors.Is(err, ErrConfig) {
				t.Errorf("Open: err = %v, want ErrConfig", err)
			}
			if _, err := Generate(c); !errors.Is(err, ErrConfig) {
				t.Errorf("Generate: err = %v, want ErrConfig", err)
			}
		})
	}
}

// lowOrderPoints are u-coordinates whose X25519 product with any clamped
// scalar is zero (points of order 1, 2, 4 or 8 on the curve or its twist),
// including non-canonical encodings, as in libsodium's blocklist.
func lowOrderPoints(t testing.TB) [][]byte {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	dec := func(s string) *big.Int {
		n, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatal(s)
		}
		return n
	}
	order8a := dec("325606250916557431795983626356110631294008115727848805560023387167927233504")
	order8b := dec("39382357235489614581723060781553021112529911719440698176882885853963445705823")
	values := []*big.Int{
		big.NewInt(0),
		big.NewInt(1),
		order8a,
		order8b,
		new(big.Int).Sub(p, big.NewInt(1)),
		p,                                  // 0, not reduced
		new(big.Int).Add(p, big.NewInt(1)), // 1, not reduced
	}
	var out [][]byte
	for _, v := range values {
		be := v.FillBytes(make([]byte, 32))
		le := make([]byte, 32)
		for i := range be {
			le[i] = be[31-i]
		}
		out = append(out, le)
	}
	return out
}

func TestLowOrderPeer(t *testing.T) {
	cfg := testConfig(t)
	k := generateKey(t, cfg)
	for _, peer := range lowOrderPoints(t) {
		out, err := k.X25519(peer)
		if err == nil {
			t.Errorf("X25519(%x) = %x, want an error", peer, out)
			continue
		}
		if !errors.Is(err, ErrLowOrderPoint) {
			t.Errorf("X25519(%x): err = %v, want ErrLowOrderPoint", peer, err)
		}
	}
	for _, n := range []int{0, 31, 33} {
		if _, err := k.X25519(make([]byte, n)); !errors.Is(err, ErrBadPeer) {
			t.Errorf("X25519 of a %d-byte peer: err = %v, want ErrBadPeer", n, err)
		}
	}
	// Through the Crypt4GH identity a packet from a low-order writer key
	// is "not for this key", not a token failure that stops decryption.
	id, err := crypt4gh.NewKeyAgreementIdentity(k)
	if err != nil {
		t.Fatal(err)
	}
	payload := append(lowOrderPoints(t)[2], make([]byte, 12+32+16)...)
	if _, err := id.OpenPacket(crypt4gh.HeaderPacket{Method: 0, Payload: payload}); !errors.Is(err, crypt4gh.ErrIncorrectIdentity) {
		t.Errorf("OpenPacket with a low-order writer key: err = %v, want ErrIncorrectIdentity", err)
	}
	// The key still works after the failures.
	checkAgreement(t, k, 1)
}

func TestIsLowOrder(t *testing.T) {
	for _, p := range lowOrderPoints(t) {
		if !isLowOrder(p) {
			t.Errorf("isLowOrder(%x) = false", p)
		}
	}
	for range 20 {
		k, _ := ecdh.X25519().GenerateKey(rand.Reader)
		if p := k.PublicKey().Bytes(); isLowOrder(p) {
			t.Errorf("isLowOrder(%x) = true for a random public key", p)
		}
	}
}

// TestSessionRecovery breaks the Key's sessions behind its back, as a
// token reset does, and checks the next call recovers by itself.
func TestSessionRecovery(t *testing.T) {
	cfg := testConfig(t)
	k := generateKey(t, cfg)
	checkAgreement(t, k, 1)

	t.Run("session handle invalid", func(t *testing.T) {
		// Close the pooled sessions without the pool knowing.
		for range len(k.idle) {
			s := <-k.idle
			if err := k.mod.ctx.CloseSession(s.h); err != nil {
				t.Fatal(err)
			}
			k.idle <- s
		}
		before := k.retries.Load()
		checkAgreement(t, k, 3)
		if k.retries.Load() == before {
			t.Error("no call was retried: the broken sessions were not used")
		}
	})
	t.Run("all sessions closed and logged out", func(t *testing.T) {
		// C_CloseAllSessions also logs the application out of the token,
		// so recovery has to log in again.
		if err := k.mod.ctx.CloseAllSessions(k.slot); err != nil {
			t.Fatal(err)
		}
		before := k.retries.Load()
		checkAgreement(t, k, 3)
		if k.retries.Load() == before {
			t.Error("no call was retried: the broken sessions were not used")
		}
	})
}

func TestClose(t *testing.T) {
	cfg := testConfig(t)
	k := generateKey(t, cfg)
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	if _, err := k.X25519(peer.PublicKey().Bytes()); !errors.Is(err, ErrClosed) {
		t.Errorf("X25519 after Close: err = %v, want ErrClosed", err)
	}
}

// TestMontgomeryProfile checks the profile selects the key type and
// mechanism: SoftHSM2 2.6 has no CKM_EC_MONTGOMERY_KEY_PAIR_GEN, so the
// PKCS#11 3.0 profile fails there with the token's code, and a key made
// with the Edwards profile is not found under the Montgomery type.
func TestMontgomeryProfile(t *testing.T) {
	cfg := testConfig(t)
	generateKey(t, cfg)

	m := cfg
	m.Profile = ProfilePKCS11v3Montgomery
	if _, err := Open(m); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("Open of an Edwards key with the Montgomery profile: err = %v, want ErrKeyNotFound", err)
	}
	m.KeyLabel = "test-montgomery-" + randomHex(t, 4)
	k, err := Generate(m)
	if err == nil {
		// A SoftHSM2 with EC-Montgomery support: then the key must work.
		cleanupKey(t, m, k)
		checkAgreement(t, k, 3)
		return
	}
	if !errors.Is(err, pkcs11.Error(pkcs11.CKR_MECHANISM_INVALID)) {
		t.Errorf("Generate with the Montgomery profile: err = %v, want CKR_MECHANISM_INVALID", err)
	}
	if !strings.Contains(err.Error(), "C_GenerateKeyPair") {
		t.Errorf("error %q does not name the failing step", err)
	}
}

func TestParseECPoint(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"raw", key, key},
		{"DER octet string", append([]byte{0x04, 0x20}, key...), key},
		{"raw starting like DER", append([]byte{0x04, 0x20}, key[:30]...), append([]byte{0x04, 0x20}, key[:30]...)},
		{"empty", nil, nil},
		{"short", key[:31], nil},
		{"DER wrong length byte", append([]byte{0x04, 0x21}, key...), nil},
		{"DER wrong tag", append([]byte{0x03, 0x20}, key...), nil},
		{"DER long form", append([]byte{0x04, 0x81, 0x20}, key...), nil},
		{"uncompressed EC point", append([]byte{0x04}, make([]byte, 64)...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseECPoint(tt.in)
			if tt.want == nil {
				if !errors.Is(err, ErrBadECPoint) {
					t.Errorf("err = %v, want ErrBadECPoint", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Errorf("= %x, %v; want %x", got, err, tt.want)
			}
		})
	}
}

func FuzzParseECPoint(f *testing.F) {
	key := bytes.Repeat([]byte{7}, 32)
	f.Add(key)
	f.Add(append([]byte{0x04, 0x20}, key...))
	f.Add([]byte{0x04, 0x20})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := ParseECPoint(v)
		if err != nil {
			if !errors.Is(err, ErrBadECPoint) {
				t.Fatalf("error %v does not wrap ErrBadECPoint", err)
			}
			return
		}
		if len(got) != 32 || !bytes.HasSuffix(v, got) {
			t.Fatalf("ParseECPoint(%x) = %x", v, got)
		}
		// The result is a copy: changing it leaves the input alone.
		before := bytes.Clone(v)
		got[0] ^= 1
		if !bytes.Equal(v, before) {
			t.Fatal("ParseECPoint returned an alias of its input")
		}
	})
}

// TestKeyDeleted removes the key from the token under an open Key: the
// next call must fail with a clear error, not with a stale handle's
// result.
func TestKeyDeleted(t *testing.T) {
	cfg := testConfig(t)
	k, err := Generate(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	checkAgreement(t, k, 1)
	if err := Delete(cfg); err != nil {
		t.Fatal(err)
	}
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	_, err = k.X25519(peer.PublicKey().Bytes())
	if !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("X25519 after Delete: err = %v, want ErrKeyNotFound", err)
	}
	if err != nil && !strings.Contains(err.Error(), cfg.KeyLabel) {
		t.Errorf("error %q does not name the key", err)
	}
	if err := Delete(cfg); !errors.Is(err, ErrKeyNotFound) {
		t.Errorf("second Delete: err = %v, want ErrKeyNotFound", err)
	}
}
