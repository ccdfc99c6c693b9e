package contract

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// synth makes, from a schema, a JSON value (as encoding/json decodes into
// any) that the schema accepts: every property present, one item per array,
// enums at their first value, numbers at their minimum or 1, strings shaped
// by their format. It is deliberately independent of circletest's
// synthesiser, so that the two check each other.
type synth struct {
	// forRequest leaves readOnly properties out (writeOnly ones otherwise).
	forRequest bool
	now        time.Time
	// stack holds the schemas being synthesised, to stop recursion.
	stack []*openapi3.Schema
}

const synthMaxDepth = 10

func (g *synth) opts() []openapi3.SchemaValidationOption {
	if g.forRequest {
		return []openapi3.SchemaValidationOption{openapi3.VisitAsRequest()}
	}
	return []openapi3.SchemaValidationOption{openapi3.VisitAsResponse()}
}

// value returns a value for ref, normalised to what encoding/json decodes.
// A minimal value holds only what the schema requires.
func (g *synth) value(ref *openapi3.SchemaRef, minimal bool) any {
	return normalise(g.gen(ref, minimal))
}

// gen synthesises a value; minimal fills only what is required.
func (g *synth) gen(ref *openapi3.SchemaRef, minimal bool) any {
	if ref == nil || ref.Value == nil {
		return "value"
	}
	s := ref.Value
	if slices.Contains(g.stack, s) || len(g.stack) >= synthMaxDepth {
		if s.Nullable {
			return nil
		}
		minimal = true
		if len(g.stack) >= 2*synthMaxDepth {
			return nil
		}
	}
	g.stack = append(g.stack, s)
	defer func() { g.stack = g.stack[:len(g.stack)-1] }()

	switch {
	case len(s.Enum) > 0:
		for _, e := range s.Enum {
			if e != nil {
				return e
			}
		}
		return nil
	case len(s.AllOf) > 0:
		base := *s
		base.AllOf = nil
		var v any
		if !bare(&base) {
			v = g.gen(&openapi3.SchemaRef{Value: &base}, minimal)
		}
		for _, part := range s.AllOf {
			v = merge(v, g.gen(part, minimal))
		}
		return v
	case len(s.OneOf) > 0, len(s.AnyOf) > 0:
		base := *s
		branches := s.OneOf
		if len(branches) == 0 {
			branches = s.AnyOf
		}
		base.OneOf, base.AnyOf = nil, nil
		var first any
		for _, m := range []bool{minimal, true} {
			for i, b := range branches {
				var v any
				if !bare(&base) {
					v = g.gen(&openapi3.SchemaRef{Value: &base}, m)
				}
				v = merge(v, g.gen(b, m))
				if d := s.Discriminator; d != nil {
					// The discriminator names the branch v was made for.
					for _, key := range slices.Sorted(maps.Keys(d.Mapping)) {
						if obj, ok := v.(map[string]any); ok && b.Ref != "" && d.Mapping[key].Ref == b.Ref {
							obj[d.PropertyName] = key
						}
					}
				}
				if i == 0 && first == nil {
					first = v
				}
				if s.VisitJSON(normalise(v), g.opts()...) == nil {
					return v
				}
			}
		}
		return first
	}

	typ := ""
	if s.Type != nil && len(s.Type.Slice()) > 0 {
		typ = s.Type.Slice()[0]
	} else if len(s.Properties) > 0 {
		typ = openapi3.TypeObject
	}
	switch typ {
	case openapi3.TypeObject:
		return g.object(s, minimal)
	case openapi3.TypeArray:
		n := max(int(s.MinItems), 1)
		if minimal {
			n = int(s.MinItems)
		}
		items := make([]any, 0, n)
		for range n {
			items = append(items, g.gen(s.Items, minimal))
		}
		return items
	case openapi3.TypeString:
		return g.str(s)
	case openapi3.TypeInteger, openapi3.TypeNumber:
		n := 1.0
		if s.Min != nil {
			n = *s.Min
			if s.ExclusiveMin.IsTrue() {
				n++
			}
		}
		if s.Max != nil && n > *s.Max {
			n = *s.Max
		}
		return n
	case openapi3.TypeBoolean:
		return true
	case openapi3.TypeNull:
		return nil
	}
	return "value"
}

