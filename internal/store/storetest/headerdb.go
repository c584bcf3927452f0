package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

// TestHeaderDB runs the HeaderDB conformance suite. open must return a
// fresh, empty database on every call.
func TestHeaderDB(t *testing.T, open func(t *testing.T) store.HeaderDB) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.HeaderDB)
	}{
		{"RoundTrip", testHeaderRoundTrip},
		{"MinimalRow", testHeaderMinimal},
		{"CreatedAtDefault", testHeaderCreatedAtDefault},
		{"Exists", testHeaderExists},
		{"NotFound", testHeaderNotFound},
		{"InvalidKeys", testHeaderInvalidKeys},
		{"BadFields", testHeaderNegativeSizes},
		{"OddIDs", testHeaderOddIDs},
		{"List", testHeaderList},
		{"ListLimit", testHeaderListLimit},
		{"UpdateHeader", testHeaderUpdate},
		{"Delete", testHeaderDelete},
		{"ReferencesObject", testHeaderReferences},
		{"ConcurrentSameID", testHeaderConcurrentSameID},
		{"ConcurrentDistinct", testHeaderConcurrentDistinct},
		{"CancelledContext", testHeaderCancelled},
		{"Ping", testHeaderPing},
		{"CloseTwice", testHeaderClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			tt.fn(t, db)
		})
	}
}

// fullFile returns a row with every field set to a distinctive value.
func fullFile(id string, seed uint64) store.File {
	return store.File{
		ID:              id,
		Dataset:         "EGAD0000" + fmt.Sprint(seed),
		Name:            "sample " + fmt.Sprint(seed) + ".bam",
		Header:          randomBytes(seed, 300+int(seed%50)),
		KeyID:           fmt.Sprintf("key-%d", seed),
		PayloadKey:      "payload/" + id,
		PayloadSize:     1<<40 + int64(seed),
		PlaintextSize:   1<<40 - int64(seed),
		PlaintextSHA256: strings.Repeat("ab", 32),
		PayloadSHA256:   strings.Repeat("cd", 32),
		Format:          "BAM",
		IndexKey:        "index/" + id,
		IndexFormat:     "BAI",
		// Whitespace and key order are kept: Meta is bytes, not re-encoded JSON.
		Meta:      []byte(`{"refs": ["chr1","chrM"],  "headerEnd":12345, "ü":"日本"}`),
		CreatedAt: time.Date(2024, 2, 29, 13, 14, 15, 0, time.FixedZone("CEST", 2*3600)),
	}
}

// checkFile compares every field; CreatedAt must agree to the second and
// come back in UTC.
func checkFile(t *testing.T, got, want store.File) {
	t.Helper()
	str := func(name, g, w string) {
		if g != w {
			t.Errorf("%s = %q, want %q", name, trunc(g), trunc(w))
		}
	}
	num := func(name string, g, w int64) {
		if g != w {
			t.Errorf("%s = %d, want %d", name, g, w)
		}
	}
	str("ID", got.ID, want.ID)
	str("Dataset", got.Dataset, want.Dataset)
	str("Name", got.Name, want.Name)
	if !bytes.Equal(got.Header, want.Header) {
		t.Errorf("Header differs: got %d bytes, want %d", len(got.Header), len(want.Header))
	}
	str("KeyID", got.KeyID, want.KeyID)
	str("PayloadKey", got.PayloadKey, want.PayloadKey)
	num("PayloadSize", got.PayloadSize, want.PayloadSize)
	num("PlaintextSize", got.PlaintextSize, want.PlaintextSize)
	str("PlaintextSHA256", got.PlaintextSHA256, want.PlaintextSHA256)
	str("PayloadSHA256", got.PayloadSHA256, want.PayloadSHA256)
	str("Format", got.Format, want.Format)
	str("IndexKey", got.IndexKey, want.IndexKey)
	str("IndexFormat", got.IndexFormat, want.IndexFormat)
	if !bytes.Equal(got.Meta, want.Meta) {
		t.Errorf("Meta = %q, want %q", trunc(string(got.Meta)), trunc(string(want.Meta)))
	}
	if !want.CreatedAt.IsZero() {
		if d := got.CreatedAt.Sub(want.CreatedAt); d < -time.Second || d > time.Second {
			t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
		}
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt location = %v, want UTC", got.CreatedAt.Location())
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func mustPut(t *testing.T, db store.HeaderDB, f store.File) {
	t.Helper()
	if err := db.Put(context.Background(), f); err != nil {
		t.Fatalf("Put(%q): %v", trunc(f.ID), err)
	}
}

func mustGet(t *testing.T, db store.HeaderDB, id string) store.File {
	t.Helper()
	f, err := db.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%q): %v", trunc(id), err)
	}
	return f
}

