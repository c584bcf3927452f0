package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/remote"
)

// exitNetwork is the exit code of download for a server that cannot be
// reached or answers with an error, or breaks the protocol.
const exitNetwork = 9

// envToken holds the access token of download (there is no flag for a
// token itself: command lines are visible to every user of the machine).
const envToken = "C4GH_TOKEN"

// Bounds on what servers send besides data.
const (
	maxJSONBody    = 16 << 20 // DRS objects and htsget tickets
	maxTicketURLs  = 100_000
	maxDataURIBody = maxJSONBody
)

// downloadClient makes the requests of download; tests replace it. A
// redirect may not leave https for plain http; Go already drops the
// Authorization header on a redirect to another host.
var downloadClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 120 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	},
	CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("refusing a redirect from https to %s", remote.RedactURL(req.URL))
		}
		if len(via) >= 10 {
			return errors.New("too many redirects")
		}
		return nil
	},
}

// urlKind is what a download URL points to.
type urlKind int

const (
	kindDRS    urlKind = iota // a DRS object: .../ga4gh/drs/v1/objects/ID
	kindHtsget                // an htsget ticket: .../reads/ID or .../variants/ID
	kindFile                  // a Crypt4GH stream: .../files/ID, or any other URL
)

// downloadTarget is a classified download URL.
type downloadTarget struct {
	kind urlKind
	url  *url.URL // the DRS object, the htsget ticket or the file
}

// classifyURL recognises the URL forms of download: drs://HOST/ID, a DRS
// object URL, an htsget URL (by a "reads" or "variants" path segment
// before the ID), and anything else as a Crypt4GH file.
func classifyURL(raw string, plainHTTP bool) (*downloadTarget, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad URL: %v", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "drs":
		id := strings.TrimPrefix(u.EscapedPath(), "/")
		if u.Host == "" || id == "" || strings.Contains(id, "/") || u.RawQuery != "" || u.User != nil {
			return nil, errors.New("a DRS URI is drs://HOST/ID (compact identifiers drs://PREFIX:ID are not resolved)")
		}
		scheme := "https"
		if plainHTTP {
			scheme = "http"
		}
		obj, err := url.Parse(scheme + "://" + u.Host + "/ga4gh/drs/v1/objects/" + id)
		if err != nil {
			return nil, fmt.Errorf("bad DRS URI: %v", err)
		}
		return &downloadTarget{kind: kindDRS, url: obj}, nil
	case "https", "http":
	case "":
		return nil, errors.New("the URL has no scheme: want drs://HOST/ID or an https:// URL")
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q: want drs, https or http", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("the URL has no host")
	}
	if u.User != nil {
		return nil, errors.New("user information in the URL is not supported: give credentials with --token-file or " + envToken)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	n := len(segs)
	switch {
	case n >= 5 && segs[n-5] == "ga4gh" && segs[n-4] == "drs" && segs[n-3] == "v1" && segs[n-2] == "objects" && segs[n-1] != "":
		return &downloadTarget{kind: kindDRS, url: u}, nil
	case n >= 2 && (segs[n-2] == "reads" || segs[n-2] == "variants") && segs[n-1] != "":
		return &downloadTarget{kind: kindHtsget, url: u}, nil
	}
	return &downloadTarget{kind: kindFile, url: u}, nil
}

// region is an htsget genomic region in htsget coordinates: 0-based,
// end excluded. start and end are -1 when not given.
type region struct {
	name       string
	start, end int64
}

// parseRegion parses --region as samtools does: NAME, NAME:START,
// NAME:START- or NAME:START-END with 1-based inclusive positions (commas
// allowed: 1,000,000), "*" for unplaced unmapped reads, and {NAME}:… for
// a name that itself holds a colon. It returns htsget coordinates.
func parseRegion(s string) (region, error) {
	r := region{start: -1, end: -1}
	if s == "" {
		return r, errors.New("empty region")
	}
	name, rng := s, ""
	if strings.HasPrefix(s, "{") {
		i := strings.Index(s, "}")
		if i < 0 {
			return r, errors.New("missing } after {NAME")
		}
		name, rng = s[1:i], s[i+1:]
		if rng != "" {
			var ok bool
			if rng, ok = strings.CutPrefix(rng, ":"); !ok {
				return r, fmt.Errorf("want {NAME}:START-END, not %q after }", rng)
			}
		}
	} else if i := strings.LastIndex(s, ":"); i >= 0 && looksLikePositions(s[i+1:]) {
		name, rng = s[:i], s[i+1:]
	}
	if name == "" {
		return r, errors.New("missing reference name")
	}
	for _, c := range name {
		if c < '!' || c > '~' {
			return r, fmt.Errorf("reference name %q has a space or a non-printable character", name)
		}
	}
	r.name = name
	if rng == "" {
		return r, nil
	}
	if name == "*" {
		return r, errors.New("the unmapped reads (*) take no positions")
	}
	a, b, hasDash := strings.Cut(rng, "-")
	start, err := parsePosition(a)
	if err != nil {
		return r, fmt.Errorf("START %v", err)
	}
	r.start = start - 1
	if hasDash && b != "" {
		end, err := parsePosition(b)
		if err != nil {
			return r, fmt.Errorf("END %v", err)
		}
		if end < start {
			return r, errors.New("END is before START (positions are 1-based and END is included)")
		}
		r.end = end
	}
	return r, nil
}

