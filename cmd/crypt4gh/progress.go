package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crypt4gh-go/crypt4gh/internal/term"
)

const (
	progressDelay     = time.Second // runs shorter than this show nothing…
	progressBigInput  = 64 << 20    // …unless the input is at least this big
	progressBigDelay  = 200 * time.Millisecond
	progressInterval  = 200 * time.Millisecond
	progressMinWidth  = 40
	progressBarMaxLen = 40
)

// progress draws a progress line on standard error while a long command
// runs. It counts bytes through Reader or Writer wrappers.
type progress struct {
	done  atomic.Int64
	total int64
	start time.Time

	stop     chan struct{}
	stopOnce sync.Once
	stopped  sync.WaitGroup
	drawn    bool
	w        io.Writer
	width    func() int
}

// startProgress starts a progress line for total bytes, if standard error
// is a terminal, total is known, -q is off and the output does not go to
// the terminal too. It returns nil otherwise; a nil *progress counts
// nothing and draws nothing.
func (a *app) startProgress(total int64, iof ioFlags) *progress {
	if iof.quiet || total <= 0 || !term.IsTerminal(a.stderr) {
		return nil
	}
	if (iof.output == "" || iof.output == "-") && term.IsTerminal(a.stdout) {
		return nil
	}
	p := &progress{total: total, start: time.Now(), stop: make(chan struct{}), w: a.stderr,
		width: func() int { return term.Width(a.stderr, 80) }}
	p.stopped.Add(1)
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer p.stopped.Done()
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			if p.drawn {
				fmt.Fprint(p.w, "\r\x1b[K")
			}
			return
		case now := <-t.C:
			el := now.Sub(p.start)
			if el >= progressDelay || (p.total >= progressBigInput && el >= progressBigDelay) {
				fmt.Fprint(p.w, "\r"+renderProgress(p.done.Load(), p.total, el, p.width())+"\x1b[K")
				p.drawn = true
			}
		}
	}
}

// Stop erases the progress line. It is safe on a nil *progress and may be
// called more than once.
func (p *progress) Stop() {
	if p == nil {
		return
	}
	p.stopOnce.Do(func() { close(p.stop) })
	p.stopped.Wait()
}

func (p *progress) add(n int) {
	if p != nil && n > 0 {
		p.done.Add(int64(n))
	}
}

// Reader counts the bytes read through r.
func (p *progress) Reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return &countingReader{r: r, p: p}
}

// Writer counts the bytes written through w.
func (p *progress) Writer(w io.Writer) io.Writer {
	if p == nil {
		return w
	}
	return &countingWriter{w: w, p: p}
}

type countingReader struct {
	r io.Reader
	p *progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.p.add(n)
	return n, err
}

type countingWriter struct {
	w io.Writer
	p *progress
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.p.add(n)
	return n, err
}

// renderProgress formats one progress line of at most width columns:
// percentage, bar, bytes done/total, rate and ETA.
func renderProgress(done, total int64, elapsed time.Duration, width int) string {
	done = min(done, total)
	frac := float64(done) / float64(total)
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	eta := "--:--"
	if rate > 0 {
		eta = formatDuration(time.Duration(float64(total-done) / rate * float64(time.Second)))
	}
	text := fmt.Sprintf(" %3d%% %s / %s  %s/s  ETA %s", int(frac*100), formatBytes(done), formatBytes(total), formatBytes(int64(rate)), eta)
	barLen := min(progressBarMaxLen, max(width, progressMinWidth)-len(text)-3)
	if barLen < 10 {
		return strings.TrimSpace(text)
	}
	fill := int(frac * float64(barLen))
	bar := strings.Repeat("=", fill)
	if fill < barLen {
		bar += ">" + strings.Repeat(" ", barLen-fill-1)
	}
	return "[" + bar + "]" + text
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/unit, 0
	for v >= unit && u < 4 {
		v /= unit
		u++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTP"[u])
}

func formatDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
