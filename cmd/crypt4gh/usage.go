package main

const synopsis = `Usage:
    crypt4gh encrypt   [--sk PATH] --recipient_pk PATH...
                       [--sealed | --aes | --pr736] [--sign PATH]...
                       [--expires WHEN] [--link URI] [--pq-only]
                       [--range START-END] [--header PATH] [-i IN] [-o OUT]
    crypt4gh decrypt   [--sk PATH] [--sender_pk PATH] [--verify PATH]...
                       [--range START-END] [--header PATH] [--follow-link]
                       [--ignore-expiry] [--max-skipped-segments N]
                       [-i IN] [-o OUT]
    crypt4gh rearrange [--sk PATH] --range START-END [-i IN] [-o OUT]
    crypt4gh reencrypt [--sk PATH] --recipient_pk PATH... [-t] [--header-only]
                       [--expires WHEN] [--link URI] [-i IN] [-o OUT]
    crypt4gh repoint   --link URI [--sk PATH] [--recipient_pk PATH]...
                       [-i IN] [-o OUT]
    crypt4gh inspect   [--sk PATH] [--json] [-i IN]
    crypt4gh download  [--token-file PATH] [--sk PATH] [--range START-END]
                       [--region REGION] [--class header] [--format FMT]
                       [--plain-http] [-o OUT] URL
    crypt4gh keygen    [-f] [--pq | --sign ALG] [--sk PATH] [--pk PATH]
                       [--nocrypt] [-C COMMENT] [--kdf KDF] [--relock]
    crypt4gh pubkey    [--sk PATH | --pk PATH]
    crypt4gh version
    crypt4gh help [COMMAND]
`

const mainUsage = `crypt4gh encrypts, decrypts and re-encrypts GA4GH Crypt4GH files.

` + synopsis + `
Data is read from standard input and written to standard output, as with
the Python crypt4gh tool, unless -i IN or -o OUT name files. Run
"crypt4gh COMMAND --help" for the options and examples of a command.

Options taken by every data command (encrypt, decrypt, rearrange,
reencrypt, repoint):
    -i, --input IN      Read IN instead of standard input.
    -o, --output OUT    Write OUT instead of standard output. OUT is written
                        to a temporary file that replaces OUT only when the
                        command succeeds: a failed run leaves no partial
                        file and does not touch an existing OUT.
    -q, --quiet         No progress line. (A progress line is drawn on
                        standard error when it is a terminal, the input
                        size is known and the run takes more than a second.)
    --no-pq-warning     No post-quantum warning (see below).

Options are written --name VALUE or --name=VALUE. The Python tool's
global options are accepted before the command: -h/--help, -v/--version
and --log FILE (ignored).

Which format to use:
    (default)           Crypt4GH version 1, the GA4GH standard: every peer
                        reads it.
    --sealed            v2 sealed stream: truncation, reordering and header
                        tampering are detected. Needs this tool or another
                        v2 reader. Any v2 option below implies it.
    --aes               --sealed with AES-256-GCM, where FIPS 140-3 requires
                        AES.
    keygen --pq keys, encrypt --pq-only
                        Hybrid X25519 + ML-KEM-1024 recipients, against
                        "store now, decrypt later" quantum attacks.
    --sign KEY          Provenance: readers check it with decrypt --verify;
                        it survives re-encryption by an archive.
    --expires, --link   Time-limited files, and headers whose payload is
                        stored elsewhere (detached).
    --pr736             Only to exchange files with hts-specs PR 736 tools.

Byte ranges:
    --range START-END selects bytes START to END-1: START is included and
    END is excluded, [START, END). "START-" (or just "START") runs to the
    end. Note: the Python reference outputs [START, END-1) for
    --range START-END (it drops the last byte); this tool does not copy that
    quirk, so ask for one byte more than you would from Python.

Keys:
    The secret key is --sk PATH, else $C4GH_SECRET_KEY, else ~/.c4gh/key
    (encrypt uses no secret key unless --sk or $C4GH_SECRET_KEY is set: the
    file is then written with a fresh, throwaway key). Crypt4GH keys, hybrid
    post-quantum keys (keygen --pq) and OpenSSH ed25519 keys are accepted.
    The passphrase of an encrypted key (also of a --sign key) is
    $C4GH_PASSPHRASE, else it is asked on the terminal; passphrases are
    never taken from the command line.

Post-quantum warning:
    When a command writes or reads a header that a classical (X25519)
    packet opens, it warns on standard error, after any error line, that
    the file may be exposed to "store now, decrypt later" attacks.
    --no-pq-warning or C4GH_NO_PQ_WARNING=1 silences it.

Environment:
    C4GH_SECRET_KEY     Default secret key (as --sk).
    C4GH_PUBLIC_KEY     Default public key file written by keygen (as --pk).
    C4GH_PASSPHRASE     Passphrase of the secret key (and of a new key).
                        Convenient for scripts; anyone who can read your
                        environment can read it.
    C4GH_NO_PQ_WARNING  Set (to anything but 0) to silence the
                        post-quantum warning.
    C4GH_TOKEN          Access token of download (as --token-file).

Exit status:
    0   success
    1   other error (I/O error, refused overwrite, …)
    2   usage error (bad option or argument; encrypted data to or from a
        terminal; --pq-only with a classical recipient; a detached payload
        without --follow-link)
    3   no header packet decrypts with the key: the file was not encrypted
        for it (or, with --sender_pk, not written by that sender)
    4   a data segment failed authentication: the file was tampered with
        or damaged (including v2 segments reordered, dropped or appended)
    5   malformed or truncated input: not a Crypt4GH file, unsupported
        version or method, malformed or modified header (v2 header MAC),
        edit list over --max-skipped-segments, truncated file
    6   key file problem: wrong passphrase, encrypted key without a
        passphrase, malformed or missing key file
    7   signature missing or invalid (decrypt --verify)
    8   the file has expired (decrypt without --ignore-expiry)
    9   network or server error (download): the server could not be
        reached, answered with an error status (its message is shown), or
        sent a malformed response
    130 interrupted (temporary output files are removed)

Errors are one line "crypt4gh: error: …" on standard error, possibly
followed by "crypt4gh: hint: …" lines.
`

