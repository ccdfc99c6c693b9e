package conformance

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Write prints the report for people: per API the operations, the
// differences and how the errata account for them, what is unmatched or
// stale, and the example counts; then the verdict.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	src := "openapi/upstream/, filled by make sync-specs"
	if r.UpstreamFromEnv {
		src = "from " + EnvUpstreamDir
	}
	fmt.Fprintf(&b, "Conformance of headless-go's specs with Circle's documents\n")
	fmt.Fprintf(&b, "upstream: %s (%s)\n", r.UpstreamDir, src)
	fmt.Fprintf(&b, "errata:   %s, %d entries\n", ErrataFile, r.ErrataEntries)
	for _, a := range r.APIs {
		c := a.ExampleCounts()
		fmt.Fprintf(&b, "\n%s: %s vs %s\n", a.API.Name, a.API.Spec, a.API.UpstreamFile)
		fmt.Fprintf(&b, "  upstream:     %s\n", a.LockNote)
		fmt.Fprintf(&b, "  operations:   %d upstream, %d ours\n", a.UpstreamOperations, a.OurOperations)
		fmt.Fprintf(&b, "  differences:  %d found, %d matched by errata, %d unmatched\n",
			len(a.Differences), a.Matched, len(a.Differences)-a.Matched)
		fmt.Fprintf(&b, "  by kind:      %s\n", joinCounts(a.MatchedByKind))
		fmt.Fprintf(&b, "  examples:     %d 2xx examples: %d with a body (%d decoded into typed fields, %d validated against our spec), %d without a value; %d excused by errata, %d failed\n",
			c.Total, c.WithBody, c.Decoded, c.Validated, c.Empty, c.Excused, c.Failed)
		if len(a.Unmatched) > 0 {
			fmt.Fprintf(&b, "  UNMATCHED differences and failed examples (%d): fix our spec or add an errata entry\n", len(a.Unmatched))
			for _, l := range a.Unmatched {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
		if len(a.Stale) > 0 {
			fmt.Fprintf(&b, "  STALE ERRATA (%d): these patterns match no difference any more; remove or correct them\n", len(a.Stale))
			for _, s := range a.Stale {
				op := s.Entry.Operation
				if op == "" {
					op = "(document)"
				}
				fmt.Fprintf(&b, "    entry %d [%s] %s  %s\n", s.Index, s.Entry.Kind, op, s.Pattern)
			}
		}
	}
	if len(r.Unchecked) > 0 {
		apis := make([]string, 0, len(r.Unchecked))
		for api := range r.Unchecked {
			apis = append(apis, api)
		}
		sort.Strings(apis)
		b.WriteString("\n")
		for _, api := range apis {
			fmt.Fprintf(&b, "not checked: %d errata entries of API %q (no such API in the check)\n", r.Unchecked[api], api)
		}
	}
	if r.OK() {
		b.WriteString("\nresult: PASS\n")
	} else {
		b.WriteString("\nresult: FAIL\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
