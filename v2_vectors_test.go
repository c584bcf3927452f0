package crypt4gh_test

// Deterministic v2 test vectors (testdata/v2). The generator below runs
// under testing/cryptotest.SetGlobalRandom, so every key, data key, nonce,
// ML-KEM encapsulation and ML-DSA signature is a function of fixed seeds.
// `go test -run TestV2Vectors -update` rewrites testdata/v2; without
// -update the test regenerates everything in memory, requires the result to
// be byte-identical to the committed files, then runs every case through
// the library.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
	"github.com/crypt4gh-go/crypt4gh/signing"
)

var v2Update = flag.Bool("update", false, "rewrite testdata/v2 (TestV2Vectors)")

const (
	v2VectorsDir = "testdata/v2"
	v2Producer   = "crypt4gh-go v2 profile (go test -run TestV2Vectors -update, testing/cryptotest.SetGlobalRandom)"
)

// Error classes added by the v2 vectors to those of the shared set.
const (
	v2ErrHeaderMAC     = "header_mac"      // the v2 header MAC does not verify
	v2ErrSignature     = "signature"       // a required signature is missing or invalid
	v2ErrExpired       = "expired"         // the expiry time has passed
	v2ErrOrder         = "order"           // a sealed segment authenticates at another position
	v2ErrEditListLimit = "edit_list_limit" // the edit list discards more segments than allowed
)

// v2VecCase is a case of the shared manifest format plus the v2 fields
// documented in testdata/v2/README.md.
type v2VecCase struct {
	testvectors.Case
	// VerifyPK is a signature verification key file: the reader must
	// require a valid signature by it.
	VerifyPK string `json:"verify_pk"`
	// Now is the reader's clock for the expiry check (Unix seconds).
	Now *int64 `json:"now"`
	// MaxSkippedSegments is the reader's edit-list limit (0: none).
	MaxSkippedSegments int64 `json:"max_skipped_segments"`
	// HeaderVersion and DataMethod are what the header holds (ok cases).
	HeaderVersion uint32  `json:"header_version"`
	DataMethod    *uint32 `json:"data_method"`
	// Link and Expiry are the link URI and the expiry (Unix seconds) the
	// header holds, if any (ok cases).
	Link   string `json:"link"`
	Expiry *int64 `json:"expiry"`
	// SegmentMap is the segment map the header holds: total, then runs as
	// first, count pairs.
	SegmentMap []uint64 `json:"segment_map"`
}

// v2VecKey is a key entry of the shared format plus the v2 key fields.
type v2VecKey struct {
	testvectors.Key
	// KeyType is the version 2 key type (section 12) for kinds
	// c4gh-v2-private and c4gh-v2-public.
	KeyType string `json:"key_type"`
	// ExpectedPublicSHA256 is the SHA-256 of the raw public key a v2 key
	// file yields (1600 bytes for x25519-mlkem1024, 32 for ed25519, 1952
	// for mldsa65).
	ExpectedPublicSHA256 string `json:"expected_public_sha256"`
}

type v2VecManifest struct {
	Format int         `json:"format"`
	Set    string      `json:"set"`
	Cases  []v2VecCase `json:"cases"`
	Keys   []v2VecKey  `json:"keys"`
}

// Kinds of the version 2 key files.
const (
	v2KindPrivate = "c4gh-v2-private"
	v2KindPublic  = "c4gh-v2-public"
)

// v2Gen collects the generated files.
type v2Gen struct {
	t     *testing.T
	files map[string][]byte
	m     v2VecManifest
}

// reseed makes the randomness that follows a function of label alone, so
// adding a vector does not change the others.
func (g *v2Gen) reseed(label string) {
	h := fnv.New64a()
	h.Write([]byte(label))
	cryptotest.SetGlobalRandom(g.t, h.Sum64())
}

func (g *v2Gen) put(path string, b []byte) string {
	if _, dup := g.files[path]; dup {
		g.t.Fatalf("generated %s twice", path)
	}
	g.files[path] = bytes.Clone(b)
	return path
}

