package format

// Version 2 framing and packet contents against doc/crypt4gh-v2.md
// sections 3 and 3.2.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// v2Header returns a version 2 header with the given packets and
// signature records (already framed), a MAC of 0x11 bytes.
func v2Header(packets [][]byte, sigCount uint32, sigs ...[]byte) []byte {
	b := []byte(Magic)
	b = binary.LittleEndian.AppendUint32(b, Version2)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(packets)))
	for _, p := range packets {
		b = append(b, p...)
	}
	b = append(b, bytes.Repeat([]byte{0x11}, MACSize)...)
	b = binary.LittleEndian.AppendUint32(b, sigCount)
	for _, s := range sigs {
		b = append(b, s...)
	}
	return b
}

// sigRecord frames a signature record with the given length field.
func sigRecord(length, alg uint32, sig []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, length)
	b = binary.LittleEndian.AppendUint32(b, alg)
	b = append(b, bytes.Repeat([]byte{0x22}, 32)...)
	return append(b, sig...)
}

func TestV2HeaderLimits(t *testing.T) {
	p := packet(108, 0, make([]byte, 100))
	rec := func(n int) []byte { return sigRecord(uint32(SigRecordPrefix+n), 1, make([]byte, n)) }
	ok := map[string][]byte{
		"no signatures":           v2Header([][]byte{p}, 0),
		"empty signature":         v2Header([][]byte{p}, 1, rec(0)),
		"16 signatures":           v2Header([][]byte{p}, 16, bytes.Repeat(rec(64), 16)),
		"largest record (16 KiB)": v2Header([][]byte{p}, 1, rec(MaxSignatureRecord-SigRecordPrefix)),
		"unknown algorithm":       v2Header([][]byte{p}, 1, sigRecord(SigRecordPrefix+3, 0xdead, []byte{1, 2, 3})),
	}
	for name, b := range ok {
		h, n, err := ParseHeader(append(bytes.Clone(b), "payload"...), DefaultLimits, Version1, Version2)
		if err != nil || n != len(b) {
			t.Errorf("%s: %v (%d of %d bytes)", name, err, n, len(b))
			continue
		}
		if !bytes.Equal(h.Marshal(), b) || h.Size() != len(b) {
			t.Errorf("%s: does not marshal back to its bytes", name)
		}
	}
	bad := map[string]struct {
		in   []byte
		want error
	}{
		"17 signatures":                  {v2Header([][]byte{p}, 17, bytes.Repeat(rec(64), 17)), ErrMalformedHeader},
		"huge signature count":           {v2Header([][]byte{p}, 1<<31), ErrMalformedHeader},
		"record shorter than its prefix": {v2Header([][]byte{p}, 1, sigRecord(SigRecordPrefix-1, 1, nil)), ErrMalformedHeader},
		"record length 0":                {v2Header([][]byte{p}, 1, sigRecord(0, 1, nil)), ErrMalformedHeader},
		"record over 16 KiB":             {v2Header([][]byte{p}, 1, sigRecord(MaxSignatureRecord+1, 1, make([]byte, MaxSignatureRecord+1-SigRecordPrefix))), ErrMalformedHeader},
		"record cut short":               {v2Header([][]byte{p}, 1, sigRecord(SigRecordPrefix+64, 1, make([]byte, 10))), ErrTruncated},
		"second record missing":          {v2Header([][]byte{p}, 2, rec(64)), ErrTruncated},
		"no trailer":                     {v2Header([][]byte{p}, 0)[:16+108], ErrTruncated},
		"MAC cut short":                  {v2Header([][]byte{p}, 0)[:16+108+20], ErrTruncated},
		"count missing":                  {v2Header([][]byte{p}, 0)[:16+108+32+2], ErrTruncated},
		"no packets":                     {v2Header(nil, 0), ErrMalformedHeader},
		"packet over 16 MiB":             {v2Header([][]byte{packet(16<<20+1, 0, nil)}, 0), ErrMalformedHeader},
		"65537 packets":                  {v2Header(make([][]byte, 0), 0), ErrMalformedHeader},
	}
	many := bad["65537 packets"]
	binary.LittleEndian.PutUint32(many.in[12:], 65537)
	bad["65537 packets"] = many
	for name, tc := range bad {
		if _, _, err := ParseHeader(tc.in, DefaultLimits, Version1, Version2); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	// 65536 empty packets are within the limits.
	empty := packet(PacketPrefixSize, 7, nil)
	b := v2Header(bytes.Split(bytes.Repeat(append(bytes.Clone(empty), '|'), 65536), []byte{'|'})[:65536], 0)
	if h, _, err := ParseHeader(b, DefaultLimits, Version2); err != nil || len(h.Packets) != 65536 {
		t.Errorf("65536 packets: %v", err)
	}
	// A tighter MaxHeaderSize also bounds the signatures.
	big := v2Header([][]byte{p}, 2, rec(10000), rec(10000))
	if _, _, err := ParseHeader(big, Limits{MaxHeaderSize: 16 + 108 + 36 + 15000}, Version2); !errors.Is(err, ErrMalformedHeader) {
		t.Errorf("signatures over MaxHeaderSize: %v", err)
	}
}

// The MAC covers the magic through the last packet, nothing after.
func TestV2MACInput(t *testing.T) {
	p1, p2 := packet(108, 0, bytes.Repeat([]byte{1}, 100)), packet(20, 1, bytes.Repeat([]byte{2}, 12))
	b := v2Header([][]byte{p1, p2}, 1, sigRecord(SigRecordPrefix+5, 2, []byte("abcde")))
	h, _, err := ParseHeader(b, DefaultLimits, Version2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.MACInput(), b[:16+108+20]; !bytes.Equal(got, want) {
		t.Fatalf("MACInput is %d bytes, want the %d up to the end of the last packet", len(got), len(want))
	}
	if !bytes.Equal(h.MAC, bytes.Repeat([]byte{0x11}, 32)) || h.Signatures[0].Algorithm != 2 || string(h.Signatures[0].Sig) != "abcde" {
		t.Fatal("trailer fields")
	}
	// Version 1 headers have no trailer: the same bytes after the packets
	// are payload.
	v1 := header(p1, p2)
	h1, n, err := ParseHeader(append(bytes.Clone(v1), b[len(v1):]...), DefaultLimits, Version1)
	if err != nil || n != len(v1) || h1.MAC != nil || h1.Signatures != nil {
		t.Fatalf("version 1: %v, %d bytes", err, n)
	}
}

func TestV2PacketContentRules(t *testing.T) {
	key := func(m uint32, extra int) []byte {
		b := MarshalDataKey(&DataKey{Method: m, Seq: 0x0102030405060708})
		return append(b, make([]byte, extra)...)
	}
	typ := func(ty uint32, rest ...byte) []byte {
		return append(binary.LittleEndian.AppendUint32(nil, ty), rest...)
	}
	// Data methods by version (section 2 and 3.2).
	for _, tc := range []struct {
		version, method uint32
		ok              bool
	}{
		{1, 0, true}, {1, 1, true}, {1, 2, false}, {1, 3, false}, {1, 4, false},
		{2, 0, false}, {2, 1, false}, {2, 2, true}, {2, 3, true}, {2, 4, false},
	} {
		c, err := ParsePacketContent(key(tc.method, 0), tc.version)
		if (err == nil) != tc.ok {
			t.Errorf("version %d, data method %d: %v", tc.version, tc.method, err)
		}
		if err != nil && !errors.Is(err, ErrUnsupported) {
			t.Errorf("version %d, data method %d: %v is not ErrUnsupported", tc.version, tc.method, err)
		}
		if err == nil && c.DataKey.Method != tc.method {
			t.Errorf("method %d parsed as %d", tc.method, c.DataKey.Method)
		}
	}
	// PR 736: 48 bytes with the sequence number.
	if b := key(1, 0); len(b) != 48 {
		t.Fatalf("PR 736 data key packet is %d bytes", len(b))
	}
	if c, err := ParsePacketContent(key(1, 16), 1); err != nil || c.DataKey.Seq != 0x0102030405060708 {
		t.Fatalf("padded PR 736 key: %v", err)
	}
	if len(key(2, 0)) != 40 {
		t.Fatal("sealed data key packet is not 40 bytes")
	}
	// Padding after the known fields of types 0, 1, 2 and 4 is ignored.
	pad := make([]byte, 13)
	for name, b := range map[string][]byte{
		"data key":    key(3, 13),
		"edit list":   append(MarshalEditList(&EditList{Lengths: []uint64{4, 5}}), pad...),
		"expiry":      append(MarshalExpiry(1234), pad...),
		"segment map": append(MarshalSegmentMap(&SegmentMap{Total: 3, Runs: []SegmentRun{{1, 2}}}), pad...),
	} {
		if _, err := ParsePacketContent(b, Version2); err != nil {
			t.Errorf("padded %s: %v", name, err)
		}
	}
	if c, _ := ParsePacketContent(append(MarshalExpiry(1234), pad...), Version2); *c.Expiry != 1234 {
		t.Error("expiry value")
	}
	if c, _ := ParsePacketContent(append(MarshalSegmentMap(&SegmentMap{Total: 3, Runs: []SegmentRun{{1, 2}}}), pad...), Version2); c.SegmentMap.Total != 3 || len(c.SegmentMap.Runs) != 1 {
		t.Error("segment map value")
	}
	// Type 3 cannot be padded: the URI runs to the end (zero padding is a
	// control character).
	if _, err := ParsePacketContent(append(MarshalLink("https://a.example/x"), 0), Version2); !errors.Is(err, ErrMalformedHeader) {
		t.Errorf("padded link: %v", err)
	}
	if c, err := ParsePacketContent(MarshalLink("htsget://h.example/reads/1?x=é"), Version2); err != nil || *c.Link != "htsget://h.example/reads/1?x=é" {
		t.Errorf("UTF-8 link: %v", err)
	}
	// Link length bound (8 KiB) and UTF-8.
	long := "https://a.example/" + strings.Repeat("a", MaxLinkLength-len("https://a.example/"))
	if _, err := ParsePacketContent(MarshalLink(long), Version2); err != nil {
		t.Errorf("8 KiB link: %v", err)
	}
	if _, err := ParsePacketContent(MarshalLink(long+"a"), Version2); !errors.Is(err, ErrMalformedHeader) {
		t.Errorf("8 KiB + 1 link: %v", err)
	}
	if _, err := ParsePacketContent(MarshalLink("https://a.example/\xff"), Version2); !errors.Is(err, ErrMalformedHeader) {
		t.Errorf("invalid UTF-8 link: %v", err)
	}
	if _, err := ParsePacketContent(MarshalLink("https://a.example/\x7f"), Version2); !errors.Is(err, ErrMalformedHeader) {
		t.Errorf("DEL in link: %v", err)
	}
	// Segment map bounds.
	for name, tc := range map[string]struct {
		m  *SegmentMap
		ok bool
	}{
		"run to the end":  {&SegmentMap{Total: 5, Runs: []SegmentRun{{0, 2}, {2, 3}}}, true},
		"adjacent runs":   {&SegmentMap{Total: 5, Runs: []SegmentRun{{0, 1}, {1, 1}}}, true},
		"past the end":    {&SegmentMap{Total: 5, Runs: []SegmentRun{{4, 2}}}, false},
		"first at total":  {&SegmentMap{Total: 5, Runs: []SegmentRun{{5, 1}}}, false},
		"count overflow":  {&SegmentMap{Total: 5, Runs: []SegmentRun{{1, 1<<64 - 1}}}, false},
		"total 2^46":      {&SegmentMap{Total: 1 << 46, Runs: []SegmentRun{{0, 1}}}, true},
		"total over 2^46": {&SegmentMap{Total: 1<<46 + 1, Runs: []SegmentRun{{0, 1}}}, false},
		"no runs":         {&SegmentMap{Total: 5}, false},
		"zero total":      {&SegmentMap{Total: 0, Runs: []SegmentRun{{0, 1}}}, false},
		"unordered":       {&SegmentMap{Total: 5, Runs: []SegmentRun{{3, 1}, {0, 1}}}, false},
	} {
		_, err := ParsePacketContent(MarshalSegmentMap(tc.m), Version2)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrMalformedHeader)) {
			t.Errorf("segment map %s: %v", name, err)
		}
	}
	hugeRuns := binary.LittleEndian.AppendUint64(typ(TypeSegmentMap), 10)
	hugeRuns = binary.LittleEndian.AppendUint32(hugeRuns, MaxSegmentMapRuns+1)
	if _, err := ParsePacketContent(hugeRuns, Version2); !errors.Is(err, ErrMalformedHeader) {
		t.Errorf("too many runs: %v", err)
	}
	// Critical and non-critical types (version 2 only).
	for _, ty := range []uint32{5, 6, 1000, 0x7fffffff} {
		_, err := ParsePacketContent(typ(ty), Version2)
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "unknown critical header packet type") {
			t.Errorf("critical type %d: %v", ty, err)
		}
	}
	for _, ty := range []uint32{0x80000000, 0x80000005, 0xffffffff} {
		c, err := ParsePacketContent(typ(ty, 1, 2, 3), Version2)
		if err != nil || c.DataKey != nil || c.EditList != nil || c.Expiry != nil || c.Link != nil || c.SegmentMap != nil {
			t.Errorf("non-critical type %#x in v2: %v", ty, err)
		}
		if _, err := ParsePacketContent(typ(ty), Version1); !errors.Is(err, ErrUnsupported) {
			t.Errorf("type %#x in v1: %v", ty, err)
		}
	}
	for _, ty := range []uint32{TypeExpiry, TypeLink, TypeSegmentMap} {
		if _, err := ParsePacketContent(typ(ty, make([]byte, 40)...), Version1); !errors.Is(err, ErrUnsupported) {
			t.Errorf("type %d in v1: %v", ty, err)
		}
	}
}

