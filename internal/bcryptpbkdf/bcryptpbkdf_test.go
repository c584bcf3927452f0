package bcryptpbkdf

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The expected outputs below were computed with an independent implementation:
// pyca/bcrypt 3.2.2 (Debian python3-bcrypt, wrapping OpenBSD's bcrypt_pbkdf.c)
// via `python3 -c 'import bcrypt; print(bcrypt.kdf(password, salt, keyLen, rounds).hex())'`.
// pyca/bcrypt refuses key lengths above 512, so 512 is the longest KAT here.
// The first entry is also the widely published bcrypt_pbkdf test vector.
var kats = []struct {
	password, salt string // hex
	rounds, keyLen int
	want           string // hex
}{
	{"70617373776f7264", "73616c74", 4, 32, "5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9"},
	{"70617373776f7264", "73616c74", 4, 1, "5b"},
	{"70617373776f7264", "73616c74", 1, 33, "7aecf4a3148069a4e52b28a060c4da05492ede72bf0caa4f6a2a4e5f1252a24ccb"},
	{"636f727265637420686f727365206261747465727920737461706c65", "000102030405060708090a0b0c0d0e0f", 16, 48,
		"800e37c007983f658e60a0bb3d6d9da43b1adf37371d89ce9a5506d6ed3efcf91f79d8b9d7617ea8f98bf45c362a3153"},
	{strings.Repeat("00ff", 40), strings.Repeat("73", 100), 2, 64,
		"0ebfdd28425dfb264b9eae06b1f9e3e8a453e101818f753d9462b8118b25ea1d9e3f760465d43c9121dc11d73af7984e77b8db114ab6ae6b9f2cc0088188eb90"},
	{"70", "78", 3, 100,
		"435d4862143595f5c65f26e842a78d5cc48b7ce725e046d3747d6e84b8f62fbaf96cdd49212dd16564a194ac2f5809ae1b5d384bb1d1857cad042b979920626b53030a8453e70ae49398c86b27c3ad587277dea8bf8ffcc3a03e40a1f2c46601bab327ed"},
	{"616c696365", "00112233445566778899aabbccddeeff", 100, 32, "f4d7674274e4726713d8450c10b480c6ce2ed72d59cb443286b40358d0e118bd"},
	{"6b", "73616c74", 2, 512,
		"99dbd078f45dc047f130b5aeb23fed89d0d465c8b909402ceb0132b99cd4a0a140135fcbf4ae2e9d298e6ae5183dc12560077e29334c7bb89d98b6c590792d64" +
			"6467ed3805bbec78cf212218d6e835936a47dfeab3adf21d715af88a4cfa588fac860f831e631606a3c8b4e66f116b44218d0db407f968de4b97d6f818e05dbd" +
			"df59723d3c966c64d80fef9c0ae082fd94443f2115e18b6ed80b3d5c48021f5961fc68d75e0625bf204846bc640d88d7cbd5465b7b721d30f2e63dd0315aef79" +
			"3bdd8677b75e5f58aafae3acef116df9eb2e10cc09846e090aef080b6addc0fd960a15d1233640b9a4ea6d0f5905f5d6d50c074f30dfc8b5eb5adbfe12198d4b5" +
			"1c6f90d9c9dd2a987a5a0b0e7e6e38f0b6570b0451908c99254910aa64ee801234ac86b6cb18bccdec0ef30097d098b1a19156583a8299a8ae9e534cf856887f" +
			"9bc9848664f106d1e320da1a8742044c12119330f197f2f89ed16d3f3af13772b44db0ee02b1817e7dfd133370f1d676014a55d77a8fa58b471102f24396b071" +
			"8601fa3eebee2d0b314a56abcb29bb272610eee391d485fd467e8c1a05d876ca1e082221ccc8399da0933b58568003efe6914af8ff468d21fc4e97fd646f3e67" +
			"bfe56c7b8ffbf5511de6ed8bd130b16edbf363f653bab8074346de738cc5018453144ff94269eddc7666b038b2e25f40a3f6ce45e007b95555a2cee8b65f4b0"},
}

