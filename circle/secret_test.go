package circle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/circlekit/headless-go/internal/redact/redacttest"
)

// leaks, jsonEscapeAll and percentAll are redacttest's, under the names
// the tests of this package use.
func leaks(out, secret string) string           { return redacttest.Leaks(out, secret) }
func jsonEscapeAll(s string, upper bool) string { return redacttest.JSONEscapeAll(s, upper) }
func percentAll(s string, upper bool) string    { return redacttest.PercentAll(s, upper) }

// An Auth API error body that echoes the app token, JSON-escaped, keeps
// it out of the error: its message, details, body and text.
func TestAPIErrorRedactsEscapedTokens(t *testing.T) {
	t.Parallel()
	const app = "app/Token+Secret=42abcdef"
	esc := jsonEscapeAll(app, true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"success":false,"message":"token \"%s\" is not valid","error_details":{"token":"%s","url":"https://x.test/?t=%s","b64":"%s"}}`,
			strings.ReplaceAll(app, "/", `\/`), esc, percentAll(app, false), "QmVhcmVyIGFwcC9Ub2tlbitTZWNyZXQ9NDJhYmNkZWY=")
	}))
	defer srv.Close()
	auth, err := NewAuthClient(app, WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = auth.TokenSource(ByEmail("ada@example.com")).Token(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("Token error %v, want an *APIError", err)
	}
	details, _ := json.Marshal(ae.Details)
	for field, v := range map[string]string{"Error()": err.Error(), "Message": ae.Message, "Details": string(details), "Body": string(ae.Body)} {
		if how := leaks(v, app); how != "" {
			t.Errorf("%s holds the app token %s: %s", field, how, v)
		}
	}
	if !strings.Contains(ae.Message, "token \"[redacted]\" is not valid") {
		t.Errorf("Message = %q", ae.Message)
	}
}
