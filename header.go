package crypt4gh

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/format"
)

// Header is a Crypt4GH header as read from a file: still encrypted.
type Header struct {
	// Version is 1 (the GA4GH standard, also PR 736 files) or 2 (the v2
	// profile of this package).
	Version uint32
	// Packets are the encrypted header packets, in file order.
	Packets []HeaderPacket
	// MAC is the version 2 header MAC (nil in version 1).
	MAC []byte
	// Signatures are the version 2 signature records.
	Signatures []SignatureRecord
}

// SignatureRecord is one signature of a version 2 header.
type SignatureRecord struct {
	Algorithm uint32
	KeyID     [32]byte
	Signature []byte
}

// DataKey is a data key with its encryption method. Seq is the PR 736
// sequence number (method 1 only). It is secret.
type DataKey struct {
	Method uint32
	Key    [32]byte
	Seq    uint64
}

// HeaderContent is what a header holds for the identities that opened it.
// It contains the data keys, so it is as secret as the plaintext.
type HeaderContent struct {
	// Version is the header version it came from (or is to be written as;
	// 0 lets EncryptHeader choose from the data method).
	Version uint32
	// DataKeys are all data keys found, in header order, without duplicates.
	// Each segment is encrypted under one of them; version 2 has exactly one.
	DataKeys []DataKey
	// EditList is the edit list, or nil if the header has none.
	EditList EditList
	// Expiry is the time after which readers refuse the file (zero: none).
	Expiry time.Time
	// Link is the URI of a detached payload ("": none).
	Link string
	// SegmentMap lists the original segments a rearranged sealed payload
	// holds (nil: the whole payload).
	SegmentMap *SegmentMap
	// Opened lists the indices of the packets that decrypted.
	Opened []int
	// Foreign lists the indices of the packets no identity could decrypt:
	// they are addressed to other readers.
	Foreign []int
	// WriterKeys holds, for each opened packet, the writer's public key
	// (the sender, if the writer used a long-term key).
	WriterKeys [][]byte
	// ClassicallyExposed reports that at least one packet of the header
	// can be opened by a classical (X25519-only) key: the file is exposed to
	// "store now, decrypt later" attacks on X25519.
	ClassicallyExposed bool
}

// ReadHeader reads one header from r, consuming exactly its bytes, and
// checks its framing (versions 1 and 2). It does not decrypt anything. Its
// limits (65536 packets, 16 MiB per packet, 64 MiB in all, 16 signatures)
// are far above anything a real writer produces.
func ReadHeader(r io.Reader) (*Header, error) {
	h, err := format.ReadHeader(r, format.DefaultLimits, Version1, Version2)
	if err != nil {
		return nil, err
	}
	return fromFormat(h), nil
}

// ParseHeader parses the header at the start of b and returns it with the
// number of bytes it occupies. Bytes after the header are ignored.
func ParseHeader(b []byte) (*Header, int, error) {
	h, n, err := format.ParseHeader(b, format.DefaultLimits, Version1, Version2)
	if err != nil {
		return nil, 0, err
	}
	return fromFormat(h), n, nil
}

func fromFormat(h *format.Header) *Header {
	out := &Header{Version: h.Version, Packets: make([]HeaderPacket, len(h.Packets)), MAC: h.MAC}
	for i, p := range h.Packets {
		out.Packets[i] = HeaderPacket(p)
	}
	for _, s := range h.Signatures {
		out.Signatures = append(out.Signatures, SignatureRecord{Algorithm: s.Algorithm, KeyID: s.KeyID, Signature: s.Sig})
	}
	return out
}

func (h *Header) toFormat() *format.Header {
	f := &format.Header{Version: h.Version, Packets: make([]format.Packet, len(h.Packets)), MAC: h.MAC}
	for i, p := range h.Packets {
		f.Packets[i] = format.Packet(p)
	}
	for _, s := range h.Signatures {
		f.Signatures = append(f.Signatures, format.Signature{Algorithm: s.Algorithm, KeyID: s.KeyID, Sig: s.Signature})
	}
	return f
}

// Marshal returns the header's wire form. For a parsed header it is
// byte-identical to the input.
func (h *Header) Marshal() []byte { return h.toFormat().Marshal() }

