package circletest

import (
	"encoding/base64"
	"fmt"
	"maps"
	"math"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
)

// maxDepth is how deep synthesis goes before it fills only what a schema
// requires; recursive schemas stop at their second visit in any case.
const maxDepth = 8

// synth makes a value that a schema accepts, deterministically: every
// property present, one item per array, strings shaped by their format or
// pattern, numbers at the low end of their range, booleans false, and
// timestamps at the server's clock.
type synth struct {
	now  time.Time
	path []*openapi3.Schema // the schemas being synthesised, outermost first
	// requiredOnly makes objects hold only their required properties and
	// arrays only their minimum of items; oneOf uses it to tell branches
	// apart.
	requiredOnly bool
	// forRequest makes a request body: readOnly properties are left out
	// instead of writeOnly ones.
	forRequest bool
}

// value synthesises a value for ref; name is a hint used for strings.
func (g *synth) value(ref *openapi3.SchemaRef, name string) any {
	return g.gen(ref, name, 0)
}

// gen synthesises a value for ref. variant makes sibling array items
// differ, for uniqueItems.
func (g *synth) gen(ref *openapi3.SchemaRef, name string, variant int) any {
	if ref == nil || ref.Value == nil {
		return "value"
	}
	s := ref.Value
	if len(g.path) > 2*maxDepth {
		return nil // a schema that can only be satisfied by an infinite value
	}
	minimal := g.requiredOnly || len(g.path) >= maxDepth || slices.Contains(g.path, s)
	if minimal && allowsNull(s) && len(g.path) > 0 {
		return nil
	}
	g.path = append(g.path, s)
	defer func() { g.path = g.path[:len(g.path)-1] }()

	switch {
	case s.Always != nil:
		if *s.Always {
			return "value"
		}
		return nil
	case s.Const != nil:
		return s.Const
	case len(s.Enum) > 0:
		for _, e := range s.Enum {
			if e != nil {
				return e
			}
		}
		return nil
	case len(s.AllOf) > 0:
		return g.allOf(s, name, variant)
	case len(s.OneOf) > 0:
		return g.oneOf(s, name, variant)
	case len(s.AnyOf) > 0:
		base := *s
		base.AnyOf = nil
		v := g.merge(g.gen(&openapi3.SchemaRef{Value: &base}, name, variant), g.gen(s.AnyOf[0], name, variant))
		return stamp(s, s.AnyOf[0], v)
	}

	switch schemaType(s) {
	case openapi3.TypeObject:
		return g.object(s, minimal, variant)
	case openapi3.TypeArray:
		return g.array(s, name, minimal, variant)
	case openapi3.TypeString:
		return g.str(s, name, variant)
	case openapi3.TypeInteger:
		return g.number(s, variant, true)
	case openapi3.TypeNumber:
		return g.number(s, variant, false)
	case openapi3.TypeBoolean:
		return false
	case openapi3.TypeNull:
		return nil
	}
	return "value"
}

// allOf merges a value for each part of s with one for s's own keywords.
func (g *synth) allOf(s *openapi3.Schema, name string, variant int) any {
	base := *s
	base.AllOf = nil
	var v any
	if !isBare(&base) {
		v = g.gen(&openapi3.SchemaRef{Value: &base}, name, variant)
	}
	for _, part := range s.AllOf {
		v = g.merge(v, g.gen(part, name, variant))
	}
	return v
}

// oneOf picks the first branch of s for which a value matches exactly that
// branch, trying each with all properties and then with only the required
// ones.
func (g *synth) oneOf(s *openapi3.Schema, name string, variant int) any {
	base := *s
	base.OneOf = nil
	var first any
	for _, requiredOnly := range []bool{g.requiredOnly, true} {
		saved := g.requiredOnly
		g.requiredOnly = requiredOnly
		for i, branch := range s.OneOf {
			var v any
			if !isBare(&base) {
				v = g.gen(&openapi3.SchemaRef{Value: &base}, name, variant)
			}
			v = stamp(s, branch, g.merge(v, g.gen(branch, name, variant)))
			if i == 0 && first == nil {
				first = v
			}
			if s.VisitJSON(jsonValue(v), g.visitOpts()...) == nil {
				g.requiredOnly = saved
				return v
			}
		}
		g.requiredOnly = saved
	}
	return first
}

// stamp sets the discriminator property of v, a value synthesised for
// branch of the union s, to the value s's discriminator maps to that
// branch, so that the value says which kind it is. Without a discriminator,
// or a mapping for branch, v is returned as it is.
func stamp(s *openapi3.Schema, branch *openapi3.SchemaRef, v any) any {
	m, ok := v.(map[string]any)
	if s.Discriminator == nil || !ok || branch == nil || branch.Ref == "" {
		return v
	}
	for _, key := range slices.Sorted(maps.Keys(s.Discriminator.Mapping)) {
		if s.Discriminator.Mapping[key].Ref == branch.Ref {
			m[s.Discriminator.PropertyName] = key
			break
		}
	}
	return v
}

