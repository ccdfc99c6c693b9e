package circle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/circlekit/headless-go/gen/authv1"
	"github.com/circlekit/headless-go/internal/redact"
)

func TestAPIErrorIs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		msg    string
		want   error // nil: none of the four
	}{
		{401, "This access token has expired (test).", ErrUnauthorized},
		{401, "Not eligible for headless access on this plan (test).", ErrForbidden},
		{403, "This community's plan is not eligible for the headless APIs (test).", ErrForbidden},
		{403, "This action is not allowed for you (test).", ErrForbidden},
		{404, "No such record (test).", ErrNotFound},
		{429, "", ErrRateLimited},
		{400, "", nil}, {422, "Validation failed (test)", nil}, {500, "", nil},
	} {
		e := &APIError{StatusCode: tc.status, Message: tc.msg}
		wrapped := fmt.Errorf("wrapped: %w", e)
		for _, kind := range []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrRateLimited} {
			if got := errors.Is(wrapped, kind); got != errors.Is(kind, tc.want) {
				t.Errorf("%d %q: errors.Is(%v) = %v", tc.status, tc.msg, kind, got)
			}
		}
	}
}

func TestAPIErrorMessage(t *testing.T) {
	t.Parallel()
	e := &APIError{StatusCode: 404, Message: "Oops! Missing record.", Method: "GET", Path: "/api/headless/v1/posts/1", RequestID: "r-1"}
	if got, want := e.Error(), "circle: GET /api/headless/v1/posts/1: 404 Not Found: Oops! Missing record. (request id r-1)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := (&APIError{StatusCode: 599}).Error(), "circle: 599"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseErrorBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body, msg, details string
	}{
		{`{"success":false,"message":"This access token has expired (test).","error_details":{}}`, "This access token has expired (test).", "map[]"},
		{`{"success":false,"message":"x","error_details":{"message":"JWT::EncodeError"}}`, "x", "map[message:JWT::EncodeError]"},
		{`{"message":"x","error_details":null}`, "x", "<nil>"},
		{`{"message":["a","b"]}`, `["a","b"]`, "<nil>"},
		{`{"error":"boom"}`, "boom", "<nil>"},
		{`{"message":null,"error":"boom"}`, "boom", "<nil>"},
		{`<html>502</html>`, "", "<nil>"},
		{``, "", "<nil>"},
		{`[1,2]`, "", "<nil>"},
	} {
		msg, details := parseErrorBody([]byte(tc.body))
		if msg != tc.msg || fmt.Sprint(details) != tc.details {
			t.Errorf("parseErrorBody(%s) = %q, %v; want %q, %s", tc.body, msg, details, tc.msg, tc.details)
		}
	}
}

func FuzzParseErrorBody(f *testing.F) {
	for _, s := range []string{
		`{"success":false,"message":"This access token is not valid (test).","error_details":{}}`,
		`{"success":false,"message":"m","error_details":{"message":"JWT::EncodeError"}}`,
		`{"message":null,"error_details":null}`, `{"message":{"a":[1,2]}}`, `{"error":"e"}`,
		`<html></html>`, `null`, `"s"`, `{"message":"\u00e9\ud800"}`, ``,
	} {
		f.Add([]byte(s), "token-"+secretMark)
	}
	f.Fuzz(func(t *testing.T, body []byte, secret string) {
		msg, details := parseErrorBody(body)
		if !json.Valid(body) && (msg != "" || details != nil) {
			t.Fatalf("invalid JSON %q gave %q, %v", body, msg, details)
		}
		if msg != "" && !utf8.ValidString(msg) {
			t.Fatalf("message %q is not UTF-8", msg)
		}
		// A message written by encoding/json reads back as written.
		if utf8.ValidString(secret) {
			b, _ := json.Marshal(map[string]any{"success": false, "message": secret, "error_details": json.RawMessage(orNull(body))})
			if got, _ := parseErrorBody(b); got != secret {
				t.Fatalf("message %q read back as %q", secret, got)
			}
		}
		// Redaction removes the secret from what an error shows. (A secret
		// with brackets, or within the word "redacted", could be formed anew
		// by the marker; tokens have neither.)
		if secret != "" && !strings.ContainsAny(secret, "[]") && !strings.Contains("redacted", secret) { //nolint:gocritic // argOrder: a secret within the word "redacted" is what is asked, not the reverse
			red := redact.Redact(append(append(append([]byte{}, body...), secret...), body...), []string{secret})
			if bytes.Contains(red, []byte(secret)) {
				t.Fatalf("redact left %q in %q", secret, red)
			}
		}
	})
}

