package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/crypt4gh-go/crypt4gh"
)

func (a *app) cmdEncrypt(args []string) error {
	fs := newFlagSet("encrypt")
	var (
		iof        ioFlags
		sk, header string
		recipients stringsFlag
		rng        rangeFlag
	)
	iof.register(fs)
	fs.StringVar(&sk, "sk", "", "")
	fs.Var(&recipients, "recipient_pk", "")
	fs.Var(&recipients, "recipient-pk", "")
	fs.Var(&recipients, "r", "")
	fs.Var(&rng, "range", "")
	fs.StringVar(&header, "header", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(recipients) == 0 {
		return usageErrorf("encrypt", "at least one --recipient_pk is required")
	}
	if header != "" && header != "-" && expandHome(header) == expandHome(iof.output) {
		return usageErrorf("encrypt", "--header and --output are the same file")
	}
	if err := a.refuseTerminalOutput(iof.output); err != nil {
		return err
	}

	recips, err := a.loadRecipients(recipients)
	if err != nil {
		return err
	}
	rs := make([]crypt4gh.Recipient, len(recips))
	for i, r := range recips {
		rs[i] = r
	}
	// With a sender key, packets are written with it so the reader can
	// check provenance (decrypt --sender_pk); otherwise every packet gets
	// a fresh ephemeral writer key.
	if path, source := a.secretKeyPath(sk, true); path != "" {
		id, err := a.loadIdentity(path, source)
		if err != nil {
			return err
		}
		defer id.Zero()
		for i, r := range recips {
			rs[i] = r.WithSender(id)
		}
	}

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
	opts := crypt4gh.EncryptOptions{}
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
