package circle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStaticTokenSource(t *testing.T) {
	t.Parallel()
	tok := Token{AccessToken: "acc-" + secretMark, RefreshToken: "ref-" + secretMark}
	got, err := StaticTokenSource(tok).Token(t.Context())
	if err != nil || got != tok {
		t.Errorf("Token() = %v, %v; want the token given", got, err)
	}
	if _, err := StaticTokenSource(Token{}).Token(t.Context()); err == nil {
		t.Error("a static source without an access token gave no error")
	}
	if s := fmt.Sprintf("%v %+v %#v %s", StaticTokenSource(tok), StaticTokenSource(tok), StaticTokenSource(tok), StaticTokenSource(tok)); strings.Contains(s, secretMark) {
		t.Errorf("a static source shows its token: %s", s)
	}
}

func TestTokenValid(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, tc := range []struct {
		tok  Token
		want bool
	}{
		{Token{}, false},
		{Token{AccessToken: "a"}, true}, // expiry unknown
		{Token{AccessToken: "a", AccessTokenExpiresAt: now.Add(time.Hour)}, true},
		{Token{AccessToken: "a", AccessTokenExpiresAt: now.Add(5 * time.Second)}, false}, // within the margin
		{Token{AccessToken: "a", AccessTokenExpiresAt: now.Add(-time.Second)}, false},
		{Token{RefreshToken: "r", AccessTokenExpiresAt: now.Add(time.Hour)}, false},
	} {
		if got := tc.tok.Valid(); got != tc.want {
			t.Errorf("%v.Valid() = %v, want %v", tc.tok, got, tc.want)
		}
	}
}

// TestNewHTTPClient: the *http.Client attaches the member's token, replays
// once after a 401 with a new one, keeps non-2xx responses as responses,
// hands 2xx bodies over unchecked, and sends nothing to another origin.
func TestNewHTTPClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("raw@example.com"))
	hc, err := NewHTTPClient(ts, WithBaseURL(e.URL), WithClock(e.clock.Now), WithRetryBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// get sends GET path and returns the status, the body, and the member
	// the fake served.
	get := func(path string) (int, string, int64) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.URL+"/api/headless/v1/"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		var v struct{ Member int64 }
		_ = json.Unmarshal(b, &v)
		return resp.StatusCode, string(b), v.Member
	}
	if _, _, m := get("spaces"); m == 0 {
		t.Error("no member was served")
	}
	e.dropAccess() // the next call is answered 401, then replayed with a new token
	if _, _, m := get("spaces"); m == 0 || e.refreshes.Load() != 1 {
		t.Errorf("after a 401: member %d, %d refreshes; want a member and 1", m, e.refreshes.Load())
	}
	e.setMemberFn(func(w http.ResponseWriter, r *http.Request, _ int64) {
		if strings.HasSuffix(r.URL.Path, "/missing") {
			writeFailure(w, http.StatusNotFound, "no such thing (test)")
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		_, _ = io.WriteString(w, "a,b\n1,2\n")
	})
	if status, _, _ := get("missing"); status != http.StatusNotFound {
		t.Errorf("status %d, want the 404 as a response", status)
	}
	if status, body, _ := get("export.csv"); status != http.StatusOK || body != "a,b\n1,2\n" {
		t.Errorf("a 2xx body that is not JSON: %d %q, want it as it is", status, body)
	}
	evil := newElsewhere(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, evil.URL+"/steal", nil)
	resp, err := hc.Do(req)
	if resp != nil {
		_ = resp.Body.Close()
	}
	var re *RedirectError
	if !errors.As(err, &re) || evil.hits.Load() != 0 {
		t.Errorf("a request to another origin: %v (%d hits), want a *RedirectError and none", err, evil.hits.Load())
	}
}

// TestOptionsOfTheTokenSourcesAreRefusedElsewhere: an option that only the
// token sources of an AuthClient use is an error for the other
// constructors, naming it.
func TestOptionsOfTheTokenSourcesAreRefusedElsewhere(t *testing.T) {
	t.Parallel()
	for name, opt := range map[string]Option{
		"WithTokenStore":         WithTokenStore(NewMemoryStore()),
		"WithCacheSize":          WithCacheSize(3),
		"WithExpiryMargin":       WithExpiryMargin(time.Second),
		"WithStoreTimeout":       WithStoreTimeout(time.Second),
		"WithStoreCapacity":      WithStoreCapacity(3),
		"WithTokenBackoff":       WithTokenBackoff(time.Second, time.Minute),
		"WithMinRefreshInterval": WithMinRefreshInterval(time.Second),
	} {
		if _, err := NewMemberClient(nil, opt); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("NewMemberClient with %s: %v, want an error naming it", name, err)
		}
		if _, err := NewHTTPClient(nil, opt); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("NewHTTPClient with %s: %v, want an error naming it", name, err)
		}
		if _, err := NewAuthClient(testAppToken, opt); err != nil {
			t.Errorf("NewAuthClient with %s: %v", name, err)
		}
	}
}

// TestMemberClientInheritsTheAuthClientsSettings: AuthClient.NewMemberClient
// uses the auth client's base URL, HTTP client, clock and logger.
func TestMemberClientInheritsTheAuthClientsSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serveBookmarks(t, e, 3, 10)
	ts := e.auth.TokenSource(ByEmail("heir@example.com"))
	api, err := e.auth.NewMemberClient(ts) // no options: all inherited
	if err != nil {
		t.Fatal(err)
	}
	r, err := api.ListBookmarksWithResponse(t.Context(), nil)
	if err != nil || r.JSON200 == nil {
		t.Fatalf("ListBookmarks through the inherited settings: %v", err)
	}
	if !strings.Contains(e.scan.logs.String(), "/api/headless/v1/bookmarks") {
		t.Error("the inherited logger logged nothing of the member call")
	}
	if _, err := e.auth.NewMemberClient(ts, WithTokenStore(NewMemoryStore())); err == nil {
		t.Error("AuthClient.NewMemberClient accepted WithTokenStore")
	}
}
