package vcf_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/crypt4gh-go/crypt4gh/integrity/vcf"
)

func ExampleReader() {
	const file = "##fileformat=VCFv4.3\n" +
		"##contig=<ID=chr1,length=1000>\n" +
		"##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">\n" +
		"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" +
		"chr1\t10\t.\tA\tC\t50\tPASS\tDP=7\n" +
		"chr1\t10\t.\tA\tAT\t20\tPASS\tDP=3\n" +
		"chr1\t99\trs1\tG\tT\t.\t.\t.\n"
	r, err := vcf.Open(strings.NewReader(file), vcf.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Contigs())
	// Sites are the positions with records; every other position of chr1
	// has the empty entry.
	for {
		site, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s:%d %d record(s), entry of %d bytes\n",
			r.Contigs()[site.Contig].Name, site.Pos, len(site.Records), len(site.Entry()))
	}
	// Output:
	// [{chr1 1000}]
	// chr1:10 2 record(s), entry of 170 bytes
	// chr1:99 1 record(s), entry of 67 bytes
}
