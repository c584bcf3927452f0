// Package testvectors locates and loads the shared Crypt4GH interoperability
// vectors (keys, encrypted files, plaintexts and manifest.json) for tests.
//
// The vectors directory is taken from the CRYPT4GH_VECTORS environment
// variable if set; otherwise it is ../shared/vectors relative to the
// directory holding go.mod (found by walking up from the working directory).
// A missing directory is a test failure, not a skip: CI always has it.
//
// It is meant for tests only; it imports package testing.
package testvectors

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the environment variable that overrides the vectors directory.
const EnvVar = "CRYPT4GH_VECTORS"

// ManifestName is the manifest's file name inside the vectors directory.
const ManifestName = "manifest.json"

// Key kinds (Key.Kind and Case.KeyKind).
const (
	KindC4GHPrivate = "c4gh-private" // Crypt4GH private key file (c4gh-v1)
	KindC4GHPublic  = "c4gh-public"  // Crypt4GH public key file (32 raw bytes, armoured)
	KindSSHPrivate  = "ssh-private"  // OpenSSH openssh-key-v1 Ed25519 private key
	KindSSHPublic   = "ssh-public"   // OpenSSH "ssh-ed25519 AAAA..." public key
)

// Case kinds (Case.Kind).
const (
	CaseKey       = "key"       // parse a key file only
	CaseDecrypt   = "decrypt"   // decrypt a whole file
	CaseRange     = "range"     // decrypt a byte range
	CaseReencrypt = "reencrypt" // decrypt the output of a re-encryption
)

// Expectations (Case.Expect).
const (
	ExpectOK          = "ok"           // output must equal the plaintext
	ExpectError       = "error"        // the reader must fail without crashing or hanging
	ExpectOKTruncated = "ok_truncated" // undetectable damage: output is the given shorter plaintext
)

// Error classes (Case.ErrorClass and Case.AcceptableErrorClasses).
const (
	ErrorMAC         = "mac"         // segment authentication failed
	ErrorNoKey       = "no_key"      // no header packet decrypts for this key
	ErrorFormat      = "format"      // malformed file or key
	ErrorPassphrase  = "passphrase"  // wrong passphrase
	ErrorTruncated   = "truncated"   // input ends early
	ErrorUnsupported = "unsupported" // unknown version, method, packet type, KDF or cipher
)

// Manifest is the decoded manifest.json. Paths in it are relative to Dir.
type Manifest struct {
	// Format is the manifest format version (1).
	Format int `json:"format"`
	// Set names the vector set ("shared").
	Set string `json:"set"`
	// Cases are the test cases.
	Cases []Case `json:"cases"`
	// Keys describe every key file in keys/.
	Keys []Key `json:"keys"`

	// Dir is the absolute vectors directory the manifest was read from.
	// It is not part of the JSON.
	Dir string `json:"-"`
}

// Key describes one key file (an entry of the manifest's keys array).
// Optional fields are pointers (nil = JSON null or absent) where null carries
// meaning, and empty strings otherwise.
type Key struct {
	// Name is the unique id, "<key>_sec" or "<key>_pub".
	Name string `json:"name"`
	// File is the key file path, relative to the vectors directory.
	File string `json:"file"`
	// Kind is one of KindC4GHPrivate, KindC4GHPublic, KindSSHPrivate, KindSSHPublic.
	Kind string `json:"kind"`
	// Passphrase is the UTF-8 passphrase, nil for an unencrypted key.
	Passphrase *string `json:"passphrase"`
	// KDF is "none", "scrypt", "bcrypt" or "pbkdf2_hmac_sha256" for c4gh keys,
	// "bcrypt_pbkdf" or "none" for ssh keys, nil for public keys.
	KDF *string `json:"kdf"`
	// KDFRounds is the rounds value stored in a c4gh private key (scrypt
	// stores 0), nil when not applicable.
	KDFRounds *int `json:"kdf_rounds"`
	// ExpectedX25519PublicHex is the X25519 public key (hex) the file yields;
	// for private keys it is derived from the secret, for ssh keys it is the
	// result of the Ed25519 to X25519 conversion.
	ExpectedX25519PublicHex string `json:"expected_x25519_public_hex"`
	// ExpectedX25519SecretHex (private keys only) is the raw 32-byte X25519
	// secret (hex) the file decodes to; for ssh keys clamp(SHA-512(seed)[:32]).
	ExpectedX25519SecretHex string `json:"expected_x25519_secret_hex"`
	// PublicKey (private keys only) is the matching public key file.
	PublicKey string `json:"public_key"`
	// PEMLabel is informational: the armour label of a c4gh private key.
	PEMLabel string `json:"pem_label"`
	// Comment is informational: the key's comment, nil if it has none.
	Comment *string `json:"comment"`
	// LineEndings is informational: "LF" or "CRLF".
	LineEndings string `json:"line_endings"`
	// SSHCipher is informational: the openssh-key-v1 cipher name.
	SSHCipher string `json:"ssh_cipher"`
	// SSHKDFRounds is informational: the bcrypt_pbkdf rounds of an ssh key.
	SSHKDFRounds *int `json:"ssh_kdf_rounds"`
	// Producer is informational: which implementation wrote the file.
	Producer string `json:"producer"`
	// Notes is free text.
	Notes string `json:"notes"`
}

