package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/circlekit/headless-go/internal/redact/redacttest"
)

// The secret of these tests has characters that encoders treat specially
// (/ + = and a quote).
const tokenUnderTest = `eyJhbGciOi.J9/pay+load=="sig`

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRedactFindsEncodedSecrets(t *testing.T) {
	t.Parallel()
	s := tokenUnderTest
	quotedJSON := strconv.Quote(`{"token":` + jsonString(s) + `}`)
	for _, tc := range []struct{ name, body string }{
		{"verbatim", `{"message":"bad token ` + s + `"}`},
		{"JSON", `{"message":` + jsonString("bad token "+s) + `}`},
		{"JSON with \\/", `{"message":"` + strings.ReplaceAll(strings.ReplaceAll(s, `"`, `\"`), "/", `\/`) + `"}`},
		{"JSON \\u, lower hex", `{"message":"bad token ` + redacttest.JSONEscapeAll(s, false) + `!"}`},
		{"JSON \\u, upper hex", `{"message":"bad token ` + redacttest.JSONEscapeAll(s, true) + `!"}`},
		{"JSON \\u, some characters", `{"m":"` + redacttest.JSONEscapeAll(s[:3], true) + strings.ReplaceAll(s[3:20], "/", `\/`) + redacttest.JSONEscapeAll(s[20:23], false) + strings.ReplaceAll(s[23:], `"`, `\"`) + `"}`},
		{"JSON, HTML-safe", `{"m":"` + strings.NewReplacer("+", `\u002b`, "=", `\u003D`, `"`, `\u0022`).Replace(s) + `"}`},
		{"percent, lower hex", "token=" + redacttest.PercentAll(s, false) + "&x=1"},
		{"percent, upper hex", "token=" + redacttest.PercentAll(s, true) + "&x=1"},
		{"query-escaped", "https://example.com/?token=" + url.QueryEscape(s) + "&x=1"},
		{"path-escaped", "/x/" + url.PathEscape(s) + "/y"},
		{"query-escaped in JSON", `{"next":` + jsonString("https://example.com/?token="+url.QueryEscape(s)) + `}`},
		{"base64", "x " + base64.StdEncoding.EncodeToString([]byte(s)) + " y"},
		{"base64, unpadded", "x " + base64.RawStdEncoding.EncodeToString([]byte(s)) + " y"},
		{"base64 URL", "x " + base64.URLEncoding.EncodeToString([]byte(s)) + " y"},
		{"base64 URL, unpadded", "x " + base64.RawURLEncoding.EncodeToString([]byte(s)) + " y"},
		{"base64 in JSON", `{"auth":` + jsonString(base64.StdEncoding.EncodeToString([]byte(s))) + `}`},
		{"%q", fmt.Sprintf("store: save %q: refused", s)},
		{"%q of a struct", fmt.Sprintf("%#v", struct{ Tok string }{s})},
		{"%q of JSON", "store: " + quotedJSON},
		{"%+q", fmt.Sprintf("%+q", "é"+s)},
		{"hex", fmt.Sprintf("key %x", s)},
		{"HEX", fmt.Sprintf("key %X", s)},
		{"HTML", "<p>" + html.EscapeString(s) + "</p>"},
		{"HTML numeric", "<p>&#" + strconv.Itoa(int(s[0])) + ";&#x" + strconv.FormatInt(int64(s[1]), 16) + ";" + html.EscapeString(s[2:]) + "</p>"},
		{"twice", s + " and " + redacttest.JSONEscapeAll(s, false)},
	} {
		out := string(Redact([]byte(tc.body), []string{s, "other-secret"}))
		if how := redacttest.Leaks(out, s); how != "" {
			t.Errorf("%s: the secret is still there %s in %q", tc.name, how, out)
		}
		if !strings.Contains(out, redactedMark) {
			t.Errorf("%s: no %s in %q", tc.name, redactedMark, out)
		}
	}
	// Base64 of the secret inside a longer run, as a Basic credential has it.
	for _, prefix := range []string{"u:", "us:", "use:"} {
		body := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(prefix+s+"!"))
		out := string(Redact([]byte(body), []string{s}))
		// At most 2 characters of the secret's encoding may stay next to
		// the mark: they hold less than 2 bytes of it.
		enc := base64.StdEncoding.EncodeToString([]byte(prefix + s + "!"))
		if strings.Contains(out, enc[4:len(enc)-4]) || !strings.Contains(out, redactedMark) {
			t.Errorf("base64 after %q: %q", prefix, out)
		}
	}
}

