package crypt4gh

import (
	"errors"
	"fmt"
	"io"
)

// ErrNeedsRandomAccess is returned by [Rearrange] for sealed (v2) files,
// whose new header must record how many segments the payload holds: use
// [RearrangeReaderAt].
var ErrNeedsRandomAccess = errors.New("crypt4gh: rearranging a sealed (v2) stream needs random access to the file")

// rearranged returns the content of a header for the payload made of
// plan's segments of a payload of payloadSegs segments (-1: unknown, only
// for version 1).
func (c *HeaderContent) rearranged(plan *RangePlan, payloadSegs int64) (*HeaderContent, error) {
	out := &HeaderContent{Version: c.Version, DataKeys: c.DataKeys, EditList: plan.EditList, Expiry: c.Expiry, Link: c.Link}
	if len(plan.Segments) == 0 {
		out.EditList = EditList{0, 0} // nothing visible
	}
	switch m := c.DataKeys[0].Method; {
	case m == DataChaCha20Poly1305PR736:
		return nil, fmt.Errorf("%w: PR 736 files cannot be rearranged (their segment indexes are bound and version 1 has no segment map)", ErrUnsupported)
	case isSealed(m):
		if payloadSegs < 0 {
			return nil, ErrNeedsRandomAccess
		}
		if payloadSegs == 0 {
			return nil, fmt.Errorf("%w: the sealed payload is empty (it always holds a final segment)", ErrTruncated)
		}
		runs := clipRuns(plan.Segments, payloadSegs)
		if len(runs) == 0 {
			// A sealed payload holds at least one segment; keep the first
			// and show none of it.
			runs = []SegmentRun{{First: 0, Count: 1}}
			out.EditList = EditList{0, 0}
		}
		out.SegmentMap = c.SegmentMap.compose(runs, payloadSegs)
	}
	return out, nil
}

// RearrangeHeader decrypts h with ids and returns the header, for
// recipients, of the payload made of plan's segments (in order) of a
// payload of payloadSize bytes. A version 2 header gets a segment map, so
// the sealed payload's authenticated segment indexes still check, and keeps
// its signatures. This is what an htsget server sends ahead of the
// segments of a region; see [PlanRange] and [RangePlan.PayloadRanges].
func RearrangeHeader(h *Header, ids []Identity, recipients []Recipient, plan *RangePlan, payloadSize int64) (*Header, error) {
	c, err := h.Decrypt(ids...)
	if err != nil {
		return nil, err
	}
	defer c.Zero()
	segs := (payloadSize + CipherSegmentSize - 1) / CipherSegmentSize
	if payloadSize < 0 {
		segs = -1
	}
	nc, err := c.rearranged(plan, segs)
	if err != nil {
		return nil, err
	}
	nh, err := EncryptHeader(nc, recipients...)
	if err != nil {
		return nil, err
	}
	if nh.Version >= Version2 {
		nh.Signatures = append(nh.Signatures, h.Signatures...)
	}
	return nh, nil
}

// Rearrange reads a whole version 1 Crypt4GH file from src and writes to
// dst a file that holds only the visible plaintext range r: a header for
// recipients with the edit list of the range, then the unchanged cipher
// segments that hold it. Nothing is decrypted but the header. Packets of
// other readers are dropped, since their edit lists would no longer fit the
// payload. This is the rearrange command of the reference implementation,
// generalised to files that already have an edit list. Sealed (v2) files
// need [RearrangeReaderAt].
func Rearrange(dst io.Writer, src io.Reader, ids []Identity, recipients []Recipient, r Range) error {
	h, err := ReadHeader(src)
	if err != nil {
		return err
	}
	plan, err := planFor(h, ids, r)
	if err != nil {
		return err
	}
	nh, err := RearrangeHeader(h, ids, recipients, plan, -1)
	if err != nil {
		return err
	}
	if _, err := dst.Write(nh.Marshal()); err != nil {
		return err
	}
	return CopySegments(dst, src, plan.Segments)
}

// RearrangeReaderAt is [Rearrange] for a file of size bytes held in an
// io.ReaderAt; it handles every data method that can be rearranged,
// including sealed (v2) payloads, and reads only the segments it keeps.
func RearrangeReaderAt(dst io.Writer, src io.ReaderAt, size int64, ids []Identity, recipients []Recipient, r Range) error {
	h, err := ReadHeader(io.NewSectionReader(src, 0, size))
	if err != nil {
		return err
	}
	plan, err := planFor(h, ids, r)
	if err != nil {
		return err
	}
	hs := int64(h.Size())
	nh, err := RearrangeHeader(h, ids, recipients, plan, size-hs)
	if err != nil {
		return err
	}
	if _, err := dst.Write(nh.Marshal()); err != nil {
		return err
	}
	for _, rg := range plan.PayloadRanges(size - hs) {
		if _, err := io.Copy(dst, io.NewSectionReader(src, hs+rg[0], rg[1]-rg[0])); err != nil {
			return err
		}
	}
	if len(plan.PayloadRanges(size-hs)) == 0 && nh.Version >= Version2 && size > hs {
		// The placeholder segment the segment map lists.
		_, err := io.Copy(dst, io.NewSectionReader(src, hs, min(CipherSegmentSize, size-hs)))
		return err
	}
	return nil
}

// clipRuns drops the parts of runs past the payload's segs segments.
func clipRuns(runs []SegmentRun, segs int64) []SegmentRun {
	var out []SegmentRun
	for _, r := range runs {
		if r.First >= segs {
			break
		}
		if r.Count < 0 || r.First+r.Count > segs {
			r.Count = segs - r.First
		}
		out = append(out, r)
	}
	return out
}

// planFor decrypts h to plan the range r.
func planFor(h *Header, ids []Identity, r Range) (*RangePlan, error) {
	c, err := h.Decrypt(ids...)
	if err != nil {
		return nil, err
	}
	defer c.Zero()
	return PlanRange(c.EditList, r)
}

// CopySegments copies the cipher segments of runs, in order, from a
// payload stream src (positioned at its first segment) to dst, reading past
// the others. Runs must be ordered and disjoint. It checks only framing:
// the segments are not decrypted.
func CopySegments(dst io.Writer, src io.Reader, runs []SegmentRun) error {
	var index int64
	for _, run := range runs {
		if run.First < index {
			return errors.New("crypt4gh: segment runs out of order")
		}
		if skip := (run.First - index) * CipherSegmentSize; skip > 0 {
			// A range past the end of the payload selects nothing: version
			// 1 files do not record their size, so this is not an error.
			if _, err := io.CopyN(io.Discard, src, skip); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
		index = run.First
		if run.Count < 0 {
			n, err := io.Copy(dst, src)
			if err != nil {
				return err
			}
			if rem := n % CipherSegmentSize; rem > 0 && rem < 28 {
				return fmt.Errorf("%w: the last segment has only %d bytes", ErrTruncated, rem)
			}
			return nil
		}
		n, err := io.CopyN(dst, src, run.Count*CipherSegmentSize)
		index += run.Count
		if err == io.EOF {
			// The payload ended inside the run: fine if it ended with a
			// whole final segment.
			if rem := n % CipherSegmentSize; rem > 0 && rem < 28 {
				return fmt.Errorf("%w: the last segment has only %d bytes", ErrTruncated, rem)
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