func (g *v2Gen) encrypt(label string, pt []byte, opts crypt4gh.EncryptOptions, rs ...crypt4gh.Recipient) []byte {
	g.reseed("file " + label)
	opts.Concurrency = 1
	return encryptBytes(g.t, pt, opts, rs...)
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func ptr[T any](v T) *T { return &v }

// okCase adds a case expecting pt.
func (g *v2Gen) okCase(c v2VecCase, pt []byte) {
	c.Expect = testvectors.ExpectOK
	c.PlaintextSHA256 = sum(pt)
	c.PlaintextSize = int64(len(pt))
	g.addCase(c)
}

func (g *v2Gen) errCase(c v2VecCase, class string, acceptable ...string) {
	c.Expect = testvectors.ExpectError
	c.ErrorClass = class
	if len(acceptable) > 0 {
		c.AcceptableErrorClasses = append([]string{class}, acceptable...)
	}
	g.addCase(c)
}

func (g *v2Gen) addCase(c v2VecCase) {
	if c.Kind == "" {
		c.Kind = testvectors.CaseDecrypt
	}
	if c.SecretKey == "" {
		c.SecretKey = "keys/alice.sec"
	}
	c.Producer = v2Producer
	g.m.Cases = append(g.m.Cases, c)
}

// v2GenerateVectors builds every file of testdata/v2 except README.md.
func v2GenerateVectors(t *testing.T) map[string][]byte {
	g := &v2Gen{t: t, files: map[string][]byte{}, m: v2VecManifest{Format: 1, Set: "v2"}}
	S := segSize

	// Keys.
	x25519Key := func(name string) *crypt4gh.X25519Identity {
		g.reseed("key " + name)
		id, err := crypt4gh.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		comment := name + " (crypt4gh v2 test key)"
		sec, err := crypt4gh.MarshalIdentity(id, nil, &crypt4gh.KeyFileOptions{Comment: comment})
		if err != nil {
			t.Fatal(err)
		}
		secPath := g.put("keys/"+name+".sec", sec)
		pubPath := g.put("keys/"+name+".pub", crypt4gh.MarshalRecipient(id.Recipient()))
		pubHex := hex.EncodeToString(id.PublicKey())
		g.m.Keys = append(g.m.Keys,
			v2VecKey{Key: testvectors.Key{Name: name + "_sec", File: secPath, Kind: testvectors.KindC4GHPrivate, KDF: ptr("none"),
				ExpectedX25519PublicHex: pubHex, ExpectedX25519SecretHex: hex.EncodeToString(id.SecretKey()), PublicKey: pubPath,
				PEMLabel: "CRYPT4GH PRIVATE KEY", Comment: &comment, LineEndings: "LF", Producer: v2Producer}},
			v2VecKey{Key: testvectors.Key{Name: name + "_pub", File: pubPath, Kind: testvectors.KindC4GHPublic,
				ExpectedX25519PublicHex: pubHex, LineEndings: "LF", Producer: v2Producer}})
		return id
	}
	v2Key := func(name, keyType string, sec, pub, raw []byte) {
		secPath := g.put("keys/"+name+".sec", sec)
		pubPath := g.put("keys/"+name+".pub", pub)
		g.m.Keys = append(g.m.Keys,
			v2VecKey{Key: testvectors.Key{Name: name + "_sec", File: secPath, Kind: v2KindPrivate, KDF: ptr("none"), PublicKey: pubPath,
				PEMLabel: "CRYPT4GH V2 PRIVATE KEY", LineEndings: "LF", Producer: v2Producer}, KeyType: keyType, ExpectedPublicSHA256: sum(raw)},
			v2VecKey{Key: testvectors.Key{Name: name + "_pub", File: pubPath, Kind: v2KindPublic, LineEndings: "LF", Producer: v2Producer},
				KeyType: keyType, ExpectedPublicSHA256: sum(raw)})
	}
	alice := x25519Key("alice")
	bob := x25519Key("bob")

	g.reseed("key carol_pq")
	carol, err := crypt4gh.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	carolSec, err := crypt4gh.MarshalHybridIdentity(carol, nil, &crypt4gh.KeyFileOptions{Comment: "carol_pq (crypt4gh v2 test key)"})
	if err != nil {
		t.Fatal(err)
	}
	v2Key("carol_pq", "x25519-mlkem1024", carolSec, crypt4gh.MarshalHybridRecipient(carol.Recipient()), carol.PublicKey())

	signer := func(name, keyType string, alg uint32) crypt4gh.Signer {
		g.reseed("key " + name)
		s, err := signing.GenerateSigner(alg)
		if err != nil {
			t.Fatal(err)
		}
		sec, err := signing.MarshalSigner(s, nil, &crypt4gh.KeyFileOptions{Comment: name + " (crypt4gh v2 test key)"})
		if err != nil {
			t.Fatal(err)
		}
		v, err := signing.NewVerifier(alg, s.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		pub, err := signing.MarshalVerifier(v)
		if err != nil {
			t.Fatal(err)
		}
		v2Key(name, keyType, sec, pub, s.PublicKey())
		return s
	}
	edSigner := signer("signer_ed25519", "ed25519", crypt4gh.SigEd25519)
	mlSigner := signer("signer_mldsa65", "mldsa65", crypt4gh.SigMLDSA65)
	mallory := signer("mallory_ed25519", "ed25519", crypt4gh.SigEd25519)

	// Plaintexts.
	small := pseudoRandom(1000, 0x5a11)
	multi := pseudoRandom(2*S+100, 0x3a171) // three segments, the last short
	boundary := pseudoRandom(S, 0xb0da)     // exactly one segment
	g.put("pt/small.bin", small)
	g.put("pt/multi.bin", multi)
	g.put("pt/boundary.bin", boundary)
	g.put("pt/empty.bin", nil)

	method := func(m uint32) *uint32 { return &m }
	now2026 := int64(1767225600) // 2026-01-01T00:00:00Z
	file := func(name string, b []byte) string { return g.put("c4gh/"+name+".c4gh", b) }
	ar := alice.Recipient()

	// Payload methods.
	pr736Small := file("pr736_small", g.encrypt("pr736_small", small, crypt4gh.EncryptOptions{DataMethod: 1}, ar))
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "pr736_small", File: pr736Small, Plaintext: "pt/small.bin",
		Notes: "hts-specs PR 736 (data method 1): version 1 header, 48-byte data key packet with le64 sequence number; segment i has AD le64(seq+i)."},
		HeaderVersion: 1, DataMethod: method(1)}, small)
	pr736Boundary := g.encrypt("pr736_boundary", boundary, crypt4gh.EncryptOptions{DataMethod: 1}, ar)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "pr736_boundary", File: file("pr736_boundary", pr736Boundary), Plaintext: "pt/boundary.bin",
		Notes: "PR 736 with a plaintext of exactly one segment: a full segment then an empty (28-byte) final one."},
		HeaderVersion: 1, DataMethod: method(1)}, boundary)
	pr736Multi := g.encrypt("pr736_multi", multi, crypt4gh.EncryptOptions{DataMethod: 1}, ar)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "pr736_multi", File: file("pr736_multi", pr736Multi), Plaintext: "pt/multi.bin",
		Notes: "PR 736, three segments."}, HeaderVersion: 1, DataMethod: method(1)}, multi)

	chachaMulti := g.encrypt("sealed_chacha_multi", multi, crypt4gh.EncryptOptions{DataMethod: 2}, ar)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "sealed_chacha_multi", File: file("sealed_chacha_multi", chachaMulti), Plaintext: "pt/multi.bin",
		Notes: "Sealed ChaCha20-Poly1305 (data method 2), three segments: AD le64(i)||final under HKDF-derived K_payload; header MAC."},
		HeaderVersion: 2, DataMethod: method(2)}, multi)
	chachaSmall := g.encrypt("sealed_chacha_small", small, crypt4gh.EncryptOptions{DataMethod: 2}, ar)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "sealed_chacha_small", File: file("sealed_chacha_small", chachaSmall), Plaintext: "pt/small.bin",
		Notes: "Sealed ChaCha20-Poly1305, one (final) segment."}, HeaderVersion: 2, DataMethod: method(2)}, small)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "sealed_chacha_empty", File: file("sealed_chacha_empty", g.encrypt("sealed_chacha_empty", nil, crypt4gh.EncryptOptions{DataMethod: 2}, ar)),
		Plaintext: "pt/empty.bin", Notes: "Sealed ChaCha20-Poly1305, empty plaintext: one empty (28-byte) final segment."},
		HeaderVersion: 2, DataMethod: method(2)}, nil)
	aesMulti := g.encrypt("sealed_aes_multi", multi, crypt4gh.EncryptOptions{DataMethod: 3}, ar)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "sealed_aes_multi", File: file("sealed_aes_multi", aesMulti), Plaintext: "pt/multi.bin",
		Notes: "Sealed AES-256-GCM (data method 3), three segments, all under K_0."}, HeaderVersion: 2, DataMethod: method(3)}, multi)
	aesBoundary := g.encrypt("sealed_aes_boundary", boundary, crypt4gh.EncryptOptions{DataMethod: 3}, ar)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "sealed_aes_boundary", File: file("sealed_aes_boundary", aesBoundary), Plaintext: "pt/boundary.bin",
		Notes: "Sealed AES-256-GCM, exactly one segment: it is full and final (no empty segment after it)."},
		HeaderVersion: 2, DataMethod: method(3)}, boundary)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "sealed_aes_range", Kind: testvectors.CaseRange, File: "c4gh/sealed_aes_multi.c4gh",
		Range: &[2]int64{int64(S) - 5, int64(S) + 5}, SourcePlaintext: "pt/multi.bin", Notes: "Range across the first segment boundary of a sealed AES file."}},
		multi[S-5:S+5])

	// Hybrid recipients.
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "hybrid_pq_only", SecretKey: "keys/carol_pq.sec",
		File: file("hybrid_pq_only", g.encrypt("hybrid_pq_only", small, crypt4gh.EncryptOptions{}, carol.Recipient())), Plaintext: "pt/small.bin",
		Notes: "One hybrid X25519+ML-KEM-1024 recipient (packet method 1); the default sealed method."},
		HeaderVersion: 2, DataMethod: method(2)}, small)
	mixed := file("hybrid_mixed", g.encrypt("hybrid_mixed", small, crypt4gh.EncryptOptions{}, carol.Recipient(), ar))
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "hybrid_mixed_pq_reader", SecretKey: "keys/carol_pq.sec", File: mixed, Plaintext: "pt/small.bin",
		HeaderPacketRecipients: []string{"carol_pq", "alice"}, Notes: "A hybrid and a classical recipient; read with the hybrid key. The header is classical-only exposed (a method 0 packet opens it)."},
		HeaderVersion: 2, DataMethod: method(2)}, small)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "hybrid_mixed_classical_reader", File: mixed, Plaintext: "pt/small.bin",
		HeaderPacketRecipients: []string{"carol_pq", "alice"}, Notes: "The same file read with the classical key."},
		HeaderVersion: 2, DataMethod: method(2)}, small)
	g.errCase(v2VecCase{Case: testvectors.Case{Name: "hybrid_pq_only_classical_reader", SecretKey: "keys/bob.sec", File: "c4gh/hybrid_pq_only.c4gh",
		Notes: "A classical key reading a PQ-only file for someone else."}}, testvectors.ErrorNoKey)

	// Signatures.
	signedEd := g.encrypt("signed_ed25519", small, crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{edSigner}}, ar)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "signed_ed25519", File: file("signed_ed25519", signedEd), Plaintext: "pt/small.bin",
		Notes: "Ed25519 signature record (algorithm 1); the reader requires it."}, VerifyPK: "keys/signer_ed25519.pub",
		HeaderVersion: 2, DataMethod: method(2)}, small)
	signedML := g.encrypt("signed_mldsa65", small, crypt4gh.EncryptOptions{Signers: []crypt4gh.Signer{mlSigner}}, ar)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "signed_mldsa65", File: file("signed_mldsa65", signedML), Plaintext: "pt/small.bin",
		Notes: "ML-DSA-65 signature record (algorithm 2, FIPS 204, empty context, hedged); the reader requires it."}, VerifyPK: "keys/signer_mldsa65.pub",
		HeaderVersion: 2, DataMethod: method(2)}, small)
	// Re-encrypted for bob: the signature stays valid.
	g.reseed("file signed_ed25519_reencrypted")
	hEd, nEd, err := crypt4gh.ParseHeader(signedEd)
	if err != nil {
		t.Fatal(err)
	}
	reHdr, err := crypt4gh.ReencryptHeader(hEd, []crypt4gh.Identity{alice}, []crypt4gh.Recipient{bob.Recipient()}, &crypt4gh.ReencryptOptions{Trim: true})
	if err != nil {
		t.Fatal(err)
	}
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "signed_ed25519_reencrypted", Kind: testvectors.CaseReencrypt, SecretKey: "keys/bob.sec",
		File: file("signed_ed25519_reencrypted", append(reHdr.Marshal(), signedEd[nEd:]...)), Plaintext: "pt/small.bin",
		SourceFile: "c4gh/signed_ed25519.c4gh", SourceSecretKey: "keys/alice.sec", RecipientPKs: []string{"keys/bob.pub"}, Trim: true,
		Notes: "signed_ed25519 re-encrypted for bob (new header packets and MAC, same data key): the signature still verifies."},
		VerifyPK: "keys/signer_ed25519.pub", HeaderVersion: 2, DataMethod: method(2)}, small)

	// Expiry.
	future := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	past := int64(1000000000) // 2001-09-09T01:46:40Z
	expFuture := file("expiry_future", g.encrypt("expiry_future", small, crypt4gh.EncryptOptions{Expiry: time.Unix(future, 0)}, ar))
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "expiry_future", File: expFuture, Plaintext: "pt/small.bin",
		Notes: "Expiry packet (type 2) far in the future."}, Now: &now2026, Expiry: &future, HeaderVersion: 2, DataMethod: method(2)}, small)
	expPast := file("expiry_past", g.encrypt("expiry_past", small, crypt4gh.EncryptOptions{Expiry: time.Unix(past, 0)}, ar))
	g.errCase(v2VecCase{Case: testvectors.Case{Name: "expiry_past", File: expPast,
		Notes: "Expired in 2001: readers must refuse (\"file expired at 2001-09-09T01:46:40Z\") unless told to ignore expiry."}, Now: &now2026}, v2ErrExpired)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "expiry_past_before_it", File: expPast, Plaintext: "pt/small.bin",
		Notes: "The expired file, read with a clock before its expiry."}, Now: ptr(past - 1), Expiry: &past, HeaderVersion: 2, DataMethod: method(2)}, small)

	// Link: a header-only file and its detached payload.
	const link = "https://archive.example.org/v2/link_payload.c4gh"
	var hdr, payload bytes.Buffer
	g.reseed("file link")
	w, err := crypt4gh.EncryptWithOptions(&payload, crypt4gh.EncryptOptions{HeaderTo: &hdr, Link: link, Concurrency: 1}, ar)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(small)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	g.put("c4gh/link_header_only.c4gh", hdr.Bytes())
	g.put("c4gh/link_payload.bin", payload.Bytes())
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "link_header_and_payload", HeaderFile: "c4gh/link_header_only.c4gh", File: "c4gh/link_payload.bin",
		Plaintext: "pt/small.bin", Notes: "A header-only file with a link packet (type 3) naming where its payload is, followed by that payload."},
		Link: link, HeaderVersion: 2, DataMethod: method(2)}, small)
	g.errCase(v2VecCase{Case: testvectors.Case{Name: "link_header_only_alone", File: "c4gh/link_header_only.c4gh",
		Notes: "The header-only file alone: a sealed payload with no segment is a truncated stream (readers do not follow links)."}}, testvectors.ErrorTruncated)

	// A rearranged (segment-mapped) file: segments 1 and 2 of sealed_chacha_multi.
	g.reseed("file rearranged")
	rg := crypt4gh.Range{Start: int64(S) + 10, End: 2*int64(S) + 50}
	var rearr bytes.Buffer
	if err := crypt4gh.RearrangeReaderAt(&rearr, bytes.NewReader(chachaMulti), int64(len(chachaMulti)), []crypt4gh.Identity{alice}, []crypt4gh.Recipient{ar}, rg); err != nil {
		t.Fatal(err)
	}
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "rearranged_segment_map", File: file("rearranged_segment_map", rearr.Bytes()), SourcePlaintext: "pt/multi.bin",
		EditList: []uint64{10, uint64(S) + 40},
		Notes:    "sealed_chacha_multi rearranged to plaintext [65546, 131122): segments 1 and 2 (final) with their original indexes, a segment map (total 3, run 1+2) and an edit list."},
		SegmentMap: []uint64{3, 1, 2}, HeaderVersion: 2, DataMethod: method(2)}, multi[rg.Start:rg.End])

	// Edit-list limit.
	el := g.encrypt("edit_list_skips_2", multi, crypt4gh.EncryptOptions{DataMethod: 2, EditList: crypt4gh.EditList{2 * uint64(S), 50}}, ar)
	elPath := file("edit_list_skips_2", el)
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "edit_list_at_limit", File: elPath, EditList: []uint64{2 * uint64(S), 50}, SourcePlaintext: "pt/multi.bin",
		Notes: "The edit list discards 2 whole segments before its last kept byte; the reader allows 2."},
		MaxSkippedSegments: 2, HeaderVersion: 2, DataMethod: method(2)}, multi[2*S:2*S+50])
	g.errCase(v2VecCase{Case: testvectors.Case{Name: "edit_list_over_limit", File: elPath, EditList: []uint64{2 * uint64(S), 50},
		Notes: "The same file; the reader allows 1 (\"edit list skips 2 segments, more than the limit of 1\")."}, MaxSkippedSegments: 1}, v2ErrEditListLimit)

	// Negative cases.
	_, hsMulti, err := crypt4gh.ParseHeader(chachaMulti)
	if err != nil {
		t.Fatal(err)
	}
	segs := v2Split(chachaMulti[hsMulti:])
	neg := func(name, notes, class string, data []byte, acceptable ...string) {
		g.errCase(v2VecCase{Case: testvectors.Case{Name: name, File: file(name, data), Notes: notes}}, class, acceptable...)
	}
	neg("neg_truncated_at_boundary", "sealed_chacha_multi cut after 1 of its 3 segments: no final segment (\"truncated stream\").",
		testvectors.ErrorTruncated, append(bytes.Clone(chachaMulti[:hsMulti]), segs[0]...))
	neg("neg_reordered", "sealed_chacha_multi with segments 0 and 1 swapped: each authenticates, at the other's index.",
		v2ErrOrder, append(bytes.Clone(chachaMulti[:hsMulti]), slices.Concat(segs[1], segs[0], segs[2])...), testvectors.ErrorMAC)
	_, hsAES, _ := crypt4gh.ParseHeader(aesBoundary)
	neg("neg_data_after_final", "sealed_aes_boundary followed by a copy of its (full, final) segment.",
		v2ErrOrder, append(bytes.Clone(aesBoundary), aesBoundary[hsAES:]...), testvectors.ErrorMAC)

	hSmall, hsSmall, _ := crypt4gh.ParseHeader(chachaSmall)
	g.reseed("file neg_extra_packet")
	other := encryptBytes(t, small, crypt4gh.EncryptOptions{DataMethod: 2, Concurrency: 1}, bob.Recipient())
	hOther, _, _ := crypt4gh.ParseHeader(other)
	extra := *hSmall
	extra.Packets = append(slices.Clone(hSmall.Packets), hOther.Packets[0])
	neg("neg_extra_packet", "sealed_chacha_small with bob's data key packet from another file appended (count 2): the header MAC fails.",
		v2ErrHeaderMAC, append(extra.Marshal(), chachaSmall[hsSmall:]...))
	badMAC := bytes.Clone(chachaSmall)
	badMAC[hsSmall-36] ^= 0x01
	neg("neg_bad_mac", "sealed_chacha_small with one bit of the header MAC flipped.", v2ErrHeaderMAC, badMAC)

	// Forged signature: mallory's signature over the same message, under
	// the signer's key id.
	hSig, nSig, _ := crypt4gh.ParseHeader(signedEd)
	cSig, err := hSig.Decrypt(alice)
	if err != nil {
		t.Fatal(err)
	}
	forged := *hSig
	forged.Signatures = nil
	if err := forged.Sign(cSig, mallory); err != nil {
		t.Fatal(err)
	}
	forged.Signatures[0].KeyID = hSig.Signatures[0].KeyID
	g.errCase(v2VecCase{Case: testvectors.Case{Name: "neg_forged_signature", File: file("neg_forged_signature", append(forged.Marshal(), signedEd[nSig:]...)),
		Notes: "signed_ed25519 whose record holds mallory's valid signature under the signer's key id (\"signature invalid\")."},
		VerifyPK: "keys/signer_ed25519.pub"}, v2ErrSignature)
	g.errCase(v2VecCase{Case: testvectors.Case{Name: "neg_signature_missing", File: "c4gh/sealed_chacha_multi.c4gh",
		Notes: "An unsigned file read by a reader that requires a signature (\"signature missing\")."}, VerifyPK: "keys/signer_ed25519.pub"}, v2ErrSignature)
	g.errCase(v2VecCase{Case: testvectors.Case{Name: "neg_signature_other_key", File: "c4gh/signed_ed25519.c4gh",
		Notes: "Signed by signer_ed25519, the reader requires mallory_ed25519 (\"signature missing\")."}, VerifyPK: "keys/mallory_ed25519.pub"}, v2ErrSignature)

	// Crafted headers: correct MAC, content a reader must reject.
	kd := cSig.DataKeys[0].Key[:]
	g.reseed("file neg_unknown_critical_packet")
	crit := v2Craft(t, 2, kd, ar, v2DataKeyPlain(cSig.DataKeys[0]), []byte{5, 0, 0, 0, 1, 2, 3, 4})
	neg("neg_unknown_critical_packet", "A version 2 header (MAC correct) with a packet of type 5 for the reader (\"unknown critical header packet type 5\").",
		testvectors.ErrorUnsupported, append(crit.Marshal(), signedEd[nSig:]...))
	g.reseed("file noncritical_packet")
	nonCrit := v2Craft(t, 2, kd, ar, []byte{7, 0, 0, 0x80, 1, 2, 3, 4}, v2DataKeyPlain(cSig.DataKeys[0]))
	g.okCase(v2VecCase{Case: testvectors.Case{Name: "noncritical_packet", File: file("noncritical_packet", append(nonCrit.Marshal(), signedEd[nSig:]...)),
		Plaintext: "pt/small.bin", Notes: "A version 2 header with a packet of the non-critical type 0x80000007 before the data key: ignored."},
		HeaderVersion: 2, DataMethod: method(2)}, small)
	g.reseed("file neg_v2_method0")
	m0 := cSig.DataKeys[0]
	m0.Method = 0
	v2m0 := v2Craft(t, 2, kd, ar, v2DataKeyPlain(m0))
	neg("neg_v2_data_method_0", "A version 2 header (MAC correct) whose data key packet says method 0: version 2 allows sealed methods only.",
		testvectors.ErrorUnsupported, append(v2m0.Marshal(), signedEd[nSig:]...))

	// PR 736 damage.
	_, hs736, _ := crypt4gh.ParseHeader(pr736Boundary)
	neg("neg_pr736_missing_trailing_segment", "pr736_boundary without its empty final segment (\"missing trailing segment\").",
		testvectors.ErrorTruncated, pr736Boundary[:hs736+cSegSize])
	_, hs736m, _ := crypt4gh.ParseHeader(pr736Multi)
	s736 := v2Split(pr736Multi[hs736m:])
	neg("neg_pr736_reordered", "pr736_multi with segments 0 and 1 swapped: the sequence number in the AD binds the order.",
		testvectors.ErrorMAC, append(bytes.Clone(pr736Multi[:hs736m]), slices.Concat(s736[1], s736[0], s736[2])...))

	// The manifest, with empty fields left out.
	raw, err := json.Marshal(g.m)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	tree = v2Prune(tree)
	for _, c := range tree.(map[string]any)["cases"].([]any) {
		c := c.(map[string]any)
		if c["expect"] != testvectors.ExpectError {
			if _, ok := c["plaintext_size"]; !ok {
				c["plaintext_size"] = 0
			}
		}
	}
	out, err := json.MarshalIndent(tree, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	g.put(testvectors.ManifestName, append(out, '\n'))
	cryptotest.SetGlobalRandom(t, 0) // leave no caller depending on the last seed
	return g.files
}

