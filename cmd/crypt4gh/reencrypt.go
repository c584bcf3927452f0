package main

import (
	"fmt"
	"io"

	"github.com/crypt4gh-go/crypt4gh"
)

func (a *app) cmdRearrange(args []string) error {
	fs := newFlagSet("rearrange")
	var (
		iof ioFlags
		sk  string
		rng rangeFlag
	)
	iof.register(fs)
	fs.StringVar(&sk, "sk", "", "")
	fs.Var(&rng, "range", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !rng.set {
		return usageErrorf("rearrange", "--range is required")
	}
	if err := a.refuseTerminalOutput(iof.output); err != nil {
		return err
	}
	in, err := a.openInput(iof.input)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := a.refuseTerminalInput(in, "rearrange"); err != nil {
		return err
	}
	keyPath, source := a.secretKeyPath(sk, false)
	id, err := a.loadIdentity(keyPath, source)
	if err != nil {
		return err
	}
	defer id.Zero()
	out, err := a.createOutput(iof.output, 0o666)
	if err != nil {
		return err
	}
	defer out.abort()
	p := a.startProgress(in.size, iof)
	defer p.Stop()
	// As in the Python tool, the new header is for the user's own key,
	// written with it.
	self := id.Recipient().WithSender(id)
	err = crypt4gh.Rearrange(out.w, p.Reader(in.f), []crypt4gh.Identity{id}, []crypt4gh.Recipient{self}, rng.Range())
	if err != nil {
		return (&decryptHints{keyPath: keyPath}).add(err)
	}
	p.Stop()
	return out.commit()
}

func (a *app) cmdReencrypt(args []string) error {
	fs := newFlagSet("reencrypt")
	var (
		iof              ioFlags
		sk               string
		recipients       stringsFlag
		trim, headerOnly bool
	)
	iof.register(fs)
	fs.StringVar(&sk, "sk", "", "")
	fs.Var(&recipients, "recipient_pk", "")
	fs.Var(&recipients, "recipient-pk", "")
	fs.Var(&recipients, "r", "")
	fs.BoolVar(&trim, "t", false, "")
	fs.BoolVar(&trim, "trim", false, "")
	fs.BoolVar(&headerOnly, "header-only", false, "")
	fs.BoolVar(&headerOnly, "header_only", false, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(recipients) == 0 {
		return usageErrorf("reencrypt", "at least one --recipient_pk is required")
	}
	if err := a.refuseTerminalOutput(iof.output); err != nil {
		return err
	}
	in, err := a.openInput(iof.input)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := a.refuseTerminalInput(in, "reencrypt"); err != nil {
		return err
	}
	recips, err := a.loadRecipients(recipients)
	if err != nil {
		return err
	}
	keyPath, source := a.secretKeyPath(sk, false)
	id, err := a.loadIdentity(keyPath, source)
	if err != nil {
		return err
	}
	defer id.Zero()
	// The Python tool writes the new packets with the user's key.
	rs := make([]crypt4gh.Recipient, len(recips))
	for i, r := range recips {
		rs[i] = r.WithSender(id)
	}

	h, err := crypt4gh.ReadHeader(in.f)
	if err != nil {
		return err
	}
	nh, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{id}, rs, &crypt4gh.ReencryptOptions{Trim: trim})
	if err != nil {
		return (&decryptHints{keyPath: keyPath}).add(err)
	}
	out, err := a.createOutput(iof.output, 0o666)
	if err != nil {
		return err
	}
	defer out.abort()
	if _, err := out.w.Write(nh.Marshal()); err != nil {
		return err
	}
	if headerOnly {
		var b [1]byte
		if n, _ := io.ReadFull(in.f, b[:]); n > 0 {
			fmt.Fprintln(a.stderr, "crypt4gh: warning: the input has data after the header; --header-only wrote the new header alone")
		}
		return out.commit()
	}
	// The payload is copied unchanged: it is encrypted under the data
	// key, which the new header carries.
	var total int64 = -1
	if in.size >= 0 {
		total = in.size - int64(h.Size())
	}
	p := a.startProgress(total, iof)
	defer p.Stop()
	if _, err := io.Copy(out.w, p.Reader(in.f)); err != nil {
		return err
	}
	p.Stop()
	return out.commit()
}
