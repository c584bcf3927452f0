package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

type ticket struct {
	Htsget struct {
		Format           string
		EncryptionScheme string `json:"encryptionScheme"`
		URLs             []struct {
			URL     string
			Headers map[string]string
		}
	}
}

// fetchTicket follows an htsget ticket as a client does: data: URLs are
// decoded, the others fetched with their headers, all concatenated.
func fetchTicket(t *testing.T, tk ticket) []byte {
	t.Helper()
	var out []byte
	for _, u := range tk.Htsget.URLs {
		if rest, ok := strings.CutPrefix(u.URL, "data:"); ok {
			_, b64, _ := strings.Cut(rest, ";base64,")
			b, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				t.Fatalf("data URL: %v", err)
			}
			out = append(out, b...)
			continue
		}
		req, _ := http.NewRequest("GET", u.URL, nil)
		for k, v := range u.Headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, resp)
		if resp.StatusCode != 200 && resp.StatusCode != 206 {
			t.Fatalf("ticket URL %s: %d %s", u.URL, resp.StatusCode, b)
		}
		out = append(out, b...)
	}
	return out
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is needed for this test (Debian package %s; .ci/run installs it)", name, name)
	}
	return p
}

// view runs samtools or bcftools on a file and returns the records of a
// region (headers left out), the reference each output is compared with.
func view(t *testing.T, tool string, file string, region string) string {
	t.Helper()
	args := []string{"view", "--no-version", "-H", file}
	if tool == "samtools" {
		args = []string{"view", file}
	}
	if region != "" {
		args = append(args, region)
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
	return string(out)
}

// TestHtsgetRealFiles ingests the real BAM, CRAM, VCF and BCF files with
// their indexes, asks for regions, follows the tickets, decrypts the
// stream with the client's key and compares the records of the region
// with what samtools/bcftools find in the original.
func TestHtsgetRealFiles(t *testing.T) {
	dir := testvectors.GenomicsDir(t)
	needTool(t, "samtools")
	needTool(t, "bcftools")
	e := newEnv(t)
	tok := e.Token("genomics")
	c := newClient(t)
	type query struct {
		params, region string // htsget query, and the same region for samtools/bcftools (1-based)
		wantRecords    bool
	}
	cases := []struct {
		file, index, kind, tool string
		queries                 []query
	}{
		{"htsnexus_test_NA12878.bam", "htsnexus_test_NA12878.bam.bai", "reads", "samtools", []query{
			{"referenceName=11&start=4999999&end=5050000", "11:5000000-5050000", true},
			{"referenceName=20&start=0&end=100000000", "20", true},
			{"referenceName=11&start=1&end=2", "11:2-2", false},
			{"", "", true},
			{"referenceName=*", "*", false},
		}},
		{"sample1-bcbio-cancer.vcf.gz", "sample1-bcbio-cancer.vcf.gz.tbi", "variants", "bcftools", []query{
			{"referenceName=chrM&start=150&end=16000", "chrM:151-16000", true},
			{"", "", true},
		}},
		{"sample1-bcbio-cancer.bcf", "sample1-bcbio-cancer.bcf.csi", "variants", "bcftools", []query{
			{"referenceName=chrM&start=150&end=16000", "chrM:151-16000", true},
			{"", "", true},
		}},
		{"spec-v4.3.vcf.gz", "spec-v4.3.vcf.gz.tbi", "variants", "bcftools", []query{
			{"referenceName=20&start=14369&end=1110696", "20:14370-1110696", true},
			{"referenceName=20&start=1230236&end=1230237", "20:1230237-1230237", true},
		}},
		{"spec-v4.3.bcf", "spec-v4.3.bcf.csi", "variants", "bcftools", []query{
			{"referenceName=20&start=17329&end=1234567", "20:17330-1234567", true},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			index, err := os.ReadFile(filepath.Join(dir, tc.index))
			if err != nil {
				t.Fatal(err)
			}
			id := strings.NewReplacer(".", "-").Replace(tc.file)
			ext := strings.ToUpper(filepath.Ext(tc.index)[1:])
			f := e.Ingest(id, "genomics", data, index, ext)
			if f.Format == "" || f.IndexKey == "" {
				t.Fatalf("ingest did not detect the format or keep the index: %+v", f)
			}
			for _, q := range tc.queries {
				url := "/" + tc.kind + "/" + id + "?encryptionScheme=crypt4gh"
				if q.params != "" {
					url += "&" + q.params
				}
				resp := do(e, "GET", url, tok, map[string]string{"X-C4GH-Public-Key": c.pub}, nil)
				body := readAll(t, resp)
				if resp.StatusCode != 200 {
					t.Fatalf("%s: %d %s", url, resp.StatusCode, body)
				}
				var tk ticket
				if err := json.Unmarshal(body, &tk); err != nil {
					t.Fatal(err)
				}
				if tk.Htsget.EncryptionScheme != "crypt4gh" || tk.Htsget.Format != f.Format {
					t.Fatalf("ticket %s", body)
				}
				stream := fetchTicket(t, tk)
				plain := decrypt(t, stream, c.id)
				if q.params == "" && !bytes.Equal(plain, data) {
					t.Fatalf("whole-file ticket: %d bytes, want the original %d", len(plain), len(data))
				}
				if q.params != "" && len(stream) >= len(data)+100 && len(data) > 4*crypt4gh.SegmentSize {
					t.Fatalf("region %s: ticket sends %d bytes for a %d-byte file", q.region, len(stream), len(data))
				}
				out := filepath.Join(t.TempDir(), "region"+filepath.Ext(tc.file))
				if strings.HasSuffix(tc.file, ".gz") {
					out = filepath.Join(t.TempDir(), "region.vcf.gz")
				}
				if err := os.WriteFile(out, plain, 0o600); err != nil {
					t.Fatal(err)
				}
				want := view(t, tc.tool, filepath.Join(dir, tc.file), q.region)
				got := want
				if q.region == "" {
					got = view(t, tc.tool, out, "")
				} else {
					// Filter the served file to the region without its index:
					// the same records must be there.
					got = viewFiltered(t, tc.tool, out, q.region)
				}
				if got != want {
					t.Fatalf("region %q: records differ\nserved:\n%.2000s\noriginal:\n%.2000s", q.region, got, want)
				}
				if q.wantRecords && strings.TrimSpace(want) == "" {
					t.Fatalf("region %q has no records in the original: the test checks nothing", q.region)
				}
			}
		})
	}
}

// viewFiltered returns the records of region in a file that has no index,
// by streaming it through the tool's region filter.
func viewFiltered(t *testing.T, tool, file, region string) string {
	t.Helper()
	var args []string
	if tool == "samtools" {
		// samtools needs an index for a region: build one.
		if out, err := exec.Command("samtools", "index", file).CombinedOutput(); err != nil {
			t.Fatalf("samtools index on the served BAM: %v\n%s", err, out)
		}
		args = []string{"view", file, region}
	} else {
		args = []string{"view", "--no-version", "-H", "-t", region, file}
	}
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v on the served file: %v\n%s", tool, args, err, out)
	}
	return string(out)
}

