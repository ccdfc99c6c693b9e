// Package redact replaces secrets (tokens) in text that a server or a
// store sent back, wherever and however encoded they occur, so that none
// reaches an error, a log line or a formatted value. It is the SDK's own
// algorithm, kept apart from package circle, which calls [Redact],
// [String] and [Any] on every error body and log line that could echo a
// token.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"unicode/utf8"
)

// redactedMark replaces a secret wherever one is found.
const redactedMark = "[redacted]"

// minEncodedSecret is the shortest secret that is also looked for in
// encoded forms (escaped, percent-encoded, base64, hex...). Shorter
// secrets are replaced where they occur verbatim only: their encodings
// would match too much that is not them.
const minEncodedSecret = 8

// A viewPlan is a decoding to apply to a view, and what to apply to its
// result. redactPlans are the stacks of decodings redact undoes, as they
// occur: backslash escapes (B: JSON, Go quoting), percent-encoding (P) and
// HTML references (H), alone or stacked up to three deep: BB is %q of a
// JSON text, BP a URL inside JSON, PB JSON inside a URL, BBP a URL inside
// JSON quoted by %q, HB JSON inside HTML, PP a doubly encoded URL. A fixed
// plan bounds the work, whatever the text holds: at most 11 decoded views.
type viewPlan struct {
	dec  int // index in decoders
	then []viewPlan
}

const (
	decB = iota
	decP
	decH
)

var redactPlans = []viewPlan{
	{decB, []viewPlan{
		{decB, []viewPlan{{decB, nil}, {decP, nil}}},
		{decP, nil},
		{decH, nil},
	}},
	{decP, []viewPlan{{decB, nil}, {decP, nil}}},
	{decH, []viewPlan{{decB, nil}}},
}

// maxEscapeGrowth is the most raw bytes that one decoded byte comes from
// through the deepest stack of redactPlans: \u escapes of \u escapes of
// \u escapes.
const maxEscapeGrowth = 6 * 6 * 6

// Redact returns b with every secret in secrets replaced by "[redacted]":
// where it occurs verbatim and, for a secret of at least 8 bytes, where it
// occurs in any of these encodings, alone or stacked up to three deep:
//
//   - backslash escapes, as JSON writes them (\/, \", \u0065 or \u0045
//     in either case of hex, surrogate pairs) and as Go's strconv.Quote
//     and %q do (\x41, \101, \U00000041, \a, \v);
//   - percent-encoding (%41 or %4a, either case of hex; + for a space);
//   - HTML character references (&#65;, &#x41;, &amp;, &quot;...);
//   - base64, standard or URL alphabet, with or without padding, of the
//     secret alone or inside a longer encoded run (such as
//     base64("user:" + token) in a Basic credential);
//   - hex, either case.
//
// An encoded occurrence is replaced whole (every escape that spells a
// part of the secret). Around each mark the result is checked again, so
// that a mark and its neighbours never spell a secret either. b is not
// modified; the result is b itself if nothing was found. The work is
// linear in len(b), nearly independent of the number of secrets, and
// bounded whatever b holds (see redactPlans).
func Redact(b []byte, secrets []string) []byte {
	r := newRedactor(secrets)
	if r == nil {
		return b
	}
	out, _ := r.redact(b)
	return out
}

// String is [Redact] for a string.
func String(s string, secrets []string) string {
	r := newRedactor(secrets)
	if r == nil {
		return s
	}
	return r.redactString(s)
}

// Any returns v, a decoded JSON value (the strings, numbers, booleans,
// nil, []any and map[string]any that encoding/json gives), with every
// string redacted as [String] does, map keys included; maps and slices
// are changed in place. Other values are returned as they are.
func Any(v any, secrets []string) any {
	r := newRedactor(secrets)
	if r == nil {
		return v
	}
	return r.redactAny(v)
}

