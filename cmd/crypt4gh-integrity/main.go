// Command crypt4gh-integrity makes and checks long-term integrity proofs
// for genomic data (package integrity): a lab protects a VCF/BCF (or any
// file, with --whole-file), the data owner renews the protection over the
// decades and extracts proofs for regions, and anyone verifies a proof
// against a trust policy.
//
// Run "crypt4gh-integrity help" for the usage, or see doc/integrity.md.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/integrity"
	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
	"github.com/crypt4gh-go/crypt4gh/integrity/tsa"
	"github.com/crypt4gh-go/crypt4gh/integrity/vcf"
	"github.com/crypt4gh-go/crypt4gh/internal/term"
	"github.com/crypt4gh-go/crypt4gh/signing"
)

// Exit codes. verify uses one per failure class so scripts can tell a
// tampered entry from an expired algorithm.
const (
	exitOK           = 0
	exitError        = 1 // any other error
	exitUsage        = 2 // bad command line
	exitMalformed    = 3 // the proof is not a well-formed proof
	exitSignature    = 4 // the lab signature is invalid or by an untrusted key
	exitTimestamp    = 5 // a timestamp is invalid or untrusted
	exitExpired      = 6 // an algorithm or TSA expired before it was renewed
	exitUntrusted    = 7 // the policy does not cover an algorithm or TSA
	exitData         = 8 // an entry, path or root does not check: tampered data
	exitNotRequested = 9 // the proof does not cover the requested positions
)