// v2Prune drops null, empty and zero values from a decoded JSON tree.
func v2Prune(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			e = v2Prune(e)
			if v2Empty(e) {
				delete(x, k)
			} else {
				x[k] = e
			}
		}
		return x
	case []any:
		for i := range x {
			x[i] = v2Prune(x[i])
		}
		return x
	}
	return v
}

func v2Empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case float64:
		return x == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// v2Classify maps an error to the vector error classes.
func v2Classify(err error) string {
	switch {
	case errors.Is(err, crypt4gh.ErrHeaderMAC):
		return v2ErrHeaderMAC
	case errors.Is(err, crypt4gh.ErrSignature):
		return v2ErrSignature
	case errors.Is(err, crypt4gh.ErrExpired):
		return v2ErrExpired
	case errors.Is(err, crypt4gh.ErrEditListLimit):
		return v2ErrEditListLimit
	case errors.Is(err, crypt4gh.ErrSegmentOrder):
		return v2ErrOrder
	}
	return classify(err)
}

func TestV2Vectors(t *testing.T) {
	files := v2GenerateVectors(t)
	if *v2Update {
		if err := os.RemoveAll(filepath.Join(v2VectorsDir, "c4gh")); err != nil {
			t.Fatal(err)
		}
		for path, b := range files {
			p := filepath.Join(v2VectorsDir, filepath.FromSlash(path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			mode := os.FileMode(0o644)
			if err := os.WriteFile(p, b, mode); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The committed files are exactly what the generator makes.
	var onDisk []string
	total := 0
	err := filepath.WalkDir(v2VectorsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(v2VectorsDir, p)
		rel = filepath.ToSlash(rel)
		if rel == "README.md" {
			return nil
		}
		onDisk = append(onDisk, rel)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		total += len(b)
		want, ok := files[rel]
		switch {
		case !ok:
			t.Errorf("%s is not made by the generator (stale? run with -update)", rel)
		case !bytes.Equal(b, want):
			t.Errorf("%s differs from the regenerated file: the generator is not deterministic, or the library changed how it draws randomness (run with -update and review)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for path := range files {
		if !slices.Contains(onDisk, path) {
			t.Errorf("%s is missing from %s (run with -update)", path, v2VectorsDir)
		}
	}
	if total > 2<<20 {
		t.Errorf("the vectors take %d bytes, more than 2 MiB", total)
	}
	if t.Failed() {
		t.FailNow()
	}

	m, err := testvectors.ReadManifest(v2VectorsDir)
	if err != nil {
		t.Fatal(err)
	}
	var vm v2VecManifest
	if err := json.Unmarshal(files[testvectors.ManifestName], &vm); err != nil {
		t.Fatal(err)
	}
	if len(vm.Cases) != len(m.Cases) || len(vm.Keys) != len(m.Keys) || m.Format != 1 || m.Set != "v2" {
		t.Fatal("the manifest does not load with the shared loader")
	}
	names := map[string]bool{}
	for _, c := range vm.Cases {
		if names[c.Name] {
			t.Fatalf("case %s twice", c.Name)
		}
		names[c.Name] = true
	}
	t.Run("keys", func(t *testing.T) {
		for _, k := range vm.Keys {
			v2CheckVectorKey(t, m, k)
		}
	})
	for _, c := range vm.Cases {
		t.Run(c.Name, func(t *testing.T) { v2RunVectorCase(t, m, c) })
	}
}

func v2CheckVectorKey(t *testing.T, m *testvectors.Manifest, k v2VecKey) {
	data := m.ReadFile(t, k.File)
	var pub []byte
	switch k.Kind {
	case testvectors.KindC4GHPrivate:
		id, err := crypt4gh.ParseIdentity(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", k.Name, err)
		}
		pub = id.PublicKey()
		if hex.EncodeToString(id.SecretKey()) != k.ExpectedX25519SecretHex {
			t.Errorf("%s: secret key differs", k.Name)
		}
	case testvectors.KindC4GHPublic:
		r, err := crypt4gh.ParseRecipient(data)
		if err != nil {
			t.Fatalf("%s: %v", k.Name, err)
		}
		pub = r.PublicKey()
	case v2KindPrivate:
		if k.KeyType == "x25519-mlkem1024" {
			id, err := crypt4gh.ParsePrivateKey(data, nil)
			if err != nil {
				t.Fatalf("%s: %v", k.Name, err)
			}
			pub = id.(*crypt4gh.HybridIdentity).PublicKey()
		} else {
			s, err := signing.ParseSigner(data, nil)
			if err != nil {
				t.Fatalf("%s: %v", k.Name, err)
			}
			pub = s.PublicKey()
		}
	case v2KindPublic:
		if k.KeyType == "x25519-mlkem1024" {
			r, err := crypt4gh.ParsePublicKey(data)
			if err != nil {
				t.Fatalf("%s: %v", k.Name, err)
			}
			pub = r.(*crypt4gh.HybridRecipient).Bytes()
		} else {
			v, err := signing.ParseVerifier(data)
			if err != nil {
				t.Fatalf("%s: %v", k.Name, err)
			}
			pub = v.PublicKey()
		}
	default:
		t.Fatalf("%s: unknown kind %s", k.Name, k.Kind)
	}
	if k.ExpectedX25519PublicHex != "" && hex.EncodeToString(pub) != k.ExpectedX25519PublicHex {
		t.Errorf("%s: public key differs", k.Name)
	}
	if k.ExpectedPublicSHA256 != "" && sum(pub) != k.ExpectedPublicSHA256 {
		t.Errorf("%s: public key hash differs", k.Name)
	}
}

func v2RunVectorCase(t *testing.T, m *testvectors.Manifest, c v2VecCase) {
	id, err := crypt4gh.ParsePrivateKey(m.ReadFile(t, c.SecretKey), passFunc(c.Passphrase))
	if err != nil {
		t.Fatalf("secret key %s: %v", c.SecretKey, err)
	}
	var opts crypt4gh.DecryptOptions
	if c.Now != nil {
		now := time.Unix(*c.Now, 0)
		opts.Now = func() time.Time { return now }
	}
	opts.MaxSkippedSegments = c.MaxSkippedSegments
	if c.VerifyPK != "" {
		v, err := signing.ParseVerifier(m.ReadFile(t, c.VerifyPK))
		if err != nil {
			t.Fatalf("verify_pk %s: %v", c.VerifyPK, err)
		}
		opts.Verifiers = []crypt4gh.Verifier{v}
	}
	var data []byte
	if c.HeaderFile != "" {
		data = append(data, m.ReadFile(t, c.HeaderFile)...)
	}
	data = append(data, m.ReadFile(t, c.File)...)

	var outs [][]byte
	var errs []error
	if c.Kind == testvectors.CaseRange {
		rg := crypt4gh.Range{Start: c.Range[0], End: c.Range[1]}
		for _, conc := range []int{0, 1} {
			o := opts
			o.Range, o.Concurrency = &rg, conc
			r, err := crypt4gh.DecryptWithOptions(bytes.NewReader(data), o, id)
			var got []byte
			if err == nil {
				got, err = io.ReadAll(r)
			}
			outs, errs = append(outs, got), append(errs, err)
		}
		ra, err := crypt4gh.DecryptReaderAtWithOptions(bytes.NewReader(data), int64(len(data)), opts, id)
		var got []byte
		if err == nil {
			got = make([]byte, rg.End-rg.Start)
			var n int
			n, err = ra.ReadAt(got, rg.Start)
			if err == io.EOF && n == len(got) {
				err = nil
			}
		}
		outs, errs = append(outs, got), append(errs, err)
	} else {
		for _, r := range v2ReadPaths(data, opts, id) {
			outs, errs = append(outs, r.out), append(errs, r.err)
		}
	}
	for i, err := range errs {
		if c.Expect == testvectors.ExpectError {
			if err == nil {
				t.Fatalf("path %d: succeeded, want a %s error", i, c.ErrorClass)
			}
			got := v2Classify(err)
			if got != c.ErrorClass && !slices.Contains(c.AcceptableErrorClasses, got) {
				t.Fatalf("path %d: error %q is class %q, want %q (or %v)", i, err, got, c.ErrorClass, c.AcceptableErrorClasses)
			}
			continue
		}
		if err != nil {
			t.Fatalf("path %d: %v", i, err)
		}
		checkOutput(t, c.Case, outs[i])
	}
	if c.Expect != testvectors.ExpectOK {
		return
	}
	if c.Plaintext != "" && !bytes.Equal(outs[0], m.ReadFile(t, c.Plaintext)) {
		t.Fatal("output differs from the plaintext file")
	}
	h, _, err := crypt4gh.ParseHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	hc, err := h.Decrypt(id)
	if err != nil {
		t.Fatal(err)
	}
	if c.HeaderVersion != 0 && h.Version != c.HeaderVersion {
		t.Errorf("header version %d, manifest says %d", h.Version, c.HeaderVersion)
	}
	if c.DataMethod != nil && hc.DataKeys[0].Method != *c.DataMethod {
		t.Errorf("data method %d, manifest says %d", hc.DataKeys[0].Method, *c.DataMethod)
	}
	if hc.Link != c.Link {
		t.Errorf("link %q, manifest says %q", hc.Link, c.Link)
	}
	if (c.Expiry == nil) != hc.Expiry.IsZero() || (c.Expiry != nil && hc.Expiry.Unix() != *c.Expiry) {
		t.Errorf("expiry %v, manifest says %v", hc.Expiry, c.Expiry)
	}
	var smap []uint64
	if hc.SegmentMap != nil {
		smap = append(smap, hc.SegmentMap.Total)
		for _, r := range hc.SegmentMap.Runs {
			smap = append(smap, uint64(r.First), uint64(r.Count))
		}
	}
	if !slices.Equal(smap, c.SegmentMap) {
		t.Errorf("segment map %v, manifest says %v", smap, c.SegmentMap)
	}
	if c.EditList != nil && !slices.Equal([]uint64(hc.EditList), c.EditList) {
		t.Errorf("edit list %v, manifest says %v", hc.EditList, c.EditList)
	}
}
