package format

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Header packet encryption methods (the packet_encryption field).
const (
	MethodX25519ChaCha20Poly1305 = 0
)

// Plaintext packet types (the first field of a decrypted packet).
const (
	TypeDataEncryptionParameters = 0
	TypeDataEditList             = 1
)

// Data encryption methods (data_encryption_method in a data key packet).
const (
	DataChaCha20Poly1305 = 0
)

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

// DataKey is the content of a data_encryption_parameters packet.
type DataKey struct {
	Method uint32
	Key    [DataKeySize]byte
}

// EditList is the content of a data_edit_list packet: lengths alternating
// skip, keep, skip, … starting with a skip.
type EditList struct {
	Lengths []uint64
}

// PacketContent is what a decrypted header packet holds: exactly one of
// DataKey and EditList is set.
type PacketContent struct {
	Type     uint32
	DataKey  *DataKey
	EditList *EditList
}

// MarshalDataKey returns the packet plaintext for a data key.
func MarshalDataKey(k *DataKey) []byte {
	b := make([]byte, 0, dataKeyPlaintextSize)
	b = binary.LittleEndian.AppendUint32(b, TypeDataEncryptionParameters)
	b = binary.LittleEndian.AppendUint32(b, k.Method)
	return append(b, k.Key[:]...)
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

// ParsePacketContent decodes a decrypted packet plaintext. Bytes after the
// known fields are padding and are ignored, as the standard allows writers to
// pad packets to hide their type. Unknown packet types and data encryption
// methods are rejected with ErrUnsupported naming the value.
func ParsePacketContent(pt []byte) (*PacketContent, error) {
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
		if k.Method != DataChaCha20Poly1305 {
			return nil, fmt.Errorf("%w data encryption method %d", ErrUnsupported, k.Method)
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
	default:
		return nil, fmt.Errorf("%w header packet type %d", ErrUnsupported, c.Type)
	}
	return c, nil
}
