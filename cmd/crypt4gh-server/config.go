package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the server's configuration file (JSON). Every field has a
// default that gives the embedded setup: SQLite and a local directory
// under DataDir, a generated archive key file and the development token
// issuer. Environment variables (C4GH_SERVER_*) override the file, flags
// override both. Secrets (passphrases, PINs, S3 secret keys, database
// passwords) are read from files or environment variables named here,
// never from the file itself or the command line.
type Config struct {
	Listen    string `json:"listen"`     // default 127.0.0.1:8080
	PublicURL string `json:"public_url"` // default http://LISTEN
	DataDir   string `json:"data_dir"`   // default ./crypt4gh-server-data

	TLS struct {
		CertFile string `json:"cert_file"`
		KeyFile  string `json:"key_file"`
	} `json:"tls"`

	Database struct {
		Driver string `json:"driver"` // sqlite (default) or postgres
		Path   string `json:"path"`   // sqlite file; default DATA_DIR/headers.db
		// DSNEnv names the environment variable holding the PostgreSQL
		// DSN (default C4GH_SERVER_DATABASE_DSN).
		DSNEnv string `json:"dsn_env"`
	} `json:"database"`

	Objects struct {
		Backend string `json:"backend"` // local (default) or s3
		Dir     string `json:"dir"`     // local; default DATA_DIR/objects
		S3      struct {
			Endpoint     string `json:"endpoint"` // host:port
			Bucket       string `json:"bucket"`
			Region       string `json:"region"`
			Prefix       string `json:"prefix"`
			AccessKey    string `json:"access_key"`
			SecretKeyEnv string `json:"secret_key_env"` // default C4GH_SERVER_S3_SECRET_KEY
			UseTLS       bool   `json:"use_tls"`
		} `json:"s3"`
	} `json:"objects"`

	// ArchiveKeys: the first is current (new ingests are sealed to it);
	// all are tried when opening stored headers (rotation). Default: one
	// key file DATA_DIR/archive.sec, generated on first start.
	ArchiveKeys []ArchiveKeyConfig `json:"archive_keys"`

	Auth struct {
		Issuers []struct {
			Issuer   string `json:"issuer"`
			JKU      string `json:"jku"`
			Audience string `json:"audience"`
		} `json:"issuers"`
		Tokens []struct {
			SHA256   string    `json:"sha256"`
			Subject  string    `json:"subject"`
			Datasets []string  `json:"datasets"`
			Expires  time.Time `json:"expires"`
		} `json:"tokens"`
		// DevIssuer enables the built-in development token issuer (default
		// true when no issuer or token is configured).
		DevIssuer *bool `json:"dev_issuer"`
		// AdminTokenFile holds the admin bearer token (default
		// DATA_DIR/admin-token, generated on first start).
		AdminTokenFile string `json:"admin_token_file"`
	} `json:"auth"`

	Limits struct {
		MaxIngestBytes    int64  `json:"max_ingest_bytes"`
		MaxIndexBytes     int64  `json:"max_index_bytes"`
		MaxBulk           int    `json:"max_bulk"`
		RequestTimeout    string `json:"request_timeout"`     // e.g. "30s"
		StallTimeout      string `json:"stall_timeout"`       // e.g. "2m"
		ReadHeaderTimeout string `json:"read_header_timeout"` // e.g. "10s"
		MaxHeaderBytes    int    `json:"max_header_bytes"`
	} `json:"limits"`

	Log struct {
		Level  string `json:"level"`  // debug, info (default), warn, error
		Format string `json:"format"` // json (default) or text
		Audit  string `json:"audit"`  // audit log file; default: the log stream
	} `json:"log"`
}

// ArchiveKeyConfig is one archive key: a key file or a PKCS#11 key.
type ArchiveKeyConfig struct {
	File           string `json:"file"`
	PassphraseEnv  string `json:"passphrase_env"`
	PassphraseFile string `json:"passphrase_file"`
	PKCS11         *struct {
		Module   string `json:"module"`
		Token    string `json:"token"`
		KeyLabel string `json:"key_label"`
		PINEnv   string `json:"pin_env"`
		PINFile  string `json:"pin_file"`
		Profile  string `json:"profile"`
	} `json:"pkcs11"`
}

