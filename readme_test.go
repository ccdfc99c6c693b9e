package headless

import (
	"os"
	"strings"
	"testing"
)

// readmeSources are the files the README's Go snippets are quoted from.
// Each is compiled (and its examples and tests run) by go test.
var readmeSources = []string{
	"circle/example_readme_test.go",
	"redisstore/example_readme_test.go",
	"realtime/example_readme_test.go",
	"bff/example_readme_test.go",
	"bff/bffevents/example_readme_test.go",
	"circletest/example_readme_test.go",
}

// TestReadmeSnippets checks that every Go snippet of README.md is quoted
// from a compiled file: its lines, leading indentation aside, appear in
// the same order and next to each other in one of readmeSources.
func TestReadmeSnippets(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var sources [][]string
	for _, f := range readmeSources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, normalize(string(b)))
	}
	snippets := goSnippets(string(readme))
	if len(snippets) == 0 {
		t.Fatal("README.md has no Go snippet")
	}
	for _, s := range snippets {
		want := normalize(s.text)
		found := false
		for _, src := range sources {
			if contains(src, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README.md:%d: the Go snippet is not quoted from %v:\n%s", s.line, readmeSources, s.text)
		}
	}
}

type snippet struct {
	line int // of the opening fence
	text string
}

// goSnippets returns the ```go blocks of a Markdown text.
func goSnippets(md string) []snippet {
	var out []snippet
	var cur *snippet
	var b strings.Builder
	for i, line := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &snippet{line: i + 1}
			b.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.text = b.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return out
}

// normalize returns the lines of s without their leading and trailing
// white space, blank lines dropped.
func normalize(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// contains reports whether sub appears in lines, in order and contiguous.
func contains(lines, sub []string) bool {
	if len(sub) == 0 {
		return false
	}
	for i := 0; i+len(sub) <= len(lines); i++ {
		match := true
		for j := range sub {
			if lines[i+j] != sub[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func TestContains(t *testing.T) {
	lines := normalize("func f() {\n\ta := 1\n\n\tb := 2\n}\n")
	for sub, want := range map[string]bool{
		"a := 1\nb := 2": true,
		"  b := 2\n}":    true,
		"a := 1\n}":      false, // not contiguous
		"b := 2\na := 1": false, // not in order
		"c := 3":         false,
		"\n\n":           false, // an empty snippet proves nothing
	} {
		if got := contains(lines, normalize(sub)); got != want {
			t.Errorf("contains(%q) = %v, want %v", sub, got, want)
		}
	}
}
