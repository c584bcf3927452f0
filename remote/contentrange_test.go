package remote

import (
	"errors"
	"fmt"
	"testing"
)

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in   string
		want ContentRange
		ok   bool
	}{
		{"bytes 0-0/1", ContentRange{0, 0, 1, false}, true},
		{"bytes 10-19/1000", ContentRange{10, 19, 1000, false}, true},
		{"bytes 10-19/*", ContentRange{10, 19, -1, false}, true},
		{"bytes */1000", ContentRange{0, 0, 1000, true}, true},
		{"bytes */0", ContentRange{0, 0, 0, true}, true},
		{"bytes 0-4611686018427387903/4611686018427387904", ContentRange{0, 1<<62 - 1, 1 << 62, false}, true},
		{"bytes 0-0/4611686018427387905", ContentRange{}, false},
		{"bytes 0-0/99999999999999999999", ContentRange{}, false},
		{"bytes 0-0/9223372036854775808", ContentRange{}, false},
		{"bytes -1-0/10", ContentRange{}, false},
		{"bytes 5-4/10", ContentRange{}, false},
		{"bytes 0-10/10", ContentRange{}, false},
		{"bytes */*", ContentRange{}, false},
		{"bytes 0-1", ContentRange{}, false},
		{"bytes 1/10", ContentRange{}, false},
		{"bytes +1-2/10", ContentRange{}, false},
		{"bytes 1- 2/10", ContentRange{}, false},
		{"bytes 0x1-2/10", ContentRange{}, false},
		{"items 0-1/10", ContentRange{}, false},
		{"Bytes 0-1/10", ContentRange{}, false},
		{"", ContentRange{}, false},
		{"bytes -/", ContentRange{}, false},
	}
	for _, tt := range tests {
		got, err := ParseContentRange(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseContentRange(%q): err = %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadResponse) {
			t.Errorf("ParseContentRange(%q): %v does not wrap ErrBadResponse", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("ParseContentRange(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-0/1", "bytes 10-19/1000", "bytes 10-19/*", "bytes */0",
		"bytes 0-0/99999999999999999999", "bytes -1-0/10", "bytes 5-4/10", "bytes 0-4611686018427387903/4611686018427387904"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cr, err := ParseContentRange(s)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("error %v does not wrap ErrBadResponse", err)
			}
			return
		}
		// What parses is canonical: printing it gives the input back.
		var canon string
		size := "*"
		if cr.Size >= 0 {
			size = fmt.Sprint(cr.Size)
		}
		if cr.Unsatisfied {
			canon = "bytes */" + size
		} else {
			canon = fmt.Sprintf("bytes %d-%d/%s", cr.First, cr.Last, size)
		}
		if canon != s && !leadingZeros(s) {
			t.Fatalf("%q parsed as %+v, which prints as %q", s, cr, canon)
		}
		if cr.First < 0 || cr.Last < cr.First || cr.Size > maxSize || cr.Last > maxSize ||
			(cr.Size >= 0 && !cr.Unsatisfied && cr.Last >= cr.Size) || (cr.Unsatisfied && cr.Size < 0) {
			t.Fatalf("%q parsed as an impossible range %+v", s, cr)
		}
	})
}

// leadingZeros reports a number written with a leading zero (accepted,
// not canonical).
func leadingZeros(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '0' && (i == 0 || s[i-1] < '0' || s[i-1] > '9') && s[i+1] >= '0' && s[i+1] <= '9' {
			return true
		}
	}
	return false
}
