package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/store"
)

// TestObjectStore runs the ObjectStore conformance suite. open must return
// a fresh, empty store on every call.
func TestObjectStore(t *testing.T, open func(t *testing.T) store.ObjectStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.ObjectStore)
	}{
		{"RoundTrip", testObjRoundTrip},
		{"Empty", testObjEmpty},
		{"Ranges", testObjRanges},
		{"NotFound", testObjNotFound},
		{"ShortReader", testObjShort},
		{"LongReader", testObjLong},
		{"FailedReplaceKeepsOld", testObjFailedReplace},
		{"ReaderError", testObjReaderError},
		{"NegativeSize", testObjNegativeSize},
		{"Replace", testObjReplace},
		{"Delete", testObjDelete},
		{"InvalidKeys", testObjInvalidKeys},
		{"OddKeys", testObjOddKeys},
		{"List", testObjList},
		{"ListStops", testObjListStops},
		{"PrefixConflict", testObjPrefixConflict},
		{"Large", testObjLarge},
		{"LargeShort", testObjLargeShort},
		{"ConcurrentReaders", testObjConcurrentReaders},
		{"ConcurrentWriters", testObjConcurrentWriters},
		{"CancelMidStream", testObjCancelMidStream},
		{"Ping", testObjPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			tt.fn(t, s)
		})
	}
}

func put(t *testing.T, s store.ObjectStore, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", trunc(key), len(data), err)
	}
}

