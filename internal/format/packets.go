package format

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Header packet encryption methods (the packet_encryption field).
const (
	MethodX25519ChaCha20Poly1305 = 0
)

// Plaintext packet types (the first field of a decrypted packet).
const (
	TypeDataEncryptionParameters = 0
	TypeDataEditList             = 1
	TypeExpiry                   = 2
	TypeLink                     = 3
	TypeSegmentMap               = 4
	// TypeNonCritical marks types a reader that does not know them ignores.
	TypeNonCritical = 1 << 31
)

// Data encryption methods (data_encryption_method in a data key packet).
const (
	DataChaCha20Poly1305       = 0
	DataChaCha20Poly1305PR736  = 1
	DataSealedChaCha20Poly1305 = 2
	DataSealedAES256GCM        = 3
)

// MaxLinkLength bounds the URI of a link packet.
const MaxLinkLength = 8 << 10

// MaxSegmentMapRuns bounds the runs of a segment map.
const MaxSegmentMapRuns = 1 << 20

// X25519 packet payload layout: writer public key, nonce, ciphertext, MAC.
const (
	X25519PublicKeySize = 32
	NonceSize           = 12
	TagSize             = 16
	// MinX25519Payload is the payload of a method-0 packet whose plaintext
	// is empty: no real packet is this small, but it is the parsing floor.
	MinX25519Payload = X25519PublicKeySize + NonceSize + TagSize
)

// DataKeySize is the size of a data key (K_data).
const DataKeySize = 32

// dataKeyPlaintextSize is packet type, method and key.
const dataKeyPlaintextSize = 4 + 4 + DataKeySize

// MaxEditListLengths bounds the lengths one edit list may carry. It matches
// what fits in a packet of DefaultLimits.MaxPacketLength.
const MaxEditListLengths = (16<<20 - 76) / 8

// DataKey is the content of a data_encryption_parameters packet. Seq is
// the PR 736 sequence number (method 1 only).
type DataKey struct {
	Method uint32
	Key    [DataKeySize]byte
	Seq    uint64
}

// SegmentRun is a run of consecutive original segments.
type SegmentRun struct{ First, Count uint64 }

// SegmentMap says which original segments a rearranged sealed payload
// holds.
type SegmentMap struct {
	Total uint64
	Runs  []SegmentRun
}

// EditList is the content of a data_edit_list packet: lengths alternating
// skip, keep, skip, … starting with a skip.
type EditList struct {
	Lengths []uint64
}

// PacketContent is what a decrypted header packet holds: one field, per
// Type, is set; none for an ignored non-critical type.
type PacketContent struct {
	Type       uint32
	DataKey    *DataKey
	EditList   *EditList
	Expiry     *uint64 // Unix seconds
	Link       *string
	SegmentMap *SegmentMap
}

// MarshalDataKey returns the packet plaintext for a data key.
func MarshalDataKey(k *DataKey) []byte {
	b := make([]byte, 0, dataKeyPlaintextSize+8)
	b = binary.LittleEndian.AppendUint32(b, TypeDataEncryptionParameters)
	b = binary.LittleEndian.AppendUint32(b, k.Method)
	b = append(b, k.Key[:]...)
	if k.Method == DataChaCha20Poly1305PR736 {
		b = binary.LittleEndian.AppendUint64(b, k.Seq)
	}
	return b
}

// MarshalExpiry returns the packet plaintext of an expiry packet.
func MarshalExpiry(notAfter uint64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, TypeExpiry)
	return binary.LittleEndian.AppendUint64(b, notAfter)
}

// MarshalLink returns the packet plaintext of a link packet.
func MarshalLink(uri string) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, TypeLink), uri...)
}

// MarshalSegmentMap returns the packet plaintext of a segment map.
func MarshalSegmentMap(m *SegmentMap) []byte {
	b := binary.LittleEndian.AppendUint32(nil, TypeSegmentMap)
	b = binary.LittleEndian.AppendUint64(b, m.Total)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Runs)))
	for _, r := range m.Runs {
		b = binary.LittleEndian.AppendUint64(b, r.First)
		b = binary.LittleEndian.AppendUint64(b, r.Count)
	}
	return b
}

// MarshalEditList returns the packet plaintext for an edit list.
func MarshalEditList(e *EditList) []byte {
	b := make([]byte, 0, 8+8*len(e.Lengths))
	b = binary.LittleEndian.AppendUint32(b, TypeDataEditList)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Lengths)))
	for _, l := range e.Lengths {
		b = binary.LittleEndian.AppendUint64(b, l)
	}
	return b
}

