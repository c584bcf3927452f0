package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// httpClient fetches https links (decrypt --follow-link). Tests replace
// it. Redirects must stay on https.
var httpClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	},
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("refusing a redirect to %s (not https)", req.URL.Redacted())
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	},
}

// openLink opens the payload a header's link points to: a file:// or an
// https:// URI. It says on standard error what it fetches.
func (a *app) openLink(uri string) (*payload, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("link %q: %v", uri, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("link %s: a file URI on another host (%s) cannot be followed", uri, u.Host)
		}
		if u.Path == "" || !filepath.IsAbs(u.Path) {
			return nil, fmt.Errorf("link %s: a file URI must hold an absolute path (file:///dir/file)", uri)
		}
		fmt.Fprintf(a.stderr, "crypt4gh: fetching the payload from %s\n", uri)
		f, err := os.Open(u.Path)
		if err != nil {
			return nil, fmt.Errorf("following the link: %w", err)
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("following the link: %s is not a regular file", u.Path)
		}
		return &payload{r: f, ra: f, size: st.Size(), c: f}, nil
	case "https":
		fmt.Fprintf(a.stderr, "crypt4gh: fetching the payload from %s\n", u.Redacted())
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, uri, nil)
		if err != nil {
			return nil, fmt.Errorf("link %s: %v", u.Redacted(), err)
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("following the link: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("following the link: %s answered %s", u.Redacted(), resp.Status)
		}
		return &payload{r: resp.Body, size: resp.ContentLength, c: resp.Body}, nil
	}
	return nil, withCode(fmt.Errorf("the payload is detached at %s, and only file:// and https:// links are followed", uri), exitError,
		"fetch the payload yourself and run crypt4gh decrypt --header HEADER -i PAYLOAD")
}
