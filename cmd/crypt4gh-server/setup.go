package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/auth"
	"github.com/crypt4gh-go/crypt4gh/internal/pkcs11key"
	"github.com/crypt4gh-go/crypt4gh/internal/server"
	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/localfs"
	"github.com/crypt4gh-go/crypt4gh/internal/store/postgres"
	s3store "github.com/crypt4gh-go/crypt4gh/internal/store/s3"
	"github.com/crypt4gh-go/crypt4gh/internal/store/sqlite"
)

// app is a configured server with the resources to release.
type app struct {
	cfg     *Config
	srv     *server.Server
	db      store.HeaderDB
	objects store.ObjectStore
	dev     *auth.DevIssuer
	closers []func() error
	log     *slog.Logger
}

func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

func newLogger(cfg *Config, w io.Writer) (*slog.Logger, *slog.Logger, func() error, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(orDefault(cfg.Log.Level, "info")))); err != nil {
		return nil, nil, nil, fmt.Errorf("config: log.level %q", cfg.Log.Level)
	}
	mk := func(w io.Writer) slog.Handler {
		o := &slog.HandlerOptions{Level: level}
		if cfg.Log.Format == "text" {
			return slog.NewTextHandler(w, o)
		}
		return slog.NewJSONHandler(w, o)
	}
	log := slog.New(mk(w))
	audit := log.With("log", "audit")
	closeAudit := func() error { return nil }
	if cfg.Log.Audit != "" {
		f, err := os.OpenFile(cfg.Log.Audit, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("audit log: %w", err)
		}
		audit = slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})).With("log", "audit")
		closeAudit = f.Close
	}
	return log, audit, closeAudit, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// openApp builds everything the configuration describes. Embedded
