package pkcs11key

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/miekg/pkcs11"
	"golang.org/x/crypto/curve25519"
)

// Generate creates a new X25519 key pair in the token, labelled
// cfg.KeyLabel, and opens it. The private key is a token object that is
// private, sensitive, non-extractable and usable only for derivation; the
// public key object holds the raw 32-byte CKA_EC_POINT. It fails with
// ErrKeyExists if a private key with that label exists, and checks after
// generation that the token honoured sensitive/non-extractable (destroying
// the pair if not).
func Generate(cfg Config) (*Key, error) {
	return create(cfg, func(ctx *pkcs11.Ctx, h pkcs11.SessionHandle, prof profile, id []byte) ([]pkcs11.ObjectHandle, error) {
		pubTmpl := []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, prof.keyType),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, cfg.KeyLabel),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, x25519OID),
		}
		mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(prof.keyGen, nil)}
		pub, priv, err := ctx.GenerateKeyPair(h, mech, pubTmpl, privateTemplate(prof, cfg.KeyLabel, id))
		if err != nil {
			return nil, stepError(fmt.Sprintf("C_GenerateKeyPair(%s, %q)", prof.name, cfg.KeyLabel), err)
		}
		return []pkcs11.ObjectHandle{priv, pub}, nil
	})
}

// Import stores an existing X25519 secret (for example the secret of a
// Crypt4GH archive key file) in the token as a private, sensitive,
// non-extractable token object labelled cfg.KeyLabel, with a public key
// object next to it, and opens it. The copy of secret made here is zeroed
// before Import returns; the caller still owns (and should clear) secret.
// The PKCS#11 library copies the value into C memory it frees without
// clearing, which this package cannot control.
func Import(cfg Config, secret []byte) (*Key, error) {
	if len(secret) != 32 {
		return nil, fmt.Errorf("%w: X25519 secret is %d bytes, want 32", ErrConfig, len(secret))
	}
	pub, err := curve25519.X25519(secret, curve25519.Basepoint)
	if err != nil {
		return nil, fmt.Errorf("%w: X25519 secret: %v", ErrConfig, err)
	}
	value := append([]byte(nil), secret...)
	defer clear(value)
	k, err := create(cfg, func(ctx *pkcs11.Ctx, h pkcs11.SessionHandle, prof profile, id []byte) ([]pkcs11.ObjectHandle, error) {
		privTmpl := append(privateTemplate(prof, cfg.KeyLabel, id),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, x25519OID),
			pkcs11.NewAttribute(pkcs11.CKA_VALUE, value))
		priv, err := ctx.CreateObject(h, privTmpl)
		if err != nil {
			return nil, stepError(fmt.Sprintf("C_CreateObject(private key %q)", cfg.KeyLabel), err)
		}
		pubObj, err := ctx.CreateObject(h, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PUBLIC_KEY),
			pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, prof.keyType),
			pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
			pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, cfg.KeyLabel),
			pkcs11.NewAttribute(pkcs11.CKA_ID, id),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, x25519OID),
			pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, pub),
		})
		if err != nil {
			return []pkcs11.ObjectHandle{priv}, stepError(fmt.Sprintf("C_CreateObject(public key %q)", cfg.KeyLabel), err)
		}
		return []pkcs11.ObjectHandle{priv, pubObj}, nil
	})
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(k.PublicKey(), pub) != 1 {
		// Open checked the public key object against the token's own
		// computation, so this means the token altered the secret.
		k.Close()
		Delete(cfg)
		return nil, fmt.Errorf("%w: the token computes a different public key for the imported secret", ErrKeyMismatch)
	}
	return k, nil
}

func privateTemplate(prof profile, label string, id []byte) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, prof.keyType),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, false),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
		pkcs11.NewAttribute(pkcs11.CKA_ID, id),
	}
}

// create runs build in a read-write session after checking the label is
// free, checks the private key (the first handle build returns) is
// sensitive and non-extractable, and opens the result. On any failure it
// destroys what build created.
func create(cfg Config, build func(*pkcs11.Ctx, pkcs11.SessionHandle, profile, []byte) ([]pkcs11.ObjectHandle, error)) (*Key, error) {
	prof, err := cfg.check()
	if err != nil {
		return nil, err
	}
	sess, err := openAdminSession(cfg, true)
	if err != nil {
		return nil, err
	}
	defer sess.close()
	mod, h := sess.mod, sess.h
	ctx := mod.ctx

	existing, err := findObjects(ctx, h, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, cfg.KeyLabel),
	}, 1)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("%w: %q on token %q", ErrKeyExists, cfg.KeyLabel, cfg.TokenLabel)
	}

	// CKA_ID pairs the private and public objects, as PKCS#11 tools
	// expect; a random one avoids clashes with other keys.
	id := randomID()
	objs, err := build(ctx, h, prof, id)
	destroy := func() {
		for _, o := range objs {
			ctx.DestroyObject(h, o)
		}
	}
	if err != nil {
		destroy()
		return nil, err
	}
	if err := checkProtected(ctx, h, objs[0], cfg.KeyLabel); err != nil {
		destroy()
		return nil, err
	}
	k, err := Open(cfg)
	if err != nil {
		destroy()
		return nil, err
	}
	return k, nil
}

// adminSession is a logged-in session on a token for the admin
// functions, holding its module loaded.
type adminSession struct {
	mod *module
	h   pkcs11.SessionHandle
}

