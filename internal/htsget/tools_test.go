package htsget

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The tests in this file check plans against htslib: they assemble the
// planned byte ranges of a real file, and ask samtools or bcftools whether
// the result is a valid file with the same header and exactly the same
// records in the queried region as the original.

var (
	toolsOnce sync.Once
	toolsErr  error
)

// needTools makes sure samtools, bcftools, tabix and bgzip are on PATH,
// installing the Debian packages when running as root on a machine that
// lacks them. Without them the test is skipped, or fails when
// C4GH_REQUIRE_SERVICES=1 (as in CI, which installs them).
func needTools(t *testing.T) {
	t.Helper()
	toolsOnce.Do(func() {
		missing := func() []string {
			var m []string
			for _, tool := range []string{"samtools", "bcftools", "tabix", "bgzip"} {
				if _, err := exec.LookPath(tool); err != nil {
					m = append(m, tool)
				}
			}
			return m
		}
		if len(missing()) == 0 {
			return
		}
		if _, err := exec.LookPath("apt-get"); err == nil && os.Geteuid() == 0 {
			install := func() error {
				cmd := exec.Command("apt-get", "install", "-y", "-q", "samtools", "bcftools", "tabix")
				cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
				return cmd.Run()
			}
			if install() != nil {
				exec.Command("apt-get", "update", "-q").Run()
				install()
			}
		}
		if m := missing(); len(m) > 0 {
			toolsErr = fmt.Errorf("missing %s (Debian packages samtools, bcftools, tabix)", strings.Join(m, ", "))
		}
	})
	if toolsErr != nil {
		if os.Getenv("C4GH_REQUIRE_SERVICES") == "1" {
			t.Fatal(toolsErr)
		}
		t.Skip(toolsErr)
	}
}

// toolEnv keeps htslib from fetching CRAM references over the network: the
// test files decode without one.
func toolEnv() []string {
	return append(os.Environ(), "REF_PATH=/nonexistent/%s", "REF_CACHE=/nonexistent/%s")
}

