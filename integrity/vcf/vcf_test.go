package vcf

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// readAll opens b and returns every site.
func readAll(t testing.TB, b []byte, opts Options) (*Reader, []Site) {
	t.Helper()
	r, err := Open(bytes.NewReader(b), opts)
	if err != nil {
		t.Fatal(err)
	}
	var sites []Site
	for {
		s, err := r.Next()
		if err == io.EOF {
			return r, sites
		}
		if err != nil {
			t.Fatal(err)
		}
		sites = append(sites, s)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// describe decodes a canonical record for test failure messages.
func describe(rec []byte) string {
	var sb strings.Builder
	d := rec
	u8 := func() byte { v := d[0]; d = d[1:]; return v }
	u32 := func() uint32 { v := binary.BigEndian.Uint32(d); d = d[4:]; return v }
	str := func() string { n := u32(); s := string(d[:n]); d = d[n:]; return s }
	val := func() string {
		k, n := u8(), u32()
		switch k {
		case kindFlag:
			return "flag"
		case kindString:
			s := string(d[:n])
			d = d[n:]
			return fmt.Sprintf("%q", s)
		}
		var parts []string
		for i := uint32(0); i < n; i++ {
			v := u32()
			if k == kindFloat {
				parts = append(parts, fmt.Sprintf("%g(%08x)", math.Float32frombits(v), v))
			} else {
				parts = append(parts, fmt.Sprint(int32(v)))
			}
		}
		return fmt.Sprintf("k%d[%s]", k, strings.Join(parts, ","))
	}
	fmt.Fprintf(&sb, "v%d %s:", u8(), str())
	fmt.Fprintf(&sb, "%d", binary.BigEndian.Uint64(d))
	d = d[8:]
	fmt.Fprintf(&sb, " id=%q alleles=", str())
	for n := u32(); n > 0; n-- {
		sb.WriteString(str() + ",")
	}
	fmt.Fprintf(&sb, " qual=%08x filters=", u32())
	for n := u32(); n > 0; n-- {
		sb.WriteString(str() + ";")
	}
	sb.WriteString(" info=")
	for n := u32(); n > 0; n-- {
		fmt.Fprintf(&sb, "%s=%s;", str(), val())
	}
	nf, ns := u32(), u32()
	fmt.Fprintf(&sb, " format(%d samples)=", ns)
	for ; nf > 0; nf-- {
		fmt.Fprintf(&sb, "%s:", str())
		for s := uint32(0); s < ns; s++ {
			sb.WriteString(val() + " ")
		}
	}
	if len(d) != 0 {
		fmt.Fprintf(&sb, " TRAILING %x", d)
	}
	return sb.String()
}

type pair struct{ name, text, bcf string }

func pairs(t *testing.T) []pair {
	g := testvectors.GenomicsDir(t)
	return []pair{
		{"spec-v4.3", filepath.Join(g, "spec-v4.3.vcf.gz"), filepath.Join(g, "spec-v4.3.bcf")},
		{"bcbio", filepath.Join(g, "sample1-bcbio-cancer.vcf.gz"), "testdata/bcbio.bcf"},
		{"edge", "testdata/edge.vcf", "testdata/edge.bcf"},
		{"edge-bgzf", "testdata/edge.vcf.gz", "testdata/edge.bcf"},
	}
}

// TestTextAndBCFAgree is the central property: the same calls read from
// VCF text and from BCF give byte-identical sites.
func TestTextAndBCFAgree(t *testing.T) {
	for _, p := range pairs(t) {
		t.Run(p.name, func(t *testing.T) {
			rt, text := readAll(t, readFile(t, p.text), Options{})
			rb, bcf := readAll(t, readFile(t, p.bcf), Options{})
			if len(text) == 0 {
				t.Fatal("no sites")
			}
			if fmt.Sprint(rt.Contigs()) != fmt.Sprint(rb.Contigs()) {
				t.Errorf("contigs differ: %v vs %v", rt.Contigs(), rb.Contigs())
			}
			if len(text) != len(bcf) {
				t.Fatalf("%d sites from text, %d from BCF", len(text), len(bcf))
			}
			for i := range text {
				a, b := text[i], bcf[i]
				if a.Contig != b.Contig || a.Pos != b.Pos || len(a.Records) != len(b.Records) {
					t.Fatalf("site %d: %d:%d (%d records) vs %d:%d (%d records)", i, a.Contig, a.Pos, len(a.Records), b.Contig, b.Pos, len(b.Records))
				}
				for j := range a.Records {
					if !bytes.Equal(a.Records[j], b.Records[j]) {
						t.Errorf("site %d record %d differs:\ntext %s\nbcf  %s", i, j, describe(a.Records[j]), describe(b.Records[j]))
					}
				}
				if !bytes.Equal(a.Entry(), b.Entry()) {
					t.Errorf("site %d: entries differ", i)
				}
			}
		})
	}
}

// TestShippedBCBIOPairDiffers: the shipped sample1-bcbio-cancer.bcf was
// made from a VCF that declared INFO/GC as Integer (the .vcf.gz says Float,
// with values like 46.02). The encoding must notice, and only there.
func TestShippedBCBIOPairDiffers(t *testing.T) {
	g := testvectors.GenomicsDir(t)
	_, text := readAll(t, readFile(t, filepath.Join(g, "sample1-bcbio-cancer.vcf.gz")), Options{})
	_, bcf := readAll(t, readFile(t, filepath.Join(g, "sample1-bcbio-cancer.bcf")), Options{})
	if len(text) != len(bcf) || len(text) == 0 {
		t.Fatalf("%d vs %d sites", len(text), len(bcf))
	}
	for i := range text {
		a, b := describe(text[i].Records[0]), describe(bcf[i].Records[0])
		if a == b {
			t.Errorf("site %d: identical despite the GC type change", i)
			continue
		}
		if !strings.Contains(a, "GC=k2[") || !strings.Contains(b, "GC=k1[") {
			t.Errorf("site %d differs elsewhere than GC:\n%s\n%s", i, a, b)
		}
	}
}

// TestBcftoolsConversions converts each test VCF with the installed
// bcftools to compressed and uncompressed BCF and compares.
func TestBcftoolsConversions(t *testing.T) {
	bcftools, err := exec.LookPath("bcftools")
	if err != nil {
		t.Skip("bcftools not installed (apt-get install -y bcftools); the committed testdata/*.bcf cover the same property")
	}
	g := testvectors.GenomicsDir(t)
	dir := t.TempDir()
	for _, in := range []string{"testdata/edge.vcf", filepath.Join(g, "spec-v4.3.vcf.gz"), filepath.Join(g, "sample1-bcbio-cancer.vcf.gz")} {
		_, want := readAll(t, readFile(t, in), Options{})
		for _, mode := range []string{"-Ob", "-Ou", "-Oz", "-Ov"} {
			out := filepath.Join(dir, "out")
			if b, err := exec.Command(bcftools, "view", "--no-version", mode, "-o", out, in).CombinedOutput(); err != nil {
				t.Fatalf("bcftools %s %s: %v\n%s", mode, in, err, b)
			}
			_, got := readAll(t, readFile(t, out), Options{})
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s %s: sites differ", in, mode)
			}
		}
	}
}

// TestCanonicalRecordMatchesReader: a verifier holding the header and one
// disclosed line rebuilds exactly the record the reader produced.
func TestCanonicalRecordMatchesReader(t *testing.T) {
	raw := readFile(t, "testdata/edge.vcf")
	r, sites := readAll(t, raw, Options{})
	var lines []string
	var header strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if strings.HasPrefix(l, "#") {
			header.WriteString(l + "\n")
		} else {
			lines = append(lines, l)
		}
	}
	h, err := ParseHeader(header.String(), nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(h.Contigs()) != fmt.Sprint(r.Contigs()) || fmt.Sprint(h.Samples()) != "[S1 S2 S3]" {
		t.Fatalf("header: %v %v", h.Contigs(), h.Samples())
	}
	var recs [][]byte
	for _, s := range sites {
		recs = append(recs, s.Records...)
	}
	if len(recs) != len(lines) {
		t.Fatalf("%d records for %d lines", len(recs), len(lines))
	}
	for i, l := range lines {
		got, err := CanonicalRecord(l, h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, recs[i]) {
			t.Errorf("line %d: CanonicalRecord differs from Next", i+1)
		}
	}
	// The encoding sees every field: changing any one changes the bytes.
	base := lines[0]
	cols := strings.Split(base, "\t")
	for c := range cols {
		mod := append([]string(nil), cols...)
		mod[c] = strings.Replace(mod[c], "1", "2", 1)
		if mod[c] == cols[c] {
			continue
		}
		got, err := CanonicalRecord(strings.Join(mod, "\t"), h)
		if err == nil && bytes.Equal(got, recs[0]) {
			t.Errorf("changing column %d (%q→%q) left the encoding unchanged", c+1, cols[c], mod[c])
		}
	}
}

func TestEdgeValues(t *testing.T) {
	_, sites := readAll(t, readFile(t, "testdata/edge.vcf"), Options{})
	want := []struct {
		contig int
		pos    int64
		n      int
	}{{0, 1, 2}, {0, 17, 1}, {0, 1000, 1}, {1, 42, 1}, {2, 100, 1}}
	if len(sites) != len(want) {
		t.Fatalf("%d sites, want %d", len(sites), len(want))
	}
	for i, w := range want {
		if s := sites[i]; s.Contig != w.contig || s.Pos != w.pos || len(s.Records) != w.n {
			t.Errorf("site %d: %d:%d x%d, want %d:%d x%d", i, s.Contig, s.Pos, len(s.Records), w.contig, w.pos, w.n)
		}
	}
	d := describe(sites[1].Records[0])
	for _, frag := range []string{"NaN(7fc00000)", "+Inf(7f800000)", "-Inf(ff800000)", "-0(80000000)", "(7f800001)"} {
		if !strings.Contains(d, frag) {
			t.Errorf("record at chr1:17 lacks %s: %s", frag, d)
		}
	}
	// 0|0 and 0/0 encode alike (first allele's phase bit), 1|1 keeps the
	// second allele's bit; "1" haploid stays 4, "1|0|1" triploid.
	if d := describe(sites[2].Records[0]); !strings.Contains(d, "k4[0] k4[2] k4[4,3,5]") {
		t.Errorf("genotypes at chr1:1000: %s", d)
	}
}

func TestEntry(t *testing.T) {
	if Entry(nil) != nil {
		t.Fatal("empty entry must be empty")
	}
	recs := [][]byte{[]byte("a"), {}, []byte("xyz")}
	e := Entry(recs)
	got, err := SplitEntry(e)
	if err != nil || len(got) != 3 || string(got[0]) != "a" || len(got[1]) != 0 || string(got[2]) != "xyz" {
		t.Fatalf("SplitEntry: %q %v", got, err)
	}
	for _, bad := range [][]byte{{2, 0, 0, 0, 1}, e[:len(e)-1], append(bytes.Clone(e), 0), {Version, 0, 0, 0, 0}, {Version, 0xff, 0xff, 0xff, 0xff}} {
		if _, err := SplitEntry(bad); !errors.Is(err, ErrEntry) {
			t.Errorf("SplitEntry(%x) = %v", bad, err)
		}
	}
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

const miniHeader = "##fileformat=VCFv4.3\n##contig=<ID=1,length=100>\n##contig=<ID=2,length=50>\n" +
	"##INFO=<ID=DP,Number=1,Type=Integer,Description=\"d\">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"

func TestMalformed(t *testing.T) {
	edgeBCF := readFile(t, "testdata/edge.bcf")
	edgeGZ := readFile(t, "testdata/edge.vcf.gz")
	rawBCF, err := io.ReadAll(mustGunzip(t, edgeBCF))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		opts Options
		want error
	}{
		{"empty", nil, Options{}, ErrFormat},
		{"garbage", []byte("hello world, not a VCF"), Options{}, ErrFormat},
		{"gzip garbage", gz(t, []byte("not a VCF either")), Options{}, ErrFormat},
		{"bad POS", []byte(miniHeader + "1\tx\t.\tA\tC\t.\t.\t.\n"), Options{}, ErrRecord},
		{"POS zero", []byte(miniHeader + "1\t0\t.\tA\tC\t.\t.\t.\n"), Options{}, ErrRecord},
		{"POS beyond contig", []byte(miniHeader + "1\t101\t.\tA\tC\t.\t.\t.\n"), Options{}, ErrRecord},
		{"unknown contig", []byte(miniHeader + "3\t1\t.\tA\tC\t.\t.\t.\n"), Options{}, ErrRecord},
		{"unsorted positions", []byte(miniHeader + "1\t5\t.\tA\tC\t.\t.\t.\n1\t4\t.\tA\tC\t.\t.\t.\n"), Options{}, ErrUnsorted},
		{"unsorted contigs", []byte(miniHeader + "2\t5\t.\tA\tC\t.\t.\t.\n1\t4\t.\tA\tC\t.\t.\t.\n"), Options{}, ErrUnsorted},
		{"interleaved contigs", []byte(miniHeader + "1\t5\t.\tA\tC\t.\t.\t.\n2\t4\t.\tA\tC\t.\t.\t.\n1\t6\t.\tA\tC\t.\t.\t.\n"), Options{}, ErrUnsorted},
		{"bad INFO integer", []byte(miniHeader + "1\t5\t.\tA\tC\t.\t.\tDP=x\n"), Options{}, ErrRecord},
		{"reserved INFO integer", []byte(miniHeader + "1\t5\t.\tA\tC\t.\t.\tDP=-2147483648\n"), Options{}, ErrRecord},
		{"duplicate INFO", []byte(miniHeader + "1\t5\t.\tA\tC\t.\t.\tDP=1;DP=2\n"), Options{}, ErrRecord},
		{"bad QUAL", []byte(miniHeader + "1\t5\t.\tA\tC\tq\t.\t.\n"), Options{}, ErrRecord},
		{"too few columns", []byte(miniHeader + "1\t5\t.\tA\tC\n"), Options{}, ErrRecord},
		{"record too large", []byte(miniHeader + "1\t5\t.\tA\tC\t.\t.\tDP=" + strings.Repeat("1", 200) + "\n"), Options{MaxRecordSize: 100}, ErrTooLarge},
		{"no contig length", []byte("##fileformat=VCFv4.3\n##contig=<ID=1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"), Options{}, ErrHeader},
		{"no #CHROM line", []byte("##fileformat=VCFv4.3\n##contig=<ID=1,length=5>\n"), Options{}, ErrHeader},
		{"too many contigs", []byte("##fileformat=VCFv4.3\n##contig=<ID=1,length=5>\n##contig=<ID=2,length=5>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"), Options{MaxContigs: 1}, ErrTooLarge},
		{"header too large", []byte(miniHeader), Options{MaxHeaderSize: 50}, ErrTooLarge},
		{"truncated gzip", edgeGZ[:len(edgeGZ)/2], Options{}, ErrTruncated},
		{"BGZF without EOF block", edgeGZ[:len(edgeGZ)-28], Options{}, ErrTruncated},
		{"truncated BCF", edgeBCF[:len(edgeBCF)-40], Options{}, ErrTruncated},
		{"BCF record cut", gz(t, rawBCF[:len(rawBCF)-5]), Options{}, ErrTruncated},
		{"BCF record too large", edgeBCF, Options{MaxRecordSize: 50}, ErrTooLarge},
		{"BCF header too large", edgeBCF, Options{MaxHeaderSize: 100}, ErrTooLarge},
		{"BCF bad version", append([]byte("BCF\x02\x09"), rawBCF[5:]...), Options{}, ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := drain(tc.in, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func mustGunzip(t testing.TB, b []byte) io.Reader {
	z, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// drain reads all of b and returns the first error other than io.EOF.
func drain(b []byte, opts Options) error {
	r, err := Open(bytes.NewReader(b), opts)
	if err != nil {
		return err
	}
	for i := 0; ; i++ {
		_, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if _, again := r.Next(); again != err {
				return fmt.Errorf("error not sticky: %v then %v", err, again)
			}
			return err
		}
	}
}

func TestFAI(t *testing.T) {
	hdr := "##fileformat=VCFv4.3\n##contig=<ID=1>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
	in := []byte(hdr + "1\t7\t.\tA\tC\t.\t.\t.\nX\t3\t.\tG\tT\t.\t.\t.\n")
	fai := "1\t10\t3\t60\t61\nX\t5\t20\t60\t61\n"
	r, sites := readAll(t, in, Options{FAI: strings.NewReader(fai)})
	if got := fmt.Sprint(r.Contigs()); got != "[{1 10} {X 5}]" {
		t.Fatalf("contigs %s", got)
	}
	if len(sites) != 2 || sites[1].Contig != 1 || sites[1].Pos != 3 {
		t.Fatalf("sites %+v", sites)
	}
	for _, bad := range []string{"1\tx\n", "1\t11\n", "1\n"} {
		_, err := Open(bytes.NewReader([]byte("##fileformat=VCFv4.3\n##contig=<ID=1,length=10>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")), Options{FAI: strings.NewReader(bad)})
		if !errors.Is(err, ErrHeader) {
			t.Errorf("fai %q: got %v", bad, err)
		}
	}
}

func seeds(f *testing.F, paths ...string) {
	n := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		n++
	}
	if n == 0 {
		f.Fatal("empty seed corpus")
	}
}

func fuzzOpen(t *testing.T, b []byte) {
	r, err := Open(bytes.NewReader(b), Options{MaxRecordSize: 1 << 16, MaxHeaderSize: 1 << 16, MaxContigs: 64})
	if err != nil {
		return
	}
	for i := 0; i < 1000; i++ {
		s, err := r.Next()
		if err != nil {
			return
		}
		for _, rec := range s.Records {
			if len(rec) == 0 || rec[0] != Version {
				t.Fatalf("bad record %x", rec)
			}
		}
		got, err := SplitEntry(s.Entry())
		if err != nil || len(got) != len(s.Records) {
			t.Fatalf("entry does not split back: %v", err)
		}
	}
}

func FuzzVCF(f *testing.F) {
	g := testvectors.GenomicsDir(f)
	seeds(f, "testdata/edge.vcf", "testdata/edge.vcf.gz", filepath.Join(g, "spec-v4.3.vcf.gz"))
	f.Add([]byte(miniHeader + "1\t5\t.\tA\tC\t1\tPASS\tDP=1\n"))
	f.Fuzz(fuzzOpen)
}

func FuzzBCF(f *testing.F) {
	g := testvectors.GenomicsDir(f)
	seeds(f, "testdata/edge.bcf", filepath.Join(g, "spec-v4.3.bcf"))
	// Uncompressed BCF lets the fuzzer reach the record decoder directly.
	for _, p := range []string{"testdata/edge.bcf", filepath.Join(g, "spec-v4.3.bcf")} {
		raw, err := io.ReadAll(mustGunzip(f, readFile(f, p)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Fuzz(fuzzOpen)
}

// BenchmarkText measures site throughput on a synthetic single-sample VCF.
func BenchmarkText(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("##fileformat=VCFv4.3\n##contig=<ID=1,length=100000000>\n" +
		"##INFO=<ID=DP,Number=1,Type=Integer,Description=\"d\">\n##INFO=<ID=AF,Number=A,Type=Float,Description=\"f\">\n" +
		"##FORMAT=<ID=GT,Number=1,Type=String,Description=\"g\">\n##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"a\">\n" +
		"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n")
	const n = 10000
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&buf, "1\t%d\trs%d\tA\tC\t50.5\tPASS\tDP=%d;AF=0.5\tGT:AD\t0/1:%d,%d\n", i*7, i, i%300, i%50, i%40)
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		_, sites := readAll(b, in, Options{})
		if len(sites) != n {
			b.Fatal(len(sites))
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestHeaderEncoding: the VCF and BCF forms of one file have the same
// header encoding, and it changes with a sample name or a contig length.
func TestHeaderEncoding(t *testing.T) {
	rt, _ := readAll(t, readFile(t, "testdata/edge.vcf"), Options{})
	rb, _ := readAll(t, readFile(t, "testdata/edge.bcf"), Options{})
	a, _ := rt.Header().MarshalBinary()
	b, _ := rb.Header().MarshalBinary()
	if !bytes.Equal(a, b) {
		t.Fatal("VCF and BCF headers encode differently")
	}
	raw := string(readFile(t, "testdata/edge.vcf"))
	for _, mod := range []string{
		strings.Replace(raw, "\tS2\t", "\tS9\t", 1),
		strings.Replace(raw, "ID=chr2,length=500", "ID=chr2,length=501", 1),
		strings.Replace(raw, "ID=AF,Number=A,Type=Float", "ID=AF,Number=A,Type=String", 1),
	} {
		r, err := Open(strings.NewReader(mod), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := r.Header().MarshalBinary(); bytes.Equal(a, c) {
			t.Error("header change not reflected in the encoding")
		}
	}
}

// TestMultiMemberGzip: plain gzip members concatenated (cat a.gz b.gz)
// read as one stream, whatever the member boundaries cut.
func TestMultiMemberGzip(t *testing.T) {
	raw := readFile(t, "testdata/edge.vcf")
	_, want := readAll(t, raw, Options{})
	for _, cut := range []int{1, 100, len(raw) / 2, len(raw) - 1} {
		in := append(gz(t, raw[:cut]), gz(t, raw[cut:])...)
		_, got := readAll(t, in, Options{})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("cut at %d: sites differ", cut)
		}
	}
}
