package main

import (
	"fmt"
	"io"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
)

// classicalPackets reports whether a header holds a packet a classical
// key opens (what HeaderContent.ClassicallyExposed reports once decrypted).
func classicalPackets(h *crypt4gh.Header) bool {
	for _, p := range h.Packets {
		if p.Method == crypt4gh.PacketX25519 {
			return true
		}
	}
	return false
}

func (a *app) cmdRearrange(args []string) error {
	fs := newFlagSet("rearrange")
	var (
		iof ioFlags
		sk  string
		rng rangeFlag
	)
	a.registerDataFlags(fs, &iof, &sk)
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
	defer zeroIdentity(id)
	ids := []crypt4gh.Identity{id}
	// As in the Python tool, the new header is for the user's own key,
	// written with it.
	self := []crypt4gh.Recipient{selfRecipient(id)}
	hints := &decryptHints{keyPath: keyPath}

	// The header is read here too, for the post-quantum warning.
	var h *crypt4gh.Header
	var src io.Reader
	if in.regular {
		if h, err = crypt4gh.ReadHeader(io.NewSectionReader(in.f, in.offset, in.size)); err != nil {
			return err
		}
	} else {
		if h, err = crypt4gh.ReadHeader(in.f); err != nil {
			return err
		}
		src = io.MultiReader(bytesReader(h.Marshal()), in.f)
	}
	out, err := a.createOutput(iof.output, 0o666)
	if err != nil {
		return err
	}
	defer out.abort()
	// No progress line: from a file only the kept segments are read, and
	// the size of a stream is unknown.
	if in.regular {
		// Sealed (v2) files need this: their new header records the
		// payload's segments.
		err = crypt4gh.RearrangeReaderAt(out.w, io.NewSectionReader(in.f, in.offset, in.size), in.size, ids, self, rng.Range())
	} else {
		err = crypt4gh.Rearrange(out.w, src, ids, self, rng.Range())
	}
	if err != nil {
		return hints.add(err)
	}
	a.pqExposed = classicalPackets(h) || !isPostQuantum(self[0])
	return out.commit()
}

// headerEdits are the header changes reencrypt and repoint make.
type headerEdits struct {
	expires, link optString
}

// options turns the edits into ReencryptOptions.
func (e *headerEdits) options(cmd string, now time.Time) (*crypt4gh.ReencryptOptions, error) {
	opts := &crypt4gh.ReencryptOptions{}
	if e.expires.set {
		var t time.Time // zero: remove
		if !isNone(e.expires.v) {
			var err error
			if t, err = parseWhen(e.expires.v, now); err != nil {
				return nil, usageErrorf(cmd, "invalid value %q for --expires: %v", e.expires.v, err)
			}
		}
		opts.Expiry = &t
	}
	if e.link.set {
		link := ""
		if !isNone(e.link.v) {
			link = e.link.v
			if err := checkLink(link); err != nil {
				return nil, usageErrorf(cmd, "invalid value %q for --link: %v", link, err)
			}
		}
		opts.Link = &link
	}
	return opts, nil
}

// v1EditError explains an expiry or link asked of a version 1 header.
func v1EditError(h *crypt4gh.Header, opts *crypt4gh.ReencryptOptions, err error) error {
	if h.Version < crypt4gh.Version2 && (opts.Expiry != nil && !opts.Expiry.IsZero() || opts.Link != nil && *opts.Link != "") {
		return withCode(fmt.Errorf("a version %d header cannot carry an expiry or a link", h.Version), exitUsage,
			"only v2 files (encrypt --sealed, --aes, --sign, --expires, --link or hybrid recipients) have them")
	}
	return err
}

func (a *app) cmdReencrypt(args []string) error {
	fs := newFlagSet("reencrypt")
	var (
		iof              ioFlags
		sk               string
		recipients       stringsFlag
		trim, headerOnly bool
		edits            headerEdits
	)
	a.registerDataFlags(fs, &iof, &sk)
	registerRecipients(fs, &recipients)
	fs.BoolVar(&trim, "t", false, "")
	fs.BoolVar(&trim, "trim", false, "")
	fs.BoolVar(&headerOnly, "header-only", false, "")
	fs.BoolVar(&headerOnly, "header_only", false, "")
	fs.Var(&edits.expires, "expires", "")
	fs.Var(&edits.link, "link", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(recipients) == 0 {
		return usageErrorf("reencrypt", "at least one --recipient_pk is required")
	}
	ropts, err := edits.options("reencrypt", a.clock())
	if err != nil {
		return err
	}
	ropts.Trim = trim
	return a.rewriteHeader("reencrypt", iof, sk, recipients, ropts, headerOnly)
}

// rewriteHeader is reencrypt and repoint: read the header of the input,
// give its content (changed by ropts) to the recipients — the user's own
// key when there are none — and write the new header followed, unless
// headerOnly, by the unchanged payload.
func (a *app) rewriteHeader(cmd string, iof ioFlags, sk string, recipients stringsFlag, ropts *crypt4gh.ReencryptOptions, headerOnly bool) error {
	if err := a.refuseTerminalOutput(iof.output); err != nil {
		return err
	}
	in, err := a.openInput(iof.input)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := a.refuseTerminalInput(in, cmd); err != nil {
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
	defer zeroIdentity(id)
	// The Python tool writes the new packets with the user's key.
	rs := withSender(recips, id)
	if len(rs) == 0 {
		rs = []crypt4gh.Recipient{selfRecipient(id)}
	}

	h, err := crypt4gh.ReadHeader(in.f)
	if err != nil {
		return err
	}
	nh, err := crypt4gh.ReencryptHeader(h, []crypt4gh.Identity{id}, rs, ropts)
	if err != nil {
		return (&decryptHints{keyPath: keyPath}).add(v1EditError(h, ropts, err))
	}
	a.pqExposed = classicalPackets(h) || classicalPackets(nh)
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

// cmdRepoint replaces the link of a header: the header is decrypted and
// encrypted again for the recipients (the user's own key by default),
// with the new link.
func (a *app) cmdRepoint(args []string) error {
	fs := newFlagSet("repoint")
	var (
		iof        ioFlags
		sk         string
		recipients stringsFlag
		edits      headerEdits
	)
	a.registerDataFlags(fs, &iof, &sk)
	registerRecipients(fs, &recipients)
	fs.Var(&edits.link, "link", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !edits.link.set {
		return usageErrorf("repoint", "--link is required (--link none removes the link)")
	}
	ropts, err := edits.options("repoint", a.clock())
	if err != nil {
		return err
	}
	// Packets of other readers would keep the old link.
	ropts.Trim = true
	return a.rewriteHeader("repoint", iof, sk, recipients, ropts, false)
}