const encryptUsage = `Usage: crypt4gh encrypt [--sk PATH] --recipient_pk PATH [--recipient_pk PATH]...
                        [--sealed | --aes | --pr736] [--sign PATH]...
                        [--expires WHEN] [--link URI] [--pq-only]
                        [--range START-END] [--header PATH] [-i IN] [-o OUT]

Encrypts IN (standard input) for every recipient and writes the Crypt4GH
file to OUT (standard output).

Options:
    --recipient_pk PATH  A recipient's public key (Crypt4GH .pub file, hybrid
                         post-quantum .pub from keygen --pq, or
                         "ssh-ed25519 …" line). Repeat it for several
                         recipients; any one of them can decrypt. -r is short.
    --sk PATH            Your secret key. Classical header packets are then
                         written with it, so readers can check that the file
                         comes from you (decrypt --sender_pk). Default:
                         $C4GH_SECRET_KEY, else a fresh throwaway key.
    --range START-END    Encrypt only bytes [START, END) of the input (END
                         excluded; "START-" runs to the end).
    --header PATH        Write the header to PATH and only the encrypted
                         payload to OUT (a detached header).
    -i, --input IN       Read IN instead of standard input.
    -o, --output OUT     Write OUT atomically instead of standard output.
    -q, --quiet          No progress line.
    --no-pq-warning      No warning about classical recipients.

Format options (the default is version 1, which every peer reads; any of
--sign, --expires, --link or a hybrid recipient makes a v2 sealed file):
    --sealed             v2 sealed ChaCha20-Poly1305: truncation,
                         reordering and header tampering are detected.
                         Needs a v2 reader.
    --aes                v2 sealed AES-256-GCM, for FIPS 140-3 deployments.
    --pr736              hts-specs PR 736 (version 1 header, sequence-numbered
                         segments): only to interoperate with PR 736 tools.
    --sign PATH          Sign the header with this signing key (keygen --sign,
                         or an OpenSSH ed25519 key). Repeatable. Readers
                         check it with decrypt --verify; re-encryption keeps
                         it.
    --expires WHEN       Readers refuse the file after WHEN: an RFC 3339 time
                         (2030-01-31T12:00:00Z), a date (2030-01-31, 00:00
                         UTC), or a duration from now (30d, 12h, 2w, 90m).
    --link URI           Record where the payload is stored (https, http,
                         file, s3, drs or htsget URI). With --header PATH the
                         header goes to PATH and the payload to OUT, which you
                         place at URI; decrypt --follow-link fetches it.
    --pq-only            Refuse classical recipients: only hybrid
                         post-quantum keys (keygen --pq) can open the file.

Encrypted data is not written to a terminal: redirect standard output or
use -o (-o - forces the terminal).

Examples:
    crypt4gh encrypt --recipient_pk bob.pub < reads.bam > reads.bam.c4gh
    crypt4gh encrypt --sk ~/.c4gh/key -r bob.pub -r carol.pub -i reads.bam -o reads.bam.c4gh
    crypt4gh encrypt -r bob.pub --header reads.header -i reads.bam -o reads.payload
    crypt4gh encrypt -r bob-pq.pub --pq-only --sign ~/.c4gh/sign -i reads.bam -o out.c4gh
    crypt4gh encrypt -r bob.pub --expires 30d --link https://example.org/reads.payload \
        --header reads.header -i reads.bam -o reads.payload

Exit status: 0 success, 1 error, 2 usage error (also --pq-only with a
classical recipient), 6 key file problem.
`