func TestRedactKeepsTheRest(t *testing.T) {
	t.Parallel()
	s := tokenUnderTest
	body := `{"message":"bad token \u0065` + redacttest.JSONEscapeAll(s[1:], false) + ` (expired)","error_details":{"hint":"log in again"}}`
	out := Redact([]byte(body), []string{s})
	want := `{"message":"bad token [redacted] (expired)","error_details":{"hint":"log in again"}}`
	if string(out) != want {
		t.Errorf("redact = %s\nwant      %s", out, want)
	}
	// Nothing to redact: the very same bytes come back.
	b := []byte(`{"message":"fine"}`)
	if out := Redact(b, []string{s, ""}); &out[0] != &b[0] {
		t.Error("redact copied a body it did not change")
	}
	if out := Redact(b, nil); &out[0] != &b[0] {
		t.Error("redact without secrets copied the body")
	}
	if got := String("", []string{s}); got != "" {
		t.Errorf("String(\"\") = %q", got)
	}
	// Escapes that spell something else are left alone.
	other := `{"m":"caf\u00e9 \/ 100%25 &amp; \x41"}`
	if out := String(other, []string{s}); out != other {
		t.Errorf("String(%s) = %s", other, out)
	}
}

// A secret shorter than 8 bytes is redacted where it appears verbatim;
// its encodings would match too much else.
func TestRedactShortSecrets(t *testing.T) {
	t.Parallel()
	if got := String("a=abc, b=abc", []string{"abc"}); got != "a=[redacted], b=[redacted]" {
		t.Errorf("short secret: %q", got)
	}
	// A secret that the mark holds does not make redaction loop.
	if got := String("red: ok", []string{"red"}); got != "[redacted]: ok" {
		t.Errorf("secret inside the mark: %q", got)
	}
}

// A mark and what follows it may spell the secret again; it is redacted
// too.
func TestRedactMarkDoesNotSpellASecret(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"ted]abcdefgh", "acted]abcdefgh", "abcdefgh[reda"} {
		body := s + "abcdefgh" + s[:4] + " " + "abcdefgh[reda" + s
		out := String(body, []string{s})
		if strings.Contains(out, s) {
			t.Errorf("secret %q still in %q", s, out)
		}
	}
}

func TestRedactAny(t *testing.T) {
	t.Parallel()
	s := tokenUnderTest
	v := map[string]any{
		"token":     "Bearer " + s,
		s:           "as a key",
		"list":      []any{"x", s, 1.5, nil, map[string]any{"deep": url.QueryEscape(s)}},
		"untouched": "fine",
	}
	got := Any(v, []string{s})
	b, _ := json.Marshal(got)
	if how := redacttest.Leaks(string(b), s); how != "" {
		t.Errorf("redactAny left the secret %s: %s", how, b)
	}
	if !strings.Contains(string(b), `"untouched":"fine"`) || !strings.Contains(string(b), `"[redacted]":"as a key"`) {
		t.Errorf("redactAny = %s", b)
	}
}