// A redactor holds the patterns that spell a set of secrets.
type redactor struct {
	short    [][]byte        // secrets shorter than minEncodedSecret: verbatim only
	long     [][]byte        // the other secrets, verbatim
	patterns []redactPattern // what is searched in every view
	// index finds the patterns by their first 8 bytes; filter is a
	// bitset of the hashes of those prefixes, checked first.
	index  map[uint64][]int32
	filter []uint64
	// secrets are the distinct secrets; inMark counts those that are part
	// of the mark itself, which a redacted text cannot be checked for.
	secrets []string
	maxLen  int // of a secret or a pattern
	inMark  int
	stable  *redactor // for the secrets not in the mark, made when needed
}

// A redactPattern is one spelling of a secret in a decoded view. A base64
// spelling may leave a partial character on each side: extLeft and
// extRight say how many of the base64 alphabet's characters next to the
// match are redacted too (and any = padding after it).
type redactPattern struct {
	text              []byte
	extLeft, extRight int
	alphabet          string
}

const (
	b64Std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// newRedactor returns a redactor for secrets, or nil if none is
// non-empty.
func newRedactor(secrets []string) *redactor {
	var r *redactor
	seen := make(map[string]bool, len(secrets))
	for _, s := range secrets {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		if r == nil {
			r = &redactor{}
		}
		r.secrets = append(r.secrets, s)
		r.maxLen = max(r.maxLen, 2*len(s)) // its hex is the longest pattern
		if strings.Contains(redactedMark, s) {
			r.inMark++
		}
		if len(s) < minEncodedSecret {
			r.short = append(r.short, []byte(s))
			continue
		}
		r.long = append(r.long, []byte(s))
		r.add(redactPattern{text: []byte(s)})
		if strings.Contains(s, " ") { // a form-encoded space
			r.add(redactPattern{text: []byte(strings.ReplaceAll(s, " ", "+"))})
		}
		r.add(redactPattern{text: []byte(hex.EncodeToString([]byte(s)))})
		r.add(redactPattern{text: []byte(strings.ToUpper(hex.EncodeToString([]byte(s))))})
		for _, alpha := range []string{b64Std, b64URL} {
			enc := base64.NewEncoding(alpha).WithPadding(base64.NoPadding)
			for off := range 3 {
				// base64 of s after off bytes: keep the characters made
				// of s's bits alone.
				e := enc.EncodeToString(append(make([]byte, off), s...))
				from := (8*off + 5) / 6
				to := 8 * (off + len(s)) / 6
				ext := 0
				if off > 0 {
					ext = 1
				}
				r.add(redactPattern{text: []byte(e[from:to]), extLeft: ext, extRight: 1, alphabet: alpha})
			}
		}
	}
	if r == nil || len(r.patterns) == 0 {
		return r
	}
	r.index = make(map[uint64][]int32, len(r.patterns))
	r.filter = make([]uint64, filterBits/64)
	for i, p := range r.patterns {
		k := binary.LittleEndian.Uint64(p.text)
		r.index[k] = append(r.index[k], int32(i))
		h := filterHash(k)
		r.filter[h/64] |= 1 << (h % 64)
	}
	return r
}

// add adds p unless an equal pattern is there; every pattern is at least
// 8 bytes long.
func (r *redactor) add(p redactPattern) {
	if len(p.text) < 8 {
		return
	}
	for _, q := range r.patterns {
		if bytes.Equal(q.text, p.text) && q.extLeft == p.extLeft && q.extRight == p.extRight && q.alphabet == p.alphabet {
			return
		}
	}
	r.patterns = append(r.patterns, p)
}

const filterBits = 1 << 16

func filterHash(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> (64 - 16) }

// A rspan is a part [start, end) of the text being redacted.
type rspan struct{ start, end int }

// redact redacts b; see [redact]. It reports whether it found anything;
// if not, it returns b itself.
func (r *redactor) redact(b []byte) ([]byte, bool) {
	spans := r.find(b)
	if len(spans) == 0 {
		return b, false
	}
	out, marks := replaceSpans(b, spans)
	// A mark and its neighbours may spell a secret (one that starts with
	// "ted]", say): check again, around the marks, for the secrets the
	// mark does not hold. The rest of the text is as it was.
	st := r.stableRedactor()
	for round := 0; st != nil; round++ {
		spans = st.findAround(out, marks)
		if len(spans) == 0 {
			break
		}
		if round == 3 {
			return []byte(redactedMark), true // keep none of the text
		}
		out, marks = replaceSpans(out, spans)
	}
	return out, true
}

// findAround is find for the parts of b near the spans marks.
func (r *redactor) findAround(b []byte, marks []rspan) []rspan {
	reach := r.reach()
	var windows []rspan
	for _, m := range marks {
		windows = append(windows, rspan{max(0, m.start-reach), min(len(b), m.end+reach)})
	}
	var spans []rspan
	for _, w := range mergeSpans(windows) {
		for _, s := range r.find(b[w.start:w.end]) {
			spans = append(spans, rspan{s.start + w.start, s.end + w.start})
		}
	}
	return mergeSpans(spans)
}

// stableRedactor returns a redactor for the secrets that are not part of
// the mark, or nil if there is none.
func (r *redactor) stableRedactor() *redactor {
	switch {
	case r.inMark == 0:
		return r
	case r.stable == nil && r.inMark < len(r.secrets):
		var keep []string
		for _, s := range r.secrets {
			if !strings.Contains(redactedMark, s) {
				keep = append(keep, s)
			}
		}
		r.stable = newRedactor(keep)
	}
	return r.stable
}

// redactChunk is how much of a text find searches at a time: a longer
// text is searched in chunks that overlap by the reach of an encoded
// secret, so that the decoded views of a large body never take more than
// a few times this much memory at once.
const redactChunk = 1 << 20

// reach is the most raw bytes an encoded secret or pattern spans.
func (r *redactor) reach() int { return 2 * maxEscapeGrowth * max(r.maxLen, minEncodedSecret) }

// find returns the merged, sorted spans of b that spell a secret.
func (r *redactor) find(b []byte) []rspan {
	reach := r.reach()
	if len(b) <= redactChunk+reach {
		return mergeSpans(r.findIn(nil, b, 0))
	}
	var spans []rspan
	for start := 0; start < len(b); start += redactChunk {
		end := min(len(b), start+redactChunk+reach)
		spans = r.findIn(spans, b[start:end], start)
		if end == len(b) {
			break
		}
	}
	return mergeSpans(spans)
}

// findIn adds to spans those of b that spell a secret, shifted by off.
func (r *redactor) findIn(spans []rspan, b []byte, off int) []rspan {
	n := len(spans)
	for _, s := range r.short {
		for i := 0; ; {
			j := bytes.Index(b[i:], s)
			if j < 0 {
				break
			}
			spans = append(spans, rspan{i + j, i + j + len(s)})
			i += j + len(s)
		}
	}
	if len(r.patterns) > 0 && len(b) >= 8 && len(b) < 1<<31-1 {
		spans = r.search(spans, view{text: b}, len(b), redactPlans)
	}
	for i := n; i < len(spans); i++ {
		spans[i].start += off
		spans[i].end += off
	}
	return spans
}

// A view is a text decoded from the raw text: origin[i] is the offset in
// the raw text of the start of what decoded into text[i] (nil for the raw
// text itself, where it is i).
type view struct {
	text   []byte
	origin []int32
}

func (v view) start(i int) int {
	if v.origin == nil {
		return i
	}
	return int(v.origin[i])
}

// end returns the raw offset just past what decoded into text[i].
func (v view) end(i int, rawLen int) int {
	if v.origin == nil {
		return i + 1
	}
	o := v.origin[i]
	for k := i + 1; k < len(v.origin); k++ {
		if v.origin[k] != o {
			return int(v.origin[k])
		}
	}
	return rawLen
}

// search adds to spans the raw spans of the patterns found in v, then
// searches the views decoded from v by plans, depth first.
func (r *redactor) search(spans []rspan, v view, rawLen int, plans []viewPlan) []rspan {
	spans = r.scan(spans, v, rawLen)
	for _, p := range plans {
		dec := decoders[p.dec]
		if bytes.IndexByte(v.text, dec.trigger) < 0 {
			continue
		}
		if d, changed := dec.decode(v); changed && len(d.text) >= 8 {
			spans = r.search(spans, d, rawLen, p.then)
		}
	}
	return spans
}

// scan adds to spans the raw spans of the patterns found in v.
func (r *redactor) scan(spans []rspan, v view, rawLen int) []rspan {
	t := v.text
	for i := 0; i+8 <= len(t); i++ {
		k := binary.LittleEndian.Uint64(t[i:])
		h := filterHash(k)
		if r.filter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		for _, pi := range r.index[k] {
			p := &r.patterns[pi]
			if !bytes.HasPrefix(t[i:], p.text) {
				continue
			}
			from, to := i, i+len(p.text)
			if p.alphabet != "" {
				for n := 0; n < p.extLeft && from > 0 && strings.IndexByte(p.alphabet, t[from-1]) >= 0; n++ {
					from--
				}
				for n := 0; n < p.extRight && to < len(t) && strings.IndexByte(p.alphabet, t[to]) >= 0; n++ {
					to++
				}
				for n := 0; n < 2 && to < len(t) && t[to] == '='; n++ {
					to++
				}
			}
			spans = append(spans, rspan{v.start(from), v.end(to-1, rawLen)})
		}
	}
	return spans
}

// mergeSpans sorts spans and merges those that overlap or touch.
func mergeSpans(spans []rspan) []rspan {
	if len(spans) < 2 {
		return spans
	}
	slices.SortFunc(spans, func(a, b rspan) int { return a.start - b.start })
	out := spans[:1]
	for _, s := range spans[1:] {
		last := &out[len(out)-1]
		if s.start <= last.end {
			last.end = max(last.end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// replaceSpans returns a copy of b with each span replaced by the mark,
// and where the marks are in it.
func replaceSpans(b []byte, spans []rspan) ([]byte, []rspan) {
	out := make([]byte, 0, len(b)+len(spans)*len(redactedMark))
	marks := make([]rspan, 0, len(spans))
	at := 0
	for _, s := range spans {
		out = append(out, b[at:s.start]...)
		marks = append(marks, rspan{len(out), len(out) + len(redactedMark)})
		out = append(out, redactedMark...)
		at = s.end
	}
	return append(out, b[at:]...), marks
}

// redactAny redacts the strings and keys of a decoded JSON value.
func (r *redactor) redactAny(v any) any {
	switch v := v.(type) {
	case string:
		return r.redactString(v)
	case map[string]any:
		for k, x := range v {
			nk := r.redactString(k)
			if nk != k {
				delete(v, k)
			}
			v[nk] = r.redactAny(x)
		}
	case []any:
		for i, x := range v {
			v[i] = r.redactAny(x)
		}
	}
	return v
}

func (r *redactor) redactString(s string) string {
	if s == "" {
		return s
	}
	out, changed := r.redact([]byte(s))
	if !changed {
		return s
	}
	return string(out)
}

// A decoder undoes one kind of escaping, leniently: what is not a valid
// escape is kept as it is.
type decoder struct {
	trigger byte // no escape without it
	decode  func(view) (view, bool)
}

var decoders = [...]decoder{
	{'\\', func(v view) (view, bool) { return decodeView(v, '\\', unbackslash) }},
	{'%', func(v view) (view, bool) { return decodeView(v, '%', unpercent) }},
	{'&', func(v view) (view, bool) { return decodeView(v, '&', unentity) }},
}

// decodeView decodes v with dec, which is called at each trigger byte and
// returns the bytes that the escape at t[i:] stands for and its length, or
// n == 0 if there is no escape there.
func decodeView(v view, trigger byte, dec func(t []byte, i int, buf []byte) (out []byte, n int)) (view, bool) {
	t := v.text
	text := make([]byte, 0, len(t))
	origin := make([]int32, 0, len(t))
	var buf [8]byte
	changed := false
	for i := 0; i < len(t); {
		j := bytes.IndexByte(t[i:], trigger)
		if j < 0 {
			j = len(t) - i
		}
		for k := i; k < i+j; k++ {
			text = append(text, t[k])
			origin = append(origin, int32(v.start(k)))
		}
		i += j
		if i == len(t) {
			break
		}
		out, n := dec(t, i, buf[:0])
		if n == 0 {
			text = append(text, t[i])
			origin = append(origin, int32(v.start(i)))
			i++
			continue
		}
		changed = true
		for _, c := range out {
			text = append(text, c)
			origin = append(origin, int32(v.start(i)))
		}
		i += n
	}
	return view{text: text, origin: origin}, changed
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// hexAt reads n hex digits at t[i:].
func hexAt(t []byte, i, n int) (rune, bool) {
	if i+n > len(t) {
		return 0, false
	}
	var r rune
	for _, c := range t[i : i+n] {
		d, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// unbackslash decodes the JSON or Go escape at t[i] (a backslash).
func unbackslash(t []byte, i int, buf []byte) ([]byte, int) {
	if i+1 >= len(t) {
		return nil, 0
	}
	switch c := t[i+1]; c {
	case '"', '\\', '/', '\'', '?':
		return append(buf, c), 2
	case 'a':
		return append(buf, '\a'), 2
	case 'b':
		return append(buf, '\b'), 2
	case 'f':
		return append(buf, '\f'), 2
	case 'n':
		return append(buf, '\n'), 2
	case 'r':
		return append(buf, '\r'), 2
	case 't':
		return append(buf, '\t'), 2
	case 'v':
		return append(buf, '\v'), 2
	case 'x':
		if r, ok := hexAt(t, i+2, 2); ok {
			return append(buf, byte(r)), 4
		}
	case 'u':
		r, ok := hexAt(t, i+2, 4)
		if !ok {
			return nil, 0
		}
		if 0xD800 <= r && r < 0xDC00 { // a surrogate pair, as JSON writes one
			if i+7 < len(t) && t[i+6] == '\\' && t[i+7] == 'u' {
				if lo, ok := hexAt(t, i+8, 4); ok && 0xDC00 <= lo && lo < 0xE000 {
					return utf8.AppendRune(buf, (r-0xD800)<<10|(lo-0xDC00)+0x10000), 12
				}
			}
			return utf8.AppendRune(buf, utf8.RuneError), 6
		}
		return utf8.AppendRune(buf, r), 6
	case 'U':
		if r, ok := hexAt(t, i+2, 8); ok && utf8.ValidRune(r) {
			return utf8.AppendRune(buf, r), 10
		}
	default:
		if '0' <= c && c <= '3' && i+3 < len(t) && isOctal(t[i+2]) && isOctal(t[i+3]) {
			return append(buf, (c-'0')<<6|(t[i+2]-'0')<<3|(t[i+3]-'0')), 4
		}
	}
	return nil, 0
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// unpercent decodes the percent-encoded byte at t[i] (a %).
func unpercent(t []byte, i int, buf []byte) ([]byte, int) {
	if r, ok := hexAt(t, i+1, 2); ok {
		return append(buf, byte(r)), 3
	}
	return nil, 0
}

// htmlEntities are the named references an HTML or XML escaper writes.
var htmlEntities = map[string]byte{"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\'', "sol": '/', "equals": '=', "plus": '+', "percnt": '%', "num": '#'}

// unentity decodes the HTML character reference at t[i] (a &).
func unentity(t []byte, i int, buf []byte) ([]byte, int) {
	end := bytes.IndexByte(t[i:min(len(t), i+12)], ';')
	if end < 2 {
		return nil, 0
	}
	name := t[i+1 : i+end]
	if name[0] != '#' {
		if c, ok := htmlEntities[string(name)]; ok {
			return append(buf, c), end + 1
		}
		return nil, 0
	}
	num, base := name[1:], rune(10)
	if len(num) > 0 && (num[0] == 'x' || num[0] == 'X') {
		num, base = num[1:], 16
	}
	if len(num) == 0 || len(num) > 7 {
		return nil, 0
	}
	var r rune
	for _, c := range num {
		d, ok := unhex(c)
		if !ok || rune(d) >= base {
			return nil, 0
		}
		r = r*base + rune(d)
	}
	if !utf8.ValidRune(r) {
		return nil, 0
	}
	return utf8.AppendRune(buf, r), end + 1
}
