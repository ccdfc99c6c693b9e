// Command genpages writes circle/pages.gen.go: one iterator per page-based
// list operation of the Member API spec. An operation is page-based when it
// takes the page query parameter and its 200 response is a Pagination envelope
// (page, has_next_page, records). Run through go generate; never edit the
// output by hand.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"sort"
	"strings"
	"text/template"

	"github.com/getkin/kin-openapi/openapi3"
)

type pathParam struct {
	Name   string // Go parameter name
	GoType string // memberv1 type name
	Sample string // a Go literal of that type, for the tests
}

type listOp struct {
	OperationID string
	Method      string // Go method of ClientWithResponses, without WithResponse
	Path        string
	PathParams  []pathParam
	Record      string // Go type of one record
	Pointer     bool   // the records hold pointers (nullable items)
	BodyPaged   bool   // page and per_page travel in the JSON request body
	// BodyPagePointer: the body's page and per_page fields are pointers
	// (x-go-type-skip-optional-pointer: false in the spec); by default
	// oapi-codegen is configured to make optional fields values.
	BodyPagePointer bool
	// RequiredQuery are the required query parameters, which the tests
	// must set.
	RequiredQuery []queryParam
}

// cursorOp is a list operation that pages by record id instead of page
// number: it takes the id of a record and how many records before and after
// it to return (listChatMessages), and responds with has_previous_page and
// has_next_page.
type cursorOp struct {
	OperationID string
	Method      string
	PathParams  []pathParam
	Record      string // Go type of one record
	Before      string // Go field of the Params struct: how many older records
	After       string // Go field of the Params struct: how many newer records
}

// data is what the templates are given.
type data struct {
	Lists   []listOp
	Cursors []cursorOp
}

type queryParam struct {
	Field  string // Go field of the Params struct
	Sample string // a Go literal of its type
}

func main() {
	spec := flag.String("spec", "openapi/member/v1/openapi.yaml", "member API spec")
	out := flag.String("out", "circle/pages.gen.go", "output file")
	testOut := flag.String("test-out", "circle/pages.gen_test.go", "output file of the tests of the iterators")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("genpages: ")

	doc, err := openapi3.NewLoader().LoadFromFile(*spec)
	if err != nil {
		log.Fatal(err)
	}
	ops, err := listOps(doc)
	if err != nil {
		log.Fatal(err)
	}
	cursors, err := cursorOps(doc)
	if err != nil {
		log.Fatal(err)
	}
	for file, t := range map[string]*template.Template{*out: tmpl, *testOut: testTmpl} {
		if err := write(file, t, data{Lists: ops, Cursors: cursors}); err != nil {
			log.Fatal(err)
		}
	}
}

func write(file string, t *template.Template, d data) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		return err
	}
	src, err := format.Source(buf.Bytes())
	if err != nil {
		return fmt.Errorf("format %s: %w\n%s", file, err, buf.Bytes())
	}
	return os.WriteFile(file, src, 0o644)
}

func listOps(doc *openapi3.T) ([]listOp, error) {
	var ops []listOp
	for path, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			bodyPaged := !hasQuery(op, "page") && bodyHas(op, "page")
			if !hasQuery(op, "page") && !bodyPaged {
				continue
			}
			rec, ptr, ok := records(op)
			if !ok {
				continue
			}
			lo := listOp{
				OperationID: op.OperationID,
				Method:      upperFirst(op.OperationID),
				Path:        path,
				Record:      rec,
				Pointer:     ptr,
				BodyPaged:   bodyPaged,
			}
			if bodyPaged {
				lo.BodyPagePointer = bodyPointer(op, "page")
			}
			for _, p := range op.Parameters {
				q := p.Value
				if q.In != openapi3.ParameterInQuery || !q.Required {
					continue
				}
				field := goName(q.Name)
				var sample string
				switch sch := q.Schema.Value; {
				case len(sch.Enum) > 0:
					sample = fmt.Sprintf("memberv1.%sParams%s(%q)", lo.Method, field, sch.Enum[0])
				case sch.Type.Is("string"):
					sample = `"x"`
				case sch.Type.Is("boolean"):
					sample = "true"
				default:
					sample = "1"
				}
				lo.RequiredQuery = append(lo.RequiredQuery, queryParam{Field: field, Sample: sample})
			}
			pp, err := pathParams(op, path)
			if err != nil {
				return nil, err
			}
			lo.PathParams = pp
			ops = append(ops, lo)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].OperationID < ops[j].OperationID })
	if len(ops) == 0 {
		return nil, fmt.Errorf("no page-based list operation found")
	}
	return ops, nil
}

