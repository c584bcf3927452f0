package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

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

// registerDataFlags adds the options every data command takes: -i, -o,
// -q, --no-pq-warning (which silences the command's post-quantum warning)
// and --sk.
func (a *app) registerDataFlags(fs *flag.FlagSet, iof *ioFlags, sk *string) {
	iof.register(fs)
	fs.BoolVar(&a.noPQWarning, "no-pq-warning", false, "")
	fs.StringVar(sk, "sk", "", "")
}

// registerRecipients adds --recipient_pk, with the Python spelling, the
// dashed one and -r.
func registerRecipients(fs *flag.FlagSet, r *stringsFlag) {
	fs.Var(r, "recipient_pk", "")
	fs.Var(r, "recipient-pk", "")
	fs.Var(r, "r", "")
}

// optString is a string flag that records whether it was given.
type optString struct {
	set bool
	v   string
}

func (o *optString) String() string { return o.v }
func (o *optString) Set(v string) error {
	o.set, o.v = true, v
	return nil
}

// none reports a value that removes a setting ("none", or empty).
func isNone(v string) bool { return v == "" || v == "none" || v == "never" }

// parseWhen parses an --expires value: an RFC 3339 time
// (2030-01-31T12:00:00Z), a date (2030-01-31, midnight UTC), or a
// duration from now: a number and a unit among s, m, h, d (days) and w
// (weeks), or a Go duration such as 1h30m. The result is whole seconds
// (expiry packets hold Unix seconds), rounded up.
func parseWhen(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return ceilSecond(t), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	var d time.Duration
	if n, unit, ok := cutUnit(v); ok && (unit == "d" || unit == "w") {
		day := 24 * time.Hour
		if unit == "w" {
			day *= 7
		}
		if n > int64(math.MaxInt64/day) {
			return time.Time{}, fmt.Errorf("%q is too far in the future", v)
		}
		d = time.Duration(n) * day
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return time.Time{}, errors.New("want an RFC 3339 time (2030-01-31T12:00:00Z), a date (2030-01-31) or a duration from now (30d, 12h, 2w, 90m)")
		}
	}
	if d <= 0 {
		return time.Time{}, errors.New("the duration must be positive")
	}
	return ceilSecond(now.Add(d)).UTC(), nil
}

// cutUnit splits "30d" into 30 and "d".
func cutUnit(v string) (int64, string, bool) {
	if len(v) < 2 {
		return 0, "", false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, "", false
	}
	return n, v[len(v)-1:], true
}

func ceilSecond(t time.Time) time.Time {
	if t.Nanosecond() != 0 {
		t = t.Truncate(time.Second).Add(time.Second)
	}
	return t
}

// checkLink validates a --link URI as the v2 profile allows it.
func checkLink(uri string) error {
	if err := crypt4gh.CheckLink(uri); err != nil {
		return errors.New(cleanMessage(err))
	}
	if _, err := url.Parse(uri); err != nil {
		return fmt.Errorf("not a URI: %v", err)
	}
	return nil
}

// positiveInt is an integer flag that must be at least 1 when given.
type positiveInt struct {
	set bool
	n   int64
}

func (p *positiveInt) String() string { return strconv.FormatInt(p.n, 10) }
func (p *positiveInt) Set(v string) error {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return errors.New("want an integer of at least 1")
	}
	p.set, p.n = true, n
	return nil
}