// looksLikePositions reports text after a colon that is meant as
// positions (digits, commas, one dash), not part of a name.
func looksLikePositions(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	return strings.Trim(s, "0123456789,-") == "" && strings.Count(s, "-") <= 1
}

// parsePosition parses a 1-based position, with optional thousands
// commas.
func parsePosition(s string) (int64, error) {
	d := strings.ReplaceAll(s, ",", "")
	if d == "" || strings.Trim(d, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a position", s)
	}
	n, err := strconv.ParseInt(d, 10, 64)
	if err != nil || n > 1<<53 {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	if n < 1 {
		return 0, fmt.Errorf("%q: positions start at 1", s)
	}
	return n, nil
}

// downloader is one run of download.
type downloader struct {
	a      *app
	ctx    context.Context
	client *http.Client
	token  string // "" for none
	origin string // scheme://host of the URL given: where the token may go
	keyHdr string // the X-C4GH-Public-Key value
	id     crypt4gh.Identity
	opts   crypt4gh.DecryptOptions
	output string
	quiet  bool
	// pqCheck sets the post-quantum warning from the header (only for a
	// long-term --sk key: an ephemeral key's header is gone with it).
	pqCheck bool
}

// cmdDownload fetches an object from an archive (DRS, htsget or a file
// URL) with a key header and decrypts it to the output.
func (a *app) cmdDownload(args []string) error {
	fs := newFlagSet("download")
	var (
		iof                ioFlags
		tokenFile, sk, reg string
		class, format      string
		rng                rangeFlag
		plainHTTP          bool
	)
	fs.StringVar(&iof.output, "o", "", "")
	fs.StringVar(&iof.output, "output", "", "")
	fs.BoolVar(&iof.quiet, "q", false, "")
	fs.BoolVar(&iof.quiet, "quiet", false, "")
	fs.BoolVar(&a.noPQWarning, "no-pq-warning", false, "")
	fs.StringVar(&tokenFile, "token-file", "", "")
	fs.StringVar(&sk, "sk", "", "")
	fs.Var(&rng, "range", "")
	fs.StringVar(&reg, "region", "", "")
	fs.StringVar(&class, "class", "", "")
	fs.StringVar(&format, "format", "", "")
	fs.BoolVar(&plainHTTP, "plain-http", false, "")
	raw, err := parseDownloadArgs(fs, args)
	if err != nil {
		return err
	}
	target, err := classifyURL(raw, plainHTTP)
	if err != nil {
		return withCode(err, exitUsage, "give drs://HOST/ID, https://HOST/ga4gh/drs/v1/objects/ID, an htsget URL (…/reads/ID or …/variants/ID) or a …/files/ID URL")
	}
	var reqRegion *region
	if target.kind == kindHtsget {
		if rng.set {
			return usageErrorf("download", "--range is for DRS and file URLs; an htsget URL takes --region")
		}
		if reg != "" {
			r, err := parseRegion(reg)
			if err != nil {
				return usageErrorf("download", "invalid --region %q: %v", reg, err)
			}
			reqRegion = &r
		}
		switch class {
		case "", "header":
		default:
			return usageErrorf("download", "invalid --class %q: the only class is header (the default is the whole data)", class)
		}
		if format != "" {
			format = strings.ToUpper(format)
			switch format {
			case "BAM", "CRAM", "VCF", "BCF":
			default:
				return usageErrorf("download", "invalid --format %q: want BAM, CRAM, VCF or BCF", format)
			}
		}
	} else if reg != "" || class != "" || format != "" {
		return usageErrorf("download", "--region, --class and --format are for htsget URLs (…/reads/ID or …/variants/ID); use --range for bytes")
	}

	token, err := a.loadToken(tokenFile)
	if err != nil {
		return err
	}
	d := &downloader{a: a, ctx: context.Background(), client: downloadClient, token: token,
		origin: target.url.Scheme + "://" + target.url.Host, output: iof.output, quiet: iof.quiet,
		opts: crypt4gh.DecryptOptions{Now: a.clock}}
	if token != "" && target.url.Scheme == "http" && !isLoopback(target.url.Hostname()) {
		fmt.Fprintf(a.stderr, "crypt4gh: warning: sending the access token to %s over plain http\n", target.url.Host)
	}

	// The key the server re-encrypts the header for: a fresh one, kept
	// in memory only, unless --sk names a long-term key.
	var pub []byte
	if sk != "" {
		id, err := a.loadIdentity(sk, "--sk")
		if err != nil {
			return err
		}
		defer zeroIdentity(id)
		d.id, d.pqCheck = id, true
		switch id := id.(type) {
		case *crypt4gh.X25519Identity:
			pub = id.PublicKey()
		case *crypt4gh.HybridIdentity:
			pub = crypt4gh.MarshalHybridRecipient(id.Recipient())
		default:
			return withCode(fmt.Errorf("--sk %s: unsupported key type", sk), exitKey)
		}
	} else {
		id, err := crypt4gh.GenerateX25519Identity()
		if err != nil {
			return err
		}
		defer id.Zero()
		d.id, pub = id, id.PublicKey()
	}
	d.keyHdr = base64.StdEncoding.EncodeToString(pub)

	switch target.kind {
	case kindDRS:
		err = d.drs(target.url, rng)
	case kindHtsget:
		err = d.htsget(target.url, reqRegion, class, format)
	default:
		err = d.file(target.url, nil, rng, nil)
	}
	return d.classify(err, sk)
}

// parseDownloadArgs parses the options, which may come before and after
// the URL, and returns the URL.
func parseDownloadArgs(fs *flag.FlagSet, args []string) (string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", errHelp
			}
			msg := flagMessage(err)
			if strings.Contains(msg, "unknown option --token") && !strings.Contains(msg, "--token-") {
				return "", withCode(errors.New(msg), exitUsage,
					"tokens are never taken on the command line, where other users can see them: use --token-file FILE or "+envToken)
			}
			return "", usageErrorf(fs.Name(), "%s", msg)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...) // everything after -- is positional
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	switch {
	case len(pos) == 1 && (pos[0] == "help" || pos[0] == "-h"):
		return "", errHelp
	case len(pos) == 0:
		return "", usageErrorf(fs.Name(), "a URL is required")
	case len(pos) > 1:
		return "", usageErrorf(fs.Name(), "unexpected argument %q (download takes one URL)", pos[1])
	}
	return pos[0], nil
}

