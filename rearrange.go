package crypt4gh

import (
	"errors"
	"fmt"
	"io"
)

// Rearrange reads a whole Crypt4GH file from src and writes to dst a file
// that holds only the visible plaintext range r: a header for recipients
// with the edit list of the range, then the unchanged cipher segments that
// hold it. Nothing is decrypted but the header. Packets of other readers are
// dropped, since their edit lists would no longer fit the payload. This is
// the rearrange command of the reference implementation, generalised to
// files that already have an edit list.
func Rearrange(dst io.Writer, src io.Reader, ids []Identity, recipients []Recipient, r Range) error {
	h, err := ReadHeader(src)
	if err != nil {
		return err
	}
	c, err := h.Decrypt(ids...)
	if err != nil {
		return err
	}
	defer c.Zero()
	plan, err := PlanRange(c.EditList, r)
	if err != nil {
		return err
	}
	out := &HeaderContent{DataKeys: c.DataKeys, EditList: plan.EditList}
	if len(plan.Segments) == 0 {
		out.EditList = EditList{0, 0} // nothing visible
	}
	nh, err := EncryptHeader(out, recipients...)
	if err != nil {
		return err
	}
	nh.Version = h.Version
	if _, err := dst.Write(nh.Marshal()); err != nil {
		return err
	}
	return CopySegments(dst, src, plan.Segments)
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
