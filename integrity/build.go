package integrity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
)

// build is the streaming engine behind Protect, upHT and upCHT: it
// (optionally) commits to every entry, writing a new commitment
// generation, and computes a new tree chained to the existing ones. The
// position range is cut into jobs of whole chunks; workers commit and hash
// jobs in parallel, and the calling goroutine writes their results in
// order. Memory is bounded by the jobs in flight plus the top of the
// tree (one hash per chunk).
type build struct {
	sh      shape
	hash    Hash // of the new tree
	workers int

	// New commitments (Protect, upCHT); scheme is nil for upHT.
	scheme commit.Scheme
	table  Table
	layout Layout
	// upCHT: the opening keys of the previous generation, in order, from
	// which its openings are derived.
	prevKeys io.Reader
	// check, for upCHT, is the previous generation's scheme: it re-opens
	// that generation's commitments with the entries given, so a wrong
	// data file is caught before it is committed to.
	check commit.Scheme
	// The generation before the previous one, if any: its openings are
	// part of the messages the previous generation committed to.
	prevPrevKeys   io.Reader
	prevPrevScheme commit.Scheme
	// cOut receives the new commitments, kOut the new opening keys.
	cOut, kOut io.Writer

	// The chain: existing trees and the commitment files of existing
	// generations.
	trees    []treeInfo
	genFiles []io.ReaderAt
	genCsize []int
	prevTop  []byte // cached levels of the last existing tree
	newGen   int    // the generation index of the new commitments (-1 for upHT)
}

type posEntry struct {
	pos   uint64
	entry []byte
}

type job struct {
	lo, hi       uint64
	entries      []posEntry
	prevKeys     []byte // opening keys of the job's chunks, previous generation
	prevPrevKeys []byte // and the generation before
	c            []byte // the new commitments
	keys         []byte // the new opening keys, one per chunk
	roots        []byte
	err          error
	done         chan struct{}
}

// jobPositions picks how many positions a job holds: whole chunks, about
// 64 Ki positions for variant tables (a few MB of commitments and
// openings) and about 32 MiB of file data for whole files.
func (b *build) jobPositions() uint64 {
	chunk := uint64(1) << b.sh.cut
	want := uint64(1 << 16)
	if b.layout.Kind == File {
		want = max(1, (32<<20)/uint64(b.layout.ChunkSize))
	}
	return max(chunk, want/chunk*chunk)
}

// run executes the build and returns the cached top levels of the new
// tree (its root last).
func (b *build) run(ctx context.Context) ([]byte, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := b.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	work := make(chan *job, workers)
	order := make(chan *job, 2*workers)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		defer close(order)
		if err := b.produce(ctx, work, order); err != nil {
			cancel(err)
		}
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := b.newWorker()
			for j := range work {
				if ctx.Err() == nil {
					j.err = w.process(j)
				} else {
					j.err = context.Cause(ctx)
				}
				close(j.done)
			}
		}()
	}

	roots, err := b.collect(ctx, order)
	if err != nil {
		cancel(err)
	}
	// Drain so the producer and workers finish before returning.
	for j := range order {
		<-j.done
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	phs := 0
	if len(b.trees) > 0 {
		phs = b.trees[len(b.trees)-1].hash.Size()
	}
	return b.sh.buildTop(b.hash, roots, b.prevTop, phs), nil
}

// produce cuts the table into jobs, in order.
func (b *build) produce(ctx context.Context, work, order chan<- *job) error {
	per := b.jobPositions()
	n := b.sh.n
	var pending *posEntry
	next := uint64(0) // the lowest position Next may return
	eof := b.table == nil
	for lo := uint64(0); lo < n; lo += per {
		j := &job{lo: lo, hi: min(n, lo+per), done: make(chan struct{})}
		for !eof {
			if pending == nil {
				pos, e, err := b.table.Next()
				if errors.Is(err, io.EOF) {
					eof = true
					break
				}
				if err != nil {
					return err
				}
				if pos < next || pos >= n {
					return fmt.Errorf("integrity: the table gives %s after position %d: entries must be in increasing order within the layout", b.layout.Name(pos), next)
				}
				if len(e) == 0 || len(e) > maxEntrySize {
					return fmt.Errorf("integrity: the entry at %s is %d bytes (must be 1..%d)", b.layout.Name(pos), len(e), maxEntrySize)
				}
				next = pos + 1
				pending = &posEntry{pos, e}
			}
			if pending.pos >= j.hi {
				break
			}
			j.entries = append(j.entries, *pending)
			pending = nil
		}
		keys := int(b.sh.chunksIn(j.lo, j.hi)) * commit.OpeningKeySize
		if b.prevKeys != nil {
			j.prevKeys = make([]byte, keys)
			if _, err := io.ReadFull(b.prevKeys, j.prevKeys); err != nil {
				return fmt.Errorf("integrity: reading the previous opening keys: %w", err)
			}
		}
		if b.prevPrevKeys != nil {
			j.prevPrevKeys = make([]byte, keys)
			if _, err := io.ReadFull(b.prevPrevKeys, j.prevPrevKeys); err != nil {
				return fmt.Errorf("integrity: reading the opening keys before the previous ones: %w", err)
			}
		}
		select {
		case order <- j:
		case <-ctx.Done():
			return nil
		}
		select {
		case work <- j:
		case <-ctx.Done():
			close(j.done)
			return nil
		}
	}
	return nil
}

