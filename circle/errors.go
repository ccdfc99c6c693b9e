package circle

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kinds of failure an [*APIError] matches with [errors.Is].
var (
	// ErrUnauthorized matches a 401 answer: the app token, the access token
	// or the refresh token was rejected. Circle's "community not eligible"
	// answer, which the Member API sends with status 401, matches
	// ErrForbidden instead.
	ErrUnauthorized = errors.New("circle: unauthorized")
	// ErrForbidden matches a 403 answer, and any answer saying the
	// community is not eligible for headless API access (its plan does not
	// include it).
	ErrForbidden = errors.New("circle: forbidden")
	// ErrNotFound matches a 404 answer.
	ErrNotFound = errors.New("circle: not found")
	// ErrRateLimited matches a 429 answer.
	ErrRateLimited = errors.New("circle: rate limited")
)

// maxErrorBody is the most of an error body that is read.
const maxErrorBody = 1 << 20

// APIError is a non-2xx answer of the Auth or Member API. The clients of
// this package return it as the error of the call, so a nil error means a
// 2xx answer (and a 2xx answer they cannot use is a [*DecodeError]). Use [errors.Is] with [ErrUnauthorized], [ErrForbidden],
// [ErrNotFound] or [ErrRateLimited] for the common kinds, and [errors.As]
// for the details. Any token the request carried is replaced by
// "[redacted]" in Message, Details and Body.
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Message is Circle's "message", for people; empty when the body has
	// none (an answer from a proxy, for example).
	Message string
	// Details is Circle's "error_details" decoded as JSON (usually a
	// map[string]any), or nil.
	Details any
	// Method and Path are those of the request, without query or host.
	Method, Path string
	// RequestID is the X-Request-Id header of the answer, if any; quote it
	// to Circle's support.
	RequestID string
	// Body is the answer's body, at most its first MiB.
	Body []byte
	// RetryAfter is the wait the answer's Retry-After header asked for, or
	// zero.
	RetryAfter time.Duration
}

// Error returns a one-line description such as
// `circle: GET /api/headless/v1/bookmarks: 401 Unauthorized: The access
// token is expired. (request id 4f1c)`.
func (e *APIError) Error() string {
	var b strings.Builder
	writeCall(&b, e.Method, e.Path, e.StatusCode)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(e.RequestID)
		b.WriteByte(')')
	}
	return b.String()
}

// Is reports whether e is of the kind target names: [ErrUnauthorized],
// [ErrForbidden], [ErrNotFound] or [ErrRateLimited].
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized && !e.notEligible()
	case ErrForbidden:
		return e.StatusCode == http.StatusForbidden || e.notEligible()
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// notEligible reports whether Circle said the community may not use the
// headless APIs: its message then says the community is not "eligible".
// The Member API sends this as 401, the Auth API as 403.
func (e *APIError) notEligible() bool {
	return (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden) &&
		strings.Contains(strings.ToLower(e.Message), "eligible")
}

// newAPIError describes the non-2xx answer resp, whose body is body, to
// req, with every secret in secrets redacted.
func newAPIError(req *http.Request, resp *http.Response, body []byte, secrets []string, now time.Time) *APIError {
	body = redact(body, secrets)
	msg, details := parseErrorBody(body)
	// A secret JSON-escaped in the body is only seen once decoded.
	msg = redactString(msg, secrets)
	details = redactAny(details, secrets)
	e := &APIError{
		StatusCode: resp.StatusCode,
		Message:    msg,
		Details:    details,
		Method:     req.Method,
		Path:       req.URL.Path,
		RequestID:  resp.Header.Get("X-Request-Id"),
		Body:       body,
	}
	if d, ok := retryAfter(resp.Header, now); ok {
		e.RetryAfter = d
	}
	return e
}

// parseErrorBody reads Circle's error body, {"success": false, "message":
// "...", "error_details": {...}}. A message that is not a string is given
// as its JSON text; a body with an "error" string and no "message" gives
// that. A body that is not a JSON object gives "" and nil.
func parseErrorBody(b []byte) (message string, details any) {
	var env struct {
		Message      json.RawMessage `json:"message"`
		Error        json.RawMessage `json:"error"`
		ErrorDetails json.RawMessage `json:"error_details"`
	}
	if len(b) == 0 || json.Unmarshal(b, &env) != nil {
		return "", nil
	}
	message = jsonText(env.Message)
	if message == "" {
		message = jsonText(env.Error)
	}
	if len(env.ErrorDetails) > 0 && !bytes.Equal(env.ErrorDetails, []byte("null")) {
		_ = json.Unmarshal(env.ErrorDetails, &details)
	}
	return message, details
}

// jsonText returns a JSON string's value, or the compact text of any other
// JSON value but null.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return ""
	}
	return buf.String()
}

