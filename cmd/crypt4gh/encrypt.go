package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
)

func (a *app) cmdEncrypt(args []string) error {
	fs := newFlagSet("encrypt")
	var (
		iof                        ioFlags
		sk, header, expires, link  string
		recipients, signKeys       stringsFlag
		rng                        rangeFlag
		sealed, aes, pr736, pqOnly bool
	)
	a.registerDataFlags(fs, &iof, &sk)
	registerRecipients(fs, &recipients)
	fs.Var(&rng, "range", "")
	fs.StringVar(&header, "header", "", "")
	fs.BoolVar(&sealed, "sealed", false, "")
	fs.BoolVar(&aes, "aes", false, "")
	fs.BoolVar(&pr736, "pr736", false, "")
	fs.Var(&signKeys, "sign", "")
	fs.StringVar(&expires, "expires", "", "")
	fs.StringVar(&link, "link", "", "")
	fs.BoolVar(&pqOnly, "pq-only", false, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(recipients) == 0 {
		return usageErrorf("encrypt", "at least one --recipient_pk is required")
	}
	if header != "" && header != "-" && expandHome(header) == expandHome(iof.output) {
		return usageErrorf("encrypt", "--header and --output are the same file")
	}
	opts := crypt4gh.EncryptOptions{RequirePostQuantum: pqOnly, Link: link}
	switch {
	case btoi(sealed)+btoi(aes)+btoi(pr736) > 1:
		return usageErrorf("encrypt", "--sealed, --aes and --pr736 choose the data encryption: give one of them")
	case sealed:
		opts.DataMethod = crypt4gh.DataSealedChaCha20Poly1305
	case aes:
		opts.DataMethod = crypt4gh.DataSealedAES256GCM
	case pr736:
		opts.DataMethod = crypt4gh.DataChaCha20Poly1305PR736
	}
	if pr736 && (len(signKeys) > 0 || expires != "" || link != "") {
		return usageErrorf("encrypt", "--pr736 writes a version 1 file, which cannot carry --sign, --expires or --link")
	}
	if expires != "" {
		t, err := parseWhen(expires, a.clock())
		if err != nil {
			return usageErrorf("encrypt", "invalid value %q for --expires: %v", expires, err)
		}
		if !t.After(a.clock()) {
			return usageErrorf("encrypt", "--expires %s is in the past: the file could never be decrypted", t.Format(time.RFC3339))
		}
		opts.Expiry = t
	}
	if link != "" {
		if err := checkLink(link); err != nil {
			return usageErrorf("encrypt", "invalid value %q for --link: %v", link, err)
		}
	}
	if err := a.refuseTerminalOutput(iof.output); err != nil {
		return err
	}

	rs, err := a.loadRecipients(recipients)
	if err != nil {
		return err
	}
	exposed := false
	for _, r := range rs {
		if !isPostQuantum(r) {
			exposed = true
		} else if pr736 {
			return usageErrorf("encrypt", "--pr736 writes a version 1 file, which cannot hold post-quantum (hybrid) recipients")
		}
	}
	if pqOnly && exposed {
		// The library refuses too; say which key.
		for _, path := range recipients {
			if r, err := loadRecipient(path); err == nil && !isPostQuantum(r) {
				return fmt.Errorf("%w: %s is a classical (X25519) key", crypt4gh.ErrNotPostQuantum, path)
			}
		}
	}
	// With a sender key, classical packets are written with it so the
	// reader can check provenance (decrypt --sender_pk); otherwise every
	// packet gets a fresh ephemeral writer key. Hybrid packets always do.
	if path, source := a.secretKeyPath(sk, true); path != "" {
		id, err := a.loadIdentity(path, source)
		if err != nil {
			return err
		}
		defer zeroIdentity(id)
		if _, ok := id.(*crypt4gh.X25519Identity); !ok && source == "--sk" {
			return withCode(fmt.Errorf("--sk %s is a hybrid post-quantum key, which cannot write header packets", path), exitUsage,
				"a sender key is a classical key (crypt4gh keygen); hybrid packets are always written with a fresh key. Sign the file with --sign for provenance")
		}
		rs = withSender(rs, id)
	}
	signers, err := a.loadSigners(signKeys)
	if err != nil {
		return err
	}
	defer zeroSigners(signers)
	opts.Signers = signers

	in, err := a.openInput(iof.input)
	if err != nil {
		return err
	}
	defer in.Close()
	src, total, err := sliceInput(in, rng)
	if err != nil {
		return err
	}

	out, err := a.createOutput(iof.output, 0o666)
	if err != nil {
		return err
	}
	defer out.abort()
	var hdr *output
	if header != "" {
		if hdr, err = a.createOutput(header, 0o666); err != nil {
			return err
		}
		defer hdr.abort()
		opts.HeaderTo = hdr.w
	}

	p := a.startProgress(total, iof)
	defer p.Stop()
	w, err := crypt4gh.EncryptWithOptions(out.w, opts, rs...)
	if err != nil {
		return err
	}
	a.pqExposed = exposed
	if _, err := io.Copy(w, p.Reader(src)); err != nil {
		return fmt.Errorf("encrypting %s: %w", in.name, err)
	}
	if err := w.Close(); err != nil {
		return err
	}
	p.Stop()
	if hdr != nil {
		if err := hdr.commit(); err != nil {
			return err
		}
	}
	return out.commit()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sliceInput applies an encrypt --range to the input: it skips to START
// (seeking in a regular file) and stops at END. It returns the reader and
// the number of bytes it will yield, or -1 if unknown.
func sliceInput(in *input, rng rangeFlag) (io.Reader, int64, error) {
	if !rng.set {
		return in.f, in.size, nil
	}
	total := int64(-1)
	if in.regular {
		if _, err := in.f.Seek(rng.start, io.SeekCurrent); err != nil {
			return nil, 0, err
		}
		total = max(0, in.size-rng.start)
	} else if rng.start > 0 {
		if _, err := io.CopyN(io.Discard, in.f, rng.start); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
	}
	var r io.Reader = in.f
	if rng.end >= 0 {
		span := rng.end - rng.start
		r = io.LimitReader(in.f, span)
		if in.regular {
			total = min(total, span)
		}
	}
	return r, total, nil
}
