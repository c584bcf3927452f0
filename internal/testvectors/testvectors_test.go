package testvectors

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The structs must describe every field the manifest uses: decode strictly.
func TestManifestStructsAreComplete(t *testing.T) {
	dir := Dir(t)
	data, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("manifest has a field the structs lack: %v", err)
	}
}

func TestLoadAndReferencedFiles(t *testing.T) {
	m := Load(t)
	if m.Format != 1 {
		t.Errorf("format = %d, want 1", m.Format)
	}
	if len(m.Keys) == 0 || len(m.Cases) == 0 {
		t.Fatalf("got %d keys and %d cases", len(m.Keys), len(m.Cases))
	}
	exists := func(what, rel string) {
		t.Helper()
		if rel == "" {
			return
		}
		if _, err := os.Stat(m.Path(rel)); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	kinds := map[string]bool{KindC4GHPrivate: true, KindC4GHPublic: true, KindSSHPrivate: true, KindSSHPublic: true}
	for _, k := range m.Keys {
		if !kinds[k.Kind] {
			t.Errorf("key %s: unknown kind %q", k.Name, k.Kind)
		}
		if len(k.ExpectedX25519PublicHex) != 64 {
			t.Errorf("key %s: expected_x25519_public_hex = %q", k.Name, k.ExpectedX25519PublicHex)
		}
		exists(k.Name, k.File)
		exists(k.Name, k.PublicKey)
		if m.KeyByName(k.Name) == nil || m.KeyByFile(k.File) == nil {
			t.Errorf("key %s: lookup failed", k.Name)
		}
	}
	expects := map[string]bool{ExpectOK: true, ExpectError: true, ExpectOKTruncated: true}
	for _, c := range m.Cases {
		if !expects[c.Expect] {
			t.Errorf("case %s: unknown expect %q", c.Name, c.Expect)
		}
		for _, rel := range append([]string{c.File, c.HeaderFile, c.SecretKey, c.SenderPK, c.Plaintext,
			c.SourcePlaintext, c.SourceFile, c.SourceSecretKey}, c.RecipientPKs...) {
			exists(c.Name, rel)
		}
	}
	if len(m.KeysOfKind(KindC4GHPrivate)) == 0 || len(m.CasesOfKind(CaseKey)) == 0 {
		t.Error("KeysOfKind/CasesOfKind found nothing")
	}
	if got := m.ReadFile(t, m.Keys[0].File); len(got) == 0 {
		t.Errorf("ReadFile(%s) is empty", m.Keys[0].File)
	}
}

func TestEnvOverride(t *testing.T) {
	want := Dir(t)
	t.Setenv(EnvVar, want)
	if got := Dir(t); got != want {
		t.Errorf("Dir with %s=%s = %s", EnvVar, want, got)
	}
	t.Setenv(EnvVar, t.TempDir())
	if _, err := find(); err == nil {
		t.Errorf("a directory without %s was accepted", ManifestName)
	}
}
