package circletest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/circlekit/headless-go/openapi"
)

// The Auth API's operationIds, as the project's auth spec names them.
const (
	opCreateMemberToken  = "createMemberToken"
	opRefreshAccessToken = "refreshAccessToken"
	opRevokeAccessToken  = "revokeAccessToken"
	opRevokeRefreshToken = "revokeRefreshToken"
)

// api is one spec made ready to serve: its router and, per operationId,
// what the server needs to answer the operation.
type api struct {
	doc      *openapi3.T
	router   routers.Router
	basePath string // path of the spec's first server URL, "" when none
	ops      map[string]*operation
}

// operation is what the server knows of one operation of a spec.
type operation struct {
	id      string
	method  string
	path    string // as routed: basePath + the spec's path template
	route   *routers.Route
	secured bool // the operation requires a bearer token

	// The response the server synthesises: the lowest 2xx status the
	// operation declares, its media type and schema (both empty when that
	// response has no body).
	status int
	mime   string
	schema *openapi3.SchemaRef

	// envelope is set when the response body is Circle's pagination
	// envelope (page, per_page, has_next_page, count, page_count, records).
	envelope       bool
	perPageDefault int
}

// defaultAuthAPI loads the auth spec embedded in package openapi once per
// process, into a document of its own (loadAPI modifies it).
var defaultAuthAPI = sync.OnceValues(func() (*api, error) {
	doc, err := openapi.LoadAuth()
	if err != nil {
		return nil, fmt.Errorf("circletest: %w", err)
	}
	a, err := loadAPI(doc)
	if err != nil {
		return nil, fmt.Errorf("circletest: auth spec: %w", err)
	}
	for _, id := range []string{opCreateMemberToken, opRefreshAccessToken, opRevokeAccessToken, opRevokeRefreshToken} {
		if a.ops[id] == nil {
			return nil, fmt.Errorf("circletest: auth spec: no operation %q", id)
		}
	}
	return a, nil
})

// defaultMemberAPI loads the member spec embedded in package openapi once
// per process, into a document of its own (loadAPI modifies it).
var defaultMemberAPI = sync.OnceValues(func() (*api, error) {
	doc, err := openapi.LoadMember()
	if err != nil {
		return nil, fmt.Errorf("circletest: %w", err)
	}
	a, err := loadAPI(doc)
	if err != nil {
		return nil, fmt.Errorf("circletest: member spec: %w", err)
	}
	return a, nil
})

// pageEnvelope lists the properties of Circle's pagination envelope.
var pageEnvelope = []string{"page", "per_page", "has_next_page", "count", "page_count", "records"}

// loadAPI prepares doc for serving. It takes ownership of doc: the servers
// are removed from it so that requests are routed by path alone, on any
// host.
func loadAPI(doc *openapi3.T) (*api, error) {
	if doc.Paths == nil || doc.Paths.Len() == 0 {
		return nil, errors.New("the spec has no paths")
	}
	a := &api{doc: doc, ops: map[string]*operation{}}
	if len(doc.Servers) > 0 {
		p, err := serverPath(doc.Servers[0])
		if err != nil {
			return nil, err
		}
		a.basePath = p
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	if err != nil {
		return nil, err
	}
	a.router = router
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				return nil, fmt.Errorf("%s %s has no operationId", method, path)
			}
			id := canonicalID(op.OperationID)
			if a.ops[id] != nil {
				return nil, fmt.Errorf("operationId %q is used twice", op.OperationID)
			}
			o := &operation{
				id:     id,
				method: method,
				path:   a.basePath + path,
				route: &routers.Route{
					Spec: doc, Path: path, PathItem: item, Method: method, Operation: op,
				},
				secured: secured(doc, op),
			}
			o.status, o.mime, o.schema = successResponse(op)
			o.envelope = o.schema != nil && isEnvelope(o.schema.Value)
			o.perPageDefault = perPageDefault(item, op)
			a.ops[id] = o
		}
	}
	return a, nil
}

// serverPath returns the path of a server URL, its variables set to their
// defaults, without a trailing slash.
func serverPath(s *openapi3.Server) (string, error) {
	raw := s.URL
	for name, v := range s.Variables {
		raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("server URL %q: %w", s.URL, err)
	}
	return strings.TrimSuffix(u.Path, "/"), nil
}

// secured reports whether op requires some security scheme.
func secured(doc *openapi3.T, op *openapi3.Operation) bool {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
	}
	for _, r := range reqs {
		if len(r) == 0 {
			return false // an empty requirement makes security optional
		}
	}
	return len(reqs) > 0
}

