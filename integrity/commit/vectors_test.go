package commit

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the current implementation")

// vectorFile is testdata/vectors.json: known answers that pin every detail
// of the constructions (domain strings, bit order, the Toeplitz matrix) so
// another implementation can check itself against this one.
type vectorFile struct {
	Comment string `json:"comment"`
	// ToeplitzSeed and ToeplitzSHA256 pin A: t is the first 1795 bits of
	// SHAKE256(seed) in little-endian bit order, and the SHA-256 of its 225
	// bytes (unused top bits cleared) is given.
	ToeplitzSeed   string   `json:"toeplitz_seed"`
	ToeplitzSHA256 string   `json:"toeplitz_sha256"`
	Vectors        []vector `json:"vectors"`
}

type vector struct {
	Scheme string `json:"scheme"`
	Msg    string `json:"msg"`
	// Random is exactly the bytes Commit reads from rnd.
	Random     string `json:"random"`
	Commitment string `json:"commitment"`
	Opening    string `json:"opening"`
}

const vectorsPath = "testdata/vectors.json"

// vectorRandom is the deterministic randomness for the vectors.
func vectorRandom(i, n int) []byte {
	return sha3.SumSHAKE256([]byte("crypt4gh-go integrity commit test vector "+string(rune('A'+i))), n)
}

func generateVectors(t *testing.T) vectorFile {
	t.Helper()
	msgs := []string{"", "00", hex.EncodeToString([]byte("A>G")),
		hex.EncodeToString([]byte("chr1\t10177\trs367896724\tA\tAC")),
		hex.EncodeToString(bytes.Repeat([]byte{0xa5}, 300))}
	vf := vectorFile{
		Comment:        "hex throughout; random is the exact bytes Commit reads from its randomness source",
		ToeplitzSeed:   toeplitzSeed,
		ToeplitzSHA256: hex.EncodeToString(sha256Sum(toeplitzBits())),
	}
	i := 0
	for _, s := range schemes() {
		for _, m := range msgs {
			msg, _ := hex.DecodeString(m)
			rnd := vectorRandom(i, s.OpeningSize())
			if s.Name() == NameHM && i%2 == 0 {
				rnd[len(rnd)-1] |= 0xf0 // exercise the padding mask
			}
			i++
			c := make([]byte, s.CommitmentSize())
			o := make([]byte, s.OpeningSize())
			if err := s.Commit(c, o, msg, bytes.NewReader(rnd)); err != nil {
				t.Fatal(err)
			}
			vf.Vectors = append(vf.Vectors, vector{s.Name(), m, hex.EncodeToString(rnd), hex.EncodeToString(c), hex.EncodeToString(o)})
		}
	}
	return vf
}

func sha256Sum(b []byte) []byte { h := sha256.Sum256(b); return h[:] }

func TestVectors(t *testing.T) {
	if *update {
		out, err := json.MarshalIndent(generateVectors(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(data, &vf); err != nil {
		t.Fatal(err)
	}
	if len(vf.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	t_ := sha3.SumSHAKE256([]byte(vf.ToeplitzSeed), 225)
	t_[224] &= 0x07
	if vf.ToeplitzSeed != toeplitzSeed || hex.EncodeToString(sha256Sum(t_)) != vf.ToeplitzSHA256 {
		t.Errorf("Toeplitz seed or t differ from the vectors")
	}
	schemesSeen := map[string]bool{}
	for i, v := range vf.Vectors {
		s, err := ByName(v.Scheme)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		schemesSeen[v.Scheme] = true
		msg, _ := hex.DecodeString(v.Msg)
		rnd, _ := hex.DecodeString(v.Random)
		want, _ := hex.DecodeString(v.Commitment)
		wantO, _ := hex.DecodeString(v.Opening)
		c := make([]byte, s.CommitmentSize())
		o := make([]byte, s.OpeningSize())
		if err := s.Commit(c, o, msg, bytes.NewReader(rnd)); err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if !bytes.Equal(c, want) || !bytes.Equal(o, wantO) {
			t.Errorf("vector %d (%s, msg %s):\n got c=%x o=%x\nwant c=%x o=%x", i, v.Scheme, v.Msg, c, o, want, wantO)
		}
		if !s.Verify(want, wantO, msg) {
			t.Errorf("vector %d: Verify rejects the known answer", i)
		}
	}
	for _, s := range schemes() {
		if !schemesSeen[s.Name()] {
			t.Errorf("no vectors for %s", s.Name())
		}
	}
}
