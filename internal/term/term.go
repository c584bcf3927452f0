// Package term holds the small terminal helpers of the crypt4gh command:
// passphrase prompts and yes/no questions on the controlling terminal
// (/dev/tty, so they work while standard input and output carry data), and
// terminal checks.
package term

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"golang.org/x/term"
)

// ErrNoTerminal is returned when there is no controlling terminal to prompt
// on.
var ErrNoTerminal = errors.New("no terminal available")

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}

// Width returns the width in columns of the terminal f, or def if it is
// not a terminal or the size is unknown.
func Width(f *os.File, def int) int {
	if f == nil {
		return def
	}
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil || w <= 0 {
		return def
	}
	return w
}

// tty is the controlling terminal, opened for one prompt.
type tty struct {
	in, out *os.File
}

func openTTY() (*tty, error) {
	if runtime.GOOS == "windows" {
		in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
		if err != nil {
			return nil, ErrNoTerminal
		}
		out, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
		if err != nil {
			in.Close()
			return nil, ErrNoTerminal
		}
		return &tty{in: in, out: out}, nil
	}
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, ErrNoTerminal
	}
	if !term.IsTerminal(int(f.Fd())) {
		f.Close()
		return nil, ErrNoTerminal
	}
	return &tty{in: f, out: f}, nil
}

func (t *tty) Close() {
	t.in.Close()
	if t.out != t.in {
		t.out.Close()
	}
}

// Available reports whether a controlling terminal can be opened for
// prompts.
func Available() bool {
	t, err := openTTY()
	if err != nil {
		return false
	}
	t.Close()
	return true
}

// saved holds the terminal state to put back if the process is interrupted
// while a prompt has echo turned off.
var saved struct {
	sync.Mutex
	fd    int
	state *term.State
}

// Restore puts the terminal back in the state it had before a prompt in
// progress turned echo off. Signal handlers call it before exiting; it is a
// no-op when no prompt is in progress.
func Restore() {
	saved.Lock()
	defer saved.Unlock()
	if saved.state != nil {
		term.Restore(saved.fd, saved.state)
		saved.state = nil
	}
}

// ReadPassphrase prints prompt on the controlling terminal and reads a line
// with echo off. It returns ErrNoTerminal if there is no terminal. The
// passphrase is never echoed or logged.
func ReadPassphrase(prompt string) ([]byte, error) {
	t, err := openTTY()
	if err != nil {
		return nil, err
	}
	defer t.Close()
	fmt.Fprint(t.out, prompt)
	fd := int(t.in.Fd())
	if st, err := term.GetState(fd); err == nil {
		saved.Lock()
		saved.fd, saved.state = fd, st
		saved.Unlock()
	}
	p, err := term.ReadPassword(fd)
	saved.Lock()
	saved.state = nil
	saved.Unlock()
	fmt.Fprintln(t.out)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("no passphrase entered")
		}
		return nil, fmt.Errorf("reading passphrase: %w", err)
	}
	return p, nil
}

// Confirm prints prompt on the controlling terminal and reads an answer; it
// returns true for "y" or "yes" (in any case). It returns ErrNoTerminal if
// there is no terminal.
func Confirm(prompt string) (bool, error) {
	t, err := openTTY()
	if err != nil {
		return false, err
	}
	defer t.Close()
	fmt.Fprint(t.out, prompt)
	line, err := readLine(t.in)
	if err != nil && len(line) == 0 {
		fmt.Fprintln(t.out)
		return false, nil
	}
	switch string(trimSpace(line)) {
	case "y", "Y", "yes", "Yes", "YES":
		return true, nil
	}
	return false, nil
}

// readLine reads up to a newline one byte at a time, so nothing after the
// line is consumed.
func readLine(r io.Reader) ([]byte, error) {
	var line []byte
	var b [1]byte
	for {
		n, err := r.Read(b[:])
		if n == 1 {
			if b[0] == '\n' {
				return line, nil
			}
			line = append(line, b[0])
		}
		if err != nil {
			return line, err
		}
	}
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
