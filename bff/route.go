package bff

import (
	"sort"
	"strings"
)

// operation is one operation of the Member API spec: its method, its path
// template and its operationId. A template's parameters are {name:int}
// (digits), {name:a|b} (one of the values) or {name} (a word of letters,
// digits, '-', '_', '.' and '~', not only dots).
type operation struct {
	method, template, id string
}

// segment is one segment of a path template: a literal, or a parameter.
type segment struct {
	lit   string
	param bool
	isInt bool
	enum  []string
}

// route is one path template and its operations, by method.
type route struct {
	template string
	segs     []segment
	ops      map[string]string // method → operationId
	allow    string            // the methods, for an Allow header
}

// routes is the route table built from operations, most specific first: a
// path is served by the first route it matches.
var routes = buildRoutes(operations[:])

func buildRoutes(ops []operation) []*route {
	byTemplate := map[string]*route{}
	var rs []*route
	for _, o := range ops {
		r := byTemplate[o.template]
		if r == nil {
			r = &route{template: o.template, segs: parseTemplate(o.template), ops: map[string]string{}}
			byTemplate[o.template] = r
			rs = append(rs, r)
		}
		r.ops[o.method] = o.id
	}
	for _, r := range rs {
		var ms []string
		for m := range r.ops {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		r.allow = strings.Join(ms, ", ")
	}
	// Literal segments before parameters, position by position, so that
	// /messages/unread_chat_rooms wins over /messages/{uuid}.
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i].segs, rs[j].segs
		if len(a) != len(b) {
			return len(a) < len(b)
		}
		for k := range a {
			if a[k].param != b[k].param {
				return !a[k].param
			}
		}
		return rs[i].template < rs[j].template
	})
	return rs
}

func parseTemplate(t string) []segment {
	parts := strings.Split(strings.TrimPrefix(t, "/"), "/")
	segs := make([]segment, len(parts))
	for i, p := range parts {
		inner, ok := strings.CutPrefix(p, "{")
		if !ok {
			segs[i] = segment{lit: p}
			continue
		}
		inner = strings.TrimSuffix(inner, "}")
		_, kind, _ := strings.Cut(inner, ":")
		switch {
		case kind == "int":
			segs[i] = segment{param: true, isInt: true}
		case kind != "":
			segs[i] = segment{param: true, enum: strings.Split(kind, "|")}
		default:
			segs[i] = segment{param: true}
		}
	}
	return segs
}

// maxParam is the longest value a path parameter may have.
const maxParam = 200

// match returns the route that serves path, an escaped path such as
// /api/headless/v1/spaces/12/posts, or nil. It allocates nothing.
func match(path string) *route {
	if !strings.HasPrefix(path, "/") {
		return nil
	}
	path = path[1:]
	n := strings.Count(path, "/") + 1
	for _, r := range routes {
		if len(r.segs) != n {
			continue
		}
		if r.matches(path) {
			return r
		}
	}
	return nil
}

func (r *route) matches(path string) bool {
	rest := path
	for i := range r.segs {
		seg, tail, _ := strings.Cut(rest, "/")
		rest = tail
		s := &r.segs[i]
		switch {
		case !s.param:
			if seg != s.lit {
				return false
			}
		case s.isInt:
			if !digits(seg) {
				return false
			}
		case s.enum != nil:
			found := false
			for _, v := range s.enum {
				if seg == v {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		default:
			if !word(seg) {
				return false
			}
		}
	}
	return true
}

// digits reports whether s is a decimal number of 1 to 19 digits.
func digits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// word reports whether s is a parameter value that needs no escaping and
// is no dot segment: letters, digits, '-', '_', '.', '~', not only dots.
func word(s string) bool {
	if s == "" || len(s) > maxParam {
		return false
	}
	dots := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '~':
			dots = false
		case c == '.':
		default:
			return false
		}
	}
	return !dots
}

// cleanTarget reports whether a request target is one the proxy accepts:
// an origin-form path (it starts with '/', so no absolute-form or '*'),
// with no percent-encoding at all (no encoded slash, dot or anything
// else), no backslash, no empty segment (no doubled slash), and no dot
// segment. raw is the path as it came, without the query.
func cleanTarget(raw string) bool {
	if !strings.HasPrefix(raw, "/") {
		return false
	}
	if strings.ContainsAny(raw, "%\\") {
		return false
	}
	for seg := range strings.SplitSeq(raw[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
