package crypt4gh_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"testing/cryptotest"

	"github.com/crypt4gh-go/crypt4gh"
	"golang.org/x/crypto/chacha20poly1305"
)

// TestSpecWorkedExample regenerates the worked example of
// doc/crypt4gh-v2.md section 12 and checks every value printed there,
// recomputing the derivations from the spec's formulas.
func TestSpecWorkedExample(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 2026)
	id, err := crypt4gh.NewX25519Identity(bytes.Repeat([]byte{0x11}, 32))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := crypt4gh.EncryptWithOptions(&buf, crypt4gh.EncryptOptions{DataMethod: crypt4gh.DataSealedChaCha20Poly1305}, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("GATTACA\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	wantHeader := unhex("6372797074346768" + "02000000" + "01000000" + "6c000000" + "00000000" +
		"55a86be37641bc536433ad908b7b60464887fed8b879ea943ae114c1e15dbf10" + "af79bde6516bf5c52fe1acbe" +
		"4c9aa8433ba119c18190c919f2ec66c8ddde840e0d228c048fcadc61cccb7d37e9880127e55168aa" + "f38f0f115b14c07dd999bb0cb259935b" +
		"f43d654e8bc800068643fe1dc96f86d55bdaaf60eb0a3e6226f62334b298bec8" + "00000000")
	wantPayload := unhex("8fe23d582f42b9b5e31bbe61" + "31c3bd662ca368df" + "8fe3c4806505cd76704567db4830a935")
	if !bytes.Equal(file, append(bytes.Clone(wantHeader), wantPayload...)) {
		t.Fatalf("the file differs from the spec's worked example:\n%x", file)
	}
	if got := hex.EncodeToString(id.PublicKey()); got != "7b4e909bbe7ffe44c465a220037d608ee35897d31ef972f07f74892cb0f73f13" {
		t.Fatalf("reader pk %s", got)
	}
	h, _, _ := crypt4gh.ParseHeader(file)
	c, err := h.Decrypt(id)
	if err != nil {
		t.Fatal(err)
	}
	kData := c.DataKeys[0].Key[:]
	if !bytes.Equal(kData, unhex("9c7d2056b4b52022a511baa5d6bc06268a95269b9d9a5f05621497232c5b8e28")) {
		t.Fatalf("K_data %x", kData)
	}
	kMAC, _ := hkdf.Key(sha256.New, kData, nil, "crypt4gh-v2 header mac", 32)
	kPayload, _ := hkdf.Key(sha256.New, kData, nil, "crypt4gh-v2 payload chacha20-poly1305", 32)
	if !bytes.Equal(kMAC, unhex("74e9a6747022486e66c0ac52163edfc083bca2884b00dec5b018ee62a7d12f79")) ||
		!bytes.Equal(kPayload, unhex("53cd7f0b506178052ffc59d200847a7a345ea1087e28cfcba5331f2a31bcc769")) {
		t.Fatalf("K_mac %x K_payload %x", kMAC, kPayload)
	}
	m := hmac.New(sha256.New, kMAC)
	m.Write(wantHeader[:124])
	if !bytes.Equal(m.Sum(nil), wantHeader[124:156]) {
		t.Fatal("the header MAC is not HMAC-SHA-256(K_mac, header bytes 0..123)")
	}
	aead, _ := chacha20poly1305.New(kPayload)
	pt, err := aead.Open(nil, wantPayload[:12], wantPayload[12:], unhex("000000000000000001"))
	if err != nil || string(pt) != "GATTACA\n" {
		t.Fatalf("the segment does not open with AD le64(0)||01: %v", err)
	}
}