// run runs a tool and returns its standard output, failing the test if it
// fails.
func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := runErr(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

func runErr(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = toolEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// planCase is a file with its index and the queries to check on it.
type planCase struct {
	name        string
	format      Format
	path, index string
	indexFormat string
	scan        bool // run Scan, as ingest would
	queries     []planQuery
}

type planQuery struct {
	q Query
	// records says whether the region holds records in the original, so
	// that a test on an empty region cannot pass vacuously by mistake.
	records bool
}

func q(ref string, start, end int64, records bool) planQuery {
	return planQuery{Query{ReferenceName: ref, Start: start, End: end}, records}
}

var (
	qWhole  = planQuery{Query{}, true}
	qHeader = planQuery{Query{Class: "header"}, false}
)

func testdataCases() []planCase {
	return []planCase{
		{name: "NA12878.bam+bai", format: BAM, path: genomicsFile("htsnexus_test_NA12878.bam"), index: genomicsFile("htsnexus_test_NA12878.bam.bai"), indexFormat: IndexBAI,
			queries: []planQuery{qWhole, qHeader, q("11", 0, 0, true), q("11", 5000000, 5001000, true), q("20", 6050000, 6060000, true),
				q("20", 1000000, 1300000, false), q("1", 0, 0, false), q("*", 0, 0, true)}},
		{name: "NA12878.cram+crai", format: CRAM, path: genomicsFile("htsnexus_test_NA12878.cram"), index: genomicsFile("htsnexus_test_NA12878.cram.crai"), indexFormat: IndexCRAI,
			queries: []planQuery{qWhole, qHeader, q("11", 0, 0, true), q("11", 5000000, 5001000, true), q("20", 6090000, 6100000, true),
				q("20", 1000000, 1300000, false), q("1", 0, 0, false), q("*", 0, 0, true)}},
		{name: "sample1.vcf.gz+tbi", format: VCF, path: genomicsFile("sample1-bcbio-cancer.vcf.gz"), index: genomicsFile("sample1-bcbio-cancer.vcf.gz.tbi"), indexFormat: IndexTBI,
			queries: []planQuery{qWhole, qHeader, q("chrM", 0, 0, true), q("chrM", 1000, 3000, true), q("chr22", 0, 100, false), q("chr22", 0, 0, true)}},
		{name: "sample1.bcf+csi", format: BCF, path: genomicsFile("sample1-bcbio-cancer.bcf"), index: genomicsFile("sample1-bcbio-cancer.bcf.csi"), indexFormat: IndexCSI,
			queries: []planQuery{qWhole, qHeader, q("chrM", 0, 0, true), q("chrM", 1000, 3000, true), q("chr22", 0, 100, false), q("chr22", 0, 0, true)}},
		{name: "spec-v4.3.vcf.gz+tbi", format: VCF, path: genomicsFile("spec-v4.3.vcf.gz"), index: genomicsFile("spec-v4.3.vcf.gz.tbi"), indexFormat: IndexTBI,
			queries: []planQuery{qWhole, qHeader, q("20", 0, 0, true), q("20", 1000000, 1240000, true), q("20", 20000, 1000000, false)}},
		{name: "spec-v4.3.bcf+csi", format: BCF, path: genomicsFile("spec-v4.3.bcf"), index: genomicsFile("spec-v4.3.bcf.csi"), indexFormat: IndexCSI,
			queries: []planQuery{qWhole, qHeader, q("20", 0, 0, true), q("20", 1000000, 1240000, true), q("20", 20000, 1000000, false)}},
	}
}

// generatedCases makes files the small test set lacks: CSI indexes of a BAM
// and a VCF, a multi-block VCF written by htslib and the same one written by
// plain bgzip (lines cut at block boundaries), a BCF of it, and a BAM with
// reads larger than a BGZF block and its CRAM.
func generatedCases(t *testing.T, dir string) []planCase {
	t.Helper()
	var cs []planCase
	cp := func(src, dst string) string {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst = filepath.Join(dir, dst)
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return dst
	}

	bam := cp(genomicsFile("htsnexus_test_NA12878.bam"), "na12878.bam")
	run(t, "samtools", "index", "-c", bam)
	base := testdataCases()
	cs = append(cs, planCase{name: "NA12878.bam+csi", format: BAM, path: bam, index: bam + ".csi", indexFormat: IndexCSI, queries: base[0].queries})
	vcf := cp(genomicsFile("sample1-bcbio-cancer.vcf.gz"), "sample1.vcf.gz")
	run(t, "bcftools", "index", "-c", vcf)
	cs = append(cs, planCase{name: "sample1.vcf.gz+csi", format: VCF, path: vcf, index: vcf + ".csi", indexFormat: IndexCSI, queries: base[2].queries})

	text := filepath.Join(dir, "big.vcf")
	if err := os.WriteFile(text, syntheticVCF(), 0o644); err != nil {
		t.Fatal(err)
	}
	bigQueries := []planQuery{qWhole, qHeader, q("chrA", 1000000, 1200000, true), q("chrA", 2500000, 2500100, true),
		q("chrA", 3990000, 4000000, true), q("chrB", 0, 0, true), q("chrC", 0, 0, false), q("chrB", 2900000, 3000000, false)}
	htslibVCF := filepath.Join(dir, "big.htslib.vcf.gz")
	run(t, "bcftools", "view", "-Oz", "-o", htslibVCF, text)
	run(t, "bcftools", "index", "-t", htslibVCF)
	cs = append(cs, planCase{name: "synthetic.vcf.gz(bcftools)+tbi", format: VCF, path: htslibVCF, index: htslibVCF + ".tbi", indexFormat: IndexTBI, scan: true, queries: bigQueries})
	bgzipVCF := filepath.Join(dir, "big.bgzip.vcf.gz")
	if err := os.WriteFile(bgzipVCF, run(t, "bgzip", "-c", text), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "tabix", "-p", "vcf", bgzipVCF)
	cs = append(cs, planCase{name: "synthetic.vcf.gz(bgzip)+tbi", format: VCF, path: bgzipVCF, index: bgzipVCF + ".tbi", indexFormat: IndexTBI, scan: true, queries: bigQueries})
	bcf := filepath.Join(dir, "big.bcf")
	run(t, "bcftools", "view", "-Ob", "-o", bcf, text)
	run(t, "bcftools", "index", "-c", bcf)
	cs = append(cs, planCase{name: "synthetic.bcf+csi", format: BCF, path: bcf, index: bcf + ".csi", indexFormat: IndexCSI, scan: true, queries: bigQueries})

	sam := filepath.Join(dir, "long.sam")
	if err := os.WriteFile(sam, syntheticSAM(), 0o644); err != nil {
		t.Fatal(err)
	}
	longBAM := filepath.Join(dir, "long.bam")
	run(t, "samtools", "sort", "-o", longBAM, sam)
	run(t, "samtools", "index", longBAM)
	longQueries := []planQuery{qWhole, qHeader, q("chrA", 500000, 600000, true), q("chrA", 1000000, 1000001, true),
		q("chrB", 0, 0, true), q("chrC", 0, 0, false), q("*", 0, 0, true)}
	cs = append(cs, planCase{name: "long-reads.bam+bai", format: BAM, path: longBAM, index: longBAM + ".bai", indexFormat: IndexBAI, scan: true, queries: longQueries})
	longCRAM := filepath.Join(dir, "long.cram")
	run(t, "samtools", "view", "-C", "--output-fmt-option", "no_ref=1", "--output-fmt-option", "seqs_per_slice=500", "-o", longCRAM, longBAM)
	run(t, "samtools", "index", longCRAM)
	cs = append(cs, planCase{name: "long-reads.cram+crai", format: CRAM, path: longCRAM, index: longCRAM + ".crai", indexFormat: IndexCRAI, scan: true, queries: longQueries})
	return cs
}

// syntheticVCF returns a few MB of sorted VCF over three contigs, the last
// without records, with poorly compressible INFO so that the bgzipped file
// spans many blocks.
func syntheticVCF() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.WriteString("##fileformat=VCFv4.2\n")
	b.WriteString("##contig=<ID=chrA,length=5000000>\n##contig=<ID=chrB,length=3000000>\n##contig=<ID=chrC,length=1000000>\n")
	b.WriteString("##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Depth, of reads\">\n")
	b.WriteString("##INFO=<ID=NOTE,Number=1,Type=String,Description=\"Filler\">\n")
	b.WriteString("##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n")
	b.WriteString("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n")
	bases := "ACGT"
	randSeq := func(n int) string {
		s := make([]byte, n)
		for i := range s {
			s[i] = bases[rng.IntN(4)]
		}
		return string(s)
	}
	for _, c := range []struct {
		name string
		last int
	}{{"chrA", 4_000_000}, {"chrB", 2_800_000}} {
		for pos := 1 + rng.IntN(100); pos < c.last; pos += 1 + rng.IntN(150) {
			ref := randSeq(1)
			if rng.IntN(20) == 0 {
				ref = randSeq(2 + rng.IntN(60)) // a deletion spanning later positions
			}
			fmt.Fprintf(&b, "%s\t%d\t.\t%s\t%s\t%d\tPASS\tDP=%d;NOTE=%s\tGT\t0/1\t1/1\n",
				c.name, pos, ref, randSeq(1), rng.IntN(100), rng.IntN(500), randSeq(8+rng.IntN(24)))
		}
	}
	return b.Bytes()
}

// syntheticSAM returns unsorted SAM over three references, the last without
// reads, with short reads, a few reads whose BAM records exceed a BGZF
// block, and unplaced unmapped reads.
func syntheticSAM() []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	b.WriteString("@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chrA\tLN:2000000\n@SQ\tSN:chrB\tLN:1000000\n@SQ\tSN:chrC\tLN:500000\n")
	read := func(name, ref string, pos, n int) {
		seq, qual := make([]byte, n), make([]byte, n)
		for i := range seq {
			seq[i] = "ACGT"[rng.IntN(4)]
			qual[i] = byte('!' + rng.IntN(40))
		}
		flag, cigar, mapq := 0, fmt.Sprintf("%dM", n), 60
		if ref == "*" {
			flag, cigar, mapq = 4, "*", 0
		}
		fmt.Fprintf(&b, "%s\t%d\t%s\t%d\t%d\t%s\t*\t0\t0\t%s\t%s\n", name, flag, ref, pos, mapq, cigar, seq, qual)
	}
	for i := range 6000 {
		read(fmt.Sprintf("a%d", i), "chrA", 1+rng.IntN(1_900_000), 100)
	}
	for i := range 12 {
		read(fmt.Sprintf("long%d", i), "chrA", 1+rng.IntN(1_900_000), 60000+rng.IntN(40000))
	}
	read("longfixed", "chrA", 950000, 90000) // over chrA:1000000
	for i := range 1500 {
		read(fmt.Sprintf("b%d", i), "chrB", 1+rng.IntN(900_000), 100)
	}
	for i := range 60 {
		read(fmt.Sprintf("u%d", i), "*", 0, 100)
	}
	return b.Bytes()
}

