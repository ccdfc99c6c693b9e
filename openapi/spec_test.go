package openapi_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	"github.com/circlekit/headless-go/gen/authv1"
	"github.com/circlekit/headless-go/gen/memberv1"
	"github.com/circlekit/headless-go/openapi"
)

// verbs is the closed list of verbs an operationId may start with. The README
// documents the scheme: <verb><Noun...> in lowerCamelCase, where list pages
// through a collection, get fetches one thing, create/update/delete change
// one, and the remaining verbs name an action Circle exposes as its own path.
var verbs = []string{
	"list", "get", "create", "update", "delete",
	"search", "like", "unlike", "follow", "unfollow", "join", "leave",
	"mark", "archive", "reset", "deactivate", "confirm",
	"refresh", "revoke",
}

var idPattern = regexp.MustCompile(`^(` + strings.Join(verbs, "|") + `)[A-Z][a-z]+([A-Z][a-z]+)*$`)

type specCase struct {
	name    string
	file    string
	ops     int
	paths   int
	client  any
	swagger func() (*openapi3.T, error)
}

var specs = []specCase{
	{"auth", "auth/v1/openapi.yaml", 4, 4, &authv1.ClientWithResponses{}, openapi.Auth},
	{"member", "member/v1/openapi.yaml", 102, 78, &memberv1.ClientWithResponses{}, openapi.Member},
}

func load(t *testing.T, file string) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(file)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate %s: %v", file, err)
	}
	return doc
}

func TestSpecsLoadAndValidate(t *testing.T) {
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			doc := load(t, s.file)
			if got := doc.Paths.Len(); got != s.paths {
				t.Errorf("%s has %d paths, want %d", s.file, got, s.paths)
			}
			n := 0
			for _, item := range doc.Paths.Map() {
				n += len(item.Operations())
			}
			if n != s.ops {
				t.Errorf("%s has %d operations, want %d", s.file, n, s.ops)
			}
			if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://{host}" ||
				doc.Servers[0].Variables["host"] == nil || doc.Servers[0].Variables["host"].Default != "app.circle.so" {
				t.Errorf("%s: servers must be https://{host} with host defaulting to app.circle.so", s.file)
			}
			// The loader of package openapi must give the same document.
			emb, err := s.swagger()
			if err != nil {
				t.Fatalf("embedded spec: %v", err)
			}
			if emb.Paths.Len() != doc.Paths.Len() {
				t.Errorf("package openapi's %s spec has %d paths, the file %d", s.name, emb.Paths.Len(), doc.Paths.Len())
			}
		})
	}
}

func TestOperationIDs(t *testing.T) {
	seen := map[string]string{}
	for _, s := range specs {
		doc := load(t, s.file)
		client := reflect.TypeOf(s.client)
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				where := method + " " + path
				id := op.OperationID
				switch {
				case id == "":
					t.Errorf("%s %s: no operationId", s.name, where)
					continue
				case !idPattern.MatchString(id):
					t.Errorf("%s %s: operationId %q does not follow <verb><Noun> with a verb from %v", s.name, where, id, verbs)
				}
				if prev, dup := seen[id]; dup {
					t.Errorf("operationId %q is used by %s and %s", id, prev, where)
				}
				seen[id] = s.name + " " + where
				if len(op.Tags) != 1 {
					t.Errorf("%s %s: want exactly one tag, have %v", s.name, where, op.Tags)
				}
				if strings.TrimSpace(op.Summary) == "" {
					t.Errorf("%s %s: no summary", s.name, where)
				}
				// The Go method is the operationId with its first letter
				// upper-cased: no path-derived or initialism-mangled names.
				goName := strings.ToUpper(id[:1]) + id[1:] + "WithResponse"
				if _, ok := client.MethodByName(goName); !ok {
					t.Errorf("%s %s: generated client has no method %s", s.name, where, goName)
				}
			}
		}
	}
	for _, s := range specs {
		client := reflect.TypeOf(s.client)
		var names []string
		for i := range client.NumMethod() {
			names = append(names, client.Method(i).Name)
		}
		sort.Strings(names)
		for _, n := range names {
			if strings.Contains(n, "ApiHeadless") || strings.HasPrefix(n, "GetApi") || strings.HasPrefix(n, "PostApi") {
				t.Errorf("%s: generated method %s is derived from a path", s.name, n)
			}
		}
	}
}

