// Package pkcs11key keeps a Crypt4GH archive key (an X25519 secret) in a
// PKCS#11 token, so that the secret never leaves the HSM.
//
// Opening a Crypt4GH header packet needs one private-key operation,
// X25519(secret, writerPublic). A [Key] performs it as a PKCS#11
// C_DeriveKey(CKM_ECDH1_DERIVE) inside the token and reads back only the
// 32-byte shared value, which it then hands to the format code. A *Key
// implements crypt4gh.KeyAgreement, so
//
//	key, err := pkcs11key.Open(cfg)
//	id, err := crypt4gh.NewKeyAgreementIdentity(key)
//
// gives an Identity that decrypts and re-encrypts headers addressed to it.
//
// Tokens disagree on how to spell an X25519 key, so the key type and
// mechanism come from a [Profile]: SoftHSM2 2.6 has X25519 only as an
// EC-Edwards key with the curve25519 OID; PKCS#11 3.0 tokens have a
// dedicated EC-Montgomery key type.
//
// The PIN is given in [Config] by the caller, who should read it from a
// file or the environment, never from the command line. It is kept in
// memory for the life of a Key so that the Key can log in again after the
// token drops its sessions. No error from this package contains it.
//
// PKCS#11 login state belongs to the process and the token, not to a
// session: once one Key has logged in to a token, the token reports any
// further login as "already logged in" without checking the PIN. This
// package remembers a hash of the PIN that last logged in successfully to
// each token and rejects a different PIN with [ErrPINIncorrect] in that
// case, so a wrong PIN is rejected however many Keys are open.
package pkcs11key

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/crypt4gh-go/crypt4gh/internal/format"
	"github.com/miekg/pkcs11"
	"golang.org/x/crypto/curve25519"
)

// Profile selects how a token represents an X25519 key.
type Profile string

const (
	// ProfileSoftHSMEdwards is the default. The key is a CKK_EC_EDWARDS
	// key with CKA_EC_PARAMS naming curve25519 (OID 1.3.101.110),
	// generated with CKM_EC_EDWARDS_KEY_PAIR_GEN. SoftHSM2 2.6 routes it
	// to OpenSSL's X25519; it has no EC-Montgomery key type.
	ProfileSoftHSMEdwards Profile = "softhsm-edwards"
	// ProfilePKCS11v3Montgomery is the PKCS#11 3.0 spelling: a
	// CKK_EC_MONTGOMERY key generated with CKM_EC_MONTGOMERY_KEY_PAIR_GEN.
	ProfilePKCS11v3Montgomery Profile = "pkcs11v3-montgomery"
)

// PKCS#11 values that github.com/miekg/pkcs11 (which ships 2.40 headers)
// does not name.
const (
	ckkECEdwards              = 0x40
	ckkECMontgomery           = 0x41
	ckmECEdwardsKeyPairGen    = 0x1055
	ckmECMontgomeryKeyPairGen = 0x1056
)

// x25519OID is CKA_EC_PARAMS for X25519 keys: the DER encoding of
// id-X25519, 1.3.101.110 (RFC 8410). Keys are created with it.
var x25519OID = []byte{0x06, 0x03, 0x2b, 0x65, 0x6e}

// curve25519Name is the other CKA_EC_PARAMS spelling PKCS#11 3.0 allows
// for the same curve: a DER PrintableString "curve25519". Accepted on
// existing keys.
var curve25519Name = append([]byte{0x13, 0x0a}, "curve25519"...)

type profile struct {
	name    Profile
	keyType uint
	keyGen  uint
}

func lookupProfile(p Profile) (profile, error) {
	switch p {
	case "", ProfileSoftHSMEdwards:
		return profile{ProfileSoftHSMEdwards, ckkECEdwards, ckmECEdwardsKeyPairGen}, nil
	case ProfilePKCS11v3Montgomery:
		return profile{ProfilePKCS11v3Montgomery, ckkECMontgomery, ckmECMontgomeryKeyPairGen}, nil
	}
	return profile{}, fmt.Errorf("%w: unknown profile %q (want %q or %q)",
		ErrConfig, p, ProfileSoftHSMEdwards, ProfilePKCS11v3Montgomery)
}

