package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// vectorFiles returns every Crypt4GH file of the shared vectors.
func vectorFiles(tb testing.TB) [][]byte { return testvectors.Files(tb, "c4gh/*/*.c4gh") }

func header(packets ...[]byte) []byte {
	b := []byte(Magic)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(packets)))
	for _, p := range packets {
		b = append(b, p...)
	}
	return b
}

func packet(length uint32, method uint32, payload []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, length)
	b = binary.LittleEndian.AppendUint32(b, method)
	return append(b, payload...)
}

func TestReadHeaderErrors(t *testing.T) {
	good := packet(108, 0, make([]byte, 100))
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrNotCrypt4GH},
		{"bad magic", append([]byte("crypt5gh"), make([]byte, 8)...), ErrNotCrypt4GH},
		{"short garbage", []byte("hello"), ErrNotCrypt4GH},
		{"magic only", []byte(Magic), ErrTruncated},
		{"version 2", append([]byte(Magic), 2, 0, 0, 0, 1, 0, 0, 0), ErrUnsupportedVersion},
		{"no packets", header(), ErrMalformedHeader},
		{"too many packets", append([]byte(Magic), 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), ErrMalformedHeader},
		{"packet length below prefix", header(packet(7, 0, nil)), ErrMalformedHeader},
		{"packet length huge", header(packet(0xffffffff, 0, nil)), ErrMalformedHeader},
		{"packet truncated", header(packet(108, 0, make([]byte, 50))), ErrTruncated},
		{"second packet missing", append(header(good), 0)[:len(header(good))], nil},
	}
	// The last case: a header declaring 2 packets but holding 1.
	two := header(good, good)
	tests[len(tests)-1].in = two[:len(two)-108]
	tests[len(tests)-1].want = ErrTruncated
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadHeader(bytes.NewReader(tc.in), DefaultLimits)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// A header that declares a 16 MiB packet but stops early must not make
// the parser allocate the declared size up front.
func TestReadHeaderBoundedAllocation(t *testing.T) {
	in := header(packet(16<<20, 0, make([]byte, 100)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 20; i++ {
		if _, err := ReadHeader(bytes.NewReader(in), DefaultLimits); !errors.Is(err, ErrTruncated) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 16<<20 {
		t.Fatalf("20 truncated headers declaring 16 MiB packets allocated %d bytes", grown)
	}
}

func TestRoundTripVectors(t *testing.T) {
	for _, f := range vectorFiles(t) {
		h, n, err := ParseHeader(f, DefaultLimits)
		if err != nil {
			continue // negative vectors
		}
		if got := h.Marshal(); !bytes.Equal(got, f[:n]) {
			t.Fatalf("marshal of a parsed header differs from the input")
		}
		if h.Size() != n {
			t.Fatalf("Size %d, consumed %d", h.Size(), n)
		}
	}
}

func TestPacketContent(t *testing.T) {
	k := &DataKey{Method: 0}
	for i := range k.Key {
		k.Key[i] = byte(i)
	}
	c, err := ParsePacketContent(MarshalDataKey(k), Version1)
	if err != nil || c.DataKey == nil || c.DataKey.Key != k.Key {
		t.Fatalf("data key round trip: %v", err)
	}
	padded := append(MarshalDataKey(k), make([]byte, 16)...)
	if c, err := ParsePacketContent(padded, Version1); err != nil || c.DataKey.Key != k.Key {
		t.Fatalf("padded data key packet: %v", err)
	}
	e := &EditList{Lengths: []uint64{1, 2, 3}}
	c, err = ParsePacketContent(MarshalEditList(e), Version1)
	if err != nil || len(c.EditList.Lengths) != 3 || c.EditList.Lengths[2] != 3 {
		t.Fatalf("edit list round trip: %v", err)
	}
	bad := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformedHeader},
		{"unknown type", []byte{2, 0, 0, 0}, ErrUnsupported},
		{"unknown method", append([]byte{0, 0, 0, 0, 9, 0, 0, 0}, make([]byte, 32)...), ErrUnsupported},
		{"PR 736 packet without its sequence number", append([]byte{0, 0, 0, 0, 1, 0, 0, 0}, make([]byte, 32)...), ErrUnsupported},
		{"sealed method in a version 1 header", append([]byte{0, 0, 0, 0, 2, 0, 0, 0}, make([]byte, 32)...), ErrUnsupported},
		{"expiry in a version 1 header", MarshalExpiry(5), ErrUnsupported},
		{"short key", []byte{0, 0, 0, 0, 0, 0, 0, 0, 1}, ErrMalformedHeader},
		{"edit list count lies", []byte{1, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, ErrMalformedHeader},
		{"edit list overflow", MarshalEditList(&EditList{Lengths: []uint64{1 << 63, 1}}), ErrMalformedHeader},
	}
	for _, tc := range bad {
		if _, err := ParsePacketContent(tc.in, Version1); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := ParsePacketContent([]byte{7, 0, 0, 0}, Version1); err == nil || !bytes.Contains([]byte(err.Error()), []byte("type 7")) {
		t.Errorf("unknown type error does not name the type: %v", err)
	}
}

// FuzzReadHeader checks the parser never panics and that what it accepts
// marshals back to exactly the bytes it consumed (no malleability).
func FuzzReadHeader(f *testing.F) {
	for _, v := range vectorFiles(f) {
		f.Add(v[:min(len(v), 4096)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, n, err := ParseHeader(data, Limits{MaxPackets: 64, MaxPacketLength: 1 << 16, MaxHeaderSize: 1 << 20}, Version1, Version2)
		if err != nil {
			if h != nil {
				t.Fatal("header returned with an error")
			}
			return
		}
		if !bytes.Equal(h.Marshal(), data[:n]) {
			t.Fatal("parse/marshal not byte-identical")
		}
	})
}

// FuzzPacketContent checks packet plaintext parsing: no panics, and
// canonical packets re-marshal byte for byte.
func FuzzPacketContent(f *testing.F) {
	f.Add(MarshalDataKey(&DataKey{}))
	f.Add(MarshalEditList(&EditList{Lengths: []uint64{3928}}))
	f.Add(MarshalEditList(&EditList{Lengths: []uint64{100, 200, 300, 400}}))
	f.Add([]byte{2, 0, 0, 0})
	f.Add(MarshalExpiry(1 << 40))
	f.Add(MarshalLink("https://example.org/a.c4gh"))
	f.Add(MarshalSegmentMap(&SegmentMap{Total: 10, Runs: []SegmentRun{{1, 2}, {5, 5}}}))
	f.Add(MarshalDataKey(&DataKey{Method: DataChaCha20Poly1305PR736, Seq: 77}))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, version := range []uint32{Version1, Version2} {
			c, err := ParsePacketContent(data, version)
			if err != nil {
				continue
			}
			var re []byte
			switch {
			case c.DataKey != nil:
				re = MarshalDataKey(c.DataKey)
			case c.EditList != nil:
				re = MarshalEditList(c.EditList)
			case c.Expiry != nil:
				re = MarshalExpiry(*c.Expiry)
			case c.Link != nil:
				re = MarshalLink(*c.Link)
			case c.SegmentMap != nil:
				re = MarshalSegmentMap(c.SegmentMap)
			case c.Type&TypeNonCritical != 0 && version == Version2:
				continue
			default:
				t.Fatalf("type %d parsed with no content", c.Type)
			}
			if len(re) > len(data) || !bytes.Equal(re, data[:len(re)]) {
				t.Fatal("re-marshalled packet differs from its input")
			}
		}
	})
}

func TestPacketContentV2(t *testing.T) {
	good := [][]byte{
		MarshalExpiry(1700000000),
		MarshalLink("https://archive.example.org/objects/1"),
		MarshalSegmentMap(&SegmentMap{Total: 9, Runs: []SegmentRun{{0, 1}, {4, 5}}}),
		MarshalDataKey(&DataKey{Method: DataSealedAES256GCM}),
		{0x05, 0, 0, 0x80, 1, 2, 3}, // unknown non-critical: ignored
	}
	for i, b := range good {
		if _, err := ParsePacketContent(b, Version2); err != nil {
			t.Errorf("good packet %d: %v", i, err)
		}
	}
	bad := map[string][]byte{
		"unknown critical type":  {0x05, 0, 0, 0},
		"v1 data method in v2":   MarshalDataKey(&DataKey{Method: DataChaCha20Poly1305}),
		"empty link":             MarshalLink(""),
		"link without scheme":    MarshalLink("no-scheme-here"),
		"link with control char": MarshalLink("https://a/\n"),
		"map run outside":        MarshalSegmentMap(&SegmentMap{Total: 3, Runs: []SegmentRun{{2, 2}}}),
		"map runs overlap":       MarshalSegmentMap(&SegmentMap{Total: 9, Runs: []SegmentRun{{0, 3}, {2, 1}}}),
		"map empty run":          MarshalSegmentMap(&SegmentMap{Total: 9, Runs: []SegmentRun{{0, 0}}}),
		"map count lies":         MarshalSegmentMap(&SegmentMap{Total: 9, Runs: []SegmentRun{{0, 1}}})[:20],
		"expiry short":           MarshalExpiry(1)[:10],
	}
	for name, b := range bad {
		if _, err := ParsePacketContent(b, Version2); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParsePacketContent([]byte{0x05, 0, 0, 0}, Version2); err == nil || !strings.Contains(err.Error(), "unknown critical header packet type 5") {
		t.Errorf("unknown critical type error does not name it: %v", err)
	}
}

func TestV2HeaderRoundTrip(t *testing.T) {
	h := &Header{Version: Version2, Packets: []Packet{{Method: 0, Payload: make([]byte, 100)}, {Method: 1, Payload: make([]byte, 1700)}},
		MAC: bytes.Repeat([]byte{7}, MACSize), Signatures: []Signature{{Algorithm: 1, Sig: make([]byte, 64)}, {Algorithm: 2, Sig: make([]byte, 3309)}}}
	b := h.Marshal()
	if len(b) != h.Size() {
		t.Fatalf("Size %d, marshalled %d", h.Size(), len(b))
	}
	g, n, err := ParseHeader(append(b, "payload"...), DefaultLimits, Version1, Version2)
	if err != nil || n != len(b) {
		t.Fatalf("parse: %v (%d of %d)", err, n, len(b))
	}
	if !bytes.Equal(g.Marshal(), b) || len(g.Signatures) != 2 || !bytes.Equal(g.MAC, h.MAC) {
		t.Fatal("v2 header does not round trip")
	}
	if !bytes.Equal(g.MACInput(), b[:len(b)-MACSize-4-2*SigRecordPrefix-64-3309]) {
		t.Fatal("MACInput is not the bytes up to the end of the packets")
	}
	// Cut anywhere in the trailer: truncated.
	for cut := len(b) - 1; cut > h.packetsEnd(); cut -= 97 {
		if _, _, err := ParseHeader(b[:cut], DefaultLimits, Version1, Version2); !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d: %v", cut, err)
		}
	}
	// Version 2 is rejected unless allowed.
	if _, _, err := ParseHeader(b, DefaultLimits); !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("v2 accepted by a v1-only parse: %v", err)
	}
}