func TestHtsgetCRAMAndErrors(t *testing.T) {
	dir := testvectors.GenomicsDir(t)
	e := newEnv(t)
	tok := e.Token("genomics")
	c := newClient(t)
	data, _ := os.ReadFile(filepath.Join(dir, "htsnexus_test_NA12878.cram"))
	index, _ := os.ReadFile(filepath.Join(dir, "htsnexus_test_NA12878.cram.crai"))
	e.Ingest("cram1", "genomics", data, index, "CRAI")
	e.Ingest("opaque", "genomics", pattern(100), nil, "")
	key := map[string]string{"X-C4GH-Public-Key": c.pub}

	// CRAM: decoding needs the GRCh37 reference, so check structure: the
	// served file is the header containers, whole data containers of the
	// original, and the EOF container, and samtools can read its header.
	resp := do(e, "GET", "/reads/cram1?format=CRAM&referenceName=11&start=4999999&end=5010000", tok, key, nil)
	body := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("CRAM ticket: %d %s", resp.StatusCode, body)
	}
	var tk ticket
	json.Unmarshal(body, &tk)
	plain := decrypt(t, fetchTicket(t, tk), c.id)
	if !bytes.HasPrefix(plain, []byte("CRAM")) || len(plain) >= len(data) || !bytes.HasSuffix(data, plain[len(plain)-38:]) {
		t.Fatalf("served CRAM: %d bytes of %d, magic %q", len(plain), len(data), plain[:4])
	}
	if !bytes.Contains(data, plain[len(plain)-38-1000:len(plain)-38]) {
		t.Fatal("served CRAM body is not whole containers of the original")
	}
	if _, err := exec.LookPath("samtools"); err == nil {
		out := filepath.Join(t.TempDir(), "r.cram")
		os.WriteFile(out, plain, 0o600)
		if b, err := exec.Command("samtools", "view", "-H", out).CombinedOutput(); err != nil || !strings.Contains(string(b), "@SQ") {
			t.Fatalf("samtools cannot read the served CRAM's header: %v\n%s", err, b)
		}
	}

	for _, tc := range []struct {
		url    string
		hdr    map[string]string
		status int
		kind   string
	}{
		{"/reads/cram1?format=BAM", key, 400, "UnsupportedFormat"},
		{"/variants/cram1", key, 404, "NotFound"},
		{"/reads/opaque", key, 404, "NotFound"},
		{"/reads/nope", key, 404, "NotFound"},
		{"/reads/cram1?referenceName=nochr", key, 404, "NotFound"},
		{"/reads/cram1?referenceName=11&start=10&end=5", key, 400, "InvalidRange"},
		{"/reads/cram1?start=10", key, 400, "InvalidInput"},
		{"/reads/cram1?start=abc&referenceName=11", key, 400, "InvalidInput"},
		{"/reads/cram1?class=header&referenceName=11", key, 400, "InvalidInput"},
		{"/reads/cram1?encryptionScheme=rot13", key, 400, "UnsupportedFormat"},
		{"/reads/cram1", nil, 400, "InvalidInput"},
	} {
		resp := do(e, "GET", tc.url, tok, tc.hdr, nil)
		body := readAll(t, resp)
		var er struct {
			Htsget struct{ Error, Message string }
		}
		json.Unmarshal(body, &er)
		if resp.StatusCode != tc.status || er.Htsget.Error != tc.kind || er.Htsget.Message == "" {
			t.Errorf("%s: %d %s, want %d %s", tc.url, resp.StatusCode, body, tc.status, tc.kind)
		}
	}
	resp = do(e, "GET", "/reads/cram1", "", key, nil)
	if b := readAll(t, resp); resp.StatusCode != 401 || !strings.Contains(string(b), "InvalidAuthentication") {
		t.Fatalf("no token: %d %s", resp.StatusCode, b)
	}
	resp = do(e, "GET", "/reads/cram1", e.Token("other"), key, nil)
	if b := readAll(t, resp); resp.StatusCode != 403 || !strings.Contains(string(b), "PermissionDenied") {
		t.Fatalf("other dataset: %d %s", resp.StatusCode, b)
	}
	// POST with several regions, and class=header.
	resp = do(e, "POST", "/reads/cram1", tok, key, strings.NewReader(`{"format":"CRAM","regions":[{"referenceName":"11","start":4999999,"end":5000100},{"referenceName":"20"}]}`))
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("POST regions: %d %s", resp.StatusCode, b)
	}
	resp = do(e, "GET", "/reads/cram1?class=header", tok, key, nil)
	body = readAll(t, resp)
	json.Unmarshal(body, &tk)
	hdrOnly := decrypt(t, fetchTicket(t, tk), c.id)
	if len(hdrOnly) >= len(plain) || !bytes.Equal(hdrOnly[:len(hdrOnly)-38], data[:len(hdrOnly)-38]) {
		t.Fatalf("class=header served %d bytes", len(hdrOnly))
	}
	resp = do(e, "GET", "/reads/service-info", "", nil, nil)
	if b := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(string(b), `"artifact": "htsget"`) {
		t.Fatalf("service-info: %s", b)
	}
	// A damaged index is refused at ingest, not at query time.
	_, err := e.Server.Ingest(t.Context(), ingestReq("badidx", data, bytes.Repeat([]byte{0x1f}, 50), "CRAI"))
	if err == nil {
		t.Fatal("a garbage index was accepted")
	}
}