const decryptUsage = `Usage: crypt4gh decrypt [--sk PATH] [--sender_pk PATH] [--verify PATH]...
                        [--range START-END] [--header PATH] [--follow-link]
                        [--ignore-expiry] [--max-skipped-segments N]
                        [-i IN] [-o OUT]

Decrypts the Crypt4GH file IN (standard input) and writes the plaintext to
OUT (standard output). An edit list in the header is applied. Version 1,
v2 (sealed, AES, post-quantum, signed) and PR 736 files are read.

Options:
    --sk PATH            Your secret key (classical or hybrid). Default:
                         $C4GH_SECRET_KEY, else ~/.c4gh/key.
    --sender_pk PATH     Accept only header packets written with this public
                         key: checks that the file comes from its owner.
    --verify PATH        Require a valid signature by this key (the public
                         key of keygen --sign, or an ssh-ed25519 line).
                         Repeatable: every key must have signed.
    --range START-END    Output only bytes [START, END) of the plaintext
                         (START included, END excluded; "START-" runs to the
                         end). The Python tool outputs [START, END-1) here.
                         With -i FILE only the segments of the range are read.
    --header PATH        Read the header from PATH and the payload from IN
                         (a header detached with encrypt --header).
    --follow-link        When the input is a header alone whose payload is
                         detached (encrypt --link), fetch the payload from
                         its link (file:// and https:// URIs; the URI is
                         printed on standard error). Never done without it.
    --ignore-expiry      Decrypt a file whose expiry time has passed.
    --max-skipped-segments N
                         Refuse an edit list that makes the reader fetch and
                         discard more than N whole segments (N >= 1).
    -i, --input IN       Read IN instead of standard input.
    -o, --output OUT     Write OUT (mode 0600 if new) instead of standard output.
    -q, --quiet          No progress line.
    --no-pq-warning      No warning about a classical header.

No plaintext of a segment is written before the segment authenticates.
When the output is standard output and a later segment fails, the earlier
plaintext has already been written: use -o OUT, which writes nothing at
all unless the whole file decrypts. Only v2 (sealed) files detect a file
cut at a segment boundary, or segments reordered.

Examples:
    crypt4gh decrypt --sk ~/.c4gh/key < reads.bam.c4gh > reads.bam
    crypt4gh decrypt -i reads.bam.c4gh -o reads.bam --sender_pk alice.pub
    crypt4gh decrypt -i reads.bam.c4gh --range 1000-2000 | xxd
    cat reads.header reads.payload | crypt4gh decrypt > reads.bam
    crypt4gh decrypt --verify alice-sign.pub -i reads.bam.c4gh -o reads.bam
    crypt4gh decrypt --follow-link -i reads.header -o reads.bam

Exit status: 0 success, 1 error, 2 usage error, 3 not encrypted for this
key (or not from --sender_pk), 4 tampered or damaged data, 5 malformed,
modified or truncated input, 6 key file problem, 7 signature missing or
invalid, 8 expired.
`

