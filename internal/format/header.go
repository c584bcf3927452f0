package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Magic is the 8-byte magic number that starts every Crypt4GH file.
const Magic = "crypt4gh"

// Version1 is the only version of the GA4GH standard published so far.
const Version1 = 1

// Version2 is the v2 profile of this project (doc/crypt4gh-v2.md): the
// packets are followed by a 32-byte header MAC and signature records.
const Version2 = 2

// Sizes and limits of the version 2 trailer.
const (
	MACSize            = 32
	SigRecordPrefix    = 4 + 4 + 32 // length, algorithm, key id
	MaxSignatures      = 16
	MaxSignatureRecord = 16 << 10
)

// Signature is one signature record of a version 2 header.
type Signature struct {
	Algorithm uint32
	KeyID     [32]byte
	Sig       []byte
}

// Sizes of the fixed parts of the header.
const (
	PreambleSize     = 16 // magic, version, packet count
	PacketPrefixSize = 8  // packet_length, packet_encryption
)

// Limits bound what a parser will accept, so that a hostile header cannot
// make it allocate without bound. A zero field means the default.
type Limits struct {
	MaxPackets      int // default 65536
	MaxPacketLength int // default 16 MiB, counting the 4-byte length field
	MaxHeaderSize   int // default 64 MiB for the whole header
}

// DefaultLimits are generous for any header a real writer produces (one
// recipient costs 108 bytes; an edit list of n lengths costs 76+8n) while
// keeping a hostile header's cost bounded.
var DefaultLimits = Limits{MaxPackets: 65536, MaxPacketLength: 16 << 20, MaxHeaderSize: 64 << 20}

func (l Limits) withDefaults() Limits {
	if l.MaxPackets <= 0 {
		l.MaxPackets = DefaultLimits.MaxPackets
	}
	if l.MaxPacketLength <= 0 {
		l.MaxPacketLength = DefaultLimits.MaxPacketLength
	}
	if l.MaxHeaderSize <= 0 {
		l.MaxHeaderSize = DefaultLimits.MaxHeaderSize
	}
	return l
}

// Packet is one header packet as it appears on the wire: the encryption
// method and everything after it (for method 0: writer public key, nonce,
// ciphertext and MAC). The 4-byte length prefix is implied by len(Payload).
type Packet struct {
	Method  uint32
	Payload []byte
}

// WireSize is the packet's packet_length field: the whole packet including
// the length field itself.
func (p *Packet) WireSize() int { return PacketPrefixSize + len(p.Payload) }

// Header is a parsed but still encrypted Crypt4GH header. MAC and
// Signatures exist only in version 2 headers.
type Header struct {
	Version    uint32
	Packets    []Packet
	MAC        []byte
	Signatures []Signature
}

// Size is the number of bytes Marshal produces.
func (h *Header) Size() int {
	n := h.packetsEnd()
	if h.Version >= Version2 {
		n += MACSize + 4
		for _, s := range h.Signatures {
			n += SigRecordPrefix + len(s.Sig)
		}
	}
	return n
}

func (h *Header) packetsEnd() int {
	n := PreambleSize
	for i := range h.Packets {
		n += h.Packets[i].WireSize()
	}
	return n
}

// MACInput returns the bytes the version 2 header MAC covers: from the
// magic to the end of the last packet.
func (h *Header) MACInput() []byte {
	return h.appendPackets(make([]byte, 0, h.packetsEnd()))
}

// Marshal returns the canonical wire form of h.
func (h *Header) Marshal() []byte {
	return h.AppendTo(make([]byte, 0, h.Size()))
}

// AppendTo appends the wire form of h to b.
func (h *Header) AppendTo(b []byte) []byte {
	b = h.appendPackets(b)
	if h.Version >= Version2 {
		mac := h.MAC
		if len(mac) != MACSize {
			mac = make([]byte, MACSize) // not computed yet
		}
		b = append(b, mac...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(h.Signatures)))
		for _, s := range h.Signatures {
			b = binary.LittleEndian.AppendUint32(b, uint32(SigRecordPrefix+len(s.Sig)))
			b = binary.LittleEndian.AppendUint32(b, s.Algorithm)
			b = append(b, s.KeyID[:]...)
			b = append(b, s.Sig...)
		}
	}
	return b
}

func (h *Header) appendPackets(b []byte) []byte {
	b = append(b, Magic...)
	b = binary.LittleEndian.AppendUint32(b, h.Version)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(h.Packets)))
	for i := range h.Packets {
		p := &h.Packets[i]
		b = binary.LittleEndian.AppendUint32(b, uint32(p.WireSize()))
		b = binary.LittleEndian.AppendUint32(b, p.Method)
		b = append(b, p.Payload...)
	}
	return b
}

