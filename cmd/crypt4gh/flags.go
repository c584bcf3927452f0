package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/crypt4gh-go/crypt4gh"
)

// newFlagSet returns a FlagSet for a subcommand that reports errors to us
// instead of printing them.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args, turning flag errors into usage errors and -h
// into errHelp. Subcommands take no positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageErrorf(fs.Name(), "%s", flagMessage(err))
	}
	if fs.NArg() > 0 {
		arg := fs.Arg(0)
		if arg == "-h" || arg == "--help" || arg == "help" {
			return errHelp
		}
		return usageErrorf(fs.Name(), "unexpected argument %q (read a file with -i FILE)", arg)
	}
	return nil
}

// flagMessage rewrites the flag package's messages with the option
// spelling of our usage text (--name, or -n for one letter).
func flagMessage(err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return "unknown option " + optName(rest)
	}
	if rest, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return "option " + optName(rest) + " needs a value"
	}
	if before, after, ok := strings.Cut(msg, " for flag -"); ok {
		name, detail, _ := strings.Cut(after, ": ")
		return before + " for " + optName(name) + ": " + detail
	}
	return msg
}

func optName(name string) string {
	name = strings.TrimLeft(name, "-")
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// stringsFlag is a repeatable string flag.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ", ") }
func (s *stringsFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty path")
	}
	*s = append(*s, v)
	return nil
}

// rangeFlag is a --range START-END value: bytes START (included) to END
// (excluded); "START-" or "START" mean to the end.
type rangeFlag struct {
	set        bool
	start, end int64 // end < 0: to the end
}

func (r *rangeFlag) String() string {
	if !r.set {
		return ""
	}
	if r.end < 0 {
		return fmt.Sprintf("%d-", r.start)
	}
	return fmt.Sprintf("%d-%d", r.start, r.end)
}

func (r *rangeFlag) Set(v string) error {
	start, end, err := parseRange(v)
	if err != nil {
		return err
	}
	r.set, r.start, r.end = true, start, end
	return nil
}

func (r *rangeFlag) Range() crypt4gh.Range { return crypt4gh.Range{Start: r.start, End: r.end} }

// parseRange parses START-END, START- or START.
func parseRange(v string) (start, end int64, err error) {
	s, e, hasDash := strings.Cut(strings.TrimSpace(v), "-")
	start, err = parseOffset(s)
	if err != nil {
		return 0, 0, fmt.Errorf("want START-END, START- or START with byte offsets: %v", err)
	}
	if !hasDash || e == "" {
		return start, -1, nil
	}
	end, err = parseOffset(e)
	if err != nil {
		return 0, 0, fmt.Errorf("want START-END, START- or START with byte offsets: %v", err)
	}
	if end <= start {
		return 0, 0, errors.New("END must be greater than START (END is excluded)")
	}
	return start, end, nil
}

func parseOffset(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("missing START")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a non-negative integer", s)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return n, nil
}

// ioFlags are the input/output options every data command has.
type ioFlags struct {
	input, output string
	quiet         bool
}

func (f *ioFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.input, "i", "", "")
	fs.StringVar(&f.input, "input", "", "")
	fs.StringVar(&f.output, "o", "", "")
	fs.StringVar(&f.output, "output", "", "")
	fs.BoolVar(&f.quiet, "q", false, "")
	fs.BoolVar(&f.quiet, "quiet", false, "")
}