// collect writes the jobs' commitments and opening keys in order and
// gathers the chunk roots.
func (b *build) collect(ctx context.Context, order <-chan *job) ([]byte, error) {
	roots := make([]byte, 0, int(b.sh.chunks())*b.hash.Size())
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		if j.err != nil {
			return nil, j.err
		}
		if b.scheme != nil {
			if _, err := b.cOut.Write(j.c); err != nil {
				return nil, fmt.Errorf("integrity: writing commitments: %w", err)
			}
			if _, err := b.kOut.Write(j.keys); err != nil {
				return nil, fmt.Errorf("integrity: writing opening keys: %w", err)
			}
		}
		clear(j.keys)
		clear(j.prevKeys)
		clear(j.prevPrevKeys)
		roots = append(roots, j.roots...)
	}
	if uint64(len(roots)) != b.sh.chunks()*uint64(b.hash.Size()) {
		return nil, context.Cause(ctx) // stopped early
	}
	return roots, nil
}

type worker struct {
	b        *build
	builders []chunkBuilder
	commits  [][]byte // per generation, the job's commitments
	msgs     [][]byte
	arena    []byte
	// Openings, kept only while the job is processed: the new
	// generation's, the previous one's and the one before.
	open, prevOpen, prevPrevOpen []byte
}

func (b *build) newWorker() *worker {
	w := &worker{b: b, builders: make([]chunkBuilder, len(b.trees)+1)}
	w.commits = make([][]byte, len(b.genFiles)+1)
	return w
}

func (w *worker) process(j *job) error {
	b := w.b
	count := int(j.hi - j.lo)
	if b.scheme != nil {
		cs, os := b.scheme.CommitmentSize(), b.scheme.OpeningSize()
		j.c = make([]byte, count*cs)
		w.open = grow(w.open, count*os)
		defer clear(w.open)
		if cap(w.msgs) < count {
			w.msgs = make([][]byte, count)
		}
		msgs := w.msgs[:count]
		clear(msgs)
		for _, e := range j.entries {
			msgs[e.pos-j.lo] = e.entry
		}
		if j.prevKeys != nil {
			w.prevOpen = grow(w.prevOpen, count*b.check.OpeningSize())
			defer clear(w.prevOpen)
			if err := deriveOpenings(b.check, b.sh.cut, j.prevKeys, w.prevOpen); err != nil {
				return err
			}
			if j.prevPrevKeys != nil {
				w.prevPrevOpen = grow(w.prevPrevOpen, count*b.prevPrevScheme.OpeningSize())
				defer clear(w.prevPrevOpen)
				if err := deriveOpenings(b.prevPrevScheme, b.sh.cut, j.prevPrevKeys, w.prevPrevOpen); err != nil {
					return err
				}
			}
			if err := w.checkPrevious(j, msgs); err != nil {
				return err
			}
			// Later generations commit to the entry and the previous
			// opening.
			w.arena = w.arena[:0]
			offs := make([]int, count+1)
			prevSize := b.check.OpeningSize()
			for k := range count {
				w.arena = message(w.arena, msgs[k], w.prevOpen[k*prevSize:(k+1)*prevSize])
				offs[k+1] = len(w.arena)
			}
			for k := range count {
				msgs[k] = w.arena[offs[k]:offs[k+1]]
			}
		}
		// A fresh key for every chunk, from which the chunk's openings are
		// drawn; only the keys are stored.
		j.keys = make([]byte, int(b.sh.chunksIn(j.lo, j.hi))*commit.OpeningKeySize)
		rand.Read(j.keys)
		chunk := 1 << b.sh.cut
		for k, i := 0, 0; k < count; k, i = k+chunk, i+1 {
			e := min(count, k+chunk)
			rnd := commit.NewOpeningStream((*[commit.OpeningKeySize]byte)(j.keys[i*commit.OpeningKeySize:]), 0)
			if err := commit.CommitBatch(b.scheme, j.c[k*cs:e*cs], w.open[k*os:e*os], msgs[k:e], rnd); err != nil {
				return fmt.Errorf("integrity: committing: %w", err)
			}
		}
		clear(w.arena)
	}
	// Commitments of the existing generations for this job.
	for g, f := range b.genFiles {
		cs := b.genCsize[g]
		w.commits[g] = grow(w.commits[g], count*cs)
		if _, err := f.ReadAt(w.commits[g], int64(j.lo)*int64(cs)); err != nil {
			return fmt.Errorf("integrity: reading commitments of generation %d: %w", g, err)
		}
	}
	newCs := 0
	if b.scheme != nil {
		w.commits[b.newGen] = j.c
		newCs = b.scheme.CommitmentSize()
	}
	csizeOf := func(g int) int {
		if g == b.newGen {
			return newCs
		}
		return b.genCsize[g]
	}
	hs := b.hash.Size()
	chunk := uint64(1) << b.sh.cut
	j.roots = make([]byte, 0, int((j.hi-j.lo+chunk-1)/chunk)*hs)
	for lo := j.lo; lo < j.hi; lo += chunk {
		hi := min(j.hi, lo+chunk)
		off := int(lo - j.lo)
		var prev [][]byte
		phs := 0
		for t, tr := range b.trees {
			cs := csizeOf(tr.gen)
			prev = w.builders[t].build(tr.hash, b.sh.cut, lo, int(hi-lo), w.commits[tr.gen][off*cs:], cs, prev, phs)
			phs = tr.hash.Size()
		}
		g := b.newGen
		if g < 0 {
			g = len(b.genFiles) - 1
		}
		cs := csizeOf(g)
		levels := w.builders[len(b.trees)].build(b.hash, b.sh.cut, lo, int(hi-lo), w.commits[g][off*cs:], cs, prev, phs)
		j.roots = append(j.roots, levels[b.sh.cut]...)
	}
	return nil
}

