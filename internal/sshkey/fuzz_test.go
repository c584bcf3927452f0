package sshkey

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// errFuzzPassphrase is returned by the fuzzers' passphrase function so that
// bcrypt_pbkdf never runs while fuzzing.
var errFuzzPassphrase = errors.New("fuzz: no passphrase")

func refusePassphrase() ([]byte, error) { return nil, errFuzzPassphrase }

// addSeeds adds every file of the shared vectors' keys directory (OpenSSH
// and Crypt4GH keys alike) and a few generated variants to the corpus.
func addSeeds(f *testing.F) {
	for _, data := range testvectors.Files(f, "keys/*") {
		f.Add(data)
		if bytes.HasPrefix(data, []byte("-----BEGIN OPENSSH")) || bytes.HasPrefix(data, []byte("ssh-")) {
			f.Add(bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")))
		}
	}
	f.Add(armor(defaultParts().body()))
	f.Add([]byte("---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"x\"\nAAAAC3NzaC1lZDI1NTE5AAAAIG90OzQG1hqKop9bWgH7bQjoGRUEmPA3naiD09hJUtAW\n---- END SSH2 PUBLIC KEY ----\n"))
}

// checkError verifies an error's prefix and that it belongs to exactly one class.
func checkError(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "sshkey: ") {
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
		secret, comment, err := ParsePrivateKey(data, refusePassphrase)
		if err != nil {
			checkError(t, err)
			return
		}
		if !isPriv {
			t.Fatal("parsed, but IsPrivateKey is false")
		}
		if secret[0]&7 != 0 || secret[31]&0xc0 != 0x40 {
			t.Fatalf("secret is not clamped")
		}
		again, comment2, err := ParsePrivateKey(data, refusePassphrase)
		if err != nil || again != secret || comment2 != comment {
			t.Fatal("parsing is not deterministic")
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		isPub := IsPublicKey(data)
		pub, comment, err := ParsePublicKey(data)
		if err != nil {
			checkError(t, err)
			return
		}
		if !isPub {
			t.Fatal("parsed, but IsPublicKey is false")
		}
		if pub[31]&0x80 != 0 {
			t.Fatalf("u-coordinate %x is not reduced", pub)
		}
		again, comment2, err := ParsePublicKey(data)
		if err != nil || again != pub || comment2 != comment {
			t.Fatal("parsing is not deterministic")
		}
	})
}
