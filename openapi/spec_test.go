package openapi_test

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

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
