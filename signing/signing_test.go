package signing_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/mldsa"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/signing"
)

// The table of doc/crypt4gh-v2.md, section 7.
var algs = []struct {
	name             string
	alg              uint32
	keyType          string
	pubSize, sigSize int
}{
	{"ed25519", crypt4gh.SigEd25519, "ed25519", 32, 64},
	{"mldsa65", crypt4gh.SigMLDSA65, "mldsa65", 1952, 3309},
	{"mldsa87", crypt4gh.SigMLDSA87, "mldsa87", 2592, 4627},
}

func generate(t testing.TB, alg uint32) crypt4gh.Signer {
	t.Helper()
	s, err := signing.GenerateSigner(alg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifierOf(t testing.TB, s crypt4gh.Signer) crypt4gh.Verifier {
	t.Helper()
	v, err := signing.NewVerifier(s.SignatureAlgorithm(), s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSignVerify(t *testing.T) {
	for _, a := range algs {
		t.Run(a.name, func(t *testing.T) {
			s, other := generate(t, a.alg), generate(t, a.alg)
			v := verifierOf(t, s)
			if s.SignatureAlgorithm() != a.alg || v.SignatureAlgorithm() != a.alg {
				t.Errorf("algorithms %d, %d", s.SignatureAlgorithm(), v.SignatureAlgorithm())
			}
			if len(s.PublicKey()) != a.pubSize || !bytes.Equal(v.PublicKey(), s.PublicKey()) {
				t.Errorf("public key %d bytes, want %d", len(s.PublicKey()), a.pubSize)
			}
			msg := []byte("crypt4gh-v2 signature\x00 message")
			sig, err := s.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) != a.sigSize {
				t.Errorf("signature %d bytes, want %d", len(sig), a.sigSize)
			}
			if !v.Verify(msg, sig) {
				t.Fatal("valid signature rejected")
			}
			if v.Verify(append(bytes.Clone(msg), 0), sig) || v.Verify(msg[:len(msg)-1], sig) || v.Verify(nil, sig) {
				t.Error("signature verifies for another message")
			}
			if verifierOf(t, other).Verify(msg, sig) {
				t.Error("signature verifies under another key")
			}
			if v.Verify(msg, sig[:len(sig)-1]) || v.Verify(msg, append(bytes.Clone(sig), 0)) || v.Verify(msg, nil) {
				t.Error("signature of the wrong length verifies")
			}
			for _, pos := range []int{0, 1, len(sig) / 3, len(sig) / 2, len(sig) - 2, len(sig) - 1} {
				for bit := range 8 {
					mut := bytes.Clone(sig)
					mut[pos] ^= 1 << bit
					if v.Verify(msg, mut) {
						t.Errorf("signature with bit %d of byte %d flipped verifies", bit, pos)
					}
				}
			}
			// KeyID follows the spec formula for every algorithm.
			want := sha256.Sum256(append(binary.LittleEndian.AppendUint32(nil, a.alg), s.PublicKey()...))
			if crypt4gh.KeyID(a.alg, v.PublicKey()) != want {
				t.Error("KeyID differs from SHA-256(le32(alg) || pk)")
			}
		})
	}
}

// ML-DSA signatures are pure ML-DSA with the empty context: the library
// verifies them with no options and rejects them under another context, and
// a signature of one parameter set does not verify under the other.
func TestMLDSAPureEmptyContext(t *testing.T) {
	for _, a := range algs[1:] {
		s := generate(t, a.alg).(*signing.MLDSASigner)
		msg := []byte("m")
		sig, err := s.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		p := mldsa.MLDSA65()
		if a.alg == crypt4gh.SigMLDSA87 {
			p = mldsa.MLDSA87()
		}
		pk, err := mldsa.NewPublicKey(p, s.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		if err := mldsa.Verify(pk, msg, sig, nil); err != nil {
			t.Errorf("%s: not a pure empty-context signature: %v", a.name, err)
		}
		if err := mldsa.Verify(pk, msg, sig, &mldsa.Options{Context: "crypt4gh"}); err == nil {
			t.Errorf("%s: verifies under a non-empty context", a.name)
		}
		// The key is determined by the seed, as FIPS 204 KeyGen_internal(ξ).
		sk, err := mldsa.NewPrivateKey(p, s.Seed())
		if err != nil || !bytes.Equal(sk.PublicKey().Bytes(), s.PublicKey()) {
			t.Errorf("%s: seed does not give the public key: %v", a.name, err)
		}
		s2, err := signing.NewMLDSASigner(a.alg, s.Seed())
		if err != nil || !bytes.Equal(s2.PublicKey(), s.PublicKey()) {
			t.Errorf("%s: NewMLDSASigner(Seed()): %v", a.name, err)
		}
		s.Zero()
		if _, err := s.Sign(msg); err == nil {
			t.Errorf("%s: a zeroed signer signed", a.name)
		}
	}
	s65, s87 := generate(t, crypt4gh.SigMLDSA65), generate(t, crypt4gh.SigMLDSA87)
	sig, _ := s65.Sign([]byte("m"))
	if _, err := signing.NewVerifier(crypt4gh.SigMLDSA87, s65.PublicKey()); err == nil {
		t.Error("an ML-DSA-65 public key was accepted as ML-DSA-87")
	}
	if verifierOf(t, s87).Verify([]byte("m"), sig) {
		t.Error("an ML-DSA-65 signature verifies under ML-DSA-87")
	}
}

func TestConstructorErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
	}{
		{"unknown algorithm", func() error { _, err := signing.GenerateSigner(4); return err }()},
		{"algorithm 0", func() error { _, err := signing.GenerateSigner(0); return err }()},
		{"ML-DSA seed 31 bytes", func() error { _, err := signing.NewMLDSASigner(crypt4gh.SigMLDSA65, make([]byte, 31)); return err }()},
		{"ML-DSA seed 64 bytes", func() error { _, err := signing.NewMLDSASigner(crypt4gh.SigMLDSA87, make([]byte, 64)); return err }()},
		{"Ed25519 alg for ML-DSA signer", func() error { _, err := signing.NewMLDSASigner(crypt4gh.SigEd25519, make([]byte, 32)); return err }()},
		{"ML-DSA-65 public 1951 bytes", func() error { _, err := signing.NewVerifier(crypt4gh.SigMLDSA65, make([]byte, 1951)); return err }()},
		{"ML-DSA-87 public 2593 bytes", func() error { _, err := signing.NewVerifier(crypt4gh.SigMLDSA87, make([]byte, 2593)); return err }()},
		{"Ed25519 public 33 bytes", func() error { _, err := signing.NewVerifier(crypt4gh.SigEd25519, make([]byte, 33)); return err }()},
		{"unknown verifier algorithm", func() error { _, err := signing.NewVerifier(9, make([]byte, 32)); return err }()},
	} {
		if c.err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

func static(pw string) crypt4gh.PassphraseFunc {
	return func() ([]byte, error) { return []byte(pw), nil }
}

func TestKeyFiles(t *testing.T) {
	type kdfCase struct {
		kdf    string
		pw     string
		rounds uint32
	}
	none, scrypt := kdfCase{"none", "", 0}, kdfCase{"scrypt", "pass", 0}
	extra := map[uint32][]kdfCase{
		crypt4gh.SigMLDSA65: {{"bcrypt", "pass", 2}},
		crypt4gh.SigMLDSA87: {{"pbkdf2_hmac_sha256", "pass", 1000}},
	}
	for _, a := range algs {
		s := generate(t, a.alg)
		for _, c := range append([]kdfCase{none, scrypt}, extra[a.alg]...) {
			t.Run(a.name+"/"+c.kdf, func(t *testing.T) {
				out, err := signing.MarshalSigner(s, []byte(c.pw), &crypt4gh.KeyFileOptions{KDF: c.kdf, Rounds: c.rounds, Comment: "c " + a.name})
				if err != nil {
					t.Fatal(err)
				}
				var pf crypt4gh.PassphraseFunc
				if c.pw != "" {
					pf = static(c.pw)
				}
				got, err := signing.ParseSigner(out, pf)
				if err != nil {
					t.Fatal(err)
				}
				if got.SignatureAlgorithm() != a.alg || !bytes.Equal(got.PublicKey(), s.PublicKey()) {
					t.Fatalf("parsed %T alg %d, key differs", got, got.SignatureAlgorithm())
				}
				switch g := got.(type) {
				case *signing.MLDSASigner:
					if g.Comment != "c "+a.name {
						t.Errorf("comment %q", g.Comment)
					}
				case *crypt4gh.Ed25519Signer:
					if g.Comment != "c "+a.name {
						t.Errorf("comment %q", g.Comment)
					}
				default:
					t.Errorf("ParseSigner returned %T", got)
				}
				if c.pw == "" {
					return
				}
				if _, err := signing.ParseSigner(out, static("wrong")); !errors.Is(err, crypt4gh.ErrIncorrectPassphrase) {
					t.Errorf("wrong passphrase: %v", err)
				}
				if _, err := signing.ParseSigner(out, nil); !errors.Is(err, crypt4gh.ErrPassphraseRequired) {
					t.Errorf("nil passphrase: %v", err)
				}
				sentinel := errors.New("no terminal")
				if _, err := signing.ParseSigner(out, func() ([]byte, error) { return nil, sentinel }); err != sentinel {
					t.Errorf("failing passphrase source: %v", err)
				}
			})
		}
		t.Run(a.name+"/public", func(t *testing.T) {
			out, err := signing.MarshalVerifier(verifierOf(t, s))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(out, []byte("BEGIN CRYPT4GH V2 PUBLIC KEY")) {
				t.Fatalf("unexpected file %q", out[:40])
			}
			v, err := signing.ParseVerifier(out)
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := s.Sign([]byte("msg"))
			if v.SignatureAlgorithm() != a.alg || !v.Verify([]byte("msg"), sig) {
				t.Error("parsed verifier rejects the signer's signature")
			}
			// Size errors name the type.
			if _, err := signing.MarshalVerifier(badVerifier{alg: a.alg, pub: make([]byte, a.pubSize+1)}); err == nil || !strings.Contains(err.Error(), a.keyType) {
				t.Errorf("wrong-size public key: %v", err)
			}
		})
	}
}

type badVerifier struct {
	alg uint32
	pub []byte
}

func (b badVerifier) SignatureAlgorithm() uint32 { return b.alg }
func (b badVerifier) PublicKey() []byte          { return b.pub }
func (b badVerifier) Verify(_, _ []byte) bool    { return false }

type otherSigner struct{ badVerifier }

func (otherSigner) Sign([]byte) ([]byte, error) { return nil, nil }

func TestKeyFileErrors(t *testing.T) {
	hid, _ := crypt4gh.GenerateHybridIdentity()
	hybridPriv, _ := crypt4gh.MarshalHybridIdentity(hid, nil, nil)
	hybridPub := crypt4gh.MarshalHybridRecipient(hid.Recipient())
	x, _ := crypt4gh.GenerateX25519Identity()
	x25519Priv, _ := crypt4gh.MarshalIdentity(x, nil, nil)
	s65 := generate(t, crypt4gh.SigMLDSA65)
	priv65, _ := signing.MarshalSigner(s65, nil, nil)
	pub65, _ := signing.MarshalVerifier(verifierOf(t, s65))
	for _, c := range []struct {
		name     string
		err      error
		contains string
	}{
		{"hybrid key as signer", func() error { _, err := signing.ParseSigner(hybridPriv, nil); return err }(), `"x25519-mlkem1024"`},
		{"hybrid public as verifier", func() error { _, err := signing.ParseVerifier(hybridPub); return err }(), `"x25519-mlkem1024"`},
		{"v1 key as signer", func() error { _, err := signing.ParseSigner(x25519Priv, nil); return err }(), "c4gh-v1"},
		{"public as signer", func() error { _, err := signing.ParseSigner(pub65, nil); return err }(), "public key"},
		{"private as verifier", func() error { _, err := signing.ParseVerifier(priv65); return err }(), "private key"},
		{"ML-DSA key with trailing data", func() error { _, err := signing.ParseSigner(appendToBody(t, priv65, 0, 0, 7), nil); return err }(), "trailing"},
		{"ML-DSA public key with trailing data", func() error { _, err := signing.ParseVerifier(appendToBody(t, pub65, 0)); return err }(), "trailing"},
		{"garbage", func() error { _, err := signing.ParseVerifier([]byte("hello")); return err }(), ""},
	} {
		switch {
		case c.err == nil:
			t.Errorf("%s: accepted", c.name)
		case !errors.Is(c.err, crypt4gh.ErrMalformedKey):
			t.Errorf("%s: %v is not ErrMalformedKey", c.name, c.err)
		case !strings.Contains(c.err.Error(), c.contains):
			t.Errorf("%s: error %q does not mention %s", c.name, c.err, c.contains)
		}
	}
	if _, err := signing.MarshalSigner(otherSigner{}, nil, nil); err == nil {
		t.Error("MarshalSigner accepted a foreign signer")
	}
	if _, err := signing.MarshalVerifier(badVerifier{alg: 7, pub: make([]byte, 32)}); err == nil {
		t.Error("MarshalVerifier accepted algorithm 7")
	}
}

// OpenSSH Ed25519 keys go through ParseSigner and ParseVerifier too.
func TestOpenSSH(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("ssh-keygen not found")
	}
	file := filepath.Join(t.TempDir(), "id")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", file).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	priv, _ := os.ReadFile(file)
	pub, _ := os.ReadFile(file + ".pub")
	s, err := signing.ParseSigner(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.ParseVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.Sign([]byte("m"))
	if err != nil || !v.Verify([]byte("m"), sig) || s.SignatureAlgorithm() != crypt4gh.SigEd25519 {
		t.Fatalf("OpenSSH signer/verifier mismatch: %v", err)
	}
	// Written as a v2 key file it is the same key.
	out, err := signing.MarshalSigner(s, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := signing.ParseSigner(out, nil)
	if err != nil || !bytes.Equal(s2.PublicKey(), v.PublicKey()) {
		t.Fatalf("%v", err)
	}
}

func BenchmarkSign(b *testing.B) {
	msg := bytes.Repeat([]byte{1}, 94) // the size of a v2 signature message: 22 + 4 + 32 + 4 + 32
	for _, a := range algs[1:] {
		b.Run(a.name, func(b *testing.B) {
			s := generate(b, a.alg)
			for b.Loop() {
				if _, err := s.Sign(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	msg := bytes.Repeat([]byte{1}, 94)
	for _, a := range algs[1:] {
		b.Run(a.name, func(b *testing.B) {
			s := generate(b, a.alg)
			v := verifierOf(b, s)
			sig, err := s.Sign(msg)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if !v.Verify(msg, sig) {
					b.Fatal("verify failed")
				}
			}
		})
	}
}

// appendToBody appends bytes to the decoded body of an armoured key file.
func appendToBody(t *testing.T, armored []byte, extra ...byte) []byte {
	t.Helper()
	lines := strings.Split(string(armored), "\n")
	body, err := base64.StdEncoding.DecodeString(lines[1])
	if err != nil {
		t.Fatal(err)
	}
	lines[1] = base64.StdEncoding.EncodeToString(append(body, extra...))
	return []byte(strings.Join(lines, "\n"))
}
