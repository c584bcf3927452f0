// Command crypt4gh encrypts, decrypts, re-encrypts and rearranges GA4GH
// Crypt4GH files, and generates Crypt4GH key pairs. It accepts the command
// lines of the Python reference implementation (crypt4gh and
// crypt4gh-keygen) and adds -i/-o files with atomic output, a progress bar,
// documented exit codes and end-exclusive byte ranges.
//
// Run "crypt4gh help" for the usage, or see doc/crypt4gh.1.md.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/term"
)

// Version is the version printed by "crypt4gh version". It can be set at
// link time with -ldflags "-X main.Version=v1.2.3"; otherwise the module
// version from the build information is used.
var Version string

func main() {
	os.Exit(newApp().run(os.Args[1:]))
}

// app is one run of the command: its standard streams and environment.
// Tests build their own.
type app struct {
	stdin, stdout, stderr *os.File
	getenv                func(string) string
	// noTTY disables prompts on the controlling terminal (tests).
	noTTY bool
	// now is the clock (expiry times); tests may fix it.
	now func() time.Time

	// pqExposed is set by a command that wrote or read a header a
	// classical X25519 packet opens; noPQWarning (--no-pq-warning)
	// silences the warning printed for it.
	pqExposed, noPQWarning bool
}

func newApp() *app {
	return &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now}
}

// Exit codes, documented in the usage text and the man page.
const (
	exitOK     = 0 // success
	exitError  = 1 // any other error (I/O, refused overwrite, …)
	exitUsage  = 2 // bad command line
	exitNoKey  = 3 // no header packet decrypts with the key (wrong key or sender)
	exitAuth   = 4 // a data segment failed authentication (tampered or corrupt)
	exitFormat = 5 // not Crypt4GH, unsupported version or method, malformed or truncated
	exitKey    = 6 // key file problem: wrong passphrase, malformed or missing key
	exitSig    = 7 // a required signature is missing or invalid (decrypt --verify)
	exitExpiry = 8 // the file's expiry time has passed
)

// errHelp is returned by a command whose help was requested.
var errHelp = errors.New("help requested")

// cliError carries an exit code and hints with an error. code 0 means
// "classify the wrapped error".
type cliError struct {
	err   error
	code  int
	hints []string
}

func (e *cliError) Error() string { return e.err.Error() }
func (e *cliError) Unwrap() error { return e.err }

// usageErrorf returns an exit-code-2 error for command cmd ("" for the
// top level).
func usageErrorf(cmd, format string, args ...any) error {
	hint := "run 'crypt4gh help' for usage"
	if cmd != "" {
		hint = fmt.Sprintf("run 'crypt4gh %s --help' for usage", cmd)
	}
	return &cliError{err: fmt.Errorf(format, args...), code: exitUsage, hints: []string{hint}}
}

// withHint attaches hints to err without changing its exit code.
func withHint(err error, hints ...string) error {
	var ce *cliError
	if errors.As(err, &ce) {
		ce.hints = append(ce.hints, hints...)
		return err
	}
	return &cliError{err: err, hints: hints}
}

// withCode forces the exit code of err.
func withCode(err error, code int, hints ...string) error {
	return &cliError{err: err, code: code, hints: hints}
}

type command struct {
	name  string
	run   func(a *app, args []string) error
	usage string
}

var commands []*command

func init() {
	commands = []*command{
		{"encrypt", (*app).cmdEncrypt, encryptUsage},
		{"decrypt", (*app).cmdDecrypt, decryptUsage},
		{"rearrange", (*app).cmdRearrange, rearrangeUsage},
		{"reencrypt", (*app).cmdReencrypt, reencryptUsage},
		{"repoint", (*app).cmdRepoint, repointUsage},
		{"inspect", (*app).cmdInspect, inspectUsage},
		{"download", (*app).cmdDownload, downloadUsage},
		{"keygen", (*app).cmdKeygen, keygenUsage},
		{"pubkey", (*app).cmdPubkey, pubkeyUsage},
		{"version", (*app).cmdVersion, versionUsage},
		{"help", (*app).cmdHelp, helpUsage},
	}
}

func findCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run runs the command line args (without the program name) and returns
// the exit code.
func (a *app) run(args []string) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	defer func() { signal.Stop(sigs); close(done) }()
	go func() {
		select {
		case <-sigs:
			// Leave no partial output and no terminal with echo off.
			term.Restore()
			removeTempFiles()
			fmt.Fprintln(a.stderr, "\ncrypt4gh: interrupted")
			os.Exit(130)
		case <-done:
		}
	}()

	err := a.dispatch(args)
	code := exitOK
	if err != nil {
		code = a.report(err)
	}
	// After any error line, so that error output still starts with
	// "crypt4gh: error:".
	a.warnPQ()
	return code
}

// pqWarning is printed once when a command wrote or read a header that a
// classical (X25519) packet opens, in the style of OpenSSH 10.1.
const pqWarning = `crypt4gh: ** WARNING: this file's header can be decrypted with a classical (non-post-quantum) key.
crypt4gh: ** It may be vulnerable to "store now, decrypt later" attacks. Use 'crypt4gh keygen --pq' keys and 'encrypt --pq-only'.
`

// envNoPQWarning silences the post-quantum warning, as --no-pq-warning.
const envNoPQWarning = "C4GH_NO_PQ_WARNING"

func (a *app) warnPQ() {
	if !a.pqExposed || a.noPQWarning {
		return
	}
	if v := a.getenv(envNoPQWarning); v != "" && v != "0" {
		return
	}
	fmt.Fprint(a.stderr, pqWarning)
}

// clock returns the current time.
func (a *app) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

func (a *app) dispatch(args []string) error {
	// Global options, as the Python CLI accepts them before the command:
	// -h/--help, -v/--version and --log FILE (ignored).
options:
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		opt := args[0]
		args = args[1:]
		switch {
		case opt == "--":
			break options
		case opt == "-h" || opt == "--help" || opt == "-help" || opt == "-hv" || opt == "-vh":
			fmt.Fprint(a.stdout, mainUsage)
			return nil
		case opt == "-v" || opt == "--version" || opt == "-version":
			return a.cmdVersion(nil)
		case opt == "--log" || opt == "-log":
			if len(args) == 0 {
				return usageErrorf("", "option %s needs a file argument", opt)
			}
			args = args[1:] // accepted for compatibility, ignored
		case strings.HasPrefix(opt, "--log=") || strings.HasPrefix(opt, "-log="):
			// ignored
		default:
			return usageErrorf("", "unknown option %q", opt)
		}
	}
	if len(args) == 0 {
		fmt.Fprint(a.stderr, synopsis)
		return usageErrorf("", "no command given")
	}
	c := findCommand(args[0])
	if c == nil {
		return usageErrorf("", "unknown command %q", args[0])
	}
	err := c.run(a, args[1:])
	if errors.Is(err, errHelp) {
		fmt.Fprint(a.stdout, c.usage)
		return nil
	}
	return err
}

// report prints err as "crypt4gh: error: …" plus hints and returns its
// exit code.
func (a *app) report(err error) int {
	code := exitCode(err)
	fmt.Fprintf(a.stderr, "crypt4gh: error: %s\n", cleanMessage(err))
	var hints []string
	var ce *cliError
	if errors.As(err, &ce) {
		hints = ce.hints
	}
	if len(hints) == 0 {
		hints = defaultHints(err, code)
	}
	for _, h := range hints {
		fmt.Fprintf(a.stderr, "crypt4gh: hint: %s\n", h)
	}
	return code
}

// cleanMessage drops the package prefixes of library errors ("crypt4gh: ",
// and those of the key file parsers), which our own prefix already says.
func cleanMessage(err error) string {
	return strings.NewReplacer("crypt4gh: ", "", "keyfile: ", "", "sshkey: ", "").Replace(err.Error())
}

func (a *app) cmdVersion(args []string) error {
	fs := newFlagSet("version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "crypt4gh version %s\n", version())
	return nil
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "(devel)"
}

func (a *app) cmdHelp(args []string) error {
	switch len(args) {
	case 0:
		fmt.Fprint(a.stdout, mainUsage)
		return nil
	case 1:
		c := findCommand(args[0])
		if c == nil {
			return usageErrorf("", "unknown command %q", args[0])
		}
		fmt.Fprint(a.stdout, c.usage)
		return nil
	}
	return usageErrorf("help", "too many arguments")
}