func orNull(b []byte) []byte {
	if json.Valid(b) {
		return b
	}
	return []byte("null")
}

// TestErrorsRedactTheTokensARequestCarried has servers answer 422 with a
// body that repeats the request's credentials and JSON body, as a careless
// server might.
func TestErrorsRedactTheTokensARequestCarried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("vic@example.com"))
	tok, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	echo := func(w http.ResponseWriter, r *http.Request, _ int64) {
		authz := r.Header.Get("Authorization")
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"success": false, "message": "bad header " + authz,
			"error_details": map[string]any{"header": authz, "list": []any{authz}},
		})
	}
	e.setMemberFn(echo)
	tr := e.memberTransport(ts)
	resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
	closeRespBody(t, resp)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, "[redacted]") {
		t.Fatalf("err = %v, want a redacted 422", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v %s", err, apiErr, apiErr, apiErr.Body), tok.AccessToken) {
		t.Error("the access token leaked")
	}

	// An Auth API call echoing the refresh token it was sent.
	srv := newEchoAuthServer(t)
	a, err := NewAuthClient(testAppToken, WithBaseURL(srv), WithLogger(e.log))
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.RefreshAccessTokenWithResponse(t.Context(), authv1.RefreshTokenBody{RefreshToken: tok.RefreshToken})
	e.scan.seen(err)
	if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, "[redacted]") {
		t.Fatalf("err = %v, want a redacted error", err)
	}
	if strings.Contains(string(apiErr.Body), tok.RefreshToken) || strings.Contains(string(apiErr.Body), testAppToken) {
		t.Errorf("the body kept a secret: %s", apiErr.Body)
	}
}

func newEchoAuthServer(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		var b map[string]string
		_ = json.NewDecoder(r.Body).Decode(&b)
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"success": false, "message": "cannot use " + b["refresh_token"] + " with " + r.Header.Get("Authorization"),
			"error_details": b,
		})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestTokenNeverShowsItsSecrets(t *testing.T) {
	t.Parallel()
	tok := Token{
		AccessToken: "acc-" + secretMark, RefreshToken: "ref-" + secretMark,
		AccessTokenExpiresAt: time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC), CommunityMemberID: 3, CommunityID: 4,
	}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10.3v"} {
		out = append(out, fmt.Sprintf(verb, tok), fmt.Sprintf(verb, &tok), fmt.Sprintf(verb, []Token{tok}),
			fmt.Sprintf(verb, struct{ T Token }{tok}))
	}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("t", "token", tok, "ptr", &tok)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("t", "token", tok)
	out = append(out, logs.String(), tok.String(), tok.GoString())
	for _, s := range out {
		if strings.Contains(s, secretMark) {
			t.Errorf("a secret shows: %s", s)
		}
	}
	if want := "circle.Token{CommunityMemberID: 3, CommunityID: 4, AccessToken: [redacted], AccessTokenExpiresAt: 2026-01-01T01:00:00Z, RefreshToken: [redacted], RefreshTokenExpiresAt: unknown}"; tok.String() != want {
		t.Errorf("String() = %q, want %q", tok.String(), want)
	}
	// The JSON encoding, for stores, keeps them.
	b, _ := json.Marshal(tok)
	var back Token
	if err := json.Unmarshal(b, &back); err != nil || back != tok {
		t.Errorf("JSON round trip: %v, %v", back, err)
	}
}

func TestClientsNeverShowTheirSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("wu@example.com"))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d"} {
		for _, v := range []any{e.auth, ts, []*MemberTokenSource{ts}, struct{ A *AuthClient }{e.auth}} {
			if s := fmt.Sprintf(verb, v); strings.Contains(s, secretMark) {
				t.Errorf("%s of %T shows a secret: %s", verb, v, s)
			}
		}
	}
}