const rearrangeUsage = `Usage: crypt4gh rearrange [--sk PATH] --range START-END [-i IN] [-o OUT]

Rewrites the Crypt4GH file IN (standard input) into one holding only the
byte range: a new header for your own key, with an edit list, followed by
the unchanged encrypted segments that hold the range. Nothing but the
header is decrypted. Signatures, expiry and link are kept.

Sealed (v2) files need the input as a file (-i FILE): their new header
records which segments the payload holds. PR 736 files cannot be
rearranged.

Options:
    --sk PATH            Your secret key. Default: $C4GH_SECRET_KEY, else
                         ~/.c4gh/key.
    --range START-END    Keep bytes [START, END) of the plaintext (END
                         excluded; "START-" runs to the end). The Python tool
                         keeps [START, END-1) here.
    -i, --input IN       Read IN instead of standard input.
    -o, --output OUT     Write OUT atomically instead of standard output.
    -q, --quiet          No progress line.
    --no-pq-warning      No warning about a classical header.

Example:
    crypt4gh rearrange --range 65536-131072 -i reads.bam.c4gh -o part.c4gh
    crypt4gh decrypt -i part.c4gh        # the 65536 bytes of the range

Exit status: 0 success, 1 error, 2 usage error (also a sealed file from
standard input), 3 not encrypted for this key, 5 malformed or truncated
input, 6 key file problem.
`

const reencryptUsage = `Usage: crypt4gh reencrypt [--sk PATH] --recipient_pk PATH [--recipient_pk PATH]...
                          [-t] [--header-only] [--expires WHEN] [--link URI]
                          [-i IN] [-o OUT]

Gives the Crypt4GH file IN (standard input) to new recipients without
touching the data: the header packets your key opens are re-encrypted for
every recipient, and the encrypted payload is copied unchanged to OUT.
Signatures of a v2 file stay valid and are kept.

Options:
    --recipient_pk PATH  A new recipient's public key (classical or hybrid);
                         repeat for several. -r is short.
    --sk PATH            Your secret key. Default: $C4GH_SECRET_KEY, else
                         ~/.c4gh/key.
    -t, --trim           Drop the header packets your key cannot open
                         (those of other readers). Without it they are kept,
                         so the existing readers keep access.
    --header-only        IN is a header alone (a detached header); OUT is
                         the new header alone.
    --expires WHEN       Replace the expiry in the new packets (as encrypt
                         --expires; "none" removes it). v2 files only.
    --link URI           Replace the link in the new packets ("none" removes
                         it). v2 files only.
    -i, --input IN       Read IN instead of standard input.
    -o, --output OUT     Write OUT atomically instead of standard output.
    -q, --quiet          No progress line.
    --no-pq-warning      No warning about a classical header.

Examples:
    crypt4gh reencrypt --recipient_pk carol.pub < reads.bam.c4gh > for-carol.c4gh
    crypt4gh reencrypt -r carol.pub --trim -i reads.bam.c4gh -o for-carol.c4gh
    crypt4gh reencrypt -r carol.pub --header-only -i reads.header -o carol.header
    crypt4gh reencrypt -r carol-pq.pub --trim --expires 7d -i reads.c4gh -o carol.c4gh

Exit status: 0 success, 1 error, 2 usage error, 3 not encrypted for this
key, 5 malformed input, 6 key file problem.
`

