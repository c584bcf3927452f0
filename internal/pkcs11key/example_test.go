package pkcs11key_test

import (
	"log"
	"os"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/pkcs11key"
)

// An archive opens its key in the HSM once and re-encrypts headers with
// it for each reader.
func Example() {
	pin, err := os.ReadFile("/run/secrets/hsm-pin") // never from argv
	if err != nil {
		log.Fatal(err)
	}
	key, err := pkcs11key.Open(pkcs11key.Config{
		Module:     "/usr/lib/softhsm/libsofthsm2.so",
		TokenLabel: "archive",
		PIN:        string(pin),
		KeyLabel:   "c4gh-archive-2026",
		Sessions:   8,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer key.Close()
	archive, err := crypt4gh.NewKeyAgreementIdentity(key)
	if err != nil {
		log.Fatal(err)
	}

	var stored *crypt4gh.Header          // read from the database
	var reader *crypt4gh.X25519Recipient // from the request
	out, err := crypt4gh.ReencryptHeader(stored, []crypt4gh.Identity{archive},
		[]crypt4gh.Recipient{reader}, &crypt4gh.ReencryptOptions{Trim: true})
	if err != nil {
		log.Fatal(err)
	}
	_ = out.Marshal() // send with the unchanged payload
}
