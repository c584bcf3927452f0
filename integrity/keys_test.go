package integrity

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
)

// decryptKeys returns the plaintext of a generation's opening keys.
func decryptKeys(t *testing.T, w *world, dir string, g int) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, keysFile(g)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := crypt4gh.Decrypt(f, w.owner)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpeningKeys checks what the dataset stores in place of openings:
// one fresh key per chunk (never reused, within or across generations),
// encrypted for the owner, from which the openings in a proof derive; and
// that the secret file is as small as that makes it.
func TestOpeningKeys(t *testing.T) {
	w := newWorld(t)
	tab := synthTable(t, []Contig{{"chr1", 5000}, {"chr2", 1500}}, 9, 3)
	dir := filepath.Join(t.TempDir(), "ds")
	if _, err := Protect(context.Background(), dir, tab.clone(), ProtectOptions{
		Signer: w.lab, Stamper: w.tsa.At(w.start), Owner: []crypt4gh.Recipient{w.owner.Recipient()}, CacheLevel: 7,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(context.Background(), dir, OpRecommit, UpdateOptions{
		Stamper: w.tsa.At(w.start.AddDate(1, 0, 0)), Table: tab.clone(), Identity: w.owner, Owner: []crypt4gh.Recipient{w.owner.Recipient()},
	}); err != nil {
		t.Fatal(err)
	}
	chunks := (6500 + 127) / 128
	seen := map[string]bool{}
	for g := range 2 {
		keys := decryptKeys(t, w, dir, g)
		if len(keys) != chunks*commit.OpeningKeySize {
			t.Fatalf("generation %d: %d bytes of keys, want %d chunks × %d", g, len(keys), chunks, commit.OpeningKeySize)
		}
		for k := 0; k < len(keys); k += commit.OpeningKeySize {
			key := string(keys[k : k+commit.OpeningKeySize])
			if seen[key] || key == string(make([]byte, commit.OpeningKeySize)) {
				t.Fatalf("generation %d: key %d is zero or reused", g, k/commit.OpeningKeySize)
			}
			seen[key] = true
		}
		fi, err := os.Stat(filepath.Join(dir, keysFile(g)))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("generation %d: keys file mode %v, want 0600", g, fi.Mode().Perm())
		}
		// Crypt4GH adds a header (well under 1 KiB here) and 28 bytes per
		// segment; the file holds nothing else.
		if fi.Size() > int64(len(keys))+1024 {
			t.Errorf("generation %d: keys file is %d bytes for %d bytes of keys", g, fi.Size(), len(keys))
		}
	}

	// The openings in a proof are the key streams of their chunks.
	r, _ := tab.layout.Region("chr1:4000-4300") // spans chunks 31..33
	p := w.prove(dir, tab.clone(), r)
	keys := decryptKeys(t, w, dir, 0)
	s := commit.Default()
	for i, pos := range expand(p.Ranges) {
		c := pos / 128
		key := (*[commit.OpeningKeySize]byte)(keys[c*commit.OpeningKeySize:])
		raw := make([]byte, s.OpeningSize())
		io.ReadFull(commit.NewOpeningStream(key, (pos%128)*uint64(s.OpeningSize())), raw)
		s.OpeningFrom(raw, raw)
		if !bytes.Equal(raw, p.Generations[0].Openings[i]) {
			t.Fatalf("the opening at %d is not its chunk key's stream", pos)
		}
	}
	if _, err := Verify(p, w.verifyOpts(w.start.AddDate(2, 0, 0))); err != nil {
		t.Fatal(err)
	}

	// Another key cannot make proofs; a tampered keys file is caught by
	// Crypt4GH's authentication.
	stranger, _ := crypt4gh.GenerateX25519Identity()
	if _, err := PartialProof(context.Background(), dir, []Range{r}, ProveOptions{Table: tab.clone(), Identity: stranger}); err == nil {
		t.Error("a stranger's key made a proof")
	}
	kf := filepath.Join(dir, keysFile(0))
	b, _ := os.ReadFile(kf)
	b[len(b)-40] ^= 1
	os.WriteFile(kf, b, 0o600)
	if _, err := PartialProof(context.Background(), dir, []Range{r}, ProveOptions{Table: tab.clone(), Identity: w.owner}); err == nil {
		t.Error("a tampered keys file made a proof")
	}
}

// TestDatasetVersion1Refused: datasets of the first layout, which stored
// every opening, are named as such rather than misread.
func TestDatasetVersion1Refused(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(t.TempDir(), "ds")
	w.protect(dir, synthTable(t, []Contig{{"chr1", 3000}}, 9, 4), w.start)
	mf := filepath.Join(dir, manifestName)
	b, _ := os.ReadFile(mf)
	os.WriteFile(mf, bytes.Replace(b, []byte(`"version": 2`), []byte(`"version": 1`), 1), 0o644)
	_, err := Open(dir)
	if err == nil || !strings.Contains(err.Error(), "version 1") {
		t.Fatalf("got %v, want an error naming version 1", err)
	}
}