// region renders a query as a samtools/bcftools region string.
func region(q Query) string {
	switch {
	case q.ReferenceName == "*", q.Start == 0 && q.End == 0:
		return q.ReferenceName
	}
	return fmt.Sprintf("%s:%d-%d", q.ReferenceName, q.Start+1, q.End)
}

func queryName(q Query) string {
	switch {
	case q.Class == "header":
		return "class=header"
	case q.ReferenceName == "":
		return "whole file"
	}
	return region(q)
}

// TestPlanWithTools is the end-to-end check of the planner on real files.
// Its log (go test -v) lists, for each query, how many bytes the plan
// takes against the file size.
func TestPlanWithTools(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	cases := append(testdataCases(), generatedCases(t, dir)...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file, err := os.ReadFile(c.path)
			if err != nil {
				t.Fatal(err)
			}
			index, err := os.ReadFile(c.index)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Inspect(c.format, bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			m.IndexFormat = c.indexFormat
			if c.scan {
				if err := Scan(&m, bytes.NewReader(file)); err != nil {
					t.Fatalf("Scan: %v", err)
				}
			}
			if err := ValidateIndex(m, index); err != nil {
				t.Fatalf("ValidateIndex: %v", err)
			}
			t.Logf("%s: %d bytes, header %d bytes, %d joined runs", c.name, m.FileSize, m.HeaderEnd, len(m.Joined))
			if len(m.Joined) > 0 {
				checkJoinedMatters(t, c, m, file, index, filepath.Join(dir, "unjoined"))
			}
			for i, pq := range c.queries {
				rs, err := Plan(m, index, pq.q)
				if err != nil {
					t.Fatalf("Plan(%s): %v", queryName(pq.q), err)
				}
				checkRanges(t, m, rs)
				var out []byte
				for _, r := range rs {
					out = append(out, file[r.Start:r.End]...)
				}
				t.Logf("  %-22s %9d bytes = %5.1f%% of the file, %d ranges", queryName(pq.q), len(out), 100*float64(len(out))/float64(len(file)), len(rs))
				ext := filepath.Ext(c.path)
				if strings.HasSuffix(c.path, ".vcf.gz") {
					ext = ".vcf.gz"
				}
				got := filepath.Join(dir, fmt.Sprintf("%s.%d%s", strings.NewReplacer("+", "_", "(", "_", ")", "_").Replace(c.name), i, ext))
				if err := os.WriteFile(got, out, 0o644); err != nil {
					t.Fatal(err)
				}
				if pq.q.Class != "header" && pq.q.ReferenceName == "" && !bytes.Equal(out, file) {
					t.Errorf("whole-file query did not plan the whole file")
				}
				if c.format == BAM || c.format == CRAM {
					checkReads(t, c, pq, got)
				} else {
					checkVariants(t, c, pq, got)
				}
			}
		})
	}
}

