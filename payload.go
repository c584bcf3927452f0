package crypt4gh

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/crypt4gh-go/crypt4gh/internal/segment"
	"golang.org/x/crypto/chacha20poly1305"
)

// HKDF labels of the v2 profile (doc/crypt4gh-v2.md sections 4, 5, 7).
const (
	labelMAC        = "crypt4gh-v2 header mac"
	labelChaCha     = "crypt4gh-v2 payload chacha20-poly1305"
	labelAES        = "crypt4gh-v2 payload aes-256-gcm"
	labelCommitment = "crypt4gh-v2 key commitment"
	// aesRotateBits: an AES-256-GCM key seals at most 2^20 segments (64 GiB).
	aesRotateBits = 20
)

// deriveKey is HKDF-SHA-256 with an empty salt and a 32-byte output.
func deriveKey(secret []byte, info string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, info, 32)
	if err != nil {
		panic("crypt4gh: HKDF failed: " + err.Error()) // only for impossible lengths
	}
	return k
}

func isSealed(method uint32) bool {
	return method == DataSealedChaCha20Poly1305 || method == DataSealedAES256GCM
}

// framingOf returns how a payload of the data method ends.
func framingOf(method uint32) segment.Framing {
	switch method {
	case DataChaCha20Poly1305PR736:
		return segment.FramingPR736
	case DataSealedChaCha20Poly1305, DataSealedAES256GCM:
		return segment.FramingSealed
	}
	return segment.FramingV1
}

// segmentCipher returns the cipher of one data key.
func segmentCipher(k DataKey) (segment.Cipher, error) {
	switch k.Method {
	case DataChaCha20Poly1305:
		a, _ := chacha20poly1305.New(k.Key[:])
		return segment.V1{A: a}, nil
	case DataChaCha20Poly1305PR736:
		a, _ := chacha20poly1305.New(k.Key[:])
		return segment.PR736{A: a, Seq: k.Seq}, nil
	case DataSealedChaCha20Poly1305:
		pk := deriveKey(k.Key[:], labelChaCha)
		a, _ := chacha20poly1305.New(pk)
		clear(pk)
		return &segment.Sealed{A: a}, nil
	case DataSealedAES256GCM:
		key := k.Key
		return &segment.Sealed{RotateBits: aesRotateBits, Derive: func(j uint64) cipher.AEAD {
			kj := deriveKey(key[:], labelAES+string(binary.LittleEndian.AppendUint64(nil, j)))
			b, _ := aes.NewCipher(kj)
			clear(kj)
			a, _ := cipher.NewGCM(b)
			return a
		}}, nil
	}
	return nil, errUnsupportedMethod(k.Method)
}

// payloadOpener makes the opener and layout of a header's payload.
func payloadOpener(c *HeaderContent) (*segment.Opener, segment.Layout, error) {
	if len(c.DataKeys) == 0 {
		return nil, segment.Layout{}, ErrNoMatchingKey
	}
	ciphers := make([]segment.Cipher, 0, len(c.DataKeys))
	for _, k := range c.DataKeys {
		sc, err := segmentCipher(k)
		if err != nil {
			return nil, segment.Layout{}, err
		}
		ciphers = append(ciphers, sc)
	}
	layout := segment.NoMap(framingOf(c.DataKeys[0].Method))
	if m := c.SegmentMap; m != nil {
		layout.Count = m.Segments()
		layout.FinalIndex = int64(m.Total) - 1
		layout.Index = m.originalIndex
	}
	return segment.NewOpener(ciphers...), layout, nil
}

// SegmentMap lists the original segments a rearranged sealed payload
// holds (v2 packet type 4).
type SegmentMap struct {
	// Total is the number of segments of the original payload.
	Total uint64
	// Runs are the original segments present, in order.
	Runs []SegmentRun
}

// Segments returns how many segments the payload holds.
func (m *SegmentMap) Segments() int64 {
	var n int64
	for _, r := range m.Runs {
		n += r.Count
	}
	return n
}

// originalIndex maps a payload position to its original segment index.
func (m *SegmentMap) originalIndex(pos int64) int64 {
	for _, r := range m.Runs {
		if pos < r.Count {
			return r.First + pos
		}
		pos -= r.Count
	}
	return -1 // past the map: the reader reports the extra segment
}

// compose returns the map of a payload made of the given runs of this
// payload's positions (a nil map is the identity over payloadSegs). It
// works run by run, so its cost does not grow with the file size.
func (m *SegmentMap) compose(runs []SegmentRun, payloadSegs int64) *SegmentMap {
	src := []SegmentRun{{First: 0, Count: payloadSegs}}
	out := &SegmentMap{Total: uint64(payloadSegs)}
	if m != nil {
		src, out.Total = m.Runs, m.Total
	}
	add := func(first, count int64) {
		if n := len(out.Runs); n > 0 && out.Runs[n-1].First+out.Runs[n-1].Count == first {
			out.Runs[n-1].Count += count
		} else {
			out.Runs = append(out.Runs, SegmentRun{First: first, Count: count})
		}
	}
	for _, r := range runs {
		lo, hi := r.First, payloadSegs
		if r.Count >= 0 {
			hi = min(hi, r.First+r.Count)
		}
		// Intersect [lo, hi) with each source run's span of positions.
		var pos int64
		for _, s := range src {
			a, b := max(lo, pos), min(hi, pos+s.Count)
			if a < b {
				add(s.First+(a-pos), b-a)
			}
			pos += s.Count
			if pos >= hi {
				break
			}
		}
	}
	return out
}

func (m *SegmentMap) validate() error {
	var next int64
	for i, r := range m.Runs {
		if r.Count <= 0 || r.First < next || uint64(r.First+r.Count) > m.Total {
			return fmt.Errorf("%w: segment map run %d is empty, out of order or outside the file", ErrMalformedHeader, i)
		}
		next = r.First + r.Count
	}
	if len(m.Runs) == 0 || !sort.SliceIsSorted(m.Runs, func(a, b int) bool { return m.Runs[a].First < m.Runs[b].First }) {
		return fmt.Errorf("%w: segment map has no runs", ErrMalformedHeader)
	}
	return nil
}