// Size returns the length of the header's wire form.
func (h *Header) Size() int { return h.toFormat().Size() }

// ErrHeaderMAC means a version 2 header's MAC does not verify: packets were
// added, removed or modified.
var ErrHeaderMAC = errors.New("crypt4gh: header MAC mismatch: header packets were added, removed or modified")

// computeMAC returns the version 2 header MAC of h under data key k.
func (h *Header) computeMAC(k DataKey) []byte {
	km := deriveKey(k.Key[:], labelMAC)
	defer clear(km)
	m := hmac.New(sha256.New, km)
	m.Write(h.toFormat().MACInput())
	return m.Sum(nil)
}

// Decrypt opens every packet it can with the given identities and returns
// what they hold. Packets no identity opens are skipped, as the standard
// requires; it is an error only if no data key is found. A decrypted packet
// of an unknown (critical) type, a data key of an unknown method and a
// second edit list are errors. For version 2 it verifies the header MAC.
// It does not check the expiry: see [HeaderContent.CheckExpiry].
func (h *Header) Decrypt(ids ...Identity) (*HeaderContent, error) {
	c := &HeaderContent{Version: h.Version}
	var idErrs []error
	var contentErr error // version 2: reported once the MAC verifies
	var unknown []uint32
	seen := map[uint32]bool{}
	for i, p := range h.Packets {
		if p.Method == PacketX25519 {
			c.ClassicallyExposed = true
		}
		pt, err := openPacket(p, ids)
		if err != nil {
			c.Foreign = append(c.Foreign, i)
			if errors.Is(err, ErrIncorrectIdentity) {
				if p.Method != PacketX25519 && p.Method != PacketX25519MLKEM1024 && !containsU32(unknown, p.Method) {
					unknown = append(unknown, p.Method)
				}
			} else {
				idErrs = append(idErrs, fmt.Errorf("header packet %d: %w", i, err))
			}
			continue
		}
		content, err := format.ParsePacketContent(pt, h.Version)
		clear(pt)
		if err != nil {
			err = fmt.Errorf("%w (in header packet %d)", err, i)
			if h.Version < Version2 {
				return nil, err
			}
			// In version 2 the MAC decides first: a packet injected by an
			// outsider is reported as that, not as a packet we misread.
			if contentErr == nil {
				contentErr = err
			}
			continue
		}
		c.Opened = append(c.Opened, i)
		if p.Method == PacketX25519 || p.Method == PacketX25519MLKEM1024 {
			c.WriterKeys = append(c.WriterKeys, append([]byte(nil), format.X25519WriterPublic(p.Payload)...))
		}
		if content.Type != TypeDataKey {
			if seen[content.Type] && content.Type < TypeSegmentMap+1 {
				// The standard says a file with two edit lists SHOULD be
				// rejected; silently picking one is how peers diverge. v2
				// extends the rule to its own packet types.
				err := fmt.Errorf("%w: more than one %s packet", ErrMalformedHeader, typeName(content.Type))
				if h.Version < Version2 {
					return nil, err
				}
				if contentErr == nil {
					contentErr = err
				}
				continue
			}
			seen[content.Type] = true
		}
		switch {
		case content.DataKey != nil:
			k := DataKey{Method: content.DataKey.Method, Key: content.DataKey.Key, Seq: content.DataKey.Seq}
			clear(content.DataKey.Key[:])
			if len(c.DataKeys) > 0 && c.DataKeys[0].Method != k.Method {
				return nil, fmt.Errorf("%w: data keys use different encryption methods (%d and %d)", ErrMalformedHeader, c.DataKeys[0].Method, k.Method)
			}
			if !containsKey(c.DataKeys, k) {
				c.DataKeys = append(c.DataKeys, k)
			}
		case content.EditList != nil:
			c.EditList = EditList(content.EditList.Lengths)
			if c.EditList == nil {
				c.EditList = EditList{}
			}
		case content.Expiry != nil:
			c.Expiry = time.Unix(int64(min(*content.Expiry, 1<<62)), 0).UTC()
		case content.Link != nil:
			c.Link = *content.Link
		case content.SegmentMap != nil:
			m := &SegmentMap{Total: content.SegmentMap.Total}
			for _, r := range content.SegmentMap.Runs {
				m.Runs = append(m.Runs, SegmentRun{First: int64(r.First), Count: int64(r.Count)})
			}
			c.SegmentMap = m
		}
	}
	if len(c.DataKeys) == 0 {
		if contentErr != nil {
			return nil, contentErr
		}
		if len(c.Opened) > 0 {
			return nil, fmt.Errorf("%w: the packets this key opens hold no data key", ErrNoMatchingKey)
		}
		return nil, &NoIdentityMatchError{Packets: len(h.Packets), UnknownMethods: unknown, Errors: idErrs}
	}
	if h.Version >= Version2 {
		macOK := false
		for _, k := range c.DataKeys {
			macOK = macOK || hmac.Equal(h.computeMAC(k), h.MAC)
		}
		if !macOK {
			c.Zero()
			return nil, ErrHeaderMAC
		}
		if len(c.DataKeys) != 1 {
			c.Zero()
			return nil, fmt.Errorf("%w: a version 2 header carries exactly one data key, this one %d", ErrMalformedHeader, len(c.DataKeys))
		}
		if contentErr != nil {
			c.Zero()
			return nil, contentErr
		}
	} else if c.SegmentMap != nil {
		return nil, fmt.Errorf("%w: segment map in a version 1 header", ErrMalformedHeader)
	}
	if c.SegmentMap != nil && !isSealed(c.DataKeys[0].Method) {
		return nil, fmt.Errorf("%w: segment map without a sealed data method", ErrMalformedHeader)
	}
	return c, nil
}

