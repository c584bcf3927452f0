package main

import (
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
		iof                  ioFlags
		sk, senderPK, header string
		rng                  rangeFlag
	)
	iof.register(fs)
	fs.StringVar(&sk, "sk", "", "")
	fs.StringVar(&senderPK, "sender_pk", "", "")
	fs.StringVar(&senderPK, "sender-pk", "", "")
	fs.Var(&rng, "range", "")
	fs.StringVar(&header, "header", "", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	in, err := a.openInput(iof.input)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := a.refuseTerminalInput(in, "decrypt"); err != nil {
		return err
	}
	var sender *crypt4gh.X25519Recipient
	if senderPK != "" {
		if sender, err = loadRecipient(senderPK); err != nil {
			return err
		}
	}
	keyPath, source := a.secretKeyPath(sk, false)
	id, err := a.loadIdentity(keyPath, source)
	if err != nil {
		return err
	}
	defer id.Zero()
	var ident crypt4gh.Identity = id
	if sender != nil {
		ident = crypt4gh.RequireSender(id, sender)
	}

	h := &decryptHints{keyPath: keyPath, senderPK: senderPK}
	if rng.set && in.regular && header == "" {
		// A file can be read at offsets: decrypt only the segments of the
		// range instead of reading through everything before it.
		return h.add(a.decryptAt(in, ident, rng, iof, h))
	}

	opts := crypt4gh.DecryptOptions{}
	if rng.set {
		r := rng.Range()
		opts.Range = &r
	}
	if header != "" {
		if opts.Header, err = readDetachedHeader(header); err != nil {
			return err
		}
	}
	p := a.startProgress(in.size, iof)
	defer p.Stop()
	r, err := crypt4gh.DecryptWithOptions(p.Reader(in.f), opts, ident)
	if err != nil {
		return h.add(err)
	}
	defer r.HeaderContent().Zero()
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

// decryptAt writes the range of a regular file through DecryptReaderAt.
func (a *app) decryptAt(in *input, ident crypt4gh.Identity, rng rangeFlag, iof ioFlags, h *decryptHints) error {
	ra, err := crypt4gh.DecryptReaderAt(io.NewSectionReader(in.f, in.offset, in.size), in.size, ident)
	if err != nil {
		return err
	}
	defer ra.HeaderContent().Zero()
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
		if h.stdout {
			return withHint(err, stdoutPartialHint)
		}
		return withHint(err, "no output file was written")
	}
	return err
}
