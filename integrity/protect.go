package integrity

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
	"github.com/crypt4gh-go/crypt4gh/integrity/tsa"
)

// ProtectOptions configure [Protect].
type ProtectOptions struct {
	// Signer is the lab's signing key (Ed25519, or ML-DSA from the
	// signing package). Required.
	Signer crypt4gh.Signer
	// Stamper obtains the timestamp. Required.
	Stamper tsa.Stamper
	// Owner are the Crypt4GH recipients the openings are encrypted for:
	// the data owner, who alone can later make proofs. Required.
	Owner []crypt4gh.Recipient
	// Scheme is the commitment scheme (commit.Default() if nil).
	Scheme commit.Scheme
	// Hash is the tree hash (SHA256 if zero).
	Hash Hash
	// Workers bounds the goroutines (GOMAXPROCS if 0).
	Workers int
	// CacheLevel is the number of bottom tree levels left out of the
	// top-of-tree cache (10 for variants, 0 for whole files if zero); a
	// negative value means 0.
	CacheLevel int
}

// Protect commits to every position of the table, builds the tree, has
// the lab sign its root and the TSA timestamp it, and writes the dataset
// to dir, which must not exist or be empty. It returns the evidence.
//
// Protect streams: memory stays bounded whatever the table size (about
// 100 MB of jobs in flight plus 64 bytes per 1024 positions for the top
// of the tree), and it uses every core.
func Protect(ctx context.Context, dir string, t Table, opts ProtectOptions) (*Evidence, error) {
	if opts.Signer == nil || opts.Stamper == nil || len(opts.Owner) == 0 {
		return nil, errors.New("integrity: Protect needs a signer, a stamper and the owner's public key")
	}
	scheme := opts.Scheme
	if scheme == nil {
		scheme = commit.Default()
	}
	h := opts.Hash
	if h == 0 {
		h = SHA256
	}
	if !h.valid() {
		return nil, fmt.Errorf("integrity: unknown hash %d", h)
	}
	if err := checkScheme(scheme); err != nil {
		return nil, err
	}
	layout := t.Layout()
	if err := layout.check(); err != nil {
		return nil, err
	}
	cut := opts.CacheLevel
	if cut == 0 && layout.Kind == Variants {
		cut = defaultCut
	}
	cut = max(0, min(cut, maxCut))
	sh, err := newShape(layout.Positions(), cut)
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	d := &Dataset{dir: dir, sh: sh, schemes: []commit.Scheme{scheme}}
	d.ev.Layout = layout

	top, err := d.commitAndBuild(ctx, buildArgs{table: t, scheme: scheme, hash: h, owner: opts.Owner, workers: opts.Workers})
	if err != nil {
		return nil, err
	}
	el := Element{Op: OpProtect, Hash: h, Scheme: scheme.Name(), Root: rootOf(top, h)}
	el.Signature = &Signature{Algorithm: opts.Signer.SignatureAlgorithm(), PublicKey: opts.Signer.PublicKey()}
	d.ev.Elements = []Element{el}
	sig, err := opts.Signer.Sign(d.ev.signedMessage())
	if err != nil {
		return nil, fmt.Errorf("integrity: signing the root: %w", err)
	}
	d.ev.Elements[0].Signature.Value = sig
	if err := d.stamp(ctx, opts.Stamper); err != nil {
		return nil, err
	}
	if err := d.save(); err != nil {
		return nil, err
	}
	return &d.ev, nil
}

func checkScheme(s commit.Scheme) error {
	if n := s.Name(); n == "" || len(n) > maxSchemeName {
		return fmt.Errorf("integrity: commitment scheme name %q is empty or too long", n)
	}
	if s.CommitmentSize() <= 0 || s.CommitmentSize() > maxCommitmentSize || s.OpeningSize() <= 0 || s.OpeningSize() > maxOpeningSize {
		return fmt.Errorf("integrity: commitment scheme %s has sizes %d/%d outside the limits", s.Name(), s.CommitmentSize(), s.OpeningSize())
	}
	return nil
}

func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return fmt.Errorf("integrity: %w", err)
	case len(entries) > 0:
		return fmt.Errorf("%w: %s", errExists, dir)
	}
	return nil
}

func rootOf(top []byte, h Hash) []byte {
	return append([]byte(nil), top[len(top)-h.Size():]...)
}

