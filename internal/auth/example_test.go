package auth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/auth"
)

// A server's default setup: trust the built-in development issuer, serve
// its JWKS, and authorise requests against the dataset they ask for.
func Example() {
	dir, _ := os.MkdirTemp("", "auth-example")
	defer os.RemoveAll(dir)

	dev, err := auth.NewDevIssuer("http://localhost:8080/dev-issuer", filepath.Join(dir, "dev-issuer.pem"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /dev-issuer/jwks.json", dev.JWKS()) // the path of dev.JKU()

	v, err := auth.NewVerifier(auth.Config{Issuers: []auth.TrustedIssuer{dev.Trusted()}})
	if err != nil {
		log.Fatal(err)
	}

	passport, _ := dev.Mint("alice", []string{"EGAD00000000001"}, time.Hour)
	g, err := v.Authenticate(context.Background(), "Bearer "+passport, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Subject, g.Allows("EGAD00000000001", time.Now()), g.Allows("EGAD00000000002", time.Now()))

	_, err = v.Authenticate(context.Background(), "", nil)
	if e, ok := err.(*auth.Error); ok {
		fmt.Println(e.Status, e.Reason)
	}
	// Output:
	// alice true false
	// 401 missing token
}