// openAdminSession loads cfg's module, finds its token and opens a
// logged-in session, read-write if rw.
func openAdminSession(cfg Config, rw bool) (*adminSession, error) {
	mod, err := acquireModule(cfg.Module)
	if err != nil {
		return nil, err
	}
	slot, err := mod.findToken(cfg.TokenLabel)
	if err != nil {
		mod.release()
		return nil, err
	}
	h, err := mod.openSession(slot, cfg, rw)
	if err != nil {
		mod.release()
		return nil, err
	}
	return &adminSession{mod: mod, h: h}, nil
}

func (s *adminSession) close() {
	s.mod.ctx.CloseSession(s.h)
	s.mod.release()
}

func randomID() []byte {
	id := make([]byte, 16)
	rand.Read(id)
	return id
}

// checkProtected refuses a private key the token made readable.
func checkProtected(ctx *pkcs11.Ctx, h pkcs11.SessionHandle, priv pkcs11.ObjectHandle, label string) error {
	attrs, err := ctx.GetAttributeValue(h, priv, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
	})
	if err != nil {
		return stepError(fmt.Sprintf("C_GetAttributeValue(protection of %q)", label), err)
	}
	if !boolAttr(attrs[0]) || boolAttr(attrs[1]) {
		return fmt.Errorf("pkcs11key: the token created %q without CKA_SENSITIVE=true, CKA_EXTRACTABLE=false", label)
	}
	return nil
}

func boolAttr(a *pkcs11.Attribute) bool { return len(a.Value) == 1 && a.Value[0] != 0 }

// KeyInfo describes an X25519 private key in a token.
type KeyInfo struct {
	Label string
	ID    []byte
	// PublicKey is computed in the token, so it is present even when the
	// token holds no public key object.
	PublicKey []byte
	// Sensitive and Extractable are the private key's CKA_SENSITIVE and
	// CKA_EXTRACTABLE; an archive key should be sensitive and not
	// extractable.
	Sensitive   bool
	Extractable bool
}

// List returns the X25519 private keys of cfg.Profile's type in the token
// (cfg.KeyLabel is ignored). Keys of that type on another curve, such as
// Ed25519 signing keys, are skipped.
func List(cfg Config) ([]KeyInfo, error) {
	prof, err := cfg.checkToken()
	if err != nil {
		return nil, err
	}
	sess, err := openAdminSession(cfg, false)
	if err != nil {
		return nil, err
	}
	defer sess.close()
	mod, h := sess.mod, sess.h
	ctx := mod.ctx

	// A token holds few keys; the bound only stops a runaway listing.
	const maxKeys = 10000
	objs, err := findObjects(ctx, h, []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_PRIVATE_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, prof.keyType),
	}, maxKeys)
	if err != nil {
		return nil, err
	}
	if len(objs) > maxKeys {
		return nil, fmt.Errorf("pkcs11key: token %q holds more than %d keys", cfg.TokenLabel, maxKeys)
	}
	var out []KeyInfo
	for _, o := range objs {
		attrs, err := ctx.GetAttributeValue(h, o, []*pkcs11.Attribute{
			pkcs11.NewAttribute(pkcs11.CKA_LABEL, nil),
			pkcs11.NewAttribute(pkcs11.CKA_ID, nil),
			pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil),
			pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, nil),
			pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, nil),
		})
		if err != nil {
			return nil, stepError("C_GetAttributeValue(key attributes)", err)
		}
		if !isX25519Params(attrs[2].Value) {
			continue
		}
		info := KeyInfo{
			Label:       string(attrs[0].Value),
			ID:          attrs[1].Value,
			Sensitive:   boolAttr(attrs[3]),
			Extractable: boolAttr(attrs[4]),
		}
		pub, err := derivePublic(ctx, h, o)
		if err != nil {
			return nil, fmt.Errorf("pkcs11key: key %q: %w", info.Label, err)
		}
		info.PublicKey = pub[:]
		out = append(out, info)
	}
	return out, nil
}

// Delete destroys the private key labelled cfg.KeyLabel and the public
// key objects with that label. It returns ErrKeyNotFound if there is no
// such private key. Deleting an archive key makes every file encrypted to
// it unreadable unless another copy exists.
func Delete(cfg Config) error {
	prof, err := cfg.check()
	if err != nil {
		return err
	}
	sess, err := openAdminSession(cfg, true)
	if err != nil {
		return err
	}
	defer sess.close()
	mod, h := sess.mod, sess.h
	const max = 100
	privs, err := findObjects(mod.ctx, h, keyTemplate(pkcs11.CKO_PRIVATE_KEY, prof, cfg.KeyLabel), max)
	if err != nil {
		return err
	}
	if len(privs) == 0 {
		return fmt.Errorf("%w: no %s private key labelled %q", ErrKeyNotFound, prof.name, cfg.KeyLabel)
	}
	pubs, err := findObjects(mod.ctx, h, keyTemplate(pkcs11.CKO_PUBLIC_KEY, prof, cfg.KeyLabel), max)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range append(privs, pubs...) {
		if err := mod.ctx.DestroyObject(h, o); err != nil {
			errs = append(errs, stepError(fmt.Sprintf("C_DestroyObject(%q)", cfg.KeyLabel), err))
		}
	}
	return errors.Join(errs...)
}