func testHeaderRoundTrip(t *testing.T, db store.HeaderDB) {
	f := fullFile("urn:drs:0001", 1)
	mustPut(t, db, f)
	checkFile(t, mustGet(t, db, f.ID), f)

	// A large header (a file shared with many recipients) and a large Meta.
	big := fullFile("big", 2)
	big.Header = randomBytes(3, 2<<20)
	big.Meta = []byte(`{"refs":[` + strings.Repeat(`"chrUn_KI270302v1",`, 20000) + `"chrM"]}`)
	mustPut(t, db, big)
	checkFile(t, mustGet(t, db, big.ID), big)
	// Sub-second CreatedAt is kept at least to the second.
	sub := fullFile("subsecond", 4)
	sub.CreatedAt = time.Date(2030, 1, 2, 3, 4, 5, 999_999_999, time.UTC)
	mustPut(t, db, sub)
	checkFile(t, mustGet(t, db, sub.ID), sub)

	// The returned row is the caller's to keep: modifying it must not
	// change what a later Get sees.
	g := mustGet(t, db, f.ID)
	if len(g.Header) > 0 {
		g.Header[0] ^= 0xff
	}
	checkFile(t, mustGet(t, db, f.ID), f)
}

func testHeaderMinimal(t *testing.T, db store.HeaderDB) {
	f := store.File{ID: "only-id"}
	mustPut(t, db, f)
	got := mustGet(t, db, f.ID)
	checkFile(t, got, f)
	if got.CreatedAt.IsZero() {
		t.Error("CreatedAt not set by Put")
	}
}

func testHeaderCreatedAtDefault(t *testing.T, db store.HeaderDB) {
	before := time.Now().Add(-time.Second)
	f := fullFile("now", 5)
	f.CreatedAt = time.Time{}
	mustPut(t, db, f)
	after := time.Now().Add(time.Second)
	got := mustGet(t, db, f.ID)
	checkFile(t, got, f)
	if got.CreatedAt.Before(before) || got.CreatedAt.After(after) {
		t.Errorf("CreatedAt = %v, want between %v and %v", got.CreatedAt, before, after)
	}
}

func testHeaderExists(t *testing.T, db store.HeaderDB) {
	first := fullFile("dup", 6)
	mustPut(t, db, first)
	second := fullFile("dup", 7)
	err := db.Put(context.Background(), second)
	if !errors.Is(err, store.ErrExists) {
		t.Fatalf("second Put = %v, want ErrExists", err)
	}
	checkFile(t, mustGet(t, db, "dup"), first)
}

