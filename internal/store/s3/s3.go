// Package s3 is a store.ObjectStore on an S3-compatible object store
// (AWS S3, MinIO, Ceph RGW, versitygw, ...), through minio-go.
//
// Put is atomic by S3 semantics: a single PUT, or above 16 MiB a
// multipart upload completed only after every part arrived, so a reader
// that is short, long or fails, or a cancelled context, aborts the upload
// and leaves nothing visible. An upload interrupted by a crash leaves
// invisible parts behind; configure the bucket's lifecycle to abort
// incomplete multipart uploads after a day.
//
// Objects live under Config.Prefix in the bucket, so one bucket can hold
// several archives (or test runs) side by side.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/internal/sized"
)

// Config locates a bucket. Its String and LogValue methods leave out
// SecretKey, so a Config can be logged.
type Config struct {
	Endpoint  string // host[:port], without scheme
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string // "" for the server's default (us-east-1 for most)
	UseTLS    bool   // https; plain http only for a server on a trusted network
	// Prefix is prepended to every key, e.g. "archive/". "" uses the
	// whole bucket. It follows the key rules of store.ValidKey, with an
	// optional trailing slash (added if missing).
	Prefix string
}

func (c Config) String() string {
	scheme := "http"
	if c.UseTLS {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s/%s/%s (access key %s, region %q)", scheme, c.Endpoint, c.Bucket, c.Prefix, c.AccessKey, c.Region)
}

// LogValue implements slog.LogValuer without the secret key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("endpoint", c.Endpoint), slog.String("bucket", c.Bucket),
		slog.String("prefix", c.Prefix), slog.String("region", c.Region),
		slog.Bool("tls", c.UseTLS), slog.String("access_key", c.AccessKey),
	)
}

// Store is an ObjectStore on one bucket (and prefix). It is safe for
// concurrent use, also by several processes sharing the bucket.
type Store struct {
	client *minio.Client
	core   minio.Core
	bucket string
	prefix string // "" or ends in "/"
}

var _ store.ObjectStore = (*Store)(nil)

// Open connects to the bucket described by cfg and checks that it exists.
// An unreachable server gives store.ErrUnavailable; callers may retry.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3: Config needs an Endpoint and a Bucket")
	}
	prefix := cfg.Prefix
	if prefix != "" {
		p := strings.TrimSuffix(prefix, "/")
		if err := store.ValidKey(p); err != nil {
			return nil, fmt.Errorf("s3: Config.Prefix: %w", err)
		}
		prefix = p + "/"
	}
	transport, err := minio.DefaultTransport(cfg.UseTLS)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	// Fail fast on a dead endpoint: minio-go retries each request with
	// backoff, which with the default dialer can hold a request for
	// minutes before the caller learns the store is unavailable.
	transport.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	transport.ResponseHeaderTimeout = 60 * time.Second
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.UseTLS,
		Region:       cfg.Region,
		Transport:    transport,
		BucketLookup: minio.BucketLookupPath,
		MaxRetries:   3,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s := &Store{client: client, core: minio.Core{Client: client}, bucket: cfg.Bucket, prefix: prefix}
	if err := s.Ping(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// mapErr turns a minio-go error into one of ours.
func (s *Store) mapErr(ctx context.Context, doing, key string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("s3: %s %q: %w: %w", doing, key, cerr, err)
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == minio.NoSuchKey || (resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket):
		return fmt.Errorf("%w: object %q", store.ErrNotFound, key)
	case resp.Code == minio.InvalidRange || resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		return fmt.Errorf("%w: object %q: %w", store.ErrInvalidRange, key, err)
	case unavailable(err, resp):
		return fmt.Errorf("s3: %s %q: %w: %w", doing, key, store.ErrUnavailable, err)
	}
	return fmt.Errorf("s3: %s %q: %w", doing, key, err)
}

func unavailable(err error, resp minio.ErrorResponse) bool {
	if resp.StatusCode >= 500 {
		return true
	}
	switch resp.Code {
	case minio.NoSuchBucket, "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout":
		return true
	}
	var ne net.Error
	var ue *url.Error
	return errors.As(err, &ne) || errors.As(err, &ue) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// Put implements store.ObjectStore.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := store.ValidKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("s3: negative size %d", size)
	}
	src := sized.NewReader(ctx, r, size)
	var body io.Reader = src
	if size == 0 {
		// An uploader need not read an empty body, so check the source
		// is empty before committing the object.
		if err := src.Finish(); err != nil {
			return fmt.Errorf("s3: writing %q: %w", key, err)
		}
		body = strings.NewReader("")
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, body, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream",
	})
	if err != nil {
		// When the source misbehaved, say so rather than blame the server.
		if serr := src.Err(); serr != nil && !errors.Is(err, serr) {
			return fmt.Errorf("s3: writing %q: %w (upload aborted: %v)", key, serr, err)
		}
		return s.mapErr(ctx, "writing", key, err)
	}
	return nil
}

