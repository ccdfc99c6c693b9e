package circle

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
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
// 2xx answer. Use [errors.Is] with [ErrUnauthorized], [ErrForbidden],
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
	b.WriteString("circle: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
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
// headless APIs ("Community does not eligible for headless API access.",
// "Your community isn't eligible ..."), which the Member API sends as 401.
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

// redact replaces every occurrence of each secret in b.
func redact(b []byte, secrets []string) []byte {
	for _, s := range secrets {
		if s != "" && bytes.Contains(b, []byte(s)) {
			b = bytes.ReplaceAll(b, []byte(s), []byte("[redacted]"))
		}
	}
	return b
}

// redactString replaces every occurrence of each secret in s.
func redactString(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// redactAny redacts the strings of a decoded JSON value.
func redactAny(v any, secrets []string) any {
	switch v := v.(type) {
	case string:
		return redactString(v, secrets)
	case map[string]any:
		for k, x := range v {
			v[k] = redactAny(x, secrets)
		}
	case []any:
		for i, x := range v {
			v[i] = redactAny(x, secrets)
		}
	}
	return v
}
