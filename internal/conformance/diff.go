package conformance

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/diff"
)

// Leaf is one difference between Circle's document and ours, at the finest
// grain oasdiff reports it. Differences inside an operation carry the
// operation ("POST /api/v1/headless/auth_token"); differences of the document
// itself (servers, root security) carry an empty Operation.
type Leaf struct {
	// API is the short name of the API, "auth" or "member".
	API string
	// Operation is "METHOD /path", or "" for a document-level difference.
	Operation string
	// Key is where the difference is, relative to the operation (or to the
	// document), as slash-separated oasdiff field names, e.g.
	// "parameters/modified/path/space_id/schema/type".
	Key string
	// Value says what changed there, e.g. "string -> integer", "added" or
	// "deleted"; for a failing example it is the failure.
	Value string
}

// String renders the leaf as one line: "[api] OPERATION  key: value".
func (l Leaf) String() string {
	op := l.Operation
	if op == "" {
		op = "(document)"
	}
	return fmt.Sprintf("[%s] %s  %s: %s", l.API, op, l.Key, l.Value)
}

// DiffConfig returns the oasdiff configuration of the conformance check: it
// leaves out the parts of a document the project writes in its own words
// (descriptions, summaries, titles, examples, tags, extensions) and the
// endpoint view, which repeats what the paths view already says.
func DiffConfig() *diff.Config {
	return diff.NewConfig(diff.WithExcludeElements([]string{
		diff.ExcludeDescriptionOption,
		diff.ExcludeSummaryOption,
		diff.ExcludeExamplesOption,
		diff.ExcludeTitleOption,
		diff.ExcludeTagsOption,
		diff.ExcludeExtensionsOption,
		diff.ExcludeEndpointsOption,
	}))
}

// Differences compares Circle's document (base) with ours (revision) and
// returns every difference as a sorted list of leaves. Operation ids, tags,
// summaries, descriptions, examples and the components section itself are
// ignored: components matter only through what the operations resolve to.
func Differences(api string, upstream, ours *openapi3.T) ([]Leaf, error) {
	d, err := diff.Get(DiffConfig(), upstream, ours)
	if err != nil {
		return nil, fmt.Errorf("oasdiff: %w", err)
	}
	return FlattenDiff(api, d)
}

// FlattenDiff turns an oasdiff result into sorted leaves, leaving out the
// components section, info, tags and operationIds.
func FlattenDiff(api string, d *diff.Diff) ([]Leaf, error) {
	if d.Empty() {
		return nil, nil
	}
	raw, err := json.Marshal(comparedParts{
		Paths:             d.PathsDiff,
		Webhooks:          d.WebhooksDiff,
		Security:          d.SecurityDiff,
		Servers:           d.ServersDiff,
		JSONSchemaDialect: d.JSONSchemaDialectDiff,
	})
	if err != nil {
		return nil, fmt.Errorf("encode oasdiff result: %w", err)
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("decode oasdiff result: %w", err)
	}
	var leaves []Leaf
	for _, top := range sortedKeys(tree) {
		switch top {
		case "paths":
			leaves = append(leaves, pathLeaves(api, tree[top])...)
		default:
			for _, kv := range flatten(top, tree[top]) {
				leaves = append(leaves, Leaf{API: api, Key: kv[0], Value: kv[1]})
			}
		}
	}
	sortLeaves(leaves)
	return leaves, nil
}

// comparedParts are the parts of an oasdiff result (diff.Diff) the check
// compares, under diff.Diff's JSON names. The others are left out:
// components, info, openAPI, tags, extensions and externalDocs are written
// by the project in its own layout and words, and endpoints is another
// view of paths (which encoding/json cannot encode: its map has struct
// keys). TestComparedPartsCoverDiff fails when oasdiff adds a part.
type comparedParts struct {
	Paths             *diff.PathsDiff                `json:"paths,omitempty"`
	Webhooks          *diff.WebhooksDiff             `json:"webhooks,omitempty"`
	Security          *diff.SecurityRequirementsDiff `json:"security,omitempty"`
	Servers           *diff.ServersDiff              `json:"servers,omitempty"`
	JSONSchemaDialect *diff.ValueDiff                `json:"jsonSchemaDialect,omitempty"`
}

// pathLeaves turns the "paths" part of an oasdiff result into leaves that
// name their operation.
func pathLeaves(api string, v any) []Leaf {
	var out []Leaf
	paths, _ := v.(map[string]any)
	for _, kind := range sortedKeys(paths) {
		switch kind {
		case "added", "deleted":
			for _, p := range asList(paths[kind]) {
				out = append(out, Leaf{API: api, Operation: "* " + p, Key: "path", Value: kind})
			}
		case "modified":
			modified, _ := paths[kind].(map[string]any)
			for _, p := range sortedKeys(modified) {
				out = append(out, pathItemLeaves(api, p, modified[p])...)
			}
		}
	}
	return out
}

