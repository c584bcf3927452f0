package pkcs11key

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/pkcs11"
)

// A PKCS#11 library is initialised once per process: a second
// C_Initialize fails and a C_Finalize ends every user's sessions. So Keys
// share one module per library, counted by references.
var (
	modulesMu sync.Mutex
	modules   = map[string]*module{}
)

type module struct {
	path string
	ctx  *pkcs11.Ctx
	refs int // guarded by modulesMu
	// owned is false if the library was already initialised by other code
	// in the process, which then also owns finalising it.
	owned bool

	loginMu sync.Mutex
	// logins maps a token (by label and serial number) to the SHA-256 of
	// the PIN that last logged in to it successfully; see the package
	// documentation.
	logins map[string][32]byte
}

func acquireModule(path string) (*module, error) {
	key := path
	if p, err := filepath.EvalSymlinks(path); err == nil {
		key = p
	}
	modulesMu.Lock()
	defer modulesMu.Unlock()
	if m := modules[key]; m != nil {
		m.refs++
		return m, nil
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("%w: cannot load PKCS#11 module %q", ErrConfig, path)
	}
	owned := true
	if err := ctx.Initialize(); err != nil {
		if !errors.Is(err, pkcs11.Error(pkcs11.CKR_CRYPTOKI_ALREADY_INITIALIZED)) {
			ctx.Destroy()
			return nil, stepError(fmt.Sprintf("C_Initialize(%s)", path), err)
		}
		owned = false
	}
	m := &module{path: key, ctx: ctx, refs: 1, owned: owned, logins: map[string][32]byte{}}
	modules[key] = m
	return m, nil
}

func (m *module) release() {
	modulesMu.Lock()
	defer modulesMu.Unlock()
	m.refs--
	if m.refs > 0 {
		return
	}
	delete(modules, m.path)
	if m.owned {
		m.ctx.Finalize()
	}
	m.ctx.Destroy()
}

// findToken returns the slot holding the one initialised token labelled
// label.
func (m *module) findToken(label string) (uint, error) {
	slots, err := m.ctx.GetSlotList(true)
	if err != nil {
		return 0, stepError("C_GetSlotList", err)
	}
	var found []uint
	var labels []string
	for _, s := range slots {
		ti, err := m.ctx.GetTokenInfo(s)
		if err != nil {
			return 0, stepError(fmt.Sprintf("C_GetTokenInfo(slot %d)", s), err)
		}
		if ti.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
			continue
		}
		if ti.Label == label {
			found = append(found, s)
		}
		labels = append(labels, fmt.Sprintf("%q", ti.Label))
	}
	switch len(found) {
	case 0:
		return 0, fmt.Errorf("%w: no token labelled %q in %s (tokens: %s)",
			ErrTokenNotFound, label, m.path, strings.Join(labels, ", "))
	case 1:
		return found[0], nil
	}
	return 0, fmt.Errorf("%w: %d tokens are labelled %q in %s", ErrConfig, len(found), label, m.path)
}

// openSession opens a serial session on slot (read-write if rw) and logs
// in as the user.
func (m *module) openSession(slot uint, cfg Config, rw bool) (pkcs11.SessionHandle, error) {
	flags := uint(pkcs11.CKF_SERIAL_SESSION)
	if rw {
		flags |= pkcs11.CKF_RW_SESSION
	}
	h, err := m.ctx.OpenSession(slot, flags)
	if err != nil {
		return 0, stepError(fmt.Sprintf("C_OpenSession(token %q)", cfg.TokenLabel), err)
	}
	if err := m.login(h, slot, cfg); err != nil {
		m.ctx.CloseSession(h)
		return 0, err
	}
	return h, nil
}

func (m *module) login(h pkcs11.SessionHandle, slot uint, cfg Config) error {
	ti, err := m.ctx.GetTokenInfo(slot)
	if err != nil {
		return stepError(fmt.Sprintf("C_GetTokenInfo(token %q)", cfg.TokenLabel), err)
	}
	token := ti.Label + "\x00" + ti.SerialNumber
	sum := sha256.Sum256([]byte(cfg.PIN))

	m.loginMu.Lock()
	defer m.loginMu.Unlock()
	err = m.ctx.Login(h, pkcs11.CKU_USER, cfg.PIN)
	switch {
	case err == nil:
		m.logins[token] = sum
		return nil
	case errors.Is(err, pkcs11.Error(pkcs11.CKR_USER_ALREADY_LOGGED_IN)):
		// The token did not check the PIN; check it against the one
		// that logged in.
		if prev, ok := m.logins[token]; ok && subtle.ConstantTimeCompare(prev[:], sum[:]) != 1 {
			return fmt.Errorf("%w for token %q (differs from the PIN this process is logged in with)", ErrPINIncorrect, cfg.TokenLabel)
		}
		return nil
	case errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_INCORRECT)),
		errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_INVALID)),
		errors.Is(err, pkcs11.Error(pkcs11.CKR_PIN_LEN_RANGE)):
		return fmt.Errorf("%w for token %q: C_Login: %w", ErrPINIncorrect, cfg.TokenLabel, err)
	}
	return stepError(fmt.Sprintf("C_Login(token %q)", cfg.TokenLabel), err)
}