// successResponse picks the response the server synthesises for op: the
// lowest 2xx status declared (a "2XX" range counts as 200), with its JSON
// media type and schema when it has a body.
func successResponse(op *openapi3.Operation) (status int, mime string, schema *openapi3.SchemaRef) {
	status = http.StatusOK
	var ref *openapi3.ResponseRef
	if op.Responses != nil {
		best := 0
		for key, r := range op.Responses.Map() {
			code, err := strconv.Atoi(key)
			if err != nil || code < 200 || code > 299 {
				continue
			}
			if best == 0 || code < best {
				best, ref = code, r
			}
		}
		if best != 0 {
			status = best
		} else if r := op.Responses.Value("2XX"); r != nil {
			ref = r
		}
	}
	if ref == nil || ref.Value == nil {
		return status, "", nil
	}
	mime, mt := jsonContent(ref.Value.Content)
	if mt == nil || mt.Schema == nil {
		return status, mime, nil
	}
	return status, mime, mt.Schema
}

// jsonContent returns the JSON media type of content, preferring
// application/json.
func jsonContent(content openapi3.Content) (string, *openapi3.MediaType) {
	if mt := content["application/json"]; mt != nil {
		return "application/json", mt
	}
	keys := make([]string, 0, len(content))
	for k := range content {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.Contains(k, "json") {
			return k, content[k]
		}
	}
	return "", nil
}

// isEnvelope reports whether s is Circle's pagination envelope: an object
// with all of its properties and an array of records.
func isEnvelope(s *openapi3.Schema) bool {
	props := objectProperties(s)
	for _, name := range pageEnvelope {
		if props[name] == nil || props[name].Value == nil {
			return false
		}
	}
	return schemaType(props["records"].Value) == openapi3.TypeArray
}

// objectProperties gathers the properties of s, including those of its
// allOf parts.
func objectProperties(s *openapi3.Schema) map[string]*openapi3.SchemaRef {
	props := map[string]*openapi3.SchemaRef{}
	var walk func(s *openapi3.Schema, depth int)
	walk = func(s *openapi3.Schema, depth int) {
		if s == nil || depth > 8 {
			return
		}
		for name, p := range s.Properties {
			if props[name] == nil {
				props[name] = p
			}
		}
		for _, part := range s.AllOf {
			walk(part.Value, depth+1)
		}
	}
	walk(s, 0)
	return props
}

// perPageDefault is the default of op's per_page query parameter, or 10.
func perPageDefault(item *openapi3.PathItem, op *openapi3.Operation) int {
	for _, params := range []openapi3.Parameters{op.Parameters, item.Parameters} {
		p := params.GetByInAndName(openapi3.ParameterInQuery, "per_page")
		if p == nil || p.Schema == nil || p.Schema.Value == nil {
			continue
		}
		switch d := p.Schema.Value.Default.(type) {
		case float64:
			if d >= 1 {
				return int(d)
			}
		case int:
			if d >= 1 {
				return d
			}
		}
	}
	return 10
}

// route finds the operation of a that serves r, with its path parameters.
// It reports found == false when no path of a matches, and a non-nil
// operation with allowed == false when the path matches but the method
// does not.
func (a *api) route(r *http.Request) (op *operation, params map[string]string, found bool) {
	p := r.URL.Path
	if a.basePath != "" {
		rest, ok := strings.CutPrefix(p, a.basePath)
		if !ok || (rest != "" && rest[0] != '/') {
			return nil, nil, false
		}
		p = rest
	}
	u := *r.URL
	u.Path, u.RawPath = p, ""
	probe := &http.Request{Method: r.Method, URL: &u, Header: r.Header}
	route, params, err := a.router.FindRoute(probe)
	if err != nil {
		var re *routers.RouteError
		if errors.As(err, &re) && re.Reason == routers.ErrMethodNotAllowed.Error() {
			return nil, nil, true
		}
		return nil, nil, false
	}
	return a.ops[canonicalID(route.Operation.OperationID)], params, true
}

// canonicalID is the operationId as the project's specs spell it, with a
// lower-case first letter. The specs embedded by oapi-codegen carry the Go
// names (CreateMemberToken for createMemberToken), so the server accepts
// either spelling and reports this one.
func canonicalID(id string) string {
	r, size := utf8.DecodeRuneInString(id)
	return string(unicode.ToLower(r)) + id[size:]
}

// allowed lists the methods a's path template matching path accepts, for an
// Allow header.
func (a *api) allowed(path string) []string {
	var methods []string
	for _, o := range a.ops {
		if matchTemplate(o.path, path) {
			methods = append(methods, o.method)
		}
	}
	slices.Sort(methods)
	return slices.Compact(methods)
}

var templateVar = regexp.MustCompile(`\{[^/{}]+\}`)

// matchTemplate reports whether path matches an OpenAPI path template.
func matchTemplate(template, path string) bool {
	tp := strings.Split(template, "/")
	pp := strings.Split(path, "/")
	if len(tp) != len(pp) {
		return false
	}
	for i := range tp {
		if templateVar.MatchString(tp[i]) {
			if pp[i] == "" {
				return false
			}
			continue
		}
		if tp[i] != pp[i] {
			return false
		}
	}
	return true
}