// cursorOps finds the operations that page by record id: query parameters
// id, previous_per_page and next_per_page, and a 200 response with
// has_previous_page, has_next_page and records.
func cursorOps(doc *openapi3.T) ([]cursorOp, error) {
	var ops []cursorOp
	for path, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if !hasQuery(op, "id") || !hasQuery(op, "previous_per_page") || !hasQuery(op, "next_per_page") {
				continue
			}
			r := op.Responses.Value("200")
			if r == nil || r.Value == nil {
				continue
			}
			mt := r.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil {
				continue
			}
			props := mt.Schema.Value.Properties
			rec := props["records"]
			if props["has_previous_page"] == nil || props["has_next_page"] == nil || rec == nil || rec.Value.Items == nil || rec.Value.Items.Ref == "" {
				return nil, fmt.Errorf("%s: pages by id but its response has no has_previous_page, has_next_page and records of a named type", op.OperationID)
			}
			co := cursorOp{
				OperationID: op.OperationID,
				Method:      upperFirst(op.OperationID),
				Record:      "memberv1." + goName(rec.Value.Items.Ref[strings.LastIndex(rec.Value.Items.Ref, "/")+1:]),
				Before:      goName("previous_per_page"),
				After:       goName("next_per_page"),
			}
			pp, err := pathParams(op, path)
			if err != nil {
				return nil, err
			}
			co.PathParams = pp
			ops = append(ops, co)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].OperationID < ops[j].OperationID })
	return ops, nil
}

// pathParams lists the path parameters of op in the order they appear in
// path, which is the order of the generated method's arguments.
func pathParams(op *openapi3.Operation, path string) ([]pathParam, error) {
	var out []pathParam
	for _, seg := range strings.Split(path, "/") {
		if !strings.HasPrefix(seg, "{") {
			continue
		}
		name := strings.Trim(seg, "{}")
		p := findParam(op, name)
		if p == nil {
			return nil, fmt.Errorf("%s: path parameter %s not declared", op.OperationID, name)
		}
		sample := "1"
		if p.Schema.Value.Type.Is("string") {
			sample = `"` + name + `-1"`
		}
		out = append(out, pathParam{Name: lowerFirst(goName(name)), GoType: paramType(op, name), Sample: sample})
	}
	return out, nil
}

func hasQuery(op *openapi3.Operation, name string) bool {
	for _, p := range op.Parameters {
		if p.Value.In == openapi3.ParameterInQuery && p.Value.Name == name {
			return true
		}
	}
	return false
}

func bodyHas(op *openapi3.Operation, name string) bool {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return false
	}
	mt := op.RequestBody.Value.Content.Get("application/json")
	return mt != nil && mt.Schema != nil && mt.Schema.Value.Properties[name] != nil
}

// bodyPointer reports whether the generated field of the request body
// property name is a pointer: only when the spec keeps it one with
// x-go-type-skip-optional-pointer: false (codegen.yaml sets
// prefer-skip-optional-pointer).
func bodyPointer(op *openapi3.Operation, name string) bool {
	p := op.RequestBody.Value.Content.Get("application/json").Schema.Value.Properties[name]
	skip, ok := p.Value.Extensions["x-go-type-skip-optional-pointer"].(bool)
	return ok && !skip
}

func findParam(op *openapi3.Operation, name string) *openapi3.Parameter {
	for _, p := range op.Parameters {
		if p.Value.In == openapi3.ParameterInPath && p.Value.Name == name {
			return p.Value
		}
	}
	return nil
}

