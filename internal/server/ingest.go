package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/htsget"
	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

// Object-store key prefixes. Everything under them belongs to a header
// row; what no row names after the sweep grace period is an orphan left
// by an interrupted ingest.
const (
	payloadPrefix = "payload/"
	indexPrefix   = "index/"
)

// IngestRequest is one file to archive.
type IngestRequest struct {
	ID      string // "" assigns a random id
	Dataset string
	Name    string
	// Body is the file: plaintext, or a Crypt4GH stream encrypted for
	// the archive's current public key (recognised by its magic).
	Body io.Reader
	Size int64 // exact bytes of Body
	// Format is BAM, CRAM, VCF, BCF or "" (detected from the plaintext
	// when an index is given; otherwise the file is opaque).
	Format string
	// Index is the plaintext BAI/CSI/TBI/CRAI index, if any; it is stored
	// encrypted and validated against the file now, not at query time.
	Index       []byte
	IndexFormat string
}

// IngestError is a problem with the request itself (400/409), as opposed
// to a storage failure.
type IngestError struct {
	Conflict bool
	Msg      string
}

func (e *IngestError) Error() string { return e.Msg }

func badIngest(format string, a ...any) error { return &IngestError{Msg: fmt.Sprintf(format, a...)} }

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Ingest archives a file. The payload object (and index object) are
// written first and the header row is committed last, so a crash leaves
// at most unreferenced objects, which Sweep removes; a failure removes
// what it wrote. The plaintext never touches disk: a plaintext upload is
// encrypted as it streams, and an encrypted upload is authenticated as
// it streams (a segment that does not verify fails the ingest).
func (s *Server) Ingest(ctx context.Context, req IngestRequest) (f store.File, err error) {
	defer func() {
		if err != nil {
			s.metrics.ingestFail.Add(1)
		} else {
			s.metrics.ingested.Add(1)
		}
	}()
	if req.ID == "" {
		req.ID = randomHex(16)
	}
	if !validID.MatchString(req.ID) {
		return f, badIngest("invalid id %q: use 1-128 letters, digits, '.', '_', ':' or '-'", req.ID)
	}
	if req.Dataset == "" {
		return f, badIngest("a dataset is required")
	}
	if req.Size < 0 || req.Size > s.limits.MaxIngestBytes {
		return f, badIngest("file size %d is outside [0, %d]", req.Size, s.limits.MaxIngestBytes)
	}
	if int64(len(req.Index)) > s.limits.MaxIndexBytes {
		return f, badIngest("index is over %d bytes", s.limits.MaxIndexBytes)
	}
	if _, err := s.db.Get(ctx, req.ID); err == nil {
		return f, &IngestError{Conflict: true, Msg: fmt.Sprintf("id %q is already registered", req.ID)}
	} else if !errors.Is(err, store.ErrNotFound) {
		return f, err
	}
	f = store.File{
		ID: req.ID, Dataset: req.Dataset, Name: req.Name,
		KeyID:      s.keys.CurrentID(),
		PayloadKey: payloadPrefix + req.ID + "/" + randomHex(8),
		Format:     strings.ToUpper(req.Format),
		CreatedAt:  s.now().UTC(),
	}
	var written []string
	defer func() {
		if err != nil {
			for _, k := range written {
				if derr := s.objects.Delete(context.WithoutCancel(ctx), k); derr != nil {
					s.log.Warn("ingest cleanup: object left for the sweep", "key", k, "err", derr)
				}
			}
		}
	}()

	br := bufio.NewReaderSize(req.Body, 64<<10)
	magic, _ := br.Peek(8)
	var content *crypt4gh.HeaderContent
	if string(magic) == "crypt4gh" {
		content, err = s.ingestEncrypted(ctx, &f, br, req.Size)
	} else {
		content, err = s.ingestPlain(ctx, &f, br, req.Size)
	}
	written = append(written, f.PayloadKey) // Put may have completed before a later check failed
	if err != nil {
		return f, err
	}
	defer content.Zero()

	if len(req.Index) > 0 {
		if err := s.attachIndex(ctx, &f, content, req); err != nil {
			if f.IndexKey != "" {
				written = append(written, f.IndexKey)
			}
			return f, err
		}
		written = append(written, f.IndexKey)
	}
	if err := s.db.Put(ctx, f); err != nil {
		if errors.Is(err, store.ErrExists) {
			return f, &IngestError{Conflict: true, Msg: fmt.Sprintf("id %q is already registered", req.ID)}
		}
		return f, err
	}
	s.log.Info("ingested", "object", f.ID, "dataset", f.Dataset, "plaintext_size", f.PlaintextSize, "format", f.Format, "indexed", f.IndexKey != "")
	return f, nil
}

