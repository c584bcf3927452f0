package server

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// metrics is a small Prometheus text-format registry: the server exports
// a handful of counters and histograms, which does not justify the
// client_golang dependency tree.
type metrics struct {
	mu         sync.Mutex
	requests   map[[2]string]*atomic.Int64 // (route, status class) -> count
	decisions  map[[2]string]*atomic.Int64 // (decision, reason) -> count
	bytesSent  atomic.Int64
	ingested   atomic.Int64
	ingestFail atomic.Int64
	inflight   atomic.Int64
	durations  map[string]*histogram // route -> latency
	reencrypt  *histogram            // header re-encryption time
}

func newMetrics() *metrics {
	return &metrics{
		requests:  map[[2]string]*atomic.Int64{},
		decisions: map[[2]string]*atomic.Int64{},
		durations: map[string]*histogram{},
		reencrypt: newHistogram(),
	}
}

func (m *metrics) counter(tbl map[[2]string]*atomic.Int64, k [2]string) *atomic.Int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := tbl[k]
	if c == nil {
		c = new(atomic.Int64)
		tbl[k] = c
	}
	return c
}

func (m *metrics) observeRequest(route string, status int, d time.Duration) {
	m.counter(m.requests, [2]string{route, fmt.Sprintf("%dxx", status/100)}).Add(1)
	m.mu.Lock()
	h := m.durations[route]
	if h == nil {
		h = newHistogram()
		m.durations[route] = h
	}
	m.mu.Unlock()
	h.observe(d.Seconds())
}

func (m *metrics) decision(allowed bool, reason string) {
	d := "deny"
	if allowed {
		d = "allow"
	}
	m.counter(m.decisions, [2]string{d, reason}).Add(1)
}

// ServeHTTP writes the Prometheus text exposition format.
func (m *metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	m.mu.Lock()
	defer m.mu.Unlock()
	writeCounters(w, "c4gh_http_requests_total", "HTTP requests by route and status class.", []string{"route", "code"}, m.requests)
	writeCounters(w, "c4gh_access_decisions_total", "Access decisions by outcome and reason.", []string{"decision", "reason"}, m.decisions)
	fmt.Fprintf(w, "# HELP c4gh_payload_bytes_sent_total Encrypted payload bytes streamed to clients.\n# TYPE c4gh_payload_bytes_sent_total counter\nc4gh_payload_bytes_sent_total %d\n", m.bytesSent.Load())
	fmt.Fprintf(w, "# HELP c4gh_ingested_files_total Files ingested.\n# TYPE c4gh_ingested_files_total counter\nc4gh_ingested_files_total %d\n", m.ingested.Load())
	fmt.Fprintf(w, "# HELP c4gh_ingest_failures_total Ingests that failed and left nothing registered.\n# TYPE c4gh_ingest_failures_total counter\nc4gh_ingest_failures_total %d\n", m.ingestFail.Load())
	fmt.Fprintf(w, "# HELP c4gh_http_inflight_requests Requests being served.\n# TYPE c4gh_http_inflight_requests gauge\nc4gh_http_inflight_requests %d\n", m.inflight.Load())
	fmt.Fprintf(w, "# HELP c4gh_http_request_duration_seconds Request latency by route (to the last byte).\n# TYPE c4gh_http_request_duration_seconds histogram\n")
	routes := make([]string, 0, len(m.durations))
	for r := range m.durations {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	for _, r := range routes {
		m.durations[r].write(w, "c4gh_http_request_duration_seconds", fmt.Sprintf("route=%q", r))
	}
	fmt.Fprintf(w, "# HELP c4gh_header_reencrypt_seconds Time to re-encrypt one header for a requester.\n# TYPE c4gh_header_reencrypt_seconds histogram\n")
	m.reencrypt.write(w, "c4gh_header_reencrypt_seconds", "")
}

func writeCounters(w io.Writer, name, help string, labels []string, tbl map[[2]string]*atomic.Int64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	keys := make([][2]string, 0, len(tbl))
	for k := range tbl {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	for _, k := range keys {
		fmt.Fprintf(w, "%s{%s=%q,%s=%q} %d\n", name, labels[0], k[0], labels[1], k[1], tbl[k].Load())
	}
}

// histogram has fixed exponential buckets from 50 µs to ~100 s.
type histogram struct {
	mu      sync.Mutex
	bounds  []float64
	counts  []uint64
	sum     float64
	samples uint64
}

func newHistogram() *histogram {
	var b []float64
	for v := 50e-6; v < 120; v *= 2.5 {
		b = append(b, math.Round(v*1e6)/1e6)
	}
	return &histogram{bounds: b, counts: make([]uint64, len(b))}
}

func (h *histogram) observe(v float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := sort.SearchFloat64s(h.bounds, v)
	if i < len(h.counts) {
		h.counts[i]++
	}
	h.sum += v
	h.samples++
}

func (h *histogram) write(w io.Writer, name, labels string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sep := ""
	if labels != "" {
		sep = ","
	}
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(w, "%s_bucket{%s%sle=\"%g\"} %d\n", name, labels, sep, b, cum)
	}
	fmt.Fprintf(w, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, h.samples)
	braces := ""
	if labels != "" {
		braces = "{" + labels + "}"
	}
	fmt.Fprintf(w, "%s_sum%s %g\n%s_count%s %d\n", name, braces, h.sum, name, braces, h.samples)
}