// checkRanges checks the contract of Plan's result.
func checkRanges(t *testing.T, m Meta, rs []Range) {
	t.Helper()
	if len(rs) == 0 || rs[0].Start != 0 || rs[0].End < m.HeaderEnd {
		t.Fatalf("ranges %v do not start with the header [0,%d)", rs, m.HeaderEnd)
	}
	for i, r := range rs {
		if r.Start >= r.End || r.End > m.FileSize || (i > 0 && r.Start <= rs[i-1].End) {
			t.Fatalf("ranges %v are not sorted, merged and inside the file", rs)
		}
	}
	if m.EOF != [2]int64{} && rs[len(rs)-1].End != m.FileSize {
		t.Fatalf("ranges %v do not end with the EOF marker", rs)
	}
}

func checkReads(t *testing.T, c planCase, pq planQuery, got string) {
	t.Helper()
	if _, err := runErr("samtools", "quickcheck", "-v", got); err != nil {
		t.Fatalf("%s: assembled file fails samtools quickcheck: %v", queryName(pq.q), err)
	}
	if !bytes.Equal(run(t, "samtools", "view", "--no-PG", "-H", got), run(t, "samtools", "view", "--no-PG", "-H", c.path)) {
		t.Errorf("%s: header differs", queryName(pq.q))
	}
	// Every record must decode.
	run(t, "samtools", "view", "-c", got)
	if pq.q.ReferenceName == "" {
		return
	}
	run(t, "samtools", "index", got)
	reg := region(pq.q)
	want := run(t, "samtools", "view", "--no-PG", c.path, reg)
	have := run(t, "samtools", "view", "--no-PG", got, reg)
	if pq.records != (len(want) > 0) {
		t.Fatalf("%s: test expects records=%v, the original has %d bytes of them", reg, pq.records, len(want))
	}
	if !bytes.Equal(want, have) {
		t.Errorf("%s: records differ: original %d lines, assembled %d lines", reg, bytes.Count(want, []byte("\n")), bytes.Count(have, []byte("\n")))
	}
}

