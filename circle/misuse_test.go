package circle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// TestRevokeIsFinalForCallsInFlight: a Member API call sent before Revoke
// and answered 401 after it is not replayed with a new pair: it fails with
// ErrUnauthorized, and Circle sees no mint and no refresh. A call that
// begins after Revoke returned mints a new pair.
func TestRevokeIsFinalForCallsInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("bye@example.com"))
	tr := e.memberTransport(ts)
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	arrived, release := make(chan struct{}), make(chan struct{})
	var first sync.Once
	e.setMemberFn(func(w http.ResponseWriter, _ *http.Request, _ int64) {
		first.Do(func() { arrived <- struct{}{} })
		<-release
		writeFailure(w, http.StatusUnauthorized, "This access token was revoked (test).")
	})
	done := make(chan error, 1)
	go func() {
		resp, err := e.memberDo(context.Background(), tr, ts, http.MethodGet, "spaces", nil)
		closeRespBody(t, resp)
		done <- err
	}()
	<-arrived
	if err := ts.Revoke(t.Context()); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; !errors.Is(err, ErrUnauthorized) {
		t.Errorf("the call in flight: %v, want ErrUnauthorized", err)
	}
	if e.mints.Load() != 1 || e.refreshes.Load() != 0 {
		t.Errorf("after Revoke: %d mints, %d refreshes; want 1, 0", e.mints.Load(), e.refreshes.Load())
	}
	e.setMemberFn(nil)
	resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
	if err != nil {
		t.Fatalf("a call after Revoke: %v", err)
	}
	closeRespBody(t, resp)
	if e.mints.Load() != 2 {
		t.Errorf("%d mints, want 2: a call after Revoke mints a new pair", e.mints.Load())
	}
}

// TestUnsendableRequestsAreNotRetried: a request that cannot be sent as it
// is (an access token with a control character, an invalid header value,
// an unsupported scheme) fails at once with a clear error, never retried.
func TestUnsendableRequestsAreNotRetried(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	for name, tc := range map[string]struct {
		access string
		edit   memberv1.RequestEditorFn
	}{
		"control character in the access token": {access: "acc-" + secretMark + "\x01"},
		"newline in the access token":           {access: "acc-" + secretMark + "\nX-Evil: 1"},
		"invalid header value": {access: "acc", edit: func(_ context.Context, req *http.Request) error {
			req.Header["X-Trace"] = []string{"a\x7fb"}
			return nil
		}},
		"unsupported scheme": {access: "acc", edit: func(_ context.Context, req *http.Request) error {
			req.URL.Scheme = "gopher"
			return nil
		}},
	} {
		d := &countingDoer{next: http.DefaultClient}
		api, err := NewMemberClient(staticSource{Token{AccessToken: tc.access}}, WithBaseURL(srv.URL), WithDoer(d), WithRetryBackoff(time.Millisecond, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		var editors []memberv1.RequestEditorFn
		if tc.edit != nil {
			editors = append(editors, tc.edit)
		}
		start := time.Now()
		_, err = api.ListBookmarksWithResponse(t.Context(), nil, editors...)
		if err == nil || strings.Contains(err.Error(), secretMark) {
			t.Errorf("%s: err = %v, want an error without the token", name, err)
		}
		if d.n.Load() > 1 || time.Since(start) > 500*time.Millisecond {
			t.Errorf("%s: %d attempts in %v, want at most 1, at once", name, d.n.Load(), time.Since(start))
		}
	}
	if hits.Load() != 0 {
		t.Errorf("%d malformed requests reached the server", hits.Load())
	}
}

// TestBadAppTokensFailEarly: NewAuthClient refuses an app token that no
// request could carry, without showing it.
func TestBadAppTokensFailEarly(t *testing.T) {
	t.Parallel()
	for _, tok := range []string{"", " ", "app " + secretMark, secretMark + "\n", "\t" + secretMark, secretMark + "\x00", "é" + secretMark} {
		_, err := NewAuthClient(tok)
		if err == nil {
			t.Errorf("NewAuthClient(%q): no error", tok)
			continue
		}
		if strings.Contains(err.Error(), secretMark) || !strings.HasPrefix(err.Error(), "circle: NewAuthClient: ") {
			t.Errorf("NewAuthClient(%q): %q, want a circle: NewAuthClient error without the token", tok, err)
		}
	}
}

// roundTripperFunc is a RoundTripper that is not an *http.Transport, as a
// tracing library installs in http.DefaultTransport.
type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDefaultClientOverAReplacedDefaultTransport: the default client is
// built (without panicking) over whatever http.DefaultTransport a program
// installed, and uses it.
func TestDefaultClientOverAReplacedDefaultTransport(t *testing.T) {
	t.Parallel()
	var used atomic.Int64
	rt := roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"records": []any{}})
	}))
	t.Cleanup(srv.Close)
	api, err := NewMemberClient(staticSource{Token{AccessToken: "acc"}}, WithBaseURL(srv.URL), WithHTTPClient(newDefaultHTTPClient(rt, defaultClientLimits)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.ListBookmarksWithResponse(t.Context(), nil); err != nil || used.Load() != 1 {
		t.Errorf("err = %v, %d round trips through the replaced transport; want nil, 1", err, used.Load())
	}
	if c := newDefaultHTTPClient(nil, defaultClientLimits); c.Transport == nil {
		t.Error("no transport for a nil DefaultTransport")
	}
}

// TestAuthClientValueNeverShowsTheAppToken: printing an AuthClient value,
// or a struct that holds one, by any verb, shows no app token.
func TestAuthClientValueNeverShowsTheAppToken(t *testing.T) {
	t.Parallel()
	auth, err := NewAuthClient(testAppToken)
	if err != nil {
		t.Fatal(err)
	}
	type holder struct {
		A AuthClient
		P *AuthClient
	}
	type embeds struct {
		AuthClient
		Name string
	}
	var b strings.Builder
	for _, v := range []any{*auth, auth, holder{*auth, auth}, embeds{*auth, "x"}, &embeds{*auth, "x"}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%T"} {
			fmt.Fprintf(&b, verb+"\n", v)
		}
	}
	slog.New(slog.NewJSONHandler(&b, nil)).Info("client", "auth", auth, "value", *auth)
	if j, err := json.Marshal(holder{*auth, auth}); err == nil {
		b.Write(j)
	}
	if strings.Contains(b.String(), secretMark) {
		t.Errorf("the app token shows:\n%s", b.String())
	}
}

