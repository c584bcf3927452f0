package main

import (
	"github.com/crypt4gh-go/crypt4gh"
)

// cmdPubkey prints the Crypt4GH public key of a private key (--sk) or
// converts a public key file (--pk, e.g. an ssh-ed25519 line) to the
// Crypt4GH form, like ssh-keygen -y.
func (a *app) cmdPubkey(args []string) error {
	fs := newFlagSet("pubkey")
	var sk, pk string
	fs.StringVar(&sk, "sk", "", "")
	fs.StringVar(&pk, "pk", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if sk != "" && pk != "" {
		return usageErrorf("pubkey", "give --sk or --pk, not both")
	}
	var r *crypt4gh.X25519Recipient
	if pk != "" {
		var err error
		if r, err = loadRecipient(pk); err != nil {
			return err
		}
	} else {
		path, source := a.secretKeyPath(sk, false)
		id, err := a.loadIdentity(path, source)
		if err != nil {
			return err
		}
		defer id.Zero()
		r = id.Recipient()
	}
	_, err := a.stdout.Write(crypt4gh.MarshalRecipient(r))
	return err
}

const pubkeyUsage = `Usage: crypt4gh pubkey [--sk PATH | --pk PATH]

Prints a Crypt4GH public key file on standard output: the public key of the
secret key --sk (default: $C4GH_SECRET_KEY, else ~/.c4gh/key), or the
Crypt4GH form of the public key --pk (an "ssh-ed25519 …" line is converted
to its X25519 key). OpenSSH ed25519 secret keys are accepted too.

Examples:
    crypt4gh pubkey --sk ~/.c4gh/key > my.pub
    crypt4gh pubkey --sk ~/.ssh/id_ed25519 > my.pub
    crypt4gh pubkey --pk ~/.ssh/id_ed25519.pub > my.pub

Exit status: 0 success, 2 usage error, 6 key file problem.
`
