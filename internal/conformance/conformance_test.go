package conformance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/diff"
)

// TestConformance runs the conformance check against Circle's documents in
// CIRCLE_UPSTREAM_DIR, or in openapi/upstream/ when that is unset. With
// neither it skips, except under CI=true, where it fails.
func TestConformance(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir, fromEnv, err := UpstreamDir(root, APIs())
	if errors.Is(err, ErrNoUpstream) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true, so the conformance check may not skip: %v", err)
		}
		t.Skipf("conformance check skipped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Config{Root: root, UpstreamDir: dir, UpstreamFromEnv: fromEnv})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("the specs differ from Circle's documents beyond the errata:\n%s", b.String())
	}
	t.Log("\n" + b.String())
	for _, a := range rep.APIs {
		if a.UpstreamOperations != a.OurOperations {
			t.Errorf("%s: %d upstream operations, %d ours", a.API.Name, a.UpstreamOperations, a.OurOperations)
		}
	}
}

// TestErrataFile checks that openapi/errata.yaml parses and every entry is
// complete, without needing Circle's documents.
func TestErrataFile(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	e, err := LoadErrata(filepath.Join(root, ErrataFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Entries) == 0 {
		t.Fatal("no errata entries")
	}
}

// TestLockFile checks that openapi/upstream.lock names one document per API,
// under the file name the check expects.
func TestLockFile(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	l, err := ReadLock(filepath.Join(root, LockFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, api := range APIs() {
		d := l.Document(api.Name)
		if d == nil {
			t.Errorf("lock has no document for %s", api.Name)
			continue
		}
		if d.File != api.UpstreamFile {
			t.Errorf("lock file for %s is %q, check expects %q", api.Name, d.File, api.UpstreamFile)
		}
		if !strings.HasPrefix(d.URL, "https://") {
			t.Errorf("lock url for %s is %q", api.Name, d.URL)
		}
	}
}

func TestPattern(t *testing.T) {
	leaf := func(key, value string) Leaf { return Leaf{Key: key, Value: value} }
	tests := []struct {
		pattern string
		leaf    Leaf
		want    bool
	}{
		{"parameters/modified/path/space_id/schema/type", leaf("parameters/modified/path/space_id/schema/type", "string -> integer"), true},
		{"parameters/modified/path/*/schema/type", leaf("parameters/modified/path/space_id/schema/type", "string -> integer"), true},
		{"parameters/*/schema/type", leaf("parameters/modified/path/space_id/schema/type", "x"), false},
		{"parameters/**/schema/type", leaf("parameters/modified/path/space_id/schema/type", "x"), true},
		{"**/type", leaf("parameters/modified/path/space_id/schema/type", "x"), true},
		{"**/type", leaf("type", "x"), true},
		{"a/**/b", leaf("a/b", "x"), true},
		{"a/**", leaf("a", "x"), true},
		{"a/**", leaf("a/b/c", "x"), true},
		{"a/**", leaf("ab", "x"), false},
		{"**/schema/type: string -> integer", leaf("p/schema/type", "string -> integer"), true},
		{"**/schema/type: string -> integer", leaf("p/schema/type", "number -> integer"), false},
		{"**/schema/type: * -> integer", leaf("p/schema/type", "number -> integer"), true},
		{"content/modified/application/json/schema/format", leaf("content/modified/application/json/schema/format", "none -> date-time"), true},
		{"content/modified/*/schema/format", leaf("content/modified/application/json/schema/format", "none -> date-time"), false},
		{`securityRequirements/deleted: {"index":0,"schemes":{"bearerAuth":[]}}`, leaf("securityRequirements/deleted", `{"index":0,"schemes":{"bearerAuth":[]}}`), true},
		{"example/200/success", leaf("example/200/success", "decode: json: cannot unmarshal"), true},
		{"example/2*/*", leaf("example/200/success", "x"), true},
		{"servers/https://{defaultHost}: deleted", leaf("servers/https://{defaultHost}", "deleted"), true},
	}
	for _, tt := range tests {
		p, err := CompilePattern(tt.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tt.pattern, err)
		}
		if got := p.Match(tt.leaf); got != tt.want {
			t.Errorf("%q match %q: %q = %v, want %v", tt.pattern, tt.leaf.Key, tt.leaf.Value, got, tt.want)
		}
	}
}

func TestParseErrataRejects(t *testing.T) {
	valid := `
errata:
  - api: auth
    operation: GET /x
    location: l
    upstream: u
    ours: o
    kind: param-type
    why: w
    match: a/b
`
	if _, err := ParseErrata([]byte(valid)); err != nil {
		t.Fatalf("valid errata rejected: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown kind":  strings.Replace(valid, "param-type", "whim", 1),
		"unknown api":   strings.Replace(valid, "api: auth", "api: admin", 1),
		"bad operation": strings.Replace(valid, "GET /x", "get x", 1),
		"empty why":     strings.Replace(valid, "why: w", `why: ""`, 1),
		"no match":      strings.Replace(valid, "match: a/b", "match: []", 1),
		"unknown field": strings.Replace(valid, "why: w", "why: w\n    reason: r", 1),
	} {
		if _, err := ParseErrata([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	list := strings.Replace(valid, "match: a/b", "match:\n      - a/b\n      - c/*", 1)
	e, err := ParseErrata([]byte(list))
	if err != nil || len(e.Entries[0].Match) != 2 {
		t.Fatalf("list of patterns: %v %v", e, err)
	}
}

const baseSpec = `
openapi: 3.0.3
info: {title: t, version: v1}
paths:
  /spaces/{space_id}:
    get:
      parameters:
        - {name: space_id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  created_at: {type: string}
`

func loadString(t *testing.T, s string) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestDifferences(t *testing.T) {
	revised := strings.Replace(baseSpec, "schema: {type: string}}", "schema: {type: integer}}", 1)
	revised = strings.Replace(revised, "created_at: {type: string}", "created_at: {type: string, format: date-time}", 1)
	revised = strings.Replace(revised, "    get:\n", "    get:\n      operationId: getSpace\n      summary: Ours.\n", 1)
	leaves, err := Differences("member", loadString(t, baseSpec), loadString(t, revised))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range leaves {
		got = append(got, l.String())
	}
	want := []string{
		"[member] GET /spaces/{space_id}  parameters/modified/path/space_id/schema/type: string -> integer",
		"[member] GET /spaces/{space_id}  responses/modified/200/content/modified/application/json/schema/properties/modified/created_at/format: none -> date-time",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("leaves:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestApplyErrata(t *testing.T) {
	ar := &APIReport{
		API: API{Name: "member"},
		Differences: []Leaf{
			{API: "member", Operation: "GET /a/{id}", Key: "parameters/modified/path/id/schema/type", Value: "string -> integer"},
			{API: "member", Operation: "GET /b", Key: "responses/modified/200/content/modified/application/json/schema/nullable", Value: "false -> true"},
			{API: "member", Key: "servers/x", Value: "added"},
		},
		Examples: []ExampleResult{
			{Example: Example{Method: "GET", Path: "/b", Status: 200, Name: "ok"}, Err: errors.New("decode: boom")},
		},
	}
	errata := &Errata{Entries: []Entry{
		{API: "member", Operation: "*", Kind: "param-type", Match: Patterns{"parameters/modified/path/*/schema/type: string -> integer"}},
		{API: "member", Operation: "GET /b", Kind: "example-fix", Match: Patterns{"example/200/ok"}},
		{API: "member", Operation: "GET /c", Kind: "nullable", Match: Patterns{"**/nullable"}},
		{API: "auth", Operation: "*", Kind: "server", Match: Patterns{"servers/**"}},
	}}
	applyErrata(ar, errata)
	if len(ar.Unmatched) != 2 {
		t.Errorf("unmatched = %v, want the nullable and the document-level server leaf", ar.Unmatched)
	}
	if len(ar.Stale) != 1 || ar.Stale[0].Entry.Operation != "GET /c" {
		t.Errorf("stale = %+v, want the GET /c entry", ar.Stale)
	}
	if ar.MatchedByKind["param-type"] != 1 || ar.MatchedByKind["example-fix"] != 1 || ar.Matched != 1 {
		t.Errorf("matched = %v (%d)", ar.MatchedByKind, ar.Matched)
	}
	if c := ar.ExampleCounts(); c.Excused != 1 || c.Failed != 0 {
		t.Errorf("example counts = %+v", c)
	}
	if ar.OK() {
		t.Error("report with unmatched and stale entries is OK")
	}
}

// TestCheckExamples serves made-up examples to the generated Auth client: a
// good body passes, a body with a wrongly typed field or an invalid
// timestamp fails.
func TestCheckExamples(t *testing.T) {
	root, err := FindRoot()
	if err != nil {
		t.Fatal(err)
	}
	api := APIs()[0]
	ours, err := loadDoc(filepath.Join(root, api.Spec))
	if err != nil {
		t.Fatal(err)
	}
	const path = "/api/v1/headless/auth_token"
	examples := []Example{
		{Method: "POST", Path: path, Status: 200, Name: "good", Body: []byte(`{"access_token":"a","refresh_token":"r","access_token_expires_at":"2030-01-01T00:00:00Z","refresh_token_expires_at":"2030-02-01T00:00:00.000Z","community_member_id":7,"community_id":3}`)},
		{Method: "POST", Path: path, Status: 200, Name: "string-id", Body: []byte(`{"community_id":"3"}`)},
		{Method: "PATCH", Path: "/api/v1/headless/access_token/refresh", Status: 200, Name: "bad-time", Body: []byte(`{"access_token":"a","access_token_expires_at":"tomorrow"}`)},
		{Method: "POST", Path: "/api/v1/headless/access_token/revoke", Status: 204, Name: "empty"},
		{Method: "POST", Path: path, Status: 201, Name: "undocumented-status", Body: []byte(`{}`)},
		{Method: "POST", Path: path, Status: 200, Name: "zero-id", Body: []byte(`{"community_id":0}`)},
		{Method: "POST", Path: path, Status: 200, Name: "no-value"},
	}
	results, err := CheckExamples(context.Background(), api, ours, examples)
	if err != nil {
		t.Fatal(err)
	}
	wantOK := map[string]bool{"good": true, "empty": true}
	for _, r := range results {
		t.Logf("%s: %v", r.Name, r.Err)
		if (r.Err == nil) != wantOK[r.Name] {
			t.Errorf("%s: err = %v, want ok=%v", r.Name, r.Err, wantOK[r.Name])
		}
	}
	if !results[0].Decoded || !results[0].Validated {
		t.Errorf("good example: decoded=%v validated=%v", results[0].Decoded, results[0].Validated)
	}
}

func TestUpstreamDir(t *testing.T) {
	root := t.TempDir()
	apis := []API{{Name: "auth", UpstreamFile: "a.yaml"}}

	t.Setenv(EnvUpstreamDir, "")
	if _, _, err := UpstreamDir(root, apis); !errors.Is(err, ErrNoUpstream) {
		t.Errorf("empty root: err = %v, want ErrNoUpstream", err)
	}

	dl := filepath.Join(root, DefaultUpstreamDir)
	if err := os.MkdirAll(dl, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dl, "a.yaml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if dir, fromEnv, err := UpstreamDir(root, apis); err != nil || dir != dl || fromEnv {
		t.Errorf("downloaded copy: %q %v %v", dir, fromEnv, err)
	}

	t.Setenv(EnvUpstreamDir, filepath.Join(root, "missing"))
	if _, _, err := UpstreamDir(root, apis); err == nil || errors.Is(err, ErrNoUpstream) {
		t.Errorf("env pointing nowhere: err = %v, want a hard error", err)
	}
}

// TestNormalize checks that factoring fields into components (allOf of a
// shared object, renamed components in anyOf) is not a difference, while a
// changed property inside still is.
func TestNormalize(t *testing.T) {
	const flat = `
openapi: 3.0.3
info: {title: t, version: v1}
paths:
  /things:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  page: {type: integer}
                  records:
                    type: array
                    items:
                      anyOf:
                        - $ref: "#/components/schemas/basic_thing"
components:
  schemas:
    basic_thing:
      type: object
      properties:
        id: {type: integer}
        created_at: {type: string}
`
	const factored = `
openapi: 3.0.3
info: {title: t, version: v1}
paths:
  /things:
    get:
      operationId: listThings
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                allOf:
                  - $ref: "#/components/schemas/Pagination"
                  - type: object
                    properties:
                      records:
                        type: array
                        items:
                          anyOf:
                            - $ref: "#/components/schemas/BasicThing"
components:
  schemas:
    Pagination:
      type: object
      properties:
        page: {type: integer}
    BasicThing:
      type: object
      properties:
        id: {type: integer}
        created_at: {type: string, format: date-time}
`
	up, ours := loadString(t, flat), loadString(t, factored)
	Normalize(up)
	Normalize(ours)
	leaves, err := Differences("member", up, ours)
	if err != nil {
		t.Fatal(err)
	}
	want := "[member] GET /things  responses/modified/200/content/modified/application/json/schema/properties/modified/records/items/anyOf/modified/basicthing/properties/modified/created_at/format: none -> date-time"
	if len(leaves) != 1 || leaves[0].String() != want {
		t.Errorf("leaves = %v\nwant %s", leaves, want)
	}
}

// ignoredParts are the JSON names of the parts of diff.Diff left out of
// comparedParts (see its comment for why).
var ignoredParts = []string{"components", "info", "openAPI", "tags", "endpoints", "extensions", "externalDocs"}

// TestComparedPartsCoverDiff checks that every part of an oasdiff result
// is either compared (comparedParts) or deliberately ignored
// (ignoredParts), so that a part a new oasdiff adds is not dropped
// silently.
func TestComparedPartsCoverDiff(t *testing.T) {
	known := map[string]bool{}
	for _, name := range ignoredParts {
		known[name] = true
	}
	ct := reflect.TypeFor[comparedParts]()
	for i := range ct.NumField() {
		known[jsonName(ct.Field(i))] = true
	}
	dt := reflect.TypeFor[diff.Diff]()
	for i := range dt.NumField() {
		name := jsonName(dt.Field(i))
		if name == "-" || !dt.Field(i).IsExported() {
			continue
		}
		if !known[name] {
			t.Errorf("oasdiff's diff.Diff has a part %q (field %s) that FlattenDiff neither compares nor ignores", name, dt.Field(i).Name)
		}
	}
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}