func getRange(s store.ObjectStore, key string, off, n int64) ([]byte, error) {
	rc, err := s.GetRange(context.Background(), key, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func mustGetAll(t *testing.T, s store.ObjectStore, key string) []byte {
	t.Helper()
	b, err := getRange(s, key, 0, -1)
	if err != nil {
		t.Fatalf("GetRange(%q): %v", trunc(key), err)
	}
	return b
}

func checkObject(t *testing.T, s store.ObjectStore, key string, want []byte) {
	t.Helper()
	got := mustGetAll(t, s, key)
	if !bytes.Equal(got, want) {
		t.Errorf("object %q: got %d bytes (sha256 %x), want %d bytes (sha256 %x)",
			trunc(key), len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
	info, err := s.Stat(context.Background(), key)
	if err != nil {
		t.Fatalf("Stat(%q): %v", trunc(key), err)
	}
	if info.Key != key || info.Size != int64(len(want)) {
		t.Errorf("Stat(%q) = {%q, %d}, want {%q, %d}", trunc(key), trunc(info.Key), info.Size, trunc(key), len(want))
	}
}

func checkAbsent(t *testing.T, s store.ObjectStore, key string) {
	t.Helper()
	if info, err := s.Stat(context.Background(), key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(%q) = %+v, %v; want ErrNotFound", trunc(key), info, err)
	}
	if _, err := getRange(s, key, 0, -1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRange(%q) = %v, want ErrNotFound", trunc(key), err)
	}
}

func listKeys(t *testing.T, s store.ObjectStore, prefix string) []string {
	t.Helper()
	var keys []string
	err := s.List(context.Background(), prefix, func(info store.ObjectInfo) error {
		keys = append(keys, info.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return keys
}

func testObjRoundTrip(t *testing.T, s store.ObjectStore) {
	data := randomBytes(1, 100_000)
	before := time.Now().Add(-time.Minute)
	put(t, s, "dataset/file.c4gh", data)
	checkObject(t, s, "dataset/file.c4gh", data)
	info, err := s.Stat(context.Background(), "dataset/file.c4gh")
	if err != nil {
		t.Fatal(err)
	}
	if info.ModTime.Before(before) || info.ModTime.After(time.Now().Add(time.Minute)) {
		t.Errorf("ModTime = %v, want about now", info.ModTime)
	}
}

func testObjEmpty(t *testing.T, s store.ObjectStore) {
	put(t, s, "empty", nil)
	checkObject(t, s, "empty", nil)
	if got := listKeys(t, s, ""); !slices.Equal(got, []string{"empty"}) {
		t.Errorf("List = %q, want [empty]", got)
	}
	if b, err := getRange(s, "empty", 0, 10); err != nil || len(b) != 0 {
		t.Errorf("GetRange(empty, 0, 10) = %d bytes, %v; want 0, nil", len(b), err)
	}
	if _, err := getRange(s, "empty", 1, -1); !errors.Is(err, store.ErrInvalidRange) {
		t.Errorf("GetRange(empty, 1, -1) = %v, want ErrInvalidRange", err)
	}
}

func testObjRanges(t *testing.T, s store.ObjectStore) {
	const size = 1000
	data := randomBytes(2, size)
	put(t, s, "r", data)
	tests := []struct {
		off, n int64
		want   []byte // nil with err set
		err    error
	}{
		{0, -1, data, nil},
		{0, size, data, nil},
		{0, size + 1, data, nil},
		{10, 20, data[10:30], nil},
		{1, 1, data[1:2], nil},
		{500, -1, data[500:], nil},
		{999, -1, data[999:], nil},
		{999, 5, data[999:], nil},
		{990, 1 << 40, data[990:], nil},
		{500, 0, []byte{}, nil},
		{size, -1, []byte{}, nil},
		{size, 10, []byte{}, nil},
		{size + 1, -1, nil, store.ErrInvalidRange},
		{size + 1, 5, nil, store.ErrInvalidRange},
		{1 << 40, 1, nil, store.ErrInvalidRange},
		{-1, 5, nil, store.ErrInvalidRange},
	}
	for _, tt := range tests {
		got, err := getRange(s, "r", tt.off, tt.n)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("GetRange(%d, %d) = %d bytes, %v; want %v", tt.off, tt.n, len(got), err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("GetRange(%d, %d): %v", tt.off, tt.n, err)
			continue
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("GetRange(%d, %d) = %d bytes, want %d", tt.off, tt.n, len(got), len(tt.want))
		}
	}
	// A range on a missing object is ErrNotFound, not a range error.
	if _, err := getRange(s, "missing", 5, 5); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRange(missing, 5, 5) = %v, want ErrNotFound", err)
	}
}

func testObjNotFound(t *testing.T, s store.ObjectStore) {
	put(t, s, "dir/present", []byte("x"))
	for _, key := range []string{"missing", "dir", "dir/presen", "dir/present/child", "Dir/present"} {
		checkAbsent(t, s, key)
	}
}

// shortReader yields n bytes then io.EOF: fewer than announced.
func testObjShort(t *testing.T, s store.ObjectStore) {
	data := randomBytes(3, 10_000)
	err := s.Put(context.Background(), "short", bytes.NewReader(data[:9_999]), int64(len(data)))
	if err == nil {
		t.Fatal("Put with a short reader succeeded")
	}
	checkAbsent(t, s, "short")
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("List after failed Put = %q, want nothing", got)
	}
}

func testObjLong(t *testing.T, s store.ObjectStore) {
	data := randomBytes(4, 10_000)
	err := s.Put(context.Background(), "long", bytes.NewReader(data), int64(len(data)-1))
	if err == nil {
		t.Fatal("Put with a long reader succeeded")
	}
	checkAbsent(t, s, "long")
	// Also for an announced size of zero.
	if err := s.Put(context.Background(), "long0", strings.NewReader("x"), 0); err == nil {
		t.Error("Put of 1 byte announced as 0 succeeded")
	}
	checkAbsent(t, s, "long0")
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("List after failed Puts = %q, want nothing", got)
	}
}

func testObjFailedReplace(t *testing.T, s store.ObjectStore) {
	old := randomBytes(5, 5000)
	put(t, s, "keep", old)
	if err := s.Put(context.Background(), "keep", bytes.NewReader(randomBytes(6, 100)), 200); err == nil {
		t.Fatal("short replacing Put succeeded")
	}
	if err := s.Put(context.Background(), "keep", bytes.NewReader(randomBytes(6, 300)), 200); err == nil {
		t.Fatal("long replacing Put succeeded")
	}
	checkObject(t, s, "keep", old)
}

type errReader struct {
	n   int
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	clear(p[:k])
	r.n -= k
	return k, nil
}

func testObjReaderError(t *testing.T, s store.ObjectStore) {
	boom := errors.New("disk on fire")
	err := s.Put(context.Background(), "broken", &errReader{n: 3000, err: boom}, 10_000)
	if err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	checkAbsent(t, s, "broken")
}

func testObjNegativeSize(t *testing.T, s store.ObjectStore) {
	if err := s.Put(context.Background(), "neg", strings.NewReader(""), -1); err == nil {
		t.Error("Put with size -1 succeeded")
	}
	checkAbsent(t, s, "neg")
}

func testObjReplace(t *testing.T, s store.ObjectStore) {
	put(t, s, "obj", randomBytes(7, 3000))
	v2 := randomBytes(8, 1234)
	put(t, s, "obj", v2)
	checkObject(t, s, "obj", v2)
	v3 := randomBytes(9, 5000)
	put(t, s, "obj", v3)
	checkObject(t, s, "obj", v3)
	if got := listKeys(t, s, ""); !slices.Equal(got, []string{"obj"}) {
		t.Errorf("List after replacing = %q, want [obj]", got)
	}
}

func testObjDelete(t *testing.T, s store.ObjectStore) {
	ctx := context.Background()
	if err := s.Delete(ctx, "never-existed"); err != nil {
		t.Errorf("Delete of missing object: %v", err)
	}
	put(t, s, "a/b", []byte("b"))
	put(t, s, "a/c", []byte("c"))
	if err := s.Delete(ctx, "a/b"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	checkAbsent(t, s, "a/b")
	if err := s.Delete(ctx, "a/b"); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	checkObject(t, s, "a/c", []byte("c"))
	if got := listKeys(t, s, ""); !slices.Equal(got, []string{"a/c"}) {
		t.Errorf("List after Delete = %q, want [a/c]", got)
	}
	// Deleting the last object under a prefix does not block new ones.
	if err := s.Delete(ctx, "a/c"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "a/d", []byte("d"))
	checkObject(t, s, "a/d", []byte("d"))
}

func testObjInvalidKeys(t *testing.T, s store.ObjectStore) {
	ctx := context.Background()
	for name, key := range InvalidKeys {
		t.Run(name, func(t *testing.T) {
			if err := s.Put(ctx, key, strings.NewReader("x"), 1); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Put = %v, want ErrInvalidKey", err)
			}
			if _, err := s.GetRange(ctx, key, 0, -1); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("GetRange = %v, want ErrInvalidKey", err)
			}
			if _, err := s.Stat(ctx, key); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Stat = %v, want ErrInvalidKey", err)
			}
			if err := s.Delete(ctx, key); !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Delete = %v, want ErrInvalidKey", err)
			}
		})
	}
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("List after refused Puts = %q, want nothing", got)
	}
	// Prefixes no valid key can start with list nothing, without error.
	for _, prefix := range []string{"../", "/", "a//", `a\`, "x\x00"} {
		if got := listKeys(t, s, prefix); len(got) != 0 {
			t.Errorf("List(%q) = %q, want nothing", prefix, got)
		}
	}
}

func testObjOddKeys(t *testing.T, s store.ObjectStore) {
	for i, key := range OddKeys {
		put(t, s, key, randomBytes(uint64(10+i), 100+i))
	}
	for i, key := range OddKeys {
		checkObject(t, s, key, randomBytes(uint64(10+i), 100+i))
	}
	want := slices.Clone(OddKeys)
	sort.Strings(want)
	if got := listKeys(t, s, ""); !slices.Equal(got, want) {
		t.Errorf("List =\n%q\nwant\n%q", got, want)
	}
}

func testObjList(t *testing.T, s store.ObjectStore) {
	// Bytewise order interleaves "directories" with files: "a.c" < "a/b"
	// < "aB", so a depth-first directory walk in name order is not enough.
	// No key is a directory of another (see testObjPrefixConflict).
	keys := []string{
		"a.c", "a/b/c", "a/b.d", "a/b-", "a/bc", "aB", "b", "ü", "A", "x y/z",
		"dir/sub/obj", "dir/sub-2", "dir/sub.x/y", "dir/sub/obj2", "0", "a-b/c",
	}
	sizes := map[string]int64{}
	for i, k := range keys {
		put(t, s, k, randomBytes(uint64(i), i*10))
		sizes[k] = int64(i * 10)
	}
	sorted := slices.Clone(keys)
	sort.Strings(sorted)
	for _, prefix := range []string{"", "a", "a/", "a/b", "dir/", "dir/sub", "dir/sub/", "ü", "x y/", "nomatch", "a/b/c/"} {
		var want []string
		for _, k := range sorted {
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		var got []string
		err := s.List(context.Background(), prefix, func(info store.ObjectInfo) error {
			got = append(got, info.Key)
			if info.Size != sizes[info.Key] {
				t.Errorf("List(%q): %q has size %d, want %d", prefix, info.Key, info.Size, sizes[info.Key])
			}
			if info.ModTime.IsZero() {
				t.Errorf("List(%q): %q has no ModTime", prefix, info.Key)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("List(%q) =\n%q\nwant\n%q", prefix, got, want)
		}
	}
}

func testObjListStops(t *testing.T, s store.ObjectStore) {
	for i := range 5 {
		put(t, s, fmt.Sprintf("k%d", i), []byte{byte(i)})
	}
	stop := errors.New("enough")
	var seen []string
	err := s.List(context.Background(), "", func(info store.ObjectInfo) error {
		seen = append(seen, info.Key)
		if len(seen) == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("List = %v, want the callback's error", err)
	}
	if !slices.Equal(seen, []string{"k0", "k1"}) {
		t.Errorf("List called fn for %q, want [k0 k1]", seen)
	}
}

// testObjPrefixConflict: a store may refuse an object whose key is the
// "directory" of another ("p" and "p/q"), but must do so cleanly.
func testObjPrefixConflict(t *testing.T, s store.ObjectStore) {
	for _, pair := range [][2]string{{"p", "p/q"}, {"r/s", "r"}} {
		first, second := pair[0], pair[1]
		put(t, s, first, []byte("first"))
		err := s.Put(context.Background(), second, strings.NewReader("second"), 6)
		checkObject(t, s, first, []byte("first"))
		if err != nil {
			checkAbsent(t, s, second)
		} else {
			checkObject(t, s, second, []byte("second"))
		}
	}
}

// largeSize is big enough to take the multipart path of S3 clients.
const largeSize = 20 << 20

// patternReader streams n deterministic bytes without holding them.
type patternReader struct{ off, n int64 }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n-r.off)]
	for i := range p {
		p[i] = patternByte(r.off + int64(i))
	}
	r.off += int64(len(p))
	return len(p), nil
}

func patternByte(i int64) byte { return byte(i*7 + i>>13) }

func testObjLarge(t *testing.T, s store.ObjectStore) {
	if testing.Short() {
		t.Skip("large object skipped in -short mode")
	}
	if err := s.Put(context.Background(), "large", &patternReader{n: largeSize}, largeSize); err != nil {
		t.Fatalf("Put of %d bytes: %v", largeSize, err)
	}
	want := sha256.New()
	io.Copy(want, &patternReader{n: largeSize})
	rc, err := s.GetRange(context.Background(), "large", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, rc)
	rc.Close()
	if err != nil || n != largeSize || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("read back %d bytes (err %v), hash match %v", n, err, bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	// A range straddling the 16 MiB mark (an S3 part boundary).
	off := int64(16<<20 - 1000)
	b, err := getRange(s, "large", off, 5000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		if b[i] != patternByte(off+int64(i)) {
			t.Fatalf("byte %d of the range differs", i)
		}
	}
	if len(b) != 5000 {
		t.Errorf("range returned %d bytes, want 5000", len(b))
	}
}

func testObjLargeShort(t *testing.T, s store.ObjectStore) {
	if testing.Short() {
		t.Skip("large object skipped in -short mode")
	}
	// Short by one byte past a part boundary, and long by one byte.
	if err := s.Put(context.Background(), "large-short", &patternReader{n: largeSize - 1}, largeSize); err == nil {
		t.Error("large short Put succeeded")
	}
	checkAbsent(t, s, "large-short")
	if err := s.Put(context.Background(), "large-long", &patternReader{n: largeSize + 1}, largeSize); err == nil {
		t.Error("large long Put succeeded")
	}
	checkAbsent(t, s, "large-long")
}

func testObjConcurrentReaders(t *testing.T, s store.ObjectStore) {
	data := randomBytes(11, 1<<20)
	put(t, s, "shared", data)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			for j := range 5 {
				off := int64((i*131071 + j*65537) % len(data))
				n := int64(1 + (i*j*4099)%100_000)
				b, err := getRange(s, "shared", off, n)
				if err != nil {
					errs[i] = err
					return
				}
				end := min(off+n, int64(len(data)))
				if !bytes.Equal(b, data[off:end]) {
					errs[i] = fmt.Errorf("range %d+%d differs", off, n)
					return
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("reader %d: %v", i, err)
		}
	}
}

func testObjConcurrentWriters(t *testing.T, s store.ObjectStore) {
	const n = 6
	versions := make([][]byte, n)
	for i := range versions {
		versions[i] = randomBytes(uint64(100+i), 200_000+i*1000)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Put(context.Background(), "contested", bytes.NewReader(versions[i]), int64(len(versions[i])))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	got := mustGetAll(t, s, "contested")
	if !slices.ContainsFunc(versions, func(v []byte) bool { return bytes.Equal(v, got) }) {
		t.Errorf("after concurrent Puts the object (%d bytes) is none of the versions", len(got))
	}
	if keys := listKeys(t, s, ""); !slices.Equal(keys, []string{"contested"}) {
		t.Errorf("List = %q, want [contested]", keys)
	}
}

// cancellingReader cancels the context after yielding after bytes, then
// keeps yielding, as a client that hung up would leave a server's copy
// loop running.
type cancellingReader struct {
	r      io.Reader
	after  int64
	read   int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read >= c.after {
		c.cancel()
	}
	return n, err
}

func testObjCancelMidStream(t *testing.T, s store.ObjectStore) {
	for _, size := range []int64{1 << 20, largeSize} {
		if testing.Short() && size > 1<<20 {
			continue
		}
		key := fmt.Sprintf("cancelled-%d", size)
		ctx, cancel := context.WithCancel(context.Background())
		r := &cancellingReader{r: &patternReader{n: size}, after: size / 2, cancel: cancel}
		err := s.Put(ctx, key, r, size)
		cancel()
		if err == nil {
			t.Errorf("Put of %d bytes succeeded although its context was cancelled midway", size)
		}
		checkAbsent(t, s, key)
	}
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("List after cancelled Puts = %q, want nothing", got)
	}
}

func testObjPing(t *testing.T, s store.ObjectStore) {
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