// ParsePacketContent decodes a decrypted packet plaintext of a header of
// the given version. Bytes after the known fields are padding and are
// ignored, as the standard allows writers to pad packets to hide their type.
// Version 1 headers know types 0 and 1 only (as the reference
// implementation) and data methods 0 and 1 (PR 736); version 2 headers add
// types 2–4, data methods 2 and 3, and ignore unknown types marked
// non-critical. Anything else is rejected with ErrUnsupported naming it.
func ParsePacketContent(pt []byte, version uint32) (*PacketContent, error) {
	if len(pt) < 4 {
		return nil, fmt.Errorf("%w: decrypted header packet is %d bytes, too short for a packet type", ErrMalformedHeader, len(pt))
	}
	c := &PacketContent{Type: binary.LittleEndian.Uint32(pt)}
	switch c.Type {
	case TypeDataEncryptionParameters:
		if len(pt) < dataKeyPlaintextSize {
			return nil, fmt.Errorf("%w: data key packet is %d bytes, want at least %d", ErrMalformedHeader, len(pt), dataKeyPlaintextSize)
		}
		k := &DataKey{Method: binary.LittleEndian.Uint32(pt[4:])}
		switch {
		case version < Version2 && k.Method == DataChaCha20Poly1305:
		case version < Version2 && k.Method == DataChaCha20Poly1305PR736:
			if len(pt) < dataKeyPlaintextSize+8 {
				return nil, fmt.Errorf("%w data encryption method 1 as written: a PR 736 data key packet holds 48 bytes, this one %d (%w)", ErrUnsupported, len(pt), ErrMalformedHeader)
			}
			k.Seq = binary.LittleEndian.Uint64(pt[dataKeyPlaintextSize:])
		case version >= Version2 && (k.Method == DataSealedChaCha20Poly1305 || k.Method == DataSealedAES256GCM):
		default:
			return nil, fmt.Errorf("%w data encryption method %d in a version %d header", ErrUnsupported, k.Method, version)
		}
		copy(k.Key[:], pt[8:])
		c.DataKey = k
	case TypeDataEditList:
		if len(pt) < 8 {
			return nil, fmt.Errorf("%w: edit list packet is %d bytes, too short for its length count", ErrMalformedHeader, len(pt))
		}
		n := binary.LittleEndian.Uint32(pt[4:])
		if uint64(n) > uint64(len(pt)-8)/8 {
			return nil, fmt.Errorf("%w: edit list declares %d lengths but the packet holds %d bytes", ErrMalformedHeader, n, len(pt)-8)
		}
		e := &EditList{Lengths: make([]uint64, n)}
		var sum uint64
		for i := range e.Lengths {
			l := binary.LittleEndian.Uint64(pt[8+8*i:])
			if l > math.MaxInt64 || sum+l > math.MaxInt64 {
				return nil, fmt.Errorf("%w: edit list lengths overflow a 63-bit file offset", ErrMalformedHeader)
			}
			sum += l
			e.Lengths[i] = l
		}
		c.EditList = e
	case TypeExpiry, TypeLink, TypeSegmentMap:
		if version < Version2 {
			return nil, fmt.Errorf("%w header packet type %d in a version 1 header", ErrUnsupported, c.Type)
		}
	}
	switch c.Type {
	case TypeDataEncryptionParameters, TypeDataEditList:
	case TypeExpiry:
		if len(pt) < 12 {
			return nil, fmt.Errorf("%w: expiry packet is %d bytes, want 12", ErrMalformedHeader, len(pt))
		}
		t := binary.LittleEndian.Uint64(pt[4:])
		c.Expiry = &t
	case TypeLink:
		uri, err := parseLink(pt[4:])
		if err != nil {
			return nil, err
		}
		c.Link = &uri
	case TypeSegmentMap:
		m, err := parseSegmentMap(pt[4:])
		if err != nil {
			return nil, err
		}
		c.SegmentMap = m
	default:
		if version >= Version2 && c.Type&TypeNonCritical != 0 {
			return c, nil // unknown but non-critical: ignored
		}
		if version < Version2 {
			return nil, fmt.Errorf("%w header packet type %d", ErrUnsupported, c.Type)
		}
		return nil, fmt.Errorf("%w: unknown critical header packet type %d", ErrUnsupported, c.Type)
	}
	return c, nil
}

// parseLink checks a link URI: UTF-8, no control characters, bounded, with
// a scheme.
func parseLink(b []byte) (string, error) {
	if len(b) == 0 || len(b) > MaxLinkLength {
		return "", fmt.Errorf("%w: link packet holds %d bytes (want 1 to %d)", ErrMalformedHeader, len(b), MaxLinkLength)
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%w: link is not valid UTF-8", ErrMalformedHeader)
	}
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			return "", fmt.Errorf("%w: link contains a control character", ErrMalformedHeader)
		}
	}
	s := string(b)
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || scheme == "" {
		return "", fmt.Errorf("%w: link %q has no URI scheme", ErrMalformedHeader, s)
	}
	if !linkSchemes[strings.ToLower(scheme)] {
		return "", fmt.Errorf("%w: link %q has an unsupported URI scheme %q (want https, http, file, s3, drs or htsget)", ErrMalformedHeader, s, scheme)
	}
	return s, nil
}

// linkSchemes are the URI schemes a link may use (doc/crypt4gh-v2.md
// section 8).
var linkSchemes = map[string]bool{"https": true, "http": true, "file": true, "s3": true, "drs": true, "htsget": true}

func parseSegmentMap(b []byte) (*SegmentMap, error) {
	if len(b) < 12 {
		return nil, fmt.Errorf("%w: segment map packet is too short", ErrMalformedHeader)
	}
	m := &SegmentMap{Total: binary.LittleEndian.Uint64(b)}
	n := binary.LittleEndian.Uint32(b[8:])
	if n == 0 || n > MaxSegmentMapRuns || uint64(n) > uint64(len(b)-12)/16 {
		return nil, fmt.Errorf("%w: segment map declares %d runs in %d bytes", ErrMalformedHeader, n, len(b)-12)
	}
	if m.Total > 1<<46 {
		return nil, fmt.Errorf("%w: segment map total %d is implausible", ErrMalformedHeader, m.Total)
	}
	m.Runs = make([]SegmentRun, n)
	var next uint64
	for i := range m.Runs {
		r := SegmentRun{First: binary.LittleEndian.Uint64(b[12+16*i:]), Count: binary.LittleEndian.Uint64(b[20+16*i:])}
		if r.Count == 0 || r.First < next || r.First >= m.Total || r.Count > m.Total-r.First {
			return nil, fmt.Errorf("%w: segment map run %d [%d, +%d) is empty, out of order or outside the %d segments", ErrMalformedHeader, i, r.First, r.Count, m.Total)
		}
		next = r.First + r.Count
		m.Runs[i] = r
	}
	return m, nil
}
