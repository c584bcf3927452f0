package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/crypt4gh-go/crypt4gh/internal/term"
)

// input is the data source of a command: a file (-i) or standard input.
type input struct {
	f    *os.File
	name string // for messages
	// size is the number of bytes left to read, or -1 if unknown (pipes).
	size int64
	// regular reports a regular file, which can be read at offsets.
	regular bool
	// offset is where reading starts in f (standard input may have been
	// positioned by the shell).
	offset int64
	close  bool
}

// openInput opens path, or standard input for "" and "-".
func (a *app) openInput(path string) (*input, error) {
	in := &input{f: a.stdin, name: "standard input", size: -1}
	if path != "" && path != "-" {
		f, err := os.Open(expandHome(path))
		if err != nil {
			return nil, err
		}
		in.f, in.name, in.close = f, path, true
	}
	if st, err := in.f.Stat(); err == nil && st.Mode().IsRegular() {
		off, err := in.f.Seek(0, io.SeekCurrent)
		if err == nil && off <= st.Size() {
			in.regular, in.offset, in.size = true, off, st.Size()-off
		}
	}
	return in, nil
}

func (in *input) Close() {
	if in.close {
		in.f.Close()
	}
}

// isTerminal reports whether the input is an interactive terminal.
func (in *input) isTerminal() bool { return term.IsTerminal(in.f) }

// refuseTerminalInput is for commands whose input is a Crypt4GH file:
// reading one from the keyboard is never what the user meant.
func (a *app) refuseTerminalInput(in *input, cmd string) error {
	if in.isTerminal() {
		return withCode(errors.New("refusing to read Crypt4GH data from a terminal"), exitUsage,
			fmt.Sprintf("give the input with -i FILE or redirect standard input (crypt4gh %s < FILE)", cmd))
	}
	return nil
}

// output is the destination of a command. A file is written as a
// temporary file in the same directory and renamed over the destination
// only by commit, so a failed run leaves no partial file and never
// clobbers an existing one.
type output struct {
	w     io.Writer
	f     *os.File // the temporary file; nil for standard output
	tmp   string
	final string
}

// createOutput opens path for writing, or standard output for "" and "-".
// perm is the mode of a new file (before the umask); an existing file
// keeps its mode.
func (a *app) createOutput(path string, perm os.FileMode) (*output, error) {
	if path == "" || path == "-" {
		return &output{w: a.stdout}, nil
	}
	final := expandHome(path)
	exact := perm&0o077 == 0
	if st, err := os.Stat(final); err == nil {
		// Write through a symbolic link, as a shell redirection would.
		if real, err := filepath.EvalSymlinks(final); err == nil {
			final = real
		}
		if st.IsDir() {
			return nil, fmt.Errorf("output %s is a directory", path)
		}
		if !st.Mode().IsRegular() {
			// A device or a FIFO: write to it directly.
			f, err := os.OpenFile(final, os.O_WRONLY, 0)
			if err != nil {
				return nil, err
			}
			return &output{w: f, f: f, final: final}, nil
		}
		perm, exact = st.Mode().Perm(), true
	}
	f, tmp, err := createTemp(final, perm)
	if err != nil {
		return nil, err
	}
	if exact {
		// Keep the mode of the file replaced, and a private mode
		// private, whatever the umask.
		f.Chmod(perm)
	}
	return &output{w: f, f: f, tmp: tmp, final: final}, nil
}

// createTemp creates a new file next to final. The kernel applies the
// umask to perm.
func createTemp(final string, perm os.FileMode) (*os.File, string, error) {
	dir, base := filepath.Split(final)
	for range 100 {
		var rnd [6]byte
		rand.Read(rnd[:])
		tmp := filepath.Join(dir, "."+base+".tmp-"+hex.EncodeToString(rnd[:]))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		trackTemp(tmp, true)
		return f, tmp, nil
	}
	return nil, "", fmt.Errorf("cannot create a temporary file next to %s", final)
}

// isStdout reports whether the output goes to standard output.
func (o *output) isStdout() bool { return o.f == nil }

// commit makes the output final: it syncs the temporary file and renames
// it over the destination.
func (o *output) commit() error {
	if o.f == nil {
		return nil
	}
	if o.tmp == "" { // device or FIFO
		return o.f.Close()
	}
	err := o.f.Sync()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.tmp, o.final)
	}
	if err != nil {
		os.Remove(o.tmp)
	}
	trackTemp(o.tmp, false)
	if err == nil {
		syncDir(filepath.Dir(o.final))
	}
	return err
}

// abort discards the output. It is safe to call after commit.
func (o *output) abort() {
	if o == nil || o.f == nil {
		return
	}
	o.f.Close()
	if o.tmp != "" {
		os.Remove(o.tmp)
		trackTemp(o.tmp, false)
	}
}

// syncDir makes a rename durable; errors are ignored (some systems cannot
// sync directories).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// temps are the temporary files to remove if the run is interrupted.
var temps struct {
	sync.Mutex
	m map[string]bool
}

func trackTemp(path string, add bool) {
	temps.Lock()
	defer temps.Unlock()
	if temps.m == nil {
		temps.m = map[string]bool{}
	}
	if add {
		temps.m[path] = true
	} else {
		delete(temps.m, path)
	}
}

func removeTempFiles() {
	temps.Lock()
	defer temps.Unlock()
	for p := range temps.m {
		os.Remove(p)
	}
	temps.m = nil
}

// expandHome replaces a leading "~/" with the home directory, as the
// Python tool does for key paths.
func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, p[1:])
		}
	}
	return p
}

// refuseTerminalOutput stops binary Crypt4GH data from being written to
// a terminal. "-o -" forces it.
func (a *app) refuseTerminalOutput(outFlag string) error {
	if outFlag == "" && term.IsTerminal(a.stdout) {
		return withCode(errors.New("refusing to write binary Crypt4GH data to a terminal"), exitUsage,
			"redirect standard output, or write to a file with -o FILE (-o - forces the terminal)")
	}
	return nil
}

// bytesReader returns a reader of b.
func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
