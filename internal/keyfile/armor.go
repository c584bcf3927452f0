package keyfile

import (
	"bytes"
	"encoding/base64"
)

// block is one decoded "-----BEGIN <label>-----" ... "-----END <label>-----"
// armour block.
type block struct {
	label string
	body  []byte
}

// decodeArmor finds the first armour block in data and decodes its body.
// Text before and after the block, CRLF line endings, blank lines and
// whitespace around lines are accepted. The body must be canonical, padded
// standard base64 with nothing after the padding; armour headers
// ("Key: value" lines) are not supported.
func decodeArmor(data []byte) (block, error) {
	lines := bytes.Split(data, []byte("\n"))
	start := -1
	var label string
	for i, line := range lines {
		if l, ok := armorLabel(line, "-----BEGIN "); ok {
			start, label = i, l
			break
		}
	}
	if start < 0 {
		return block{}, errorf(ErrMalformed, "no -----BEGIN ...----- line found (not a Crypt4GH key file)")
	}

	// The base64 text is collected in a buffer we can wipe afterwards.
	var b64 []byte
	defer func() { clear(b64) }()
	for _, line := range lines[start+1:] {
		line = bytes.TrimSpace(line)
		if end, ok := armorLabel(line, "-----END "); ok {
			if end != label {
				return block{}, errorf(ErrMalformed, "armour END label %q does not match BEGIN label %q", end, label)
			}
			if len(b64) == 0 {
				return block{}, errorf(ErrMalformed, "empty key body")
			}
			enc := base64.StdEncoding.Strict()
			body := make([]byte, enc.DecodedLen(len(b64)))
			n, err := enc.Decode(body, b64)
			if err != nil {
				clear(body)
				return block{}, errorf(ErrMalformed, "the key body is not valid base64")
			}
			return block{label: label, body: body[:n]}, nil
		}
		if len(b64)+len(line) > cap(b64) {
			grown := make([]byte, len(b64), 2*(len(b64)+len(line)))
			copy(grown, b64)
			clear(b64)
			b64 = grown
		}
		b64 = append(b64, line...)
	}
	return block{}, errorf(ErrMalformed, "missing -----END %s----- line", label)
}

// armorLabel reports whether line (after trimming white space) is
// prefix + label + "-----" with a non-empty label, and returns the label.
func armorLabel(line []byte, prefix string) (string, bool) {
	line = bytes.TrimSpace(line)
	if !bytes.HasPrefix(line, []byte(prefix)) || !bytes.HasSuffix(line, []byte("-----")) ||
		len(line) <= len(prefix)+len("-----") {
		return "", false
	}
	return string(line[len(prefix) : len(line)-len("-----")]), true
}

// encodeArmor returns the armoured form of body: BEGIN line, the base64 body
// on one line (as Python crypt4gh writes it) and END line, each ending in LF.
func encodeArmor(label string, body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(2*len(label) + base64.StdEncoding.EncodedLen(len(body)) + 64) // no regrowth: no stray copies
	buf.WriteString("-----BEGIN " + label + "-----\n")
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(body)))
	base64.StdEncoding.Encode(enc, body)
	buf.Write(enc)
	clear(enc)
	buf.WriteString("\n-----END " + label + "-----\n")
	return buf.Bytes()
}
