package crypt4gh

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/crypt4gh-go/crypt4gh/internal/format"
)

// Header is a Crypt4GH header as read from a file: still encrypted.
type Header struct {
	// Version is the format version; 1 for every file this package writes.
	Version uint32
	// Packets are the encrypted header packets, in file order.
	Packets []HeaderPacket
}

// DataKey is a data key with its encryption method (0, ChaCha20-Poly1305,
// is the only one in version 1). It is secret.
type DataKey struct {
	Method uint32
	Key    [32]byte
}

// HeaderContent is what a header holds for the identities that opened it.
// It contains the data keys, so it is as secret as the plaintext.
type HeaderContent struct {
	// DataKeys are all data keys found, in header order, without duplicates.
	// Each segment is encrypted under one of them.
	DataKeys []DataKey
	// EditList is the edit list, or nil if the header has none.
	EditList EditList
	// Opened lists the indices of the packets that decrypted.
	Opened []int
	// Foreign lists the indices of the packets no identity could decrypt:
	// they are addressed to other readers.
	Foreign []int
	// WriterKeys holds, for each opened method-0 packet, the writer's
	// public key (the sender, if the writer used a long-term key).
	WriterKeys [][]byte
}

// ReadHeader reads one header from r, consuming exactly its bytes, and
// checks its framing. It does not decrypt anything. Its limits (65536
// packets, 16 MiB per packet, 64 MiB in all) are far above anything a real
// writer produces.
func ReadHeader(r io.Reader) (*Header, error) {
	h, err := format.ReadHeader(r, format.DefaultLimits)
	if err != nil {
		return nil, err
	}
	return fromFormat(h), nil
}

// ParseHeader parses the header at the start of b and returns it with the
// number of bytes it occupies. Bytes after the header are ignored.
func ParseHeader(b []byte) (*Header, int, error) {
	h, n, err := format.ParseHeader(b, format.DefaultLimits)
	if err != nil {
		return nil, 0, err
	}
	return fromFormat(h), n, nil
}

func fromFormat(h *format.Header) *Header {
	out := &Header{Version: h.Version, Packets: make([]HeaderPacket, len(h.Packets))}
	for i, p := range h.Packets {
		out.Packets[i] = HeaderPacket(p)
	}
	return out
}

func (h *Header) toFormat() *format.Header {
	f := &format.Header{Version: h.Version, Packets: make([]format.Packet, len(h.Packets))}
	for i, p := range h.Packets {
		f.Packets[i] = format.Packet(p)
	}
	return f
}

// Marshal returns the header's wire form. For a parsed header it is
// byte-identical to the input.
func (h *Header) Marshal() []byte { return h.toFormat().Marshal() }

// Size returns the length of the header's wire form.
func (h *Header) Size() int { return h.toFormat().Size() }

// Decrypt opens every packet it can with the given identities and returns
// what they hold. Packets no identity opens are skipped, as the standard
// requires; it is an error only if no data key is found. A decrypted packet
// of an unknown type, a data key of an unknown method and a second edit list
// are errors.
func (h *Header) Decrypt(ids ...Identity) (*HeaderContent, error) {
	c := &HeaderContent{}
	var idErrs []error
	var unknown []uint32
	editLists := 0
	for i, p := range h.Packets {
		pt, err := openPacket(p, ids)
		if err != nil {
			if errors.Is(err, ErrIncorrectIdentity) {
				c.Foreign = append(c.Foreign, i)
				if p.Method != format.MethodX25519ChaCha20Poly1305 && !containsU32(unknown, p.Method) {
					unknown = append(unknown, p.Method)
				}
				continue
			}
			idErrs = append(idErrs, fmt.Errorf("header packet %d: %w", i, err))
			c.Foreign = append(c.Foreign, i)
			continue
		}
		content, err := format.ParsePacketContent(pt)
		clear(pt)
		if err != nil {
			return nil, fmt.Errorf("%w (in header packet %d)", err, i)
		}
		c.Opened = append(c.Opened, i)
		if p.Method == format.MethodX25519ChaCha20Poly1305 {
			c.WriterKeys = append(c.WriterKeys, append([]byte(nil), format.X25519WriterPublic(p.Payload)...))
		}
		switch {
		case content.DataKey != nil:
			k := DataKey{Method: content.DataKey.Method, Key: content.DataKey.Key}
			clear(content.DataKey.Key[:])
			if len(c.DataKeys) > 0 && c.DataKeys[0].Method != k.Method {
				return nil, fmt.Errorf("%w: data keys use different encryption methods (%d and %d)", ErrMalformedHeader, c.DataKeys[0].Method, k.Method)
			}
			if !containsKey(c.DataKeys, k) {
				c.DataKeys = append(c.DataKeys, k)
			}
		case content.EditList != nil:
			editLists++
			if editLists > 1 {
				// The standard says a file with two edit lists SHOULD be
				// rejected; silently picking one is how peers diverge.
				return nil, fmt.Errorf("%w: more than one edit list packet", ErrMalformedHeader)
			}
			c.EditList = EditList(content.EditList.Lengths)
			if c.EditList == nil {
				c.EditList = EditList{}
			}
		}
	}
	if len(c.DataKeys) == 0 {
		if len(c.Opened) > 0 {
			return nil, fmt.Errorf("%w: the packets this key opens hold no data key", ErrNoMatchingKey)
		}
		return nil, &NoIdentityMatchError{Packets: len(h.Packets), UnknownMethods: unknown, Errors: idErrs}
	}
	return c, nil
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
		if x.Method == k.Method && format.EqualKeys(x.Key[:], k.Key[:]) {
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

// EncryptHeader builds a version 1 header giving every recipient the data
// keys and edit list of c. For each recipient it writes one packet per data
// key and then, if c has an edit list, one edit list packet.
func EncryptHeader(c *HeaderContent, recipients ...Recipient) (*Header, error) {
	if len(recipients) == 0 {
		return nil, errors.New("crypt4gh: no recipients")
	}
	if len(c.DataKeys) == 0 {
		return nil, errors.New("crypt4gh: no data key to encrypt")
	}
	h := &Header{Version: format.Version1}
	for _, r := range recipients {
		for _, k := range c.DataKeys {
			pt := format.MarshalDataKey(&format.DataKey{Method: k.Method, Key: k.Key})
			p, err := r.SealPacket(pt)
			clear(pt)
			if err != nil {
				return nil, err
			}
			h.Packets = append(h.Packets, p)
		}
		if c.EditList != nil {
			p, err := r.SealPacket(format.MarshalEditList(&format.EditList{Lengths: c.EditList}))
			if err != nil {
				return nil, err
			}
			h.Packets = append(h.Packets, p)
		}
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
}

// ReencryptHeader decrypts h with ids and returns a header giving the same
// data keys and edit list to recipients. The payload does not change: this
// is how an archive hands a file to a new reader. All data keys are kept.
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
	out, err := EncryptHeader(c, recipients...)
	if err != nil {
		return nil, err
	}
	out.Version = h.Version
	if !opts.Trim {
		for _, i := range c.Foreign {
			out.Packets = append(out.Packets, h.Packets[i])
		}
	}
	return out, nil
}

// newDataKey returns a fresh random ChaCha20-Poly1305 data key.
func newDataKey() (DataKey, error) {
	var k DataKey
	_, err := rand.Read(k.Key[:])
	return k, err
}