// loadToken reads the access token from --token-file, else $C4GH_TOKEN.
func (a *app) loadToken(path string) (string, error) {
	var tok, source string
	if path != "" {
		data, err := os.ReadFile(expandHome(path))
		if err != nil {
			return "", fmt.Errorf("reading the token: %w", err)
		}
		tok, source = strings.TrimSpace(string(data)), "--token-file "+path
		clear(data)
		if tok == "" {
			return "", fmt.Errorf("the token file %s is empty", path)
		}
	} else {
		tok, source = strings.TrimSpace(a.getenv(envToken)), envToken
	}
	for _, c := range tok {
		if c < '!' || c > '~' {
			return "", withCode(fmt.Errorf("the token from %s has a space or a non-printable character", source), exitUsage)
		}
	}
	return tok, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// netError marks a failure of the network or of the server, for the exit
// code.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// errMismatch means the downloaded plaintext is not what the DRS object
// describes.
var errMismatch = errors.New("the downloaded data does not match the object")

// classify gives err its exit code and hints.
func (d *downloader) classify(err error, sk string) error {
	if err == nil {
		return nil
	}
	var ce *cliError
	if errors.As(err, &ce) {
		return err
	}
	var se *remote.StatusError
	var ne *netError
	switch {
	case errors.As(err, &se):
		var hints []string
		switch se.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			hints = []string{"check the access token (--token-file FILE or " + envToken + ") and that it grants this object"}
		case http.StatusNotFound:
			hints = []string{"check the object ID and the server"}
		case http.StatusRequestedRangeNotSatisfiable:
			hints = []string{"the range starts past the end of the object"}
		}
		return withCode(err, exitNetwork, hints...)
	case errors.Is(err, errMismatch):
		return withCode(err, exitAuth, "the server sent other data than the object it describes: do not use it")
	case errors.As(err, &ne), errors.Is(err, remote.ErrBadResponse), errors.Is(err, remote.ErrChanged),
		errors.Is(err, remote.ErrNoRangeSupport), errors.Is(err, context.DeadlineExceeded):
		return withCode(err, exitNetwork)
	case exitCode(err) == exitNoKey:
		if sk == "" {
			return withHint(err, "the server did not encrypt the data for the download's key: is it an archive that re-encrypts for X-C4GH-Public-Key? for a file encrypted for your own key, pass --sk")
		}
		return withHint(err, fmt.Sprintf("was the data encrypted for the key %s?", sk))
	case exitCode(err) == exitAuth && (d.output == "" || d.output == "-"):
		return withHint(err, stdoutPartialHint)
	}
	return err
}

