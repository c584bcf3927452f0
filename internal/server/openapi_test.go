package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/crypt4gh-go/crypt4gh"
	"github.com/crypt4gh-go/crypt4gh/internal/auth"
	"github.com/crypt4gh-go/crypt4gh/internal/store"
	"github.com/crypt4gh-go/crypt4gh/internal/store/localfs"
	"github.com/crypt4gh-go/crypt4gh/internal/store/sqlite"
	"github.com/crypt4gh-go/crypt4gh/internal/testvectors"
)

// The tests in this file keep openapi.yaml honest: it must be a
// well-formed OpenAPI 3.0.3 document, describe exactly the routes that
// routes() registers, and declare every status, tracked header and body
// shape the real server produces for a table of requests.

// apiDoc is the parsed document with the helpers the tests need.
type apiDoc struct {
	root map[string]any
}

func loadAPIDoc(t *testing.T) *apiDoc {
	t.Helper()
	var root map[string]any
	if err := yaml.Unmarshal(openAPI, &root); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	return &apiDoc{root: root}
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// resolve follows a local $ref ("#/a/b") to what it names.
func (d *apiDoc) resolve(v any) (any, error) {
	for range 16 {
		m, ok := v.(map[string]any)
		if !ok {
			return v, nil
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v, nil
		}
		target, err := d.lookup(ref)
		if err != nil {
			return nil, err
		}
		v = target
	}
	return nil, fmt.Errorf("$ref chain too long")
}

func (d *apiDoc) lookup(ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = d.root
	for _, seg := range strings.Split(p, "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not inside an object", ref, seg)
		}
		if cur, ok = m[seg]; !ok {
			return nil, fmt.Errorf("$ref %q does not resolve (no %q)", ref, seg)
		}
	}
	return cur, nil
}

func (d *apiDoc) paths() map[string]any {
	p, _ := d.root["paths"].(map[string]any)
	return p
}

// operation returns the operation object that serves method on a path
// template.
func (d *apiDoc) operation(path, method string) map[string]any {
	return d.operationOf(asMap(d.paths()[path]), method)
}

// operationOf returns the operation of a path item that serves method.
// As in Go's ServeMux, a GET operation also serves HEAD unless the path
// has its own HEAD operation.
func (d *apiDoc) operationOf(item map[string]any, method string) map[string]any {
	op, _ := item[strings.ToLower(method)].(map[string]any)
	if op == nil && method == "HEAD" {
		op, _ = item["get"].(map[string]any)
	}
	return op
}

