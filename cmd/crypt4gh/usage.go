package main

const synopsis = `Usage:
    crypt4gh encrypt   [--sk PATH] --recipient_pk PATH... [--range START-END] [--header PATH] [-i IN] [-o OUT]
    crypt4gh decrypt   [--sk PATH] [--sender_pk PATH] [--range START-END] [-i IN] [-o OUT]
    crypt4gh rearrange [--sk PATH] --range START-END [-i IN] [-o OUT]
    crypt4gh reencrypt [--sk PATH] --recipient_pk PATH... [-t] [--header-only] [-i IN] [-o OUT]
    crypt4gh keygen    [-f] [--sk PATH] [--pk PATH] [--nocrypt] [-C COMMENT] [--kdf KDF] [--relock]
    crypt4gh pubkey    [--sk PATH | --pk PATH]
    crypt4gh version
    crypt4gh help [COMMAND]
`

const mainUsage = `crypt4gh encrypts, decrypts and re-encrypts GA4GH Crypt4GH files.

` + synopsis + `
Data is read from standard input and written to standard output, as with
the Python crypt4gh tool, unless -i IN or -o OUT name files. Run
"crypt4gh COMMAND --help" for the options and examples of a command.

Options taken by every data command:
    -i, --input IN      Read IN instead of standard input.
    -o, --output OUT    Write OUT instead of standard output. OUT is written
                        to a temporary file that replaces OUT only when the
                        command succeeds: a failed run leaves no partial
                        file and does not touch an existing OUT.
    -q, --quiet         No progress line. (A progress line is drawn on
                        standard error when it is a terminal, the input
                        size is known and the run takes more than a second.)

Options are written --name VALUE or --name=VALUE. The Python tool's
global options are accepted before the command: -h/--help, -v/--version
and --log FILE (ignored).

Byte ranges:
    --range START-END selects bytes START to END-1: START is included and
    END is excluded, [START, END). "START-" (or just "START") runs to the
    end. Note: the Python reference outputs [START, END-1) for
    --range START-END (it drops the last byte); this tool does not copy that
    quirk, so ask for one byte more than you would from Python.

Keys:
    The secret key is --sk PATH, else $C4GH_SECRET_KEY, else ~/.c4gh/key
    (encrypt uses no secret key unless --sk or $C4GH_SECRET_KEY is set: the
    file is then written with a fresh, throwaway key). Crypt4GH keys and
    OpenSSH ed25519 keys are accepted. The passphrase of an encrypted key is
    $C4GH_PASSPHRASE, else it is asked on the terminal; passphrases are never
    taken from the command line.

Environment:
    C4GH_SECRET_KEY     Default secret key (as --sk).
    C4GH_PUBLIC_KEY     Default public key file written by keygen (as --pk).
    C4GH_PASSPHRASE     Passphrase of the secret key (and of a new key).
                        Convenient for scripts; anyone who can read your
                        environment can read it.

Exit status:
    0   success
    1   other error (I/O error, refused overwrite, …)
    2   usage error (bad option or argument; encrypted data to or from a
        terminal)
    3   no header packet decrypts with the key: the file was not encrypted
        for it (or, with --sender_pk, not written by that sender)
    4   a data segment failed authentication: the file was tampered with
        or damaged
    5   malformed or truncated input: not a Crypt4GH file, unsupported
        version or method, malformed header, truncated file
    6   key file problem: wrong passphrase, encrypted key without a
        passphrase, malformed or missing key file
    130 interrupted (temporary output files are removed)

Errors are one line "crypt4gh: error: …" on standard error, possibly
followed by "crypt4gh: hint: …" lines.
`