// countingHash counts and hashes what passes through it.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.h.Write(p)
	c.n += int64(len(p))
	return len(p), nil
}

func newCountingHash() *countingHash { return &countingHash{h: sha256.New()} }

func (c *countingHash) hex() string { return hex.EncodeToString(c.h.Sum(nil)) }

// ingestPlain encrypts a plaintext upload for the archive key as it
// streams into the object store.
func (s *Server) ingestPlain(ctx context.Context, f *store.File, body io.Reader, size int64) (*crypt4gh.HeaderContent, error) {
	plainSum, payloadSum := newCountingHash(), newCountingHash()
	var hdr bytes.Buffer
	pr, pw := io.Pipe()
	encErr := make(chan error, 1)
	go func() {
		err := func() error {
			w, err := crypt4gh.EncryptWithOptions(pw, crypt4gh.EncryptOptions{HeaderTo: &hdr}, s.keys.Recipient())
			if err != nil {
				return err
			}
			n, err := io.Copy(w, io.TeeReader(io.LimitReader(body, size+1), plainSum))
			if err != nil {
				return fmt.Errorf("reading upload: %w", err)
			}
			if n != size {
				return badIngest("upload is %d bytes, announced %d", n, size)
			}
			return w.Close()
		}()
		pw.CloseWithError(err)
		encErr <- err
	}()
	payloadSize := crypt4gh.EncryptedSize(size)
	putErr := s.objects.Put(ctx, f.PayloadKey, io.TeeReader(pr, payloadSum), payloadSize)
	pr.CloseWithError(errors.New("ingest aborted"))
	if err := <-encErr; err != nil {
		return nil, err
	}
	if putErr != nil {
		return nil, putErr
	}
	f.Header = hdr.Bytes()
	f.PayloadSize, f.PayloadSHA256 = payloadSize, payloadSum.hex()
	f.PlaintextSize, f.PlaintextSHA256 = plainSum.n, plainSum.hex()
	h, _, err := crypt4gh.ParseHeader(f.Header)
	if err != nil {
		return nil, err
	}
	return h.Decrypt(s.keys.Identities()...)
}

// ingestEncrypted takes a Crypt4GH upload sealed to the archive key: the
// header is re-sealed for the archive key alone, and the payload is
// stored unchanged while it is decrypted alongside to authenticate every
// segment and checksum the plaintext.
func (s *Server) ingestEncrypted(ctx context.Context, f *store.File, body io.Reader, size int64) (*crypt4gh.HeaderContent, error) {
	h, err := crypt4gh.ReadHeader(io.LimitReader(body, min(size, 64<<20)))
	if err != nil {
		return nil, badIngest("reading the Crypt4GH header: %v", err)
	}
	hdrLen := int64(len(h.Marshal()))
	content, err := h.Decrypt(s.keys.Identities()...)
	if err != nil {
		if errors.Is(err, crypt4gh.ErrNoMatchingKey) {
			return nil, badIngest("the file is not encrypted for this archive's public key (GET /public-key)")
		}
		return nil, badIngest("opening the Crypt4GH header: %v", err)
	}
	if content.Link != "" {
		content.Zero()
		return nil, badIngest("header-only files (with a link) cannot be ingested; upload the whole file")
	}
	sealed, err := crypt4gh.ReencryptHeader(h, s.keys.Identities(), []crypt4gh.Recipient{s.keys.Recipient()}, &crypt4gh.ReencryptOptions{Trim: true})
	if err != nil {
		content.Zero()
		return nil, err
	}
	f.Header = sealed.Marshal()
	payloadSize := size - hdrLen
	if payloadSize < 0 {
		content.Zero()
		return nil, badIngest("upload is shorter than its header")
	}
	payloadSum, plainSum := newCountingHash(), newCountingHash()
	// The payload goes to the store through a pipe; a decryptor reads the
	// same bytes from a second pipe. A segment that fails to authenticate
	// aborts the store's Put, so nothing unauthenticated is kept.
	toStore, storeW := io.Pipe()
	toDecrypt, decryptW := io.Pipe()
	decErr := make(chan error, 1)
	go func() {
		err := func() error {
			r, err := crypt4gh.NewReaderFromContent(toDecrypt, content, crypt4gh.DecryptOptions{Concurrency: 1})
			if err != nil {
				return err
			}
			if _, err := io.Copy(plainSum, r); err != nil {
				return badIngest("the payload does not decrypt: %v", err)
			}
			return nil
		}()
		toDecrypt.CloseWithError(errors.New("decryption finished"))
		decErr <- err
	}()
	copyErr := make(chan error, 1)
	go func() {
		n, err := io.Copy(io.MultiWriter(storeW, &ignoreClosed{w: decryptW}, payloadSum), io.LimitReader(body, payloadSize+1))
		if err == nil && n != payloadSize {
			err = badIngest("upload is %d bytes, announced %d", n+hdrLen, size)
		}
		decryptW.Close()
		if derr := <-decErr; err == nil {
			err = derr
		}
		storeW.CloseWithError(err)
		copyErr <- err
	}()
	putErr := s.objects.Put(ctx, f.PayloadKey, toStore, payloadSize)
	toStore.CloseWithError(errors.New("ingest aborted"))
	if err := <-copyErr; err != nil {
		content.Zero()
		return nil, err
	}
	if putErr != nil {
		content.Zero()
		return nil, putErr
	}
	f.PayloadSize, f.PayloadSHA256 = payloadSize, payloadSum.hex()
	f.PlaintextSize, f.PlaintextSHA256 = plainSum.n, plainSum.hex()
	return content, nil
}