// Marshal functions produce the layouts of section 3.2 byte for byte.
func TestV2PacketLayouts(t *testing.T) {
	var k DataKey
	for i := range k.Key {
		k.Key[i] = byte(i)
	}
	k.Method, k.Seq = DataChaCha20Poly1305PR736, 1<<64-2
	want := append([]byte{0, 0, 0, 0, 1, 0, 0, 0}, k.Key[:]...)
	want = append(want, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if got := MarshalDataKey(&k); !bytes.Equal(got, want) {
		t.Errorf("PR 736 key: %x", got)
	}
	k.Method = DataSealedAES256GCM
	if got := MarshalDataKey(&k); !bytes.Equal(got, append([]byte{0, 0, 0, 0, 3, 0, 0, 0}, k.Key[:]...)) {
		t.Errorf("sealed key: %x (the sequence number belongs to method 1 only)", got)
	}
	if got := MarshalExpiry(0x0102030405060708); !bytes.Equal(got, []byte{2, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1}) {
		t.Errorf("expiry: %x", got)
	}
	if got := MarshalLink("s3://b/k"); !bytes.Equal(got, append([]byte{3, 0, 0, 0}, "s3://b/k"...)) {
		t.Errorf("link: %x", got)
	}
	got := MarshalSegmentMap(&SegmentMap{Total: 9, Runs: []SegmentRun{{1, 2}, {7, 2}}})
	want = []byte{4, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
		1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
		7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Errorf("segment map: %x", got)
	}
}