func checkVariants(t *testing.T, c planCase, pq planQuery, got string) {
	t.Helper()
	if !bytes.Equal(run(t, "bcftools", "view", "--no-version", "-h", got), run(t, "bcftools", "view", "--no-version", "-h", c.path)) {
		t.Errorf("%s: header differs", queryName(pq.q))
	}
	// Every record must parse, and the file must be sorted and indexable.
	run(t, "bcftools", "view", "-H", "-o", "/dev/null", got)
	if pq.q.ReferenceName == "" {
		return
	}
	if c.format == VCF {
		run(t, "tabix", "-f", "-p", "vcf", got)
	} else {
		run(t, "bcftools", "index", "-f", got)
	}
	reg := region(pq.q)
	want := run(t, "bcftools", "view", "--no-version", "-H", "-r", reg, c.path)
	have := run(t, "bcftools", "view", "--no-version", "-H", "-r", reg, got)
	if pq.records != (len(want) > 0) {
		t.Fatalf("%s: test expects records=%v, the original has %d bytes of them", reg, pq.records, len(want))
	}
	if !bytes.Equal(want, have) {
		t.Errorf("%s: records differ: original %d lines, assembled %d lines", reg, bytes.Count(want, []byte("\n")), bytes.Count(have, []byte("\n")))
	}
}

// checkJoinedMatters shows that Meta.Joined is load-bearing for a file whose
// records straddle blocks: planning without it cuts some record, and
// samtools or bcftools then rejects the result.
func checkJoinedMatters(t *testing.T, c planCase, m Meta, file, index []byte, path string) {
	t.Helper()
	m.Joined = nil
	for _, pq := range c.queries {
		if pq.q.ReferenceName == "" {
			continue
		}
		rs, err := Plan(m, index, pq.q)
		if err != nil {
			t.Fatalf("Plan without Joined: %v", err)
		}
		var out []byte
		for _, r := range rs {
			out = append(out, file[r.Start:r.End]...)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		var err2 error
		if c.format == BAM || c.format == CRAM {
			_, err2 = runErr("samtools", "view", "-c", path)
		} else {
			_, err2 = runErr("bcftools", "view", "-H", "-o", "/dev/null", path)
		}
		if err2 != nil {
			return // a cut record was detected, as expected
		}
	}
	t.Errorf("every plan made without Meta.Joined still parsed; the test data no longer exercises it")
}
