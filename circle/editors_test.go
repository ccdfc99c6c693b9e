package circle

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestAppTokenEditor(t *testing.T) {
	t.Parallel()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://example.com/x?y=1", strings.NewReader("b"))
	if err := AppTokenEditor("app-1")(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer app-1" {
		t.Errorf("Authorization = %q", got)
	}
	if req.URL.String() != "https://example.com/x?y=1" || req.Method != http.MethodGet {
		t.Error("the editor changed more than the headers")
	}
	err := AppTokenEditor("")(t.Context(), req)
	if err == nil {
		t.Error("an empty app token was accepted")
	}
}

type errSource struct{ err error }

func (s errSource) Token(context.Context) (Token, error) { return Token{}, s.err }

func TestMemberTokenEditor(t *testing.T) {
	t.Parallel()
	def := staticSource{Token{AccessToken: "default"}}
	ctxSrc := staticSource{Token{AccessToken: "from-context"}}
	for _, tc := range []struct {
		name    string
		ed      func(context.Context, *http.Request) error
		ctx     context.Context
		want    string
		wantErr error
	}{
		{"own source", MemberTokenEditor(def), context.Background(), "Bearer default", nil},
		{"context wins", MemberTokenEditor(def), WithTokenSource(context.Background(), ctxSrc), "Bearer from-context", nil},
		{"context only", MemberTokenEditor(nil), WithTokenSource(context.Background(), ctxSrc), "Bearer from-context", nil},
		{"nil context source", MemberTokenEditor(def), WithTokenSource(context.Background(), nil), "Bearer default", nil},
		{"none", MemberTokenEditor(nil), context.Background(), "", ErrNoTokenSource},
		{"source error", MemberTokenEditor(errSource{ErrForbidden}), context.Background(), "", ErrForbidden},
		{"empty token", MemberTokenEditor(staticSource{}), context.Background(), "", nil},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://example.com/", nil)
		err := tc.ed(tc.ctx, req)
		if got := req.Header.Get("Authorization"); got != tc.want {
			t.Errorf("%s: Authorization = %q, want %q", tc.name, got, tc.want)
		}
		if tc.wantErr != nil && !errors.Is(err, tc.wantErr) || tc.wantErr == nil && (err != nil) != (tc.want == "") {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
	if ts, ok := TokenSourceFromContext(WithTokenSource(context.Background(), ctxSrc)); !ok || ts != TokenSource(ctxSrc) {
		t.Error("TokenSourceFromContext does not return the source")
	}
	if _, ok := TokenSourceFromContext(context.Background()); ok {
		t.Error("TokenSourceFromContext found a source in an empty context")
	}
}
