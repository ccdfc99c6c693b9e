package openapi

import (
	_ "embed" // the specs are embedded
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

var (
	//go:embed auth/v1/openapi.yaml
	authYAML []byte
	//go:embed member/v1/openapi.yaml
	memberYAML []byte
)

var (
	sharedAuth   = sync.OnceValues(LoadAuth)
	sharedMember = sync.OnceValues(LoadMember)
)

// Auth returns the Auth API spec (auth/v1/openapi.yaml). It is parsed on
// the first call and the same document is returned to every caller of the
// process after that, so it must be treated as read-only; [LoadAuth]
// returns a document of the caller's own.
func Auth() (*openapi3.T, error) { return sharedAuth() }

// Member returns the Member API spec (member/v1/openapi.yaml), parsed once
// and shared like [Auth]'s; [LoadMember] returns a document of the caller's
// own.
func Member() (*openapi3.T, error) { return sharedMember() }

// LoadAuth parses the embedded Auth API spec into a new document, which the
// caller may modify.
func LoadAuth() (*openapi3.T, error) { return load("auth/v1/openapi.yaml", authYAML) }

// LoadMember parses the embedded Member API spec into a new document, which
// the caller may modify.
func LoadMember() (*openapi3.T, error) { return load("member/v1/openapi.yaml", memberYAML) }

// load parses one embedded spec. The specs are self-contained: references
// to other files or URLs are refused.
func load(name string, data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("openapi: loading the embedded %s: %w", name, err)
	}
	return doc, nil
}