// TestSourceCacheIsLeastRecentlyUsed: with room for two sources, touching
// the older one keeps it, and the one not touched goes (first in, first
// out would drop the older one instead).
func TestSourceCacheIsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	auth, err := NewAuthClient(testAppToken, WithCacheSize(2))
	if err != nil {
		t.Fatal(err)
	}
	a := auth.TokenSource(ByEmail("a@example.com"))
	b := auth.TokenSource(ByEmail("b@example.com"))
	if auth.TokenSource(ByEmail("a@example.com")) != a {
		t.Fatal("a second call gave another source")
	}
	auth.TokenSource(ByEmail("c@example.com")) // drops b, the least recently used
	if !cached(auth, ByEmail("a@example.com")) {
		t.Error("the recently used source was dropped")
	}
	if cached(auth, ByEmail("b@example.com")) {
		t.Error("the least recently used source was kept")
	}
	// A source dropped from the cache but still held is the one given
	// for its member: one source per member in use.
	if auth.TokenSource(ByEmail("b@example.com")) != b {
		t.Error("a source still in use was replaced by another")
	}
}

// cached reports whether the cache of auth (not only a caller) holds id's
// source.
func cached(auth *AuthClient, id Identity) bool {
	c := auth.core.sources
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[id]
	return ok
}

// TestRetryAfterCapIsInclusive: a Retry-After at the cap is waited for and
// retried; one second more is not retried, and the error carries it.
func TestRetryAfterCapIsInclusive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		after    string
		attempts int64
	}{{"1", 2}, {"2", 1}} {
		srv, n := attemptServer(t, http.Header{"Retry-After": {tc.after}}, 503, 200)
		tr := newTestTransport(t, WithMaxRetryAfter(time.Second))
		resp, err := doRaw(t, tr, http.MethodGet, srv.URL, "")
		closeRespBody(t, resp)
		if n.Load() != tc.attempts {
			t.Errorf("Retry-After %s with a cap of 1 s: %d attempts, want %d", tc.after, n.Load(), tc.attempts)
		}
		var apiErr *APIError
		if tc.attempts == 1 && (!errors.As(err, &apiErr) || apiErr.RetryAfter != 2*time.Second) {
			t.Errorf("Retry-After %s: err = %v, want an *APIError with RetryAfter 2s", tc.after, err)
		}
	}
}

// TestStoreErrorsNeverLogTokens: a store whose errors quote the pair being
// saved (the new tokens, not yet held by the source) logs no token.
func TestStoreErrorsNeverLogTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, WithTokenStore(quotingStore{}))
	if _, err := e.auth.TokenSource(ByEmail("q@example.com")).Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.scan.logs.String(), "token store save failed") {
		t.Error("the store failure was not logged")
	}
	// The scanner of newEnv fails the test if a log line holds a token.
}