// request makes a GET request to u with the key header and the extra
// headers, adding the token when u is on the origin of the URL given and
// the extra headers carry no Authorization of their own.
func (d *downloader) request(u *url.URL, extra http.Header) (*http.Request, error) {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &netError{fmt.Errorf("bad URL %s: %v", remote.RedactURL(u), err)}
	}
	for k, v := range extra {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	if d.token != "" && req.Header.Get("Authorization") == "" && u.Scheme+"://"+u.Host == d.origin {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	req.Header.Set(remote.PublicKeyHeader, d.keyHdr)
	return req, nil
}

// do sends req and returns the response if its status is one of ok; an
// error status gives a *remote.StatusError with the server's message.
func (d *downloader) do(req *http.Request, ok ...int) (*http.Response, error) {
	resp, err := d.client.Do(req)
	if err != nil {
		// The error quotes the URL, whose query may be a signature.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = fmt.Errorf("%s %s: %w", req.Method, remote.RedactURL(req.URL), ue.Err)
		}
		return nil, &netError{err}
	}
	for _, c := range ok {
		if resp.StatusCode == c {
			return resp, nil
		}
	}
	return nil, remote.ResponseError(resp)
}

// getJSON GETs u and decodes its JSON body into v.
func (d *downloader) getJSON(u *url.URL, v any) error {
	req, err := d.request(u, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return err
	}
	resp, err := d.do(req, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody+1))
	if err != nil {
		return &netError{fmt.Errorf("reading %s: %w", remote.RedactURL(u), err)}
	}
	if len(body) > maxJSONBody {
		return &netError{fmt.Errorf("%w: %s sent more than %d MiB of JSON", remote.ErrBadResponse, remote.RedactURL(u), maxJSONBody>>20)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &netError{fmt.Errorf("%w: %s: not the expected JSON: %v", remote.ErrBadResponse, remote.RedactURL(u), err)}
	}
	return nil
}

// drsObject is the part of a DRS 1.x DrsObject that download uses.
type drsObject struct {
	ID        string `json:"id"`
	Size      *int64 `json:"size"`
	Checksums []struct {
		Type     string `json:"type"`
		Checksum string `json:"checksum"`
	} `json:"checksums"`
	AccessMethods []struct {
		Type      string        `json:"type"`
		AccessID  string        `json:"access_id"`
		AccessURL *drsAccessURL `json:"access_url"`
	} `json:"access_methods"`
}

// drsAccessURL is a DRS AccessURL: a URL and the headers to send with it
// ("Name: value").
type drsAccessURL struct {
	URL     string   `json:"url"`
	Headers []string `json:"headers"`
}

// sha256 returns the object's SHA-256 checksum in lower-case hex, or "".
func (o *drsObject) sha256() string {
	for _, c := range o.Checksums {
		t := strings.ToLower(strings.ReplaceAll(c.Type, "-", ""))
		if t == "sha256" {
			return strings.ToLower(strings.TrimSpace(c.Checksum))
		}
	}
	return ""
}