// DecodeError is a 2xx answer of the Auth or Member API that cannot be
// what the specs promise: its Content-Type is not JSON, or its body is
// empty, cut short or not well-formed JSON (every 2xx answer of the specs
// but 204 is a JSON body). The clients of this package return it as the
// error of the call instead of the answer, so that a nil error means a 2xx
// answer whose body, if it has one, is well-formed JSON; a caller never
// sees a 200 with a nil JSON200 because a login page or a proxy answered.
// A [MemberTokenSource] also returns it for an Auth API answer that does
// not decode into, or lacks, the token it asked for.
//
// The body is not validated against the schema: see "Answers" in the
// package documentation.
//
// Use [errors.As] to get it; it unwraps to the cause, when there is one (a
// [*json.SyntaxError], a read error, a [*json.UnmarshalTypeError]). It
// holds no token: Excerpt masks the body's string values, and is empty for
// the Auth API, whose answers carry newly issued tokens.
type DecodeError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Method and Path are those of the request, without query or host.
	Method, Path string
	// RequestID is the X-Request-Id header of the answer, if any.
	RequestID string
	// ContentType is the answer's Content-Type header, "" if it had none.
	ContentType string
	// Reason says what is wrong, for people: "is not JSON", "has an empty
	// body", "is not valid JSON", "was cut short", "does not decode",
	// "carries no token pair"...
	Reason string
	// Excerpt is the start of the body, for people: at most about 80
	// characters, white space collapsed, every double-quoted string but an
	// object key replaced by "…" and the request's credentials redacted.
	// It is empty for Auth API answers.
	Excerpt string
	// Err is the cause, or nil.
	Err error
}

// Error returns a one-line description such as `circle: GET
// /api/headless/v1/community_member: 200 OK answer is not JSON
// (Content-Type "text/html", request id 4f1c); body "<!DOCTYPE html>…"`.
func (e *DecodeError) Error() string {
	var b strings.Builder
	writeCall(&b, e.Method, e.Path, e.StatusCode)
	b.WriteString(" answer ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.ContentType != "" {
		b.WriteString(" (Content-Type ")
		b.WriteString(strconv.Quote(e.ContentType))
	} else {
		b.WriteString(" (no Content-Type")
	}
	if e.RequestID != "" {
		b.WriteString(", request id ")
		b.WriteString(e.RequestID)
	}
	b.WriteByte(')')
	if e.Excerpt != "" {
		b.WriteString("; body ")
		b.WriteString(strconv.Quote(e.Excerpt))
	}
	return b.String()
}

// Unwrap returns the cause of the error, or nil.
func (e *DecodeError) Unwrap() error { return e.Err }

// newDecodeError describes the unusable 2xx answer resp to req. body is
// what was read of it, for the excerpt, which is left out when withBody
// is false; every secret in secrets is redacted from it.
func newDecodeError(req *http.Request, resp *http.Response, reason string, err error, body []byte, withBody bool, secrets []string) *DecodeError {
	e := &DecodeError{
		StatusCode:  resp.StatusCode,
		RequestID:   resp.Header.Get("X-Request-Id"),
		ContentType: resp.Header.Get("Content-Type"),
		Reason:      reason,
		Err:         err,
	}
	if req != nil {
		e.Method, e.Path = req.Method, req.URL.Path
	}
	if withBody {
		e.Excerpt = excerpt(body, secrets)
	}
	return e
}

const (
	// excerptWindow is how much of a body an excerpt is made from.
	excerptWindow = 512
	// excerptMax is about the longest excerpt, in bytes.
	excerptMax = 80
	// excerptKeyMax is the longest object key an excerpt shows whole.
	excerptKeyMax = 40
)

// excerpt returns the start of body for an error message, without
// secrets: each secret is redacted (in the whole body, so that none is cut
// in two), then every double-quoted string that is not followed by a colon
// (that is, every JSON string but an object key, and every quoted HTML
// attribute) is replaced by "…", runs of white space become one space,
// control characters and invalid UTF-8 are dropped, and the result is cut
// at about excerptMax bytes, ending in "…" if anything was left out.
func excerpt(body []byte, secrets []string) string {
	body = redact(body, secrets)
	w := body[:min(len(body), excerptWindow)]
	var b strings.Builder
	space := false
	i := 0
	for i < len(w) && b.Len() < excerptMax {
		c := w[i]
		switch {
		case c == '"':
			end := quotedEnd(w, i)
			if end < 0 { // cut: the string runs past the window
				b.WriteString(`"…`)
				i = len(w)
				continue
			}
			k := end + 1
			for k < len(w) && isSpace(w[k]) {
				k++
			}
			if k < len(w) && w[k] == ':' && end-i-1 <= excerptKeyMax {
				writeClean(&b, w[i:end+1])
			} else {
				b.WriteString(`"…"`)
			}
			i, space = end+1, false
		case isSpace(c):
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			i, space = i+1, true
		default:
			r, n := utf8.DecodeRune(w[i:])
			if r != utf8.RuneError && !unicode.IsControl(r) {
				b.WriteRune(r)
			}
			i, space = i+n, false
		}
	}
	s := strings.TrimRight(b.String(), " ")
	if i < len(body) && !strings.HasSuffix(s, "…") {
		s += "…"
	}
	return s
}

// quotedEnd returns the index of the quote closing the string that opens
// at w[start], or -1 if it is not closed within w.
func quotedEnd(w []byte, start int) int {
	for j := start + 1; j < len(w); j++ {
		switch w[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

// writeClean writes s without control characters or invalid UTF-8.
func writeClean(b *strings.Builder, s []byte) {
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r != utf8.RuneError && !unicode.IsControl(r) {
			b.WriteRune(r)
		}
		s = s[n:]
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// writeCall writes the start shared by the messages of APIError and
// DecodeError: "circle: METHOD /path: 404 Not Found".
func writeCall(b *strings.Builder, method, path string, status int) {
	b.WriteString("circle: ")
	if method != "" {
		b.WriteString(method)
		b.WriteByte(' ')
	}
	if path != "" {
		b.WriteString(path)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(status))
	if t := http.StatusText(status); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
}