// quotingStore fails every call, quoting the pair it was given.
type quotingStore struct{}

func (quotingStore) Load(context.Context, Identity) (Token, bool, error) { return Token{}, false, nil }
func (quotingStore) Save(_ context.Context, _ Identity, tok Token) error {
	j, _ := json.Marshal(tok)
	return fmt.Errorf("cannot store %s (access %s)", j, tok.AccessToken)
}
func (quotingStore) Delete(context.Context, Identity) error { return nil }

// FuzzTokenResponse feeds any body and Date header to the decoding of a
// mint response: it never panics, and a pair it accepts has tokens a
// header can carry.
func FuzzTokenResponse(f *testing.F) {
	f.Add([]byte(`{"access_token":"a","refresh_token":"r","access_token_expires_at":"2026-01-02T03:04:05Z"}`), "Fri, 02 Jan 2026 02:04:05 GMT")
	f.Add([]byte(`{"access_token":"a\u0000","refresh_token":"r"}`), "")
	f.Add([]byte(`{"access_token":1}`), "garbage")
	f.Add([]byte(`{"access_token_expires_at":17}`), "Mon, 01 Jan 0001 00:00:00 GMT")
	calls := &tokenCalls{cfg: &config{now: time.Now}}
	f.Fuzz(func(t *testing.T, body []byte, date string) {
		resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Date": {date}, "Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(string(body))), Request: httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/v1/headless/auth_token", nil)}
		f, err := calls.read(resp)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || strings.Contains(err.Error(), string(body)) && len(body) > 16 {
				t.Fatalf("err = %v, want a *DecodeError not quoting the body", err)
			}
			return
		}
		_ = calls.expiry(resp, f.AccessTokenExpiresAt)
		_ = calls.expiry(resp, f.RefreshTokenExpiresAt)
	})
}

// TestSourcesNeverShowTheirTokens: printing a token source by value, or
// a struct that holds one in an unexported field (where fmt cannot call
// its methods), shows no token, even after a Revoke.
func TestSourcesNeverShowTheirTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("show@example.com"))
	tok, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Revoke(t.Context()); err != nil {
		t.Fatal(err)
	}
	type holder struct {
		static TokenSource
		member *MemberTokenSource
	}
	var b strings.Builder
	for _, v := range []any{ts, holder{StaticTokenSource(tok), ts}, &holder{StaticTokenSource(tok), ts}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			fmt.Fprintf(&b, verb+"\n", v)
		}
	}
	if strings.Contains(b.String(), secretMark) {
		t.Errorf("a token shows:\n%s", b.String())
	}
}

// TestErrorTextIsOneLine: what a server puts in its message or request id
// cannot forge lines in a log that prints the error.
func TestErrorTextIsOneLine(t *testing.T) {
	t.Parallel()
	e := &APIError{StatusCode: 400, Method: "GET", Path: "/x",
		Message: "bad\nlevel=ERROR msg=\"forged\"\r\x1b[31m\u2028end" + strings.Repeat("x", 2000), RequestID: "r\t1"}
	got := e.Error()
	if strings.ContainsAny(got, "\n\r\t\x1b\u2028") {
		t.Errorf("Error() = %q: holds a line break or a control character", got)
	}
	if !strings.HasPrefix(got, `circle: GET /x: 400 Bad Request: bad level=ERROR msg="forged" [31m end`) || len(got) > 600 {
		t.Errorf("Error() = %q", got)
	}
	if e.Message[3] != '\n' {
		t.Error("the Message field itself was changed")
	}
}

// TestNilSourcesDoNotPanic: a nil *MemberTokenSource given as a source (a
// careless caller's typed nil) counts as no source.
func TestNilSourcesDoNotPanic(t *testing.T) {
	t.Parallel()
	var none *MemberTokenSource
	api, err := NewMemberClient(none, WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithTokenSource(t.Context(), none)
	if _, named := TokenSourceFromContext(ctx); named {
		t.Error("a nil source was put in the context")
	}
	if _, err := api.ListBookmarksWithResponse(ctx, nil); !errors.Is(err, ErrNoTokenSource) {
		t.Errorf("err = %v, want ErrNoTokenSource", err)
	}
}

// TestCanceledCallerStartsNoMint: a Token call whose context has already
// ended costs Circle nothing.
func TestCanceledCallerStartsNoMint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := e.auth.TokenSource(ByEmail("gone@example.com")).Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	time.Sleep(20 * time.Millisecond) // a detached mint would have reached the fake by now
	if e.mints.Load() != 0 {
		t.Errorf("%d mints for a caller that was gone", e.mints.Load())
	}
}
