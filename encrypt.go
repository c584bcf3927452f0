package crypt4gh

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/segment"
)

// EncryptOptions adjust [EncryptWithOptions]. The zero value is what
// [Encrypt] uses: a version 1 file, as every peer reads it.
type EncryptOptions struct {
	// HeaderTo, if set, receives the header, and the payload alone goes to
	// dst: a detached header, as archives store them.
	HeaderTo io.Writer
	// EditList, if non-nil, is written into the header for every recipient.
	EditList EditList
	// Concurrency bounds the goroutines that encrypt segments; 0 uses one
	// per CPU and 1 encrypts on the calling goroutine.
	Concurrency int

	// DataMethod selects the payload encryption: DataChaCha20Poly1305
	// (version 1, the default), DataChaCha20Poly1305PR736 (hts-specs PR
	// 736, version 1 header), DataSealedChaCha20Poly1305 or
	// DataSealedAES256GCM (v2 sealed streams). Asking for any v2 feature
	// below with the default method selects DataSealedChaCha20Poly1305.
	DataMethod uint32
	// Expiry, if set, is the time after which readers refuse the file (v2).
	Expiry time.Time
	// Link, if set, is the URI of the payload, for header-only files (v2).
	Link string
	// Signers sign the header (v2).
	Signers []Signer
	// RequirePostQuantum refuses recipients that are not post-quantum, so
	// the file cannot be opened by breaking X25519 alone.
	RequirePostQuantum bool
}

// v2Requested reports whether a v2-only feature was asked for.
func (o *EncryptOptions) v2Requested(recipients []Recipient) bool {
	if !o.Expiry.IsZero() || o.Link != "" || len(o.Signers) > 0 {
		return true
	}
	for _, r := range recipients {
		if pq, ok := r.(PostQuantumRecipient); ok && pq.PostQuantum() {
			return true
		}
	}
	return false
}

// Writer encrypts a plaintext stream. Write and ReadFrom take plaintext;
// Close must be called to write the final segment. A Writer is not safe for
// concurrent use.
type Writer struct {
	seg    *segment.Writer
	header *Header
	n      int64
}

// Encrypt writes a header for recipients to dst and returns a Writer whose
// plaintext is encrypted to dst. Each recipient gets its own header
// packet; anyone holding one of their private keys can decrypt the file.
// The data key is fresh and random.
func Encrypt(dst io.Writer, recipients ...Recipient) (*Writer, error) {
	return EncryptWithOptions(dst, EncryptOptions{}, recipients...)
}

// ErrNotPostQuantum is returned when RequirePostQuantum is set and a
// recipient is classical.
var ErrNotPostQuantum = errors.New("crypt4gh: a recipient is not post-quantum (refusing to mix classical and post-quantum recipients)")

// EncryptWithOptions is [Encrypt] with options.
func EncryptWithOptions(dst io.Writer, opts EncryptOptions, recipients ...Recipient) (*Writer, error) {
	if len(recipients) == 0 {
		return nil, errors.New("crypt4gh: no recipients")
	}
	if opts.RequirePostQuantum {
		for _, r := range recipients {
			if pq, ok := r.(PostQuantumRecipient); !ok || !pq.PostQuantum() {
				return nil, ErrNotPostQuantum
			}
		}
	}
	if err := opts.EditList.validate(); err != nil {
		return nil, err
	}
	method := opts.DataMethod
	if method == DataChaCha20Poly1305 && opts.v2Requested(recipients) {
		method = DataSealedChaCha20Poly1305
	}
	if !isSealed(method) && opts.v2Requested(recipients) {
		return nil, fmt.Errorf("crypt4gh: expiry, link, signatures and post-quantum recipients need a sealed (v2) data method, not method %d", method)
	}
	key, err := newDataKey(method)
	if err != nil {
		return nil, err
	}
	c := &HeaderContent{DataKeys: []DataKey{key}, EditList: opts.EditList, Expiry: opts.Expiry, Link: opts.Link}
	defer c.Zero()
	h, err := EncryptHeader(c, recipients...)
	if err != nil {
		return nil, err
	}
	for _, s := range opts.Signers {
		if err := h.Sign(c, s); err != nil {
			return nil, err
		}
	}
	hdst := dst
	if opts.HeaderTo != nil {
		hdst = opts.HeaderTo
	}
	if _, err := hdst.Write(h.Marshal()); err != nil {
		return nil, err
	}
	sc, err := segmentCipher(key)
	if err != nil {
		return nil, err
	}
	var nonce [segment.NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	return &Writer{seg: segment.NewWriter(dst, sc, framingOf(method), nonce, opts.Concurrency), header: h}, nil
}

// Write encrypts p.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.seg.Write(p)
	w.n += int64(n)
	return n, err
}

// ReadFrom encrypts all of r. io.Copy uses it and saves a copy of every
// byte.
func (w *Writer) ReadFrom(r io.Reader) (int64, error) {
	n, err := w.seg.ReadFrom(r)
	w.n += n
	return n, err
}

// Close writes the last segment. It does not close the underlying writer.
// Empty input yields a header and no segment, as the reference writes it.
func (w *Writer) Close() error { return w.seg.Close() }

// Header returns the header that was written.
func (w *Writer) Header() *Header { return w.header }

// Written returns the number of plaintext bytes accepted so far.
func (w *Writer) Written() int64 { return w.n }

// EncryptedSize returns the size of a version 1 payload (everything
// after the header) for n plaintext bytes: n plus 28 bytes for each started
// 64 KiB segment. Add the header size for the file size.
func EncryptedSize(n int64) int64 { return segment.CipherLen(n) }

// EncryptedSizeFor is EncryptedSize for any data method: PR 736 adds an
// empty segment when n ends on a segment boundary (or is 0), sealed methods
// when n is 0.
func EncryptedSizeFor(method uint32, n int64) int64 {
	size := segment.CipherLen(n)
	switch {
	case method == DataChaCha20Poly1305PR736 && n%SegmentSize == 0,
		isSealed(method) && n == 0:
		size += segment.Overhead
	}
	return size
}

// HeaderSize returns the size of a version 1 header for the given number of
// X25519 recipients, each given one data key and optionally an edit list of
// editListLengths lengths (pass -1 for no edit list).
func HeaderSize(recipients, editListLengths int) int {
	per := 108
	if editListLengths >= 0 {
		per += 76 + 8*editListLengths
	}
	return 16 + recipients*per
}
