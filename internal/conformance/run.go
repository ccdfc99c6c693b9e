package conformance

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Config says what Run compares.
type Config struct {
	// Root is the repository root; our specs and the lock are read under it.
	Root string
	// UpstreamDir holds Circle's documents.
	UpstreamDir string
	// UpstreamFromEnv records that UpstreamDir came from CIRCLE_UPSTREAM_DIR
	// (for the report only).
	UpstreamFromEnv bool
	// APIs are the APIs to check; nil means APIs().
	APIs []API
	// Errata are the accepted differences; nil means openapi/errata.yaml
	// under Root.
	Errata *Errata
}

// Report is the outcome of a conformance run.
type Report struct {
	// UpstreamDir is the folder Circle's documents were read from.
	UpstreamDir string
	// UpstreamFromEnv is true when UpstreamDir came from CIRCLE_UPSTREAM_DIR.
	UpstreamFromEnv bool
	// ErrataEntries counts the entries of the errata file.
	ErrataEntries int
	// APIs holds one report per API checked.
	APIs []*APIReport
	// Unchecked counts errata entries of APIs that were not checked.
	Unchecked map[string]int
}

// APIReport is the outcome for one API.
type APIReport struct {
	// API is the API checked.
	API API
	// LockNote says whether Circle's document matches upstream.lock.
	LockNote string
	// UpstreamOperations and OurOperations count operations in each document.
	UpstreamOperations, OurOperations int
	// Differences are the structural differences oasdiff found.
	Differences []Leaf
	// Examples are the results of the example check.
	Examples []ExampleResult
	// MatchedByKind counts the differences and failed examples the errata
	// account for, by kind.
	MatchedByKind map[string]int
	// Matched counts the differences (not examples) the errata account for.
	Matched int
	// Unmatched are differences and failed examples no errata entry accounts for.
	Unmatched []Leaf
	// Stale are errata patterns of this API that matched nothing.
	Stale []StalePattern
}

// StalePattern is an errata pattern that no longer matches any difference.
type StalePattern struct {
	// Index is the entry's 1-based position in the errata file.
	Index int
	// Entry is the errata entry.
	Entry Entry
	// Pattern is the pattern that matched nothing.
	Pattern string
}

// ExampleCounts summarises the example check of one API.
type ExampleCounts struct {
	// Total counts the 2xx examples; WithBody those with a JSON body, Empty
	// those without a value.
	Total, WithBody, Empty int
	// Decoded counts bodies that decoded into the typed field; Validated
	// examples that validated against our spec.
	Decoded, Validated int
	// Excused counts failing examples the errata account for; Failed the others.
	Excused, Failed int
}

// OK reports whether the API conforms: no unmatched difference, no failing
// example outside the errata, no stale errata.
func (r *APIReport) OK() bool { return len(r.Unmatched) == 0 && len(r.Stale) == 0 }

// ExampleCounts counts the example results.
func (r *APIReport) ExampleCounts() ExampleCounts {
	var c ExampleCounts
	unmatched := map[string]bool{}
	for _, l := range r.Unmatched {
		unmatched[l.Operation+" "+l.Key] = true
	}
	for _, e := range r.Examples {
		c.Total++
		if len(e.Body) > 0 {
			c.WithBody++
		} else {
			c.Empty++
		}
		if e.Decoded {
			c.Decoded++
		}
		if e.Validated {
			c.Validated++
		}
		if e.Err != nil {
			if unmatched[e.Operation()+" "+e.Key()] {
				c.Failed++
			} else {
				c.Excused++
			}
		}
	}
	return c
}

// OK reports whether every API conforms.
func (r *Report) OK() bool {
	for _, a := range r.APIs {
		if !a.OK() {
			return false
		}
	}
	return true
}

// Run compares each API's spec with Circle's document, checks Circle's 2xx
// examples against our generated client and spec, and matches everything
// found against the errata.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	apis := cfg.APIs
	if apis == nil {
		apis = APIs()
	}
	errata := cfg.Errata
	if errata == nil {
		var err error
		if errata, err = LoadErrata(filepath.Join(cfg.Root, ErrataFile)); err != nil {
			return nil, err
		}
	}
	var lock *Lock
	if l, err := ReadLock(filepath.Join(cfg.Root, LockFile)); err == nil {
		lock = l
	}
	rep := &Report{
		UpstreamDir:     cfg.UpstreamDir,
		UpstreamFromEnv: cfg.UpstreamFromEnv,
		ErrataEntries:   len(errata.Entries),
		Unchecked:       map[string]int{},
	}
	checked := map[string]bool{}
	for _, api := range apis {
		checked[api.Name] = true
		ar, err := runAPI(ctx, cfg, api, lock)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", api.Name, err)
		}
		rep.APIs = append(rep.APIs, ar)
	}
	for _, e := range errata.Entries {
		if !checked[e.API] {
			rep.Unchecked[e.API]++
		}
	}
	for _, ar := range rep.APIs {
		applyErrata(ar, errata)
	}
	return rep, nil
}

