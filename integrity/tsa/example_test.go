package tsa_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/crypt4gh-go/crypt4gh/integrity/tsa"
)

// A test can play out a renewal decades ahead: the local authority stamps
// with any genTime inside its validity period.
func ExampleLocalAuthority() {
	a, err := tsa.NewLocalAuthority("example",
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2126, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	root := sha256.Sum256([]byte("Merkle root"))
	token, err := a.At(time.Date(2071, 6, 1, 0, 0, 0, 0, time.UTC)).Stamp(context.Background(), crypto.SHA256, root[:])
	if err != nil {
		panic(err)
	}
	v, err := tsa.Verify(token, crypto.SHA256, root[:], a.Roots())
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Time, v.Signer.Subject.CommonName)
	// Output: 2071-06-01 00:00:00 +0000 UTC example TSA
}