// Case is one test case (an entry of the manifest's cases array). Fields not
// used by a case's Kind are zero.
type Case struct {
	// Name is the unique id.
	Name string `json:"name"`
	// Kind is one of CaseKey, CaseDecrypt, CaseRange, CaseReencrypt.
	Kind string `json:"kind"`
	// File is the input: a key file (kind key) or a Crypt4GH file or data segments.
	File string `json:"file"`
	// HeaderFile, if set, is a detached header: the stream to decrypt is
	// HeaderFile's bytes followed by File's bytes.
	HeaderFile string `json:"header_file"`
	// Producer says which implementation wrote the file.
	Producer string `json:"producer"`
	// SecretKey is the reader's key file.
	SecretKey string `json:"secret_key"`
	// Passphrase is SecretKey's passphrase (kind key: File's passphrase);
	// nil for an unencrypted key.
	Passphrase *string `json:"passphrase"`
	// SenderPK, if set, is the expected writer public key file: header
	// packets whose writer public key differs must be treated as undecryptable.
	SenderPK string `json:"sender_pk"`
	// Expect is ExpectOK, ExpectError or ExpectOKTruncated.
	Expect string `json:"expect"`
	// Plaintext is the optional path of the expected output.
	Plaintext string `json:"plaintext"`
	// PlaintextSHA256 is the hex SHA-256 of the expected output (always
	// present for ExpectOK and ExpectOKTruncated).
	PlaintextSHA256 string `json:"plaintext_sha256"`
	// PlaintextSize is the length of the expected output (meaningful for
	// ExpectOK and ExpectOKTruncated; it can legitimately be 0).
	PlaintextSize int64 `json:"plaintext_size"`
	// Range (kind range) is [start, end) in bytes of the decrypted plaintext,
	// after any edit list; the expected output is that slice. Nil otherwise.
	Range *[2]int64 `json:"range"`
	// SourcePlaintext is the optional full plaintext the expected output was
	// cut from (ranges, edit lists).
	SourcePlaintext string `json:"source_plaintext"`
	// EditList is informational: the edit list stored in the header.
	EditList []uint64 `json:"edit_list"`
	// ErrorClass (ExpectError) is one of the Error* constants.
	ErrorClass string `json:"error_class"`
	// AcceptableErrorClasses are other classes an implementation may
	// reasonably report for the same input.
	AcceptableErrorClasses []string `json:"acceptable_error_classes"`
	// ExpectedX25519PublicHex (kind key, ExpectOK) is the public key (hex) the
	// key file must yield.
	ExpectedX25519PublicHex string `json:"expected_x25519_public_hex"`
	// KeyKind (kind key) is the kind of key file, one of the Kind* constants.
	KeyKind string `json:"key_kind"`
	// SourceFile (kind reencrypt) is the file that was re-encrypted into File
	// (or HeaderFile).
	SourceFile string `json:"source_file"`
	// SourceSecretKey (kind reencrypt) is the key that decrypts SourceFile.
	SourceSecretKey string `json:"source_secret_key"`
	// SourcePassphrase (kind reencrypt) is SourceSecretKey's passphrase, nil
	// if unencrypted.
	SourcePassphrase *string `json:"source_passphrase"`
	// RecipientPKs (kind reencrypt) are the public key files re-encrypted for.
	RecipientPKs []string `json:"recipient_pks"`
	// Trim (kind reencrypt) reports whether undecryptable packets were dropped.
	Trim bool `json:"trim"`
	// HeaderOnly (kind reencrypt) reports whether only the header was rewritten.
	HeaderOnly bool `json:"header_only"`
	// HeaderPacketRecipients is informational: for each header packet, the
	// key name(s) that can decrypt it.
	HeaderPacketRecipients []string `json:"header_packet_recipients"`
	// Notes says what the case is about and known peer behaviour.
	Notes string `json:"notes"`
	// VerifiedBy lists peers that produced the expected result (ExpectOK).
	VerifiedBy []string `json:"verified_by"`
	// RejectedBy lists peers that rejected the file (ExpectError).
	RejectedBy []string `json:"rejected_by"`
	// PeerDeviations maps a peer to what it did instead (known peer bugs,
	// not expectations).
	PeerDeviations map[string]string `json:"peer_deviations"`
}

