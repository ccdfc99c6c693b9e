package contract

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/circlekit/headless-go/openapi"
)

// specFiles are the project's specs, by API, as package openapi embeds
// them.
var specFiles = map[string]string{
	"auth":   "openapi/auth/v1/openapi.yaml",
	"member": "openapi/member/v1/openapi.yaml",
}

// specLoaders parse each spec into a document of the contract tests' own.
var specLoaders = map[string]func() (*openapi3.T, error){
	"auth":   openapi.LoadAuth,
	"member": openapi.LoadMember,
}

// apiNames are the keys of specFiles in a stable order.
var apiNames = []string{"auth", "member"}

// specOp is one operation of a spec, as the table of calls sees it.
type specOp struct {
	api    string // "auth" or "member"
	id     string // operationId as the spec spells it
	method string
	path   string
	op     *openapi3.Operation
	// pathParams are the path parameters in the order they appear in the
	// path template, which is the order of the generated method's
	// arguments.
	pathParams []*openapi3.Parameter
	// queryParams are the operation's query parameters; when there are any,
	// the generated method takes a *<Op>Params argument.
	queryParams []*openapi3.Parameter
	// body is the JSON schema of the request body, or nil.
	body *openapi3.SchemaRef
}

// goName is the name of the generated method that calls the operation.
func (o *specOp) goName() string { return upperFirst(o.id) + "WithResponse" }

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// loadedSpecs are the parsed specs and their operations, loaded once.
var loadedSpecs = sync.OnceValues(func() (map[string]*openapi3.T, error) {
	docs := map[string]*openapi3.T{}
	for _, name := range apiNames {
		doc, err := specLoaders[name]()
		if err != nil {
			return nil, err
		}
		if err := doc.Validate(context.Background()); err != nil {
			return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", specFiles[name], err)
		}
		docs[name] = doc
	}
	return docs, nil
})

// specs returns the parsed specs, or stops the test.
func specs(t testing.TB) map[string]*openapi3.T {
	t.Helper()
	docs, err := loadedSpecs()
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

var templateParam = regexp.MustCompile(`\{([^}]+)\}`)

// operations derives the table of calls from the specs: every operation of
// every path of both specs, sorted by API and operationId. It fails the
// test on an operation it cannot describe (no operationId, a path
// parameter that is not declared, a request body that is not JSON).
func operations(t testing.TB) []*specOp {
	t.Helper()
	var ops []*specOp
	for _, name := range apiNames {
		doc := specs(t)[name]
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				o, err := describe(name, path, method, item, op)
				if err != nil {
					t.Errorf("%s spec: %s %s: %v", name, method, path, err)
					continue
				}
				ops = append(ops, o)
			}
		}
	}
	slices.SortFunc(ops, func(a, b *specOp) int {
		if c := strings.Compare(a.api, b.api); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return ops
}

func describe(api, path, method string, item *openapi3.PathItem, op *openapi3.Operation) (*specOp, error) {
	if op.OperationID == "" {
		return nil, fmt.Errorf("no operationId")
	}
	o := &specOp{api: api, id: op.OperationID, method: method, path: path, op: op}
	params := map[string]*openapi3.Parameter{}
	var all []*openapi3.Parameter
	for _, refs := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, ref := range refs {
			if ref == nil || ref.Value == nil {
				continue
			}
			p := ref.Value
			key := p.In + ":" + p.Name
			if _, dup := params[key]; !dup {
				all = append(all, p)
			}
			params[key] = p // the operation's own wins
		}
	}
	for _, m := range templateParam.FindAllStringSubmatch(path, -1) {
		p := params[openapi3.ParameterInPath+":"+m[1]]
		if p == nil {
			return nil, fmt.Errorf("path parameter %q is not declared", m[1])
		}
		o.pathParams = append(o.pathParams, p)
	}
	for _, p := range all {
		p = params[p.In+":"+p.Name]
		switch p.In {
		case openapi3.ParameterInQuery:
			o.queryParams = append(o.queryParams, p)
		case openapi3.ParameterInPath:
		default:
			return nil, fmt.Errorf("%s parameter %q: the table knows path and query parameters only", p.In, p.Name)
		}
	}
	if rb := op.RequestBody; rb != nil && rb.Value != nil {
		mt := rb.Value.Content.Get("application/json")
		if mt == nil || mt.Schema == nil {
			return nil, fmt.Errorf("a request body without an application/json schema")
		}
		o.body = mt.Schema
	}
	return o, nil
}

// responseSchema returns the JSON schema the operation declares for
// status, whether the status is declared at all, and the media type.
func (o *specOp) responseSchema(status int) (schema *openapi3.SchemaRef, declared bool) {
	ref := o.op.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return nil, false
	}
	for mime, mt := range ref.Value.Content {
		if strings.Contains(mime, "json") && mt != nil && mt.Schema != nil {
			return mt.Schema, true
		}
	}
	return nil, true
}

// successStatuses are the 2xx statuses the operation declares.
func (o *specOp) successStatuses() []int {
	var out []int
	for code := 200; code < 300; code++ {
		if o.op.Responses.Status(code) != nil {
			out = append(out, code)
		}
	}
	return out
}
