package circle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const secretValue = "app-TOKEN-do-not-print-0123456789"

// holder is what a struct of this package, or a user's, looks like when
// it keeps a secret: in an unexported field (fmt prints it by reflection,
// without calling its methods), in an exported one, and embedded.
type holder struct {
	URL    string
	token  secret
	Token  secret
	nested struct{ tok secret }
}

type embedder struct {
	holder
	Name string
}

func newHolder(v string) holder {
	h := holder{URL: "https://example.com", token: newSecret(v), Token: newSecret(v)}
	h.nested.tok = newSecret(v)
	return h
}

func TestSecretIsNeverShown(t *testing.T) {
	t.Parallel()
	s := newSecret(secretValue)
	if s.reveal() != secretValue || s.isZero() {
		t.Fatalf("reveal = %q, isZero %v", s.reveal(), s.isZero())
	}
	h := newHolder(secretValue)
	values := map[string]any{
		"secret": s, "*secret": &s, "holder": h, "*holder": &h,
		"embedder": embedder{holder: h, Name: "x"}, "[]secret": []secret{s}, "map": map[string]secret{"k": s},
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10.3s", "%T %v"} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, secretValue) || strings.Contains(out, fmt.Sprintf("%x", secretValue)) || strings.Contains(out, fmt.Sprintf("%X", secretValue)) {
				t.Errorf("fmt %s of %s shows the secret: %s", verb, name, out)
			}
		}
		for _, mk := range []func(*bytes.Buffer) slog.Handler{
			func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
			func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
		} {
			var buf bytes.Buffer
			slog.New(mk(&buf)).Info("msg", "v", v, slog.Any("any", v), slog.Group("g", "v", v))
			if strings.Contains(buf.String(), secretValue) {
				t.Errorf("slog of %s shows the secret: %s", name, buf.String())
			}
		}
		b, err := json.Marshal(v)
		if err != nil || bytes.Contains(b, []byte(secretValue)) {
			t.Errorf("json of %s: %s, %v", name, b, err)
		}
	}
	// What is shown.
	for _, tc := range []struct{ verb, want string }{
		{"%v", "[redacted]"}, {"%s", "[redacted]"}, {"%q", `"[redacted]"`}, {"%#v", `"[redacted]"`}, {"%x", "[redacted]"}, {"%d", "[redacted]"},
	} {
		if got := fmt.Sprintf(tc.verb, s); got != tc.want {
			t.Errorf("fmt %s = %q, want %q", tc.verb, got, tc.want)
		}
	}
	if b, _ := json.Marshal(map[string]secret{"t": s, "e": {}}); string(b) != `{"e":"","t":"[redacted]"}` {
		t.Errorf("json = %s", b)
	}
	if b, _ := s.MarshalText(); string(b) != "[redacted]" {
		t.Errorf("MarshalText = %s", b)
	}
	if got := s.LogValue().String(); got != "[redacted]" {
		t.Errorf("LogValue = %q", got)
	}
	// An empty secret shows as empty.
	var zero secret
	if got := fmt.Sprintf("%v|%s|%q|%#v", zero, newSecret(""), zero, zero); got != `||""|""` || !zero.isZero() || zero.reveal() != "" {
		t.Errorf("empty secret: %q", got)
	}
}

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
