package remote

import (
	"fmt"
	"strings"
)

// maxSize bounds the sizes and offsets accepted from a server, so that
// offset arithmetic cannot overflow an int64.
const maxSize = 1 << 62

// ContentRange is a parsed Content-Range header (RFC 9110, section 14.4)
// of unit bytes.
type ContentRange struct {
	// First and Last are the first and last byte positions (inclusive);
	// both are 0 when Unsatisfied.
	First, Last int64
	// Size is the complete length, -1 if unknown ("bytes 0-9/*").
	Size int64
	// Unsatisfied marks "bytes */SIZE", the answer of a 416.
	Unsatisfied bool
}

// ParseContentRange parses a Content-Range of unit bytes. It rejects
// anything but plain decimal numbers, ranges that end before they start
// or past the size, and numbers over 2^62, with an error wrapping
// [ErrBadResponse].
func ParseContentRange(s string) (ContentRange, error) {
	bad := func(why string) (ContentRange, error) {
		return ContentRange{}, fmt.Errorf("%w: Content-Range %q: %s", ErrBadResponse, truncate(s, 80), why)
	}
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return bad("not a byte range")
	}
	rng, size, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("no size")
	}
	cr := ContentRange{Size: -1}
	if size != "*" {
		n, err := parseDecimal(size)
		if err != nil {
			return bad("size " + err.Error())
		}
		cr.Size = n
	}
	if rng == "*" {
		if cr.Size < 0 {
			return bad("neither range nor size")
		}
		cr.Unsatisfied = true
		return cr, nil
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return bad("no range")
	}
	var err error
	if cr.First, err = parseDecimal(a); err != nil {
		return bad("first byte " + err.Error())
	}
	if cr.Last, err = parseDecimal(b); err != nil {
		return bad("last byte " + err.Error())
	}
	if cr.Last < cr.First {
		return bad("the range ends before it starts")
	}
	if cr.Size >= 0 && cr.Last >= cr.Size {
		return bad("the range ends past the size")
	}
	return cr, nil
}

// parseDecimal parses a non-negative decimal number of at most 2^62.
func parseDecimal(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("is missing")
	}
	if len(s) > 19 {
		return 0, fmt.Errorf("is too large")
	}
	var n uint64 // 19 decimal digits fit in a uint64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("is not a decimal number")
		}
		n = n*10 + uint64(c-'0')
	}
	if n > maxSize {
		return 0, fmt.Errorf("is too large")
	}
	return int64(n), nil
}

// truncate shortens server text quoted in an error.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