// visitOpts are the options to validate a synthesised value with.
func (g *synth) visitOpts() []openapi3.SchemaValidationOption {
	if g.forRequest {
		return []openapi3.SchemaValidationOption{openapi3.VisitAsRequest()}
	}
	return []openapi3.SchemaValidationOption{openapi3.VisitAsResponse()}
}

// merge combines two synthesised values: objects field by field, b's
// fields winning; otherwise b, unless b is nil.
func (g *synth) merge(a, b any) any {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		out := make(map[string]any, len(am)+len(bm))
		for k, v := range am {
			out[k] = v
		}
		for k, v := range bm {
			out[k] = v
		}
		return out
	}
	if b == nil {
		return a
	}
	return b
}

func (g *synth) object(s *openapi3.Schema, minimal bool, variant int) any {
	m := map[string]any{}
	skipped := map[string]bool{}
	names := make([]string, 0, len(s.Properties))
	for name := range s.Properties {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := s.Properties[name]
		if p != nil && p.Value != nil && (p.Value.WriteOnly && !g.forRequest || p.Value.ReadOnly && g.forRequest) {
			skipped[name] = true // required applies only in the other direction
			continue
		}
		if minimal && !slices.Contains(s.Required, name) {
			continue
		}
		m[name] = g.gen(p, name, variant)
	}
	for _, name := range s.Required {
		if _, ok := m[name]; !ok && !skipped[name] {
			m[name] = "value" // required but not described
		}
	}
	if s.MaxProps != nil {
		for _, name := range names {
			if uint64(len(m)) <= *s.MaxProps {
				break
			}
			if !slices.Contains(s.Required, name) {
				delete(m, name)
			}
		}
	}
	if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
		for i := 1; uint64(len(m)) < s.MinProps; i++ {
			key := fmt.Sprintf("key%d", i)
			if _, taken := m[key]; !taken {
				m[key] = g.gen(s.AdditionalProperties.Schema, key, variant)
			}
		}
	}
	return m
}

func (g *synth) array(s *openapi3.Schema, name string, minimal bool, variant int) any {
	n := uint64(1)
	if minimal {
		n = 0
	}
	n = max(n, s.MinItems)
	if s.MaxItems != nil {
		n = min(n, *s.MaxItems)
	}
	items := make([]any, 0, n)
	for i := range n {
		items = append(items, g.gen(s.Items, singular(name), variant+int(i)))
	}
	return items
}

func (g *synth) str(s *openapi3.Schema, name string, variant int) any {
	var v string
	switch s.Format {
	case "date-time":
		v = g.now.Add(time.Duration(variant) * time.Second).Format(time.RFC3339)
	case "date":
		v = g.now.AddDate(0, 0, variant).Format(time.DateOnly)
	case "time":
		v = g.now.Format("15:04:05Z07:00")
	case "email":
		v = fmt.Sprintf("member%d@example.com", variant+1)
	case "uri", "url", "uri-reference", "iri", "iri-reference":
		v = fmt.Sprintf("https://example.com/%s/%d", urlWord(name), variant+1)
	case "hostname":
		v = "example.com"
	case "ipv4":
		v = fmt.Sprintf("192.0.2.%d", variant%254+1)
	case "ipv6":
		v = fmt.Sprintf("2001:db8::%x", variant+1)
	case "uuid":
		v = fmt.Sprintf("6f9619ff-8b86-4011-b42d-%012x", variant+1)
	case "byte":
		v = base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "circletest %d", variant))
	default:
		if s.Pattern != "" {
			if p, ok := fromPattern(s.Pattern, variant); ok {
				v = p
				break
			}
		}
		v = name
		if v == "" {
			v = "text"
		}
		if variant > 0 {
			v = fmt.Sprintf("%s %d", v, variant+1)
		}
	}
	for n := utf8.RuneCountInString(v); uint64(n) < s.MinLength; n++ {
		v += "x"
	}
	if s.MaxLength != nil && uint64(utf8.RuneCountInString(v)) > *s.MaxLength {
		v = string([]rune(v)[:*s.MaxLength])
	}
	return v
}

