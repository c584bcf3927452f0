// Command crypt4gh-server is the Crypt4GH archive server: GA4GH DRS 1.5
// and htsget 1.3 over files encrypted once at rest, re-encrypting only the
// header for each requester. See doc/server.md.
//
//	crypt4gh-server [serve] [-config FILE] [-listen ADDR] [-data-dir DIR]
//	crypt4gh-server ingest -dataset D [-id ID] [-name N] [-format F] [-index FILE] FILE
//	crypt4gh-server register -dataset D [-id ID] [-delete-source] OBJECT-KEY
//	crypt4gh-server token -dataset D [-subject S] [-ttl 1h]
//	crypt4gh-server sweep [-grace 24h]
//	crypt4gh-server delete ID
//	crypt4gh-server rotate
//	crypt4gh-server pkcs11 generate|import|list [...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes.
const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitConflict = 3
)

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	command, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "crypt4gh-server: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	err := command(ctx, args, stdout, stderr)
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "crypt4gh-server %s: %v\n", cmd, err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	var ce conflictError
	if errors.As(err, &ce) {
		return exitConflict
	}
	return exitError
}

// commands maps each subcommand to its function.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"serve": cmdServe, "ingest": cmdIngest, "register": cmdRegister, "token": cmdToken,
	"sweep": cmdSweep, "delete": cmdDelete, "rotate": cmdRotate, "pkcs11": cmdPKCS11,
}

type usageError struct{ error }
type conflictError struct{ error }

const usage = `Usage: crypt4gh-server [command] [flags]

Commands:
  serve      run the server (default)
  ingest     archive a local file (plaintext, or Crypt4GH for the archive key)
  register   archive a Crypt4GH file already in the object store
  token      mint a development access token for datasets
  sweep      remove objects left by interrupted ingests
  delete     remove a file
  rotate     re-seal every header to the current (first) archive key
  pkcs11     generate, import or list archive keys in a PKCS#11 token

Common flags: -config FILE, -listen ADDR, -data-dir DIR, -public-url URL.
Run "crypt4gh-server COMMAND -h" for a command's flags. See doc/server.md.
`

// commonFlags are the flags every command takes to find its configuration.
type commonFlags struct {
	config, listen, dataDir, publicURL string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "configuration file (JSON; env C4GH_SERVER_CONFIG)")
	fs.StringVar(&c.listen, "listen", "", "listen address (default 127.0.0.1:8080)")
	fs.StringVar(&c.dataDir, "data-dir", "", "directory for the embedded defaults (default ./crypt4gh-server-data)")
	fs.StringVar(&c.publicURL, "public-url", "", "base URL clients use (default http://LISTEN)")
}

func (c *commonFlags) load() (*Config, error) {
	cfg, err := loadConfig(c.config)
	if err != nil {
		return nil, err
	}
	if c.listen != "" {
		cfg.Listen = c.listen
	}
	if c.dataDir != "" {
		cfg.DataDir = c.dataDir
	}
	if c.publicURL != "" {
		cfg.PublicURL = c.publicURL
	}
	return cfg, cfg.finish()
}

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}
