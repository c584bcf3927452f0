package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/pkcs11key"
	"github.com/crypt4gh-go/crypt4gh/internal/server"
	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	a, err := start(ctx, fs, &c, args, 0, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	cfg := a.cfg
	readHeader, err := parseDuration(cfg.Limits.ReadHeaderTimeout, 10*time.Second)
	if err != nil {
		return err
	}
	maxHeader := cfg.Limits.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = 64 << 10
	}
	hs := &http.Server{
		Handler:           a.srv.Handler(),
		ReadHeaderTimeout: readHeader,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          nil,
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	a.log.Info("listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL,
		"database", cfg.Database.Driver, "objects", cfg.Objects.Backend, "dev_issuer", a.dev != nil)
	// The token command mints for this server's issuer URL: remember it.
	if a.dev != nil {
		os.WriteFile(filepath.Join(cfg.DataDir, servedURLFile), []byte(cfg.PublicURL+"\n"), 0o600)
	}
	printWelcome(stdout, cfg, a)
	errc := make(chan error, 1)
	go func() {
		if cfg.TLS.CertFile != "" {
			errc <- hs.ServeTLS(ln, cfg.TLS.CertFile, cfg.TLS.KeyFile)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down: draining requests (30s at most)")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// printWelcome tells a first-time user how to use the embedded setup.
func printWelcome(w io.Writer, cfg *Config, a *app) {
	self, _ := os.Executable()
	if strings.Contains(self, "go-build") {
		self = "go run ./cmd/crypt4gh-server"
	} else {
		self = filepath.Base(self)
	}
	fmt.Fprintf(w, "crypt4gh-server listening on %s (DRS %s/ga4gh/drs/v1, htsget %s/reads and /variants)\n", cfg.Listen, cfg.PublicURL, cfg.PublicURL)
	fmt.Fprintf(w, "  header database: %s   object store: %s   data dir: %s\n", cfg.Database.Driver, cfg.Objects.Backend, cfg.DataDir)
	fmt.Fprintf(w, "Ingest a file (server may keep running):\n  %s ingest -data-dir %s -dataset demo -id sample1 -index FILE.bai FILE.bam\n", self, cfg.DataDir)
	if a.dev != nil {
		fmt.Fprintf(w, "Get a development token (development issuer enabled; not for production):\n  %s token -data-dir %s -dataset demo > token.txt\n", self, cfg.DataDir)
	}
	fmt.Fprintf(w, "Download, decrypted locally with an ephemeral key:\n  C4GH_TOKEN=$(cat token.txt) crypt4gh download --plain-http -o sample1.bam drs://%s/sample1\n", strings.TrimPrefix(strings.TrimPrefix(cfg.PublicURL, "http://"), "https://"))
}

// start parses a command's flags (fs holds c's and the command's own),
// checks it got nargs arguments, loads the configuration and opens the
// stores and keys it describes.
func start(ctx context.Context, fs *flag.FlagSet, c *commonFlags, args []string, nargs int, stderr io.Writer) (*app, error) {
	if err := parseFlags(fs, args, stderr); err != nil {
		return nil, err
	}
	if fs.NArg() != nargs {
		return nil, usageError{fmt.Errorf("%s takes %d argument(s), got %d", fs.Name(), nargs, fs.NArg())}
	}
	cfg, err := c.load()
	if err != nil {
		return nil, err
	}
	return openApp(ctx, cfg, stderr)
}

// ingestFlags are shared by ingest and register.
type ingestFlags struct {
	commonFlags
	id, dataset, name, format, index, indexFormat string
}

func (f *ingestFlags) register(fs *flag.FlagSet) {
	f.commonFlags.register(fs)
	fs.StringVar(&f.id, "id", "", "object id (default: random)")
	fs.StringVar(&f.dataset, "dataset", "", "dataset the file belongs to (required)")
	fs.StringVar(&f.name, "name", "", "display name (default: the file name)")
	fs.StringVar(&f.format, "format", "", "BAM, CRAM, VCF or BCF (default: detected when an index is given)")
	fs.StringVar(&f.index, "index", "", "plaintext index file (BAI, CSI, TBI or CRAI) for htsget")
	fs.StringVar(&f.indexFormat, "index-format", "", "index format (default: from the index file's extension)")
}

// request builds the ingest request for source (a file path or an object
// key, whose base name is the default display name).
func (f *ingestFlags) request(source string) (server.IngestRequest, error) {
	if f.dataset == "" {
		return server.IngestRequest{}, usageError{errors.New("-dataset is required")}
	}
	req := server.IngestRequest{ID: f.id, Dataset: f.dataset, Name: f.name, Format: f.format, IndexFormat: f.indexFormat}
	if req.Name == "" {
		req.Name = filepath.Base(source)
	}
	if f.index != "" {
		b, err := os.ReadFile(f.index)
		if err != nil {
			return req, err
		}
		req.Index = b
		if req.IndexFormat == "" {
			req.IndexFormat = strings.ToUpper(strings.TrimPrefix(filepath.Ext(f.index), "."))
		}
	}
	return req, nil
}

func printObject(w io.Writer, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Fprintf(w, "%s\n", b)
}

// reportIngest prints an archived file, or maps an id conflict to its
// exit code.
func reportIngest(w io.Writer, obj store.File, err error) error {
	var ie *server.IngestError
	if errors.As(err, &ie) && ie.Conflict {
		return conflictError{err}
	}
	if err != nil {
		return err
	}
	printObject(w, map[string]any{"id": obj.ID, "dataset": obj.Dataset, "size": obj.PlaintextSize, "sha256": obj.PlaintextSHA256, "format": obj.Format, "indexed": obj.IndexKey != ""})
	return nil
}

func cmdIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	var f ingestFlags
	f.register(fs)
	a, err := start(ctx, fs, &f.commonFlags, args, 1, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	req, err := f.request(fs.Arg(0))
	if err != nil {
		return err
	}
	file, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return err
	}
	req.Body, req.Size = file, st.Size()
	obj, err := a.srv.Ingest(ctx, req)
	return reportIngest(stdout, obj, err)
}

func cmdRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	var f ingestFlags
	f.register(fs)
	del := fs.Bool("delete-source", false, "delete the source object once registered")
	a, err := start(ctx, fs, &f.commonFlags, args, 1, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	req, err := f.request(fs.Arg(0))
	if err != nil {
		return err
	}
	obj, err := a.srv.Register(ctx, req, fs.Arg(0), *del)
	return reportIngest(stdout, obj, err)
}

func cmdToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	var datasets multiFlag
	fs.Var(&datasets, "dataset", "dataset to grant (repeatable; required)")
	subject := fs.String("subject", "dev-user", "token subject")
	ttl := fs.Duration("ttl", time.Hour, "token lifetime")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if len(datasets) == 0 {
		return usageError{errors.New("-dataset is required")}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	if c.publicURL == "" && c.listen == "" && os.Getenv("C4GH_SERVER_PUBLIC_URL") == "" && os.Getenv("C4GH_SERVER_LISTEN") == "" {
		// Mint for the issuer URL of the server last started on this
		// data directory.
		if b, err := os.ReadFile(filepath.Join(cfg.DataDir, servedURLFile)); err == nil {
			cfg.PublicURL = strings.TrimSpace(string(b))
		}
	}
	if !*cfg.Auth.DevIssuer {
		return errors.New("the development issuer is disabled in this configuration")
	}
	a, err := openApp(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	tok, err := a.dev.Mint(*subject, datasets, *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// servedURLFile, in the data directory, records the public URL of the
// last server started on it, whose development issuer tokens must name.
const servedURLFile = "served-url"

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	grace := fs.Duration("grace", 24*time.Hour, "leave objects younger than this (ingests in progress)")
	a, err := start(ctx, fs, &c, args, 0, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.srv.Sweep(ctx, *grace)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "removed %d orphaned objects\n", n)
	return nil
}

func cmdDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("delete", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	a, err := start(ctx, fs, &c, args, 1, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.srv.Delete(ctx, fs.Arg(0))
}

func cmdRotate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rotate", flag.ContinueOnError)
	var c commonFlags
	c.register(fs)
	a, err := start(ctx, fs, &c, args, 0, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := a.srv.Rotate(ctx)
	fmt.Fprintf(stdout, "re-sealed %d headers to the current archive key\n", n)
	return err
}

// cmdPKCS11 manages archive keys in a token: generate (non-extractable),
// import an existing key file, list.
func cmdPKCS11(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("pkcs11: give generate, import or list")}
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("pkcs11 "+sub, flag.ContinueOnError)
	module := fs.String("module", "/usr/lib/softhsm/libsofthsm2.so", "PKCS#11 module")
	token := fs.String("token", "", "token label")
	label := fs.String("key-label", "crypt4gh-archive", "key label")
	pinEnv := fs.String("pin-env", "C4GH_PKCS11_PIN", "environment variable holding the user PIN")
	profile := fs.String("profile", "", "key profile (softhsm-edwards, pkcs11v3-montgomery)")
	keyFile := fs.String("key-file", "", "import: the Crypt4GH private key file")
	passEnv := fs.String("passphrase-env", "C4GH_PASSPHRASE", "import: environment variable holding the key file's passphrase")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	pin, err := secretFrom(*pinEnv, "")
	if err != nil {
		return err
	}
	cfg := pkcs11key.Config{Module: *module, TokenLabel: *token, PIN: pin, KeyLabel: *label, Profile: pkcs11key.Profile(*profile)}
	switch sub {
	case "generate":
		k, err := pkcs11key.Generate(cfg)
		if err != nil {
			return err
		}
		defer k.Close()
		fmt.Fprintf(stdout, "%s", publicKeyFile(k.PublicKey()))
	case "import":
		k, err := importKeyFile(cfg, *keyFile, *passEnv)
		if err != nil {
			return err
		}
		defer k.Close()
		fmt.Fprintf(stdout, "%s", publicKeyFile(k.PublicKey()))
	case "list":
		infos, err := pkcs11key.List(cfg)
		if err != nil {
			return err
		}
		printObject(stdout, infos)
	default:
		return usageError{fmt.Errorf("pkcs11: unknown subcommand %q", sub)}
	}
	return nil
}
