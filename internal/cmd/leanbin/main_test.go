package main

import "testing"

func TestForbidden(t *testing.T) {
	for pkg, want := range map[string]bool{
		"github.com/getkin/kin-openapi/openapi3":   true,
		"go.yaml.in/yaml/v4":                       true,
		"gopkg.in/yaml.v3":                         true,
		"sigs.k8s.io/yaml":                         true,
		"github.com/santhosh-tekuri/jsonschema/v6": true,
		"github.com/invopop/jsonschema":            true,
		"golang.org/x/text/language":               true,
		"golang.org/x/text":                        true,
		"github.com/gorilla/mux":                   true,
		"golang.org/x/textual":                     false,
		"github.com/oapi-codegen/runtime":          false,
		"github.com/google/uuid":                   false,
		"github.com/apapsch/go-jsonmerge/v2":       false,
	} {
		if got := forbidden(pkg) != ""; got != want {
			t.Errorf("forbidden(%q) = %q, want forbidden %v", pkg, forbidden(pkg), want)
		}
	}
}

func TestParseInitTrace(t *testing.T) {
	stderr := []byte(`init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs
init runtime @0.040 ms, 0.050 ms clock, 0 bytes, 0 allocs
some other line
init net/http @1.2 ms, 0.05 ms clock, 5280 bytes, 63 allocs
init github.com/example/big @1.9 ms, 0.7 ms clock, 100000 bytes, 900 allocs
bookmarks: 3
`)
	c, err := parseInitTrace(stderr)
	if err != nil {
		t.Fatal(err)
	}
	if c.packages != 4 || c.bytes != 105280 || c.allocs != 963 {
		t.Errorf("got %d packages, %d bytes, %d allocs; want 4, 105280, 963", c.packages, c.bytes, c.allocs)
	}
	if len(c.top) == 0 || c.top[0].pkg != "github.com/example/big" {
		t.Errorf("largest first: got %v", c.top)
	}
	if _, err := parseInitTrace([]byte("bookmarks: 3\n")); err == nil {
		t.Error("no inittrace line: want an error")
	}
}
