package crypt4gh_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/crypt4gh-go/crypt4gh"
)

func ExampleEncrypt() {
	reader, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		log.Fatal(err)
	}
	var file bytes.Buffer
	w, err := crypt4gh.Encrypt(&file, reader.Recipient())
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.WriteString(w, "ACGTACGTTTGA\n"); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("encrypted file size:", file.Len())
	// Output: encrypted file size: 165
}

func ExampleDecrypt() {
	reader, _ := crypt4gh.GenerateX25519Identity()
	var file bytes.Buffer
	w, _ := crypt4gh.Encrypt(&file, reader.Recipient())
	io.WriteString(w, "chr1\t12345\t.\tA\tG\n")
	w.Close()

	r, err := crypt4gh.Decrypt(&file, reader)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := io.Copy(os.Stdout, r); err != nil {
		log.Fatal(err)
	}
	// Output: chr1	12345	.	A	G
}

func ExampleDecryptReaderAt() {
	reader, _ := crypt4gh.GenerateX25519Identity()
	var file bytes.Buffer
	w, _ := crypt4gh.Encrypt(&file, reader.Recipient())
	io.WriteString(w, strings.Repeat("N", 200000)+"THE END")
	w.Close()

	// Any io.ReaderAt works: an *os.File, an object-storage reader...
	ra, err := crypt4gh.DecryptReaderAt(bytes.NewReader(file.Bytes()), int64(file.Len()), reader)
	if err != nil {
		log.Fatal(err)
	}
	tail := make([]byte, 7)
	ra.ReadAt(tail, ra.Size()-7) // decrypts only the last segment
	fmt.Println(ra.Size(), string(tail))
	// Output: 200007 THE END
}

func ExampleReencryptHeader() {
	archive, _ := crypt4gh.GenerateX25519Identity()
	researcher, _ := crypt4gh.GenerateX25519Identity()

	var file bytes.Buffer
	w, _ := crypt4gh.Encrypt(&file, archive.Recipient())
	io.WriteString(w, "payload stays encrypted as it is\n")
	w.Close()

	// The archive rewrites only the header for the researcher; the payload
	// bytes are sent unchanged.
	h, n, err := crypt4gh.ParseHeader(file.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	nh, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{archive}, []crypt4gh.Recipient{researcher.Recipient()}, &crypt4gh.ReencryptOptions{Trim: true})
	if err != nil {
		log.Fatal(err)
	}
	forResearcher := append(nh.Marshal(), file.Bytes()[n:]...)

	r, _ := crypt4gh.Decrypt(bytes.NewReader(forResearcher), researcher)
	io.Copy(os.Stdout, r)
	// Output: payload stays encrypted as it is
}

func ExamplePlanRange() {
	// Serve plaintext bytes [70000, 200001) of a file with no edit list.
	plan, err := crypt4gh.PlanRange(nil, crypt4gh.Range{Start: 70000, End: 200001})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("segments:", plan.Segments)
	fmt.Println("edit list:", plan.EditList)
	fmt.Println("payload bytes:", plan.PayloadRanges(crypt4gh.EncryptedSize(1<<20)))
	// Output:
	// segments: [{1 3}]
	// edit list: [4464 130001]
	// payload bytes: [[65564 262256]]
}

func ExampleParseIdentity() {
	id, _ := crypt4gh.GenerateX25519Identity()
	pem, err := crypt4gh.MarshalIdentity(id, []byte("correct horse"), &crypt4gh.KeyFileOptions{Comment: "lab key"})
	if err != nil {
		log.Fatal(err)
	}
	pass := func() ([]byte, error) { return []byte("correct horse"), nil }
	back, err := crypt4gh.ParseIdentity(pem, pass)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bytes.Equal(back.PublicKey(), id.PublicKey()), back.Comment)

	_, err = crypt4gh.ParseIdentity(pem, func() ([]byte, error) { return []byte("wrong"), nil })
	fmt.Println(err)
	// Output:
	// true lab key
	// crypt4gh: incorrect passphrase (or the key file is corrupt)
}
