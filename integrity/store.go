package integrity

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/crypt4gh-go/crypt4gh/integrity/commit"
)

// A protected dataset is a directory:
//
//	manifest.json          what the files are (format version 2)
//	evidence.bin           the evidence chain (public)
//	commitments-G.bin      generation G: N commitments of fixed size, in
//	                       position order (public: commitments hide)
//	opening-keys-G.c4gh    generation G: one 32-byte key per chunk of 2^cut
//	                       positions, in order, encrypted with Crypt4GH for
//	                       the data owner (secret). The openings of a chunk
//	                       are its key's AES-256-CTR stream, OpeningSize
//	                       bytes per position (commit.NewOpeningStream).
//	tree-T.cache           tree T: the nodes of levels cut..depth, level by
//	                       level (public)
//
// Fixed-size records make every commitment and key addressable: a proof
// reads the commitments of the chunks it needs and decrypts only the
// Crypt4GH segments holding the keys of those chunks. Version 1 stored
// every opening (193 bytes per position for the default scheme); it is
// not read.

const (
	manifestName   = "manifest.json"
	evidenceName   = "evidence.bin"
	datasetFormat  = "crypt4gh-integrity-dataset"
	datasetVersion = 2
)

type manifest struct {
	Format      string         `json:"format"`
	Version     int            `json:"version"`
	Positions   uint64         `json:"positions"`
	CacheLevel  int            `json:"cache_level"`
	Evidence    string         `json:"evidence"`
	Generations []manifestGen  `json:"commitment_generations"`
	Trees       []manifestTree `json:"trees"`
}

type manifestGen struct {
	Scheme         string `json:"scheme"`
	CommitmentSize int    `json:"commitment_size"`
	OpeningSize    int    `json:"opening_size"`
	Commitments    string `json:"commitments"`
	OpeningKeys    string `json:"opening_keys"`
}

type manifestTree struct {
	Hash       string `json:"hash"`
	Generation int    `json:"generation"`
	Cache      string `json:"cache"`
	Root       string `json:"root"`
}

// Dataset is an opened protected dataset.
type Dataset struct {
	dir     string
	m       manifest
	ev      Evidence
	sh      shape
	trees   []treeInfo
	gens    []genInfo
	schemes []commit.Scheme
}

// Open reads a protected dataset's manifest and evidence and checks that
// they agree with each other and with the sizes of the files.
func Open(dir string) (*Dataset, error) {
	d := &Dataset{dir: dir}
	mb, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, fmt.Errorf("integrity: reading the dataset manifest: %w", err)
	}
	if err := json.Unmarshal(mb, &d.m); err != nil {
		return nil, fmt.Errorf("integrity: %s: %w", manifestName, err)
	}
	if d.m.Format != datasetFormat || d.m.Version != datasetVersion {
		return nil, fmt.Errorf("integrity: %s: format %q version %d, this build reads %q version %d", manifestName, d.m.Format, d.m.Version, datasetFormat, datasetVersion)
	}
	if d.m.Evidence != evidenceName {
		return nil, fmt.Errorf("integrity: %s: unexpected evidence file %q", manifestName, d.m.Evidence)
	}
	eb, err := os.ReadFile(filepath.Join(dir, evidenceName))
	if err != nil {
		return nil, fmt.Errorf("integrity: reading the evidence: %w", err)
	}
	if err := d.ev.UnmarshalBinary(eb); err != nil {
		return nil, fmt.Errorf("integrity: %s: %w", evidenceName, err)
	}
	if d.m.CacheLevel < 0 || d.m.CacheLevel > maxCut {
		return nil, fmt.Errorf("integrity: %s: cache level %d is not in 0..%d", manifestName, d.m.CacheLevel, maxCut)
	}
	if d.m.Positions != d.ev.Layout.Positions() {
		return nil, fmt.Errorf("integrity: %s: %d positions, the evidence's layout has %d", manifestName, d.m.Positions, d.ev.Layout.Positions())
	}
	if d.sh, err = newShape(d.m.Positions, d.m.CacheLevel); err != nil {
		return nil, err
	}
	d.trees, d.gens = d.ev.trees()
	if len(d.trees) != len(d.m.Trees) || len(d.gens) != len(d.m.Generations) {
		return nil, fmt.Errorf("integrity: %s lists %d trees and %d generations, the evidence has %d and %d",
			manifestName, len(d.m.Trees), len(d.m.Generations), len(d.trees), len(d.gens))
	}
	for g, mg := range d.m.Generations {
		s, err := schemeByName(d.gens[g].scheme)
		if err != nil {
			return nil, fmt.Errorf("integrity: generation %d: %w", g, err)
		}
		if mg.Scheme != s.Name() || mg.CommitmentSize != s.CommitmentSize() || mg.OpeningSize != s.OpeningSize() ||
			mg.Commitments != genFile("commitments", g, "bin") || mg.OpeningKeys != keysFile(g) {
			return nil, fmt.Errorf("integrity: %s: generation %d does not match the evidence (%s)", manifestName, g, s.Name())
		}
		if err := d.checkSize(mg.Commitments, int64(d.m.Positions)*int64(s.CommitmentSize())); err != nil {
			return nil, err
		}
		d.schemes = append(d.schemes, s)
	}
	for t, mt := range d.m.Trees {
		tr := d.trees[t]
		if mt.Hash != tr.hash.String() || mt.Generation != tr.gen || mt.Cache != genFile("tree", t, "cache") ||
			mt.Root != hex.EncodeToString(d.ev.Elements[tr.elem].Root) {
			return nil, fmt.Errorf("integrity: %s: tree %d does not match the evidence", manifestName, t)
		}
		if err := d.checkSize(mt.Cache, int64(d.sh.topNodes())*int64(tr.hash.Size())); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *Dataset) checkSize(name string, want int64) error {
	fi, err := os.Stat(filepath.Join(d.dir, name))
	if err != nil {
		return fmt.Errorf("integrity: %w", err)
	}
	if fi.Size() != want {
		return fmt.Errorf("integrity: %s is %d bytes, want %d", name, fi.Size(), want)
	}
	return nil
}