// paramType is the generated Go type of a path parameter: parameters defined
// as components generate a named alias, inline ones a plain Go type.
func paramType(op *openapi3.Operation, name string) string {
	for _, p := range op.Parameters {
		if p.Value.In != openapi3.ParameterInPath || p.Value.Name != name {
			continue
		}
		if p.Ref != "" {
			return "memberv1." + p.Ref[strings.LastIndex(p.Ref, "/")+1:]
		}
		if p.Value.Schema.Value.Type.Is("integer") {
			return "int"
		}
		return "string"
	}
	return "string"
}

// records reports the Go type of the records of a Pagination envelope
// of a 200 response, if the operation responds with one.
func records(op *openapi3.Operation) (string, bool, bool) {
	r := op.Responses.Value("200")
	if r == nil || r.Value == nil {
		return "", false, false
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return "", false, false
	}
	props := map[string]*openapi3.SchemaRef{}
	paginated := false
	for _, sub := range mt.Schema.Value.AllOf {
		if strings.HasSuffix(sub.Ref, "/Pagination") {
			paginated = true
		}
		for k, v := range sub.Value.Properties {
			props[k] = v
		}
	}
	rec := props["records"]
	if !paginated || rec == nil || rec.Value.Items == nil {
		return "", false, false
	}
	items := rec.Value.Items
	if items.Ref != "" {
		return "memberv1." + goName(items.Ref[strings.LastIndex(items.Ref, "/")+1:]), false, true
	}
	// Inline or union record types are named after the envelope by
	// oapi-codegen; point at them through the envelope's field type.
	env := mt.Schema.Ref[strings.LastIndex(mt.Schema.Ref, "/")+1:]
	return "memberv1." + env + "Record", false, true
}

func goName(s string) string {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == '_' || r == '-' })
	for i, p := range parts {
		switch p {
		case "id":
			parts[i] = "ID"
		case "uuid":
			parts[i] = "UUID"
		default:
			parts[i] = upperFirst(p)
		}
	}
	return strings.Join(parts, "")
}