// findObjects returns the handles of objects matching tmpl, at most max+1
// so callers can tell "too many".
func findObjects(ctx *pkcs11.Ctx, h pkcs11.SessionHandle, tmpl []*pkcs11.Attribute, max int) ([]pkcs11.ObjectHandle, error) {
	if err := ctx.FindObjectsInit(h, tmpl); err != nil {
		return nil, stepError("C_FindObjectsInit", err)
	}
	objs, _, err := ctx.FindObjects(h, max+1)
	if ferr := ctx.FindObjectsFinal(h); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		return nil, stepError("C_FindObjects", err)
	}
	return objs, nil
}

func keyTemplate(class uint, prof profile, label string) []*pkcs11.Attribute {
	return []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, class),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, prof.keyType),
		pkcs11.NewAttribute(pkcs11.CKA_LABEL, label),
	}
}

// findPrivateKey returns the one private key of the profile's type
// labelled label, after checking its curve.
func findPrivateKey(ctx *pkcs11.Ctx, h pkcs11.SessionHandle, prof profile, label string) (pkcs11.ObjectHandle, error) {
	objs, err := findObjects(ctx, h, keyTemplate(pkcs11.CKO_PRIVATE_KEY, prof, label), 1)
	if err != nil {
		return 0, err
	}
	switch len(objs) {
	case 0:
		return 0, fmt.Errorf("%w: no %s private key labelled %q", ErrKeyNotFound, prof.name, label)
	case 1:
	default:
		return 0, fmt.Errorf("%w: %q", ErrAmbiguousKey, label)
	}
	attrs, err := ctx.GetAttributeValue(h, objs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_PARAMS, nil)})
	if err != nil {
		return 0, stepError(fmt.Sprintf("C_GetAttributeValue(CKA_EC_PARAMS of %q)", label), err)
	}
	if !isX25519Params(attrs[0].Value) {
		return 0, fmt.Errorf("%w: %q has CKA_EC_PARAMS %x", ErrNotX25519, label, attrs[0].Value)
	}
	return objs[0], nil
}

// findPublicKey returns the CKA_EC_POINT of the public key object labelled
// label, or nil if there is none (the public key object is optional: the
// public key can always be recomputed in the token).
func findPublicKey(ctx *pkcs11.Ctx, h pkcs11.SessionHandle, prof profile, label string) ([]byte, error) {
	objs, err := findObjects(ctx, h, keyTemplate(pkcs11.CKO_PUBLIC_KEY, prof, label), 1)
	if err != nil {
		return nil, err
	}
	switch len(objs) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("%w: %d public keys labelled %q", ErrAmbiguousKey, len(objs), label)
	}
	attrs, err := ctx.GetAttributeValue(h, objs[0], []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_EC_POINT, nil)})
	if err != nil {
		return nil, stepError(fmt.Sprintf("C_GetAttributeValue(CKA_EC_POINT of %q)", label), err)
	}
	pub, err := ParseECPoint(attrs[0].Value)
	if err != nil {
		return nil, fmt.Errorf("public key object %q: %w", label, err)
	}
	return pub, nil
}

func isX25519Params(p []byte) bool {
	return bytes.Equal(p, x25519OID) || bytes.Equal(p, curve25519Name)
}

// ErrBadECPoint is returned by ParseECPoint.
var ErrBadECPoint = errors.New("pkcs11key: CKA_EC_POINT is not a 32-byte X25519 public key")

// ParseECPoint returns the X25519 public key in a CKA_EC_POINT value.
// PKCS#11 3.0 says the value is the raw 32 bytes; PKCS#11 2.40 tokens and
// some 3.0 ones wrap it in a DER OCTET STRING (04 20 ‖ key). Both are
// accepted; anything else is an error.
func ParseECPoint(v []byte) ([]byte, error) {
	switch {
	case len(v) == 32:
		return slices.Clone(v), nil
	case len(v) == 34 && v[0] == 0x04 && v[1] == 0x20:
		return slices.Clone(v[2:]), nil
	}
	return nil, fmt.Errorf("%w (%d bytes)", ErrBadECPoint, len(v))
}
