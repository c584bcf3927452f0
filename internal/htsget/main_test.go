package htsget

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// genomicsDir holds the real BAM, CRAM, VCF and BCF files with indexes
// (../shared/testdata/genomics or $CRYPT4GH_GENOMICS).
var genomicsDir string

func genomicsFile(name string) string { return filepath.Join(genomicsDir, name) }

func TestMain(m *testing.M) {
	dir, err := testvectors.FindGenomics()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	genomicsDir = dir
	os.Exit(m.Run())
}
