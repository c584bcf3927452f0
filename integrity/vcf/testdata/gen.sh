#!/usr/bin/env bash
# Regenerates the BCF and BGZF forms of the test VCFs with bcftools (Debian
# 12: bcftools 1.16). The Go tests require that each BCF and its VCF give
# byte-identical canonical records.
set -euo pipefail
cd "$(dirname "$0")"
genomics=${CRYPT4GH_GENOMICS:-../../../../shared/testdata/genomics}
bcftools view -Ob -o edge.bcf edge.vcf
bcftools view -Oz -o edge.vcf.gz edge.vcf
# The shipped sample1-bcbio-cancer.bcf declares INFO/GC as Integer while the
# .vcf.gz declares it Float, so it is not the same data; this BCF is.
bcftools view -Ob -o bcbio.bcf "$genomics/sample1-bcbio-cancer.vcf.gz"