func pathItemLeaves(api, path string, v any) []Leaf {
	var out []Leaf
	item, _ := v.(map[string]any)
	for _, field := range sortedKeys(item) {
		if field != "operations" {
			for _, kv := range flatten(field, item[field]) {
				out = append(out, Leaf{API: api, Operation: "* " + path, Key: kv[0], Value: kv[1]})
			}
			continue
		}
		ops, _ := item[field].(map[string]any)
		for _, kind := range sortedKeys(ops) {
			switch kind {
			case "added", "deleted":
				for _, m := range asList(ops[kind]) {
					out = append(out, Leaf{API: api, Operation: m + " " + path, Key: "operation", Value: kind})
				}
			case "modified":
				methods, _ := ops[kind].(map[string]any)
				for _, m := range sortedKeys(methods) {
					op, _ := methods[m].(map[string]any)
					for _, f := range sortedKeys(op) {
						if f == "operationID" {
							continue // ours are the project's own names
						}
						for _, kv := range flatten(f, op[f]) {
							out = append(out, Leaf{API: api, Operation: m + " " + path, Key: kv[0], Value: kv[1]})
						}
					}
				}
			}
		}
	}
	return out
}

// flatten walks a decoded oasdiff subtree and returns [key, value] pairs, one
// per leaf. A {"from", "to"} object is a value change; a list under "added"
// or "deleted" yields one leaf per element; a true boolean (schemaAdded, ...)
// is a leaf of its own.
func flatten(prefix string, v any) [][2]string {
	var out [][2]string
	switch t := v.(type) {
	case map[string]any:
		if from, to, ok := valueDiff(t); ok {
			return [][2]string{{prefix, render(from) + " -> " + render(to)}}
		}
		if strings.HasSuffix(prefix, "/type") {
			if from, to, ok := typesDiff(t); ok {
				return [][2]string{{prefix, from + " -> " + to}}
			}
		}
		for _, k := range sortedKeys(t) {
			out = append(out, flatten(prefix+"/"+k, t[k])...)
		}
	case []any:
		last := prefix[strings.LastIndex(prefix, "/")+1:]
		for _, e := range t {
			if last == "added" || last == "deleted" {
				// One leaf per element: "<where>/<element>: added".
				base := strings.TrimSuffix(prefix, "/"+last)
				out = append(out, [2]string{base + "/" + label(e), last})
				continue
			}
			if m, ok := e.(map[string]any); ok && m["diff"] != nil {
				// A modified anyOf/oneOf/allOf branch.
				out = append(out, flatten(prefix+"/"+label(m["base"]), m["diff"])...)
				continue
			}
			out = append(out, [2]string{prefix, render(e)})
		}
	case bool:
		if t {
			last := prefix[strings.LastIndex(prefix, "/")+1:]
			out = append(out, [2]string{strings.TrimSuffix(prefix, "/"+last), last})
		}
	default:
		out = append(out, [2]string{prefix, render(t)})
	}
	return out
}

// label names an element of an added, deleted or modified list: a string
// as itself; a subschema by its component name, else its title, else its
// 1-based position ("#2"); a security requirement by its schemes.
func label(e any) string {
	m, ok := e.(map[string]any)
	if !ok {
		return render(e)
	}
	if c, _ := m["component"].(string); c != "" {
		return c
	}
	if t, _ := m["title"].(string); t != "" {
		return t
	}
	if schemes, ok := m["schemes"].(map[string]any); ok {
		return strings.Join(sortedKeys(schemes), "+")
	}
	if i, ok := m["index"].(float64); ok {
		return "#" + strconv.Itoa(int(i)+1)
	}
	return render(e)
}

// typesDiff reads a schema's type change ({"added": [...], "deleted":
// [...]}) as one value change, "string -> integer".
func typesDiff(m map[string]any) (from, to string, ok bool) {
	for k := range m {
		if k != "added" && k != "deleted" {
			return "", "", false
		}
	}
	join := func(v any) string {
		l := asList(v)
		if len(l) == 0 {
			return "none"
		}
		return strings.Join(l, ",")
	}
	return join(m["deleted"]), join(m["added"]), true
}

func valueDiff(m map[string]any) (from, to any, ok bool) {
	if len(m) != 2 {
		return nil, nil, false
	}
	from, okFrom := m["from"]
	to, okTo := m["to"]
	return from, to, okFrom && okTo
}

// render prints a JSON value compactly; nil and "" print as "none".
func render(v any) string {
	switch t := v.(type) {
	case nil:
		return "none"
	case string:
		if t == "" {
			return "none" // oasdiff reports an absent string field as ""
		}
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Sprint(t)
		}
		return string(b)
	}
}

func asList(v any) []string {
	var out []string
	for _, e := range asAnyList(v) {
		out = append(out, render(e))
	}
	sort.Strings(out)
	return out
}

func asAnyList(v any) []any {
	l, _ := v.([]any)
	return l
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortLeaves(leaves []Leaf) {
	sort.SliceStable(leaves, func(i, j int) bool {
		a, b := leaves[i], leaves[j]
		if a.API != b.API {
			return a.API < b.API
		}
		if a.Operation != b.Operation {
			return a.Operation < b.Operation
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Value < b.Value
	})
}
