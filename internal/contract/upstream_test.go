package contract

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/circlekit/headless-go/internal/conformance"
)

// upstreamRoute is one operation of Circle's own document.
type upstreamRoute struct {
	method, path string
	re           *regexp.Regexp
	names        []string
	item         *openapi3.PathItem
	op           *openapi3.Operation
}

// upstreamServer speaks Circle's own document: it validates every request
// against it with openapi3filter and records the outcome per operation.
type upstreamServer struct {
	doc    *openapi3.T
	routes []upstreamRoute

	mu      sync.Mutex
	checked map[string]error // "METHOD /path" -> validation error (nil: accepted)
}

func newUpstreamServer(t *testing.T, file string) *upstreamServer {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(file)
	if err != nil {
		t.Fatalf("load Circle's document %s: %v", file, err)
	}
	s := &upstreamServer{doc: doc, checked: map[string]error{}}
	param := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc.Paths.Map() {
		var names []string
		for _, m := range param.FindAllStringSubmatch(path, -1) {
			names = append(names, m[1])
		}
		// Circle's paths hold only letters, digits, '_' and '/' besides
		// their parameters, so they need no quoting.
		pattern := "^" + param.ReplaceAllString(path, `([^/]+)`) + "$"
		for method, op := range item.Operations() {
			s.routes = append(s.routes, upstreamRoute{method, path, regexp.MustCompile(pattern), names, item, op})
		}
	}
	// Literal segments win over parameters: /messages/unread_chat_rooms is
	// not /messages/{uuid}.
	sort.Slice(s.routes, func(i, j int) bool {
		return len(s.routes[i].names) < len(s.routes[j].names) ||
			len(s.routes[i].names) == len(s.routes[j].names) && s.routes[i].path > s.routes[j].path
	})
	return s
}

func (s *upstreamServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, rt := range s.routes {
		m := rt.re.FindStringSubmatch(r.URL.Path)
		if m == nil || rt.method != r.Method {
			continue
		}
		params := map[string]string{}
		for i, n := range rt.names {
			params[n] = m[i+1]
		}
		in := &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      &routers.Route{Spec: s.doc, Path: rt.path, PathItem: rt.item, Method: rt.method, Operation: rt.op},
			Options:    &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
		}
		err := openapi3filter.ValidateRequest(r.Context(), in)
		s.mu.Lock()
		s.checked[rt.method+" "+rt.path] = err
		s.mu.Unlock()
		s.answer(w, rt.op)
		return
	}
	http.Error(w, "no such operation in Circle's document", http.StatusNotFound)
}

// answer sends the operation's first 2xx example when Circle gives one,
// else an empty object: only the request is under test here.
func (s *upstreamServer) answer(w http.ResponseWriter, op *openapi3.Operation) {
	codes := []string{}
	for code := range op.Responses.Map() {
		if strings.HasPrefix(code, "2") {
			codes = append(codes, code)
		}
	}
	sort.Strings(codes)
	status, body := http.StatusOK, []byte("{}")
	if len(codes) > 0 {
		if codes[0] == "204" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if mt := op.Responses.Value(codes[0]).Value.Content.Get("application/json"); mt != nil {
			for _, ex := range mt.Examples {
				if ex.Value != nil && ex.Value.Value != nil {
					if b, err := json.Marshal(ex.Value.Value); err == nil {
						body = b
						break
					}
				}
			}
		}
		status = map[string]int{"200": 200, "201": 201, "202": 202}[codes[0]]
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// TestUpstreamAcceptsOurRequests drives the generated clients, with the
// same derived call table as TestOperations, against a server that speaks
// Circle's own published document: every one of the 106 operations must
// reach an operation of that document, and the request must pass its
// validation. It needs Circle's documents (CIRCLE_UPSTREAM_DIR or
// openapi/upstream/); it skips without them, except under CI=true.
func TestUpstreamAcceptsOurRequests(t *testing.T) {
	root, err := conformance.FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir, _, err := conformance.UpstreamDir(root, conformance.APIs())
	if errors.Is(err, conformance.ErrNoUpstream) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but Circle's documents are missing: %v", err)
		}
		t.Skipf("skipped: %v (set CIRCLE_UPSTREAM_DIR or run make sync-specs)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, a := range conformance.APIs() {
		files[a.Name] = filepath.Join(dir, a.UpstreamFile)
	}
	servers := map[string]*upstreamServer{}
	clients := map[string]any{}
	for _, a := range conformance.APIs() {
		us := newUpstreamServer(t, files[a.Name])
		hs := httptest.NewServer(us)
		t.Cleanup(hs.Close)
		c, err := a.NewClient(hs.URL)
		if err != nil {
			t.Fatal(err)
		}
		servers[a.Name], clients[a.Name] = us, c
	}

	ops := operations(t)
	g := &synth{forRequest: true}
	for _, o := range ops {
		for _, v := range variants {
			// Only the request matters; a decoding error of Circle's
			// example answer is the conformance check's business.
			_, _ = invoke(ctx(t), clients[o.api], o, g, v.minimal, nil)
		}
	}
	reached := 0
	for _, o := range ops {
		key := strings.ToUpper(o.method) + " " + o.path
		servers[o.api].mu.Lock()
		verr, ok := servers[o.api].checked[key]
		servers[o.api].mu.Unlock()
		switch {
		case !ok:
			t.Errorf("%s/%s (%s) never reached that operation of Circle's document", o.api, o.id, key)
		case verr != nil:
			t.Errorf("%s/%s (%s): Circle's document rejects our request: %v", o.api, o.id, key, verr)
		default:
			reached++
		}
	}
	t.Logf("operations whose requests Circle's document accepts: %d/%d", reached, len(ops))
}