// FuzzRedact embeds a printable ASCII secret of 8 bytes or more in a body,
// with any subset of its characters escaped as JSON may escape them (or
// encoded in another way), and checks that the output spells it in none of
// these encodings.
func FuzzRedact(f *testing.F) {
	f.Add([]byte("token-0123456789"), []byte("{\"message\":"), []byte("}"), []byte{0xff, 0x0f}, uint8(0))
	f.Add([]byte("ab/cd\"ef\\gh"), []byte("x\\"), []byte("\\u00"), []byte{0xaa, 0x55, 0x33}, uint8(0))
	f.Add([]byte("ted]abcdefgh"), []byte("[redac"), []byte("abcdefgh"), []byte{1}, uint8(1))
	f.Add([]byte("secret+with space"), []byte("q="), []byte("&"), []byte{7}, uint8(1))
	f.Add([]byte("basesixtyfour!"), []byte("Basic "), []byte(""), []byte{}, uint8(2))
	f.Add([]byte("quoted\"secret"), []byte("err: "), []byte(""), []byte{}, uint8(3))
	f.Add([]byte("with space&amp;<x>"), []byte("{"), []byte("}"), []byte{}, uint8(5))
	f.Add([]byte("with space&amp;<x>"), []byte("{"), []byte("}"), []byte{}, uint8(6))
	f.Add([]byte("with space&amp;<x>"), []byte("{"), []byte("}"), []byte{}, uint8(7))
	f.Fuzz(func(t *testing.T, raw, prefix, suffix, mask []byte, mode uint8) {
		// The secret: printable ASCII, at least 8 bytes.
		if len(raw) < 8 || len(raw) > 200 {
			return
		}
		sec := make([]byte, len(raw))
		for i, c := range raw {
			sec[i] = ' ' + c%95
		}
		s := string(sec)
		bit := func(i int) byte {
			if len(mask) == 0 {
				return 0
			}
			return mask[i%len(mask)] >> (uint(i/len(mask)) % 8) & 3
		}
		var enc strings.Builder
		switch mode % 8 {
		case 0: // JSON string, any subset of the characters escaped
			enc.WriteByte('"')
			for i := 0; i < len(s); i++ {
				c := s[i]
				switch bit(i) {
				case 0:
					switch c {
					case '"', '\\':
						enc.WriteString(`\` + string(c))
					default:
						enc.WriteByte(c)
					}
				case 1:
					fmt.Fprintf(&enc, `\u%04x`, c)
				case 2:
					fmt.Fprintf(&enc, `\u%04X`, c)
				case 3:
					if c == '/' || c == '"' || c == '\\' {
						enc.WriteString(`\` + string(c))
					} else {
						fmt.Fprintf(&enc, `\u00%X`, c)
					}
				}
			}
			enc.WriteByte('"')
		case 1: // percent-encoded, any subset
			for i := 0; i < len(s); i++ {
				switch b := bit(i); {
				case b == 1:
					fmt.Fprintf(&enc, "%%%02x", s[i])
				case b == 2 || s[i] == '%':
					fmt.Fprintf(&enc, "%%%02X", s[i])
				default:
					enc.WriteByte(s[i])
				}
			}
		case 2: // base64, any alphabet, padded or not
			encs := []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}
			enc.WriteString(encs[bit(0)].EncodeToString(sec))
		case 3: // Go-quoted, then perhaps quoted again
			q := strconv.Quote(s)
			if bit(0) == 1 {
				q = strconv.Quote("k=" + q)
			}
			enc.WriteString(q)
		case 4: // hex
			if bit(0) == 1 {
				fmt.Fprintf(&enc, "%X", s)
			} else {
				fmt.Fprintf(&enc, "%x", s)
			}
		case 5: // a query parameter inside a JSON string
			j, _ := json.Marshal("https://example.com/?t=" + url.QueryEscape(s))
			enc.Write(j)
		case 6: // a JSON string inside a query parameter
			j, _ := json.Marshal(s)
			enc.WriteString("?q=" + url.QueryEscape(string(j)))
		case 7: // HTML-escaped, inside a JSON string
			j, _ := json.Marshal(html.EscapeString(s))
			enc.Write(j)
		}
		body := string(prefix) + enc.String() + string(suffix)
		out := string(Redact([]byte(body), []string{s}))
		if how := redacttest.Leaks(out, s); how != "" {
			t.Fatalf("secret %q still there %s:\nbody %q\nout  %q", s, how, body, out)
		}
	})
}

func BenchmarkRedact(b *testing.B) {
	tok := tokenUnderTest
	mk := func(n int, escaped bool) []byte {
		var buf bytes.Buffer
		buf.WriteString(`{"records":[`)
		for buf.Len() < n {
			if escaped {
				buf.WriteString(`{"name":"caf\u00e9 \/ 50%25 &amp; x","url":"https:\/\/example.com\/a?b=c%2Fd"},`)
			} else {
				buf.WriteString(`{"name":"some plain text here","url":"https://example.com/a?b=c","n":12345},`)
			}
		}
		buf.WriteString(`{"t":"` + redacttest.JSONEscapeAll(tok, false) + `"}]}`)
		return buf.Bytes()
	}
	many := []string{tok}
	for i := range 99 {
		many = append(many, fmt.Sprintf("eyJ.secret-number-%03d.signature", i))
	}
	for _, bc := range []struct {
		name    string
		body    []byte
		secrets []string
	}{
		{"1KiB/3secrets", mk(1<<10, false), many[:3]},
		{"1MiB/3secrets", mk(1<<20, false), many[:3]},
		{"1MiB/100secrets", mk(1<<20, false), many},
		{"1MiB-escaped/3secrets", mk(1<<20, true), many[:3]},
		{"1MiB-escaped/100secrets", mk(1<<20, true), many},
		{"8MiB-escaped/3secrets", mk(8<<20, true), many[:3]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				out := Redact(bc.body, bc.secrets)
				if bytes.Contains(out, []byte(`\u0065\u0079`)) {
					b.Fatal("not redacted")
				}
			}
		})
	}
}

// A body larger than a chunk is searched whole: a secret that straddles
// the boundary of two chunks is found, escaped or not.
func TestRedactLargeBody(t *testing.T) {
	t.Parallel()
	s := tokenUnderTest
	var body []byte
	var want int
	for _, at := range []int{redactChunk - 10, 2*redactChunk - 3*len(s), 3*redactChunk - 1, 4*redactChunk + 5} {
		body = append(body, bytes.Repeat([]byte("x"), at-len(body))...)
		if want%2 == 0 {
			body = append(body, redacttest.JSONEscapeAll(s, true)...)
		} else {
			body = append(body, s...)
		}
		want++
	}
	body = append(body, "tail"...)
	out := string(Redact(body, []string{s}))
	if how := redacttest.Leaks(out, s); how != "" {
		t.Errorf("the secret is still there %s", how)
	}
	if got := strings.Count(out, redactedMark); got != want {
		t.Errorf("%d marks, want %d", got, want)
	}
	if !strings.HasSuffix(out, redactedMark+"tail") || !strings.HasPrefix(out, "xxx") {
		t.Errorf("the end of the body is lost: %q", out[len(out)-20:])
	}
}