func testHeaderNotFound(t *testing.T, db store.HeaderDB) {
	ctx := context.Background()
	mustPut(t, db, fullFile("present", 8))
	for _, id := range []string{"absent", "Present", "present ", "presen"} {
		if _, err := db.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func testHeaderInvalidKeys(t *testing.T, db store.HeaderDB) {
	ctx := context.Background()
	for name, key := range InvalidKeys {
		t.Run(name, func(t *testing.T) {
			if err := db.Put(ctx, fullFile(key, 9)); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Put = %v, want ErrInvalidKey", err)
			}
			if _, err := db.Get(ctx, key); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Get = %v, want ErrInvalidKey", err)
			}
			if err := db.UpdateHeader(ctx, key, []byte("h"), "k"); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("UpdateHeader = %v, want ErrInvalidKey", err)
			}
			if err := db.Delete(ctx, key); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Delete = %v, want ErrInvalidKey", err)
			}
			if _, err := db.ReferencesObject(ctx, key); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("ReferencesObject = %v, want ErrInvalidKey", err)
			}
			if key != "" { // an empty PayloadKey or IndexKey means "none"
				f := fullFile("ok-id", 10)
				f.PayloadKey = key
				if err := db.Put(ctx, f); !errors.Is(err, store.ErrInvalidKey) {
					t.Errorf("Put with PayloadKey %q = %v, want ErrInvalidKey", trunc(key), err)
				}
				f = fullFile("ok-id", 10)
				f.IndexKey = key
				if err := db.Put(ctx, f); !errors.Is(err, store.ErrInvalidKey) {
					t.Errorf("Put with IndexKey %q = %v, want ErrInvalidKey", trunc(key), err)
				}
			}
		})
	}
	// Nothing above was stored.
	rows, err := db.List(ctx, "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 0 {
		t.Errorf("List after refused Puts returned %d rows", len(rows))
	}
}

func testHeaderNegativeSizes(t *testing.T, db store.HeaderDB) {
	ctx := context.Background()
	f := fullFile("neg", 11)
	f.PayloadSize = -1
	if err := db.Put(ctx, f); err == nil {
		t.Error("Put with negative PayloadSize succeeded")
	}
	f = fullFile("neg", 11)
	f.PlaintextSize = -1
	if err := db.Put(ctx, f); err == nil {
		t.Error("Put with negative PlaintextSize succeeded")
	}
	// Text fields are UTF-8 without NUL.
	ok := fullFile("ok", 12)
	mustPut(t, db, ok)
	for _, bad := range []string{"nul\x00byte", "bad\xffutf8"} {
		f = fullFile("neg", 11)
		f.Name = bad
		if err := db.Put(ctx, f); err == nil {
			t.Errorf("Put with Name %q succeeded", bad)
		}
		if err := db.UpdateHeader(ctx, ok.ID, []byte("h"), bad); err == nil {
			t.Errorf("UpdateHeader with key id %q succeeded", bad)
		}
	}
	checkFile(t, mustGet(t, db, ok.ID), ok)
	if _, err := db.Get(ctx, "neg"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after refused Put = %v, want ErrNotFound", err)
	}
}

