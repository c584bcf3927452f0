package htsget

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(genomicsFile(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// inspected returns the Meta of a test file as ingest would store it.
func inspected(t testing.TB, f Format, name, indexFormat string) (Meta, []byte) {
	t.Helper()
	b := readFile(t, name)
	m, err := Inspect(f, bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Inspect(%s): %v", name, err)
	}
	m.IndexFormat = indexFormat
	return m, b
}

func TestInspect(t *testing.T) {
	tests := []struct {
		file      string
		format    Format
		nRefs     int
		firstRef  string
		headerEnd int64
		eofLen    int64
	}{
		{"htsnexus_test_NA12878.bam", BAM, 86, "1", 4668, 28},
		{"htsnexus_test_NA12878.cram", CRAM, 86, "1", 6134, 38},
		{"sample1-bcbio-cancer.vcf.gz", VCF, 2, "chrM", 3466, 28},
		{"sample1-bcbio-cancer.bcf", BCF, 2, "chrM", 3530, 28},
		{"spec-v4.3.vcf.gz", VCF, 1, "20", 823, 28},
		{"spec-v4.3.bcf", BCF, 1, "20", 950, 28},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readFile(t, tt.file)
			f, err := DetectFormat(bytes.NewReader(b), int64(len(b)))
			if err != nil || f != tt.format {
				t.Fatalf("DetectFormat = %q, %v; want %q", f, err, tt.format)
			}
			m, err := Inspect(tt.format, bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if len(m.References) != tt.nRefs || m.References[0] != tt.firstRef {
				t.Errorf("references = %d starting %q; want %d starting %q", len(m.References), m.References[0], tt.nRefs, tt.firstRef)
			}
			if m.HeaderEnd != tt.headerEnd {
				t.Errorf("HeaderEnd = %d; want %d", m.HeaderEnd, tt.headerEnd)
			}
			if m.FileSize != int64(len(b)) || m.EOF != [2]int64{int64(len(b)) - tt.eofLen, int64(len(b))} {
				t.Errorf("FileSize %d, EOF %v; want %d, the last %d bytes", m.FileSize, m.EOF, len(b), tt.eofLen)
			}
			// Inspecting as the wrong format fails cleanly.
			for _, other := range []Format{BAM, CRAM, VCF, BCF} {
				if other == tt.format {
					continue
				}
				if _, err := Inspect(other, bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrBadFile) {
					t.Errorf("Inspect as %s: %v; want ErrBadFile", other, err)
				}
			}
		})
	}
}

func TestMetaJSONSize(t *testing.T) {
	m, _ := inspected(t, BAM, "htsnexus_test_NA12878.bam", IndexBAI)
	j, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Meta
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.References, m.References) || back.HeaderEnd != m.HeaderEnd || back.EOF != m.EOF {
		t.Errorf("JSON round trip changed the Meta")
	}
	t.Logf("Meta of a BAM with 86 references: %d bytes of JSON", len(j))
	if len(j) > 2048 {
		t.Errorf("Meta is %d bytes of JSON; expected about 1 KB", len(j))
	}
}

func TestDetectFormatRejects(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("##fileformat=VCFv4.2\n"))
	zw.Close()
	bgzfText := append(bgzfBlockOf(t, []byte("hello, world\n")), bgzfEOF...)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"plain VCF", []byte("##fileformat=VCFv4.2\n#CHROM\n")},
		{"plain gzip", gz.Bytes()},
		{"BGZF text", bgzfText},
		{"SAM", []byte("@HD\tVN:1.6\n")},
		{"truncated BGZF", bgzfText[:20]},
	}
	for _, tt := range tests {
		if f, err := DetectFormat(bytes.NewReader(tt.data), int64(len(tt.data))); err == nil {
			t.Errorf("%s: detected as %s", tt.name, f)
		} else if !errors.Is(err, ErrUnsupportedFormat) && !errors.Is(err, ErrBadFile) {
			t.Errorf("%s: %v; want ErrUnsupportedFormat or ErrBadFile", tt.name, err)
		}
	}
}

// bgzfBlockOf compresses data into one BGZF block.
func bgzfBlockOf(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Extra = []byte{'B', 'C', 2, 0, 0, 0}
	zw.Write(data)
	zw.Close()
	b := buf.Bytes()
	// gzip writes the header with FLG.FEXTRA; patch BSIZE in.
	n := len(b) - 1
	b[16], b[17] = byte(n), byte(n>>8)
	return b
}

