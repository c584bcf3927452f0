package htsget

import (
	"bytes"
	"testing"
)

// BenchmarkScan measures the ingest-time whole-file scan on the test BAM.
func BenchmarkScan(b *testing.B) {
	m, file := inspected(b, BAM, "htsnexus_test_NA12878.bam", IndexBAI)
	b.SetBytes(int64(len(file)))
	for b.Loop() {
		mm := m
		if err := Scan(&mm, bytes.NewReader(file)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlan measures a region query against the test BAM's index.
func BenchmarkPlan(b *testing.B) {
	m, _ := inspected(b, BAM, "htsnexus_test_NA12878.bam", IndexBAI)
	bai := readFile(b, "htsnexus_test_NA12878.bam.bai")
	q := Query{ReferenceName: "11", Start: 5000000, End: 5001000}
	for b.Loop() {
		if _, err := Plan(m, bai, q); err != nil {
			b.Fatal(err)
		}
	}
}
