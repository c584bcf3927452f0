package htsget

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"testing"
)

// The fuzzers feed damaged indexes and files to every parser and check that
// they fail with one of the package's errors, never panic, hang or run out
// of memory, and that whatever Plan returns keeps its contract.

func gunzipSeed(f *testing.F, b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		f.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		f.Fatal(err)
	}
	return out
}

// knownError reports whether err wraps one of the package's sentinels.
func knownError(err error) bool {
	for _, s := range []error{ErrUnknownReference, ErrInvalidRange, ErrInvalidInput, ErrBadIndex, ErrBadFile, ErrUnsupportedFormat} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// fuzzMeta is a Meta large enough for any offset a fuzzed index holds to be
// plausible, with references for ids to map to.
func fuzzMeta(f Format, indexFormat string) Meta {
	refs := make([]string, 90)
	for i := range refs {
		refs[i] = fmt.Sprint(i + 1)
	}
	refs[0], refs[1] = "chrM", "chr22"
	const size = 1 << 40
	return Meta{Format: f, IndexFormat: indexFormat, HeaderEnd: 4668, References: refs, EOF: [2]int64{size - 28, size}, FileSize: size}
}

var fuzzQueries = []Query{
	{ReferenceName: "1"}, {ReferenceName: "11", Start: 5000000, End: 5001000}, {ReferenceName: "*"},
	{ReferenceName: "chrM", Start: 100, End: 3000}, {ReferenceName: "20", Start: 0, End: 1 << 40},
	{ReferenceName: "chr22", Start: 1 << 35},
}

// checkPlan runs the queries and checks the contract of every answer.
func checkPlan(t *testing.T, m Meta, index []byte) {
	if err := ValidateIndex(m, index); err != nil && !knownError(err) {
		t.Fatalf("ValidateIndex: unclassified error %v", err)
	}
	for _, q := range fuzzQueries {
		rs, err := Plan(m, index, q)
		if err != nil {
			if !knownError(err) {
				t.Fatalf("Plan(%+v): unclassified error %v", q, err)
			}
			continue
		}
		if len(rs) == 0 || rs[0].Start != 0 || rs[0].End < m.HeaderEnd || rs[len(rs)-1].End != m.FileSize {
			t.Fatalf("Plan(%+v) = %v: missing header or EOF", q, rs)
		}
		for i, r := range rs {
			if r.Start >= r.End || r.End > m.FileSize || (i > 0 && r.Start <= rs[i-1].End) {
				t.Fatalf("Plan(%+v) = %v: not sorted, merged and inside the file", q, rs)
			}
		}
	}
}

func FuzzBAI(f *testing.F) {
	f.Add(readFile(f, "htsnexus_test_NA12878.bam.bai"))
	f.Add([]byte("BAI\x01\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, index []byte) {
		checkPlan(t, fuzzMeta(BAM, IndexBAI), index)
	})
}

func FuzzCSI(f *testing.F) {
	for _, name := range []string{"sample1-bcbio-cancer.bcf.csi", "spec-v4.3.bcf.csi"} {
		b := readFile(f, name)
		f.Add(b, false)
		f.Add(gunzipSeed(f, b), false)
	}
	// A CSI of a VCF carries tabix names in its auxiliary data.
	csiVCF := []byte("CSI\x01\x0e\x00\x00\x00\x05\x00\x00\x00\x27\x00\x00\x00" + // min_shift 14, depth 5, l_aux 39
		"\x02\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x23\x00\x00\x00\x00\x00\x00\x00" + // VCF conf
		"\x0b\x00\x00\x00chrM\x00chr22\x00" + // names
		"\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00") // two references without bins
	if x, err := parseBinIndex(IndexCSI, csiVCF); err != nil || len(x.names) != 2 {
		f.Fatalf("hand-made CSI seed: %v", err)
	}
	f.Add(csiVCF, true)
	f.Fuzz(func(t *testing.T, index []byte, vcf bool) {
		if vcf {
			checkPlan(t, fuzzMeta(VCF, IndexCSI), index)
		} else {
			checkPlan(t, fuzzMeta(BCF, IndexCSI), index)
		}
	})
}

func FuzzTBI(f *testing.F) {
	for _, name := range []string{"sample1-bcbio-cancer.vcf.gz.tbi", "spec-v4.3.vcf.gz.tbi"} {
		b := readFile(f, name)
		f.Add(b)
		f.Add(gunzipSeed(f, b))
	}
	f.Fuzz(func(t *testing.T, index []byte) {
		checkPlan(t, fuzzMeta(VCF, IndexTBI), index)
	})
}

func FuzzCRAI(f *testing.F) {
	b := readFile(f, "htsnexus_test_NA12878.cram.crai")
	f.Add(b)
	f.Add(gunzipSeed(f, b))
	f.Add([]byte("-1\t0\t1\t5000\t217\t276669\n10\t4999976\t68584\t6134\t953\t473425"))
	f.Fuzz(func(t *testing.T, index []byte) {
		checkPlan(t, fuzzMeta(CRAM, IndexCRAI), index)
	})
}

// headerSeed returns a file's header blocks plus its EOF marker: all that
// Inspect reads, small enough for a fuzz corpus.
func headerSeed(f *testing.F, format Format, name string) []byte {
	m, b := inspected(f, format, name, "")
	return append(b[:m.HeaderEnd:m.HeaderEnd], b[m.EOF[0]:]...)
}

func FuzzInspect(f *testing.F) {
	f.Add(headerSeed(f, BAM, "htsnexus_test_NA12878.bam"))
	f.Add(headerSeed(f, CRAM, "htsnexus_test_NA12878.cram"))
	for _, name := range []string{"sample1-bcbio-cancer.vcf.gz", "sample1-bcbio-cancer.bcf", "spec-v4.3.vcf.gz", "spec-v4.3.bcf"} {
		f.Add(readFile(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, size := bytes.NewReader(data), int64(len(data))
		if _, err := DetectFormat(r, size); err != nil && !knownError(err) {
			t.Fatalf("DetectFormat: unclassified error %v", err)
		}
		for _, format := range []Format{BAM, CRAM, VCF, BCF} {
			m, err := Inspect(format, r, size)
			if err != nil {
				if !knownError(err) {
					t.Fatalf("Inspect(%s): unclassified error %v", format, err)
				}
				continue
			}
			m.IndexFormat = map[Format]string{BAM: IndexBAI, CRAM: IndexCRAI, VCF: IndexTBI, BCF: IndexCSI}[format]
			if err := m.check(); err != nil {
				t.Fatalf("Inspect(%s) returned a Meta the planner refuses: %v (%+v)", format, err, m)
			}
			if err := Scan(&m, r); err != nil {
				if !knownError(err) {
					t.Fatalf("Scan(%s): unclassified error %v", format, err)
				}
				continue
			}
			if err := m.check(); err != nil {
				t.Fatalf("Scan(%s) returned a Meta the planner refuses: %v", format, err)
			}
		}
	})
}

// FuzzPlanQuery fuzzes queries against real indexes.
func FuzzPlanQuery(f *testing.F) {
	f.Add(uint8(0), "11", int64(5000000), int64(5001000), "")
	f.Add(uint8(1), "*", int64(0), int64(0), "")
	f.Add(uint8(2), "chrM", int64(100), int64(0), "")
	f.Add(uint8(3), "20", int64(1<<40), int64(1<<41), "")
	f.Add(uint8(0), "", int64(0), int64(0), "header")
	type target struct {
		format      Format
		file, index string
		indexFormat string
	}
	targets := []target{
		{BAM, "htsnexus_test_NA12878.bam", "htsnexus_test_NA12878.bam.bai", IndexBAI},
		{CRAM, "htsnexus_test_NA12878.cram", "htsnexus_test_NA12878.cram.crai", IndexCRAI},
		{VCF, "sample1-bcbio-cancer.vcf.gz", "sample1-bcbio-cancer.vcf.gz.tbi", IndexTBI},
		{BCF, "spec-v4.3.bcf", "spec-v4.3.bcf.csi", IndexCSI},
	}
	metas := make([]Meta, len(targets))
	indexes := make([][]byte, len(targets))
	for i, tg := range targets {
		metas[i], _ = inspected(f, tg.format, tg.file, tg.indexFormat)
		indexes[i] = readFile(f, tg.index)
	}
	f.Fuzz(func(t *testing.T, which uint8, ref string, start, end int64, class string) {
		i := int(which) % len(targets)
		m := metas[i]
		rs, err := Plan(m, indexes[i], Query{Class: class, ReferenceName: ref, Start: start, End: end})
		if err != nil {
			if !knownError(err) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if len(rs) == 0 || rs[0].Start != 0 || rs[len(rs)-1].End != m.FileSize {
			t.Fatalf("plan %v lacks the header or EOF", rs)
		}
		for j, r := range rs {
			if r.Start >= r.End || r.End > m.FileSize || (j > 0 && r.Start <= rs[j-1].End) {
				t.Fatalf("plan %v is not sorted, merged and inside the file", rs)
			}
		}
	})
}
