package conformance

import (
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
)

// Normalize prepares a document for the diff, in place, so that the
// project's own component layout does not show as differences: it renames
// every schema reference to a canonical form of its component name (see
// CanonicalRef), then flattens allOf (see FlattenAllOf). It mutates shared
// component schemas: call it on a document loaded for the diff alone.
func Normalize(doc *openapi3.T) {
	forEachSchemaRef(doc, func(ref *openapi3.SchemaRef) {
		if ref.Ref != "" {
			ref.Ref = CanonicalRef(ref.Ref)
		}
	})
	FlattenAllOf(doc)
}

// CanonicalRef reduces a schema reference to its component name, lower-cased
// and without separators: "#/components/schemas/AdvancedSearchedComment" and
// "#/components/schemas/advanced_searched_comment" both become
// "#/components/schemas/advancedsearchedcomment". oasdiff pairs the branches
// of anyOf and oneOf by component name, so names that differ only in case
// and separators must compare equal for the branches' contents to be diffed.
func CanonicalRef(ref string) string {
	name := ref[strings.LastIndex(ref, "/")+1:]
	var b strings.Builder
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return "#/components/schemas/" + b.String()
}

// forEachSchemaRef calls fn once for every schema reference reachable from
// the document's components and operations.
func forEachSchemaRef(doc *openapi3.T, fn func(*openapi3.SchemaRef)) {
	seenRef := map[*openapi3.SchemaRef]bool{}
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || seenRef[ref] {
			return
		}
		seenRef[ref] = true
		fn(ref)
		s := ref.Value
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		for _, name := range sortedKeys(s.Properties) {
			walk(s.Properties[name])
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		walk(s.Not)
		for _, list := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, sub := range list {
				walk(sub)
			}
		}
	}
	forEachRootSchema(doc, walk)
}

// FlattenAllOf rewrites, in place, every schema of doc whose allOf branches
// are all plain objects (properties and required only, no property named in
// two places) into one object schema holding the union of their properties
// and required lists. Both documents are flattened before they are diffed, so
// that factoring shared properties into a component (ours: allOf [Pagination,
// {records}]; Circle's: allOf [basic_post]) is not reported as a difference,
// while every property and its schema still is.
//
// It mutates shared component schemas: call it on a document loaded for the
// diff alone.
func FlattenAllOf(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	forEachRootSchema(doc, func(ref *openapi3.SchemaRef) { flattenSchemaRef(ref, seen) })
}

// forEachRootSchema calls visit with each schema of the document's
// components, parameters, request bodies, responses and response headers.
func forEachRootSchema(doc *openapi3.T, visit func(*openapi3.SchemaRef)) {
	if doc.Components != nil {
		for _, name := range sortedKeys(doc.Components.Schemas) {
			visit(doc.Components.Schemas[name])
		}
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for _, p := range item.Parameters {
			if p != nil && p.Value != nil {
				visit(p.Value.Schema)
			}
		}
		for _, op := range item.Operations() {
			for _, p := range op.Parameters {
				if p != nil && p.Value != nil {
					visit(p.Value.Schema)
				}
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					visit(mt.Schema)
				}
			}
			if op.Responses == nil {
				continue
			}
			for _, r := range op.Responses.Map() {
				if r == nil || r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					visit(mt.Schema)
				}
				for _, h := range r.Value.Headers {
					if h != nil && h.Value != nil {
						visit(h.Value.Schema)
					}
				}
			}
		}
	}
}

func flattenSchemaRef(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	for _, name := range sortedKeys(s.Properties) {
		flattenSchemaRef(s.Properties[name], seen)
	}
	flattenSchemaRef(s.Items, seen)
	flattenSchemaRef(s.AdditionalProperties.Schema, seen)
	flattenSchemaRef(s.Not, seen)
	for _, list := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
		for _, sub := range list {
			flattenSchemaRef(sub, seen)
		}
	}
	if len(s.AllOf) == 0 || (s.Type != nil && !s.Type.Is(openapi3.TypeObject)) {
		return
	}
	props := openapi3.Schemas{}
	for name, p := range s.Properties {
		props[name] = p
	}
	required := slices.Clone(s.Required)
	for _, sub := range s.AllOf {
		if sub == nil || sub.Value == nil || !plainObject(sub.Value) {
			return
		}
		for name, p := range sub.Value.Properties {
			if _, dup := props[name]; dup {
				return
			}
			props[name] = p
		}
		required = append(required, sub.Value.Required...)
	}
	slices.Sort(required)
	s.Properties = props
	s.Required = slices.Compact(required)
	s.AllOf = nil
	s.Type = &openapi3.Types{openapi3.TypeObject}
}

// plainObject reports whether a schema says nothing but "an object with
// these properties, these required" (prose and examples aside).
func plainObject(s *openapi3.Schema) bool {
	if s.Type != nil && !s.Type.Is(openapi3.TypeObject) {
		return false
	}
	c := *s
	c.Extensions, c.Origin = nil, nil
	c.Type, c.Properties, c.Required = nil, nil, nil
	c.Title, c.Description, c.Example, c.ExternalDocs = "", "", nil, nil
	return reflect.DeepEqual(c, openapi3.Schema{})
}
