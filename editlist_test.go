package crypt4gh

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// applyEditList is the naive reference: walk the list byte range by byte
// range exactly as the standard's ApplyEditList describes.
func applyEditList(e EditList, payload []byte) []byte {
	if len(e) == 0 {
		return payload
	}
	var out []byte
	pos := 0
	for i, l := range e {
		end := min(len(payload), pos+int(min(l, uint64(len(payload)))))
		if i%2 == 1 {
			out = append(out, payload[pos:end]...)
		}
		pos = end
	}
	if len(e)%2 == 1 {
		out = append(out, payload[pos:]...)
	}
	return out
}

func sliceRange(b []byte, r Range) []byte {
	s := min(int(r.Start), len(b))
	e := len(b)
	if r.End >= 0 {
		e = min(int(r.End), len(b))
	}
	return b[s:e]
}

// selectSegments concatenates the plaintext of the chosen segments.
func selectSegments(payload []byte, runs []SegmentRun) []byte {
	var out []byte
	for _, r := range runs {
		lo := min(len(payload), int(r.First)*SegmentSize)
		hi := len(payload)
		if r.Count >= 0 {
			hi = min(len(payload), int(r.First+r.Count)*SegmentSize)
		}
		out = append(out, payload[lo:hi]...)
	}
	return out
}

// checkPlan checks Restrict and PlanRange against the naive reference.
func checkPlan(t *testing.T, existing EditList, payloadSize int, r Range) {
	t.Helper()
	payload := make([]byte, payloadSize)
	for i := range payload {
		payload[i] = byte(i*7 + i/SegmentSize)
	}
	want := sliceRange(applyEditList(existing, payload), r)

	restricted, err := existing.Restrict(r)
	if err != nil {
		t.Fatalf("Restrict(%v, %v): %v", existing, r, err)
	}
	if got := applyEditList(restricted, payload); !bytes.Equal(got, want) {
		t.Fatalf("Restrict(%v, %v) = %v: %d bytes, want %d", existing, r, restricted, len(got), len(want))
	}
	plan, err := PlanRange(existing, r)
	if err != nil {
		t.Fatalf("PlanRange(%v, %v): %v", existing, r, err)
	}
	got := applyEditList(plan.EditList, selectSegments(payload, plan.Segments))
	if !bytes.Equal(got, want) {
		t.Fatalf("PlanRange(%v, %v) = %+v: %d bytes, want %d", existing, r, plan, len(got), len(want))
	}
	// No chosen segment may be useless, and sizes must agree.
	if n := existing.PlaintextSize(int64(payloadSize)); n != int64(len(applyEditList(existing, payload))) {
		t.Fatalf("PlaintextSize(%v, %d) = %d, want %d", existing, payloadSize, n, len(applyEditList(existing, payload)))
	}
}

func TestPlanRangeTable(t *testing.T) {
	const S = SegmentSize
	tests := []struct {
		name     string
		existing EditList
		size     int
		r        Range
		segs     []SegmentRun
		el       EditList
	}{
		{"first byte", nil, 3*S + 100, Range{0, 1}, []SegmentRun{{0, 1}}, EditList{0, 1}},
		{"whole first segment", nil, 3 * S, Range{0, S}, []SegmentRun{{0, 1}}, EditList{0, S}},
		{"across a boundary", nil, 3 * S, Range{S - 6, S + 6}, []SegmentRun{{0, 2}}, EditList{S - 6, 12}},
		{"to the end from a boundary", nil, 3 * S, Range{S, -1}, []SegmentRun{{1, -1}}, nil},
		{"to the end mid-segment", nil, 3 * S, Range{S + 5, -1}, []SegmentRun{{1, -1}}, EditList{5}},
		{"python rearrange 70000-200001", nil, 4 * S, Range{70000, 200001}, []SegmentRun{{1, 3}}, EditList{70000 - S, 130001}},
		{"empty range", nil, 3 * S, Range{10, 10}, nil, nil},
		{"existing skip drops segments", EditList{2*S + 10, 20}, 4 * S, Range{0, -1}, []SegmentRun{{2, 1}}, EditList{10, 20}},
		{"two kept pieces far apart", EditList{5, 10, 3 * S, 10}, 5 * S, Range{0, -1}, []SegmentRun{{0, 1}, {3, 1}}, EditList{5, 10, S - 5 - 10 + 15, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkPlan(t, tc.existing, tc.size, tc.r)
			plan, err := PlanRange(tc.existing, tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Segments) != len(tc.segs) || (len(tc.segs) > 0 && !equalRuns(plan.Segments, tc.segs)) {
				t.Errorf("segments %v, want %v", plan.Segments, tc.segs)
			}
			if !equalLists(plan.EditList, tc.el) {
				t.Errorf("edit list %v, want %v", plan.EditList, tc.el)
			}
		})
	}
}

