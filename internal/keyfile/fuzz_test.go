package keyfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// errFuzzPassphrase is returned by the fuzzers' PassphraseFunc so that no KDF
// ever runs while fuzzing.
var errFuzzPassphrase = errors.New("fuzz: no passphrase")

func refusePassphrase() ([]byte, error) { return nil, errFuzzPassphrase }

// addSeeds adds every file of the shared vectors' keys directory plus a few
// generated variants to the corpus.
func addSeeds(f *testing.F) {
	for _, data := range testvectors.Files(f, "keys/*") {
		f.Add(data)
	}
	secret := testSecret(1)
	plain, err := MarshalPrivateKey(secret, nil, WriteOptions{Comment: "seed", Label: "ENCRYPTED PRIVATE KEY"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(plain)
	f.Add(toCRLF(plain))
	f.Add(wrapBody(plain, 8))
	f.Add(encodeArmor(LabelPrivate, secret[:]))
	f.Add(encodeArmor(LabelPrivate, build(KDFBcrypt, rounds(1<<30, "salt"), CipherChaCha20Poly1305, make([]byte, 60), nil)))
}

// checkError verifies an error's prefix and that it belongs to exactly one class.
func checkError(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "keyfile: ") {
		t.Fatalf("error %q lacks the package prefix", err)
	}
	n := 0
	for _, class := range []error{ErrMalformed, ErrUnsupported, ErrIncorrectPassphrase, ErrPassphraseRequired, errFuzzPassphrase} {
		if errors.Is(err, class) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %q matches %d classes", err, n)
	}
}

func FuzzParsePrivateKey(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		isPriv := IsPrivateKey(data)
		key, err := ParsePrivateKey(data, refusePassphrase)
		if err != nil {
			checkError(t, err)
			return
		}
		if !isPriv || IsPublicKey(data) {
			t.Fatalf("parsed, but IsPrivateKey=%v IsPublicKey=%v", isPriv, IsPublicKey(data))
		}
		if key.Encrypted {
			t.Fatal("an encrypted key opened without a passphrase")
		}
		label := key.Label
		if strings.ContainsAny(label, "\r\n") {
			label = "" // MarshalPrivateKey refuses line breaks in labels
		}
		out, err := MarshalPrivateKey(key.Secret, nil, WriteOptions{Comment: key.Comment, Label: label})
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParsePrivateKey(out, refusePassphrase)
		if err != nil {
			t.Fatalf("re-parsing %q: %v", out, err)
		}
		if again.Secret != key.Secret || again.Comment != key.Comment || (label != "" && again.Label != label) {
			t.Fatalf("round trip changed the key: %+v -> %+v", *key, *again)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	addSeeds(f)
	f.Add(MarshalPublicKey([32]byte{1, 2, 3}))
	f.Fuzz(func(t *testing.T, data []byte) {
		isPub := IsPublicKey(data)
		pub, err := ParsePublicKey(data)
		if err != nil {
			checkError(t, err)
			return
		}
		if !isPub || IsPrivateKey(data) {
			t.Fatalf("parsed, but IsPublicKey=%v IsPrivateKey=%v", isPub, IsPrivateKey(data))
		}
		again, err := ParsePublicKey(MarshalPublicKey(pub))
		if err != nil || again != pub {
			t.Fatalf("round trip: %x -> %x, %v", pub, again, err)
		}
	})
}
