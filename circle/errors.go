package circle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/circlekit/headless-go/internal/redact"
)

// Kinds of failure an [*APIError] matches with [errors.Is].
var (
	// ErrUnauthorized matches a 401 response: the app token, the access token
	// or the refresh token was rejected. Circle's "community not eligible"
	// response, which the Member API sends with status 401, matches
	// ErrForbidden instead.
	ErrUnauthorized = errors.New("circle: unauthorized")
	// ErrForbidden matches a 403 response, and any response saying the
	// community is not eligible for headless API access (its plan does not
	// include it).
	ErrForbidden = errors.New("circle: forbidden")
	// ErrNotFound matches a 404 response.
	ErrNotFound = errors.New("circle: not found")
	// ErrRateLimited matches a 429 response.
	ErrRateLimited = errors.New("circle: rate limited")
)

// maxErrorBody is the most of an error body that is read.
const maxErrorBody = 1 << 20

// APIError is a non-2xx response of the Auth or Member API. The clients of
// this package return it as the error of the call, so a nil error means a
// 2xx response (and a 2xx response they cannot use is a [*DecodeError]).
// Use [errors.Is] with [ErrUnauthorized], [ErrForbidden],
// [ErrNotFound] or [ErrRateLimited] for the common kinds, and [errors.As]
// for the details. Any token the request carried is replaced by
// "[redacted]" in Message, Details and Body.
type APIError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Message is Circle's "message", for people; empty when the body has
	// none (a response from a proxy, for example).
	Message string
	// Details is Circle's "error_details" decoded as JSON (usually a
	// map[string]any), or nil.
	Details any
	// Method and Path are those of the request, without query or host.
	Method, Path string
	// RequestID is the X-Request-Id header of the response, if any; quote it
	// to Circle's support.
	RequestID string
	// Body is the response's body, at most its first MiB.
	Body []byte
	// RetryAfter is the wait the response's Retry-After header asked for, or
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
		writeOneLine(&b, e.Message, maxMessageShown)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		writeOneLine(&b, e.RequestID, 64)
		b.WriteByte(')')
	}
	return b.String()
}

// maxMessageShown is the most of Circle's message an error's text shows.
const maxMessageShown = 500