func (g *synth) object(s *openapi3.Schema, minimal bool) any {
	m := map[string]any{}
	names := slices.Sorted(maps.Keys(s.Properties))
	// Required properties first, so that maxProperties keeps them.
	slices.SortStableFunc(names, func(a, b string) int {
		ra, rb := slices.Contains(s.Required, a), slices.Contains(s.Required, b)
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return 0
	})
	for _, name := range names {
		p := s.Properties[name]
		if p != nil && p.Value != nil && (g.forRequest && p.Value.ReadOnly || !g.forRequest && p.Value.WriteOnly) {
			continue
		}
		required := slices.Contains(s.Required, name)
		if minimal && !required {
			continue
		}
		if s.MaxProps != nil && uint64(len(m)) >= *s.MaxProps {
			break
		}
		m[name] = g.gen(p, minimal)
	}
	for _, name := range s.Required {
		if _, ok := m[name]; !ok {
			m[name] = "value"
		}
	}
	for _, name := range names { // up to minProperties, in the same order
		if uint64(len(m)) >= s.MinProps {
			break
		}
		if _, ok := m[name]; !ok {
			m[name] = g.gen(s.Properties[name], minimal)
		}
	}
	if ap := s.AdditionalProperties.Schema; ap != nil && len(s.Properties) == 0 && !minimal {
		m["key"] = g.gen(ap, minimal)
	}
	return m
}

func (g *synth) str(s *openapi3.Schema) string {
	var v string
	switch s.Format {
	case "date-time":
		now := g.now
		if now.IsZero() {
			now = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
		}
		v = now.UTC().Format(time.RFC3339)
	case "date":
		v = "2024-01-02"
	case "uuid":
		v = "123e4567-e89b-12d3-a456-426614174000"
	case "email":
		v = "ada@example.com"
	case "uri", "url":
		v = "https://example.com/a"
	case "byte":
		v = "dmFsdWU="
	default:
		v = "value"
	}
	if n := int(s.MinLength); len(v) < n {
		v += strings.Repeat("x", n-len(v))
	}
	if s.MaxLength != nil && uint64(len(v)) > *s.MaxLength {
		v = v[:*s.MaxLength]
	}
	return v
}

// bare reports whether s carries no keyword that constrains a value.
func bare(s *openapi3.Schema) bool {
	return (s.Type == nil || len(s.Type.Slice()) == 0) && len(s.Properties) == 0 &&
		len(s.Required) == 0 && s.Items == nil && len(s.Enum) == 0
}

// merge combines two synthesised values: objects key by key, b winning;
// otherwise b unless it is nil.
func merge(a, b any) any {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		out := maps.Clone(am)
		maps.Copy(out, bm)
		return out
	}
	if b == nil {
		return a
	}
	return b
}

// normalise converts v to the form encoding/json decodes into any.
func normalise(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// override replaces, anywhere in the decoded JSON value v, the value of
// every object key named in with by the one given there, so that a
// synthesised request carries values the server knows (a member's id, a
// live token).
func override(v any, with map[string]any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if w, ok := with[k]; ok {
				v[k] = w
			} else {
				v[k] = override(x, with)
			}
		}
	case []any:
		for i, x := range v {
			v[i] = override(x, with)
		}
	}
	return v
}

// nullify sets to null, in the decoded JSON value v of schema ref, every
// property the schema declares nullable, at any depth.
func nullify(v any, ref *openapi3.SchemaRef) any {
	if ref == nil || ref.Value == nil {
		return v
	}
	switch x := v.(type) {
	case map[string]any:
		props := map[string]*openapi3.SchemaRef{}
		var collect func(*openapi3.SchemaRef)
		collect = func(s *openapi3.SchemaRef) {
			if s == nil || s.Value == nil {
				return
			}
			maps.Copy(props, s.Value.Properties)
			for _, part := range s.Value.AllOf {
				collect(part)
			}
		}
		collect(ref)
		for k, item := range x {
			p := props[k]
			if p != nil && p.Value != nil && p.Value.Nullable {
				x[k] = nil
			} else {
				x[k] = nullify(item, p)
			}
		}
	case []any:
		for i := range x {
			x[i] = nullify(x[i], ref.Value.Items)
		}
	}
	return v
}
