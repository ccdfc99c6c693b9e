package circle

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/circlekit/headless-go/gen/authv1"
)

// elsewhere is a server of another origin that records what reaches it.
type elsewhere struct {
	*httptest.Server
	hits atomic.Int64
}

func newElsewhere(t *testing.T) *elsewhere {
	e := &elsewhere{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		writeJSON(w, 200, map[string]any{"access_token": "stolen", "refresh_token": "stolen"})
	}))
	t.Cleanup(e.Close)
	return e
}

// redirecting is a "Circle" that answers every request with a redirect of
// the given status to target, keeping the path.
func redirecting(t *testing.T, status int, target string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, target+r.URL.Path+"?secret=q", status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// followAll is a client whose own policy follows every redirect.
func followAll() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
}

// TestNoCredentialLeavesForAnotherOrigin: whatever the redirect status and
// whatever the HTTP client's own redirect policy, neither the app token
// (header), nor the tokens of a refresh or revoke (body), nor a member's
// access token reach another origin, and the caller gets a RedirectError
// naming the refused redirect without any secret.
func TestNoCredentialLeavesForAnotherOrigin(t *testing.T) {
	t.Parallel()
	evil := newElsewhere(t)
	clients := map[string][]Option{
		"default client":               nil,
		"WithHTTPClient zero value":    {WithHTTPClient(&http.Client{})},
		"WithHTTPClient follows all":   {WithHTTPClient(followAll())},
		"WithDoer of an *http.Client":  {WithDoer(followAll())},
		"WithHTTPClient own transport": {WithHTTPClient(&http.Client{Transport: &http.Transport{}, CheckRedirect: followAll().CheckRedirect})},
	}
	for name, opts := range clients {
		for _, status := range []int{301, 302, 303, 307, 308} {
			t.Run(fmt.Sprintf("%s/%d", name, status), func(t *testing.T) {
				base := redirecting(t, status, evil.URL)
				opts := append([]Option{WithBaseURL(base), WithRetryBackoff(1e6, 1e6)}, opts...)
				auth, err := NewAuthClient(testAppToken, opts...)
				if err != nil {
					t.Fatal(err)
				}
				ctx := t.Context()
				calls := map[string]func() error{
					"refresh": func() error {
						_, err := auth.RefreshAccessTokenWithResponse(ctx, authv1.RefreshTokenBody{RefreshToken: "ref-" + secretMark})
						return err
					},
					"revoke": func() error {
						_, err := auth.RevokeAccessTokenWithResponse(ctx, authv1.AccessTokenBody{AccessToken: "acc-" + secretMark})
						return err
					},
					"mint": func() error {
						_, err := auth.TokenSource(ByEmail("ada@example.com")).Token(ctx)
						return err
					},
					"member call": func() error {
						api, err := NewMemberClient(staticSource{Token{AccessToken: "acc-" + secretMark}}, opts...)
						if err != nil {
							return err
						}
						_, err = api.ListBookmarksWithResponse(ctx, nil)
						return err
					},
				}
				for call, do := range calls {
					err := do()
					var re *RedirectError
					if !errors.As(err, &re) {
						t.Errorf("%s: err = %v, want a *RedirectError", call, err)
						continue
					}
					if re.StatusCode != status || !strings.HasPrefix(re.Location, evil.URL) || strings.Contains(re.Location, "secret=") {
						t.Errorf("%s: %+v, want status %d to %s without the query", call, re, status, evil.URL)
					}
					if msg := fmt.Sprintf("%v %+v", err, re); strings.Contains(msg, secretMark) {
						t.Errorf("%s: the error shows a secret: %s", call, msg)
					}
				}
			})
		}
	}
	if n := evil.hits.Load(); n != 0 {
		t.Errorf("%d requests reached another origin", n)
	}
}

// TestMemberCallsFollowRedirectsWithinTheOrigin: a Member API call follows
// a redirect to another path of the base URL's origin; an Auth API call
// follows none, even there.
func TestMemberCallsFollowRedirectsWithinTheOrigin(t *testing.T) {
	t.Parallel()
	var landed atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/api/headless/v1/bookmarks", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved/bookmarks", http.StatusFound)
	})
	mux.HandleFunc("/moved/bookmarks", func(w http.ResponseWriter, r *http.Request) {
		landed.Add(1)
		if r.Header.Get("Authorization") != "Bearer acc-"+secretMark {
			writeFailure(w, 401, "no token")
			return
		}
		writeJSON(w, 200, map[string]any{"page": 1, "has_next_page": false, "records": []any{}})
	})
	mux.HandleFunc("/api/v1/headless/auth_token", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved/auth_token", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/moved/auth_token", func(http.ResponseWriter, *http.Request) {
		landed.Add(100)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	api, err := NewMemberClient(staticSource{Token{AccessToken: "acc-" + secretMark}}, WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := api.ListBookmarksWithResponse(t.Context(), nil); err != nil || r.JSON200 == nil {
		t.Fatalf("same-origin redirect of a member call: %v", err)
	}
	auth, err := NewAuthClient(testAppToken, WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = auth.TokenSource(ByEmail("ada@example.com")).Token(t.Context())
	var re *RedirectError
	if !errors.As(err, &re) || re.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("same-origin redirect of an Auth API call: %v, want a *RedirectError", err)
	}
	if n := landed.Load(); n != 1 {
		t.Errorf("landed %d, want 1 (the member call only)", n)
	}
}

// redirectingDoer is a Doer that is not an *http.Client and follows
// redirects itself, so the guard can only see where it ended.
type redirectingDoer struct{ hc *http.Client }

func (d redirectingDoer) Do(req *http.Request) (*http.Response, error) { return d.hc.Do(req) }

// TestAnyDoerThatFollowedARedirectFails: with a Doer whose redirects it
// cannot see, the client still refuses the result of a redirect to
// another origin (and documents that such a Doer must not follow them).
func TestAnyDoerThatFollowedARedirectFails(t *testing.T) {
	t.Parallel()
	evil := newElsewhere(t)
	base := redirecting(t, http.StatusFound, evil.URL)
	api, err := NewMemberClient(staticSource{Token{AccessToken: "acc-" + secretMark}}, WithBaseURL(base), WithDoer(redirectingDoer{followAll()}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.ListBookmarksWithResponse(t.Context(), nil)
	var re *RedirectError
	if !errors.As(err, &re) || !strings.HasPrefix(re.Location, evil.URL) {
		t.Errorf("err = %v, want a *RedirectError to %s", err, evil.URL)
	}
}

func TestRedirectErrorMessage(t *testing.T) {
	t.Parallel()
	e := &RedirectError{Method: "PATCH", Path: "/api/v1/headless/access_token/refresh", StatusCode: 307, Location: "https://elsewhere.example/x"}
	want := "circle: PATCH /api/v1/headless/access_token/refresh: refused to follow a 307 redirect to https://elsewhere.example/x"
	if e.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", e.Error(), want)
	}
}