// writeOneLine writes s on one line, for an error's text: what a server
// sent may hold line breaks or control characters that would forge lines
// in a log, so each run of them becomes one space; s is cut at about limit
// bytes.
func writeOneLine(b *strings.Builder, s string, limit int) {
	space := false
	for i, r := range s {
		if i >= limit {
			b.WriteString("…")
			return
		}
		if unicode.IsControl(r) || r == utf8.RuneError || r == '\u2028' || r == '\u2029' {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		b.WriteRune(r)
		space = false
	}
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
func (e *APIError) notEligible() bool { return notEligible(e.StatusCode, e.Message) }

// notEligible reports whether a response of status with Circle's message
// says the community may not use the headless APIs.
func notEligible(status int, message string) bool {
	return (status == http.StatusUnauthorized || status == http.StatusForbidden) &&
		strings.Contains(strings.ToLower(message), "eligible")
}

// newAPIError describes the non-2xx response resp, whose body is body, to
// req, with every secret in secrets redacted.
func newAPIError(req *http.Request, resp *http.Response, body []byte, secrets []string, now time.Time) *APIError {
	body = redact.Redact(body, secrets)
	msg, details := parseErrorBody(body)
	// A secret JSON-escaped in the body is only seen once decoded.
	msg = redact.String(msg, secrets)
	details = redact.Any(details, secrets)
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

// DecodeError is a 2xx response of the Auth or Member API that cannot be
// what the specs promise: its Content-Type is not JSON, or its body is
// empty, cut short or not well-formed JSON (every 2xx response of the specs
// but 204 is a JSON body). The clients of this package return it as the
// error of the call instead of the response, so that a nil error means a 2xx
// response whose body, if it has one, is well-formed JSON; a caller never
// sees a 200 with a nil JSON200 because a login page or a proxy answered.
// A [MemberTokenSource] also returns it for an Auth API response that does
// not decode into, or lacks, the token it asked for.
//
// The body is not validated against the schema: see "Responses" in the
// package documentation.
//
// Use [errors.As] to get it; it unwraps to the cause, when there is one (a
// [*json.SyntaxError], a read error, a [*json.UnmarshalTypeError],
// [ErrResponseTooLarge]). It holds no token: Excerpt masks the body's
// string values and anything that looks like a token, and a member token
// source's own calls, whose responses carry newly issued tokens, leave it
// empty.
type DecodeError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Method and Path are those of the request, without query or host.
	Method, Path string
	// RequestID is the X-Request-Id header of the response, if any.
	RequestID string
	// ContentType is the response's Content-Type header, "" if it had none.
	ContentType string
	// Reason says what is wrong, for people: "is not JSON", "has an empty
	// body", "is not valid JSON", "was cut short", "does not decode",
	// "carries no token pair"...
	Reason string
	// Excerpt is the start of the body, for people: at most about 80
	// characters, white space collapsed, every double-quoted string but an
	// object key replaced by "…", every run of letters, digits and
	// punctuation that could be a token (8 characters or more with a
	// digit, or 16 or more with both upper and lower case letters)
	// replaced by "…", and the request's credentials redacted.
	Excerpt string
	// Err is the cause, or nil.
	Err error
}

// Error returns a one-line description such as `circle: GET
// /api/headless/v1/community_member: 200 OK response is not JSON
// (Content-Type "text/html", request id 4f1c); body "<!DOCTYPE html>…"`.
func (e *DecodeError) Error() string {
	var b strings.Builder
	writeCall(&b, e.Method, e.Path, e.StatusCode)
	b.WriteString(" response ")
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

// decodeFailure is what is wrong with a 2xx response: the reason, for
// people, its cause, and what was read of the body, for the excerpt.
type decodeFailure struct {
	reason string
	err    error
	body   []byte
}

// newDecodeError describes the unusable 2xx response resp to req, with
// every secret in secrets redacted from the excerpt of its body.
func newDecodeError(req *http.Request, resp *http.Response, f decodeFailure, secrets []string) *DecodeError {
	e := &DecodeError{
		StatusCode:  resp.StatusCode,
		RequestID:   resp.Header.Get("X-Request-Id"),
		ContentType: resp.Header.Get("Content-Type"),
		Reason:      f.reason,
		Err:         f.err,
	}
	if req != nil {
		e.Method, e.Path = req.Method, req.URL.Path
	}
	if len(f.body) > 0 {
		e.Excerpt = excerpt(f.body, secrets)
	}
	return e
}

// decodeError is newDecodeError for a response of the call.
func (c *call) decodeError(resp *http.Response, f decodeFailure) *DecodeError {
	var secrets []string
	if len(f.body) > 0 {
		secrets = c.secrets()
	}
	return newDecodeError(c.cur, resp, f, secrets)
}

// failure is the error a call ends with: its typed errors as they are, and
// an error of the Doer (the connection) named with the call.
func (c *call) failure(err error) error {
	var (
		api      *APIError
		decode   *DecodeError
		redirect *RedirectError
	)
	switch {
	case errors.As(err, &redirect):
		return redirect
	case errors.As(err, &api), errors.As(err, &decode):
		return err
	case c.retries > 0:
		return wrapf(err, "%s %s: after %d attempts", c.req.Method, c.req.URL.Path, c.attempt)
	}
	return wrapf(err, "%s %s", c.req.Method, c.req.URL.Path)
}

// tokenResponseError is the error of a 2xx Auth API response that does not
// carry the tokens asked for. Its cause is kept only when it is a
// *json.UnmarshalTypeError or a *json.SyntaxError, whose texts name types,
// fields and offsets alone: another (a time that does not parse, say)
// could quote a value, which could be a token.
func tokenResponseError(resp *http.Response, reason string, cause error) *DecodeError {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case cause == nil:
	case errors.As(cause, &typeErr):
		cause = typeErr
	case errors.As(cause, &syntaxErr):
		cause = syntaxErr
	default:
		cause = errUndecodableValue
	}
	return newDecodeError(resp.Request, resp, decodeFailure{reason: reason, err: cause}, nil)
}

// errUndecodableValue stands for a decoding error of a token response
// whose text could hold a token.
var errUndecodableValue = errors.New("a value is malformed (not shown: it could be a token)")

// ErrResponseTooLarge matches (with [errors.Is]) the [*DecodeError] of a
// 2xx response whose body is longer than the limit of
// [WithMaxResponseSize]. Such a call is not retried.
var ErrResponseTooLarge = errors.New("circle: response too large")

// byteSize writes n bytes for people: "32 MiB", "1500 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// wrapError adds what was being done to an error, keeping the package's
// prefix once: "circle: member token: POST /...: 401 Unauthorized".
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string {
	return "circle: " + e.msg + ": " + strings.TrimPrefix(e.err.Error(), "circle: ")
}

func (e *wrapError) Unwrap() error { return e.err }

// wrapf wraps err with the message format makes of args.
func wrapf(err error, format string, args ...any) error {
	return &wrapError{msg: fmt.Sprintf(format, args...), err: err}
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
// attribute) is replaced by "…", so is every run of token characters
// that could be a token, runs of white space become one space,
// control characters and invalid UTF-8 are dropped, and the result is cut
// at about excerptMax bytes, ending in "…" if anything was left out.
func excerpt(body []byte, secrets []string) string {
	body = redact.Redact(body, secrets)
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
		case tokenByte(c):
			end := i
			var digit, upper, lower bool
			for ; end < len(w) && tokenByte(w[end]); end++ {
				c := w[end]
				digit = digit || '0' <= c && c <= '9'
				upper = upper || 'A' <= c && c <= 'Z'
				lower = lower || 'a' <= c && c <= 'z'
			}
			if run := end - i; run >= 8 && digit || run >= 16 && upper && lower {
				b.WriteString("…")
			} else {
				end = min(end, i+excerptMax-b.Len())
				b.Write(w[i:end])
			}
			i, space = end, false
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

// tokenByte reports whether c can be part of a token as Circle or a proxy
// might spell one: a JWT, base64 (standard or URL), hex, or
// percent-encoded text.
func tokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=' || c == '%'
}

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

// RedirectError is the error of a call that a server answered with a
// redirect the client refused to follow. Every request of this package
// carries a credential (the app token, a member's access token, or tokens
// in its body), so the clients never send one to an origin (scheme, host
// and port) other than their base URL's: Auth API calls follow no
// redirect at all, and Member API calls follow none to another origin.
// A RedirectError is not retried.
type RedirectError struct {
	// Method and Path are those of the request that was redirected.
	Method, Path string
	// StatusCode is the status of the redirect (301, 302, 303, 307 or
	// 308), or 0 when the request was refused before it was sent.
	StatusCode int
	// Location is where the redirect pointed: its scheme, host and path,
	// without user information, query or fragment.
	Location string
}

// Error returns a one-line description such as `circle: PATCH
// /api/v1/headless/access_token/refresh: refused to follow a 307 redirect
// to https://elsewhere.example/refresh`.
func (e *RedirectError) Error() string {
	var b strings.Builder
	b.WriteString("circle: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	if e.StatusCode == 0 {
		b.WriteString(": refused to send credentials to ")
	} else {
		b.WriteString(": refused to follow a ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteString(" redirect to ")
	}
	b.WriteString(e.Location)
	return b.String()
}

// newRedirectError is the error of the call req refused to follow to
// target, after a response of the given status (0 when nothing was sent).
func newRedirectError(req *http.Request, status int, target *url.URL) *RedirectError {
	return &RedirectError{Method: req.Method, Path: req.URL.Path, StatusCode: status, Location: shown(target)}
}

// shown is u for an error message: no user information, query or
// fragment, which could hold secrets.
func shown(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return v.String()
}

// BackoffError is the error of a Token call made while a member's source
// waits after a failed mint or refresh, or after the Member API rejected
// the member's new tokens too (see [MemberTokenSource]): the source
// returns it at once, without calling Circle. It unwraps to the failure,
// so [errors.Is] and [errors.As] see the [*APIError] or the kind
// ([ErrRateLimited], [ErrUnauthorized]...) that caused it.
type BackoffError struct {
	// Until is when the source may ask Circle again.
	Until time.Time
	// Err is the failure being remembered.
	Err error
}

// Error says until when the source waits, and why.
func (e *BackoffError) Error() string {
	return "circle: backing off until " + e.Until.UTC().Format(time.RFC3339) +
		": " + strings.TrimPrefix(e.Err.Error(), "circle: ")
}

// Unwrap returns the failure being remembered.
func (e *BackoffError) Unwrap() error { return e.Err }

// errKeepRejection marks the errors of RefreshRejected that mean "the 401
// stands": the member client then returns the 401 itself.
var errKeepRejection = errors.New("circle: the rejection stands")

// rejectedError is the failure a source remembers when the Member API
// rejected its new tokens too.
type rejectedError struct{ n int }

func (e *rejectedError) Error() string {
	return fmt.Sprintf("circle: the Member API rejected %d access tokens of this member in a row, new ones included: the member or the community has no access", e.n)
}

func (e *rejectedError) Is(target error) bool {
	return target == ErrUnauthorized || target == errKeepRejection
}

// revokedError is the error of a call whose token was revoked.
type revokedError string

func (e revokedError) Error() string { return string(e) }

func (e revokedError) Is(target error) bool {
	return target == ErrUnauthorized || target == errKeepRejection
}

var (
	errRevokedToken        error = revokedError("circle: the access token was revoked")
	errRevokedWhileWaiting error = revokedError("circle: the member's tokens were revoked while this call waited for them")
)