// TestPathParameterTypes checks the fix of Circle's inconsistent path
// parameters: one type per parameter name across every method of a path,
// integers for ids, strings only for chat room UUIDs, tokens and media, and
// never a oneOf (which would generate a struct).
func TestPathParameterTypes(t *testing.T) {
	stringParams := map[string]bool{"chat_room_uuid": true, "uuid": true, "token": true, "medium": true, "notification_preference_medium": true}
	for _, s := range specs {
		doc := load(t, s.file)
		for path, item := range doc.Paths.Map() {
			types := map[string]string{}
			for method, op := range item.Operations() {
				for _, p := range op.Parameters {
					prm := p.Value
					sch := prm.Schema.Value
					if len(sch.OneOf) > 0 || len(sch.AnyOf) > 0 {
						t.Errorf("%s %s %s: parameter %s uses oneOf/anyOf", s.name, method, path, prm.Name)
					}
					if items := sch.Items; items != nil && (len(items.Value.OneOf) > 0 || len(items.Value.AnyOf) > 0) {
						t.Errorf("%s %s %s: parameter %s has oneOf/anyOf items", s.name, method, path, prm.Name)
					}
					if prm.In != openapi3.ParameterInPath {
						continue
					}
					typ := sch.Type.Slice()[0]
					want := "integer"
					if stringParams[prm.Name] {
						want = "string"
					}
					if typ != want {
						t.Errorf("%s %s %s: path parameter %s is %s, want %s", s.name, method, path, prm.Name, typ, want)
					}
					if prev, ok := types[prm.Name]; ok && prev != typ {
						t.Errorf("%s %s: path parameter %s typed %s and %s", s.name, path, prm.Name, prev, typ)
					}
					types[prm.Name] = typ
				}
			}
		}
	}
}

// TestSuccessResponsesHaveSchemas checks that every operation documents the
// body of its 2xx answer, unless the answer is 204 No Content.
func TestSuccessResponsesHaveSchemas(t *testing.T) {
	for _, s := range specs {
		doc := load(t, s.file)
		for path, item := range doc.Paths.Map() {
			for method, op := range item.Operations() {
				found := false
				for code, r := range op.Responses.Map() {
					if !strings.HasPrefix(code, "2") {
						continue
					}
					found = true
					if code == "204" {
						if len(r.Value.Content) != 0 {
							t.Errorf("%s %s %s: 204 with a body", s.name, method, path)
						}
						continue
					}
					mt := r.Value.Content.Get("application/json")
					if mt == nil || mt.Schema == nil {
						t.Errorf("%s %s %s: %s has no JSON schema", s.name, method, path, code)
					}
				}
				if !found {
					t.Errorf("%s %s %s: no 2xx response", s.name, method, path)
				}
			}
		}
	}
}

// TestLoaders checks that Auth and Member parse once and share their
// document, while LoadAuth and LoadMember give each caller a new one.
func TestLoaders(t *testing.T) {
	for _, l := range []struct {
		name           string
		shared, loaded func() (*openapi3.T, error)
	}{
		{"auth", openapi.Auth, openapi.LoadAuth},
		{"member", openapi.Member, openapi.LoadMember},
	} {
		a, errA := l.shared()
		b, errB := l.shared()
		c, errC := l.loaded()
		d, errD := l.loaded()
		if err := errors.Join(errA, errB, errC, errD); err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
		if a != b {
			t.Errorf("%s: the shared document was parsed twice", l.name)
		}
		if c == d || c == a {
			t.Errorf("%s: the loader returned a document already given out", l.name)
		}
		if err := c.Validate(context.Background()); err != nil {
			t.Errorf("%s: the loaded document does not validate: %v", l.name, err)
		}
	}
}

// BenchmarkLoadMember measures parsing the member spec, what the first call of
// Member (or each call of LoadMember) costs.
func BenchmarkLoadMember(b *testing.B) {
	for b.Loop() {
		if _, err := openapi.LoadMember(); err != nil {
			b.Fatal(err)
		}
	}
}

// The pointer rule of the generated types, as the README's spec section
// states it. oapi-codegen is configured (codegen.yaml) to generate optional
// fields as values, slices and maps never behind a pointer, and a named type
// for every nested object. A field keeps its pointer, through
// x-go-type-skip-optional-pointer: false in the spec, only where a zero
// value must be told apart from an absent one:
//
//   - an optional query parameter that is a scalar or an object: a value
//     would always be sent;
//   - an optional boolean of a request body: false is a choice;
//   - any optional scalar of the body of an update (PUT, PATCH): "", 0 and
//     false are values to set, absence leaves the field unchanged;
//   - the properties of a body of which exactly one is sent
//     (maxProperties: 1): which one is present is the message.
//
// Rich-text documents (tiptap_body, rich_text_body) are sent whole: no
// field inside them keeps a pointer. Fields of a union type (oneOf, anyOf)
// stay pointers in the generated code without any extension: an absent
// union has no kind to read.
const skipExt = "x-go-type-skip-optional-pointer"