// defaults (archive key, admin token, dev issuer key) are created on
// first use with 0600 permissions in a 0700 data directory.
func openApp(ctx context.Context, cfg *Config, logw io.Writer) (_ *app, err error) {
	a := &app{cfg: cfg}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	log, audit, closeAudit, err := newLogger(cfg, logw)
	if err != nil {
		return nil, err
	}
	a.log = log
	a.closers = append(a.closers, closeAudit)

	switch cfg.Database.Driver {
	case "sqlite":
		db, err := sqlite.Open(cfg.Database.Path)
		if err != nil {
			return nil, fmt.Errorf("header database: %w", err)
		}
		a.db = db
	case "postgres":
		dsn := os.Getenv(cfg.Database.DSNEnv)
		if dsn == "" {
			return nil, fmt.Errorf("header database: set the PostgreSQL DSN in $%s", cfg.Database.DSNEnv)
		}
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("header database: %w", err)
		}
		a.db = db
	}
	a.closers = append(a.closers, a.db.Close)

	switch cfg.Objects.Backend {
	case "local":
		if err := os.MkdirAll(cfg.Objects.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("object store: %w", err)
		}
		st, err := localfs.Open(cfg.Objects.Dir)
		if err != nil {
			return nil, fmt.Errorf("object store: %w", err)
		}
		a.objects = st
		a.closers = append(a.closers, st.Close)
	case "s3":
		s3c := cfg.Objects.S3
		st, err := s3store.Open(ctx, s3store.Config{
			Endpoint: s3c.Endpoint, Bucket: s3c.Bucket, Region: s3c.Region, Prefix: s3c.Prefix,
			AccessKey: s3c.AccessKey, SecretKey: os.Getenv(s3c.SecretKeyEnv), UseTLS: s3c.UseTLS,
		})
		if err != nil {
			return nil, fmt.Errorf("object store: %w", err)
		}
		a.objects = st
	}

	keys, err := a.openKeys(cfg)
	if err != nil {
		return nil, err
	}

	acfg := auth.Config{}
	for _, is := range cfg.Auth.Issuers {
		acfg.Issuers = append(acfg.Issuers, auth.TrustedIssuer{Issuer: is.Issuer, JKU: is.JKU, Audience: is.Audience})
	}
	for _, t := range cfg.Auth.Tokens {
		acfg.Tokens = append(acfg.Tokens, auth.StaticToken{SHA256: t.SHA256, Subject: t.Subject, Datasets: t.Datasets, Expires: t.Expires})
	}
	if *cfg.Auth.DevIssuer {
		dev, err := auth.NewDevIssuer(cfg.PublicURL+"/dev-issuer", filepath.Join(cfg.DataDir, "dev-issuer.key"))
		if err != nil {
			return nil, fmt.Errorf("development issuer: %w", err)
		}
		a.dev = dev
		acfg.Issuers = append(acfg.Issuers, dev.Trusted())
	}
	verifier, err := auth.NewVerifier(acfg)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	adminSum, err := adminToken(cfg.Auth.AdminTokenFile)
	if err != nil {
		return nil, err
	}

	lim := server.Limits{
		MaxIngestBytes: cfg.Limits.MaxIngestBytes,
		MaxIndexBytes:  cfg.Limits.MaxIndexBytes,
		MaxBulk:        cfg.Limits.MaxBulk,
	}
	if lim.RequestTimeout, err = parseDuration(cfg.Limits.RequestTimeout, 30*time.Second); err != nil {
		return nil, fmt.Errorf("config: limits.request_timeout: %w", err)
	}
	if lim.StallTimeout, err = parseDuration(cfg.Limits.StallTimeout, 2*time.Minute); err != nil {
		return nil, fmt.Errorf("config: limits.stall_timeout: %w", err)
	}
	a.srv, err = server.New(server.Options{
		PublicURL: cfg.PublicURL, DB: a.db, Objects: a.objects, Keys: keys,
		Auth: verifier, AdminTokens: [][32]byte{adminSum}, DevIssuer: a.dev,
		Logger: log, Audit: audit, Limits: lim,
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// openKeys loads the archive keys; a missing default key file is
// generated (the embedded setup), a missing configured one is an error.
func (a *app) openKeys(cfg *Config) (*server.Keyring, error) {
	var keys []server.ArchiveKey
	for i, kc := range cfg.ArchiveKeys {
		if kc.PKCS11 != nil {
			p := kc.PKCS11
			pin, err := secretFrom(p.PINEnv, p.PINFile)
			if err != nil {
				return nil, fmt.Errorf("archive_keys[%d] PIN: %w", i, err)
			}
			k, err := pkcs11key.Open(pkcs11key.Config{
				Module: p.Module, TokenLabel: p.Token, PIN: pin, KeyLabel: p.KeyLabel, Profile: pkcs11key.Profile(p.Profile),
			})
			if err != nil {
				return nil, fmt.Errorf("archive_keys[%d]: %w", i, err)
			}
			a.closers = append(a.closers, k.Close)
			id, err := crypt4gh.NewKeyAgreementIdentity(k)
			if err != nil {
				return nil, err
			}
			keys = append(keys, server.ArchiveKey{Identity: id, Public: k.PublicKey()})
			continue
		}
		data, err := os.ReadFile(kc.File)
		if errors.Is(err, fs.ErrNotExist) && i == 0 && kc.File == filepath.Join(cfg.DataDir, "archive.sec") {
			data, err = generateKeyFile(kc.File)
			if err == nil {
				a.log.Warn("generated an unencrypted archive key for the embedded setup; use a passphrase or a PKCS#11 token in production", "file", kc.File)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("archive_keys[%d]: %w", i, err)
		}
		id, err := crypt4gh.ParseIdentity(data, func() ([]byte, error) {
			s, err := secretFrom(kc.PassphraseEnv, kc.PassphraseFile)
			return []byte(s), err
		})
		if err != nil {
			return nil, fmt.Errorf("archive_keys[%d] %s: %w", i, kc.File, err)
		}
		keys = append(keys, server.ArchiveKey{Identity: id, Public: id.PublicKey()})
	}
	return server.NewKeyring(keys...)
}

func generateKeyFile(path string) ([]byte, error) {
	id, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		return nil, err
	}
	data, err := crypt4gh.MarshalIdentity(id, nil, nil)
	if err != nil {
		return nil, err
	}
	if err := writeNew(path, data); err != nil {
		return nil, err
	}
	return data, nil
}

// writeNew creates a 0600 file that must not exist yet.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// secretFrom reads a secret from an environment variable or a file.
func secretFrom(envName, file string) (string, error) {
	if envName != "" {
		if v, ok := os.LookupEnv(envName); ok {
			return v, nil
		}
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if envName != "" {
		return "", fmt.Errorf("$%s is not set", envName)
	}
	return "", nil
}

// adminToken returns the SHA-256 of the admin token, generating the
// token file on first use.
func adminToken(path string) ([32]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		var raw [24]byte
		rand.Read(raw[:])
		b = []byte(hex.EncodeToString(raw[:]))
		if err := writeNew(path, append(b, '\n')); err != nil {
			return [32]byte{}, fmt.Errorf("admin token: %w", err)
		}
	} else if err != nil {
		return [32]byte{}, fmt.Errorf("admin token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < 16 {
		return [32]byte{}, fmt.Errorf("admin token in %s is shorter than 16 characters", path)
	}
	return sha256.Sum256([]byte(tok)), nil
}