// accessURL picks the https access method (the archive's "crypt4gh" one
// first) and resolves it to a URL with headers.
func (d *downloader) accessURL(objURL *url.URL, obj *drsObject) (*url.URL, http.Header, error) {
	best := -1
	for i, m := range obj.AccessMethods {
		t := strings.ToLower(m.Type)
		if t != "https" && t != "http" {
			continue
		}
		if best < 0 || (m.AccessID == "crypt4gh" && obj.AccessMethods[best].AccessID != "crypt4gh") {
			best = i
		}
	}
	if best < 0 {
		var types []string
		for _, m := range obj.AccessMethods {
			types = append(types, m.Type)
		}
		return nil, nil, &netError{fmt.Errorf("the DRS object has no https access method (it offers: %s)", strings.Join(types, ", "))}
	}
	m := obj.AccessMethods[best]
	au := m.AccessURL
	if au == nil {
		if m.AccessID == "" {
			return nil, nil, &netError{fmt.Errorf("%w: DRS access method without access_url or access_id", remote.ErrBadResponse)}
		}
		au = &drsAccessURL{}
		if err := d.getJSON(objURL.JoinPath("access", m.AccessID), au); err != nil {
			return nil, nil, err
		}
	}
	u, err := objURL.Parse(au.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, nil, &netError{fmt.Errorf("%w: DRS access URL %q is not an http(s) URL", remote.ErrBadResponse, truncate(au.URL, 100))}
	}
	if objURL.Scheme == "https" && u.Scheme != "https" {
		return nil, nil, &netError{fmt.Errorf("%w: refusing the plain http access URL of an https DRS server", remote.ErrBadResponse)}
	}
	h := http.Header{}
	for _, line := range au.Headers {
		k, v, ok := strings.Cut(line, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || strings.ContainsAny(k, " \t\r\n") {
			return nil, nil, &netError{fmt.Errorf("%w: DRS access header without a name", remote.ErrBadResponse)}
		}
		h.Add(k, v)
	}
	return u, h, nil
}

// drs downloads a DRS object: the object, its access URL, then the file.
func (d *downloader) drs(objURL *url.URL, rng rangeFlag) error {
	var obj drsObject
	if err := d.getJSON(objURL, &obj); err != nil {
		return err
	}
	if obj.Size != nil && *obj.Size < 0 {
		return &netError{fmt.Errorf("%w: the DRS object has a negative size", remote.ErrBadResponse)}
	}
	u, h, err := d.accessURL(objURL, &obj)
	if err != nil {
		return err
	}
	want := &expect{size: -1}
	if obj.Size != nil {
		want.size = *obj.Size
	}
	if !rng.set {
		want.sha256 = obj.sha256()
	}
	return d.file(u, h, rng, want)
}

// expect is what a whole download must decrypt to (size -1: unknown).
type expect struct {
	size   int64
	sha256 string
}

// file GETs a Crypt4GH stream (with a Range for --range) and decrypts it.
// want, if not nil, describes the whole object.
func (d *downloader) file(u *url.URL, h http.Header, rng rangeFlag, want *expect) error {
	if want == nil {
		want = &expect{size: -1}
	}
	var hr string
	if rng.set {
		hr = fmt.Sprintf("bytes=%d-", rng.start)
		if rng.end >= 0 {
			hr += strconv.FormatInt(rng.end-1, 10)
		}
		h = h.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Range", hr)
	}
	req, err := d.request(u, h)
	if err != nil {
		return err
	}
	resp, err := d.do(req, http.StatusOK, http.StatusPartialContent)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	plainLen := int64(-1) // what the stream must decrypt to, if known
	opts := d.opts
	switch {
	case !rng.set:
		if resp.StatusCode != http.StatusOK {
			return &netError{fmt.Errorf("%w: %s answered a request without Range with %s", remote.ErrBadResponse, remote.RedactURL(u), resp.Status)}
		}
		plainLen = want.size
	case resp.StatusCode == http.StatusPartialContent:
		// The server cut the range out: the stream holds just it, and
		// Content-Range says which plaintext bytes these are.
		cr, err := remote.ParseContentRange(resp.Header.Get("Content-Range"))
		if err != nil {
			return &netError{fmt.Errorf("%s: %w", remote.RedactURL(u), err)}
		}
		end := cr.Last + 1
		if cr.Unsatisfied || cr.First != rng.start || (rng.end >= 0 && end > rng.end) ||
			(rng.end >= 0 && end < rng.end && (cr.Size < 0 || end != cr.Size)) || (rng.end < 0 && cr.Size >= 0 && end != cr.Size) {
			return &netError{fmt.Errorf("%w: asked for plaintext bytes %s, the server sent Content-Range %q", remote.ErrBadResponse, rng.String(), truncate(resp.Header.Get("Content-Range"), 80))}
		}
		plainLen = end - cr.First
	default:
		// 200: the server ignored the Range; cut it out here.
		r := rng.Range()
		opts.Range = &r
		if want.size >= 0 {
			plainLen = max(0, min(want.size, endOr(rng.end, want.size))-rng.start)
		}
	}
	total := resp.ContentLength
	body := &checkedBody{r: resp.Body, want: total, where: remote.RedactURL(u)}
	return d.decrypt(body, total, opts, plainLen, want.sha256)
}

func endOr(end, size int64) int64 {
	if end < 0 {
		return size
	}
	return end
}

// decrypt decrypts the Crypt4GH stream src (of total bytes, -1 unknown)
// to the output and checks its length and SHA-256 when given. The output
// file appears only when everything checks.
func (d *downloader) decrypt(src io.Reader, total int64, opts crypt4gh.DecryptOptions, plainLen int64, sum string) error {
	p := d.a.startProgress(total, ioFlags{output: d.output, quiet: d.quiet})
	defer p.Stop()
	r, err := crypt4gh.DecryptWithOptions(p.Reader(src), opts, d.id)
	if err != nil {
		return err
	}
	defer r.HeaderContent().Zero()
	if d.pqCheck {
		d.a.pqExposed = r.HeaderContent().ClassicallyExposed
	}
	out, err := d.a.createOutput(d.output, 0o600)
	if err != nil {
		return err
	}
	defer out.abort()
	w := io.Writer(out.w)
	var h hash.Hash
	if sum != "" {
		h = sha256.New()
		w = io.MultiWriter(w, h)
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return err
	}
	p.Stop()
	if plainLen >= 0 && n != plainLen {
		if n < plainLen {
			return fmt.Errorf("%w: the data ends after %d of its %d bytes", crypt4gh.ErrTruncated, n, plainLen)
		}
		return fmt.Errorf("%w: %d bytes, the object has %d", errMismatch, n, plainLen)
	}
	if h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != sum {
			return fmt.Errorf("%w: its SHA-256 is %s, the object's is %s", errMismatch, got, truncate(sum, 64))
		}
	}
	return out.commit()
}

