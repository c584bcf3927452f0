package crypt4gh_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/crypt4gh-go/crypt4gh"
)

// TestPlanRanges cuts several disjoint ranges out of one file (as an htsget
// ticket does) and checks the rearranged stream decrypts to exactly their
// concatenation, for files with and without an existing edit list.
func TestPlanRanges(t *testing.T) {
	id, _ := crypt4gh.GenerateX25519Identity()
	reader, _ := crypt4gh.GenerateX25519Identity()
	plain := make([]byte, 5*crypt4gh.SegmentSize+1234)
	for i := range plain {
		plain[i] = byte(i*7 + i/251)
	}
	var hdr, payload bytes.Buffer
	w, err := crypt4gh.EncryptWithOptions(&payload, crypt4gh.EncryptOptions{HeaderTo: &hdr}, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, _, err := crypt4gh.ParseHeader(hdr.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	seg := int64(crypt4gh.SegmentSize)
	cases := []struct {
		name     string
		ranges   []crypt4gh.Range
		segments int64 // cipher segments the plan may send
	}{
		{"header, middle, tail", []crypt4gh.Range{{0, 100}, {2*seg + 5, 3*seg + 17}, {int64(len(plain)) - 28, int64(len(plain))}}, 4},
		{"adjacent", []crypt4gh.Range{{10, 20}, {20, 30}}, 1},
		{"same segment", []crypt4gh.Range{{10, 20}, {40, 50}}, 1},
		{"open last", []crypt4gh.Range{{0, 1}, {4 * seg, -1}}, 3},
		{"empty range kept out", []crypt4gh.Range{{7, 7}, {seg, seg + 1}}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []byte
			for _, r := range tc.ranges {
				end := r.End
				if end < 0 {
					end = int64(len(plain))
				}
				want = append(want, plain[r.Start:end]...)
			}
			plan, err := crypt4gh.PlanRanges(nil, tc.ranges)
			if err != nil {
				t.Fatal(err)
			}
			nh, err := crypt4gh.RearrangeHeader(h, []crypt4gh.Identity{id}, []crypt4gh.Recipient{reader.Recipient()}, plan, int64(payload.Len()))
			if err != nil {
				t.Fatal(err)
			}
			stream := nh.Marshal()
			var sent int64
			for _, pr := range plan.PayloadRanges(int64(payload.Len())) {
				stream = append(stream, payload.Bytes()[pr[0]:pr[1]]...)
				sent += pr[1] - pr[0]
			}
			r, err := crypt4gh.Decrypt(bytes.NewReader(stream), reader)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d", len(got), len(want))
			}
			if limit := tc.segments * crypt4gh.CipherSegmentSize; sent > limit {
				t.Fatalf("plan sends %d payload bytes, want at most %d", sent, limit)
			}
		})
	}
	if _, err := crypt4gh.PlanRanges(nil, []crypt4gh.Range{{10, 20}, {15, 30}}); !errors.Is(err, crypt4gh.ErrInvalidRange) {
		t.Fatalf("overlapping ranges: err = %v", err)
	}
	if _, err := crypt4gh.PlanRanges(nil, []crypt4gh.Range{{10, -1}, {15, 30}}); !errors.Is(err, crypt4gh.ErrInvalidRange) {
		t.Fatalf("open range before another: err = %v", err)
	}
}
