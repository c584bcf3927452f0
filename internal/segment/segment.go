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

// TruncatedError reports a payload that ends inside segment Index.
type TruncatedError struct {
	Index int64
	Bytes int // bytes of that segment present
}

func (e *TruncatedError) Error() string {
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

// Opener opens segments with any of a set of data keys. The standard lets
// a file use several data keys, each segment under one of them; every key is
// tried, starting with the one that opened the previous segment.
type Opener struct {
	keys []cipher.AEAD
	hint atomic.Int32
}

// NewOpener returns an Opener for the given AEADs, tried in order.
func NewOpener(keys []cipher.AEAD) *Opener {
	if len(keys) == 0 {
		panic("segment: NewOpener needs at least one key")
	}
	return &Opener{keys: keys}
}

// Open authenticates and decrypts one cipher segment in place and returns
// the plaintext, which aliases seg[NonceSize:]. It returns false if no key
// opens the segment; seg's contents are then unspecified.
func (o *Opener) Open(seg []byte) ([]byte, bool) {
	if len(seg) < Overhead {
		return nil, false
	}
	nonce, ct := seg[:NonceSize], seg[NonceSize:]
	if len(o.keys) == 1 {
		pt, err := o.keys[0].Open(ct[:0], nonce, ct, nil)
		return pt, err == nil
	}
	// A failed in-place Open may overwrite the ciphertext (the assembly
	// implementation zeroes its output), so with several keys each attempt
	// decrypts from a pristine copy.
	bufp := scratchPool.Get().(*[]byte)
	defer scratchPool.Put(bufp)
	saved := append((*bufp)[:0], ct...)
	*bufp = saved
	start := int(o.hint.Load())
	for i := range o.keys {
		k := (start + i) % len(o.keys)
		if pt, err := o.keys[k].Open(ct[:0], nonce, saved, nil); err == nil {
			if k != start {
				o.hint.Store(int32(k))
			}
			return pt, true
		}
	}
	return nil, false
}

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, CipherSize); return &b }}

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
