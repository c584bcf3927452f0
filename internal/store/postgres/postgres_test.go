package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/storetest"
)

// testDSN returns the test server's DSN from C4GH_TEST_POSTGRES_DSN
// (scripts/services/postgres.sh prints it), skipping the test when it is
// unset, unless C4GH_REQUIRE_SERVICES=1.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("C4GH_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("C4GH_REQUIRE_SERVICES") == "1" {
			t.Fatal("C4GH_TEST_POSTGRES_DSN is unset but C4GH_REQUIRE_SERVICES=1; start scripts/services/postgres.sh")
		}
		t.Skip("C4GH_TEST_POSTGRES_DSN is unset; run scripts/services/postgres.sh start DIR and export its output")
	}
	return dsn
}

// freshSchema creates an empty schema dropped at cleanup and returns dsn
// with search_path set to it, so every test gets its own tables.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to the test server: %v", err)
	}
	t.Cleanup(admin.Close)
	var b [6]byte
	rand.Read(b[:])
	schema := "c4gh_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("dropping schema: %v", err)
		}
	})
	return withParam(t, dsn, "search_path", schema)
}

func withParam(t *testing.T, dsn, key, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("C4GH_TEST_POSTGRES_DSN must be a postgres:// URL: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func openFresh(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), freshSchema(t, dsn))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	storetest.TestHeaderDB(t, func(t *testing.T) store.HeaderDB { return openFresh(t, dsn) })
}

// TestConcurrentOpen starts several "server processes" on one empty
// schema at once: the advisory lock must let exactly one create the
// tables while the others wait and then find them.
func TestConcurrentOpen(t *testing.T) {
	dsn := freshSchema(t, testDSN(t))
	const n = 6
	var wg sync.WaitGroup
	dbs := make([]*DB, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = Open(context.Background(), dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer dbs[i].Close()
	}
	if t.Failed() {
		return
	}
	var version, rows int
	err := dbs[0].pool.QueryRow(context.Background(), `SELECT version, (SELECT count(*) FROM c4gh_schema_version) FROM c4gh_schema_version`).Scan(&version, &rows)
	if err != nil {
		t.Fatal(err)
	}
	if version != SchemaVersion || rows != 1 {
		t.Errorf("schema version %d in %d rows, want %d in 1", version, rows, SchemaVersion)
	}
	// Every handle sees the others' writes.
	if err := dbs[1].Put(context.Background(), store.File{ID: "shared"}); err != nil {
		t.Fatal(err)
	}
	if _, err := dbs[n-1].Get(context.Background(), "shared"); err != nil {
		t.Errorf("row written through one pool not visible through another: %v", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dsn := freshSchema(t, testDSN(t))
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.pool.Exec(context.Background(), `UPDATE c4gh_schema_version SET version = 999`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(context.Background(), dsn); err == nil || !strings.Contains(err.Error(), "999") {
		t.Errorf("Open of a newer schema = %v, want an error naming version 999", err)
	}
}

// TestPasswordNotInErrors: neither an unparsable DSN nor an unreachable
// server yields an error mentioning the password.
func TestPasswordNotInErrors(t *testing.T) {
	const pw = "s3cret-Pa55word"
	ctx := context.Background()
	for _, tt := range []struct {
		dsn         string
		unreachable bool // else unparsable
	}{
		{"postgres://user:" + pw + "@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", true},
		{"postgres://user:" + pw + "@127.0.0.1:notaport/db", false},
		{"postgres://user:" + pw + "@127.0.0.1/db?sslmode=bogus", false},
		{"host=127.0.0.1 port=1 user=u password=" + pw + " dbname=db sslmode=disable connect_timeout=2", true},
		{"host=127.0.0.1 port=1 user=u password='" + pw + "' dbname=db sslmode=nonsense", false},
	} {
		dsn := tt.dsn
		_, err := Open(ctx, dsn)
		if err == nil {
			t.Errorf("Open(%s) succeeded", strings.ReplaceAll(dsn, pw, "PW"))
			continue
		}
		for e := err; e != nil; e = errors.Unwrap(e) {
			if strings.Contains(e.Error(), pw) {
				t.Errorf("error reveals the password: %q", strings.ReplaceAll(e.Error(), pw, "<PASSWORD>"))
				break
			}
		}
		if tt.unreachable != errors.Is(err, store.ErrUnavailable) {
			t.Errorf("Open(%s) = %v; want ErrUnavailable: %v", strings.ReplaceAll(dsn, pw, "PW"), err, tt.unreachable)
		}
	}
}

// TestServerRestart stops and restarts a PostgreSQL server under an open
// DB: while it is down Ping and Get fail with ErrUnavailable (and without
// the password), and once it is back they work again without reopening.
// It runs its own server through scripts/services/postgres.sh, so the
// shared test server stays up for other packages' tests.
func TestServerRestart(t *testing.T) {
	testDSN(t) // the services are available on this machine
	if testing.Short() {
		t.Skip("starts its own PostgreSQL server")
	}
	if os.Geteuid() != 0 {
		t.Skip("postgres.sh must run as root")
	}
	script, err := filepath.Abs("../../../scripts/services/postgres.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "c4gh-pg-restart-")
	if err != nil {
		t.Fatal(err)
	}
	service := func(cmd string) string {
		t.Helper()
		start := time.Now()
		defer func() { t.Logf("postgres.sh %s took %v", cmd, time.Since(start)) }()
		out, err := exec.Command("bash", script, cmd, dir).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("postgres.sh %s: %v\n%s", cmd, err, stderr)
		}
		return string(out)
	}
	t.Cleanup(func() {
		exec.Command("bash", script, "stop", dir).Run()
		os.RemoveAll(dir)
	})
	out := service("start")
	dsn, ok := strings.CutPrefix(strings.TrimSpace(out), "export C4GH_TEST_POSTGRES_DSN=")
	if !ok {
		t.Fatalf("postgres.sh start printed %q", out)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	if pw == "" {
		t.Fatal("the test server's DSN has no password, so this test could not see it leak")
	}

	ctx := context.Background()
	db, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := store.File{ID: "survivor", Header: []byte("h")}
	if err := db.Put(ctx, want); err != nil {
		t.Fatal(err)
	}

	service("stop")
	downCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.Ping(downCtx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping with the server down = %v, want ErrUnavailable", err)
	} else if strings.Contains(err.Error(), pw) {
		t.Error("Ping error reveals the password")
	}
	_, err = db.Get(downCtx, want.ID)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get with the server down = %v, want ErrUnavailable", err)
	} else if strings.Contains(err.Error(), pw) {
		t.Error("Get error reveals the password")
	}
	if err := db.Put(downCtx, store.File{ID: "lost"}); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Put with the server down = %v, want ErrUnavailable", err)
	}

	if out := service("start"); !strings.Contains(out, dsn) {
		t.Fatalf("restarted server has a different DSN: %q", out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := db.Ping(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ping still failing 30 s after restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	got, err := db.Get(ctx, want.ID)
	if err != nil {
		t.Fatalf("Get after restart: %v", err)
	}
	if got.ID != want.ID || string(got.Header) != "h" {
		t.Errorf("Get after restart = %+v", got)
	}
}