// GetRange implements store.ObjectStore with one ranged GET. A range
// the server refuses (past the end, or on an empty object) costs a HEAD to
// tell "at the end" (empty result) from "past the end" (ErrInvalidRange).
func (s *Store) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := store.ValidKey(key); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("%w: negative offset %d", store.ErrInvalidRange, off)
	}
	if n == 0 {
		return s.emptyAt(ctx, key, off)
	}
	if n > math.MaxInt64-off {
		n = -1
	}
	var opts minio.GetObjectOptions
	switch {
	case n > 0:
		opts.SetRange(off, off+n-1)
	case off > 0:
		opts.SetRange(off, 0)
	}
	rc, _, _, err := s.core.GetObject(ctx, s.bucket, s.prefix+key, opts)
	if err != nil {
		err = s.mapErr(ctx, "reading", key, err)
		if errors.Is(err, store.ErrInvalidRange) {
			return s.emptyAt(ctx, key, off)
		}
		return nil, err
	}
	return rc, nil
}

// emptyAt returns an empty stream if off is within or at the end of the
// object, and ErrInvalidRange or ErrNotFound otherwise.
func (s *Store) emptyAt(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	if off > info.Size {
		return nil, fmt.Errorf("%w: offset %d of a %d-byte object", store.ErrInvalidRange, off, info.Size)
	}
	return io.NopCloser(strings.NewReader("")), nil
}

// Stat implements store.ObjectStore.
func (s *Store) Stat(ctx context.Context, key string) (store.ObjectInfo, error) {
	if err := store.ValidKey(key); err != nil {
		return store.ObjectInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return store.ObjectInfo{}, s.mapErr(ctx, "stat", key, err)
	}
	return store.ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified.UTC()}, nil
}

// Delete implements store.ObjectStore.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := store.ValidKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
	if err != nil {
		err = s.mapErr(ctx, "deleting", key, err)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// List implements store.ObjectStore. S3 lists in UTF-8 byte order, which
// is Go's string order.
func (s *Store) List(ctx context.Context, prefix string, fn func(store.ObjectInfo) error) error {
	if prefix != "" && store.ValidKey(prefix) != nil && store.ValidKey(prefix+"x") != nil {
		return nil // no valid key starts with prefix
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing goroutine if fn ends early
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix:    s.prefix + prefix,
		Recursive: true,
	}) {
		if oi.Err != nil {
			return s.mapErr(ctx, "listing", prefix, oi.Err)
		}
		key := strings.TrimPrefix(oi.Key, s.prefix)
		if store.ValidKey(key) != nil {
			continue // e.g. a "dir/" marker written by another tool
		}
		if err := fn(store.ObjectInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified.UTC()}); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Ping checks the bucket is reachable and exists.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		err = s.mapErr(ctx, "checking bucket", s.bucket, err)
		if !errors.Is(err, store.ErrUnavailable) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		return err
	}
	if !ok {
		return fmt.Errorf("%w: s3: bucket %q does not exist", store.ErrUnavailable, s.bucket)
	}
	return nil
}

// MaxPresignExpiry is the longest validity S3 signatures allow.
const MaxPresignExpiry = 7 * 24 * time.Hour

// PresignGet returns a URL from which anyone holding it can GET the
// object until expiry passes, without credentials: a server can redirect
// a client to it instead of proxying the bytes. The URL is a bearer
// credential; do not log it. expiry is between one second and
// MaxPresignExpiry. The object's existence is not checked.
func (s *Store) PresignGet(ctx context.Context, key string, expiry time.Duration) (*url.URL, error) {
	if err := store.ValidKey(key); err != nil {
		return nil, err
	}
	if expiry < time.Second || expiry > MaxPresignExpiry {
		return nil, fmt.Errorf("s3: presign expiry %v outside [1s, %v]", expiry, MaxPresignExpiry)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.prefix+key, expiry, nil)
	if err != nil {
		return nil, s.mapErr(ctx, "presigning", key, err)
	}
	return u, nil
}