// ignoreClosed lets the decryptor stop reading early (an edit list that
// ends before the payload does) without failing the copy to the store.
type ignoreClosed struct {
	w      io.Writer
	closed bool
}

func (c *ignoreClosed) Write(p []byte) (int, error) {
	if !c.closed {
		if _, err := c.w.Write(p); err != nil {
			c.closed = true
		}
	}
	return len(p), nil
}

// attachIndex validates the index against the stored file's plaintext
// header (read back through decryption, so only the first blocks are
// fetched) and stores it encrypted for the archive key.
func (s *Server) attachIndex(ctx context.Context, f *store.File, content *crypt4gh.HeaderContent, req IngestRequest) error {
	plain, err := crypt4gh.NewReaderAtFromContent(&objectReaderAt{ctx: ctx, s: s.objects, key: f.PayloadKey}, f.PayloadSize, content, crypt4gh.DecryptOptions{})
	if err != nil {
		return err
	}
	if f.Format == "" {
		ff, err := htsget.DetectFormat(plain, f.PlaintextSize)
		if err != nil {
			return badIngest("an index was given but the file's format is not recognised: %v", err)
		}
		f.Format = string(ff)
	}
	if htsgetKind(f.Format) == "" {
		return badIngest("format %q has no htsget index support (BAM, CRAM, VCF, BCF)", f.Format)
	}
	meta, err := htsget.Inspect(htsget.Format(f.Format), plain, f.PlaintextSize)
	if err != nil {
		return badIngest("reading the %s header: %v", f.Format, err)
	}
	// Scan reads the whole file once (decrypting it here, at ingest) to
	// find records that straddle BGZF blocks, so no query cuts one.
	if err := htsget.Scan(&meta, plain); err != nil {
		return badIngest("the %s file does not parse: %v", f.Format, err)
	}
	meta.IndexFormat = strings.ToUpper(req.IndexFormat)
	if err := htsget.ValidateIndex(meta, req.Index); err != nil {
		return badIngest("the index does not fit the file: %v", err)
	}
	if f.Meta, err = json.Marshal(meta); err != nil {
		return err
	}
	var enc bytes.Buffer
	w, err := crypt4gh.Encrypt(&enc, s.keys.Recipient())
	if err != nil {
		return err
	}
	w.Write(req.Index)
	if err := w.Close(); err != nil {
		return err
	}
	f.IndexKey = indexPrefix + f.ID + "/" + randomHex(8)
	f.IndexFormat = meta.IndexFormat
	return s.objects.Put(ctx, f.IndexKey, bytes.NewReader(enc.Bytes()), int64(enc.Len()))
}