func upperFirst(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
func lowerFirst(s string) string {
	if strings.HasPrefix(s, "ID") {
		return "id" + s[2:]
	}
	return strings.ToLower(s[:1]) + s[1:]
}

var tmpl = template.Must(template.New("pages").Parse(`// Code generated by internal/cmd/genpages from openapi/member/v1/openapi.yaml. DO NOT EDIT.

package circle

import (
	{{if .Cursors}}"cmp"
	{{end}}"context"
	{{if .Cursors}}"errors"
	{{end}}"fmt"
	"iter"
	{{if .Cursors}}"slices"
	{{end}}
	"github.com/circlekit/headless-go/gen/memberv1"
)
{{range .Lists}}{{if .BodyPaged}}
// {{.Method}}All ranges over every record of
// [memberv1.ClientWithResponses.{{.Method}}WithResponse] ({{.OperationID}}),
// fetching pages lazily from body.Page (or 1) until Circle reports no next
// page or the loop stops; a page that does not advance ends it with an
// error (see [Pages]). body is copied, not modified.
func {{.Method}}All(ctx context.Context, c memberv1.ClientWithResponsesInterface{{range .PathParams}}, {{.Name}} {{.GoType}}{{end}}, body memberv1.{{.Method}}JSONRequestBody, reqEditors ...memberv1.RequestEditorFn) iter.Seq2[{{.Record}}, error] {
	return pages(ctx, "{{.OperationID}}", {{if .BodyPagePointer}}deref(body.Page){{else}}body.Page{{end}}, func(ctx context.Context, page int) (Page[{{.Record}}], error) {
		b := body
		b.Page = {{if .BodyPagePointer}}&{{end}}page
		r, err := c.{{.Method}}WithResponse(ctx{{range .PathParams}}, {{.Name}}{{end}}, b, reqEditors...)
		if err != nil {
			return Page[{{.Record}}]{}, err
		}
		if r.JSON200 == nil {
			return Page[{{.Record}}]{}, fmt.Errorf("circle: {{.OperationID}}: response %d carries no page", r.StatusCode())
		}
		return Page[{{.Record}}]{Records: r.JSON200.Records, Number: r.JSON200.Page, HasNext: r.JSON200.HasNextPage}, nil
	})
}
{{else}}
// {{.Method}}All ranges over every record of
// [memberv1.ClientWithResponses.{{.Method}}WithResponse] ({{.OperationID}}),
// fetching pages lazily from params.Page (or 1) until Circle reports no next
// page or the loop stops; a page that does not advance ends it with an
// error (see [Pages]). params may be nil; it is not modified.
func {{.Method}}All(ctx context.Context, c memberv1.ClientWithResponsesInterface{{range .PathParams}}, {{.Name}} {{.GoType}}{{end}}, params *memberv1.{{.Method}}Params, reqEditors ...memberv1.RequestEditorFn) iter.Seq2[{{.Record}}, error] {
	var p memberv1.{{.Method}}Params
	if params != nil {
		p = *params
	}
	return pages(ctx, "{{.OperationID}}", deref(p.Page), func(ctx context.Context, page int) (Page[{{.Record}}], error) {
		q := p
		q.Page = &page
		r, err := c.{{.Method}}WithResponse(ctx{{range .PathParams}}, {{.Name}}{{end}}, &q, reqEditors...)
		if err != nil {
			return Page[{{.Record}}]{}, err
		}
		if r.JSON200 == nil {
			return Page[{{.Record}}]{}, fmt.Errorf("circle: {{.OperationID}}: response %d carries no page", r.StatusCode())
		}
		return Page[{{.Record}}]{Records: r.JSON200.Records, Number: r.JSON200.Page, HasNext: r.JSON200.HasNextPage}, nil
	})
}
{{end}}{{end}}{{range .Cursors}}
// {{.Method}}Older ranges over the records of
// [memberv1.ClientWithResponses.{{.Method}}WithResponse] ({{.OperationID}})
// from the newest to the oldest: from params.ID (inclusive) when it is set,
// from the newest otherwise. Each request asks for the records before the
// oldest one seen so far ({{.Before}} at a time, when params sets it), until
// Circle reports no previous page or the loop stops. A page with no record
// older than the last one seen, while Circle says more follow, ends it with
// an error. params may be nil; it is not modified.
func {{.Method}}Older(ctx context.Context, c memberv1.ClientWithResponsesInterface{{range .PathParams}}, {{.Name}} {{.GoType}}{{end}}, params *memberv1.{{.Method}}Params, reqEditors ...memberv1.RequestEditorFn) iter.Seq2[{{.Record}}, error] {
	return func(yield func({{.Record}}, error) bool) {
		var p memberv1.{{.Method}}Params
		if params != nil {
			p = *params
		}
		var zero {{.Record}}
		cursor, inclusive := p.ID, p.ID != nil
		for {
			q := p
			q.ID = cursor
			r, err := c.{{.Method}}WithResponse(ctx{{range .PathParams}}, {{.Name}}{{end}}, &q, reqEditors...)
			if err != nil {
				yield(zero, err)
				return
			}
			if r.JSON200 == nil {
				yield(zero, fmt.Errorf("circle: {{.OperationID}}: response %d carries no records", r.StatusCode()))
				return
			}
			recs := make([]{{.Record}}, 0, len(r.JSON200.Records))
			for _, m := range r.JSON200.Records {
				if cursor == nil || m.ID < *cursor || (inclusive && m.ID == *cursor) {
					recs = append(recs, m)
				}
			}
			slices.SortStableFunc(recs, func(a, b {{.Record}}) int { return cmp.Compare(b.ID, a.ID) })
			for _, m := range recs {
				if !yield(m, nil) {
					return
				}
			}
			if !r.JSON200.HasPreviousPage {
				return
			}
			if len(recs) == 0 {
				yield(zero, errors.New("circle: {{.OperationID}}: a page with no older record says a previous page follows: the list is not advancing"))
				return
			}
			oldest := recs[len(recs)-1].ID
			cursor, inclusive = &oldest, false
		}
	}
}

// {{.Method}}Newer ranges over the records of
// [memberv1.ClientWithResponses.{{.Method}}WithResponse] ({{.OperationID}})
// from the oldest to the newest: from params.ID (inclusive) when it is set,
// from the first record of Circle's response otherwise. Each request asks
// for the records after the newest one seen so far ({{.After}} at a time,
// when params sets it), until Circle reports no next page or the loop
// stops. A page with no record newer than the last one seen, while Circle
// says more follow, ends it with an error. params may be nil; it is not
// modified.
func {{.Method}}Newer(ctx context.Context, c memberv1.ClientWithResponsesInterface{{range .PathParams}}, {{.Name}} {{.GoType}}{{end}}, params *memberv1.{{.Method}}Params, reqEditors ...memberv1.RequestEditorFn) iter.Seq2[{{.Record}}, error] {
	return func(yield func({{.Record}}, error) bool) {
		var p memberv1.{{.Method}}Params
		if params != nil {
			p = *params
		}
		var zero {{.Record}}
		cursor, inclusive := p.ID, p.ID != nil
		for {
			q := p
			q.ID = cursor
			r, err := c.{{.Method}}WithResponse(ctx{{range .PathParams}}, {{.Name}}{{end}}, &q, reqEditors...)
			if err != nil {
				yield(zero, err)
				return
			}
			if r.JSON200 == nil {
				yield(zero, fmt.Errorf("circle: {{.OperationID}}: response %d carries no records", r.StatusCode()))
				return
			}
			recs := make([]{{.Record}}, 0, len(r.JSON200.Records))
			for _, m := range r.JSON200.Records {
				if cursor == nil || m.ID > *cursor || (inclusive && m.ID == *cursor) {
					recs = append(recs, m)
				}
			}
			slices.SortStableFunc(recs, func(a, b {{.Record}}) int { return cmp.Compare(a.ID, b.ID) })
			for _, m := range recs {
				if !yield(m, nil) {
					return
				}
			}
			if !r.JSON200.HasNextPage {
				return
			}
			if len(recs) == 0 {
				yield(zero, errors.New("circle: {{.OperationID}}: a page with no newer record says a next page follows: the list is not advancing"))
				return
			}
			newest := recs[len(recs)-1].ID
			cursor, inclusive = &newest, false
		}
	}
}
{{end}}`))

var testTmpl = template.Must(template.New("pagetests").Parse(`// Code generated by internal/cmd/genpages from openapi/member/v1/openapi.yaml. DO NOT EDIT.

package circle_test

import (
	{{if .Cursors}}"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	{{end}}"testing"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/gen/memberv1"
)
{{range .Lists}}
func Test{{.Method}}All(t *testing.T) {
	t.Parallel()
	p := newPagesEnv(t, "{{.OperationID}}")
	perPage := p.perPage
{{- if .BodyPaged}}
	seq := circle.{{.Method}}All(p.ctx, p.api{{range .PathParams}}, {{.Sample}}{{end}}, memberv1.{{.Method}}JSONRequestBody{PerPage: {{if .BodyPagePointer}}&{{end}}perPage})
{{- else}}
	seq := circle.{{.Method}}All(p.ctx, p.api{{range .PathParams}}, {{.Sample}}{{end}}, &memberv1.{{.Method}}Params{PerPage: &perPage{{range .RequiredQuery}}, {{.Field}}: {{.Sample}}{{end}}})
{{- end}}
	p.check(t, func(yield func(error) bool) {
		for _, err := range seq {
			if !yield(err) {
				return
			}
		}
	})
}
{{end}}{{if .Cursors}}
// cursorServer serves a list that pages by id over the records with ids 1
// to n: without an id, the newest previous_per_page (default 5) records;
// with one, previous_per_page records before it, the record itself and
// next_per_page (default 5) after it. With stuck set, it responds with the same
// page whatever it is asked, and says more follow. It counts requests.
func cursorServer(t *testing.T, n int, stuck bool) (memberv1.ClientWithResponsesInterface, *atomic.Int64) {
	t.Helper()
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		q := r.URL.Query()
		num := func(name string, def int) int {
			if v, err := strconv.Atoi(q.Get(name)); err == nil {
				return v
			}
			return def
		}
		prev, next := num("previous_per_page", 5), num("next_per_page", 5)
		lo, hi := n-prev+1, n
		if id := num("id", 0); id > 0 {
			lo, hi = id-prev, id+next
		}
		lo, hi = max(lo, 1), min(hi, n)
		if stuck {
			lo, hi = 1, 2
		}
		records := []map[string]any{}
		for id := lo; id <= hi; id++ {
			records = append(records, map[string]any{"id": id})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"records": records, "has_previous_page": lo > 1 || stuck, "has_next_page": hi < n || stuck,
		})
	}))
	t.Cleanup(srv.Close)
	c, err := memberv1.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c, &requests
}

// collectIDs ranges over seq, keeping the ids, until it ends, fails or
// holds limit ids.
func collectIDs[T any](seq iter.Seq2[T, error], id func(T) int, limit int) ([]int, error) {
	var ids []int
	for v, err := range seq {
		if err != nil {
			return ids, err
		}
		ids = append(ids, id(v))
		if len(ids) == limit {
			break
		}
	}
	return ids, nil
}

func countdown(from, to int) string {
	var ids []int
	for i := from; i >= to; i-- {
		ids = append(ids, i)
	}
	return fmt.Sprint(ids)
}

func countup(from, to int) string {
	var ids []int
	for i := from; i <= to; i++ {
		ids = append(ids, i)
	}
	return fmt.Sprint(ids)
}
{{end}}{{range .Cursors}}
func Test{{.Method}}OlderAndNewer(t *testing.T) {
	t.Parallel()
	id := func(m {{.Record}}) int { return m.ID }
	four, twelve, five := 4, 12, 5
	for _, tc := range []struct {
		name     string
		newer    bool
		params   *memberv1.{{.Method}}Params
		limit    int
		want     string
		requests int64
	}{
		{"older from the newest", false, nil, 0, countdown(25, 1), 5},
		{"older from an id", false, &memberv1.{{.Method}}Params{ID: &twelve, {{.Before}}: &four}, 0, countdown(12, 1), 3},
		{"older, the loop stops", false, nil, 7, countdown(25, 19), 2},
		{"newer from an id", true, &memberv1.{{.Method}}Params{ID: &five}, 0, countup(5, 25), 4},
		{"newer from the newest", true, nil, 0, countup(21, 25), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, requests := cursorServer(t, 25, false)
			seq := circle.{{.Method}}Older(t.Context(), c{{range .PathParams}}, {{.Sample}}{{end}}, tc.params)
			if tc.newer {
				seq = circle.{{.Method}}Newer(t.Context(), c{{range .PathParams}}, {{.Sample}}{{end}}, tc.params)
			}
			ids, err := collectIDs(seq, id, tc.limit)
			if err != nil || fmt.Sprint(ids) != tc.want || requests.Load() != tc.requests {
				t.Errorf("got %v, %v after %d requests; want %s after %d", ids, err, requests.Load(), tc.want, tc.requests)
			}
		})
	}
	for _, newer := range []bool{false, true} {
		c, requests := cursorServer(t, 25, true)
		seq := circle.{{.Method}}Older(t.Context(), c{{range .PathParams}}, {{.Sample}}{{end}}, nil)
		if newer {
			seq = circle.{{.Method}}Newer(t.Context(), c{{range .PathParams}}, {{.Sample}}{{end}}, nil)
		}
		ids, err := collectIDs(seq, id, 0)
		if err == nil || !strings.Contains(err.Error(), "the list is not advancing") || requests.Load() != 2 {
			t.Errorf("newer %v, a list that does not advance: got %v, %v after %d requests; want an error after 2", newer, ids, err, requests.Load())
		}
	}
}
{{end}}`))
