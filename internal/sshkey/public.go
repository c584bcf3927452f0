package sshkey

import (
	"encoding/base64"
	"strings"
)

const (
	rfc4716Begin = "---- BEGIN SSH2 PUBLIC KEY ----"
	rfc4716End   = "---- END SSH2 PUBLIC KEY ----"
)

// IsPublicKey reports whether data looks like an OpenSSH public key of any
// type: an authorized_keys line ("<type> <base64> [comment]" with a type
// starting "ssh-", "ecdsa-" or "sk-") or an RFC 4716 block, with valid base64.
// It does not check the key type or the key itself.
func IsPublicKey(data []byte) bool {
	_, _, _, err := decodePublic(data)
	return err == nil
}

// ParsePublicKey decodes an OpenSSH Ed25519 public key and returns the X25519
// public key it converts to and the key's comment ("" if none). It accepts a
// single authorized_keys line ("ssh-ed25519 AAAA... comment"; blank lines
// and "#" comment lines around it are ignored, CRLF is accepted) or an
// RFC 4716 "---- BEGIN SSH2 PUBLIC KEY ----" block (whose Comment header
// becomes the comment). Key options before the type are not supported, nor
// files with several keys. The Ed25519 point must be canonically encoded, on
// the curve, not of small order and in the prime-order subgroup, as libsodium
// requires.
func ParsePublicKey(data []byte) (x25519Public [32]byte, comment string, err error) {
	blob, keyType, comment, err := decodePublic(data)
	if err != nil {
		return x25519Public, "", err
	}
	ed, err := parsePublicBlob(blob, keyType)
	if err != nil {
		return x25519Public, "", err
	}
	x25519Public, err = edwardsToMontgomery(ed)
	if err != nil {
		return x25519Public, "", err
	}
	return x25519Public, comment, nil
}

// ParseEd25519PublicKey decodes an OpenSSH Ed25519 public key like
// ParsePublicKey, with the same accepted forms, but returns the 32-byte
// Ed25519 public key itself, for verifying signatures, and the comment. The
// encoding must be canonical and on the curve; unlike ParsePublicKey it does
// not require the prime-order subgroup (Ed25519 verification decides).
func ParseEd25519PublicKey(data []byte) (ed25519Public [32]byte, comment string, err error) {
	blob, keyType, comment, err := decodePublic(data)
	if err != nil {
		return ed25519Public, "", err
	}
	ed, err := parsePublicBlob(blob, keyType)
	if err != nil {
		return ed25519Public, "", err
	}
	if _, _, err := decodeEdwards(ed); err != nil {
		return ed25519Public, "", err
	}
	copy(ed25519Public[:], ed)
	return ed25519Public, comment, nil
}

// decodePublic finds the public key in data and returns its wire-format blob,
// the key type named outside the blob ("" for RFC 4716) and the comment.
func decodePublic(data []byte) (blob []byte, keyType, comment string, err error) {
	lines := strings.Split(string(data), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	for i, line := range lines {
		if line == rfc4716Begin {
			return decodeRFC4716(lines[i+1:])
		}
	}

	var keyLine string
	for _, line := range lines {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if keyLine != "" {
			return nil, "", "", errorf(ErrMalformed, "more than one line of key data (only one public key per file is supported)")
		}
		keyLine = line
	}
	fields := strings.Fields(keyLine)
	if len(fields) < 2 || !looksLikeKeyType(fields[0]) {
		return nil, "", "", errorf(ErrMalformed, "not an OpenSSH public key (expected \"ssh-ed25519 AAAA... comment\")")
	}
	blob, err = base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return nil, "", "", errorf(ErrMalformed, "the public key is not valid base64")
	}
	rest := strings.TrimSpace(keyLine[len(fields[0]):])
	comment = strings.TrimSpace(rest[len(fields[1]):])
	return blob, fields[0], comment, nil
}

// looksLikeKeyType reports whether s has the form of an SSH public key type.
func looksLikeKeyType(s string) bool {
	for _, p := range []string{"ssh-", "ecdsa-", "sk-"} {
		if strings.HasPrefix(s, p) && len(s) > len(p) {
			return true
		}
	}
	return false
}

// decodeRFC4716 decodes the lines after the BEGIN line of an RFC 4716 block:
// headers ("Tag: value", continued by a trailing backslash), then base64
// lines up to the END line.
func decodeRFC4716(lines []string) (blob []byte, keyType, comment string, err error) {
	i := 0
	for ; i < len(lines) && strings.Contains(lines[i], ":"); i++ {
		header := lines[i]
		for strings.HasSuffix(header, "\\") && i+1 < len(lines) {
			i++
			header = header[:len(header)-1] + lines[i]
		}
		tag, value, _ := strings.Cut(header, ":")
		if strings.EqualFold(strings.TrimSpace(tag), "Comment") {
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			comment = value
		}
	}
	var b64 strings.Builder
	for ; i < len(lines); i++ {
		if lines[i] == rfc4716End {
			blob, err := base64.StdEncoding.DecodeString(b64.String())
			if err != nil || len(blob) == 0 {
				return nil, "", "", errorf(ErrMalformed, "the SSH2 public key body is not valid base64")
			}
			return blob, "", comment, nil
		}
		b64.WriteString(lines[i])
	}
	return nil, "", "", errorf(ErrMalformed, "missing %q line", rfc4716End)
}
