package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Example is one 2xx response example of Circle's document.
type Example struct {
	// Method and Path name the upstream operation.
	Method, Path string
	// Status is the response status.
	Status int
	// Name is the example's name, or "example" for a media type's single
	// example.
	Name string
	// Body is the example encoded as JSON; empty when the example has no value.
	Body []byte
}

// Operation returns "METHOD /path".
func (e Example) Operation() string { return e.Method + " " + e.Path }

// Key returns the example's leaf key, "example/<status>/<name>".
func (e Example) Key() string { return fmt.Sprintf("example/%d/%s", e.Status, e.Name) }

// ExampleResult is the outcome of one example.
type ExampleResult struct {
	Example
	// Decoded is true when a body decoded into the response's typed field.
	Decoded bool
	// Validated is true when a body validated against our spec.
	Validated bool
	// Err says what failed; nil when the example passed.
	Err error
}

// UpstreamExamples lists every 2xx example of a document's JSON responses,
// sorted by operation, status and name.
func UpstreamExamples(doc *openapi3.T) ([]Example, error) {
	var out []Example
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses == nil {
				continue
			}
			for code, ref := range op.Responses.Map() {
				status, err := strconv.Atoi(code)
				if err != nil || status < 200 || status > 299 || ref.Value == nil {
					continue
				}
				for mediaType, mt := range ref.Value.Content {
					if !strings.Contains(mediaType, "json") || mt == nil {
						continue
					}
					add := func(name string, value any, hasValue bool) error {
						ex := Example{Method: method, Path: path, Status: status, Name: name}
						if hasValue {
							b, err := json.Marshal(value)
							if err != nil {
								return fmt.Errorf("%s %s %d %s: %w", method, path, status, name, err)
							}
							ex.Body = b
						}
						out = append(out, ex)
						return nil
					}
					if mt.Example != nil {
						if err := add("example", mt.Example, true); err != nil {
							return nil, err
						}
					}
					for name, exRef := range mt.Examples {
						hasValue := exRef != nil && exRef.Value != nil && exRef.Value.Value != nil
						var v any
						if hasValue {
							v = exRef.Value.Value
						}
						if err := add(name, v, hasValue); err != nil {
							return nil, err
						}
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		if a.Status != b.Status {
			return a.Status < b.Status
		}
		return a.Name < b.Name
	})
	return out, nil
}

// exampleServer answers every request with the response queued last and
// records the request it got.
type exampleServer struct {
	mu     sync.Mutex
	status int
	body   []byte
	method string
	path   string
}

// ServeHTTP records the request and answers with the queued example.
func (s *exampleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.method, s.path = r.Method, r.URL.EscapedPath()
	_, _ = io.Copy(io.Discard, r.Body)
	if len(s.body) > 0 {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(s.status)
	_, _ = w.Write(s.body)
}

func (s *exampleServer) queue(status int, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.body, s.method, s.path = status, body, "", ""
}

func (s *exampleServer) request() (method, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.method, s.path
}

// CheckExamples serves each example from a loopback server, calls the
// matching method of our generated client (decoding errors come back from
// it), checks that a body landed in the typed JSON<status> field, and
// validates the response against our spec. An example without a value is
// served as an empty response and passes when our spec declares no JSON
// body for its status.
func CheckExamples(ctx context.Context, api API, ours *openapi3.T, examples []Example) ([]ExampleResult, error) {
	srv := &exampleServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	client, err := api.NewClient(ts.URL)
	if err != nil {
		return nil, fmt.Errorf("%s client: %w", api.Name, err)
	}
	results := make([]ExampleResult, 0, len(examples))
	for _, ex := range examples {
		r := ExampleResult{Example: ex}
		r.Decoded, r.Validated, r.Err = checkExample(ctx, srv, client, ours, ex)
		results = append(results, r)
	}
	return results, nil
}

func checkExample(ctx context.Context, srv *exampleServer, client any, ours *openapi3.T, ex Example) (decoded, validated bool, err error) {
	route, err := findRoute(ours, ex.Method, ex.Path)
	if err != nil {
		return false, false, err
	}
	method, err := clientMethod(client, route.Operation.OperationID)
	if err != nil {
		return false, false, err
	}
	srv.queue(ex.Status, ex.Body)
	resp, err := call(ctx, method)
	if err != nil {
		return false, false, fmt.Errorf("decode: %w", err)
	}
	gotMethod, gotPath := srv.request()
	if gotMethod != ex.Method || !pathRegexp(ex.Path).MatchString(gotPath) {
		return false, false, fmt.Errorf("client method %s sent %s %s", route.Operation.OperationID, gotMethod, gotPath)
	}
	if len(ex.Body) > 0 {
		field := resp.FieldByName("JSON" + strconv.Itoa(ex.Status))
		if !field.IsValid() {
			return false, false, fmt.Errorf("decode: %s has no typed field JSON%d", resp.Type().Name(), ex.Status)
		}
		if field.IsNil() {
			return false, false, fmt.Errorf("decode: %s.JSON%d stayed nil", resp.Type().Name(), ex.Status)
		}
		decoded = true
	}
	if len(ex.Body) == 0 {
		// Circle's example object has no value: there is no body to
		// validate, but our spec must not promise one either.
		if r := route.Operation.Responses.Status(ex.Status); r != nil && r.Value != nil {
			for mediaType, mt := range r.Value.Content {
				if strings.Contains(mediaType, "json") && mt.Schema != nil {
					return false, false, fmt.Errorf("the example has no value, but our spec declares a %s body for status %d", mediaType, ex.Status)
				}
			}
		}
		return false, false, nil
	}
	header := http.Header{}
	header.Set("Content-Type", "application/json")
	req, err := http.NewRequestWithContext(ctx, ex.Method, "http://circle.invalid"+ex.Path, nil)
	if err != nil {
		return decoded, false, err
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route},
		Status:                 ex.Status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(ex.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return decoded, false, fmt.Errorf("validate: %s", oneLine(err.Error()))
	}
	return decoded, true, nil
}

// findRoute finds the operation of our spec for an upstream method and path.
func findRoute(ours *openapi3.T, method, path string) (*routers.Route, error) {
	item := ours.Paths.Find(path)
	if item == nil {
		return nil, fmt.Errorf("our spec has no path %s", path)
	}
	op := item.GetOperation(method)
	if op == nil {
		return nil, fmt.Errorf("our spec has no operation %s %s", method, path)
	}
	if op.OperationID == "" {
		return nil, fmt.Errorf("our operation %s %s has no operationId", method, path)
	}
	return &routers.Route{Spec: ours, Path: path, PathItem: item, Method: method, Operation: op}, nil
}

// clientMethod finds the generated method of an operation: the operationId
// with "WithResponse" appended, compared without regard to case because the
// generator capitalises and may spell initialisms in upper case.
func clientMethod(client any, operationID string) (reflect.Value, error) {
	v := reflect.ValueOf(client)
	want := strings.ToLower(operationID + "WithResponse")
	fallback := strings.ToLower(operationID + "WithBodyWithResponse")
	var alt reflect.Value
	for i := 0; i < v.NumMethod(); i++ {
		switch strings.ToLower(v.Type().Method(i).Name) {
		case want:
			return v.Method(i), nil
		case fallback:
			alt = v.Method(i)
		}
	}
	if alt.IsValid() {
		return alt, nil
	}
	return reflect.Value{}, fmt.Errorf("%T has no method for operationId %s", client, operationID)
}

// call invokes a generated method with ctx and zero values for every other
// argument, and returns the dereferenced response struct.
func call(ctx context.Context, m reflect.Value) (reflect.Value, error) {
	t := m.Type()
	args := []reflect.Value{reflect.ValueOf(ctx)}
	n := t.NumIn()
	if t.IsVariadic() {
		n-- // no request editors
	}
	for i := 1; i < n; i++ {
		args = append(args, reflect.Zero(t.In(i)))
	}
	out := m.Call(args)
	if err, _ := out[1].Interface().(error); err != nil {
		return reflect.Value{}, err
	}
	if out[0].IsNil() {
		return reflect.Value{}, fmt.Errorf("nil response")
	}
	return out[0].Elem(), nil
}

var paramRE = regexp.MustCompile(`\\\{[^}]*\\\}`)

// pathRegexp matches a concrete path against a path template.
func pathRegexp(template string) *regexp.Regexp {
	return regexp.MustCompile("^" + paramRE.ReplaceAllString(regexp.QuoteMeta(template), `[^/]*`) + "$")
}

// oneLine joins a multi-line message and clips it to a readable length.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const limit = 600
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}
