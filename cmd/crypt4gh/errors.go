package main

import (
	"errors"

	"github.com/crypt4gh-go/crypt4gh"
)

// exitCode classifies err with the library's sentinel errors.
func exitCode(err error) int {
	var ce *cliError
	if errors.As(err, &ce) && ce.code != 0 {
		return ce.code
	}
	switch {
	case errors.Is(err, crypt4gh.ErrIncorrectPassphrase),
		errors.Is(err, crypt4gh.ErrPassphraseRequired),
		errors.Is(err, crypt4gh.ErrMalformedKey):
		return exitKey
	case errors.Is(err, crypt4gh.ErrNoMatchingKey):
		return exitNoKey
	case errors.Is(err, crypt4gh.ErrAuthentication):
		return exitAuth
	case errors.Is(err, crypt4gh.ErrNotCrypt4GH),
		errors.Is(err, crypt4gh.ErrUnsupportedVersion),
		errors.Is(err, crypt4gh.ErrMalformedHeader),
		errors.Is(err, crypt4gh.ErrUnsupported),
		errors.Is(err, crypt4gh.ErrTruncated):
		return exitFormat
	}
	return exitError
}

// defaultHints returns the hints printed for an error that carries none.
func defaultHints(err error, code int) []string {
	switch code {
	case exitNoKey:
		return []string{"was the file encrypted for this key? check --sk (or C4GH_SECRET_KEY)"}
	case exitFormat:
		switch {
		case errors.Is(err, crypt4gh.ErrNotCrypt4GH):
			return []string{"is the input a Crypt4GH file? (an empty input, or a plaintext file, gives this error)"}
		case errors.Is(err, crypt4gh.ErrTruncated):
			return []string{"the file is incomplete: was a copy or download interrupted?"}
		}
	case exitKey:
		switch {
		case errors.Is(err, crypt4gh.ErrIncorrectPassphrase):
			return []string{"check the passphrase"}
		case errors.Is(err, crypt4gh.ErrMalformedKey):
			return []string{"key files must be Crypt4GH keys (crypt4gh keygen) or OpenSSH ed25519 keys"}
		}
	}
	return nil
}