func TestPlanErrors(t *testing.T) {
	bam, _ := inspected(t, BAM, "htsnexus_test_NA12878.bam", IndexBAI)
	bai := readFile(t, "htsnexus_test_NA12878.bam.bai")
	cram, _ := inspected(t, CRAM, "htsnexus_test_NA12878.cram", IndexCRAI)
	crai := readFile(t, "htsnexus_test_NA12878.cram.crai")
	vcf, _ := inspected(t, VCF, "sample1-bcbio-cancer.vcf.gz", IndexTBI)
	tbi := readFile(t, "sample1-bcbio-cancer.vcf.gz.tbi")
	bcf, _ := inspected(t, BCF, "sample1-bcbio-cancer.bcf", IndexCSI)
	csi := readFile(t, "sample1-bcbio-cancer.bcf.csi")

	brokenMeta := bam
	brokenMeta.HeaderEnd = bam.FileSize + 1
	wrongIndex := bam
	wrongIndex.IndexFormat = IndexTBI
	badJoined := bam
	badJoined.Joined = []Range{{100, 50}}

	tests := []struct {
		name  string
		m     Meta
		index []byte
		q     Query
		want  error
	}{
		{"BAM unknown reference", bam, bai, Query{ReferenceName: "chr1"}, ErrUnknownReference},
		{"CRAM unknown reference", cram, crai, Query{ReferenceName: "chr1"}, ErrUnknownReference},
		{"VCF unknown reference", vcf, tbi, Query{ReferenceName: "chr1"}, ErrUnknownReference},
		{"BCF unknown reference", bcf, csi, Query{ReferenceName: "chr1"}, ErrUnknownReference},
		{"start after end", bam, bai, Query{ReferenceName: "11", Start: 200, End: 100}, ErrInvalidRange},
		{"VCF start after end", vcf, tbi, Query{ReferenceName: "chrM", Start: 200, End: 100}, ErrInvalidRange},
		{"negative start", cram, crai, Query{ReferenceName: "11", Start: -1, End: 100}, ErrInvalidRange},
		{"start without reference", bam, bai, Query{Start: 10}, ErrInvalidInput},
		{"header with region", bam, bai, Query{Class: "header", ReferenceName: "11"}, ErrInvalidInput},
		{"unknown class", bam, bai, Query{Class: "body2"}, ErrInvalidInput},
		{"unplaced on variants", vcf, tbi, Query{ReferenceName: "*"}, ErrInvalidInput},
		{"unplaced with range", bam, bai, Query{ReferenceName: "*", End: 5}, ErrInvalidInput},
		{"damaged meta", brokenMeta, bai, Query{}, ErrBadIndex},
		{"damaged joined list", badJoined, bai, Query{}, ErrBadIndex},
		{"index kind not for format", wrongIndex, tbi, Query{}, ErrUnsupportedFormat},
		{"BAM with a TBI given as BAI", bam, tbi, Query{ReferenceName: "11"}, ErrBadIndex},
		{"truncated index", bam, bai[:len(bai)/2], Query{ReferenceName: "11"}, ErrBadIndex},
		{"unknown format", Meta{Format: "SAM"}, nil, Query{}, ErrUnsupportedFormat},
	}
	for _, tt := range tests {
		rs, err := Plan(tt.m, tt.index, tt.q)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Plan = %v, %v; want %v", tt.name, rs, err, tt.want)
		}
	}
}

// TestPlanShapes checks plans whose shape is known without running tools.
func TestPlanShapes(t *testing.T) {
	bam, _ := inspected(t, BAM, "htsnexus_test_NA12878.bam", IndexBAI)
	bai := readFile(t, "htsnexus_test_NA12878.bam.bai")
	cram, _ := inspected(t, CRAM, "htsnexus_test_NA12878.cram", IndexCRAI)
	crai := readFile(t, "htsnexus_test_NA12878.cram.crai")
	headerOnly := func(m Meta) []Range { return []Range{{0, m.HeaderEnd}, {m.EOF[0], m.EOF[1]}} }
	tests := []struct {
		name  string
		m     Meta
		index []byte
		q     Query
		want  []Range
	}{
		{"BAM whole file", bam, bai, Query{}, []Range{{0, bam.FileSize}}},
		{"BAM header", bam, bai, Query{Class: "header"}, headerOnly(bam)},
		{"BAM reference without reads", bam, bai, Query{ReferenceName: "1"}, headerOnly(bam)},
		{"BAM region without reads", bam, bai, Query{ReferenceName: "20", Start: 1, End: 2}, headerOnly(bam)},
		{"BAM empty interval", bam, bai, Query{ReferenceName: "11", Start: 5000000, End: 5000000}, headerOnly(bam)},
		{"BAM past the index's reach", bam, bai, Query{ReferenceName: "11", Start: 1 << 40}, headerOnly(bam)},
		{"CRAM header", cram, crai, Query{Class: "header"}, headerOnly(cram)},
		// The CRAI lists the containers: 11 is in the two starting at 6134
		// and 480538; unplaced reads in the two from 1324614.
		{"CRAM reference", cram, crai, Query{ReferenceName: "11"}, []Range{{0, 625728}, {cram.EOF[0], cram.EOF[1]}}},
		{"CRAM first container only", cram, crai, Query{ReferenceName: "11", Start: 0, End: 5000000}, []Range{{0, 480538}, {cram.EOF[0], cram.EOF[1]}}},
		{"CRAM unplaced", cram, crai, Query{ReferenceName: "*"}, []Range{{0, cram.HeaderEnd}, {1324614, cram.FileSize}}},
	}
	for _, tt := range tests {
		rs, err := Plan(tt.m, tt.index, tt.q)
		if err != nil || !slices.Equal(rs, tt.want) {
			t.Errorf("%s: Plan = %v, %v; want %v", tt.name, rs, err, tt.want)
		}
	}
}

