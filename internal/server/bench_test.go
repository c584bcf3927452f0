package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/server"
	"github.com/crypt4gh-go/crypt4gh/internal/server/servertest"
	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// The load benchmarks run the real server (SQLite, local objects) on
// loopback. Sizes are bounded: the object is C4GH_BENCH_BYTES (default
// 1 GiB), written once per process into a temporary directory.
//
//	go test -run '^$' -bench 'Server' -benchtime 5x -count 5 ./internal/server
//
// scripts/bench-server.sh runs them with the settings the closing note
// and doc/performance.md report.

var (
	benchOnce sync.Once
	benchEnv  *servertest.Env
	benchFile string // the plaintext, for the raw loopback baseline
	benchSize int64
)

type benchTB struct {
	testing.TB
	dir string
}

func (b benchTB) TempDir() string { return b.dir }
func (b benchTB) Cleanup(func())  {}

// setupBench ingests one large random object, streamed from a file.
func setupBench(b *testing.B) *servertest.Env {
	benchOnce.Do(func() {
		benchSize = 1 << 30
		if v := os.Getenv("C4GH_BENCH_BYTES"); v != "" {
			benchSize, _ = strconv.ParseInt(v, 10, 64)
		}
		dir, err := os.MkdirTemp("", "c4gh-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchFile = filepath.Join(dir, "plain.bin")
		f, err := os.Create(benchFile)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyN(f, rand.Reader, benchSize); err != nil {
			b.Fatal(err)
		}
		f.Seek(0, io.SeekStart)
		benchEnv = servertest.Start(benchTB{TB: b, dir: dir})
		if _, err := benchEnv.Server.Ingest(context.Background(), server.IngestRequest{ID: "big", Dataset: "bench", Body: f, Size: benchSize}); err != nil {
			b.Fatal(err)
		}
		f.Close()
		gdir := testvectors.GenomicsDir(b)
		bam, _ := os.ReadFile(filepath.Join(gdir, "htsnexus_test_NA12878.bam"))
		bai, _ := os.ReadFile(filepath.Join(gdir, "htsnexus_test_NA12878.bam.bai"))
		benchEnv.Ingest("bam", "bench", bam, bai, "BAI")
	})
	return benchEnv
}

func benchKey(b *testing.B) string {
	id, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(id.PublicKey())
}

// BenchmarkServerDownload measures a whole re-encrypted download of the
// large object over loopback: header re-encryption plus the unchanged
// payload streamed from the object store.
func BenchmarkServerDownload(b *testing.B) {
	e := setupBench(b)
	key, tok := benchKey(b), e.Token("bench")
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest("GET", e.URL+"/files/big", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-C4GH-Public-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || n < benchSize {
			b.Fatalf("status %d, %d bytes, %v", resp.StatusCode, n, err)
		}
	}
}

// BenchmarkLoopbackBaseline serves the same number of bytes straight from
// a file with net/http's ServeContent: what loopback HTTP and the disk
// allow, for the ratio.
func BenchmarkLoopbackBaseline(b *testing.B) {
	setupBench(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(benchFile)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer f.Close()
		http.ServeContent(w, r, "", time.Time{}, f)
	}))
	defer srv.Close()
	b.SetBytes(benchSize)
	b.ResetTimer()
	for range b.N {
		resp, err := http.Get(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != benchSize {
			b.Fatalf("%d bytes", n)
		}
	}
}

// BenchmarkServerHeaderReencrypt measures GET /files/{id}/header: the
// whole per-request cost of handing a file to a new key, over loopback.
func BenchmarkServerHeaderReencrypt(b *testing.B) {
	e := setupBench(b)
	key, tok := benchKey(b), e.Token("bench")
	b.ResetTimer()
	for range b.N {
		req, _ := http.NewRequest("GET", e.URL+"/files/big/header", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-C4GH-Public-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkHeaderReencryptLibrary is the library call alone, no HTTP.
func BenchmarkHeaderReencryptLibrary(b *testing.B) {
	e := setupBench(b)
	f, err := e.DB.Get(context.Background(), "big")
	if err != nil {
		b.Fatal(err)
	}
	h, _, err := crypt4gh.ParseHeader(f.Header)
	if err != nil {
		b.Fatal(err)
	}
	reader, _ := crypt4gh.GenerateX25519Identity()
	ids := []crypt4gh.Identity{e.Archive}
	rec := []crypt4gh.Recipient{reader.Recipient()}
	b.ResetTimer()
	for range b.N {
		if _, err := crypt4gh.ReencryptHeader(h, ids, rec, &crypt4gh.ReencryptOptions{Trim: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerHtsgetTicket100Clients issues htsget ticket requests for
// a BAM region from 100 concurrent clients and reports the latency
// percentiles of single requests.
func BenchmarkServerHtsgetTicket100Clients(b *testing.B) {
	e := setupBench(b)
	key, tok := benchKey(b), e.Token("bench")
	const clients = 100
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	url := e.URL + "/reads/bam?referenceName=11&start=4999999&end=5050000"
	lat := make([]time.Duration, 0, b.N)
	var mu sync.Mutex
	next := make(chan struct{})
	var wg sync.WaitGroup
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				req.Header.Set("X-C4GH-Public-Key", key)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				d := time.Since(start)
				if resp.StatusCode != 200 || !bytes.Contains(body, []byte("data:")) {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	for range b.N {
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
