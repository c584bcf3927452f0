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
	case errors.Is(err, crypt4gh.ErrNotPostQuantum),
		errors.Is(err, crypt4gh.ErrNeedsRandomAccess):
		return exitUsage
	case errors.Is(err, crypt4gh.ErrSignature):
		return exitSig
	case errors.Is(err, crypt4gh.ErrExpired):
		return exitExpiry
	case errors.Is(err, crypt4gh.ErrNoMatchingKey):
		return exitNoKey
	case errors.Is(err, crypt4gh.ErrAuthentication),
		errors.Is(err, crypt4gh.ErrSegmentOrder):
		return exitAuth
	case errors.Is(err, crypt4gh.ErrNotCrypt4GH),
		errors.Is(err, crypt4gh.ErrUnsupportedVersion),
		errors.Is(err, crypt4gh.ErrMalformedHeader),
		errors.Is(err, crypt4gh.ErrHeaderMAC),
		errors.Is(err, crypt4gh.ErrEditListLimit),
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
	case exitUsage:
		switch {
		case errors.Is(err, crypt4gh.ErrNotPostQuantum):
			return []string{"--pq-only takes hybrid recipient keys only (crypt4gh keygen --pq); drop it to include classical recipients"}
		case errors.Is(err, crypt4gh.ErrNeedsRandomAccess):
			return []string{"give the file with -i FILE instead of standard input"}
		}
	case exitAuth:
		if errors.Is(err, crypt4gh.ErrSegmentOrder) {
			return []string{"the encrypted segments were reordered, duplicated, dropped or extended: the file was tampered with or badly assembled"}
		}
	case exitSig:
		return []string{"the file was not signed by the --verify key, or its signature does not verify: do not trust its origin"}
	case exitExpiry:
		return []string{"--ignore-expiry decrypts it anyway (the expiry binds only cooperating software)"}
	case exitFormat:
		switch {
		case errors.Is(err, crypt4gh.ErrNotCrypt4GH):
			return []string{"is the input a Crypt4GH file? (an empty input, or a plaintext file, gives this error)"}
		case errors.Is(err, crypt4gh.ErrHeaderMAC):
			return []string{"the header was modified after it was written (packets added, removed or changed): do not trust it"}
		case errors.Is(err, crypt4gh.ErrEditListLimit):
			return []string{"the edit list makes the reader fetch and discard many segments; raise --max-skipped-segments if the file is trusted"}
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
