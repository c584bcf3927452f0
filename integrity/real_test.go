package integrity

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh/integrity/vcf"
)

const genomics = "/work/shared/testdata/genomics"

func openVCF(t *testing.T, name string) Table {
	t.Helper()
	path := filepath.Join(genomics, name)
	if strings.HasPrefix(name, "vcf/") {
		path = name
	}
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := vcf.Open(f, vcf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tab, err := VCFTable(r)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestRealVCF protects the bcbio cancer sample from its bgzipped VCF, runs
// every update, and proves and verifies regions, reading the data for the
// proof from the VCF and from the BCF (the canonical encoding makes them
// the same table).
func TestRealVCF(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(t.TempDir(), "ds")
	const file = "sample1-bcbio-cancer.vcf.gz"
	w.protect(dir, openVCF(t, file), w.start)
	ctx := context.Background()
	steps := []struct {
		op Op
		uo UpdateOptions
	}{
		{OpTimestamp, UpdateOptions{}},
		{OpRecommit, UpdateOptions{}},
		{OpRehash, UpdateOptions{Hash: SHA512}},
		{OpTimestamp, UpdateOptions{}},
	}
	for i, s := range steps {
		s.uo.Stamper = w.tsa.At(w.start.AddDate(i+1, 0, 0))
		if s.op == OpRecommit {
			s.uo.Table, s.uo.Identity, s.uo.Owner = openVCF(t, file), w.owner, w.protectOpts(w.start).Owner
		}
		if _, err := Update(ctx, dir, s.op, s.uo); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := d.Layout()
	// The shipped sample1-bcbio-cancer.bcf was not made from this VCF (its
	// GC field is typed differently); the vcf package's bcbio.bcf was,
	// with bcftools.
	for _, src := range []string{file, "vcf/testdata/bcbio.bcf"} {
		for _, region := range []string{"chrM:150-152", "chrM:1-16571", "chr22"} {
			r, err := l.Region(region)
			if err != nil {
				t.Fatal(err)
			}
			pr, err := PartialProof(context.Background(), dir, []Range{r}, ProveOptions{Table: openVCF(t, src), Identity: w.owner})
			if err != nil {
				t.Fatalf("%s from %s: %v", region, src, err)
			}
			p := roundTrip(t, pr)
			v, err := Verify(p, w.verifyOpts(w.start.AddDate(6, 0, 0)))
			if err != nil {
				t.Fatalf("%s from %s: %v", region, src, err)
			}
			variants := 0
			for _, e := range v.Entries {
				if e.Entry == nil {
					continue
				}
				variants++
				recs, err := vcf.SplitEntry(e.Entry)
				if err != nil || len(recs) == 0 {
					t.Fatalf("%s: entry does not split: %v", e.Name, err)
				}
			}
			if region == "chrM:150-152" && (variants != 2 || v.Entries[0].Name != "chrM:150") {
				t.Fatalf("chrM:150-152: %d variants, first %s; want 2 at chrM:150 and chrM:152", variants, v.Entries[0].Name)
			}
			if region == "chrM:1-16571" && variants < 10 {
				t.Fatalf("chrM: only %d variants", variants)
			}
		}
	}
}

// TestRealWholeFile protects the CRAM file in 64 KiB chunks and proves a
// byte range.
func TestRealWholeFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(genomics, "htsnexus_test_NA12878.cram"))
	if err != nil {
		t.Skipf("shared test data not available: %v", err)
	}
	w := newWorld(t)
	dir := filepath.Join(t.TempDir(), "ds")
	tab, err := FileTable(bytes.NewReader(data), int64(len(data)), 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	w.protect(dir, tab, w.start)
	r, err := tab.Layout().Bytes(100_000, 300_000)
	if err != nil {
		t.Fatal(err)
	}
	tab2, _ := FileTable(bytes.NewReader(data), int64(len(data)), 64<<10)
	p := roundTrip(t, w.prove(dir, tab2, r))
	v, err := Verify(p, w.verifyOpts(w.start.AddDate(1, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	got := bytes.Join(func() [][]byte {
		var out [][]byte
		for _, e := range v.Entries {
			out = append(out, e.Entry)
		}
		return out
	}(), nil)
	if want := data[r.Start*(64<<10) : r.End*(64<<10)]; !bytes.Equal(got, want) {
		t.Fatalf("verified %d bytes differ from the file's", len(got))
	}
	// A changed byte in the disclosed chunk is caught when proving.
	bad := bytes.Clone(data)
	bad[200_000] ^= 1
	tab3, _ := FileTable(bytes.NewReader(bad), int64(len(bad)), 64<<10)
	if _, err := PartialProof(context.Background(), dir, []Range{r}, ProveOptions{Table: tab3, Identity: w.owner}); err == nil || !strings.Contains(err.Error(), "chunk 3") {
		t.Fatalf("got %v", err)
	}
}

// TestMalformedVCF: a VCF with records out of order fails Protect with
// an error naming the problem.
func TestMalformedVCF(t *testing.T) {
	text := "##fileformat=VCFv4.3\n##contig=<ID=1,length=1000>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
		"1\t500\t.\tA\tG\t.\t.\t.\n1\t100\t.\tA\tG\t.\t.\t.\n"
	r, err := vcf.Open(strings.NewReader(text), vcf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tab, err := VCFTable(r)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	_, err = Protect(context.Background(), filepath.Join(t.TempDir(), "x"), tab, w.protectOpts(w.start))
	if err == nil || !strings.Contains(err.Error(), "order") {
		t.Fatalf("got %v", err)
	}
	wantErr(t, err, vcf.ErrUnsorted)
}
