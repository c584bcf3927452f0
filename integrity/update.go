package integrity

import (
	"context"
	"errors"
	"fmt"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
	"github.com/crypt4gh-go/crypt4gh/integrity/tsa"
)

// UpdateOptions configure [Update].
type UpdateOptions struct {
	// Stamper obtains the new timestamp. Required.
	Stamper tsa.Stamper
	// Hash is the hash of the new tree (upHT, upCHT); the current tree's
	// hash if zero.
	Hash Hash
	// Scheme is the new commitment scheme (upCHT); the current one if nil.
	Scheme commit.Scheme
	// Table is the protected data again (upCHT only: new commitments are
	// to every entry and its previous opening). It is checked against the
	// previous commitments.
	Table Table
	// Identity is the data owner's private key, to decrypt the previous
	// opening keys (upCHT).
	Identity crypt4gh.Identity
	// Owner are the recipients of the new opening keys (upCHT).
	Owner []crypt4gh.Recipient
	// Workers bounds the goroutines (GOMAXPROCS if 0).
	Workers int
}

// Update renews the protection of the dataset in dir and returns the new
// evidence. The operations may be applied any number of times, in any
// order:
//
//   - OpTimestamp (upT) timestamps the evidence so far: do it before the
//     last timestamp's authority or signature algorithm weakens. It costs
//     one timestamp request.
//   - OpRehash (upHT) builds a tree with a new hash over the current
//     commitments, chained node by node to the previous tree, and
//     timestamps it with the evidence so far: do it before the tree's hash
//     weakens. It reads every commitment.
//   - OpRecommit (upCHT) commits afresh, with a new scheme, to every entry
//     and its previous opening, builds a chained tree over the new
//     commitments and timestamps it: do it before the commitment scheme's
//     binding weakens. It reads the whole table and decrypts every
//     opening.
func Update(ctx context.Context, dir string, op Op, opts UpdateOptions) (*Evidence, error) {
	if opts.Stamper == nil {
		return nil, errors.New("integrity: Update needs a stamper")
	}
	d, err := Open(dir)
	if err != nil {
		return nil, err
	}
	cur := d.trees[len(d.trees)-1]
	h := opts.Hash
	if h == 0 {
		h = cur.hash
	}
	if !h.valid() {
		return nil, fmt.Errorf("integrity: unknown hash %d", h)
	}
	el := Element{Op: op}
	switch op {
	case OpTimestamp:
		if opts.Hash != 0 || opts.Scheme != nil {
			return nil, errors.New("integrity: upT keeps the hash and the commitments; use upHT or upCHT to change them")
		}
	case OpRehash:
		if opts.Scheme != nil {
			return nil, errors.New("integrity: upHT keeps the commitments; use upCHT to change the commitment scheme")
		}
		top, err := d.commitAndBuild(ctx, buildArgs{hash: h, workers: opts.Workers})
		if err != nil {
			return nil, err
		}
		el.Hash, el.Scheme, el.Root = h, d.gens[len(d.gens)-1].scheme, rootOf(top, h)
	case OpRecommit:
		scheme := opts.Scheme
		if scheme == nil {
			scheme = d.schemes[len(d.schemes)-1]
		}
		if err := checkScheme(scheme); err != nil {
			return nil, err
		}
		if opts.Table == nil || opts.Identity == nil || len(opts.Owner) == 0 {
			return nil, errors.New("integrity: upCHT needs the data, the owner's private key and the owner's public key")
		}
		if l := opts.Table.Layout(); !sameLayout(&l, &d.ev.Layout) {
			return nil, errors.New("integrity: the data given for upCHT has a different layout (contigs or size) from the protected data")
		}
		top, err := d.commitAndBuild(ctx, buildArgs{table: opts.Table, scheme: scheme, hash: h, owner: opts.Owner, id: opts.Identity, workers: opts.Workers})
		if err != nil {
			return nil, err
		}
		d.schemes = append(d.schemes, scheme)
		el.Hash, el.Scheme, el.Root = h, scheme.Name(), rootOf(top, h)
	default:
		return nil, fmt.Errorf("integrity: %s is not an update operation", op)
	}
	if len(d.ev.Elements) >= maxElements {
		return nil, fmt.Errorf("integrity: the evidence already has %d elements, the limit", maxElements)
	}
	d.ev.Elements = append(d.ev.Elements, el)
	if err := d.stamp(ctx, opts.Stamper); err != nil {
		return nil, err
	}
	if err := d.save(); err != nil {
		return nil, err
	}
	return &d.ev, nil
}

func sameLayout(a, b *Layout) bool {
	ea, eb := &encoder{}, &encoder{}
	a.encode(ea)
	b.encode(eb)
	return string(ea.b) == string(eb.b)
}