const encryptUsage = `Usage: crypt4gh encrypt [--sk PATH] --recipient_pk PATH [--recipient_pk PATH]...
                        [--range START-END] [--header PATH] [-i IN] [-o OUT]

Encrypts IN (standard input) for every recipient and writes the Crypt4GH
file to OUT (standard output).

Options:
    --recipient_pk PATH  A recipient's public key (Crypt4GH .pub file or
                         "ssh-ed25519 …" line). Repeat it for several
                         recipients; any one of them can decrypt. -r is short.
    --sk PATH            Your secret key. The header packets are then written
                         with it, so readers can check that the file comes
                         from you (decrypt --sender_pk). Default:
                         $C4GH_SECRET_KEY, else a fresh throwaway key.
    --range START-END    Encrypt only bytes [START, END) of the input (END
                         excluded; "START-" runs to the end).
    --header PATH        Write the header to PATH and only the encrypted
                         payload to OUT (a detached header).
    -i, --input IN       Read IN instead of standard input.
    -o, --output OUT     Write OUT atomically instead of standard output.
    -q, --quiet          No progress line.

Encrypted data is not written to a terminal: redirect standard output or
use -o (-o - forces the terminal).

Examples:
    crypt4gh encrypt --recipient_pk bob.pub < reads.bam > reads.bam.c4gh
    crypt4gh encrypt --sk ~/.c4gh/key -r bob.pub -r carol.pub -i reads.bam -o reads.bam.c4gh
    crypt4gh encrypt -r bob.pub --header reads.header -i reads.bam -o reads.payload

Exit status: 0 success, 1 error, 2 usage error, 6 key file problem.
`

const decryptUsage = `Usage: crypt4gh decrypt [--sk PATH] [--sender_pk PATH] [--range START-END]
                        [--header PATH] [-i IN] [-o OUT]

Decrypts the Crypt4GH file IN (standard input) and writes the plaintext to
OUT (standard output). An edit list in the header is applied.

Options:
    --sk PATH            Your secret key. Default: $C4GH_SECRET_KEY, else
                         ~/.c4gh/key.
    --sender_pk PATH     Accept only header packets written with this public
                         key: checks that the file comes from its owner.
    --range START-END    Output only bytes [START, END) of the plaintext
                         (START included, END excluded; "START-" runs to the
                         end). The Python tool outputs [START, END-1) here.
                         With -i FILE only the segments of the range are read.
    --header PATH        Read the header from PATH and the payload from IN
                         (a header detached with encrypt --header).
    -i, --input IN       Read IN instead of standard input.
    -o, --output OUT     Write OUT (mode 0600 if new) instead of standard output.
    -q, --quiet          No progress line.

No plaintext of a segment is written before the segment authenticates.
When the output is standard output and a later segment fails, the earlier
plaintext has already been written: use -o OUT, which writes nothing at
all unless the whole file decrypts.

Examples:
    crypt4gh decrypt --sk ~/.c4gh/key < reads.bam.c4gh > reads.bam
    crypt4gh decrypt -i reads.bam.c4gh -o reads.bam --sender_pk alice.pub
    crypt4gh decrypt -i reads.bam.c4gh --range 1000-2000 | xxd
    cat reads.header reads.payload | crypt4gh decrypt > reads.bam

Exit status: 0 success, 1 error, 2 usage error, 3 not encrypted for this
key (or not from --sender_pk), 4 tampered or damaged data, 5 malformed or
truncated input, 6 key file problem.
`

const rearrangeUsage = `Usage: crypt4gh rearrange [--sk PATH] --range START-END [-i IN] [-o OUT]

Rewrites the Crypt4GH file IN (standard input) into one holding only the
byte range: a new header for your own key, with an edit list, followed by
the unchanged encrypted segments that hold the range. Nothing but the
header is decrypted.

Options:
    --sk PATH            Your secret key. Default: $C4GH_SECRET_KEY, else
                         ~/.c4gh/key.
    --range START-END    Keep bytes [START, END) of the plaintext (END
                         excluded; "START-" runs to the end). The Python tool
                         keeps [START, END-1) here.
    -i, --input IN       Read IN instead of standard input.
    -o, --output OUT     Write OUT atomically instead of standard output.
    -q, --quiet          No progress line.

Example:
    crypt4gh rearrange --range 65536-131072 -i reads.bam.c4gh -o part.c4gh
    crypt4gh decrypt -i part.c4gh        # the 65536 bytes of the range

Exit status: 0 success, 1 error, 2 usage error, 3 not encrypted for this
key, 5 malformed or truncated input, 6 key file problem.
`