// Dir returns the absolute vectors directory, failing tb if it cannot be
// found or has no manifest.json.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := find()
	if err != nil {
		tb.Fatalf("testvectors: %v (set %s to the vectors directory)", err, EnvVar)
	}
	return dir
}

// find implements Dir without testing.TB.
func find() (string, error) {
	if env := os.Getenv(EnvVar); env != "" {
		return check(env)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return check(filepath.Join(d, "..", "shared", "vectors"))
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod found above %s", wd)
		}
		d = parent
	}
}

// check makes dir absolute and verifies that it holds a manifest.
func check(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(abs, ManifestName)); err != nil {
		return "", fmt.Errorf("vectors directory %s is unusable: %w", abs, err)
	}
	return abs, nil
}

// Load reads the manifest from Dir(tb), failing tb on any error.
func Load(tb testing.TB) *Manifest {
	tb.Helper()
	m, err := ReadManifest(Dir(tb))
	if err != nil {
		tb.Fatalf("testvectors: %v", err)
	}
	return m
}

// ReadManifest reads and decodes dir/manifest.json and sets the result's Dir
// to dir (made absolute). Unknown JSON fields are ignored.
func ReadManifest(dir string) (*Manifest, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(abs, ManifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", ManifestName, err)
	}
	if len(m.Cases) == 0 && len(m.Keys) == 0 {
		return nil, errors.New(ManifestName + " has no cases and no keys")
	}
	m.Dir = abs
	return &m, nil
}

// Path returns the absolute path of rel, a path relative to the vectors
// directory as used throughout the manifest.
func (m *Manifest) Path(rel string) string {
	return filepath.Join(m.Dir, filepath.FromSlash(rel))
}

// ReadFile returns the content of rel (relative to the vectors directory),
// failing tb if it cannot be read.
func (m *Manifest) ReadFile(tb testing.TB, rel string) []byte {
	tb.Helper()
	data, err := os.ReadFile(m.Path(rel))
	if err != nil {
		tb.Fatalf("testvectors: %v", err)
	}
	return data
}

// KeyByName returns the key entry with the given Name, or nil.
func (m *Manifest) KeyByName(name string) *Key {
	for i := range m.Keys {
		if m.Keys[i].Name == name {
			return &m.Keys[i]
		}
	}
	return nil
}

// KeyByFile returns the key entry describing the given file (a path relative
// to the vectors directory, as in Case.SecretKey), or nil.
func (m *Manifest) KeyByFile(file string) *Key {
	for i := range m.Keys {
		if m.Keys[i].File == file {
			return &m.Keys[i]
		}
	}
	return nil
}

// KeysOfKind returns the key entries with the given Kind.
func (m *Manifest) KeysOfKind(kind string) []Key {
	var out []Key
	for _, k := range m.Keys {
		if k.Kind == kind {
			out = append(out, k)
		}
	}
	return out
}

// CasesOfKind returns the cases with the given Kind.
func (m *Manifest) CasesOfKind(kind string) []Case {
	var out []Case
	for _, c := range m.Cases {
		if c.Kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// Files returns the contents of the files of the vectors directory that
// match the glob pattern (relative to Dir), in name order, failing tb if
// there are none: fuzz seed corpora must never be silently empty.
func Files(tb testing.TB, pattern string) [][]byte {
	tb.Helper()
	dir := Dir(tb)
	paths, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no files match %s in %s (%v)", pattern, dir, err)
	}
	out := make([][]byte, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// GenomicsEnvVar overrides the directory of real genomic test files.
const GenomicsEnvVar = "CRYPT4GH_GENOMICS"

// GenomicsDir returns the directory of small real BAM, CRAM, VCF and BCF
// files with their indexes: $CRYPT4GH_GENOMICS, or ../shared/testdata/genomics
// beside the module root. A missing directory fails the test.
func GenomicsDir(tb testing.TB) string {
	tb.Helper()
	dir, err := FindGenomics()
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// FindGenomics is GenomicsDir for callers without a testing.TB (TestMain).
func FindGenomics() (string, error) {
	dir := os.Getenv(GenomicsEnvVar)
	if dir == "" {
		vectors, err := find()
		if err != nil {
			return "", fmt.Errorf("testvectors: %v (set %s to the genomics directory)", err, GenomicsEnvVar)
		}
		dir = filepath.Join(filepath.Dir(vectors), "testdata", "genomics")
	}
	if _, err := os.Stat(filepath.Join(dir, "htsnexus_test_NA12878.bam")); err != nil {
		return "", fmt.Errorf("testvectors: genomics test files not found in %s (set %s)", dir, GenomicsEnvVar)
	}
	return dir, nil
}