func TestValidateIndex(t *testing.T) {
	bam, _ := inspected(t, BAM, "htsnexus_test_NA12878.bam", IndexBAI)
	bai := readFile(t, "htsnexus_test_NA12878.bam.bai")
	cram, _ := inspected(t, CRAM, "htsnexus_test_NA12878.cram", IndexCRAI)
	crai := readFile(t, "htsnexus_test_NA12878.cram.crai")
	vcf, _ := inspected(t, VCF, "spec-v4.3.vcf.gz", IndexTBI)
	tbi := readFile(t, "spec-v4.3.vcf.gz.tbi")
	bcf, _ := inspected(t, BCF, "spec-v4.3.bcf", IndexCSI)
	csi := readFile(t, "spec-v4.3.bcf.csi")

	for _, ok := range []struct {
		m     Meta
		index []byte
	}{{bam, bai}, {cram, crai}, {vcf, tbi}, {bcf, csi}} {
		if err := ValidateIndex(ok.m, ok.index); err != nil {
			t.Errorf("%s: %v", ok.m.Format, err)
		}
	}

	fewerRefs := bam
	fewerRefs.References = bam.References[:10]
	smallFile := bam // the index points past its end
	smallFile.FileSize, smallFile.EOF = 100000, [2]int64{}
	smallCRAM := cram
	smallCRAM.FileSize, smallCRAM.EOF = 500000, [2]int64{}
	craiBadRef := gzipped(t, []byte("86\t1\t10\t6134\t953\t100\n"))
	craiText := gzipped(t, []byte("10\t1\t10\tsix\t953\t100\n"))
	trailing := append(slices.Clip(bai), 1, 2, 3)

	tests := []struct {
		name  string
		m     Meta
		index []byte
	}{
		{"BAI against a header with fewer references", fewerRefs, bai},
		{"BAI pointing past the end of the file", smallFile, bai},
		{"BAI with trailing bytes", bam, trailing},
		{"TBI given for a BAM", bam, tbi},
		{"CSI cut short", bcf, csi[:len(csi)-20]},
		{"CRAI pointing past the end of the file", smallCRAM, crai},
		{"CRAI with an unknown reference id", cram, craiBadRef},
		{"CRAI with text in a number", cram, craiText},
		{"empty index", vcf, nil},
	}
	for _, tt := range tests {
		if err := ValidateIndex(tt.m, tt.index); !errors.Is(err, ErrBadIndex) {
			t.Errorf("%s: ValidateIndex = %v; want ErrBadIndex", tt.name, err)
		}
	}
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestMergeAndWiden(t *testing.T) {
	m := Meta{Joined: []Range{{100, 200}, {300, 400}}}
	tests := []struct {
		in, want []Range
	}{
		{[]Range{{0, 10}, {5, 20}, {20, 30}}, []Range{{0, 30}}},
		{[]Range{{50, 60}, {0, 10}, {10, 10}}, []Range{{0, 10}, {50, 60}}},
		{[]Range{{0, 50}, {150, 160}}, []Range{{0, 50}, {100, 200}}},                   // inside a run
		{[]Range{{100, 200}, {250, 300}}, []Range{{100, 200}, {250, 300}}},             // on the edges
		{[]Range{{0, 120}, {350, 500}}, []Range{{0, 200}, {300, 500}}},                 // ends inside runs
		{[]Range{{199, 301}}, []Range{{100, 400}}},                                     // spans both
		{[]Range{{200, 300}, {400, 450}}, []Range{{200, 300}, {400, 450}}},             // between runs
		{[]Range{{0, 1000}}, []Range{{0, 1000}}},                                       // covers everything
		{[]Range{{101, 102}, {301, 302}}, []Range{{100, 200}, {300, 400}}},             // tiny inside both
		{[]Range{{500, 600}, {150, 250}, {250, 260}}, []Range{{100, 260}, {500, 600}}}, // unsorted
	}
	for _, tt := range tests {
		got := mergeRanges(m.widen(slices.Clone(tt.in)))
		if !slices.Equal(got, tt.want) {
			t.Errorf("widen+merge %v = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestScan(t *testing.T) {
	bam, file := inspected(t, BAM, "htsnexus_test_NA12878.bam", IndexBAI)
	if err := Scan(&bam, bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	if len(bam.Joined) != 0 {
		t.Errorf("htslib-written BAM has joined runs %v", bam.Joined)
	}

	// Cut the file inside its last data block and drop the EOF marker:
	// the block boundary now falls mid-record, which Scan must refuse.
	var cut []byte
	for off := int64(0); ; {
		n, err := bgzfBlockSize(bytes.NewReader(file), off, int64(len(file)))
		if err != nil {
			t.Fatal(err)
		}
		if off+int64(n) == bam.EOF[0] {
			inflated, _ := inflatedBlock(t, file[off:off+int64(n)])
			cut = append(slices.Clip(file[:off]), bgzfBlockOf(t, inflated[:len(inflated)/2])...)
			break
		}
		off += int64(n)
	}
	m, err := Inspect(BAM, bytes.NewReader(cut), int64(len(cut)))
	if err != nil {
		t.Fatal(err)
	}
	if err := Scan(&m, bytes.NewReader(cut)); !errors.Is(err, ErrBadFile) {
		t.Errorf("Scan of a BAM cut mid-record = %v; want ErrBadFile", err)
	}

	cram, cfile := inspected(t, CRAM, "htsnexus_test_NA12878.cram", IndexCRAI)
	if err := Scan(&cram, bytes.NewReader(cfile)); err != nil || cram.Joined != nil {
		t.Errorf("Scan of CRAM = %v, %v; want nothing to do", err, cram.Joined)
	}
}

func inflatedBlock(t *testing.T, block []byte) ([]byte, error) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(block))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, err = out.ReadFrom(zr)
	return out.Bytes(), err
}

func TestVCFContigs(t *testing.T) {
	tests := []struct {
		header string
		want   []string
		bad    bool
	}{
		{"##contig=<ID=1,length=10>\n##contig=<ID=2>\n", []string{"1", "2"}, false},
		{"##contig=<ID=a,Description=\"x, y=z\",length=3>\n", []string{"a"}, false},
		{"##contig=<length=3,ID=\"quoted\">\n", []string{"quoted"}, false},
		{"##contig=<ID=b,IDX=1>\n##contig=<ID=a,IDX=0>\n", []string{"a", "b"}, false},
		{"##contig=<ID=b,IDX=2>\n", []string{"", "", "b"}, false},
		{"##contig=<ID=b,IDX=99999999>\n", nil, true},
		{"##contig=<ID=b,IDX=0>\n##contig=<ID=c,IDX=0>\n", nil, true},
		{"##contig=<ID=b,IDX=0>\n##contig=<ID=c>\n", nil, true},
		{"##contig=<length=3>\n", nil, true},
		{"##contig=<ID=x\n", nil, true},
	}
	for _, tt := range tests {
		got, err := vcfContigs([]byte(tt.header))
		if tt.bad {
			if !errors.Is(err, ErrBadFile) {
				t.Errorf("%q: %v, %v; want ErrBadFile", tt.header, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%q = %q, %v; want %q", tt.header, got, err, tt.want)
		}
	}
}

func TestVarints(t *testing.T) {
	tests := []struct {
		in   []byte
		itf8 int32
		ltf8 int64
	}{
		{[]byte{0x00}, 0, 0},
		{[]byte{0x7f}, 127, 127},
		{[]byte{0x80, 0xff}, 0xff, 0xff},
		{[]byte{0xc0, 0x4e, 0x1d}, 0x4e1d, 0x4e1d},
		{[]byte{0xe1, 0x02, 0x03, 0x04}, 0x01020304, 0x01020304},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0}, -1, -0x0f00000001},
	}
	for _, tt := range tests {
		c := &cramReader{b: tt.in}
		if v := c.itf8(); v != tt.itf8 || c.err != nil {
			t.Errorf("itf8(% x) = %d, %v; want %d", tt.in, v, c.err, tt.itf8)
		}
	}
	for _, tt := range tests[:5] {
		c := &cramReader{b: tt.in}
		if v := c.ltf8(); v != tt.ltf8 || c.err != nil {
			t.Errorf("ltf8(% x) = %d, %v; want %d", tt.in, v, c.err, tt.ltf8)
		}
	}
	c := &cramReader{b: []byte{0xff, 0xff}}
	c.ltf8()
	if c.err == nil {
		t.Errorf("truncated ltf8 decoded without error")
	}
}