var richText = map[string]bool{"tiptap_body": true, "rich_text_body": true}

func isScalar(s *openapi3.Schema) bool {
	return s.Type.Is("string") || s.Type.Is("integer") || s.Type.Is("number") || s.Type.Is("boolean")
}

// keepsPointer reports whether ext, the extensions of a parameter or
// property, set x-go-type-skip-optional-pointer to false.
func keepsPointer(ext map[string]any) bool {
	v, ok := ext[skipExt].(bool)
	return ok && !v
}

// pointerRule walks a spec and reports every departure from the rule
// above; it also returns the JSON names of the fields that keep their
// pointer (parameters, properties and union-typed properties).
type pointerRule struct {
	want    map[*openapi3.SchemaRef]bool // properties that must keep a pointer
	names   map[string]bool              // JSON names of fields that keep one
	visited map[*openapi3.Schema]bool
}

// request marks the properties of a request body schema that must keep
// their pointer.
func (r *pointerRule) request(s *openapi3.Schema, update, rich bool) {
	if s == nil || r.visited[s] {
		return
	}
	r.visited[s] = true
	defer delete(r.visited, s)
	exactlyOne := s.MaxProps != nil && *s.MaxProps == 1
	for name, p := range s.Properties {
		inRich := rich || richText[name]
		optional := !contains(s.Required, name)
		if optional && !inRich && p.Value != nil && isScalar(p.Value) &&
			(p.Value.Type.Is("boolean") || update || exactlyOne) {
			r.want[p] = true
		}
		r.request(p.Value, update, inRich)
	}
	if s.Items != nil {
		r.request(s.Items.Value, update, rich)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// check compares every property reachable from s with the rule.
func (r *pointerRule) check(t *testing.T, where string, s *openapi3.Schema) {
	t.Helper()
	if s == nil || r.visited[s] {
		return
	}
	r.visited[s] = true
	for name, p := range s.Properties {
		at := where + "." + name
		switch keeps, want := keepsPointer(p.Value.Extensions), r.want[p]; {
		case want && !keeps:
			t.Errorf("%s: must keep its pointer (%s: false): the rule needs its zero value sendable", at, skipExt)
		case keeps && !want:
			t.Errorf("%s: keeps its pointer (%s: false) though the rule does not ask for it", at, skipExt)
		}
		if keepsPointer(p.Value.Extensions) {
			r.names[name] = true
		}
		if len(p.Value.OneOf) > 0 || len(p.Value.AnyOf) > 0 {
			r.names[name] = true
		}
		r.check(t, at, p.Value)
	}
	if s.Items != nil {
		r.check(t, where+"[]", s.Items.Value)
	}
	for _, list := range [][]*openapi3.SchemaRef{s.AllOf, s.AnyOf, s.OneOf} {
		for _, b := range list {
			r.check(t, where, b.Value)
		}
	}
	if s.AdditionalProperties.Schema != nil {
		r.check(t, where+"{}", s.AdditionalProperties.Schema.Value)
	}
}

// applyPointerRule checks doc against the rule and returns the JSON names
// of the fields that keep a pointer.
func applyPointerRule(t *testing.T, name string, doc *openapi3.T) map[string]bool {
	t.Helper()
	r := &pointerRule{want: map[*openapi3.SchemaRef]bool{}, names: map[string]bool{}, visited: map[*openapi3.Schema]bool{}}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody != nil {
				for _, mt := range op.RequestBody.Value.Content {
					r.request(mt.Schema.Value, method == "PUT" || method == "PATCH", false)
				}
			}
			for _, p := range op.Parameters {
				prm := p.Value
				want := prm.In == openapi3.ParameterInQuery && !prm.Required &&
					(isScalar(prm.Schema.Value) || prm.Schema.Value.Type.Is("object"))
				if keeps := keepsPointer(prm.Extensions); keeps != want {
					t.Errorf("%s %s %s: query parameter %s: keeps its pointer %v, the rule says %v", name, method, path, prm.Name, keeps, want)
				}
				if want {
					r.names[prm.Name] = true
				}
			}
		}
	}
	for n, s := range doc.Components.Schemas {
		r.check(t, name+" "+n, s.Value)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := name + " " + method + " " + path
			if op.RequestBody != nil {
				for _, mt := range op.RequestBody.Value.Content {
					r.check(t, where+" body", mt.Schema.Value)
				}
			}
			for code, resp := range op.Responses.Map() {
				for _, mt := range resp.Value.Content {
					r.check(t, where+" "+code, mt.Schema.Value)
				}
			}
		}
	}
	return r.names
}

