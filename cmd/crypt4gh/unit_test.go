package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
)

func TestParseRange(t *testing.T) {
	tests := []struct {
		in         string
		start, end int64
		err        string
	}{
		{"0-1", 0, 1, ""},
		{"65530-65540", 65530, 65540, ""},
		{"100-", 100, -1, ""},
		{"100", 100, -1, ""},
		{" 5-9 ", 5, 9, ""},
		{"5-5", 0, 0, "END must be greater than START"},
		{"9-5", 0, 0, "END must be greater than START"},
		{"-5", 0, 0, "missing START"},
		{"a-5", 0, 0, "not a non-negative integer"},
		{"1-+5", 0, 0, "not a non-negative integer"},
		{"1-2-3", 0, 0, "not a non-negative integer"},
		{"99999999999999999999-", 0, 0, "out of range"},
	}
	for _, tt := range tests {
		start, end, err := parseRange(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseRange(%q): error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || start != tt.start || end != tt.end {
			t.Errorf("parseRange(%q) = %d, %d, %v; want %d, %d", tt.in, start, end, err, tt.start, tt.end)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		code int
	}{
		{errors.New("boom"), exitError},
		{usageErrorf("decrypt", "bad"), exitUsage},
		{&crypt4gh.NoIdentityMatchError{Packets: 1}, exitNoKey},
		{fmt.Errorf("x: %w", &crypt4gh.AuthError{Index: 3}), exitAuth},
		{crypt4gh.ErrNotCrypt4GH, exitFormat},
		{crypt4gh.ErrUnsupportedVersion, exitFormat},
		{crypt4gh.ErrMalformedHeader, exitFormat},
		{crypt4gh.ErrUnsupported, exitFormat},
		{crypt4gh.ErrTruncated, exitFormat},
		{crypt4gh.ErrIncorrectPassphrase, exitKey},
		{noPassphrase(), exitKey},
		{crypt4gh.ErrMalformedKey, exitKey},
		{withHint(crypt4gh.ErrNoMatchingKey, "h"), exitNoKey},
		{withCode(errors.New("missing"), exitKey), exitKey},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.code {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.code)
		}
	}
}

func TestRenderProgress(t *testing.T) {
	line := renderProgress(64<<20, 256<<20, 2*time.Second, 100)
	for _, want := range []string{" 25%", "64.0 MiB / 256.0 MiB", "32.0 MiB/s", "ETA 0:06", "[=========="} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	if len(line) > 100 {
		t.Errorf("progress line is %d columns, want at most 100", len(line))
	}
	// Narrow terminals drop the bar.
	if line := renderProgress(1, 2, time.Second, 30); strings.Contains(line, "[") {
		t.Errorf("narrow progress line has a bar: %q", line)
	}
	if got := formatDuration(3*time.Hour + 2*time.Minute + 1*time.Second); got != "3:02:01" {
		t.Errorf("formatDuration = %q", got)
	}
	if got := formatBytes(1023); got != "1023 B" {
		t.Errorf("formatBytes = %q", got)
	}
}

func TestFlagMessage(t *testing.T) {
	fs := newFlagSet("decrypt")
	var r rangeFlag
	fs.Var(&r, "range", "")
	fs.String("sk", "", "")
	for in, want := range map[string]string{
		"--bogus":     "unknown option --bogus",
		"-x":          "unknown option -x",
		"--sk":        "option --sk needs a value",
		"--range=1-1": `invalid value "1-1" for --range: END must be greater than START (END is excluded)`,
	} {
		err := parseFlags(fs, []string{in})
		if err == nil || err.Error() != want {
			t.Errorf("parseFlags(%q) = %v, want %q", in, err, want)
		}
		if exitCode(err) != exitUsage {
			t.Errorf("parseFlags(%q): exit code %d, want %d", in, exitCode(err), exitUsage)
		}
	}
}