// checkPrevious re-opens the previous generation's commitments with the
// entries and the openings derived from its keys.
func (w *worker) checkPrevious(j *job, entries [][]byte) error {
	b := w.b
	g := b.newGen - 1
	cs, os := b.genCsize[g], b.check.OpeningSize()
	c := make([]byte, int(j.hi-j.lo)*cs)
	if _, err := b.genFiles[g].ReadAt(c, int64(j.lo)*int64(cs)); err != nil {
		return fmt.Errorf("integrity: reading commitments of generation %d: %w", g, err)
	}
	var msg []byte
	for k := range int(j.hi - j.lo) {
		var pp []byte
		if j.prevPrevKeys != nil {
			ppSize := b.prevPrevScheme.OpeningSize()
			pp = w.prevPrevOpen[k*ppSize : (k+1)*ppSize]
		}
		msg = message(msg[:0], entries[k], pp)
		if !b.check.Verify(c[k*cs:(k+1)*cs], w.prevOpen[k*os:(k+1)*os], msg) {
			return fmt.Errorf("integrity: the data given does not match the protected data at %s (it does not open the generation %d commitment): is it the same file?",
				b.layout.Name(j.lo+uint64(k)), g)
		}
	}
	clear(msg)
	return nil
}

// deriveOpenings fills dst with consecutive openings from the start of a
// chunk, drawing each chunk's from its key in keys (one per 2^cut
// positions).
func deriveOpenings(s commit.Scheme, cut int, keys, dst []byte) error {
	os := s.OpeningSize()
	per := os << cut
	for k := 0; len(dst) > 0; k++ {
		if len(keys) < (k+1)*commit.OpeningKeySize {
			return errors.New("integrity: too few opening keys")
		}
		n := min(len(dst), per)
		key := (*[commit.OpeningKeySize]byte)(keys[k*commit.OpeningKeySize:])
		if err := readOpenings(s, commit.NewOpeningStream(key, 0), dst[:n]); err != nil {
			return err
		}
		dst = dst[n:]
	}
	return nil
}

// readOpenings fills dst with consecutive openings of s made from the
// randomness rnd yields, as Commit would make them.
func readOpenings(s commit.Scheme, rnd io.Reader, dst []byte) error {
	if _, err := io.ReadFull(rnd, dst); err != nil {
		return fmt.Errorf("integrity: deriving openings: %w", err)
	}
	os := s.OpeningSize()
	for i := 0; i < len(dst); i += os {
		if err := s.OpeningFrom(dst[i:i+os], dst[i:i+os]); err != nil {
			return fmt.Errorf("integrity: deriving openings: %w", err)
		}
	}
	return nil
}

// readTop reads the cached levels of tree t.
func (d *Dataset) readTop(t int) ([]byte, error) {
	b, err := os.ReadFile(d.path(genFile("tree", t, "cache")))
	if err != nil {
		return nil, fmt.Errorf("integrity: reading the cache of tree %d: %w", t, err)
	}
	if uint64(len(b)) != d.sh.topNodes()*uint64(d.trees[t].hash.Size()) {
		return nil, fmt.Errorf("integrity: the cache of tree %d is %d bytes, want %d", t, len(b), d.sh.topNodes()*uint64(d.trees[t].hash.Size()))
	}
	return b, nil
}

// grow returns a buffer of n bytes, reusing b's storage when it is large
// enough (its contents are then b's old bytes).
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