func TestKnownAnswers(t *testing.T) {
	for _, k := range kats {
		got, err := Key(mustHex(t, k.password), mustHex(t, k.salt), k.rounds, k.keyLen)
		if err != nil {
			t.Fatalf("Key(%s, %s, %d, %d): %v", k.password, k.salt, k.rounds, k.keyLen, err)
		}
		if want := mustHex(t, k.want); !bytes.Equal(got, want) {
			t.Errorf("Key(%s, %s, %d, %d)\n got %x\nwant %x", k.password, k.salt, k.rounds, k.keyLen, got, want)
		}
	}
}

// A shorter key is not a prefix of a longer one (the output is interleaved),
// but every length must be deterministic and of the requested size, up to 1024.
func TestLengths(t *testing.T) {
	for _, n := range []int{1, 31, 32, 33, 64, 65, 513, 1023, 1024} {
		a, err := Key([]byte("pw"), []byte("salt"), 1, n)
		if err != nil {
			t.Fatalf("keyLen %d: %v", n, err)
		}
		b, _ := Key([]byte("pw"), []byte("salt"), 1, n)
		if len(a) != n || !bytes.Equal(a, b) {
			t.Fatalf("keyLen %d: got %d bytes, deterministic=%v", n, len(a), bytes.Equal(a, b))
		}
	}
}

func TestInvalidArguments(t *testing.T) {
	long := make([]byte, MaxSaltLen+1)
	for _, c := range []struct {
		name           string
		pw, salt       []byte
		rounds, keyLen int
	}{
		{"zero rounds", []byte("p"), []byte("s"), 0, 32},
		{"negative rounds", []byte("p"), []byte("s"), -1, 32},
		{"empty password", nil, []byte("s"), 1, 32},
		{"empty salt", []byte("p"), []byte{}, 1, 32},
		{"salt too long", []byte("p"), long, 1, 32},
		{"zero keyLen", []byte("p"), []byte("s"), 1, 0},
		{"keyLen too big", []byte("p"), []byte("s"), 1, MaxKeyLen + 1},
	} {
		k, err := Key(c.pw, c.salt, c.rounds, c.keyLen)
		if err == nil || k != nil {
			t.Errorf("%s: got key %x, err %v; want an error", c.name, k, err)
		} else if !strings.HasPrefix(err.Error(), "bcryptpbkdf: ") {
			t.Errorf("%s: error %q lacks the package prefix", c.name, err)
		}
	}
}

func BenchmarkRound(b *testing.B) {
	for b.Loop() {
		if _, err := Key([]byte("password"), []byte("salt"), 1, 32); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzKey checks argument validation, output length and the output layout:
// byte i of the first 32-byte block lands at index i*stride, so those bytes
// equal the 32-byte key for the same inputs. Rounds are kept at 1 or 2 and
// keys at most 96 bytes so that each input costs a few milliseconds.
func FuzzKey(f *testing.F) {
	for _, k := range kats {
		f.Add(mustHex(f, k.password), mustHex(f, k.salt), uint8(1), uint8(k.keyLen))
	}
	f.Add([]byte{}, []byte("salt"), uint8(1), uint8(32))
	f.Add([]byte("pw"), []byte{}, uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, password, salt []byte, rounds, keyLen uint8) {
		r, n := int(rounds%3), int(keyLen%97)
		key, err := Key(password, salt, r, n)
		invalid := r < 1 || n < 1 || len(password) == 0 || len(salt) == 0
		if invalid != (err != nil) {
			t.Fatalf("Key(%d-byte password, %d-byte salt, %d, %d): err = %v", len(password), len(salt), r, n, err)
		}
		if err != nil {
			return
		}
		if len(key) != n {
			t.Fatalf("got %d bytes, want %d", len(key), n)
		}
		first, err := Key(password, salt, r, 32)
		if err != nil {
			t.Fatal(err)
		}
		stride := (n + 31) / 32
		for i := 0; i*stride < n; i++ {
			if key[i*stride] != first[i] {
				t.Fatalf("keyLen %d: byte %d is %#x, want %#x", n, i*stride, key[i*stride], first[i])
			}
		}
	})
}