func testHeaderOddIDs(t *testing.T, db store.HeaderDB) {
	for i, id := range OddKeys {
		f := fullFile(id, uint64(20+i))
		f.Dataset = "odd " + id[:min(len(id), 40)]
		f.PayloadKey, f.IndexKey = id, fmt.Sprintf("index/%d", i)
		mustPut(t, db, f)
		checkFile(t, mustGet(t, db, id), f)
		if ok, err := db.ReferencesObject(context.Background(), f.PayloadKey); err != nil || !ok {
			t.Errorf("ReferencesObject(%q) = %v, %v; want true", trunc(f.PayloadKey), ok, err)
		}
	}
	rows, err := db.List(context.Background(), "", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(OddKeys)
	slices.Sort(want)
	if got := ids(rows); !slices.Equal(got, want) {
		t.Errorf("List ids =\n%q\nwant\n%q", got, want)
	}
}

func ids(rows []store.File) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

// listIDs are inserted in scrambled order; Go's string order (bytewise)
// is the one List must follow, which differs from most locales' collation
// ("a.c" < "a/b" < "aB"; upper case before lower case; multi-byte last).
var listIDs = []string{
	"b", "a/b", "a.c", "A", "aB", "a", "a/b/c", "Z9", "ü", "日本", "a b", "a-b",
	"file-10", "file-2", "file-1", "z", "_x", "~y", "0", "00", "1/0", "é",
}

func testHeaderList(t *testing.T, db store.HeaderDB) {
	ctx := context.Background()
	want := map[string][]string{}
	for i, id := range listIDs {
		ds := []string{"dsA", "dsB", "dsC"}[i%3]
		f := fullFile(id, uint64(100+i))
		f.Dataset = ds
		mustPut(t, db, f)
		want[ds] = append(want[ds], id)
		want[""] = append(want[""], id)
	}
	for _, v := range want {
		sort.Strings(v)
	}

	for _, ds := range []string{"", "dsA", "dsB", "dsC"} {
		rows, err := db.List(ctx, ds, "", 1000)
		if err != nil {
			t.Fatalf("List(%q): %v", ds, err)
		}
		if got := ids(rows); !slices.Equal(got, want[ds]) {
			t.Errorf("List(%q) =\n%q\nwant\n%q", ds, got, want[ds])
		}
		for _, r := range rows {
			if ds != "" && r.Dataset != ds {
				t.Errorf("List(%q) returned row %q of dataset %q", ds, r.ID, r.Dataset)
			}
		}
		// Paging with every page size gives the same sequence.
		for _, page := range []int{1, 2, 5, 7} {
			var got []string
			after := ""
			for n := 0; ; n++ {
				if n > len(listIDs)+1 {
					t.Fatalf("List(%q) paging with limit %d does not terminate", ds, page)
				}
				rows, err := db.List(ctx, ds, after, page)
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) > page {
					t.Fatalf("List limit %d returned %d rows", page, len(rows))
				}
				if len(rows) == 0 {
					break
				}
				got = append(got, ids(rows)...)
				after = rows[len(rows)-1].ID
			}
			if !slices.Equal(got, want[ds]) {
				t.Errorf("List(%q) paged by %d =\n%q\nwant\n%q", ds, page, got, want[ds])
			}
		}
	}

	// after need not be an existing id.
	rows, err := db.List(ctx, "", "a.", 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, w := ids(rows), []string{"a.c", "a/b", "a/b/c"}; !slices.Equal(got, w) {
		t.Errorf(`List(after "a.") = %q, want %q`, got, w)
	}
	rows, err = db.List(ctx, "", "\U0010ffff", 10)
	if err != nil || len(rows) != 0 {
		t.Errorf("List after the last id = %d rows, %v; want none", len(rows), err)
	}
	rows, err = db.List(ctx, "no such dataset", "", 10)
	if err != nil || len(rows) != 0 {
		t.Errorf("List of unknown dataset = %d rows, %v; want none", len(rows), err)
	}
	// Rows come back whole.
	rows, err = db.List(ctx, "", "", 1)
	if err != nil || len(rows) != 1 {
		t.Fatalf("List limit 1 = %d rows, %v", len(rows), err)
	}
	i := slices.Index(listIDs, rows[0].ID)
	f := fullFile(rows[0].ID, uint64(100+i))
	f.Dataset = rows[0].Dataset
	checkFile(t, rows[0], f)
}

func testHeaderListLimit(t *testing.T, db store.HeaderDB) {
	ctx := context.Background()
	mustPut(t, db, fullFile("x", 1))
	for _, limit := range []int{0, -1} {
		if rows, err := db.List(ctx, "", "", limit); err == nil {
			t.Errorf("List limit %d = %d rows, nil error; want an error", limit, len(rows))
		}
	}
}

func testHeaderUpdate(t *testing.T, db store.HeaderDB) {
	ctx := context.Background()
	f := fullFile("rotate-me", 30)
	other := fullFile("leave-me", 31)
	mustPut(t, db, f)
	mustPut(t, db, other)
	newHeader := randomBytes(32, 500)
	if err := db.UpdateHeader(ctx, f.ID, newHeader, "new-key"); err != nil {
		t.Fatalf("UpdateHeader: %v", err)
	}
	want := f
	want.Header, want.KeyID = newHeader, "new-key"
	checkFile(t, mustGet(t, db, f.ID), want)
	checkFile(t, mustGet(t, db, other.ID), other)

	if err := db.UpdateHeader(ctx, "missing", newHeader, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateHeader(missing) = %v, want ErrNotFound", err)
	}
	if _, err := db.Get(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateHeader(missing) created a row: Get = %v", err)
	}
}

func testHeaderDelete(t *testing.T, db store.HeaderDB) {
	ctx := context.Background()
	f := fullFile("delete-me", 40)
	keep := fullFile("keep-me", 41)
	mustPut(t, db, f)
	mustPut(t, db, keep)
	if err := db.Delete(ctx, f.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := db.Get(ctx, f.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	if err := db.Delete(ctx, f.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	checkFile(t, mustGet(t, db, keep.ID), keep)
	// The id can be registered again.
	again := fullFile("delete-me", 42)
	mustPut(t, db, again)
	checkFile(t, mustGet(t, db, again.ID), again)
}

func testHeaderReferences(t *testing.T, db store.HeaderDB) {
	ctx := context.Background()
	a := fullFile("a", 50)
	a.PayloadKey, a.IndexKey = "p/1", "i/1"
	b := fullFile("b", 51)
	b.PayloadKey, b.IndexKey = "p/2", ""
	mustPut(t, db, a)
	mustPut(t, db, b)
	for key, want := range map[string]bool{
		"p/1": true, "i/1": true, "p/2": true,
		"p/10": false, "p": false, "i/2": false, "P/1": false, "a": false,
	} {
		got, err := db.ReferencesObject(ctx, key)
		if err != nil {
			t.Fatalf("ReferencesObject(%q): %v", key, err)
		}
		if got != want {
			t.Errorf("ReferencesObject(%q) = %v, want %v", key, got, want)
		}
	}
	if err := db.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"p/1", "i/1"} {
		if got, err := db.ReferencesObject(ctx, key); err != nil || got {
			t.Errorf("ReferencesObject(%q) after Delete = %v, %v; want false", key, got, err)
		}
	}
}

func testHeaderConcurrentSameID(t *testing.T, db store.HeaderDB) {
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			f := fullFile("contested", uint64(60+i))
			f.Name = fmt.Sprintf("writer %d", i)
			errs[i] = db.Put(context.Background(), f)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("writers %d and %d both succeeded", winner, i)
			}
			winner = i
		case !errors.Is(err, store.ErrExists):
			t.Errorf("writer %d: %v, want nil or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	want := fullFile("contested", uint64(60+winner))
	want.Name = fmt.Sprintf("writer %d", winner)
	checkFile(t, mustGet(t, db, "contested"), want)
}

func testHeaderConcurrentDistinct(t *testing.T, db store.HeaderDB) {
	const n = 48
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			ctx := context.Background()
			id := fmt.Sprintf("concurrent/%03d", i)
			if errs[i] = db.Put(ctx, fullFile(id, uint64(i))); errs[i] != nil {
				return
			}
			// Readers interleave with writers.
			if _, err := db.Get(ctx, id); err != nil {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", i, err)
		}
	}
	rows, err := db.List(context.Background(), "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n {
		t.Errorf("List after %d concurrent Puts returned %d rows", n, len(rows))
	}
}

func testHeaderCancelled(t *testing.T, db store.HeaderDB) {
	mustPut(t, db, fullFile("c", 70))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Get(ctx, "c"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with cancelled context = %v, want context.Canceled", err)
	}
	if err := db.Put(ctx, fullFile("d", 71)); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with cancelled context = %v, want context.Canceled", err)
	}
	if _, err := db.Get(context.Background(), "d"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancelled Put stored a row: Get = %v", err)
	}
}

func testHeaderPing(t *testing.T, db store.HeaderDB) {
	if err := db.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testHeaderClose(t *testing.T, db store.HeaderDB) {
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close is idempotent (the open function's cleanup closes again) and
	// a closed database fails cleanly instead of panicking.
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := db.Get(context.Background(), "x"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after Close = %v, want an error other than ErrNotFound", err)
	}
}