const repointUsage = `Usage: crypt4gh repoint --link URI [--sk PATH] [--recipient_pk PATH]...
                        [-i IN] [-o OUT]

Replaces the link of a v2 header: where its detached payload is stored.
IN is a header alone or a whole file; OUT is the new header, followed by
the payload if IN had one. The header is decrypted with your key and
encrypted again for the recipients; packets of other readers are dropped
(they would keep the old link). Signatures stay valid and are kept.

Options:
    --link URI           The new link (https, http, file, s3, drs or htsget
                         URI); "none" removes it.
    --sk PATH            Your secret key. Default: $C4GH_SECRET_KEY, else
                         ~/.c4gh/key.
    --recipient_pk PATH  A recipient of the new header; repeat for several.
                         Default: your own key. -r is short.
    -i, --input IN       Read IN instead of standard input.
    -o, --output OUT     Write OUT atomically instead of standard output.
    -q, --quiet          No progress line.
    --no-pq-warning      No warning about a classical header.

Example:
    crypt4gh repoint --link https://mirror.example.org/reads.payload \
        -i reads.header -o reads.header

Exit status: 0 success, 1 error, 2 usage error (also a version 1
header), 3 not encrypted for this key, 5 malformed input, 6 key file
problem.
`

const inspectUsage = `Usage: crypt4gh inspect [--sk PATH] [--json] [-i IN]

Describes the Crypt4GH file (or header) IN without printing any secret:
the version, header size, each header packet's encryption method
(classical or post-quantum), whether a classical key can open the header
(pq_exposed), the signatures (algorithm and key id), and for a regular
file the payload size and segment count.

With a secret key (--sk, or $C4GH_SECRET_KEY) the header is decrypted
too: the packets the key opened, the data encryption method, the edit
list, expiry, link and segment map, and the visible plaintext size.

The output is one "key: value" line per item, in a fixed order; --json
prints the same as a JSON object.

Options:
    --sk PATH            Decrypt the header with this secret key (no
                         default key file is tried).
    --json               Print JSON.
    -i, --input IN       Read IN instead of standard input.

Examples:
    crypt4gh inspect -i reads.bam.c4gh
    crypt4gh inspect --sk ~/.c4gh/key --json -i reads.header | jq .content.link

Exit status: 0 success, 1 error, 2 usage error, 3 not encrypted for this
key, 5 malformed input, 6 key file problem.
`

const keygenUsage = `Usage: crypt4gh keygen [-f] [--pq | --sign ALG] [--sk PATH] [--pk PATH]
                       [--nocrypt] [-C COMMENT]
                       [--kdf scrypt|bcrypt|pbkdf2_hmac_sha256] [--relock]

Generates a key pair, like the Python crypt4gh-keygen: by default a
Crypt4GH (X25519) key pair. The private key file is created with mode
0600; both files are written atomically, and missing directories are
created (mode 0700).

Options:
    --pq            A hybrid post-quantum key pair (X25519 + ML-KEM-1024):
                    files encrypted for it resist "store now, decrypt
                    later" attacks. Only this tool and other v2 readers
                    use it.
    --sign ALG      A signing key pair for encrypt --sign and decrypt
                    --verify: ALG is ed25519, mldsa65 or mldsa87 (ML-DSA,
                    post-quantum). Default files: ~/.c4gh/sign and
                    ~/.c4gh/sign.pub.
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
    --relock        Re-encrypt the existing private key --sk (of any
                    type) under a new passphrase asked on the terminal
                    (with --nocrypt: store it unencrypted).
    -q, --quiet     Print nothing on success.

The passphrase is $C4GH_PASSPHRASE if set, else it is asked twice on the
terminal (an empty passphrase stores the key unencrypted). It is never
taken from the command line.

Examples:
    crypt4gh keygen                           # ~/.c4gh/key and ~/.c4gh/key.pub
    crypt4gh keygen --sk alice.sec --pk alice.pub -C alice@example.org
    C4GH_PASSPHRASE=… crypt4gh keygen -f --sk alice.sec --pk alice.pub
    crypt4gh keygen --pq --sk alice-pq.sec --pk alice-pq.pub
    crypt4gh keygen --sign ed25519            # ~/.c4gh/sign and ~/.c4gh/sign.pub

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