func typeName(t uint32) string {
	switch t {
	case TypeEditList:
		return "edit list"
	case TypeExpiry:
		return "expiry"
	case TypeLink:
		return "link"
	case TypeSegmentMap:
		return "segment map"
	}
	return fmt.Sprintf("type %d", t)
}

func openPacket(p HeaderPacket, ids []Identity) ([]byte, error) {
	var firstErr error
	for _, id := range ids {
		pt, err := id.OpenPacket(p)
		if err == nil {
			return pt, nil
		}
		if !errors.Is(err, ErrIncorrectIdentity) && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, ErrIncorrectIdentity
}

func containsU32(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func containsKey(s []DataKey, k DataKey) bool {
	for _, x := range s {
		if x.Method == k.Method && x.Seq == k.Seq && format.EqualKeys(x.Key[:], k.Key[:]) {
			return true
		}
	}
	return false
}

// Zero overwrites the data keys held in c.
func (c *HeaderContent) Zero() {
	for i := range c.DataKeys {
		clear(c.DataKeys[i].Key[:])
	}
}

// ErrExpired means the file's expiry time has passed.
var ErrExpired = errors.New("crypt4gh: file expired")

// CheckExpiry returns an error wrapping ErrExpired if c has an expiry
// before now.
func (c *HeaderContent) CheckExpiry(now time.Time) error {
	if !c.Expiry.IsZero() && now.After(c.Expiry) {
		return fmt.Errorf("%w at %s", ErrExpired, c.Expiry.Format(time.RFC3339))
	}
	return nil
}

// version returns the header version c is to be written as.
func (c *HeaderContent) version() uint32 {
	if c.Version != 0 {
		return c.Version
	}
	if len(c.DataKeys) > 0 && isSealed(c.DataKeys[0].Method) {
		return Version2
	}
	return Version1
}

// EncryptHeader builds a header giving every recipient the data keys and
// the other content of c. For each recipient it writes one packet per data
// key, then the edit list, expiry, link and segment map packets present.
// Sealed data methods give a version 2 header, with its MAC; otherwise
// version 1 (which cannot carry expiry, link or a segment map).
func EncryptHeader(c *HeaderContent, recipients ...Recipient) (*Header, error) {
	if len(recipients) == 0 {
		return nil, errors.New("crypt4gh: no recipients")
	}
	if len(c.DataKeys) == 0 {
		return nil, errors.New("crypt4gh: no data key to encrypt")
	}
	h := &Header{Version: c.version()}
	v2 := h.Version >= Version2
	if v2 && (len(c.DataKeys) != 1 || !isSealed(c.DataKeys[0].Method)) {
		return nil, errors.New("crypt4gh: a version 2 header needs exactly one data key of a sealed method")
	}
	if !v2 && (!c.Expiry.IsZero() || c.Link != "" || c.SegmentMap != nil) {
		return nil, errors.New("crypt4gh: expiry, link and segment map need a version 2 header (a sealed data method)")
	}
	var plain [][]byte
	for _, k := range c.DataKeys {
		plain = append(plain, format.MarshalDataKey(&format.DataKey{Method: k.Method, Key: k.Key, Seq: k.Seq}))
	}
	if c.EditList != nil {
		if err := c.EditList.validate(); err != nil {
			return nil, err
		}
		plain = append(plain, format.MarshalEditList(&format.EditList{Lengths: c.EditList}))
	}
	if !c.Expiry.IsZero() {
		plain = append(plain, format.MarshalExpiry(uint64(max(0, c.Expiry.Unix()))))
	}
	if c.Link != "" {
		if _, err := format.ParsePacketContent(format.MarshalLink(c.Link), Version2); err != nil {
			return nil, err
		}
		plain = append(plain, format.MarshalLink(c.Link))
	}
	if m := c.SegmentMap; m != nil {
		if err := m.validate(); err != nil {
			return nil, err
		}
		fm := &format.SegmentMap{Total: m.Total}
		for _, r := range m.Runs {
			fm.Runs = append(fm.Runs, format.SegmentRun{First: uint64(r.First), Count: uint64(r.Count)})
		}
		plain = append(plain, format.MarshalSegmentMap(fm))
	}
	defer func() {
		for _, p := range plain {
			clear(p)
		}
	}()
	for _, r := range recipients {
		for _, pt := range plain {
			p, err := r.SealPacket(pt)
			if err != nil {
				return nil, err
			}
			h.Packets = append(h.Packets, p)
		}
	}
	if v2 {
		h.MAC = h.computeMAC(c.DataKeys[0])
	}
	return h, nil
}

// ReencryptOptions adjust [ReencryptHeader].
type ReencryptOptions struct {
	// Trim drops the packets the identities could not open (those of
	// other readers). Without it they are kept after the new packets, so
	// existing readers keep access.
	Trim bool
	// EditList, if non-nil, replaces the edit list given to the new
	// recipients (an empty, non-nil list removes it, meaning "keep all").
	EditList EditList
	// Expiry, if set, replaces the expiry (version 2 only).
	Expiry *time.Time
	// Link, if set, replaces the link ("" removes it; version 2 only).
	Link *string
}

// ReencryptHeader decrypts h with ids and returns a header giving the same
// data keys and content to recipients. The payload does not change: this
// is how an archive hands a file to a new reader. All data keys are kept;
// a version 2 header gets a new MAC and keeps its signatures, which stay
// valid (they sign the data key, not the recipients).
func ReencryptHeader(h *Header, ids []Identity, recipients []Recipient, opts *ReencryptOptions) (*Header, error) {
	c, err := h.Decrypt(ids...)
	if err != nil {
		return nil, err
	}
	defer c.Zero()
	if opts == nil {
		opts = &ReencryptOptions{}
	}
	if opts.EditList != nil {
		c.EditList = opts.EditList
		if len(opts.EditList) == 0 {
			c.EditList = nil
		}
	}
	if opts.Expiry != nil {
		c.Expiry = *opts.Expiry
	}
	if opts.Link != nil {
		c.Link = *opts.Link
	}
	out, err := EncryptHeader(c, recipients...)
	if err != nil {
		return nil, err
	}
	if !opts.Trim {
		for _, i := range c.Foreign {
			out.Packets = append(out.Packets, h.Packets[i])
		}
	}
	if out.Version >= Version2 {
		out.MAC = out.computeMAC(c.DataKeys[0])
		out.Signatures = append(out.Signatures, h.Signatures...)
	}
	return out, nil
}

// newDataKey returns a fresh random data key of the given method (with a
// random sequence number for PR 736, as its reference implementation).
func newDataKey(method uint32) (DataKey, error) {
	k := DataKey{Method: method}
	if _, err := rand.Read(k.Key[:]); err != nil {
		return k, err
	}
	if method == DataChaCha20Poly1305PR736 {
		var s [8]byte
		if _, err := rand.Read(s[:]); err != nil {
			return k, err
		}
		k.Seq = binary.LittleEndian.Uint64(s[:])
	}
	return k, nil
}