// checkedBody passes a response body on, turning its errors into network
// errors (a body cut short must not pass for the end of the data) and
// checking that it has its announced length.
type checkedBody struct {
	r     io.Reader
	want  int64 // -1: unknown
	got   int64
	where string
}

func (b *checkedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.got += int64(n)
	if b.want >= 0 && b.got > b.want {
		return n, &netError{fmt.Errorf("%w: %s sent more than its %d bytes", remote.ErrBadResponse, b.where, b.want)}
	}
	switch {
	case err == io.EOF:
		if b.want >= 0 && b.got < b.want {
			return n, &netError{fmt.Errorf("%s: the connection closed after %d of %d bytes", b.where, b.got, b.want)}
		}
	case err != nil:
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("the connection closed early")
		}
		return n, &netError{fmt.Errorf("reading %s: %v", b.where, err)}
	}
	return n, err
}

// htsgetTicket is an htsget 1.3 ticket.
type htsgetTicket struct {
	Htsget *struct {
		Format           string `json:"format"`
		EncryptionScheme string `json:"encryptionScheme"`
		URLs             []struct {
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Class   string            `json:"class"`
		} `json:"urls"`
	} `json:"htsget"`
}

// htsget asks for a ticket, then fetches its URLs in order and decrypts
// their concatenation.
func (d *downloader) htsget(ticketURL *url.URL, reg *region, class, format string) error {
	u := *ticketURL
	q := u.Query()
	if reg != nil {
		q.Set("referenceName", reg.name)
		q.Del("start")
		q.Del("end")
		if reg.start >= 0 {
			q.Set("start", strconv.FormatInt(reg.start, 10))
		}
		if reg.end >= 0 {
			q.Set("end", strconv.FormatInt(reg.end, 10))
		}
	}
	if class != "" {
		q.Set("class", class)
	}
	if format != "" {
		q.Set("format", format)
	}
	if q.Get("encryptionScheme") == "" {
		q.Set("encryptionScheme", "crypt4gh")
	}
	u.RawQuery = q.Encode()
	var t htsgetTicket
	if err := d.getJSON(&u, &t); err != nil {
		return err
	}
	parts, total, err := d.ticketParts(&u, &t)
	if err != nil {
		return err
	}
	src := &ticketReader{d: d, parts: parts}
	defer src.close()
	return d.decrypt(src, total, d.opts, -1, "")
}

// ticketPart is one URL of a ticket, checked.
type ticketPart struct {
	data   []byte // a data: URI, decoded
	url    *url.URL
	header http.Header
	first  int64 // the Range asked for, -1 if none
	last   int64
}