// ReadHeader reads exactly one header from r and no further. It checks the
// magic, the version (only those in versions are accepted) and the packet
// framing against lim. Packet payloads are copied into fresh memory, read
// in bounded chunks so a length field that lies about the input costs at
// most what the input really holds.
func ReadHeader(r io.Reader, lim Limits, versions ...uint32) (*Header, error) {
	lim = lim.withDefaults()
	var pre [PreambleSize]byte
	if n, err := io.ReadFull(r, pre[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty input", ErrNotCrypt4GH)
		}
		if n < len(Magic) && !bytes.HasPrefix([]byte(Magic), pre[:n]) {
			return nil, ErrNotCrypt4GH
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: header ends after %d bytes, before the packet count", ErrTruncated, n)
	}
	if string(pre[:8]) != Magic {
		return nil, ErrNotCrypt4GH
	}
	h := &Header{Version: binary.LittleEndian.Uint32(pre[8:12])}
	if !versionAllowed(h.Version, versions) {
		return nil, fmt.Errorf("%w %d", ErrUnsupportedVersion, h.Version)
	}
	count := binary.LittleEndian.Uint32(pre[12:16])
	if uint64(count) > uint64(lim.MaxPackets) {
		return nil, fmt.Errorf("%w: %d header packets, more than the limit of %d", ErrMalformedHeader, count, lim.MaxPackets)
	}
	if count == 0 {
		return nil, fmt.Errorf("%w: no header packets", ErrMalformedHeader)
	}
	total := PreambleSize
	h.Packets = make([]Packet, 0, min(int(count), 64))
	for i := 0; i < int(count); i++ {
		var pfx [PacketPrefixSize]byte
		if _, err := io.ReadFull(r, pfx[:]); err != nil {
			return nil, truncatedOr(err, "header packet %d of %d is missing", i, count)
		}
		length := binary.LittleEndian.Uint32(pfx[0:4])
		if length < PacketPrefixSize {
			return nil, fmt.Errorf("%w: header packet %d has length %d, less than its own 8-byte prefix", ErrMalformedHeader, i, length)
		}
		if uint64(length) > uint64(lim.MaxPacketLength) {
			return nil, fmt.Errorf("%w: header packet %d has length %d, more than the limit of %d", ErrMalformedHeader, i, length, lim.MaxPacketLength)
		}
		total += int(length)
		if total > lim.MaxHeaderSize {
			return nil, fmt.Errorf("%w: header larger than the limit of %d bytes", ErrMalformedHeader, lim.MaxHeaderSize)
		}
		payload, err := readBounded(r, int(length)-PacketPrefixSize)
		if err != nil {
			return nil, truncatedOr(err, "header packet %d declares %d bytes but the input ends first", i, length)
		}
		h.Packets = append(h.Packets, Packet{Method: binary.LittleEndian.Uint32(pfx[4:8]), Payload: payload})
	}
	if h.Version >= Version2 {
		if err := readTrailer(r, h, lim.MaxHeaderSize-total); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// readTrailer reads the MAC and signature records of a version 2 header.
func readTrailer(r io.Reader, h *Header, budget int) error {
	var fixed [MACSize + 4]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return truncatedOr(err, "the header MAC and signature count are missing")
	}
	h.MAC = append([]byte(nil), fixed[:MACSize]...)
	count := binary.LittleEndian.Uint32(fixed[MACSize:])
	if count > MaxSignatures {
		return fmt.Errorf("%w: %d signatures, more than the limit of %d", ErrMalformedHeader, count, MaxSignatures)
	}
	budget -= len(fixed)
	for i := 0; i < int(count); i++ {
		var pfx [SigRecordPrefix]byte
		if _, err := io.ReadFull(r, pfx[:]); err != nil {
			return truncatedOr(err, "signature %d of %d is missing", i, count)
		}
		length := binary.LittleEndian.Uint32(pfx[0:4])
		if length < SigRecordPrefix || length > MaxSignatureRecord {
			return fmt.Errorf("%w: signature record %d has length %d (want %d to %d)", ErrMalformedHeader, i, length, SigRecordPrefix, MaxSignatureRecord)
		}
		if budget -= int(length); budget < 0 {
			return fmt.Errorf("%w: header larger than the limit", ErrMalformedHeader)
		}
		sig := make([]byte, length-SigRecordPrefix)
		if _, err := io.ReadFull(r, sig); err != nil {
			return truncatedOr(err, "signature record %d is cut short", i)
		}
		s := Signature{Algorithm: binary.LittleEndian.Uint32(pfx[4:8]), Sig: sig}
		copy(s.KeyID[:], pfx[8:])
		h.Signatures = append(h.Signatures, s)
	}
	return nil
}

// ParseHeader parses a header held in memory and returns it with the
// number of bytes it occupied.
func ParseHeader(b []byte, lim Limits, versions ...uint32) (*Header, int, error) {
	r := bytes.NewReader(b)
	h, err := ReadHeader(r, lim, versions...)
	if err != nil {
		return nil, 0, err
	}
	return h, len(b) - r.Len(), nil
}

func versionAllowed(v uint32, versions []uint32) bool {
	if len(versions) == 0 {
		return v == Version1
	}
	for _, a := range versions {
		if v == a {
			return true
		}
	}
	return false
}

// readBounded reads exactly n bytes, growing its buffer as data arrives
// rather than trusting n up front.
func readBounded(r io.Reader, n int) ([]byte, error) {
	const chunk = 64 << 10
	if n <= chunk {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	var buf bytes.Buffer
	got, err := io.CopyN(&buf, r, int64(n))
	if err != nil {
		if errors.Is(err, io.EOF) && got < int64(n) {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

func truncatedOr(err error, format string, args ...any) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: "+format, append([]any{ErrTruncated}, args...)...)
	}
	return err
}
