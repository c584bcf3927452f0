package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/crypt4gh-go/crypt4gh"
)

// readAtChunk is the plaintext read per ReadAt call on the random-access
// path: 64 segments, enough to spread over the CPUs.
const readAtChunk = 64 * crypt4gh.SegmentSize

func (a *app) cmdDecrypt(args []string) error {
	fs := newFlagSet("decrypt")
	var (
		iof                      ioFlags
		sk, senderPK, header     string
		rng                      rangeFlag
		verify                   stringsFlag
		maxSkip                  positiveInt
		ignoreExpiry, followLink bool
	)
	a.registerDataFlags(fs, &iof, &sk)
	fs.StringVar(&senderPK, "sender_pk", "", "")
	fs.StringVar(&senderPK, "sender-pk", "", "")
	fs.Var(&rng, "range", "")
	fs.StringVar(&header, "header", "", "")
	fs.Var(&verify, "verify", "")
	fs.Var(&maxSkip, "max-skipped-segments", "")
	fs.BoolVar(&ignoreExpiry, "ignore-expiry", false, "")
	fs.BoolVar(&followLink, "follow-link", false, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	// Without --header the input is the file; with it, the input is
	// opened once the header says whether the payload is detached.
	var in *input
	if header == "" {
		var err error
		if in, err = a.openInput(iof.input); err != nil {
			return err
		}
		defer in.Close()
		if err := a.refuseTerminalInput(in, "decrypt"); err != nil {
			return err
		}
	}
	verifiers, err := loadVerifiers(verify)
	if err != nil {
		return err
	}
	var sender *crypt4gh.X25519Recipient
	if senderPK != "" {
		if sender, err = loadSender(senderPK); err != nil {
			return err
		}
	}
	keyPath, source := a.secretKeyPath(sk, false)
	id, err := a.loadIdentity(keyPath, source)
	if err != nil {
		return err
	}
	defer zeroIdentity(id)
	ident := id
	if sender != nil {
		ident = crypt4gh.RequireSender(id, sender)
	}
	h := &decryptHints{keyPath: keyPath, senderPK: senderPK, verify: verify}

	// The header: from --header, else from the start of the input.
	var hdr *crypt4gh.Header
	var pl *payload
	if header != "" {
		if hdr, err = readDetachedHeader(header); err != nil {
			return err
		}
	} else if hdr, pl, err = readHeader(in); err != nil {
		return err
	}
	c, err := hdr.Decrypt(ident)
	if err != nil {
		return h.add(err)
	}
	defer c.Zero()
	a.pqExposed = c.ClassicallyExposed
	for _, v := range verifiers {
		if err := hdr.Verify(c, v); err != nil {
			return h.add(err)
		}
	}
	// Checked again by the reader; here so that an expired file's
	// payload is not fetched.
	if !ignoreExpiry {
		if err := c.CheckExpiry(a.clock()); err != nil {
			return err
		}
	}

	// The payload: the rest of the input, -i with --header, or the link.
	if pl == nil {
		if iof.input == "" && followLink && c.Link != "" {
			if pl, err = a.openLink(c.Link); err != nil {
				return err
			}
		} else {
			in, err := a.openInput(iof.input)
			if err != nil {
				return err
			}
			defer in.Close()
			if in.isTerminal() && c.Link != "" {
				return errDetached(c.Link)
			}
			if err := a.refuseTerminalInput(in, "decrypt --header "+header); err != nil {
				return err
			}
			pl = payloadOf(in)
		}
	}
	if c.Link != "" && pl.empty() {
		if !followLink {
			return errDetached(c.Link)
		}
		if pl, err = a.openLink(c.Link); err != nil {
			return err
		}
	}
	defer pl.Close()

	opts := crypt4gh.DecryptOptions{Now: a.clock, IgnoreExpiry: ignoreExpiry, MaxSkippedSegments: maxSkip.n}
	if rng.set && pl.ra != nil {
		// A file can be read at offsets: decrypt only the segments of the
		// range instead of reading through everything before it.
		return h.add(a.decryptAt(pl, c, opts, rng, iof, h))
	}
	if rng.set {
		r := rng.Range()
		opts.Range = &r
	}
	p := a.startProgress(pl.size, iof)
	defer p.Stop()
	r, err := crypt4gh.NewReaderFromContent(p.Reader(pl.r), c, opts)
	if err != nil {
		return h.add(err)
	}
	out, err := a.createOutput(iof.output, 0o600)
	if err != nil {
		return err
	}
	defer out.abort()
	h.stdout = out.isStdout()
	if _, err := io.Copy(out.w, r); err != nil {
		return h.add(err)
	}
	p.Stop()
	return out.commit()
}

// errDetached reports a header-only input whose payload is elsewhere.
func errDetached(link string) error {
	return withCode(fmt.Errorf("the payload is detached at %s; pass --follow-link or give it with -i", link), exitUsage,
		"with the header in a file of its own: crypt4gh decrypt --header HEADER -i PAYLOAD")
}

// payload is where the encrypted segments come from.
type payload struct {
	r    io.Reader
	ra   io.ReaderAt // nil unless the payload can be read at offsets
	size int64       // bytes, or -1 if unknown
	br   *bufio.Reader
	c    io.Closer
}

// empty reports a payload with no byte at all: the input was a header
// alone.
func (p *payload) empty() bool {
	if p.size >= 0 {
		return p.size == 0
	}
	if p.br != nil {
		_, err := p.br.Peek(1)
		return errors.Is(err, io.EOF)
	}
	return false
}

func (p *payload) Close() {
	if p != nil && p.c != nil {
		p.c.Close()
	}
}

// payloadOf returns the payload read from in (positioned at its start).
func payloadOf(in *input) *payload {
	if in.regular {
		off, err := in.f.Seek(0, io.SeekCurrent)
		if err == nil && off <= in.offset+in.size {
			sr := io.NewSectionReader(in.f, off, in.offset+in.size-off)
			return &payload{r: sr, ra: sr, size: sr.Size()}
		}
	}
	br := bufio.NewReaderSize(in.f, crypt4gh.CipherSegmentSize)
	return &payload{r: br, size: -1, br: br}
}

// readHeader reads the header at the start of in and returns it with the
// payload after it.
func readHeader(in *input) (*crypt4gh.Header, *payload, error) {
	if in.regular {
		h, err := crypt4gh.ReadHeader(io.NewSectionReader(in.f, in.offset, in.size))
		if err != nil {
			return nil, nil, err
		}
		hs := int64(h.Size())
		sr := io.NewSectionReader(in.f, in.offset+hs, in.size-hs)
		return h, &payload{r: sr, ra: sr, size: sr.Size()}, nil
	}
	br := bufio.NewReaderSize(in.f, crypt4gh.CipherSegmentSize)
	h, err := crypt4gh.ReadHeader(br)
	if err != nil {
		return nil, nil, err
	}
	return h, &payload{r: br, size: -1, br: br}, nil
}

// decryptAt writes the range of a payload through a ReaderAt.
func (a *app) decryptAt(pl *payload, c *crypt4gh.HeaderContent, opts crypt4gh.DecryptOptions, rng rangeFlag, iof ioFlags, h *decryptHints) error {
	ra, err := crypt4gh.NewReaderAtFromContent(pl.ra, pl.size, c, opts)
	if err != nil {
		return err
	}
	end := ra.Size()
	if rng.end >= 0 {
		end = min(end, rng.end)
	}
	out, err := a.createOutput(iof.output, 0o600)
	if err != nil {
		return err
	}
	defer out.abort()
	h.stdout = out.isStdout()
	p := a.startProgress(end-rng.start, iof)
	defer p.Stop()
	w := p.Writer(out.w)
	buf := make([]byte, readAtChunk)
	for off := rng.start; off < end; {
		want := buf[:min(int64(len(buf)), end-off)]
		n, err := ra.ReadAt(want, off)
		if n > 0 {
			if _, werr := w.Write(want[:n]); werr != nil {
				return werr
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	p.Stop()
	return out.commit()
}

// readDetachedHeader reads a header written with encrypt --header.
func readDetachedHeader(path string) (*crypt4gh.Header, error) {
	data, err := os.ReadFile(expandHome(path))
	if err != nil {
		return nil, err
	}
	h, n, err := crypt4gh.ParseHeader(data)
	if err != nil {
		return nil, fmt.Errorf("header file %s: %w", path, err)
	}
	if n != len(data) {
		return nil, fmt.Errorf("header file %s: %w: %d bytes follow the header (is it a whole Crypt4GH file?)", path, crypt4gh.ErrMalformedHeader, len(data)-n)
	}
	return h, nil
}

const stdoutPartialHint = "plaintext before the damaged segment was already written to standard output; with -o FILE a failed run writes nothing"

// decryptHints adds context to decryption errors.
type decryptHints struct {
	keyPath, senderPK string
	verify            []string
	stdout            bool
}

func (h *decryptHints) add(err error) error {
	if err == nil {
		return nil
	}
	switch exitCode(err) {
	case exitNoKey:
		hints := []string{fmt.Sprintf("was the file encrypted for the key %s?", h.keyPath)}
		if h.senderPK != "" {
			hints = append(hints, fmt.Sprintf("with --sender_pk only packets written with %s's key count: was the file encrypted by someone else?", h.senderPK))
		}
		return withHint(err, hints...)
	case exitAuth:
		hints := defaultHints(err, exitAuth)
		if h.stdout {
			return withHint(err, append(hints, stdoutPartialHint)...)
		}
		return withHint(err, append(hints, "no output file was written")...)
	}
	return err
}
