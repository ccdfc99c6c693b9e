package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kinds is the vocabulary of errata kinds: every entry of openapi/errata.yaml
// names one, so that the report can count differences by the reason they
// exist. The value is a one-line definition.
var Kinds = map[string]string{
	"param-type":         "a parameter typed differently: one integer type per ID, no oneOf [integer, string]",
	"missing-2xx-schema": "Circle documents a body-bearing 2xx response without a schema; ours has one",
	"error-schema":       "Circle documents an error response without a schema; ours gives it the error body",
	"union-merge":        "an anyOf/oneOf of object variants replaced by one object holding all their properties",
	"date-time":          "format: date-time on a string that carries a timestamp",
	"nullable":           "nullable: true where Circle sends null",
	"int64":              "format: int64 on an integer ID or count, so Go uses int64",
	"identity-body":      "the Auth API identity body: exactly one of email, community_member_id, sso_user_id",
	"server":             "the server URL or its variables",
	"security-scheme":    "the security scheme's name, or security stated once for the whole document",
	"no-content":         "a 204 response declared without a body",
	"codegen-hint":       "a change with no effect on validation that makes the generated Go better",
	"discriminator":      "a discriminator on the type property of a union, with the values Circle's examples show",
	"schema-fix":         "another correction of a schema to what Circle sends; why says how we know",
	"example-fix":        "a Circle example that does not fit our spec, and why our spec is right",
}

// Errata is the parsed openapi/errata.yaml: every deliberate difference
// between the project's specs and Circle's documents.
type Errata struct {
	// Entries lists the differences, each with its reason.
	Entries []Entry `yaml:"errata"`
}

// Entry is one deliberate difference between our spec and Circle's
// document, with the patterns that recognise it in the conformance
// check's list of differences.
type Entry struct {
	// API is "auth" or "member".
	API string `yaml:"api"`
	// Operation is "METHOD /path" for one operation, "*" for every
	// operation, or empty for the document itself (servers, root security).
	Operation string `yaml:"operation,omitempty"`
	// Location says in words where in the operation the difference is.
	Location string `yaml:"location"`
	// Upstream is Circle's value.
	Upstream string `yaml:"upstream"`
	// Ours is the value in our spec.
	Ours string `yaml:"ours"`
	// Kind is one of Kinds.
	Kind string `yaml:"kind"`
	// Why is the reason the difference is deliberate.
	Why string `yaml:"why"`
	// Match lists the patterns of the leaves this entry accounts for (see
	// Pattern). In YAML it is one string or a list of strings.
	Match Patterns `yaml:"match"`
}

// Patterns is a list of match patterns that also decodes from a single
// YAML string.
type Patterns []string

// UnmarshalYAML accepts a string or a sequence of strings.
func (p *Patterns) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*p = Patterns{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*p = list
	return nil
}

// LoadErrata reads and checks an errata file.
func LoadErrata(path string) (*Errata, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	e, err := ParseErrata(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return e, nil
}

// ParseErrata decodes errata YAML, rejecting unknown fields, and checks
// every entry (see Entry.Validate).
func ParseErrata(data []byte) (*Errata, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var e Errata
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	var errs []error
	for i, entry := range e.Entries {
		if err := entry.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("errata entry %d (%s %s): %w", i+1, entry.API, entry.Operation, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &e, nil
}

var operationRE = regexp.MustCompile(`^(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE) /\S*$`)

// Validate checks that the entry is complete: a known API and kind, an
// operation of the form "METHOD /path" (or "*", or empty), the fields that
// explain it, and well-formed patterns.
func (e Entry) Validate() error {
	var errs []error
	if e.API != "auth" && e.API != "member" {
		errs = append(errs, fmt.Errorf("api %q: want auth or member", e.API))
	}
	if e.Operation != "" && e.Operation != "*" && !operationRE.MatchString(e.Operation) {
		errs = append(errs, fmt.Errorf(`operation %q: want "METHOD /path", "*" or nothing`, e.Operation))
	}
	if _, ok := Kinds[e.Kind]; !ok {
		errs = append(errs, fmt.Errorf("kind %q is not in the vocabulary", e.Kind))
	}
	for name, v := range map[string]string{"location": e.Location, "upstream": e.Upstream, "ours": e.Ours, "why": e.Why} {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fmt.Errorf("%s is empty", name))
		}
	}
	if len(e.Match) == 0 {
		errs = append(errs, errors.New("match is empty"))
	}
	for _, m := range e.Match {
		if _, err := CompilePattern(m); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// MatchesOperation reports whether the entry's operation covers a leaf's.
func (e Entry) MatchesOperation(op string) bool {
	switch e.Operation {
	case "":
		return op == ""
	case "*":
		return op != ""
	default:
		return e.Operation == op
	}
}

// Pattern matches leaves. Its text is "KEY" or "KEY: VALUE". KEY is matched
// against Leaf.Key: "*" matches any run of characters but "/" (one segment),
// "**" any run including "/" (any number of segments; "a/**/b" also matches
// "a/b"). VALUE, when given, is matched against Leaf.Value, where "*"
// matches any run of characters.
type Pattern struct {
	text  string
	key   *regexp.Regexp
	value *regexp.Regexp
}

// CompilePattern parses a match pattern.
func CompilePattern(text string) (*Pattern, error) {
	keyText, valueText, hasValue := strings.Cut(text, ": ")
	keyText = strings.TrimSpace(keyText)
	if keyText == "" {
		return nil, fmt.Errorf("match %q: empty key", text)
	}
	p := &Pattern{text: text}
	var err error
	if p.key, err = regexp.Compile("^" + keyGlob(keyText) + "$"); err != nil {
		return nil, fmt.Errorf("match %q: %w", text, err)
	}
	if hasValue {
		v := strings.TrimSpace(valueText)
		parts := strings.Split(v, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		if p.value, err = regexp.Compile("^" + strings.Join(parts, ".*") + "$"); err != nil {
			return nil, fmt.Errorf("match %q: %w", text, err)
		}
	}
	return p, nil
}

// keyGlob translates a key glob into a regular expression.
func keyGlob(glob string) string {
	var b strings.Builder
	for i := 0; i < len(glob); {
		switch {
		case strings.HasPrefix(glob[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 3
		case strings.HasPrefix(glob[i:], "/**") && i+3 == len(glob):
			b.WriteString("(?:/.*)?")
			i += 3
		case strings.HasPrefix(glob[i:], "**"):
			b.WriteString(".*")
			i += 2
		case glob[i] == '*':
			b.WriteString("[^/]*")
			i++
		default:
			j := i
			for j < len(glob) && glob[j] != '*' && !strings.HasPrefix(glob[j:], "/**") {
				j++
			}
			if j == i { // "/**" not at the end: keep the slash, let "**" follow
				j = i + 1
			}
			b.WriteString(regexp.QuoteMeta(glob[i:j]))
			i = j
		}
	}
	return b.String()
}

// String returns the pattern's text.
func (p *Pattern) String() string { return p.text }

// Match reports whether the pattern matches the leaf's key (and value, when
// the pattern has one).
func (p *Pattern) Match(l Leaf) bool {
	if !p.key.MatchString(l.Key) {
		return false
	}
	return p.value == nil || p.value.MatchString(l.Value)
}
