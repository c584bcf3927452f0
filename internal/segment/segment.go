// Package segment implements the Crypt4GH data payload: plaintext cut into
// 64 KiB segments, each sealed as nonce || ciphertext || tag with
// ChaCha20-IETF-Poly1305 under a data key.
//
// Segments are independent, so both directions spread whole groups of
// segments ("jobs") over goroutines and put the results back in order. At
// most a fixed number of jobs is in flight, so memory stays bounded whatever
// the input size. Sealing and opening happen in place in the job buffer: the
// plaintext is written (or read) straight into the slot where its ciphertext
// lives, and nothing is copied twice.
package segment

import (
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/crypt4gh-go/crypt4gh/internal/format"
)

// Segment sizes.
const (
	PlainSize  = 65536                               // plaintext bytes in a full segment
	NonceSize  = 12                                  // per-segment nonce
	TagSize    = 16                                  // Poly1305 tag
	Overhead   = NonceSize + TagSize                 // 28 bytes per segment
	CipherSize = PlainSize + Overhead                // 65564 bytes of a full cipher segment
	maxJobSegs = 16                                  // segments per job (1 MiB of plaintext)
	minJobSegs = 1                                   //
	maxPrefill = 1 << 30 / (maxJobSegs * CipherSize) // cap on in-flight jobs
)

// ErrAuthentication is wrapped by every error reporting a data segment that
// failed authentication.
var ErrAuthentication = errors.New("crypt4gh: data segment failed authentication")

// ErrTruncated is wrapped when the payload ends inside a segment's
// framing. It is the same value as the header codec's, so one errors.Is
// check covers a file cut anywhere.
var ErrTruncated = format.ErrTruncated

// AuthError reports the index (from 0, counting every cipher segment of the
// payload) of the first segment that no data key could open.
type AuthError struct{ Index int64 }

func (e *AuthError) Error() string {
	return fmt.Sprintf("crypt4gh: data segment %d failed authentication (no data key opens it: the file was modified or damaged)", e.Index)
}

// Unwrap makes errors.Is(err, ErrAuthentication) hold.
func (e *AuthError) Unwrap() error { return ErrAuthentication }

// TruncatedError reports a payload that ends inside segment Index or,
// with Stream set, before segment Index, where a final segment or more
// segments were required.
type TruncatedError struct {
	Index  int64
	Bytes  int // bytes of that segment present
	Stream bool
	Reason string
}

func (e *TruncatedError) Error() string {
	if e.Stream {
		msg := fmt.Sprintf("crypt4gh: truncated stream: the payload ends after %d segments without its final segment", e.Index)
		if e.Reason != "" {
			msg += " (" + e.Reason + ")"
		}
		return msg
	}
	return fmt.Sprintf("crypt4gh: truncated input: data segment %d has only %d bytes, less than the %d bytes of nonce and tag", e.Index, e.Bytes, Overhead)
}

// Unwrap makes errors.Is(err, ErrTruncated) hold.
func (e *TruncatedError) Unwrap() error { return ErrTruncated }

// CipherLen returns the size of the encrypted payload for n plaintext bytes:
// n plus 28 bytes per started segment. Empty input has no segment at all.
func CipherLen(n int64) int64 {
	return n + (n+PlainSize-1)/PlainSize*Overhead
}

// PlainLen inverts CipherLen for a payload of c bytes. It accepts a final
// 28-byte empty segment (written by some peers for empty input) and reports
// a payload whose last segment is shorter than its framing as truncated.
func PlainLen(c int64) (int64, error) {
	full, rem := c/CipherSize, c%CipherSize
	if rem > 0 && rem < Overhead {
		return 0, &TruncatedError{Index: full, Bytes: int(rem)}
	}
	n := full * PlainSize
	if rem > 0 {
		n += rem - Overhead
	}
	return n, nil
}

// Cipher is one data key's way of sealing segments: the AEAD for each
// segment index (fixed, or rotated) and the associated data binding the
// segment's position.
type Cipher interface {
	// AEAD returns the AEAD for the segment of index i.
	AEAD(i int64) cipher.AEAD
	// AppendAD appends the associated data of segment i to dst.
	AppendAD(dst []byte, i int64, final bool) []byte
}

// V1 is the version 1 cipher: one key, no associated data.
type V1 struct{ A cipher.AEAD }

func (c V1) AEAD(int64) cipher.AEAD                      { return c.A }
func (c V1) AppendAD(dst []byte, _ int64, _ bool) []byte { return dst }

// PR736 is data method 1 of hts-specs PR 736: associated data
// le_uint64(Seq + i), wrapping at 2^64.
type PR736 struct {
	A   cipher.AEAD
	Seq uint64
}

func (c PR736) AEAD(int64) cipher.AEAD { return c.A }
func (c PR736) AppendAD(dst []byte, i int64, _ bool) []byte {
	return binary.LittleEndian.AppendUint64(dst, c.Seq+uint64(i))
}

// Sealed is the v2 sealed stream: associated data le_uint64(i) || final,
// under one key or under keys rotated every 2^RotateBits segments.
type Sealed struct {
	A cipher.AEAD // fixed key, if Derive is nil
	// Derive returns the key of rotation period j (segments j<<RotateBits
	// onwards). Results are cached.
	Derive     func(j uint64) cipher.AEAD
	RotateBits uint
	cache      sync.Map // uint64 -> cipher.AEAD
}