func equalRuns(a, b []SegmentRun) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func equalLists(a, b EditList) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPlanRangeInvalid(t *testing.T) {
	for _, r := range []Range{{-1, 5}, {10, 5}} {
		if _, err := PlanRange(nil, r); err == nil {
			t.Errorf("PlanRange(%v) accepted", r)
		}
	}
	if _, err := PlanRange(EditList{1 << 63, 1}, Range{0, -1}); err == nil {
		t.Error("overflowing edit list accepted")
	}
}

func TestPlanRangeRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		existing, size, r := randomCase(rng)
		checkPlan(t, existing, size, r)
	}
}

func randomCase(rng *rand.Rand) (EditList, int, Range) {
	size := rng.IntN(5*SegmentSize + 1)
	var existing EditList
	if rng.IntN(3) > 0 {
		n := rng.IntN(7)
		existing = EditList{}
		for j := 0; j < n; j++ {
			existing = append(existing, uint64(rng.IntN(2*SegmentSize)))
		}
	}
	visible := int(existing.PlaintextSize(int64(size)))
	start := rng.IntN(visible + 10)
	end := -1
	if rng.IntN(4) > 0 {
		end = start + rng.IntN(visible-min(start, visible)+10)
	}
	return existing, size, Range{int64(start), int64(end)}
}

// FuzzEditList feeds arbitrary edit lists, payload sizes and ranges to
// Restrict and PlanRange and checks them against the naive reference.
func FuzzEditList(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20; i++ {
		existing, size, r := randomCase(rng)
		f.Add(encodeFuzzCase(existing, size, r))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		existing, size, r, ok := decodeFuzzCase(data)
		if !ok {
			return
		}
		checkPlan(t, existing, size, r)
	})
}

func encodeFuzzCase(e EditList, size int, r Range) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(size))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Start))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.End))
	if e != nil {
		b = append(b, 1)
		for _, l := range e {
			b = binary.LittleEndian.AppendUint32(b, uint32(l))
		}
	}
	return b
}

func decodeFuzzCase(b []byte) (EditList, int, Range, bool) {
	if len(b) < 12 {
		return nil, 0, Range{}, false
	}
	size := int(binary.LittleEndian.Uint32(b) % (6 * SegmentSize))
	start := int64(binary.LittleEndian.Uint32(b[4:]) % (7 * SegmentSize))
	end := int64(int32(binary.LittleEndian.Uint32(b[8:])))
	if end >= 0 {
		end %= 7 * SegmentSize
		if end < start {
			end = start
		}
	} else {
		end = -1
	}
	var e EditList
	if len(b) > 12 {
		e = EditList{}
		for rest := b[13:]; len(rest) >= 4 && len(e) < 16; rest = rest[4:] {
			e = append(e, uint64(binary.LittleEndian.Uint32(rest)%(3*SegmentSize)))
		}
	}
	return e, size, Range{start, end}, true
}

// compose must map payload positions through an existing segment map
// exactly as the naive per-segment lookup does.
func TestSegmentMapCompose(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for iter := 0; iter < 500; iter++ {
		var m *SegmentMap
		var payload []int64 // original index of each payload position
		total := int64(1 + rng.IntN(40))
		if rng.IntN(2) == 0 {
			m = &SegmentMap{Total: uint64(total)}
			for i := int64(0); i < total; {
				i += int64(rng.IntN(3))
				if i >= total {
					break
				}
				c := min(total-i, int64(1+rng.IntN(4)))
				m.Runs = append(m.Runs, SegmentRun{First: i, Count: c})
				for k := int64(0); k < c; k++ {
					payload = append(payload, i+k)
				}
				i += c
			}
			if len(m.Runs) == 0 {
				continue
			}
		} else {
			for i := int64(0); i < total; i++ {
				payload = append(payload, i)
			}
		}
		n := int64(len(payload))
		// Random ordered runs of payload positions, the last maybe open.
		var runs []SegmentRun
		var want []int64
		for p := int64(rng.IntN(2)); p < n; {
			c := min(n-p, int64(1+rng.IntN(3)))
			if p+c == n && rng.IntN(2) == 0 {
				runs = append(runs, SegmentRun{First: p, Count: -1})
			} else {
				runs = append(runs, SegmentRun{First: p, Count: c})
			}
			want = append(want, payload[p:p+c]...)
			p += c + int64(rng.IntN(3))
		}
		if len(runs) == 0 {
			continue
		}
		got := m.compose(runs, n)
		var flat []int64
		for _, r := range got.Runs {
			for k := int64(0); k < r.Count; k++ {
				flat = append(flat, r.First+k)
			}
		}
		if len(flat) != len(want) {
			t.Fatalf("compose: %d segments, want %d", len(flat), len(want))
		}
		for i := range flat {
			if flat[i] != want[i] {
				t.Fatalf("compose: position %d maps to %d, want %d", i, flat[i], want[i])
			}
		}
		if err := got.validate(); err != nil {
			t.Fatalf("compose produced an invalid map: %v", err)
		}
		if m != nil && got.Total != m.Total {
			t.Fatalf("total %d, want %d", got.Total, m.Total)
		}
	}
}