// number returns the lowest value near 1 that the schema's bounds and
// multipleOf allow, plus variant.
func (g *synth) number(s *openapi3.Schema, variant int, integer bool) any {
	v := 1.0
	if s.Min != nil {
		v = math.Max(v, *s.Min)
		if s.ExclusiveMin.IsTrue() && v == *s.Min {
			v++
		}
	}
	if s.ExclusiveMin.Value != nil && v <= *s.ExclusiveMin.Value {
		v = *s.ExclusiveMin.Value + 1
	}
	v += float64(variant)
	if s.MultipleOf != nil && *s.MultipleOf > 0 {
		v = math.Ceil(v / *s.MultipleOf) * *s.MultipleOf
	}
	hi := math.Inf(1)
	if s.Max != nil {
		hi = *s.Max
		if s.ExclusiveMax.IsTrue() {
			hi--
		}
	}
	if s.ExclusiveMax.Value != nil {
		hi = math.Min(hi, *s.ExclusiveMax.Value-1)
	}
	if v > hi {
		v = hi
		if s.MultipleOf != nil && *s.MultipleOf > 0 {
			v = math.Floor(v / *s.MultipleOf) * *s.MultipleOf
		}
	}
	if integer {
		v = math.Ceil(v)
	}
	return v
}

// schemaType returns the type of s: its first non-null type, or the one
// its keywords imply, or "" when nothing does.
func schemaType(s *openapi3.Schema) string {
	if s.Type != nil {
		for _, t := range s.Type.Slice() {
			if t != openapi3.TypeNull {
				return t
			}
		}
		if s.Type.Includes(openapi3.TypeNull) {
			return openapi3.TypeNull
		}
	}
	switch {
	case len(s.Properties) > 0 || s.AdditionalProperties.Schema != nil || len(s.Required) > 0 || s.MinProps > 0:
		return openapi3.TypeObject
	case s.Items != nil:
		return openapi3.TypeArray
	case s.Format != "" || s.Pattern != "" || s.MinLength > 0 || s.MaxLength != nil:
		return openapi3.TypeString
	case s.Min != nil || s.Max != nil || s.MultipleOf != nil:
		return openapi3.TypeNumber
	}
	return ""
}

// allowsNull reports whether null is a valid value of s.
func allowsNull(s *openapi3.Schema) bool {
	return s.Nullable || (s.Type != nil && s.Type.Includes(openapi3.TypeNull))
}

// isBare reports whether s carries no keyword that shapes a value, so a
// composition need not synthesise it on its own.
func isBare(s *openapi3.Schema) bool {
	return schemaType(s) == "" && len(s.Enum) == 0 && s.Const == nil && len(s.AnyOf) == 0 && len(s.OneOf) == 0 && len(s.AllOf) == 0
}

// singular is a hint for the items of an array property.
func singular(name string) string {
	if base, ok := strings.CutSuffix(name, "ies"); ok && base != "" {
		return base + "y"
	}
	if base, ok := strings.CutSuffix(name, "s"); ok && base != "" {
		return base
	}
	return name
}

// urlWord makes name safe for a URL path.
func urlWord(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else if r == '_' || r == ' ' {
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "item"
	}
	return b.String()
}

// fromPattern makes a string that the regular expression pattern matches,
// and checks it does. It handles what RE2 parses; it fails for a pattern
// Go cannot compile.
func fromPattern(pattern string, variant int) (string, bool) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	writeRegexp(&b, re.Simplify(), variant)
	out := b.String()
	ok, err := regexp.MatchString(pattern, out)
	return out, err == nil && ok
}

// writeRegexp writes a shortest string that re matches, preferring letters
// and digits in character classes.
func writeRegexp(b *strings.Builder, re *syntax.Regexp, variant int) {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteRune(r)
		}
	case syntax.OpCharClass:
		b.WriteRune(classRune(re.Rune, variant))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('a')
	case syntax.OpCapture:
		writeRegexp(b, re.Sub[0], variant)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			writeRegexp(b, sub, variant)
		}
	case syntax.OpAlternate:
		writeRegexp(b, re.Sub[0], variant)
	case syntax.OpPlus:
		writeRegexp(b, re.Sub[0], variant)
	case syntax.OpRepeat:
		for range re.Min {
			writeRegexp(b, re.Sub[0], variant)
		}
	}
	// OpStar, OpQuest, OpEmptyMatch and the anchors add nothing.
}

// classRune picks a rune of a character class given as ranges: a letter or
// digit when the class has one, else its first rune.
func classRune(ranges []rune, variant int) rune {
	for _, want := range [][2]rune{{'a', 'z'}, {'A', 'Z'}, {'0', '9'}} {
		for i := 0; i+1 < len(ranges); i += 2 {
			lo, hi := max(ranges[i], want[0]), min(ranges[i+1], want[1])
			if lo <= hi {
				return lo + rune(variant)%(hi-lo+1)
			}
		}
	}
	if len(ranges) > 0 {
		return ranges[0]
	}
	return 'a'
}
