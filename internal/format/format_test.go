package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// vectorFiles returns every Crypt4GH file of the shared vectors.
func vectorFiles(tb testing.TB) [][]byte {
	tb.Helper()
	dir := testvectors.Dir(tb)
	paths, err := filepath.Glob(filepath.Join(dir, "c4gh", "*", "*.c4gh"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no vector files under %s (%v)", dir, err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

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
	c, err := ParsePacketContent(MarshalDataKey(k))
	if err != nil || c.DataKey == nil || c.DataKey.Key != k.Key {
		t.Fatalf("data key round trip: %v", err)
	}
	padded := append(MarshalDataKey(k), make([]byte, 16)...)
	if c, err := ParsePacketContent(padded); err != nil || c.DataKey.Key != k.Key {
		t.Fatalf("padded data key packet: %v", err)
	}
	e := &EditList{Lengths: []uint64{1, 2, 3}}
	c, err = ParsePacketContent(MarshalEditList(e))
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
		{"unknown method", append([]byte{0, 0, 0, 0, 1, 0, 0, 0}, make([]byte, 32)...), ErrUnsupported},
		{"short key", []byte{0, 0, 0, 0, 0, 0, 0, 0, 1}, ErrMalformedHeader},
		{"edit list count lies", []byte{1, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, ErrMalformedHeader},
		{"edit list overflow", MarshalEditList(&EditList{Lengths: []uint64{1 << 63, 1}}), ErrMalformedHeader},
	}
	for _, tc := range bad {
		if _, err := ParsePacketContent(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := ParsePacketContent([]byte{7, 0, 0, 0}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("type 7")) {
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
		h, n, err := ParseHeader(data, Limits{MaxPackets: 64, MaxPacketLength: 1 << 16, MaxHeaderSize: 1 << 20})
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
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParsePacketContent(data)
		if err != nil {
			return
		}
		var re []byte
		switch {
		case c.DataKey != nil:
			re = MarshalDataKey(c.DataKey)
		case c.EditList != nil:
			re = MarshalEditList(c.EditList)
		default:
			t.Fatal("no content")
		}
		if !bytes.Equal(re, data[:len(re)]) {
			t.Fatal("re-marshalled packet differs from its input")
		}
	})
}
