package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"crypt4gh": func() {
			// Scripts must not prompt on the terminal of whoever runs
			// the tests: leave it, unless the script gave us one (ttyin).
			detachTTY()
			a := newApp()
			// C4GH_TEST_NOW fixes the clock (expiry tests); it exists in
			// the test binary only.
			if v := os.Getenv("C4GH_TEST_NOW"); v != "" {
				now, err := time.Parse(time.RFC3339, v)
				if err != nil {
					fmt.Fprintln(os.Stderr, "bad C4GH_TEST_NOW:", err)
					os.Exit(100)
				}
				a.now = func() time.Time { return now }
			}
			os.Exit(a.run(os.Args[1:]))
		},
	})
}

// TestScript runs testdata/script/*.txtar. Each script starts with the
// shared vector keys in $WORK/keys, $VECTORS pointing at the shared
// vectors and $HOME at $WORK/home.
func TestScript(t *testing.T) {
	vectors := testvectors.Dir(t)
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireUniqueNames:  true,
		Setup:               func(e *testscript.Env) error { return setupScript(e, vectors) },
		Cmds:                scriptCmds,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") != "",
		RequireExplicitExec: false,
	})
}

// jsonPath returns the value at a dotted path of a decoded JSON document,
// as text; a final "@len" component gives a length.
func jsonPath(v any, path string) (string, error) {
	for _, key := range strings.Split(path, ".") {
		if key == "@len" {
			switch x := v.(type) {
			case []any:
				return strconv.Itoa(len(x)), nil
			case map[string]any:
				return strconv.Itoa(len(x)), nil
			}
			return "", fmt.Errorf("@len of a %T", v)
		}
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[key]
			if !ok {
				return "", fmt.Errorf("no key %q", key)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) {
				return "", fmt.Errorf("no index %q in an array of %d", key, len(x))
			}
			v = x[i]
		default:
			return "", fmt.Errorf("%q inside a %T", key, v)
		}
	}
	if v == nil {
		return "null", nil
	}
	return fmt.Sprint(v), nil
}

func setupScript(e *testscript.Env, vectors string) error {
	e.Setenv("VECTORS", vectors)
	e.Setenv("HOME", filepath.Join(e.WorkDir, "home"))
	e.Setenv("C4GH_SECRET_KEY", "")
	e.Setenv("C4GH_PUBLIC_KEY", "")
	e.Setenv("C4GH_PASSPHRASE", "")
	// Most scripts check standard error exactly; v2_pqwarning.txtar
	// checks the warning.
	e.Setenv("C4GH_NO_PQ_WARNING", "1")
	e.Setenv("C4GH_TEST_NOW", "")
	keys := filepath.Join(e.WorkDir, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(filepath.Join(vectors, "keys"))
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf("no keys in %s/keys", vectors)
	}
	for _, ent := range entries {
		data, err := os.ReadFile(filepath.Join(vectors, "keys", ent.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(keys, ent.Name()), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// exitcode N prog args...: run prog and check its exit code.
	"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: exitcode N program [args...]")
		}
		want, err := strconv.Atoi(args[0])
		ts.Check(err)
		err = ts.Exec(args[1], args[2:]...)
		got := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			got = ee.ExitCode()
		} else if err != nil {
			ts.Fatalf("%v", err)
		}
		if got != want {
			ts.Fatalf("exit code %d, want %d", got, want)
		}
	},
	// perm FILE MODE: check the permission bits (octal).
	"perm": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: perm file mode")
		}
		want, err := strconv.ParseUint(args[1], 8, 32)
		ts.Check(err)
		st, err := os.Stat(ts.MkAbs(args[0]))
		ts.Check(err)
		if got := st.Mode().Perm(); (got == os.FileMode(want)) == neg {
			ts.Fatalf("%s has mode %#o, want %s%#o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
		}
	},
	// mkdata FILE SIZE [SEED]: write SIZE deterministic pseudo-random bytes.
	"mkdata": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: mkdata file size [seed]")
		}
		size, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		seed := uint64(1)
		if len(args) > 2 {
			seed, err = strconv.ParseUint(args[2], 10, 64)
			ts.Check(err)
		}
		rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
		f, err := os.Create(ts.MkAbs(args[0]))
		ts.Check(err)
		_, err = io.CopyN(f, rng, size)
		ts.Check(err)
		ts.Check(f.Close())
	},
	// slice IN START END OUT: OUT = IN[START:END]; END "-" is the end.
	"slice": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 4 {
			ts.Fatalf("usage: slice in start end out")
		}
		data, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		start, err := strconv.Atoi(args[1])
		ts.Check(err)
		end := len(data)
		if args[2] != "-" {
			end, err = strconv.Atoi(args[2])
			ts.Check(err)
		}
		start, end = min(start, len(data)), min(end, len(data))
		ts.Check(os.WriteFile(ts.MkAbs(args[3]), data[start:end], 0o666))
	},
	// concat OUT IN...: OUT = IN1 || IN2 || …
	"concat": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: concat out in...")
		}
		var all []byte
		for _, a := range args[1:] {
			data, err := os.ReadFile(ts.MkAbs(a))
			ts.Check(err)
			all = append(all, data...)
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), all, 0o666))
	},
	// flipbyte FILE OFFSET: invert the byte at OFFSET (negative: from the end).
	"flipbyte": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: flipbyte file offset")
		}
		data, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		off, err := strconv.Atoi(args[1])
		ts.Check(err)
		if off < 0 {
			off += len(data)
		}
		data[off] ^= 0xff
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o666))
	},
	// truncate FILE SIZE: cut FILE to SIZE bytes (negative: drop that many).
	"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: truncate file size")
		}
		st, err := os.Stat(ts.MkAbs(args[0]))
		ts.Check(err)
		n, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		if n < 0 {
			n += st.Size()
		}
		ts.Check(os.Truncate(ts.MkAbs(args[0]), n))
	},
	// size FILE N: check the size of FILE.
	"size": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: size file n")
		}
		st, err := os.Stat(ts.MkAbs(args[0]))
		ts.Check(err)
		n, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		if (st.Size() == n) == neg {
			ts.Fatalf("%s has %d bytes, want %d", args[0], st.Size(), n)
		}
	},
	// json FILE PATH=VALUE...: parse FILE as JSON and check values by
	// dotted path (object keys, array indexes); "null" matches null, and
	// a last component "@len" gives an array's or object's length.
	"json": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: json file path=value...")
		}
		data := []byte(ts.ReadFile(args[0]))
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			ts.Fatalf("%s is not JSON: %v", args[0], err)
		}
		for _, check := range args[1:] {
			path, want, ok := strings.Cut(check, "=")
			if !ok {
				ts.Fatalf("json: %q is not PATH=VALUE", check)
			}
			got, err := jsonPath(doc, path)
			if err != nil {
				ts.Fatalf("json %s: %v", path, err)
			}
			if got != want {
				ts.Fatalf("json %s = %q, want %q", path, got, want)
			}
		}
	},
	// notemp DIR: check that no temporary output file was left in DIR.
	"notemp": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: notemp dir")
		}
		matches, err := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), ".*.tmp-*"))
		ts.Check(err)
		if len(matches) > 0 {
			ts.Fatalf("temporary files left: %v", matches)
		}
	},
}
