package term

import (
	"os"
	"strings"
	"testing"
)

func TestReadLine(t *testing.T) {
	r := strings.NewReader("yes\nrest")
	line, err := readLine(r)
	if err != nil || string(line) != "yes" {
		t.Fatalf("readLine = %q, %v", line, err)
	}
	// Nothing after the newline is consumed.
	if r.Len() != len("rest") {
		t.Errorf("readLine consumed %d bytes past the line", len("rest")-r.Len())
	}
	line, err = readLine(r)
	if string(line) != "rest" || err == nil {
		t.Errorf("readLine at EOF = %q, %v", line, err)
	}
}

func TestTrimSpace(t *testing.T) {
	for in, want := range map[string]string{" y\r": "y", "\tyes ": "yes", "": "", "n": "n"} {
		if got := string(trimSpace([]byte(in))); got != want {
			t.Errorf("trimSpace(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNotTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) || IsTerminal(nil) {
		t.Error("a regular file is a terminal")
	}
	if w := Width(f, 77); w != 77 {
		t.Errorf("Width of a file = %d, want the default", w)
	}
	Restore() // no prompt in progress: a no-op
}
