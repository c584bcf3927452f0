package sized

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReader(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		src  io.Reader
		size int64
		want error // nil: reads the whole source
	}{
		{"exact", strings.NewReader("hello"), 5, nil},
		{"exact one byte at a time", iotest.OneByteReader(strings.NewReader("hello")), 5, nil},
		{"exact with data and EOF together", iotest.DataErrReader(strings.NewReader("hello")), 5, nil},
		{"empty", strings.NewReader(""), 0, nil},
		{"short", strings.NewReader("hell"), 5, ErrShort},
		{"short empty", strings.NewReader(""), 5, ErrShort},
		{"long", strings.NewReader("hello!"), 5, ErrLong},
		{"long by much", strings.NewReader(strings.Repeat("x", 1e5)), 5, ErrLong},
		{"long, size 0", strings.NewReader("x"), 0, ErrLong},
		{"source error", io.MultiReader(strings.NewReader("he"), iotest.ErrReader(boom)), 5, boom},
		{"source error after the last byte", io.MultiReader(strings.NewReader("hello"), iotest.ErrReader(boom)), 5, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(context.Background(), tt.src, tt.size)
			got, err := io.ReadAll(r)
			if err == nil {
				err = r.Finish()
			}
			if tt.want == nil {
				if err != nil || int64(len(got)) != tt.size {
					t.Fatalf("read %d bytes, %v; want %d, nil", len(got), err, tt.size)
				}
				if r.Err() != nil {
					t.Errorf("Err() = %v after success", r.Err())
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if int64(len(got)) >= tt.size && tt.size > 0 {
				t.Errorf("delivered all %d bytes before failing: an uploader could have committed them", len(got))
			}
			if !errors.Is(r.Err(), tt.want) {
				t.Errorf("Err() = %v, want %v", r.Err(), tt.want)
			}
		})
	}
}

func TestReaderCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := NewReader(ctx, strings.NewReader(strings.Repeat("x", 100)), 100)
	buf := make([]byte, 10)
	if _, err := r.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := r.Read(buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel = %v, want context.Canceled", err)
	}
	if !errors.Is(r.Finish(), context.Canceled) {
		t.Errorf("Finish after cancel = %v", r.Finish())
	}
}

// FuzzReader: whatever the source length and read sizes, the Reader
// delivers all bytes only when the length matches the announced size.
func FuzzReader(f *testing.F) {
	f.Add([]byte("hello"), int64(5), uint8(3))
	f.Add([]byte(""), int64(0), uint8(1))
	f.Add([]byte("hello"), int64(4), uint8(1))
	f.Add([]byte("hi"), int64(9), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, size int64, chunk uint8) {
		if size < 0 || size > 1<<20 {
			return
		}
		r := NewReader(context.Background(), bytes.NewReader(data), size)
		var got []byte
		buf := make([]byte, int(chunk)+1)
		var err error
		for range 1 << 21 {
			var n int
			n, err = r.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				break
			}
		}
		if err == io.EOF {
			err = r.Finish()
		}
		match := int64(len(data)) == size
		if match != (err == nil) {
			t.Fatalf("len %d, size %d: err %v", len(data), size, err)
		}
		if match && !bytes.Equal(got, data) {
			t.Fatal("delivered bytes differ from the source")
		}
		if !match && int64(len(got)) >= size && size > 0 {
			t.Fatalf("len %d, size %d: delivered %d bytes before failing", len(data), size, len(got))
		}
	})
}