// ticketParts checks a ticket's URLs and decodes its data: URIs. total is
// the sum of the parts' sizes, or -1 if one is unknown.
func (d *downloader) ticketParts(ticketURL *url.URL, t *htsgetTicket) ([]ticketPart, int64, error) {
	bad := func(format string, args ...any) error {
		return &netError{fmt.Errorf("%w: htsget ticket: %s", remote.ErrBadResponse, fmt.Sprintf(format, args...))}
	}
	if t.Htsget == nil {
		return nil, 0, bad("no htsget object")
	}
	if s := strings.ToLower(t.Htsget.EncryptionScheme); s != "" && s != "crypt4gh" && s != "c4gh" {
		return nil, 0, bad("unsupported encryptionScheme %q", truncate(t.Htsget.EncryptionScheme, 40))
	}
	if len(t.Htsget.URLs) == 0 {
		return nil, 0, bad("no urls")
	}
	if len(t.Htsget.URLs) > maxTicketURLs {
		return nil, 0, bad("%d urls, more than the limit of %d", len(t.Htsget.URLs), maxTicketURLs)
	}
	var parts []ticketPart
	total := int64(0)
	for i, tu := range t.Htsget.URLs {
		if strings.HasPrefix(strings.ToLower(tu.URL), "data:") {
			data, err := decodeDataURI(tu.URL)
			if err != nil {
				return nil, 0, bad("url %d: %v", i, err)
			}
			parts = append(parts, ticketPart{data: data, first: -1, last: -1})
			if total >= 0 {
				total += int64(len(data))
			}
			continue
		}
		pu, err := ticketURL.Parse(tu.URL)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return nil, 0, bad("url %d is neither a data: URI nor an http(s) URL", i)
		}
		if ticketURL.Scheme == "https" && pu.Scheme != "https" {
			return nil, 0, bad("url %d is plain http, from an https server", i)
		}
		p := ticketPart{url: pu, header: http.Header{}, first: -1, last: -1}
		for k, v := range tu.Headers {
			if k == "" || strings.ContainsAny(k, " \t\r\n:") {
				return nil, 0, bad("url %d has a malformed header name", i)
			}
			p.header.Set(k, v)
		}
		if r := p.header.Get("Range"); r != "" {
			first, last, err := parseByteRange(r)
			if err != nil {
				return nil, 0, bad("url %d: %v", i, err)
			}
			p.first, p.last = first, last
			if total >= 0 {
				total += last - first + 1
			}
		} else {
			total = -1
		}
		parts = append(parts, p)
	}
	return parts, total, nil
}

// parseByteRange parses a single closed Range "bytes=FIRST-LAST", the form
// htsget tickets use.
func parseByteRange(s string) (first, last int64, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes=")
	a, b, ok2 := strings.Cut(rest, "-")
	if !ok || !ok2 {
		return 0, 0, fmt.Errorf("Range %q is not bytes=FIRST-LAST", truncate(s, 60))
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first || strings.HasPrefix(a, "+") || strings.HasPrefix(b, "+") || last >= 1<<62 {
		return 0, 0, fmt.Errorf("Range %q is not bytes=FIRST-LAST", truncate(s, 60))
	}
	return first, last, nil
}

// decodeDataURI decodes an RFC 2397 data: URI (base64 or percent-encoded).
func decodeDataURI(s string) ([]byte, error) {
	if len(s) > 2*maxDataURIBody {
		return nil, errors.New("data: URI too large")
	}
	meta, data, ok := strings.Cut(s[len("data:"):], ",")
	if !ok {
		return nil, errors.New("data: URI without a comma")
	}
	if strings.HasSuffix(strings.ToLower(meta), ";base64") {
		b, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			// Some writers drop the padding.
			if b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(data, "=")); err != nil {
				return nil, fmt.Errorf("data: URI with bad base64: %v", err)
			}
		}
		return b, nil
	}
	b, err := url.PathUnescape(data)
	if err != nil {
		return nil, fmt.Errorf("data: URI with bad percent-encoding: %v", err)
	}
	return []byte(b), nil
}

// ticketReader reads the concatenation of a ticket's parts, fetching
// each URL when the previous part is consumed.
type ticketReader struct {
	d     *downloader
	parts []ticketPart
	cur   io.Reader
	body  io.Closer
}