const reencryptUsage = `Usage: crypt4gh reencrypt [--sk PATH] --recipient_pk PATH [--recipient_pk PATH]...
                          [-t] [--header-only] [-i IN] [-o OUT]

Gives the Crypt4GH file IN (standard input) to new recipients without
touching the data: the header packets your key opens are re-encrypted for
every recipient, and the encrypted payload is copied unchanged to OUT.

Options:
    --recipient_pk PATH  A new recipient's public key; repeat for several.
                         -r is short.
    --sk PATH            Your secret key. Default: $C4GH_SECRET_KEY, else
                         ~/.c4gh/key.
    -t, --trim           Drop the header packets your key cannot open
                         (those of other readers). Without it they are kept,
                         so the existing readers keep access.
    --header-only        IN is a header alone (a detached header); OUT is
                         the new header alone.
    -i, --input IN       Read IN instead of standard input.
    -o, --output OUT     Write OUT atomically instead of standard output.
    -q, --quiet          No progress line.

Examples:
    crypt4gh reencrypt --recipient_pk carol.pub < reads.bam.c4gh > for-carol.c4gh
    crypt4gh reencrypt -r carol.pub --trim -i reads.bam.c4gh -o for-carol.c4gh
    crypt4gh reencrypt -r carol.pub --header-only -i reads.header -o carol.header

Exit status: 0 success, 1 error, 2 usage error, 3 not encrypted for this
key, 5 malformed input, 6 key file problem.
`

const keygenUsage = `Usage: crypt4gh keygen [-f] [--sk PATH] [--pk PATH] [--nocrypt] [-C COMMENT]
                       [--kdf scrypt|bcrypt|pbkdf2_hmac_sha256] [--relock]

Generates a Crypt4GH key pair, like the Python crypt4gh-keygen. The private
key file is created with mode 0600; both files are written atomically, and
missing directories are created (mode 0700).

Options:
    --sk PATH       Private key file. Default: $C4GH_SECRET_KEY, else
                    ~/.c4gh/key.
    --pk PATH       Public key file. Default: $C4GH_PUBLIC_KEY, else
                    ~/.c4gh/key.pub.
    --nocrypt       Do not encrypt the private key.
    -C COMMENT      Comment stored in the private key file.
    --kdf KDF       Passphrase hash: scrypt (default), bcrypt or
                    pbkdf2_hmac_sha256.
    -f, --force     Overwrite existing key files without asking. Without
                    it, existing files are overwritten only after a "y" on
                    the terminal.
    --relock        Re-encrypt the existing private key --sk under a new
                    passphrase asked on the terminal (with --nocrypt: store
                    it unencrypted).
    -q, --quiet     Print nothing on success.

The passphrase is $C4GH_PASSPHRASE if set, else it is asked twice on the
terminal (an empty passphrase stores the key unencrypted). It is never
taken from the command line.

Examples:
    crypt4gh keygen                           # ~/.c4gh/key and ~/.c4gh/key.pub
    crypt4gh keygen --sk alice.sec --pk alice.pub -C alice@example.org
    C4GH_PASSPHRASE=… crypt4gh keygen -f --sk alice.sec --pk alice.pub

Exit status: 0 success, 1 error (file exists, passphrases differ, no
passphrase), 2 usage error, 6 key file problem (--relock).
`

const versionUsage = `Usage: crypt4gh version

Prints the version of crypt4gh. "crypt4gh --version" and "crypt4gh -v" do
the same.
`

const helpUsage = `Usage: crypt4gh help [COMMAND]

Prints the usage of crypt4gh, or of COMMAND.
`