// response returns the resolved response object for a status, or nil.
func (d *apiDoc) response(op map[string]any, status int) (map[string]any, error) {
	responses, _ := op["responses"].(map[string]any)
	r, ok := responses[strconv.Itoa(status)]
	if !ok {
		return nil, nil
	}
	v, err := d.resolve(r)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

func TestOpenAPIStructure(t *testing.T) {
	d := loadAPIDoc(t)
	if v := d.root["openapi"]; v != "3.0.3" {
		t.Errorf("openapi is %v, want 3.0.3", v)
	}
	info := asMap(d.root["info"])
	for _, k := range []string{"title", "version"} {
		if s, _ := info[k].(string); s == "" {
			t.Errorf("info.%s is missing", k)
		}
	}
	if len(d.paths()) == 0 {
		t.Fatal("no paths")
	}
	schemes := asMap(asMap(d.root["components"])["securitySchemes"])
	checkSecurity := func(where string, v any) {
		list, ok := v.([]any)
		if !ok {
			t.Errorf("%s: security is not a list", where)
			return
		}
		for _, req := range list {
			for name := range asMap(req) {
				if _, ok := schemes[name]; !ok {
					t.Errorf("%s: security scheme %q is not defined", where, name)
				}
			}
		}
	}
	if v, ok := d.root["security"]; ok {
		checkSecurity("top level", v)
	}

	templateParam := regexp.MustCompile(`\{([^{}/]+)\}`)
	opIDs := map[string]string{}
	for path, rawItem := range d.paths() {
		if !strings.HasPrefix(path, "/") {
			t.Errorf("path %q does not start with /", path)
		}
		item, ok := rawItem.(map[string]any)
		if !ok {
			t.Errorf("path %q is not an object", path)
			continue
		}
		var inTemplate []string
		for _, m := range templateParam.FindAllStringSubmatch(path, -1) {
			inTemplate = append(inTemplate, m[1])
		}
		for key, rawOp := range item {
			if key == "summary" || key == "description" || key == "parameters" || key == "servers" {
				continue
			}
			if !slices.Contains(httpMethods, key) {
				t.Errorf("%s: %q is not an HTTP method", path, key)
				continue
			}
			where := strings.ToUpper(key) + " " + path
			op, ok := rawOp.(map[string]any)
			if !ok {
				t.Errorf("%s is not an object", where)
				continue
			}
			if id, _ := op["operationId"].(string); id == "" {
				t.Errorf("%s has no operationId", where)
			} else if other, dup := opIDs[id]; dup {
				t.Errorf("operationId %q is used by %s and %s", id, other, where)
			} else {
				opIDs[id] = where
			}
			if v, ok := op["security"]; ok {
				checkSecurity(where, v)
			}
			responses, ok := op["responses"].(map[string]any)
			if !ok || len(responses) == 0 {
				t.Errorf("%s has no responses (status codes must be quoted strings)", where)
			}
			for code, raw := range responses {
				if n, err := strconv.Atoi(code); code != "default" && (err != nil || n < 100 || n > 599) {
					t.Errorf("%s: response key %q is not a status code", where, code)
				}
				r, err := d.resolve(raw)
				if err != nil {
					t.Errorf("%s %s: %v", where, code, err)
					continue
				}
				if s, _ := asMap(r)["description"].(string); s == "" {
					t.Errorf("%s %s: a response needs a description", where, code)
				}
			}
			// Path parameters: each template variable is declared, required.
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			if shared, ok := item["parameters"].([]any); ok {
				params = append(params, shared...)
			}
			for _, raw := range params {
				p, err := d.resolve(raw)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				pm := asMap(p)
				name, _ := pm["name"].(string)
				in, _ := pm["in"].(string)
				if name == "" || !slices.Contains([]string{"path", "query", "header", "cookie"}, in) {
					t.Errorf("%s: parameter %v needs a name and a valid in", where, pm)
				}
				if in == "header" && slices.Contains([]string{"accept", "content-type", "authorization"}, strings.ToLower(name)) {
					t.Errorf("%s: header parameter %s is ignored by OpenAPI; use a security scheme", where, name)
				}
				if in == "path" {
					declared[name] = true
					if pm["required"] != true {
						t.Errorf("%s: path parameter %s must be required", where, name)
					}
					if !slices.Contains(inTemplate, name) {
						t.Errorf("%s: path parameter %s is not in the path", where, name)
					}
				}
			}
			for _, name := range inTemplate {
				if !declared[name] {
					t.Errorf("%s: path variable {%s} has no parameter", where, name)
				}
			}
		}
	}

	// Every $ref anywhere in the document resolves, no value is null (an
	// unquoted comma in a YAML flow mapping makes a stray null key), and
	// schemas use only schema keywords.
	var walk func(at string, v any, isSchema bool)
	walk = func(at string, v any, isSchema bool) {
		switch v := v.(type) {
		case nil:
			t.Errorf("at %s: null value (an unquoted ', ' or ': ' in a flow mapping?)", at)
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := d.lookup(ref); err != nil {
					t.Errorf("at %s: %v", at, err)
				}
			}
			for k, c := range v {
				childIsSchema := k == "schema" || at == "#/components/schemas"
				if isSchema {
					if !schemaKeywords[k] && !strings.HasPrefix(k, "x-") {
						t.Errorf("at %s: %q is not a schema keyword", at, k)
					}
					switch k {
					case "items", "additionalProperties", "not":
						childIsSchema = true
					case "properties":
						for name, ps := range asMap(c) {
							walk(at+"/properties/"+name, ps, true)
						}
						continue
					case "example", "default", "enum":
						continue
					}
				}
				walk(at+"/"+k, c, childIsSchema)
			}
		case []any:
			for i, c := range v {
				walk(at+"/"+strconv.Itoa(i), c, isSchema && strings.HasSuffix(at, "Of"))
			}
		}
	}
	walk("#", d.root, false)
}

// schemaKeywords are the keywords of an OpenAPI 3.0 Schema Object.
var schemaKeywords = map[string]bool{
	"$ref": true, "title": true, "description": true, "type": true, "format": true,
	"properties": true, "required": true, "items": true, "additionalProperties": true,
	"enum": true, "example": true, "default": true, "nullable": true, "readOnly": true,
	"writeOnly": true, "deprecated": true, "minimum": true, "maximum": true,
	"exclusiveMinimum": true, "exclusiveMaximum": true, "multipleOf": true,
	"minLength": true, "maxLength": true, "pattern": true, "minItems": true,
	"maxItems": true, "uniqueItems": true, "minProperties": true, "maxProperties": true,
	"allOf": true, "anyOf": true, "oneOf": true, "not": true, "discriminator": true,
	"xml": true, "externalDocs": true,
}

// registeredRoute is one pattern from routes(): "METHOD /path", and
// whether it goes through instrument (and so has an X-Request-Id).
type registeredRoute struct {
	pattern      string
	instrumented bool
}