const usage = `Usage:
    crypt4gh-integrity protect --in DATA --out DIR --sign LABKEY --owner OWNER.pub (--tsa-url URL | --dev-tsa ROOTS.pem) [options]
    crypt4gh-integrity update  --dir DIR --op upT|upHT|upCHT (--tsa-url URL | --dev-tsa ROOTS.pem) [options]
    crypt4gh-integrity prove   --dir DIR --in DATA --sk OWNER.sec (--region R | --positions P | --bytes A-B) --out PROOF
    crypt4gh-integrity verify  --proof PROOF --policy POLICY --key LAB.pub --tsa-roots ROOTS.pem [--region R] [--now TIME] [--json]
    crypt4gh-integrity inspect PROOF
    crypt4gh-integrity policy  --not-after TIME

Commands:
    protect   Commit to every position of a VCF/BCF (or every chunk of any
              file with --whole-file), build the Merkle tree, sign its root
              with the lab key and timestamp it. Writes the dataset DIR: the
              public evidence and commitments, and the opening keys
              encrypted with Crypt4GH for the data owner.
    update    Renew the protection: upT adds a timestamp (before the last
              TSA or timestamp hash weakens), upHT a new hash tree (before
              the tree hash weakens; --hash), upCHT new commitments (before
              the commitment scheme weakens; --scheme, needs --in and --sk).
    prove     Extract a partial proof for a region, positions or a byte
              range: it reveals nothing about the other positions.
    verify    Check a proof against a trust policy, trusted lab keys and
              TSA roots, and print the verified entries.
    inspect   Print a proof as JSON.
    policy    Print a trust policy trusting every supported algorithm and
              any TSA chaining to the roots until TIME: edit it to taste.

Options:
    --in FILE           Data: VCF (plain, gzip, BGZF) or BCF; any file with --whole-file.
    --fai FILE          Reference .fai, for contigs the VCF header gives no length.
    --whole-file        Protect the file as fixed-size chunks (FASTQ, CRAM, ...).
    --chunk-size N      Chunk size for --whole-file (default 1048576).
    --sign FILE         The lab's signing key (ed25519, mldsa65 or mldsa87).
    --owner FILE        The data owner's Crypt4GH public key (repeatable).
    --sk FILE           The data owner's Crypt4GH private key.
    --hash NAME         Tree hash: sha256 (default), sha3-256 or sha512.
    --scheme NAME       Commitment scheme: hm-sha256-l1540 (default,
                        statistically hiding) or sha256-nonce (computational).
    --tsa-url URL       RFC 3161 time-stamping authority.
    --dev-tsa FILE      Use a throw-away in-process TSA and append its root
                        certificate to FILE. FOR TESTS AND DEMOS ONLY: its
                        timestamps prove nothing to anyone else.
    --region R          chr:start-end (1-based, inclusive), chr:pos or chr.
    --positions LIST    Comma-separated chr:pos list.
    --bytes A-B         Byte range (0-based, inclusive) of a whole file.
    --key FILE          A trusted lab public key (repeatable).
    --tsa-roots FILE    PEM file of trusted TSA root certificates (repeatable).
    --now TIME          Verification time (RFC 3339; default: now).
    --json              verify: print the result as JSON.

Private keys that are encrypted take their passphrase from $C4GH_PASSPHRASE,
else from a prompt on the terminal; passphrases are never read from the
command line.

Exit codes of verify: 0 valid, 3 malformed proof, 4 signature, 5 timestamp,
6 expired algorithm, 7 algorithm not in the policy, 8 tampered data (opening,
path or root), 9 positions not covered; 1 other errors, 2 usage.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

type app struct {
	ctx            context.Context
	stdout, stderr io.Writer
	getenv         func(string) string
}

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{ctx: ctx, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmds := map[string]func([]string) error{
		"protect": a.protect, "update": a.update, "prove": a.prove,
		"verify": a.verify, "inspect": a.inspect, "policy": a.policy,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		fmt.Fprintf(stderr, "crypt4gh-integrity: error: unknown command %q\n", args[0])
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	err := cmd(args[1:])
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "crypt4gh-integrity: error: %v\n", err)
	var ue usageError
	switch {
	case errors.As(err, &ue), errors.Is(err, flag.ErrHelp):
		return exitUsage
	case errors.Is(err, integrity.ErrMalformedProof):
		return exitMalformed
	case errors.Is(err, integrity.ErrSignature):
		return exitSignature
	case errors.Is(err, integrity.ErrTimestamp):
		return exitTimestamp
	case errors.Is(err, integrity.ErrExpired):
		return exitExpired
	case errors.Is(err, integrity.ErrUntrusted):
		return exitUntrusted
	case errors.Is(err, integrity.ErrOpening), errors.Is(err, integrity.ErrPath), errors.Is(err, integrity.ErrRoot):
		return exitData
	case errors.Is(err, integrity.ErrNotRequested):
		return exitNotRequested
	}
	return exitError
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 && fs.Name() != "inspect" {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// tsaFlags are the timestamp authority options of protect and update.
type tsaFlags struct{ url, dev string }

func (t *tsaFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.url, "tsa-url", "", "")
	fs.StringVar(&t.dev, "dev-tsa", "", "")
}

func (a *app) stamper(t tsaFlags) (tsa.Stamper, error) {
	switch {
	case t.url != "" && t.dev != "":
		return nil, usagef("give --tsa-url or --dev-tsa, not both")
	case t.url != "":
		return tsa.NewHTTPStamper(t.url, &http.Client{Timeout: time.Minute}), nil
	case t.dev != "":
		now := time.Now()
		la, err := tsa.NewLocalAuthority("crypt4gh-integrity DEVELOPMENT TSA (not trustworthy)", now.Add(-time.Hour), now.AddDate(100, 0, 0))
		if err != nil {
			return nil, err
		}
		f, err := os.OpenFile(t.dev, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: la.Root().Raw}); err != nil {
			return nil, err
		}
		fmt.Fprintf(a.stderr, "crypt4gh-integrity: warning: using a throw-away development TSA; its root is in %s. Its timestamps prove nothing to anyone but you.\n", t.dev)
		return la.At(now), nil
	}
	return nil, usagef("a timestamp authority is needed: --tsa-url URL, or --dev-tsa FILE for tests")
}

// dataFlags say how to read the data.
type dataFlags struct {
	in, fai   string
	wholeFile bool
	chunk     uint
}

func (d *dataFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.in, "in", "", "")
	fs.StringVar(&d.fai, "fai", "", "")
	fs.BoolVar(&d.wholeFile, "whole-file", false, "")
	fs.UintVar(&d.chunk, "chunk-size", integrity.DefaultChunkSize, "")
}

// table opens the data; the returned function closes it.
func (d *dataFlags) table() (integrity.Table, func(), error) {
	if d.in == "" {
		return nil, nil, usagef("--in is required")
	}
	f, err := os.Open(d.in)
	if err != nil {
		return nil, nil, err
	}
	if d.wholeFile {
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		if d.chunk == 0 || d.chunk > 64<<20 {
			f.Close()
			return nil, nil, usagef("--chunk-size must be 1..67108864")
		}
		t, err := integrity.FileTable(f, fi.Size(), uint32(d.chunk))
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		return t, func() { f.Close() }, nil
	}
	opts := vcf.Options{}
	if d.fai != "" {
		fai, err := os.Open(d.fai)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		defer fai.Close()
		opts.FAI = fai
	}
	r, err := vcf.Open(f, opts)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w (use --whole-file for files that are not VCF/BCF)", d.in, err)
	}
	t, err := integrity.VCFTable(r)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return t, func() { f.Close() }, nil
}

// passphrase returns the passphrase source for encrypted keys.
func (a *app) passphrase(path string) crypt4gh.PassphraseFunc {
	return func() ([]byte, error) {
		if p := a.getenv("C4GH_PASSPHRASE"); p != "" {
			return []byte(p), nil
		}
		p, err := term.ReadPassphrase(fmt.Sprintf("Passphrase for %s: ", path))
		if errors.Is(err, term.ErrNoTerminal) {
			return nil, errors.New("the key is encrypted: set C4GH_PASSPHRASE or run on a terminal")
		}
		return p, err
	}
}

func (a *app) loadOwners(paths []string) ([]crypt4gh.Recipient, error) {
	if len(paths) == 0 {
		return nil, usagef("--owner (the data owner's public key) is required")
	}
	var out []crypt4gh.Recipient
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		r, err := crypt4gh.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("--owner %s: %w", p, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (a *app) loadIdentity(path string) (crypt4gh.Identity, error) {
	if path == "" {
		return nil, usagef("--sk (the data owner's private key) is required")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	id, err := crypt4gh.ParsePrivateKey(b, a.passphrase(path))
	if err != nil {
		return nil, fmt.Errorf("--sk %s: %w", path, err)
	}
	return id, nil
}

func (a *app) protect(args []string) error {
	fs := newFlags("protect")
	var data dataFlags
	var ts tsaFlags
	var out, sign, hash, scheme string
	var owners multi
	data.register(fs)
	ts.register(fs)
	fs.StringVar(&out, "out", "", "")
	fs.StringVar(&sign, "sign", "", "")
	fs.Var(&owners, "owner", "")
	fs.StringVar(&hash, "hash", "sha256", "")
	fs.StringVar(&scheme, "scheme", commit.NameHM, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if out == "" || sign == "" {
		return usagef("protect needs --out DIR and --sign LABKEY")
	}
	h, err := integrity.ParseHash(hash)
	if err != nil {
		return usagef("%v", err)
	}
	s, err := commit.ByName(scheme)
	if err != nil {
		return usagef("%v", err)
	}
	rs, err := a.loadOwners(owners)
	if err != nil {
		return err
	}
	kb, err := os.ReadFile(sign)
	if err != nil {
		return err
	}
	signer, err := signing.ParseSigner(kb, a.passphrase(sign))
	clear(kb)
	if err != nil {
		return fmt.Errorf("--sign %s: %w", sign, err)
	}
	defer func() {
		if z, ok := signer.(interface{ Zero() }); ok {
			z.Zero()
		}
	}()
	st, err := a.stamper(ts)
	if err != nil {
		return err
	}
	t, done, err := data.table()
	if err != nil {
		return err
	}
	defer done()
	start := time.Now()
	ev, err := integrity.Protect(a.ctx, out, t, integrity.ProtectOptions{Signer: signer, Stamper: st, Owner: rs, Scheme: s, Hash: h})
	if err != nil {
		return err
	}
	n := ev.Layout.Positions()
	el := time.Since(start)
	fmt.Fprintf(a.stderr, "crypt4gh-integrity: protected %d positions in %s (%.0f positions/s) into %s\n", n, el.Round(time.Millisecond), float64(n)/el.Seconds(), out)
	return nil
}

func (a *app) update(args []string) error {
	fs := newFlags("update")
	var data dataFlags
	var ts tsaFlags
	var dir, op, hash, scheme, sk string
	var owners multi
	data.register(fs)
	ts.register(fs)
	fs.StringVar(&dir, "dir", "", "")
	fs.StringVar(&op, "op", "", "")
	fs.StringVar(&hash, "hash", "", "")
	fs.StringVar(&scheme, "scheme", "", "")
	fs.StringVar(&sk, "sk", "", "")
	fs.Var(&owners, "owner", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if dir == "" {
		return usagef("update needs --dir DIR")
	}
	o, err := integrity.ParseOp(op)
	if err != nil {
		return usagef("%v", err)
	}
	opts := integrity.UpdateOptions{}
	if hash != "" {
		if opts.Hash, err = integrity.ParseHash(hash); err != nil {
			return usagef("%v", err)
		}
	}
	if scheme != "" {
		if opts.Scheme, err = commit.ByName(scheme); err != nil {
			return usagef("%v", err)
		}
	}
	if o == integrity.OpRecommit {
		if opts.Identity, err = a.loadIdentity(sk); err != nil {
			return err
		}
		if len(owners) == 0 {
			// By default the new openings go to the owner's own key.
			switch id := opts.Identity.(type) {
			case *crypt4gh.X25519Identity:
				opts.Owner = []crypt4gh.Recipient{id.Recipient()}
			case *crypt4gh.HybridIdentity:
				opts.Owner = []crypt4gh.Recipient{id.Recipient()}
			}
		} else if opts.Owner, err = a.loadOwners(owners); err != nil {
			return err
		}
		t, done, err := data.table()
		if err != nil {
			return err
		}
		defer done()
		opts.Table = t
	}
	if opts.Stamper, err = a.stamper(ts); err != nil {
		return err
	}
	ev, err := integrity.Update(a.ctx, dir, o, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "crypt4gh-integrity: %s done; the evidence has %d elements\n", o, len(ev.Elements))
	return nil
}

// selection parses --region, --positions and --bytes against a layout.
func selection(l integrity.Layout, region, positions, byteRange string) ([]integrity.Range, error) {
	var rs []integrity.Range
	if region != "" {
		// Commas separate regions, unless the whole string is one region
		// with commas in its numbers (samtools allows chr1:1,000-2,000).
		if rg, err := l.Region(region); err == nil {
			rs = append(rs, rg)
		} else {
			for _, r := range strings.Split(region, ",") {
				rg, err := l.Region(r)
				if err != nil {
					return nil, usagef("%v", err)
				}
				rs = append(rs, rg)
			}
		}
	}
	if positions != "" {
		for _, p := range strings.Split(positions, ",") {
			name, pos, ok := strings.Cut(strings.TrimSpace(p), ":")
			n, err := strconv.ParseUint(pos, 10, 64)
			if !ok || err != nil {
				return nil, usagef("--positions: %q is not chr:pos", p)
			}
			g, err := l.Position(name, n)
			if err != nil {
				return nil, usagef("%v", err)
			}
			rs = append(rs, integrity.Range{Start: g, End: g + 1})
		}
	}
	if byteRange != "" {
		from, to, ok := strings.Cut(byteRange, "-")
		a, err1 := strconv.ParseUint(from, 10, 64)
		b, err2 := strconv.ParseUint(to, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, usagef("--bytes: %q is not A-B", byteRange)
		}
		r, err := l.Bytes(a, b)
		if err != nil {
			return nil, usagef("%v", err)
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, usagef("say what to prove: --region, --positions or --bytes")
	}
	return rs, nil
}

func (a *app) prove(args []string) error {
	fs := newFlags("prove")
	var data dataFlags
	var dir, sk, out, region, positions, byteRange string
	data.register(fs)
	fs.StringVar(&dir, "dir", "", "")
	fs.StringVar(&sk, "sk", "", "")
	fs.StringVar(&out, "out", "", "")
	fs.StringVar(&region, "region", "", "")
	fs.StringVar(&positions, "positions", "", "")
	fs.StringVar(&byteRange, "bytes", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if dir == "" || out == "" {
		return usagef("prove needs --dir DIR and --out PROOF")
	}
	d, err := integrity.Open(dir)
	if err != nil {
		return err
	}
	rs, err := selection(d.Layout(), region, positions, byteRange)
	if err != nil {
		return err
	}
	id, err := a.loadIdentity(sk)
	if err != nil {
		return err
	}
	t, done, err := data.table()
	if err != nil {
		return err
	}
	defer done()
	p, err := integrity.PartialProof(a.ctx, dir, rs, integrity.ProveOptions{Table: t, Identity: id})
	if err != nil {
		return err
	}
	b, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "crypt4gh-integrity: wrote a proof for %d positions (%d bytes) to %s\n", len(p.Entries), len(b), out)
	return nil
}

const maxProofFile = 4 << 30

func readProof(path string) (*integrity.Proof, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxProofFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxProofFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", integrity.ErrMalformedProof, path, maxProofFile)
	}
	return integrity.DecodeProof(b)
}

func (a *app) verify(args []string) error {
	fs := newFlags("verify")
	var proofPath, policyPath, now, region, positions, byteRange string
	var keys, roots multi
	var asJSON bool
	fs.StringVar(&proofPath, "proof", "", "")
	fs.StringVar(&policyPath, "policy", "", "")
	fs.Var(&keys, "key", "")
	fs.Var(&roots, "tsa-roots", "")
	fs.StringVar(&now, "now", "", "")
	fs.StringVar(&region, "region", "", "")
	fs.StringVar(&positions, "positions", "", "")
	fs.StringVar(&byteRange, "bytes", "", "")
	fs.BoolVar(&asJSON, "json", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if proofPath == "" || policyPath == "" || len(keys) == 0 || len(roots) == 0 {
		return usagef("verify needs --proof, --policy, --key and --tsa-roots")
	}
	opts := integrity.VerifyOptions{Roots: x509.NewCertPool()}
	if now != "" {
		t, err := time.Parse(time.RFC3339, now)
		if err != nil {
			return usagef("--now: %v", err)
		}
		opts.Now = t
	}
	pb, err := os.ReadFile(policyPath)
	if err != nil {
		return err
	}
	if opts.Policy, err = integrity.ParsePolicy(pb); err != nil {
		return err
	}
	for _, k := range keys {
		b, err := os.ReadFile(k)
		if err != nil {
			return err
		}
		v, err := signing.ParseVerifier(b)
		if err != nil {
			return fmt.Errorf("--key %s: %w", k, err)
		}
		opts.Keys = append(opts.Keys, v)
	}
	for _, r := range roots {
		b, err := os.ReadFile(r)
		if err != nil {
			return err
		}
		if !opts.Roots.AppendCertsFromPEM(b) {
			return fmt.Errorf("--tsa-roots %s: no PEM certificates", r)
		}
	}
	p, err := readProof(proofPath)
	if err != nil {
		return err
	}
	if region != "" || positions != "" || byteRange != "" {
		if opts.Want, err = selection(p.Evidence.Layout, region, positions, byteRange); err != nil {
			return err
		}
	}
	v, err := integrity.Verify(p, opts)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(a.stdout, verifiedJSON(v))
	}
	fmt.Fprintf(a.stdout, "valid: %d positions, protected at %s, last renewed at %s (%d evidence elements)\n",
		len(v.Entries), v.Times[0].Format(time.RFC3339), v.Times[len(v.Times)-1].Format(time.RFC3339), len(v.Times))
	shown := 0
	for _, e := range v.Entries {
		if e.Entry == nil {
			continue
		}
		shown++
		fmt.Fprintf(a.stdout, "%s\t%s\n", e.Name, describeEntry(v.Layout, e.Entry))
	}
	if shown == 0 {
		fmt.Fprintln(a.stdout, "no variants in the proven positions")
	}
	return nil
}

// describeEntry summarizes an entry for people.
func describeEntry(l integrity.Layout, e []byte) string {
	if l.Kind == integrity.File {
		return fmt.Sprintf("%d bytes", len(e))
	}
	recs, err := vcf.SplitEntry(e)
	if err != nil {
		return fmt.Sprintf("%d bytes (not a variant entry: %v)", len(e), err)
	}
	var parts []string
	for _, r := range recs {
		parts = append(parts, summarizeRecord(r))
	}
	return strings.Join(parts, " | ")
}

// summarizeRecord reads the leading fields of a canonical record
// (integrity/vcf/ENCODING.md): version, CHROM, POS, ID, alleles.
func summarizeRecord(r []byte) string {
	bad := fmt.Sprintf("record of %d bytes", len(r))
	if len(r) < 1 {
		return bad
	}
	r = r[1:]
	str := func() (string, bool) {
		if len(r) < 4 {
			return "", false
		}
		n := int(uint32(r[0])<<24 | uint32(r[1])<<16 | uint32(r[2])<<8 | uint32(r[3]))
		if n < 0 || n > len(r)-4 {
			return "", false
		}
		s := string(r[4 : 4+n])
		r = r[4+n:]
		return s, true
	}
	chrom, ok := str()
	if !ok || len(r) < 8 {
		return bad
	}
	var pos uint64
	for _, b := range r[:8] {
		pos = pos<<8 | uint64(b)
	}
	r = r[8:]
	id, ok := str()
	if !ok || len(r) < 4 {
		return bad
	}
	na := int(uint32(r[0])<<24 | uint32(r[1])<<16 | uint32(r[2])<<8 | uint32(r[3]))
	r = r[4:]
	var alleles []string
	for i := 0; i < na && i < 16; i++ {
		s, ok := str()
		if !ok {
			return bad
		}
		alleles = append(alleles, s)
	}
	if id == "" {
		id = "."
	}
	if len(alleles) == 0 {
		return fmt.Sprintf("%s %d %s", chrom, pos, id)
	}
	alt := "."
	if len(alleles) > 1 {
		alt = strings.Join(alleles[1:], ",")
	}
	return fmt.Sprintf("%s %d %s %s>%s", chrom, pos, id, alleles[0], alt)
}

func verifiedJSON(v *integrity.Verified) any {
	type entry struct {
		Position uint64  `json:"position"`
		Name     string  `json:"name"`
		Entry    []byte  `json:"entry"`
		Summary  *string `json:"summary,omitempty"`
	}
	out := struct {
		Valid   bool        `json:"valid"`
		Times   []time.Time `json:"times"`
		Signer  string      `json:"signer_key_id"`
		Entries []entry     `json:"entries"`
	}{Valid: true, Times: v.Times}
	id := crypt4gh.KeyID(v.Signer.SignatureAlgorithm(), v.Signer.PublicKey())
	out.Signer = fmt.Sprintf("%x", id)
	for _, e := range v.Entries {
		je := entry{Position: e.Position, Name: e.Name, Entry: e.Entry}
		if e.Entry != nil {
			s := describeEntry(v.Layout, e.Entry)
			je.Summary = &s
		}
		out.Entries = append(out.Entries, je)
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func (a *app) inspect(args []string) error {
	fs := newFlags("inspect")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("inspect takes one proof file")
	}
	p, err := readProof(fs.Arg(0))
	if err != nil {
		return err
	}
	b, err := p.MarshalJSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}

func (a *app) policy(args []string) error {
	fs := newFlags("policy")
	var notAfter string
	fs.StringVar(&notAfter, "not-after", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, notAfter)
	if err != nil {
		if t, err = time.Parse("2006-01-02", notAfter); err != nil {
			return usagef("--not-after: want a date (2036-01-01) or an RFC 3339 time")
		}
	}
	p := &integrity.Policy{Version: 1}
	for _, r := range [][2]string{
		{integrity.KindHash, "sha256"}, {integrity.KindHash, "sha3-256"}, {integrity.KindHash, "sha512"},
		{integrity.KindCommitment, commit.NameHM}, {integrity.KindCommitment, commit.NameSHA256Nonce},
		{integrity.KindSignature, "ed25519"}, {integrity.KindSignature, "mldsa65"}, {integrity.KindSignature, "mldsa87"},
		{integrity.KindTSA, "*"},
	} {
		p.Rules = append(p.Rules, integrity.Rule{Kind: r[0], Name: r[1], NotAfter: t})
	}
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(a.stdout, "%s\n", b)
	return err
}