// loadConfig reads the file (if any), then applies the environment.
func loadConfig(path string) (*Config, error) {
	c := &Config{}
	if path == "" {
		path = os.Getenv("C4GH_SERVER_CONFIG")
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	env := func(name string, dst *string) {
		if v := os.Getenv(name); v != "" {
			*dst = v
		}
	}
	env("C4GH_SERVER_LISTEN", &c.Listen)
	env("C4GH_SERVER_PUBLIC_URL", &c.PublicURL)
	env("C4GH_SERVER_DATA_DIR", &c.DataDir)
	env("C4GH_SERVER_DATABASE_DRIVER", &c.Database.Driver)
	env("C4GH_SERVER_DATABASE_PATH", &c.Database.Path)
	env("C4GH_SERVER_OBJECTS_BACKEND", &c.Objects.Backend)
	env("C4GH_SERVER_OBJECTS_DIR", &c.Objects.Dir)
	env("C4GH_SERVER_S3_ENDPOINT", &c.Objects.S3.Endpoint)
	env("C4GH_SERVER_S3_BUCKET", &c.Objects.S3.Bucket)
	env("C4GH_SERVER_S3_REGION", &c.Objects.S3.Region)
	env("C4GH_SERVER_S3_PREFIX", &c.Objects.S3.Prefix)
	env("C4GH_SERVER_S3_ACCESS_KEY", &c.Objects.S3.AccessKey)
	env("C4GH_SERVER_LOG_LEVEL", &c.Log.Level)
	env("C4GH_SERVER_LOG_FORMAT", &c.Log.Format)
	env("C4GH_SERVER_AUDIT_LOG", &c.Log.Audit)
	if v := os.Getenv("C4GH_SERVER_S3_USE_TLS"); v != "" {
		c.Objects.S3.UseTLS, _ = strconv.ParseBool(v)
	}
	if v := os.Getenv("C4GH_SERVER_ARCHIVE_KEY"); v != "" {
		c.ArchiveKeys = []ArchiveKeyConfig{{File: v, PassphraseEnv: "C4GH_SERVER_ARCHIVE_PASSPHRASE"}}
	}
	return c, nil
}

// finish fills defaults; flags have been applied.
func (c *Config) finish() error {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.PublicURL == "" {
		scheme := "http"
		if c.TLS.CertFile != "" {
			scheme = "https"
		}
		c.PublicURL = scheme + "://" + c.Listen
	}
	if c.DataDir == "" {
		c.DataDir = "crypt4gh-server-data"
	}
	in := func(name string) string { return filepath.Join(c.DataDir, name) }
	if c.Database.Driver == "" {
		c.Database.Driver = "sqlite"
	}
	if c.Database.Path == "" {
		c.Database.Path = in("headers.db")
	}
	if c.Database.DSNEnv == "" {
		c.Database.DSNEnv = "C4GH_SERVER_DATABASE_DSN"
	}
	if c.Objects.Backend == "" {
		c.Objects.Backend = "local"
	}
	if c.Objects.Dir == "" {
		c.Objects.Dir = in("objects")
	}
	if c.Objects.S3.SecretKeyEnv == "" {
		c.Objects.S3.SecretKeyEnv = "C4GH_SERVER_S3_SECRET_KEY"
	}
	if c.Objects.S3.Region == "" {
		c.Objects.S3.Region = "us-east-1"
	}
	if len(c.ArchiveKeys) == 0 {
		c.ArchiveKeys = []ArchiveKeyConfig{{File: in("archive.sec")}}
	}
	if c.Auth.DevIssuer == nil {
		dev := len(c.Auth.Issuers) == 0 && len(c.Auth.Tokens) == 0
		c.Auth.DevIssuer = &dev
	}
	if c.Auth.AdminTokenFile == "" {
		c.Auth.AdminTokenFile = in("admin-token")
	}
	switch c.Database.Driver {
	case "sqlite", "postgres":
	default:
		return fmt.Errorf("config: database.driver %q: want sqlite or postgres", c.Database.Driver)
	}
	switch c.Objects.Backend {
	case "local", "s3":
	default:
		return fmt.Errorf("config: objects.backend %q: want local or s3", c.Objects.Backend)
	}
	for i, k := range c.ArchiveKeys {
		if (k.File == "") == (k.PKCS11 == nil) {
			return fmt.Errorf("config: archive_keys[%d]: give exactly one of file and pkcs11", i)
		}
	}
	return nil
}

func parseDuration(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("invalid duration " + strconv.Quote(s))
	}
	return d, nil
}