// TestGeneratorSettings checks the oapi-codegen options the generated types
// rely on.
func TestGeneratorSettings(t *testing.T) {
	for _, s := range specs {
		file := filepath.Join(filepath.Dir(s.file), "codegen.yaml")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			OutputOptions map[string]any `yaml:"output-options"`
		}
		if err := yaml.Unmarshal(b, &cfg); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, opt := range []string{
			"prefer-skip-optional-pointer",
			"prefer-skip-optional-pointer-with-omitzero",
			"prefer-skip-optional-pointer-on-container-types",
			"generate-types-for-anonymous-schemas",
		} {
			if cfg.OutputOptions[opt] != true {
				t.Errorf("%s: output-options.%s must be true", file, opt)
			}
		}
	}
}

// TestPointerRule checks the spec's x-go-type-skip-optional-pointer
// extensions against the rule.
func TestPointerRule(t *testing.T) {
	for _, s := range specs {
		applyPointerRule(t, s.name, load(t, s.file))
	}
}

// genStats counts, over the struct fields of a generated package, what the
// rule is about.
type genStats struct {
	jsonFields, pointers int      // JSON fields, and those that are pointers
	containerPointers    []string // fields of type *[]T or *map[K]V
	anonymous            []string // fields whose type holds a struct literal
	underscored          []string // type names with an underscore
	stray                []string // pointer JSON fields the rule does not explain
}

func countGenerated(t *testing.T, dir string, keep map[string]bool) genStats {
	t.Helper()
	fset := token.NewFileSet()
	var st genStats
	files, err := filepath.Glob(filepath.Join(dir, "*.gen.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no generated files in %s: %v", dir, err)
	}
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				if strings.Contains(ts.Name.Name, "_") {
					st.underscored = append(st.underscored, ts.Name.Name)
				}
				ast.Inspect(ts.Type, func(n ast.Node) bool {
					str, ok := n.(*ast.StructType)
					if !ok {
						return true
					}
					for _, fld := range str.Fields.List {
						name := ts.Name.Name
						if len(fld.Names) > 0 {
							name += "." + fld.Names[0].Name
						}
						star, isPtr := fld.Type.(*ast.StarExpr)
						if isPtr {
							switch star.X.(type) {
							case *ast.ArrayType, *ast.MapType:
								st.containerPointers = append(st.containerPointers, name)
							}
						}
						anon := false
						ast.Inspect(fld.Type, func(m ast.Node) bool {
							_, isStruct := m.(*ast.StructType)
							anon = anon || isStruct
							return !anon
						})
						if anon {
							st.anonymous = append(st.anonymous, name)
						}
						if fld.Tag == nil {
							continue
						}
						tag, _ := strconv.Unquote(fld.Tag.Value)
						jsonName, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
						if jsonName == "" || jsonName == "-" {
							continue
						}
						st.jsonFields++
						if isPtr {
							st.pointers++
							if !keep[jsonName] {
								st.stray = append(st.stray, fmt.Sprintf("%s (%s)", name, jsonName))
							}
						}
					}
					return true
				})
			}
		}
	}
	return st
}

// TestGeneratedTypes checks the generated packages against the rule: no
// pointer to a slice or a map, no anonymous struct, no type name with an
// underscore, and pointers only on the fields the rule keeps them on. It
// logs the counts (go test -v -run TestGeneratedTypes ./openapi/).
func TestGeneratedTypes(t *testing.T) {
	for _, s := range specs {
		keep := applyPointerRule(t, s.name, load(t, s.file))
		dir := filepath.Join("..", "gen", s.name+"v1")
		st := countGenerated(t, dir, keep)
		t.Logf("%s: %d JSON fields, %d pointers (%.0f%%); %d pointers to a slice or map; %d anonymous struct fields",
			dir, st.jsonFields, st.pointers, 100*float64(st.pointers)/float64(st.jsonFields), len(st.containerPointers), len(st.anonymous))
		if len(st.containerPointers) > 0 {
			t.Errorf("%s: pointers to a slice or a map: %v", dir, st.containerPointers)
		}
		if len(st.anonymous) > 0 {
			t.Errorf("%s: fields of an anonymous struct type (name the schema with x-go-type-name): %v", dir, st.anonymous)
		}
		if len(st.underscored) > 0 {
			t.Errorf("%s: type names with an underscore (name the schema with x-go-type-name): %v", dir, st.underscored)
		}
		if len(st.stray) > 0 {
			t.Errorf("%s: pointer fields the rule does not keep: %v", dir, st.stray)
		}
	}
}