// Config says where a key lives.
type Config struct {
	// Module is the path of the PKCS#11 library, for example
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel selects the token (CKA_LABEL of the token, not the slot
	// number, which some tokens change when re-initialised).
	TokenLabel string
	// PIN is the user PIN. Read it from a file or the environment.
	PIN string
	// KeyLabel is the CKA_LABEL of the private key (and of its public
	// key object, if any).
	KeyLabel string
	// Profile is the key representation; empty means
	// ProfileSoftHSMEdwards.
	Profile Profile
	// Sessions is the largest number of PKCS#11 sessions a Key keeps
	// open, which bounds how many agreements run in the token at once.
	// Zero means DefaultSessions.
	Sessions int
}

// DefaultSessions is the session pool size when Config.Sessions is zero.
const DefaultSessions = 4

// maxSessions bounds Config.Sessions: tokens limit sessions too, and a
// typo should not open thousands.
const maxSessions = 1024

// check validates a configuration that names a key.
func (c Config) check() (profile, error) {
	if c.KeyLabel == "" {
		return profile{}, fmt.Errorf("%w: no key label", ErrConfig)
	}
	return c.checkToken()
}

// checkToken validates everything but KeyLabel.
func (c Config) checkToken() (profile, error) {
	prof, err := lookupProfile(c.Profile)
	if err != nil {
		return profile{}, err
	}
	switch {
	case c.Module == "":
		return profile{}, fmt.Errorf("%w: no PKCS#11 module path", ErrConfig)
	case c.TokenLabel == "":
		return profile{}, fmt.Errorf("%w: no token label", ErrConfig)
	case c.PIN == "":
		return profile{}, fmt.Errorf("%w: no PIN", ErrConfig)
	case c.Sessions < 0 || c.Sessions > maxSessions:
		return profile{}, fmt.Errorf("%w: Sessions is %d, want 0 to %d", ErrConfig, c.Sessions, maxSessions)
	}
	return prof, nil
}

func (c Config) sessions() int {
	if c.Sessions == 0 {
		return DefaultSessions
	}
	return c.Sessions
}

// Errors callers can branch on with errors.Is. Failures inside the token
// are returned wrapping the github.com/miekg/pkcs11 Error value (a
// CKR_ code), whose text names the code.
var (
	ErrConfig        = errors.New("pkcs11key: invalid configuration")
	ErrTokenNotFound = errors.New("pkcs11key: token not found")
	ErrPINIncorrect  = errors.New("pkcs11key: incorrect PIN")
	ErrKeyNotFound   = errors.New("pkcs11key: key not found")
	ErrKeyExists     = errors.New("pkcs11key: a key with this label already exists")
	ErrAmbiguousKey  = errors.New("pkcs11key: several keys have this label")
	ErrNotX25519     = errors.New("pkcs11key: key is not an X25519 key")
	ErrKeyMismatch   = errors.New("pkcs11key: public key does not match the private key")
	ErrBadPeer       = errors.New("pkcs11key: invalid peer public key")
	ErrClosed        = errors.New("pkcs11key: key is closed")
	// ErrLowOrderPoint is returned by X25519 for a low-order peer, whose
	// agreement is all zeros whatever the secret. It is the value the
	// Crypt4GH format code recognises as "this packet is not for us".
	ErrLowOrderPoint = format.ErrX25519LowOrder
)

// stepError names the PKCS#11 call that failed. err is usually a
// pkcs11.Error, whose text is "pkcs11: 0x<code>: CKR_<name>".
func stepError(step string, err error) error {
	return fmt.Errorf("pkcs11key: %s: %w", step, err)
}

// Key is an X25519 private key in a token. It is safe for concurrent use:
// each call borrows one session of a pool.
type Key struct {
	cfg  Config
	prof profile
	mod  *module

	public [32]byte

	// sem holds one token per session in use or being opened, bounding
	// the pool; idle holds open, logged-in sessions.
	sem  chan struct{}
	idle chan session

	mu   sync.RWMutex // guards slot, priv and gen
	slot uint
	priv pkcs11.ObjectHandle
	// gen counts refreshes; sessions from an older generation belong to
	// a token state that broke and are closed instead of reused.
	gen uint64

	// retries counts calls retried on a fresh session; open and peak
	// count the sessions the Key has open, now and at most. Tests read
	// them.
	retries    atomic.Uint64
	open, peak atomic.Int64

	closed    atomic.Bool
	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

type session struct {
	h   pkcs11.SessionHandle
	gen uint64
}

// Open finds the private key labelled cfg.KeyLabel on the token labelled
// cfg.TokenLabel and logs in. It checks the key is an X25519 key of the
// profile's type and that its public key object, if the token holds one,
// matches the private key (by computing X25519(secret, 9) in the token).
func Open(cfg Config) (*Key, error) {
	prof, err := cfg.check()
	if err != nil {
		return nil, err
	}
	mod, err := acquireModule(cfg.Module)
	if err != nil {
		return nil, err
	}
	k := &Key{
		cfg:  cfg,
		prof: prof,
		mod:  mod,
		sem:  make(chan struct{}, cfg.sessions()),
		idle: make(chan session, cfg.sessions()),
		done: make(chan struct{}),
	}
	s, err := k.locate(nil)
	if err != nil {
		mod.release()
		return nil, err
	}
	k.idle <- s
	return k, nil
}

// locate (re)finds the token and the key, opens and logs in a session, and
// checks the key against want (the public key the Key was opened with), or
// sets k.public if want is nil. It returns the logged-in session. Callers
// other than Open hold k.mu.
func (k *Key) locate(want []byte) (session, error) {
	ctx := k.mod.ctx
	slot, err := k.mod.findToken(k.cfg.TokenLabel)
	if err != nil {
		return session{}, err
	}
	h, err := k.openSession(slot)
	if err != nil {
		return session{}, err
	}
	fail := func(err error) (session, error) {
		k.closeSession(h)
		return session{}, err
	}
	priv, err := findPrivateKey(ctx, h, k.prof, k.cfg.KeyLabel)
	if err != nil {
		return fail(err)
	}
	pub, err := derivePublic(ctx, h, priv)
	if err != nil {
		return fail(fmt.Errorf("pkcs11key: key %q: %w", k.cfg.KeyLabel, err))
	}
	stored, err := findPublicKey(ctx, h, k.prof, k.cfg.KeyLabel)
	if err != nil {
		return fail(err)
	}
	if stored != nil && subtle.ConstantTimeCompare(stored, pub[:]) != 1 {
		return fail(fmt.Errorf("%w: the public key object labelled %q is not X25519(private key, 9)", ErrKeyMismatch, k.cfg.KeyLabel))
	}
	if want != nil && subtle.ConstantTimeCompare(want, pub[:]) != 1 {
		return fail(fmt.Errorf("%w: the key labelled %q changed since it was opened", ErrKeyMismatch, k.cfg.KeyLabel))
	}
	if want == nil {
		// Only Open sets it; later calls must leave it alone, since
		// PublicKey reads it without a lock.
		k.public = pub
	}
	k.slot = slot
	k.priv = priv
	k.gen++
	return session{h: h, gen: k.gen}, nil
}

// derivePublic computes the public key inside the token as X25519(secret,
// basepoint), which works whether or not a public key object exists.
func derivePublic(ctx *pkcs11.Ctx, h pkcs11.SessionHandle, priv pkcs11.ObjectHandle) ([32]byte, error) {
	var pub [32]byte
	out, err := deriveX25519(ctx, h, priv, curve25519.Basepoint)
	if err != nil {
		return pub, fmt.Errorf("computing the public key: %w", err)
	}
	copy(pub[:], out)
	return pub, nil
}

// PublicKey returns the 32-byte X25519 public key.
func (k *Key) PublicKey() []byte { return append([]byte(nil), k.public[:]...) }

// Label returns the key's CKA_LABEL.
func (k *Key) Label() string { return k.cfg.KeyLabel }

// X25519 returns X25519(secret, peer), computed in the token. It returns
// ErrLowOrderPoint (never an all-zero value) for a low-order peer, and
// ErrBadPeer if peer is not 32 bytes. If the session fails in a way that
// means the token dropped it (removed, re-initialised, sessions closed),
// the call is retried once on a fresh session after logging in again.
func (k *Key) X25519(peer []byte) ([]byte, error) {
	if len(peer) != 32 {
		return nil, fmt.Errorf("%w: %d bytes, want 32", ErrBadPeer, len(peer))
	}
	out, err := k.agree(peer, false)
	if err != nil && sessionBroken(err) {
		k.retries.Add(1)
		out, err = k.agree(peer, true)
	}
	if err != nil {
		if isLowOrder(peer) {
			// Tokens differ: SoftHSM2 fails the derive, others return
			// zeros. Either way the cause is the peer.
			return nil, ErrLowOrderPoint
		}
		return nil, err
	}
	if subtle.ConstantTimeCompare(out, make([]byte, 32)) == 1 {
		return nil, ErrLowOrderPoint
	}
	return out, nil
}

// agree runs one derive on a pooled session, or, if fresh, on a new
// session after finding the token and key again.
func (k *Key) agree(peer []byte, fresh bool) ([]byte, error) {
	s, priv, err := k.acquire(fresh)
	if err != nil {
		return nil, err
	}
	out, err := deriveX25519(k.mod.ctx, s.h, priv, peer)
	k.release(s, err == nil || !sessionBroken(err))
	if err != nil {
		return nil, fmt.Errorf("pkcs11key: key %q: %w", k.cfg.KeyLabel, err)
	}
	return out, nil
}

func (k *Key) acquire(fresh bool) (session, pkcs11.ObjectHandle, error) {
	select {
	case k.sem <- struct{}{}:
	case <-k.done:
		// Close holds every slot of sem.
		return session{}, 0, ErrClosed
	}
	if k.closed.Load() {
		<-k.sem
		return session{}, 0, ErrClosed
	}
	if fresh {
		k.mu.Lock()
		s, err := k.locate(k.public[:])
		priv := k.priv
		k.mu.Unlock()
		if err != nil {
			<-k.sem
			return session{}, 0, err
		}
		return s, priv, nil
	}
	k.mu.RLock()
	gen, slot, priv := k.gen, k.slot, k.priv
	k.mu.RUnlock()
	for {
		select {
		case s := <-k.idle:
			if s.gen == gen {
				return s, priv, nil
			}
			k.closeSession(s.h)
			continue
		default:
		}
		break
	}
	h, err := k.openSession(slot)
	if err != nil {
		<-k.sem
		return session{}, 0, err
	}
	return session{h: h, gen: gen}, priv, nil
}

// release returns s to the pool if keep and it is still current, and
// closes it otherwise (which also destroys any session object a failed
// call left behind).
func (k *Key) release(s session, keep bool) {
	k.mu.RLock()
	current := s.gen == k.gen
	k.mu.RUnlock()
	if keep && current && !k.closed.Load() {
		select {
		case k.idle <- s:
			<-k.sem
			return
		default:
		}
	}
	k.closeSession(s.h)
	<-k.sem
}

// openSession opens a logged-in read-only session for the pool. Read-only
// is enough to derive into session objects and cannot change the token.
func (k *Key) openSession(slot uint) (pkcs11.SessionHandle, error) {
	h, err := k.mod.openSession(slot, k.cfg, false)
	if err != nil {
		return 0, err
	}
	n := k.open.Add(1)
	for {
		p := k.peak.Load()
		if n <= p || k.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return h, nil
}

func (k *Key) closeSession(h pkcs11.SessionHandle) {
	// An error means the session is already gone, which is the goal.
	k.mod.ctx.CloseSession(h)
	k.open.Add(-1)
}

// Close waits for calls in progress, closes the sessions and unloads the
// module if no other Key uses it. Later calls return ErrClosed.
func (k *Key) Close() error {
	k.closeOnce.Do(func() {
		k.closed.Store(true)
		close(k.done)
		for range cap(k.sem) {
			k.sem <- struct{}{}
		}
		for {
			select {
			case s := <-k.idle:
				k.closeSession(s.h)
				continue
			default:
			}
			break
		}
		k.mod.release()
	})
	return nil
}

// callError names the PKCS#11 call that failed, for errors that callers
// wrap with more context.
func callError(call string, err error) error { return fmt.Errorf("%s: %w", call, err) }

// deriveX25519 runs CKM_ECDH1_DERIVE with no KDF and reads the 32-byte
// result. PKCS#11 only returns a derived value as a key object, so it is
// created as a non-sensitive, extractable session object (the private key
// itself stays sensitive) and destroyed right after it is read. It is
// also not CKA_PRIVATE, which spares SoftHSM2 encrypting it in memory for
// the moment it exists (about 15% of the call).
func deriveX25519(ctx *pkcs11.Ctx, h pkcs11.SessionHandle, priv pkcs11.ObjectHandle, peer []byte) ([]byte, error) {
	params := pkcs11.NewECDH1DeriveParams(pkcs11.CKD_NULL, nil, append([]byte(nil), peer...))
	mech := []*pkcs11.Mechanism{pkcs11.NewMechanism(pkcs11.CKM_ECDH1_DERIVE, params)}
	tmpl := []*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_CLASS, pkcs11.CKO_SECRET_KEY),
		pkcs11.NewAttribute(pkcs11.CKA_KEY_TYPE, pkcs11.CKK_GENERIC_SECRET),
		pkcs11.NewAttribute(pkcs11.CKA_VALUE_LEN, 32),
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, false),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, true),
	}
	obj, err := ctx.DeriveKey(h, mech, priv, tmpl)
	if err != nil {
		return nil, callError("C_DeriveKey(CKM_ECDH1_DERIVE)", err)
	}
	attrs, err := ctx.GetAttributeValue(h, obj, []*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_VALUE, nil)})
	if derr := ctx.DestroyObject(h, obj); derr != nil && err == nil {
		if len(attrs) == 1 {
			clear(attrs[0].Value)
		}
		// The caller drops the session, which takes the object with it.
		return nil, callError("C_DestroyObject(derived secret)", derr)
	}
	if err != nil {
		return nil, callError("C_GetAttributeValue(derived secret)", err)
	}
	if len(attrs) != 1 || len(attrs[0].Value) != 32 {
		if len(attrs) == 1 {
			clear(attrs[0].Value)
		}
		return nil, fmt.Errorf("the token derived a secret of unexpected size")
	}
	return attrs[0].Value, nil
}

// sessionBroken reports whether err means the session (not the request) is
// bad: the token dropped it, logged out or went away.
func sessionBroken(err error) bool {
	var code pkcs11.Error
	if !errors.As(err, &code) {
		return false
	}
	switch code {
	case pkcs11.CKR_SESSION_HANDLE_INVALID,
		pkcs11.CKR_SESSION_CLOSED,
		pkcs11.CKR_DEVICE_REMOVED,
		pkcs11.CKR_DEVICE_ERROR,
		pkcs11.CKR_TOKEN_NOT_PRESENT,
		pkcs11.CKR_TOKEN_NOT_RECOGNIZED,
		pkcs11.CKR_USER_NOT_LOGGED_IN,
		pkcs11.CKR_KEY_HANDLE_INVALID,
		pkcs11.CKR_OBJECT_HANDLE_INVALID:
		return true
	}
	return false
}

// isLowOrder reports whether p is in the small subgroup: multiplying it by
// any clamped scalar (a multiple of the cofactor 8) gives zero, which
// x/crypto/curve25519 reports as an error.
func isLowOrder(p []byte) bool {
	var scalar [32]byte
	scalar[0] = 1
	_, err := curve25519.X25519(scalar[:], p)
	return err != nil
}