// stamp timestamps the last element.
func (d *Dataset) stamp(ctx context.Context, s tsa.Stamper) error {
	k := len(d.ev.Elements) - 1
	h := d.ev.hashAt(k)
	tok, err := s.Stamp(ctx, h.CryptoHash(), d.ev.stampedDigest(k))
	if err != nil {
		return fmt.Errorf("integrity: timestamping element %d (%s): %w", k, d.ev.Elements[k].Op, err)
	}
	if len(tok) == 0 || len(tok) > maxToken {
		return fmt.Errorf("integrity: the timestamp token is %d bytes (limit %d)", len(tok), maxToken)
	}
	d.ev.Elements[k].Timestamp = tok
	return nil
}

type buildArgs struct {
	table   Table
	scheme  commit.Scheme // nil for upHT
	hash    Hash
	owner   []crypt4gh.Recipient
	id      crypt4gh.Identity // upCHT: to read the previous openings
	workers int
}

// commitAndBuild runs a build for a new tree over the dataset's current
// trees, with a new commitment generation when a.scheme is set, and
// writes the new files. It returns the new tree's cached levels.
func (d *Dataset) commitAndBuild(ctx context.Context, a buildArgs) ([]byte, error) {
	b := &build{sh: d.sh, hash: a.hash, workers: a.workers, layout: d.ev.Layout, trees: d.trees, newGen: -1}
	// Existing generations' commitments, read by the workers.
	for g := range d.gens {
		f, err := os.Open(d.path(genFile("commitments", g, "bin")))
		if err != nil {
			return nil, fmt.Errorf("integrity: %w", err)
		}
		defer f.Close()
		b.genFiles = append(b.genFiles, f)
		b.genCsize = append(b.genCsize, d.schemes[g].CommitmentSize())
	}
	if len(d.trees) > 0 {
		top, err := d.readTop(len(d.trees) - 1)
		if err != nil {
			return nil, err
		}
		b.prevTop = top
	}
	var cFile, kFile *os.File
	var cBuf *bufio.Writer
	var kEnc *crypt4gh.Writer
	if a.scheme != nil {
		g := len(d.gens)
		b.scheme, b.table, b.newGen = a.scheme, a.table, g
		if g > 0 {
			// upCHT: stream the previous opening keys (and the ones before,
			// to check the data given against the previous commitments).
			prev, err := d.openingKeys(g-1, a.id)
			if err != nil {
				return nil, err
			}
			defer prev.Close()
			b.prevKeys, b.check = prev, d.schemes[g-1]
			if g > 1 {
				pp, err := d.openingKeys(g-2, a.id)
				if err != nil {
					return nil, err
				}
				defer pp.Close()
				b.prevPrevKeys, b.prevPrevScheme = pp, d.schemes[g-2]
			}
		}
		var err error
		if cFile, err = d.createFile(genFile("commitments", g, "bin"), false); err != nil {
			return nil, err
		}
		defer cFile.Close()
		if kFile, err = d.createFile(keysFile(g), true); err != nil {
			return nil, err
		}
		defer kFile.Close()
		cBuf = bufio.NewWriterSize(cFile, 1<<20)
		if kEnc, err = crypt4gh.Encrypt(kFile, a.owner...); err != nil {
			return nil, fmt.Errorf("integrity: encrypting the opening keys: %w", err)
		}
		b.cOut, b.kOut = cBuf, kEnc
	}
	top, err := b.run(ctx)
	if err != nil {
		return nil, err
	}
	if a.scheme != nil {
		if err := cBuf.Flush(); err != nil {
			return nil, fmt.Errorf("integrity: writing commitments: %w", err)
		}
		if err := kEnc.Close(); err != nil {
			return nil, fmt.Errorf("integrity: writing opening keys: %w", err)
		}
		for _, f := range []*os.File{cFile, kFile} {
			if err := f.Sync(); err != nil {
				return nil, fmt.Errorf("integrity: %w", err)
			}
		}
	}
	tf, err := d.createFile(genFile("tree", len(d.trees), "cache"), false)
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	if _, err := tf.Write(top); err != nil {
		return nil, fmt.Errorf("integrity: writing the tree cache: %w", err)
	}
	if err := tf.Sync(); err != nil {
		return nil, fmt.Errorf("integrity: %w", err)
	}
	return top, nil
}

// openingKeys decrypts generation g's opening keys sequentially.
func (d *Dataset) openingKeys(g int, id crypt4gh.Identity) (io.ReadCloser, error) {
	if id == nil {
		return nil, errors.New("integrity: reading openings needs the data owner's private key")
	}
	f, err := os.Open(d.path(keysFile(g)))
	if err != nil {
		return nil, fmt.Errorf("integrity: %w", err)
	}
	r, err := crypt4gh.Decrypt(bufio.NewReaderSize(f, 1<<20), id)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("integrity: decrypting the opening keys of generation %d: %w", g, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}
