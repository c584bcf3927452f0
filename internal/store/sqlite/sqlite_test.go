package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/storetest"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "headers.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.TestHeaderDB(t, func(t *testing.T) store.HeaderDB { return openTemp(t) })
}

// Multi-process test: the test binary re-runs itself as a writer.
const (
	writerEnv   = "C4GH_SQLITE_TEST_WRITER_DB"
	writerIDEnv = "C4GH_SQLITE_TEST_WRITER_ID"
	writerRows  = 25
)

func TestMain(m *testing.M) {
	if path := os.Getenv(writerEnv); path != "" {
		os.Exit(writer(path, os.Getenv(writerIDEnv)))
	}
	os.Exit(m.Run())
}

// writer registers writerRows files and tries to claim "contested",
// printing "won" if it did.
func writer(path, id string) int {
	db, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer db.Close()
	ctx := context.Background()
	for i := range writerRows {
		if err := db.Put(ctx, store.File{ID: fmt.Sprintf("proc%s/%02d", id, i), Header: []byte(id)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if i == writerRows/2 {
			err := db.Put(ctx, store.File{ID: "contested", Name: id})
			switch {
			case err == nil:
				fmt.Println("won")
			case !errors.Is(err, store.ErrExists):
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
	}
	return 0
}

// TestProcessesShareFile runs several processes writing one database
// file at once, as several servers on one machine would.
func TestProcessesShareFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*strings.Builder, procs)
	for i := range cmds {
		cmds[i] = exec.Command(exe, "-test.run=^$")
		cmds[i].Env = append(os.Environ(), writerEnv+"="+path, fmt.Sprintf("%s=%d", writerIDEnv, i))
		outs[i] = new(strings.Builder)
		cmds[i].Stdout = outs[i]
		cmds[i].Stderr = outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	winners := 0
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("writer %d: %v\n%s", i, err, outs[i])
		}
		if strings.Contains(outs[i].String(), "won") {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d processes won the contested id, want 1", winners)
	}
	db := openPath(t, path)
	rows, err := db.List(context.Background(), "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != procs*writerRows+1 {
		t.Errorf("%d rows after %d writers of %d rows (+1 contested), want %d", len(rows), procs, writerRows, procs*writerRows+1)
	}
}

func openPath(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "headers.db")
	db := openPath(t, path)
	if err := db.Put(context.Background(), store.File{ID: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}

func TestSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "headers.db")
	db := openPath(t, path)
	var version int
	var mode string
	if err := db.db.QueryRow(`SELECT version FROM schema_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := db.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if version != SchemaVersion || mode != "wal" {
		t.Errorf("schema version %d, journal mode %q; want %d, wal", version, mode, SchemaVersion)
	}
	if err := db.Put(context.Background(), store.File{ID: "kept"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// Reopening keeps the data and the version (migrations are not rerun).
	db = openPath(t, path)
	if _, err := db.Get(context.Background(), "kept"); err != nil {
		t.Errorf("row lost on reopen: %v", err)
	}
	var rows int
	db.db.QueryRow(`SELECT count(*) FROM schema_version`).Scan(&rows)
	if rows != 1 {
		t.Errorf("schema_version has %d rows, want 1", rows)
	}

	// A database from a newer program is refused, not misread.
	if _, err := db.db.Exec(`UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "99") {
		t.Errorf("Open of a newer schema = %v, want an error naming version 99", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing-dir", "x.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(garbage); err == nil {
		t.Error("Open of a non-database file succeeded")
	}
}
