package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/server/servertest"
	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
	"github.com/crypt4gh-go/crypt4gh/remote"
)

// TestDownloadFromArchiveServer runs crypt4gh download against the real
// archive server (SQLite, local objects, dev issuer): DRS, files and
// htsget URLs, ranges and regions, on a generated file and the real BAM
// and VCF test files.
func TestDownloadFromArchiveServer(t *testing.T) {
	e := servertest.Start(t)
	plain := testPlain(5*crypt4gh.SegmentSize + 4321)
	e.Ingest("F1", "ds1", plain, nil, "")
	dir := testvectors.GenomicsDir(t)
	bam, _ := os.ReadFile(filepath.Join(dir, "htsnexus_test_NA12878.bam"))
	bai, _ := os.ReadFile(filepath.Join(dir, "htsnexus_test_NA12878.bam.bai"))
	e.Ingest("NA12878", "ds1", bam, bai, "BAI")
	vcf, _ := os.ReadFile(filepath.Join(dir, "spec-v4.3.vcf.gz"))
	tbi, _ := os.ReadFile(filepath.Join(dir, "spec-v4.3.vcf.gz.tbi"))
	e.Ingest("spec", "ds1", vcf, tbi, "TBI")

	env := map[string]string{envToken: e.Token("ds1")}
	host := strings.TrimPrefix(e.URL, "http://")
	for _, tc := range []struct {
		name string
		args []string
		want []byte
	}{
		{"drs URI", []string{"--plain-http", "drs://" + host + "/F1"}, plain},
		{"drs URL", []string{e.URL + "/ga4gh/drs/v1/objects/F1"}, plain},
		{"drs range", []string{"--range", "70000-140000", e.URL + "/ga4gh/drs/v1/objects/F1"}, plain[70000:140000]},
		{"files open range", []string{"--range=300000-", e.URL + "/files/F1"}, plain[300000:]},
		{"whole BAM through htsget", []string{e.URL + "/reads/NA12878"}, bam},
		{"whole BAM through DRS", []string{"--plain-http", "drs://" + host + "/NA12878"}, bam},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			code, _, stderr := dl(t, env, append([]string{"download", "-o", out}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			got, _ := os.ReadFile(out)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got %d bytes, want %d (or they differ)", len(got), len(tc.want))
			}
		})
	}

	// Regions: the downloaded file holds the same records as the original.
	if _, err := exec.LookPath("samtools"); err != nil {
		t.Fatal("samtools is needed (Debian package samtools; .ci/run installs it)")
	}
	out := filepath.Join(t.TempDir(), "region.bam")
	if code, _, stderr := dl(t, env, "download", "-o", out, "--region", "11:5,000,000-5,050,000", e.URL+"/reads/NA12878"); code != 0 {
		t.Fatalf("BAM region: exit %d: %s", code, stderr)
	}
	if b, err := exec.Command("samtools", "index", out).CombinedOutput(); err != nil {
		t.Fatalf("samtools index: %v %s", err, b)
	}
	got, _ := exec.Command("samtools", "view", out, "11:5000000-5050000").Output()
	want, _ := exec.Command("samtools", "view", filepath.Join(dir, "htsnexus_test_NA12878.bam"), "11:5000000-5050000").Output()
	if len(want) == 0 || !bytes.Equal(got, want) {
		t.Fatalf("BAM region: %d bytes of records, want %d", len(got), len(want))
	}
	if st, _ := os.Stat(out); st.Size() >= int64(len(bam)) {
		t.Fatalf("the region download is as large as the file (%d bytes)", st.Size())
	}
	out = filepath.Join(t.TempDir(), "region.vcf.gz")
	if code, _, stderr := dl(t, env, "download", "-o", out, "--region", "20:14370-1110696", e.URL+"/variants/spec"); code != 0 {
		t.Fatalf("VCF region: exit %d: %s", code, stderr)
	}
	got, _ = exec.Command("bcftools", "view", "--no-version", "-H", "-t", "20:14370-1110696", out).Output()
	want, _ = exec.Command("bcftools", "view", "--no-version", "-H", "-t", "20:14370-1110696", filepath.Join(dir, "spec-v4.3.vcf.gz")).Output()
	if len(want) == 0 || !bytes.Equal(got, want) {
		t.Fatalf("VCF region records differ:\n%s\nwant\n%s", got, want)
	}

	// Failures come back with the server's reason and the network exit code.
	code, _, stderr := dl(t, map[string]string{envToken: e.Token("other")}, "download", "-o", filepath.Join(t.TempDir(), "x"), e.URL+"/files/F1")
	if code != exitNetwork || !strings.Contains(stderr, "403") {
		t.Fatalf("forbidden: exit %d: %s", code, stderr)
	}

	// The library's remote reader: random access over /header + /payload.
	id, _ := crypt4gh.GenerateX25519Identity()
	h := http.Header{"Authorization": {"Bearer " + env[envToken]}}
	ra, err := remote.Open(context.Background(), http.DefaultClient, e.URL+"/files/F1", id, id.PublicKey(), h)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 65535, 65536, 200000, int64(len(plain)) - 10} {
		buf := make([]byte, 10)
		n, err := ra.ReadAt(buf, off)
		if n != 10 || !bytes.Equal(buf, plain[off:off+10]) {
			t.Fatalf("ReadAt(%d): %d bytes, %v", off, n, err)
		}
	}
}
