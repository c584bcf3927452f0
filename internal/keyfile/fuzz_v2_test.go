package keyfile

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// addV2Seeds adds version 2 keys of every type (private: clear and
// encrypted with each KDF; public) and a few malformed variants.
func addV2Seeds(f *testing.F) {
	n := 0
	add := func(b []byte) { f.Add(b); n++ }
	for i, kt := range v2Types {
		secret := v2Secret(f, kt)
		plain, err := MarshalV2PrivateKey(kt, secret, nil, WriteOptions{Comment: "seed " + kt})
		if err != nil {
			f.Fatal(err)
		}
		add(plain)
		add(toCRLF(plain))
		kdf := allKDFs[1+i%3]
		enc, err := MarshalV2PrivateKey(kt, secret, []byte("pw"), fastOptions(kdf))
		if err != nil {
			f.Fatal(err)
		}
		add(enc)
		pub := MarshalV2PublicKey(kt, v2Public(f, kt))
		add(pub)
		add(wrapBody(pub, 64))
	}
	add(encodeArmor(LabelV2Private, v2PrivBody("unknown", KDFNone, nil, CipherNone, make([]byte, 32), nil)))
	add(encodeArmor(LabelV2Public, v2PubBody(KeyTypeEd25519, make([]byte, 31))))
	add(encodeArmor(LabelV2Private, []byte(magicV2)))
	v1, err := MarshalPrivateKey(testSecret(1), nil, WriteOptions{})
	if err != nil {
		f.Fatal(err)
	}
	add(v1)
	if n == 0 {
		f.Fatal("no seeds")
	}
}

func FuzzParseV2PrivateKey(f *testing.F) {
	addV2Seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		isPriv := IsV2PrivateKey(data)
		key, err := ParseV2PrivateKey(data, refusePassphrase)
		kt, typeErr := V2PrivateKeyType(data)
		if err != nil {
			checkError(t, err)
			if typeErr == nil && !errors.Is(err, errFuzzPassphrase) {
				t.Fatalf("V2PrivateKeyType accepted what ParseV2PrivateKey rejects: %v", err)
			}
			return
		}
		if !isPriv || IsV2PublicKey(data) || IsPrivateKey(data) || IsPublicKey(data) {
			t.Fatalf("parsed, but IsV2PrivateKey=%v IsV2PublicKey=%v", isPriv, IsV2PublicKey(data))
		}
		if typeErr != nil || kt != key.Type {
			t.Fatalf("V2PrivateKeyType = %q, %v; parsed type %q", kt, typeErr, key.Type)
		}
		if key.Encrypted {
			t.Fatal("an encrypted key opened without a passphrase")
		}
		if s, _, _ := V2KeySizes(key.Type); len(key.Secret) != s {
			t.Fatalf("%s secret of %d bytes", key.Type, len(key.Secret))
		}
		label := key.Label
		if strings.ContainsAny(label, "\r\n") {
			label = ""
		}
		out, err := MarshalV2PrivateKey(key.Type, key.Secret, nil, WriteOptions{Comment: key.Comment, Label: label})
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseV2PrivateKey(out, refusePassphrase)
		if err != nil {
			t.Fatalf("re-parsing %q: %v", out, err)
		}
		if again.Type != key.Type || !bytes.Equal(again.Secret, key.Secret) || again.Comment != key.Comment {
			t.Fatalf("round trip changed the key: %+v -> %+v", *key, *again)
		}
	})
}

func FuzzParseV2PublicKey(f *testing.F) {
	addV2Seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		isPub := IsV2PublicKey(data)
		kt, pub, err := ParseV2PublicKey(data)
		if err != nil {
			checkError(t, err)
			return
		}
		if !isPub || IsV2PrivateKey(data) || IsPublicKey(data) || IsPrivateKey(data) {
			t.Fatalf("parsed, but IsV2PublicKey=%v IsV2PrivateKey=%v", isPub, IsV2PrivateKey(data))
		}
		if _, p, _ := V2KeySizes(kt); len(pub) != p {
			t.Fatalf("%s public key of %d bytes", kt, len(pub))
		}
		kt2, pub2, err := ParseV2PublicKey(MarshalV2PublicKey(kt, pub))
		if err != nil || kt2 != kt || !bytes.Equal(pub2, pub) {
			t.Fatalf("round trip: %q -> %q, %v", kt, kt2, err)
		}
	})
}