// routesFromSource reads the route patterns registered in the routes()
// method of src (server.go) without running it, so a route added there
// and not to the document (or the other way round) fails
// TestOpenAPIMatchesRoutes. It understands the shapes routes() uses:
// handle("GET /x", …) and m.Handle("GET /x", …), patterns built with +
// from string literals, local string constants and the variable of a
// "for _, v := range []string{…} {" loop. Any other line that registers
// a route is an error, never skipped.
func routesFromSource(src string) ([]registeredRoute, error) {
	const start = "func (s *Server) routes() {"
	i := strings.Index(src, start)
	if i < 0 {
		return nil, fmt.Errorf("no %q", start)
	}
	body := src[i+len(start):]
	if j := strings.Index(body, "\n}\n"); j >= 0 {
		body = body[:j]
	}

	var (
		constRe = regexp.MustCompile(`^const (\w+) = ("[^"]*")$`)
		loopRe  = regexp.MustCompile(`^for _, (\w+) := range \[\]string\{([^}]*)\} \{$`)
		callRe  = regexp.MustCompile(`^(handle|m\.Handle)\(((?:"[^"]*"|\w+)(?:\s*\+\s*(?:"[^"]*"|\w+))*)\s*,`)
		litRe   = regexp.MustCompile(`"[^"]*"`)
	)
	consts := map[string]string{}
	type frame struct {
		loopVar string
		values  []string
		skip    bool // the body of a func literal (the handle helper)
	}
	var stack []frame
	eval := func(expr string, vars map[string]string) (string, error) {
		var sb strings.Builder
		for _, part := range strings.Split(expr, "+") {
			part = strings.TrimSpace(part)
			if strings.HasPrefix(part, `"`) {
				s, err := strconv.Unquote(part)
				if err != nil {
					return "", err
				}
				sb.WriteString(s)
				continue
			}
			v, ok := vars[part]
			if !ok {
				v, ok = consts[part]
			}
			if !ok {
				return "", fmt.Errorf("pattern %s: unknown identifier %q", expr, part)
			}
			sb.WriteString(v)
		}
		return sb.String(), nil
	}
	// expand evaluates expr for every combination of the enclosing loops.
	var expand func(expr string, depth int, vars map[string]string) ([]string, error)
	expand = func(expr string, depth int, vars map[string]string) ([]string, error) {
		for depth < len(stack) && stack[depth].loopVar == "" {
			depth++
		}
		if depth == len(stack) {
			s, err := eval(expr, vars)
			return []string{s}, err
		}
		var all []string
		for _, v := range stack[depth].values {
			next := maps.Clone(vars)
			next[stack[depth].loopVar] = v
			more, err := expand(expr, depth+1, next)
			if err != nil {
				return nil, err
			}
			all = append(all, more...)
		}
		return all, nil
	}
	skipping := func() bool {
		return slices.ContainsFunc(stack, func(f frame) bool { return f.skip })
	}
	var out []registeredRoute
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "//"):
			continue
		case line == "}":
			if len(stack) == 0 {
				return nil, errors.New("unbalanced braces")
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if m := constRe.FindStringSubmatch(line); m != nil {
			consts[m[1]], _ = strconv.Unquote(m[2])
			continue
		}
		if m := loopRe.FindStringSubmatch(line); m != nil {
			var vals []string
			for _, lit := range litRe.FindAllString(m[2], -1) {
				v, _ := strconv.Unquote(lit)
				vals = append(vals, v)
			}
			stack = append(stack, frame{loopVar: m[1], values: vals})
			continue
		}
		if !skipping() {
			if m := callRe.FindStringSubmatch(line); m != nil {
				patterns, err := expand(m[2], 0, map[string]string{})
				if err != nil {
					return nil, err
				}
				for _, p := range patterns {
					out = append(out, registeredRoute{pattern: p, instrumented: m[1] == "handle"})
				}
			} else if strings.Contains(line, "andle(") {
				return nil, fmt.Errorf("cannot read the route registered by %q", line)
			}
		}
		if strings.HasSuffix(line, "{") {
			stack = append(stack, frame{skip: strings.Contains(line, "func(")})
		}
	}
	return out, nil
}