func runAPI(ctx context.Context, cfg Config, api API, lock *Lock) (*APIReport, error) {
	upstreamPath := filepath.Join(cfg.UpstreamDir, api.UpstreamFile)
	upstream, err := loadDoc(upstreamPath)
	if err != nil {
		return nil, err
	}
	ours, err := loadDoc(filepath.Join(cfg.Root, api.Spec))
	if err != nil {
		return nil, err
	}
	ar := &APIReport{
		API:                api,
		LockNote:           lockNote(lock, api.Name, upstreamPath),
		UpstreamOperations: countOperations(upstream),
		OurOperations:      countOperations(ours),
	}
	// Normalize rewrites documents in place, so the diff gets its own copies.
	upstreamFlat, err := loadDoc(upstreamPath)
	if err != nil {
		return nil, err
	}
	oursFlat, err := loadDoc(filepath.Join(cfg.Root, api.Spec))
	if err != nil {
		return nil, err
	}
	Normalize(upstreamFlat)
	Normalize(oursFlat)
	if ar.Differences, err = Differences(api.Name, upstreamFlat, oursFlat); err != nil {
		return nil, err
	}
	examples, err := UpstreamExamples(upstream)
	if err != nil {
		return nil, err
	}
	if ar.Examples, err = CheckExamples(ctx, api, ours, examples); err != nil {
		return nil, err
	}
	return ar, nil
}

// applyErrata matches the API's differences and failed examples against the
// errata, filling MatchedByKind, Matched, Unmatched and Stale.
func applyErrata(ar *APIReport, errata *Errata) {
	type compiled struct {
		index   int
		entry   Entry
		pattern *Pattern
		hits    int
	}
	var patterns []*compiled
	for i, e := range errata.Entries {
		if e.API != ar.API.Name {
			continue
		}
		for _, m := range e.Match {
			p, err := CompilePattern(m)
			if err != nil {
				continue // ParseErrata has rejected it already
			}
			patterns = append(patterns, &compiled{index: i + 1, entry: e, pattern: p})
		}
	}
	match := func(l Leaf) (kind string, ok bool) {
		for _, c := range patterns {
			if c.entry.MatchesOperation(l.Operation) && c.pattern.Match(l) {
				c.hits++
				if !ok {
					kind, ok = c.entry.Kind, true
				}
			}
		}
		return kind, ok
	}
	ar.MatchedByKind = map[string]int{}
	for _, l := range ar.Differences {
		if kind, ok := match(l); ok {
			ar.MatchedByKind[kind]++
			ar.Matched++
		} else {
			ar.Unmatched = append(ar.Unmatched, l)
		}
	}
	for _, r := range ar.Examples {
		if r.Err == nil {
			continue
		}
		l := Leaf{API: ar.API.Name, Operation: r.Operation(), Key: r.Key(), Value: r.Err.Error()}
		if kind, ok := match(l); ok {
			ar.MatchedByKind[kind]++
		} else {
			ar.Unmatched = append(ar.Unmatched, l)
		}
	}
	for _, c := range patterns {
		if c.hits == 0 {
			ar.Stale = append(ar.Stale, StalePattern{Index: c.index, Entry: c.entry, Pattern: c.pattern.String()})
		}
	}
}

func loadDoc(path string) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return doc, nil
}

func countOperations(doc *openapi3.T) int {
	n := 0
	for _, item := range doc.Paths.Map() {
		n += len(item.Operations())
	}
	return n
}

func lockNote(lock *Lock, api, path string) string {
	sum, err := FileSHA256(path)
	if err != nil {
		return "sha256: " + err.Error()
	}
	short := sum[:12]
	if lock == nil {
		return "sha256 " + short + ", no readable " + LockFile
	}
	d := lock.Document(api)
	switch {
	case d == nil:
		return "sha256 " + short + ", not in " + LockFile
	case d.SHA256 == sum:
		return "sha256 " + short + ", as in " + LockFile
	default:
		return "sha256 " + short + ", DIFFERS from " + LockFile + " (" + d.SHA256[:12] + "): Circle changed it; see make spec-diff"
	}
}

// kindsByCount orders kinds by count, then name.
func kindsByCount(m map[string]int) []string {
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		if m[kinds[i]] != m[kinds[j]] {
			return m[kinds[i]] > m[kinds[j]]
		}
		return kinds[i] < kinds[j]
	})
	return kinds
}

// joinCounts renders "kind n, kind n".
func joinCounts(m map[string]int) string {
	var parts []string
	for _, k := range kindsByCount(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