func (c *Sealed) AEAD(i int64) cipher.AEAD {
	if c.Derive == nil {
		return c.A
	}
	j := uint64(i) >> c.RotateBits
	if a, ok := c.cache.Load(j); ok {
		return a.(cipher.AEAD)
	}
	a, _ := c.cache.LoadOrStore(j, c.Derive(j))
	return a.(cipher.AEAD)
}

func (c *Sealed) AppendAD(dst []byte, i int64, final bool) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(i))
	if final {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// Framing is the rule for how a payload ends.
type Framing int

const (
	// FramingV1: the last segment may be full or short; no empty segment is
	// written (one is accepted). Truncation at a boundary is undetectable.
	FramingV1 Framing = iota
	// FramingPR736: a plaintext ending on a segment boundary (or empty) gets
	// an empty final segment; a payload whose last segment is full is
	// truncated.
	FramingPR736
	// FramingSealed: the final segment carries the final flag in its
	// associated data; there is always one (empty only for empty input).
	FramingSealed
)

// Opener opens segments with any of a set of data keys. The standard lets
// a file use several data keys, each segment under one of them; every key is
// tried, starting with the one that opened the previous segment.
type Opener struct {
	keys []Cipher
	hint atomic.Int32
}

// NewOpener returns an Opener for the given ciphers, tried in order.
func NewOpener(keys ...Cipher) *Opener {
	if len(keys) == 0 {
		panic("segment: NewOpener needs at least one key")
	}
	return &Opener{keys: keys}
}

// Open authenticates and decrypts one cipher segment, of index i in the
// original payload, appending the plaintext to dst (which must not overlap
// seg). It returns false if no key opens it; seg is left intact, so a
// failure can be diagnosed with Probe.
func (o *Opener) Open(dst, seg []byte, i int64, final bool) ([]byte, bool) {
	if len(seg) < Overhead {
		return nil, false
	}
	var adBuf [16]byte
	nonce, ct := seg[:NonceSize], seg[NonceSize:]
	start := 0
	if len(o.keys) > 1 {
		start = int(o.hint.Load())
	}
	for n := range o.keys {
		k := (start + n) % len(o.keys)
		c := o.keys[k]
		if pt, err := c.AEAD(i).Open(dst, nonce, ct, c.AppendAD(adBuf[:0], i, final)); err == nil {
			if k != start {
				o.hint.Store(int32(k))
			}
			return pt, true
		}
	}
	return nil, false
}

// Probe reports whether seg opens as segment i with the given final flag.
// It is for diagnosing failures.
func (o *Opener) Probe(seg []byte, i int64, final bool) bool {
	buf := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(buf)
	_, ok := o.Open((*buf)[:0], seg, i, final)
	return ok
}

// Diagnose explains why seg, expected as segment i (final or not), did
// not open: the final flag is the other way (a truncated stream, or data
// after the final segment), or it is another segment of the same file
// (out of order, duplicated). It returns an *AuthError when neither holds:
// the segment was modified or comes from another file.
func (o *Opener) Diagnose(seg []byte, pos, i int64, final bool, sealed bool) error {
	if sealed {
		if final && o.Probe(seg, i, false) {
			return &TruncatedError{Index: pos + 1, Stream: true}
		}
		if !final && o.Probe(seg, i, true) {
			return &OrderError{Position: pos, Found: i, Kind: "final segment followed by more data"}
		}
		for d := int64(1); d <= 64; d++ {
			for _, j := range []int64{i - d, i + d} {
				if j < 0 {
					continue
				}
				for _, f := range []bool{false, true} {
					if o.Probe(seg, j, f) {
						return &OrderError{Position: pos, Found: j, Kind: "out of order"}
					}
				}
			}
		}
	}
	return &AuthError{Index: pos}
}

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, CipherSize); return &b }}

// OrderError reports a sealed segment that authenticates, but not at its
// position: reordered, duplicated, or a final segment with data after it.
type OrderError struct {
	Position int64 // position in the payload
	Found    int64 // the index it authenticates as
	Kind     string
}

func (e *OrderError) Error() string {
	if e.Kind == "out of order" {
		return fmt.Sprintf("crypt4gh: data segment at position %d is segment %d of the file: segments were reordered, duplicated or dropped", e.Position, e.Found)
	}
	return fmt.Sprintf("crypt4gh: data segment %d is the final segment but more data follows it", e.Position)
}

// Unwrap makes errors.Is(err, ErrOrder) hold.
func (e *OrderError) Unwrap() error { return ErrOrder }

// ErrOrder is wrapped by *OrderError.
var ErrOrder = errors.New("crypt4gh: data segments out of order")

// Concurrency returns the number of goroutines to spread segments over when
// the caller asked for n (0 means one per available CPU).
func Concurrency(n int) int {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return n
}

// pipelineShape returns segments per job and in-flight jobs for a
// concurrency level: with one worker there is no pipeline at all; otherwise
// two jobs per worker keep every core busy while the caller does I/O.
func pipelineShape(workers int) (segsPerJob, inflight int) {
	if workers <= 1 {
		return 4, 1
	}
	return maxJobSegs, min(2*workers+1, maxPrefill)
}