func TestRoutesFromSource(t *testing.T) {
	wrap := func(body string) string {
		return "package server\n\nfunc (s *Server) routes() {\n" + body + "\n}\n\nfunc other() {\n\thandle(\"GET /not-in-routes\", \"x\", nil)\n}\n"
	}
	helper := "\tm := http.NewServeMux()\n\thandle := func(pattern, route string, h func(http.ResponseWriter, *http.Request)) {\n\t\tm.Handle(pattern, s.instrument(route, http.HandlerFunc(h)))\n\t}\n"
	tests := []struct {
		name, body string
		src        string   // the whole file, instead of wrap(body)
		want       []string // "METHOD /path", or "METHOD /path (raw)" for m.Handle
		wantErr    string
	}{
		{name: "literal", body: helper + `	handle("GET /a", "a", s.a)`, want: []string{"GET /a"}},
		{name: "uninstrumented", body: helper + `	m.Handle("GET /metrics", s.metrics)`, want: []string{"GET /metrics (raw)"}},
		{name: "constant", body: helper + "\tconst p = \"/x/v1\"\n\thandle(\"POST \"+p+\"/y\", \"y\", s.y)", want: []string{"POST /x/v1/y"}},
		{name: "loop", body: helper + "\tfor _, k := range []string{\"r\", \"v\"} {\n\t\thandle(\"GET /\"+k+\"/{id}\", \"h\", s.h(k))\n\t}\n\thandle(\"GET /after\", \"a\", s.a)",
			want: []string{"GET /r/{id}", "GET /v/{id}", "GET /after"}},
		{name: "conditional block", body: helper + "\tif d := s.d; d != nil {\n\t\tm.Handle(\"GET /dev\", d)\n\t}", want: []string{"GET /dev (raw)"}},
		{name: "unknown identifier", body: helper + `	handle(prefix+"/a", "a", s.a)`, wantErr: "unknown identifier"},
		{name: "unreadable shape", body: helper + `	handle(fmt.Sprintf("GET /%s", x), "a", s.a)`, wantErr: "cannot read"},
		{name: "no routes func", src: "package server\n", wantErr: `no "func (s *Server) routes() {"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if src == "" {
				src = wrap(tt.body)
			}
			got, err := routesFromSource(src)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotS []string
			for _, r := range got {
				s := r.pattern
				if !r.instrumented {
					s += " (raw)"
				}
				gotS = append(gotS, s)
			}
			if !slices.Equal(gotS, tt.want) {
				t.Fatalf("got %q, want %q", gotS, tt.want)
			}
		})
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	d := loadAPIDoc(t)
	registered := map[string]bool{} // pattern -> instrumented
	src, err := os.ReadFile("server.go")
	if err != nil {
		t.Fatal(err)
	}
	routes, err := routesFromSource(string(src))
	if err != nil {
		t.Fatalf("reading routes() in server.go: %v (teach routesFromSource the new shape)", err)
	}
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in server.go; the parser is out of date: %v", len(routes), routes)
	}
	for _, r := range routes {
		method, path, ok := strings.Cut(r.pattern, " ")
		if !ok {
			t.Errorf("route %q has no method; every route must name one", r.pattern)
			continue
		}
		registered[method+" "+path] = r.instrumented
	}
	documented := map[string]bool{}
	for path, item := range d.paths() {
		for key := range asMap(item) {
			if slices.Contains(httpMethods, key) {
				documented[strings.ToUpper(key)+" "+path] = true
			}
		}
	}
	var missing, extra []string
	for p := range registered {
		if !documented[p] {
			missing = append(missing, p)
		}
	}
	for p := range documented {
		if _, ok := registered[p]; !ok {
			extra = append(extra, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes registered by the server but not in openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("operations in openapi.yaml that the server does not register:\n  %s", strings.Join(extra, "\n  "))
	}

	// Instrumented routes answer with X-Request-Id, the others do not:
	// the document must say so on every response.
	for p, instrumented := range registered {
		method, path, _ := strings.Cut(p, " ")
		op := d.operation(path, method)
		if op == nil {
			continue
		}
		for code := range asMap(op["responses"]) {
			n, _ := strconv.Atoi(code)
			r, err := d.response(op, n)
			if err != nil {
				t.Fatal(err)
			}
			_, has := asMap(r["headers"])["X-Request-Id"]
			if has != instrumented {
				t.Errorf("%s %s: declares X-Request-Id = %v, but the route is instrumented = %v", p, code, has, instrumented)
			}
		}
	}
}

// validateSchema checks a decoded JSON value against the subset of
// OpenAPI schema keywords the document uses.
func (d *apiDoc) validateSchema(schema any, v any, at string) error {
	s, err := d.resolve(schema)
	if err != nil {
		return err
	}
	sm := asMap(s)
	if v == nil {
		if sm["nullable"] == true {
			return nil
		}
		return fmt.Errorf("%s: null", at)
	}
	if enum, ok := sm["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: %v is not one of %v", at, v, enum)
		}
	}
	switch typ, _ := sm["type"].(string); typ {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %T", at, v)
		}
		for _, r := range asSlice(sm["required"]) {
			if _, ok := obj[fmt.Sprint(r)]; !ok {
				return fmt.Errorf("%s: required property %q is missing", at, r)
			}
		}
		props := asMap(sm["properties"])
		for k, val := range obj {
			ps, ok := props[k]
			if !ok {
				ps = sm["additionalProperties"]
				if ps == nil || ps == true {
					// Undocumented properties are the point of this check.
					return fmt.Errorf("%s: property %q is not documented", at, k)
				}
			}
			if err := d.validateSchema(ps, val, at+"."+k); err != nil {
				return err
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %T", at, v)
		}
		for i, e := range arr {
			if err := d.validateSchema(sm["items"], e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: want a string, got %T", at, v)
		}
	case "integer":
		f, ok := v.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s: want an integer, got %v", at, v)
		}
	case "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("%s: want a number, got %T", at, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", at, v)
		}
	case "":
	default:
		return fmt.Errorf("%s: schema type %q is not understood by this test", at, typ)
	}
	return nil
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// matchTemplate returns the documented path template for a request path:
// the one with the most literal segments among those with the method.
// Unmatched GET paths fall to "/", which routes() registers as a catch-all.
func (d *apiDoc) matchTemplate(method, path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestLiterals := "", -1
	for tmpl, item := range d.paths() {
		if d.operationOf(asMap(item), method) == nil {
			continue
		}
		tsegs := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		literals, ok := 0, true
		for i, ts := range tsegs {
			switch {
			case strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}"):
			case ts == segs[i]:
				literals++
			default:
				ok = false
			}
		}
		if ok && literals > bestLiterals {
			best, bestLiterals = tmpl, literals
		}
	}
	if best == "" && (method == "GET" || method == "HEAD") {
		return "/"
	}
	return best
}

// trackedHeaders are the response headers the document must declare
// exactly where the server sends them.
var trackedHeaders = []string{"ETag", "Content-Range", "X-C4GH-Payload-Size", "X-C4GH-Plaintext-Size", "X-Request-Id", "Retry-After"}

// flakyDB is the real header database with a switch that makes it
// unreachable, the way a PostgreSQL outage looks to the server.
type flakyDB struct {
	store.HeaderDB
	down atomic.Bool
}

func (f *flakyDB) Get(ctx context.Context, id string) (store.File, error) {
	if f.down.Load() {
		return store.File{}, fmt.Errorf("%w: switched off by the test", store.ErrUnavailable)
	}
	return f.HeaderDB.Get(ctx, id)
}

func (f *flakyDB) Ping(ctx context.Context) error {
	if f.down.Load() {
		return fmt.Errorf("%w: switched off by the test", store.ErrUnavailable)
	}
	return f.HeaderDB.Ping(ctx)
}

// apiEnv is a real server (SQLite, local objects, the development issuer
// and a static token) plus a second server over the same stores whose
// archive key opens none of the stored headers.
type apiEnv struct {
	url, wrongKeyURL string
	db               *flakyDB
	passport         string // grants ds1
	static           string // grants ds2
	admin            string
	pubKey           string // base64 X25519 public key of the requester
	payloadETag      string
}

func startAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	dir := t.TempDir()
	sq, err := sqlite.Open(filepath.Join(dir, "headers.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	if err := os.Mkdir(filepath.Join(dir, "objects"), 0o700); err != nil {
		t.Fatal(err)
	}
	objects, err := localfs.Open(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	e := &apiEnv{db: &flakyDB{HeaderDB: sq}, static: "static-token-for-ds2-openapi", admin: "admin-token-for-openapi-test"}

	// Both servers trust the one development issuer, mounted on the first.
	hs := newLateServer(t)
	wrong := newLateServer(t)
	dev, err := auth.NewDevIssuer(hs.URL+"/dev-issuer", filepath.Join(dir, "dev.key"))
	if err != nil {
		t.Fatal(err)
	}
	if e.passport, err = dev.Mint("alice", []string{"ds1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewVerifier(auth.Config{
		Issuers: []auth.TrustedIssuer{dev.Trusted()},
		Tokens:  []auth.StaticToken{{SHA256: fmt.Sprintf("%x", sha256.Sum256([]byte(e.static))), Subject: "robot", Datasets: []string{"ds2"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	newServer := func(ls *lateServer, dev *auth.DevIssuer, limits Limits) *Server {
		id, err := crypt4gh.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		keys, err := NewKeyring(ArchiveKey{Identity: id, Public: id.PublicKey()})
		if err != nil {
			t.Fatal(err)
		}
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		s, err := New(Options{
			PublicURL: ls.URL, DB: e.db, Objects: objects, Keys: keys, Auth: v,
			AdminTokens: [][32]byte{sha256.Sum256([]byte(e.admin))}, DevIssuer: dev,
			Logger: quiet, Audit: quiet, Limits: limits,
		})
		if err != nil {
			t.Fatal(err)
		}
		ls.handler.Store(s.Handler())
		return s
	}
	s := newServer(hs, dev, Limits{MaxJSONBody: 4 << 10, MaxBulk: 3})
	newServer(wrong, nil, Limits{})
	e.url, e.wrongKeyURL = hs.URL, wrong.URL

	ctx := context.Background()
	plain := bytes.Repeat([]byte("0123456789"), 10_000) // 100000 bytes, two segments
	f, err := s.Ingest(ctx, IngestRequest{ID: "obj1", Dataset: "ds1", Name: "obj1.bin", Body: bytes.NewReader(plain), Size: int64(len(plain))})
	if err != nil {
		t.Fatal(err)
	}
	e.payloadETag = `"` + f.PayloadSHA256 + `"`
	gdir := testvectors.GenomicsDir(t)
	vcf, err := os.ReadFile(filepath.Join(gdir, "spec-v4.3.vcf.gz"))
	if err != nil {
		t.Fatal(err)
	}
	tbi, err := os.ReadFile(filepath.Join(gdir, "spec-v4.3.vcf.gz.tbi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ingest(ctx, IngestRequest{ID: "vcf1", Dataset: "ds1", Body: bytes.NewReader(vcf), Size: int64(len(vcf)), Index: tbi, IndexFormat: "TBI"}); err != nil {
		t.Fatal(err)
	}
	id, err := crypt4gh.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	e.pubKey = base64.StdEncoding.EncodeToString(id.PublicKey())
	return e
}

// lateServer is an httptest server whose handler is set once its URL,
// which the handler's configuration needs, is known.
type lateServer struct {
	*httptest.Server
	handler atomic.Value // http.Handler
}

func newLateServer(t *testing.T) *lateServer {
	ls := &lateServer{}
	ls.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ls.handler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(ls.Close)
	return ls
}

// TestOpenAPIDescribesResponses sends a table of requests that between
// them produce every status the server writes, and checks each response
// against the document: the status is declared for the operation, the
// tracked headers are declared exactly where sent, the media type is
// declared, and a JSON body matches the declared schema.
func TestOpenAPIDescribesResponses(t *testing.T) {
	d := loadAPIDoc(t)
	e := startAPIEnv(t)
	type apiCase struct {
		name         string
		wrongKey     bool // the server whose archive key opens nothing
		dbDown       bool
		method, path string
		token        string
		key          bool // send X-C4GH-Public-Key
		hdr          map[string]string
		body         string
		chunked      bool
		want         int
		wantHeader   map[string]string
	}
	pass, static, admin := e.passport, e.static, e.admin
	cases := []apiCase{
		{name: "root", method: "GET", path: "/", want: 200},
		{name: "unknown path", method: "GET", path: "/no/such/endpoint", want: 404},
		{name: "healthz", method: "GET", path: "/healthz", want: 200},
		{name: "readyz", method: "GET", path: "/readyz", want: 200},
		{name: "readyz db down", dbDown: true, method: "GET", path: "/readyz", want: 503, wantHeader: map[string]string{"Retry-After": "5"}},
		{name: "metrics", method: "GET", path: "/metrics", want: 200},
		{name: "openapi", method: "GET", path: "/openapi.yaml", want: 200},
		{name: "public key", method: "GET", path: "/public-key", want: 200},
		{name: "admin public key", method: "GET", path: "/admin/public-key", want: 200},
		{name: "dev issuer jwks", method: "GET", path: "/dev-issuer/jwks.json", want: 200},

		{name: "file", method: "GET", path: "/files/obj1", token: pass, key: true, want: 200, wantHeader: map[string]string{"X-C4GH-Plaintext-Size": "100000"}},
		{name: "file range", method: "GET", path: "/files/obj1", token: pass, key: true, hdr: map[string]string{"Range": "bytes=70000-70099"}, want: 206, wantHeader: map[string]string{"Content-Range": "bytes 70000-70099/100000"}},
		{name: "file range past end", method: "GET", path: "/files/obj1", token: pass, key: true, hdr: map[string]string{"Range": "bytes=100000-"}, want: 416, wantHeader: map[string]string{"Content-Range": "bytes */100000"}},
		{name: "file head", method: "HEAD", path: "/files/obj1", token: pass, key: true, want: 200, wantHeader: map[string]string{"X-C4GH-Plaintext-Size": "100000"}},
		{name: "file alias key header", method: "GET", path: "/files/obj1", token: pass, hdr: map[string]string{"Htsget-Context-Public-Key": e.pubKey}, want: 200},
		{name: "file two keys", method: "GET", path: "/files/obj1", token: pass, key: true, hdr: map[string]string{"Crypt4Gh-Pubkey": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))}, want: 400},
		{name: "file no key", method: "GET", path: "/files/obj1", token: pass, want: 400},
		{name: "file no token", method: "GET", path: "/files/obj1", key: true, want: 401},
		{name: "file other dataset", method: "GET", path: "/files/obj1", token: static, key: true, want: 403},
		{name: "file missing", method: "GET", path: "/files/nosuch", token: pass, key: true, want: 404},
		{name: "file db down", dbDown: true, method: "GET", path: "/files/obj1", token: pass, key: true, want: 503, wantHeader: map[string]string{"Retry-After": "5"}},
		{name: "file archive key missing", wrongKey: true, method: "GET", path: "/files/obj1", token: pass, key: true, want: 500},
		{name: "header", method: "GET", path: "/files/obj1/header", token: pass, key: true, want: 200},
		{name: "header no key", method: "GET", path: "/files/obj1/header", token: pass, want: 400},
		{name: "payload", method: "GET", path: "/files/obj1/payload", token: pass, want: 200, wantHeader: map[string]string{"ETag": e.payloadETag}},
		{name: "payload head", method: "HEAD", path: "/files/obj1/payload", token: pass, want: 200},
		{name: "payload range", method: "GET", path: "/files/obj1/payload", token: pass, hdr: map[string]string{"Range": "bytes=0-99"}, want: 206},
		{name: "payload if-range stale", method: "GET", path: "/files/obj1/payload", token: pass, hdr: map[string]string{"Range": "bytes=0-99", "If-Range": `"stale"`}, want: 200},
		{name: "payload not modified", method: "GET", path: "/files/obj1/payload", token: pass, hdr: map[string]string{"If-None-Match": e.payloadETag}, want: 304},
		{name: "payload precondition", method: "GET", path: "/files/obj1/payload", token: pass, hdr: map[string]string{"If-Match": `"other"`}, want: 412},
		{name: "payload range past end", method: "GET", path: "/files/obj1/payload", token: pass, hdr: map[string]string{"Range": "bytes=99999999-"}, want: 416},
		{name: "payload no token", method: "GET", path: "/files/obj1/payload", want: 401},

		{name: "drs service-info", method: "GET", path: "/ga4gh/drs/v1/service-info", want: 200},
		{name: "drs object", method: "GET", path: "/ga4gh/drs/v1/objects/obj1", token: pass, want: 200},
		{name: "drs indexed object", method: "GET", path: "/ga4gh/drs/v1/objects/vcf1", token: pass, want: 200},
		{name: "drs object passport body", method: "POST", path: "/ga4gh/drs/v1/objects/obj1", body: `{"passports":["` + pass + `"]}`, want: 200},
		{name: "drs object bad body", method: "POST", path: "/ga4gh/drs/v1/objects/obj1", token: pass, body: `{"passports":`, want: 400},
		{name: "drs object huge body", method: "POST", path: "/ga4gh/drs/v1/objects/obj1", token: pass, body: `{"passports":["` + strings.Repeat("x", 8<<10) + `"]}`, want: 413},
		{name: "drs object forbidden", method: "GET", path: "/ga4gh/drs/v1/objects/obj1", token: static, want: 403},
		{name: "drs object missing", method: "GET", path: "/ga4gh/drs/v1/objects/nosuch", token: pass, want: 404},
		{name: "drs object no token", method: "GET", path: "/ga4gh/drs/v1/objects/obj1", want: 401},
		{name: "drs options", method: "OPTIONS", path: "/ga4gh/drs/v1/objects/obj1", want: 200},
		{name: "drs access", method: "GET", path: "/ga4gh/drs/v1/objects/obj1/access/crypt4gh", token: pass, want: 200},
		{name: "drs access passport body", method: "POST", path: "/ga4gh/drs/v1/objects/obj1/access/crypt4gh", body: `{"passports":["` + pass + `"]}`, want: 200},
		{name: "drs access unknown id", method: "GET", path: "/ga4gh/drs/v1/objects/obj1/access/s3", token: pass, want: 404},
		{name: "drs bulk", method: "POST", path: "/ga4gh/drs/v1/objects", token: pass, body: `{"bulk_object_ids":["obj1","nosuch"]}`, want: 200},
		{name: "drs bulk empty", method: "POST", path: "/ga4gh/drs/v1/objects", token: pass, body: `{}`, want: 400},
		{name: "drs bulk too many", method: "POST", path: "/ga4gh/drs/v1/objects", token: pass, body: `{"bulk_object_ids":["a","b","c","d"]}`, want: 413},
		{name: "drs bulk no token", method: "POST", path: "/ga4gh/drs/v1/objects", body: `{"bulk_object_ids":["obj1"]}`, want: 401},
		{name: "drs bulk access", method: "POST", path: "/ga4gh/drs/v1/objects/access", token: pass, body: `{"bulk_object_access_ids":[{"bulk_object_id":"obj1","bulk_access_ids":["crypt4gh"]},{"bulk_object_id":"nosuch","bulk_access_ids":["crypt4gh"]}]}`, want: 200},
		{name: "drs bulk access empty", method: "POST", path: "/ga4gh/drs/v1/objects/access", token: pass, body: `{"bulk_object_access_ids":[]}`, want: 400},

		{name: "reads service-info", method: "GET", path: "/reads/service-info", want: 200},
		{name: "variants service-info", method: "GET", path: "/variants/service-info", want: 200},
		{name: "htsget ticket", method: "GET", path: "/variants/vcf1?referenceName=20&start=0&end=20000", token: pass, key: true, want: 200},
		{name: "htsget header class", method: "GET", path: "/variants/vcf1?class=header", token: pass, key: true, want: 200},
		{name: "htsget post", method: "POST", path: "/variants/vcf1", token: pass, key: true, body: `{"regions":[{"referenceName":"20","start":1000000}]}`, want: 200},
		{name: "htsget bad start", method: "GET", path: "/variants/vcf1?referenceName=20&start=x", token: pass, key: true, want: 400},
		{name: "htsget other format", method: "GET", path: "/variants/vcf1?format=BCF", token: pass, key: true, want: 400},
		{name: "htsget no key", method: "GET", path: "/variants/vcf1", token: pass, want: 400},
		{name: "htsget no token", method: "GET", path: "/variants/vcf1", key: true, want: 401},
		{name: "htsget forbidden", method: "GET", path: "/variants/vcf1", token: static, key: true, want: 403},
		{name: "htsget unknown reference", method: "GET", path: "/variants/vcf1?referenceName=nosuch", token: pass, key: true, want: 404},
		{name: "htsget not indexed", method: "GET", path: "/reads/obj1", token: pass, key: true, want: 404},
		{name: "htsget too many regions", method: "POST", path: "/variants/vcf1", token: pass, key: true, body: `{"regions":[` + strings.Repeat(`{"referenceName":"20"},`, 64) + `{"referenceName":"20"}]}`, want: 413},
		{name: "htsget db down", dbDown: true, method: "GET", path: "/variants/vcf1", token: pass, key: true, want: 503},

		{name: "ingest", method: "POST", path: "/admin/files?dataset=ds1&id=up1", token: admin, body: "some plaintext", want: 201},
		{name: "ingest again", method: "POST", path: "/admin/files?dataset=ds1&id=up1", token: admin, body: "some plaintext", want: 409},
		{name: "ingest no dataset", method: "POST", path: "/admin/files?id=up2", token: admin, body: "x", want: 400},
		{name: "ingest chunked", method: "POST", path: "/admin/files?dataset=ds1&id=up3", token: admin, body: "x", chunked: true, want: 411},
		{name: "ingest user token", method: "POST", path: "/admin/files?dataset=ds1&id=up4", token: pass, body: "x", want: 401},
		{name: "delete", method: "DELETE", path: "/admin/files/up1", token: admin, want: 204},
		{name: "delete again", method: "DELETE", path: "/admin/files/up1", token: admin, want: 404},
		{name: "sweep", method: "POST", path: "/admin/sweep?grace=1h", token: admin, want: 200},
		{name: "sweep bad grace", method: "POST", path: "/admin/sweep?grace=soon", token: admin, want: 400},
	}

	seen := map[int]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := e.url
			if c.wrongKey {
				base = e.wrongKeyURL
			}
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
				if c.chunked {
					body = io.MultiReader(body) // unknown length: sent chunked
				}
			}
			req, err := http.NewRequest(c.method, base+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			if c.key {
				req.Header.Set("X-C4GH-Public-Key", e.pubKey)
			}
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			e.db.down.Store(c.dbDown)
			resp, err := http.DefaultClient.Do(req)
			e.db.down.Store(false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, c.want, got)
			}
			seen[resp.StatusCode] = true
			for k, v := range c.wantHeader {
				if g := resp.Header.Get(k); g != v {
					t.Errorf("%s: %q, want %q", k, g, v)
				}
			}

			tmpl := d.matchTemplate(c.method, req.URL.Path)
			op := d.operation(tmpl, c.method)
			if op == nil {
				t.Fatalf("no documented operation for %s %s", c.method, req.URL.Path)
			}
			r, err := d.response(op, resp.StatusCode)
			if err != nil {
				t.Fatal(err)
			}
			if r == nil {
				t.Fatalf("%s %s does not declare status %d", c.method, tmpl, resp.StatusCode)
			}
			declared := asMap(r["headers"])
			for _, h := range trackedHeaders {
				_, isDeclared := declared[h]
				isSent := resp.Header.Get(h) != ""
				if isSent && !isDeclared {
					t.Errorf("%s %s %d: the server sends %s, the document does not declare it", c.method, tmpl, resp.StatusCode, h)
				}
				if isDeclared && !isSent {
					t.Errorf("%s %s %d: the document declares %s, the server does not send it", c.method, tmpl, resp.StatusCode, h)
				}
			}
			content := asMap(r["content"])
			if len(got) == 0 || c.method == "HEAD" {
				return
			}
			ct := resp.Header.Get("Content-Type")
			media, ok := content[ct]
			if !ok {
				base, _, _ := mime.ParseMediaType(ct)
				media, ok = content[base]
			}
			if !ok {
				t.Fatalf("%s %s %d: media type %q is not declared (have %v)", c.method, tmpl, resp.StatusCode, ct, slices.Collect(maps.Keys(content)))
			}
			if strings.Contains(ct, "json") {
				var v any
				if err := json.Unmarshal(got, &v); err != nil {
					t.Fatalf("body is not JSON: %v", err)
				}
				if schema, ok := asMap(media)["schema"]; ok {
					if err := d.validateSchema(schema, v, "body"); err != nil {
						t.Errorf("%s %s %d: %v\n%.500s", c.method, tmpl, resp.StatusCode, err, got)
					}
				}
			}
		})
	}

	// The table must keep exercising every status the server writes.
	for _, s := range []int{200, 201, 204, 206, 304, 400, 401, 403, 404, 409, 411, 412, 413, 416, 500, 503} {
		if !seen[s] {
			t.Errorf("no case produced status %d", s)
		}
	}
}