// Evidence returns the dataset's evidence chain.
func (d *Dataset) Evidence() *Evidence { return &d.ev }

// Layout returns the dataset's layout.
func (d *Dataset) Layout() Layout { return d.ev.Layout }

// Dir returns the dataset's directory.
func (d *Dataset) Dir() string { return d.dir }

func genFile(kind string, i int, ext string) string { return fmt.Sprintf("%s-%d.%s", kind, i, ext) }

// keysFile names generation g's opening keys.
func keysFile(g int) string { return genFile("opening-keys", g, "c4gh") }

func (d *Dataset) path(name string) string { return filepath.Join(d.dir, name) }

// save writes the evidence and then the manifest, each to a temporary
// file renamed into place, so a crash leaves the previous state (new data
// files not yet referenced are simply overwritten on the next attempt).
func (d *Dataset) save() error {
	d.trees, d.gens = d.ev.trees()
	d.m.Format, d.m.Version, d.m.Evidence = datasetFormat, datasetVersion, evidenceName
	d.m.Positions = d.ev.Layout.Positions()
	d.m.CacheLevel = d.sh.cut
	d.m.Generations = d.m.Generations[:0]
	for g, gi := range d.gens {
		s := d.schemes[g]
		d.m.Generations = append(d.m.Generations, manifestGen{Scheme: gi.scheme, CommitmentSize: s.CommitmentSize(), OpeningSize: s.OpeningSize(),
			Commitments: genFile("commitments", g, "bin"), OpeningKeys: keysFile(g)})
	}
	d.m.Trees = d.m.Trees[:0]
	for t, tr := range d.trees {
		d.m.Trees = append(d.m.Trees, manifestTree{Hash: tr.hash.String(), Generation: tr.gen, Cache: genFile("tree", t, "cache"),
			Root: hex.EncodeToString(d.ev.Elements[tr.elem].Root)})
	}
	eb, err := d.ev.MarshalBinary()
	if err != nil {
		return err
	}
	if err := writeAtomic(d.path(evidenceName), eb, 0o644); err != nil {
		return err
	}
	mb, err := json.MarshalIndent(&d.m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(d.path(manifestName), append(mb, '\n'), 0o644)
}

func writeAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("integrity: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("integrity: writing %s: %w", filepath.Base(path), err)
	}
	return nil
}

// createFile creates a data file of the dataset; secret files are 0600.
func (d *Dataset) createFile(name string, secret bool) (*os.File, error) {
	perm := os.FileMode(0o644)
	if secret {
		perm = 0o600
	}
	f, err := os.OpenFile(d.path(name), os.O_RDWR|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return nil, fmt.Errorf("integrity: %w", err)
	}
	return f, nil
}

var errExists = errors.New("integrity: the output directory exists and is not empty")