// objectReaderAt reads an object through ranged GETs.
type objectReaderAt struct {
	ctx context.Context
	s   store.ObjectStore
	key string
}

func (o *objectReaderAt) ReadAt(p []byte, off int64) (int, error) {
	rc, err := o.s.GetRange(o.ctx, o.key, off, int64(len(p)))
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	return n, err
}

// Sweep deletes objects under the server's prefixes that no header row
// names and that are older than grace: what interrupted ingests left.
// grace must exceed the longest ingest, since an ingest writes its
// objects before its row.
func (s *Server) Sweep(ctx context.Context, grace time.Duration) (removed int, err error) {
	cutoff := s.now().Add(-grace)
	for _, prefix := range []string{payloadPrefix, indexPrefix} {
		var orphans []string
		err := s.objects.List(ctx, prefix, func(o store.ObjectInfo) error {
			if o.ModTime.After(cutoff) {
				return nil
			}
			used, err := s.db.ReferencesObject(ctx, o.Key)
			if err != nil {
				return err
			}
			if !used {
				orphans = append(orphans, o.Key)
			}
			return nil
		})
		if err != nil {
			return removed, err
		}
		for _, k := range orphans {
			if err := s.objects.Delete(ctx, k); err != nil {
				return removed, err
			}
			removed++
			s.log.Info("sweep: removed orphan object", "key", k)
		}
	}
	return removed, nil
}

// Delete removes a file: the row first (so it is no longer served), then
// its objects (a failure there leaves orphans for the sweep).
func (s *Server) Delete(ctx context.Context, id string) error {
	f, err := s.db.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.db.Delete(ctx, id); err != nil {
		return err
	}
	for _, k := range []string{f.PayloadKey, f.IndexKey} {
		if k != "" {
			if err := s.objects.Delete(ctx, k); err != nil {
				s.log.Warn("delete: object left for the sweep", "key", k, "err", err)
			}
		}
	}
	return nil
}

// Register archives a Crypt4GH file that already sits in the object store
// under objectKey, encrypted for the archive key: its header goes to the
// database and its payload is copied under the server's payload prefix
// (authenticated on the way, like an upload). With deleteSource the
// original object is removed once the row is committed.
func (s *Server) Register(ctx context.Context, req IngestRequest, objectKey string, deleteSource bool) (store.File, error) {
	info, err := s.objects.Stat(ctx, objectKey)
	if err != nil {
		return store.File{}, err
	}
	rc, err := s.objects.GetRange(ctx, objectKey, 0, -1)
	if err != nil {
		return store.File{}, err
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	if magic, _ := br.Peek(8); string(magic) != "crypt4gh" {
		return store.File{}, badIngest("object %q is not a Crypt4GH file", objectKey)
	}
	req.Body, req.Size = br, info.Size
	f, err := s.Ingest(ctx, req)
	if err != nil {
		return f, err
	}
	if deleteSource {
		if err := s.objects.Delete(ctx, objectKey); err != nil {
			s.log.Warn("register: source object not deleted", "key", objectKey, "err", err)
		}
	}
	return f, nil
}

// Rotate re-seals every header not sealed to the current archive key, so
// older keys can be retired. It returns how many headers it rewrote.
func (s *Server) Rotate(ctx context.Context) (int, error) {
	current := s.keys.CurrentID()
	n := 0
	after := ""
	for {
		files, err := s.db.List(ctx, "", after, 500)
		if err != nil {
			return n, err
		}
		if len(files) == 0 {
			return n, nil
		}
		for _, f := range files {
			after = f.ID
			if f.KeyID == current {
				continue
			}
			h, _, err := crypt4gh.ParseHeader(f.Header)
			if err != nil {
				return n, fmt.Errorf("header of %s: %w", f.ID, err)
			}
			nh, err := crypt4gh.ReencryptHeader(h, s.keys.Identities(), []crypt4gh.Recipient{s.keys.Recipient()}, &crypt4gh.ReencryptOptions{Trim: true})
			if err != nil {
				return n, fmt.Errorf("re-sealing %s: %w", f.ID, err)
			}
			if err := s.db.UpdateHeader(ctx, f.ID, nh.Marshal(), current); err != nil {
				return n, err
			}
			n++
		}
	}
}
