package crypt4gh

import (
	"crypto/rand"
	"errors"
	"io"

	"github.com/crypt4gh-go/crypt4gh/internal/segment"
	"golang.org/x/crypto/chacha20poly1305"
)

// EncryptOptions adjust [EncryptWithOptions]. The zero value is what
// [Encrypt] uses.
type EncryptOptions struct {
	// HeaderTo, if set, receives the header, and the payload alone goes to
	// dst: a detached header, as archives store them.
	HeaderTo io.Writer
	// EditList, if non-nil, is written into the header for every recipient.
	EditList EditList
	// Concurrency bounds the goroutines that encrypt segments; 0 uses one
	// per CPU and 1 encrypts on the calling goroutine.
	Concurrency int
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

// EncryptWithOptions is [Encrypt] with options.
func EncryptWithOptions(dst io.Writer, opts EncryptOptions, recipients ...Recipient) (*Writer, error) {
	if len(recipients) == 0 {
		return nil, errors.New("crypt4gh: no recipients")
	}
	if err := opts.EditList.validate(); err != nil {
		return nil, err
	}
	key, err := newDataKey()
	if err != nil {
		return nil, err
	}
	c := &HeaderContent{DataKeys: []DataKey{key}, EditList: opts.EditList}
	h, err := EncryptHeader(c, recipients...)
	if err != nil {
		return nil, err
	}
	hdst := dst
	if opts.HeaderTo != nil {
		hdst = opts.HeaderTo
	}
	if _, err := hdst.Write(h.Marshal()); err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.New(key.Key[:])
	c.Zero()
	if err != nil {
		return nil, err
	}
	var nonce [segment.NonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	return &Writer{seg: segment.NewWriter(dst, aead, nonce, opts.Concurrency), header: h}, nil
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

// EncryptedSize returns the size of the payload (everything after the
// header) for n plaintext bytes: n plus 28 bytes for each started 64 KiB
// segment. Add the header size for the file size.
func EncryptedSize(n int64) int64 { return segment.CipherLen(n) }

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
