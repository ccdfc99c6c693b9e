// Package redacttest holds what the tests of package redact and of the
// packages that use it check redacted text with: encoders that spell a
// secret in unusual ways, and Leaks, which looks for a secret with the
// standard library's decoders, written apart from package redact's own.
package redacttest

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
)

// JSONEscapeAll writes s with every character as \uXXXX, hex in the case
// given.
func JSONEscapeAll(s string, upper bool) string {
	var b strings.Builder
	for _, r := range s {
		e := fmt.Sprintf(`\u%04x`, r)
		if upper {
			e = `\u` + strings.ToUpper(e[2:])
		}
		b.WriteString(e)
	}
	return b.String()
}

// PercentAll percent-encodes every byte of s.
func PercentAll(s string, upper bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		e := fmt.Sprintf("%%%02x", s[i])
		if upper {
			e = strings.ToUpper(e)
		}
		b.WriteString(e)
	}
	return b.String()
}

// Leaks reports how out still spells secret, by the standard library's
// decoders and the encodings of the secret: "" if it does not.
func Leaks(out, secret string) string {
	switch {
	case strings.Contains(out, secret):
		return "verbatim"
	case strings.Contains(Unbackslash(out), secret):
		return "backslash-escaped"
	case strings.Contains(Unbackslash(Unbackslash(out)), secret):
		return "backslash-escaped twice"
	case strings.Contains(html.UnescapeString(out), secret):
		return "as HTML references"
	case strings.Contains(html.UnescapeString(Unbackslash(out)), secret):
		return "as HTML references, backslash-escaped"
	case strings.Contains(Unpercent(Unbackslash(out)), secret):
		return "percent-encoded, then backslash-escaped"
	case strings.Contains(Unbackslash(Unpercent(out)), secret):
		return "backslash-escaped, then percent-encoded"
	}
	if u, err := url.QueryUnescape(out); err == nil && strings.Contains(u, secret) {
		return "percent-encoded"
	}
	if u, err := url.PathUnescape(out); err == nil && strings.Contains(u, secret) {
		return "percent-encoded (path)"
	}
	if strings.Contains(Unpercent(out), secret) {
		return "percent-encoded"
	}
	if u, err := strconv.Unquote(out); err == nil && strings.Contains(u, secret) {
		return "Go-quoted"
	}
	var v any
	if json.Unmarshal([]byte(out), &v) == nil && strings.Contains(fmt.Sprint(v), secret) {
		return "in a JSON value"
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if strings.Contains(out, enc.EncodeToString([]byte(secret))) {
			return "base64"
		}
	}
	if h := hex.EncodeToString([]byte(secret)); strings.Contains(out, h) || strings.Contains(out, strings.ToUpper(h)) {
		return "hex"
	}
	return ""
}

// Unbackslash decodes JSON and Go backslash escapes left to right,
// keeping what is not a valid escape: a reference for the tests, written
// apart from the one package redact uses.
func Unbackslash(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		c := s[i+1]
		if k := strings.IndexByte(`"\/'?abfnrtv`, c); k >= 0 {
			b.WriteByte("\"\\/'?\a\b\f\n\r\t\v"[k])
			i++
			continue
		}
		if c == 'u' && i+6 <= len(s) {
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 32); err == nil {
				r := rune(n)
				if r >= 0xD800 && r < 0xDC00 && i+12 <= len(s) && s[i+6:i+8] == `\u` {
					if lo, err := strconv.ParseUint(s[i+8:i+12], 16, 32); err == nil && lo >= 0xDC00 && lo < 0xE000 {
						b.WriteRune((r-0xD800)<<10 | (rune(lo) - 0xDC00) + 0x10000)
						i += 11
						continue
					}
				}
				b.WriteRune(r)
				i += 5
				continue
			}
		}
		if c == 'x' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte('\\')
	}
	return b.String()
}

// Unpercent decodes %XX escapes, keeping what is not one.
func Unpercent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+3 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(n))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