func (t *ticketReader) Read(p []byte) (int, error) {
	for {
		if t.cur == nil {
			if len(t.parts) == 0 {
				return 0, io.EOF
			}
			if err := t.open(t.parts[0]); err != nil {
				return 0, err
			}
			t.parts = t.parts[1:]
		}
		n, err := t.cur.Read(p)
		if err == io.EOF {
			t.close()
			t.cur = nil
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

func (t *ticketReader) open(part ticketPart) error {
	if part.url == nil {
		t.cur = bytesReader(part.data)
		return nil
	}
	req, err := t.d.request(part.url, part.header)
	if err != nil {
		return err
	}
	resp, err := t.d.do(req, http.StatusOK, http.StatusPartialContent)
	if err != nil {
		return err
	}
	where := remote.RedactURL(part.url)
	want := resp.ContentLength
	if part.first >= 0 {
		// The ticket asked for bytes of a larger resource: only exactly
		// those will do.
		cr, err := remote.ParseContentRange(resp.Header.Get("Content-Range"))
		if resp.StatusCode != http.StatusPartialContent || err != nil || cr.Unsatisfied || cr.First != part.first || cr.Last != part.last {
			resp.Body.Close()
			return &netError{fmt.Errorf("%w: %s: asked for bytes %d-%d, got %s with Content-Range %q", remote.ErrBadResponse, where, part.first, part.last, resp.Status, truncate(resp.Header.Get("Content-Range"), 80))}
		}
		want = part.last - part.first + 1
	}
	t.cur, t.body = &checkedBody{r: resp.Body, want: want, where: where}, resp.Body
	return nil
}

func (t *ticketReader) close() {
	if t.body != nil {
		t.body.Close()
		t.body = nil
	}
}

// truncate shortens server text quoted in an error.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

const downloadUsage = `Usage: crypt4gh download [--token-file PATH] [--sk PATH] [--range START-END]
                         [--region REGION] [--class header] [--format FMT]
                         [--plain-http] [-o OUT] URL

Downloads a Crypt4GH object from an archive and decrypts it locally. The
archive re-encrypts the header for a key pair made for this download and
kept in memory only (its public key goes in the X-C4GH-Public-Key request
header); the data stays encrypted on the way and every segment is
authenticated as it arrives.

URL is one of:
    drs://HOST/ID                         a DRS object (at https://HOST)
    https://HOST/ga4gh/drs/v1/objects/ID  the same, spelled out
    https://HOST/…/reads/ID?…             an htsget ticket (also …/variants/ID)
    https://HOST/…/files/ID               a Crypt4GH stream (any other URL is
                                          taken as one too)

A DRS object is fetched through its https access method. When the whole
object is downloaded, its size and its SHA-256 checksum (if the object
lists one) are checked against the plaintext, and a mismatch fails the
download. An htsget ticket's URLs (data: URIs and http requests with the
ticket's headers) are fetched in order and decrypted as one stream.

Options:
    --token-file PATH    Read the access token (a passport, visa or other
                         bearer token) from PATH. Default: $C4GH_TOKEN. It is
                         sent as "Authorization: Bearer …" to the host of URL
                         only. There is no option taking the token itself:
                         command lines are visible to other users.
    --sk PATH            Have the data encrypted for this long-term key
                         instead of a fresh one (a Crypt4GH or hybrid key);
                         also decrypts files encrypted for it in advance.
                         ($C4GH_SECRET_KEY is not used here.)
    --range START-END    DRS and file URLs: only plaintext bytes [START, END)
                         (END excluded; "START-" runs to the end), asked of
                         the server as an HTTP Range.
    --region REGION      htsget URLs: only this region, as samtools writes it:
                         CHR, CHR:START, CHR:START-END with 1-based positions
                         and END included (commas allowed), "*" for unplaced
                         unmapped reads, {NAME}:START-END for a name holding a
                         colon. It is sent to the server in htsget's 0-based,
                         end-excluded coordinates: chr1:101-200 becomes
                         referenceName=chr1&start=100&end=200.
    --class header       htsget URLs: only the header of the BAM, CRAM, VCF or
                         BCF.
    --format FMT         htsget URLs: BAM, CRAM, VCF or BCF.
    --plain-http         drs:// URIs: reach the server over http, not https
                         (for test servers).
    -o, --output OUT     Write OUT (mode 0600 if new) instead of standard
                         output. OUT appears only once the whole download
                         decrypted and checked: a failed run writes nothing.
    -q, --quiet          No progress line.
    --no-pq-warning      No warning about a classical header (only with --sk).

Examples:
    export C4GH_TOKEN=$(cat ~/.visa)
    crypt4gh download -o reads.bam drs://archive.example.org/EGAF0001
    crypt4gh download --range 0-1048576 -o head.bin https://archive.example.org/files/EGAF0001
    crypt4gh download --token-file ~/.visa --region chr20:1,000,001-1,100,000 \
        -o region.bam https://archive.example.org/htsget/reads/EGAF0001

Exit status: 0 success, 1 error, 2 usage error, 3 not encrypted for the
key, 4 tampered or damaged data, or plaintext that differs from the DRS
object's size or checksum, 5 malformed or truncated data, 6 key file
problem, 8 expired, 9 network or server error (the server's message is
shown).
`
