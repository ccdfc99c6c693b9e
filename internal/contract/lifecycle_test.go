package contract

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/authv1"
	"github.com/circlekit/headless-go/gen/memberv1"
)

const (
	opMint         = "createMemberToken"
	opRefresh      = "refreshAccessToken"
	opRevokeAccess = "revokeAccessToken"
	opRevokeRefr   = "revokeRefreshToken"
	opMe           = "getCurrentMember"
	opComment      = "createComment"
)

// authCalls is how many calls of each Auth API operation a test expects.
type authCalls struct{ mint, refresh, revokeAccess, revokeRefresh int }

func (e *env) authCalls() authCalls {
	c := e.counts()
	return authCalls{c[opMint], c[opRefresh], c[opRevokeAccess], c[opRevokeRefr]}
}

// wantAuth checks the Auth API calls the server has seen so far.
func (e *env) wantAuth(t *testing.T, step string, want authCalls) {
	t.Helper()
	if got := e.authCalls(); got != want {
		t.Fatalf("%s: Auth API calls %+v, want %+v", step, got, want)
	}
}

// me calls getCurrentMember through the member client and checks it
// succeeds.
func (e *env) me(c context.Context, t *testing.T, step string) {
	t.Helper()
	resp, err := e.api.GetCurrentMemberWithResponse(c)
	if err != nil {
		t.Fatalf("%s: getCurrentMember: %v", step, err)
	}
	if resp.JSON200 == nil {
		t.Fatalf("%s: getCurrentMember: status %d, no JSON200", step, resp.StatusCode())
	}
}

// staticSource hands out one token, whatever happens: it is not a
// circle.Refresher, so the member client does not replay after a 401.
type staticSource struct{ tok circle.Token }

func (s staticSource) Token(context.Context) (circle.Token, error) { return s.tok, nil }

// TestTokenLifecycle follows one member's tokens through the circle layer,
// with the client reading circletest's clock: the first call mints, later
// calls reuse the pair, a call past the access token's expiry refreshes it
// first (no 401 reaches the member), a call past the refresh token's
// expiry mints anew without trying the dead refresh token, and Revoke
// withdraws both tokens, after which the old ones are refused
// (ErrUnauthorized, ErrNotFound) and the source mints a new pair, as
// MemberTokenSource.Revoke documents.
func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []circletest.Option{
		circletest.WithAccessTokenTTL(time.Hour),
		circletest.WithRefreshTokenTTL(30 * 24 * time.Hour),
	})
	c := ctx(t)

	e.me(c, t, "first call")
	e.wantAuth(t, "first call", authCalls{mint: 1})
	first, err := e.source.Token(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.srv.Now().Add(time.Hour); !first.AccessTokenExpiresAt.Equal(want) {
		t.Errorf("access token expires at %v, want %v", first.AccessTokenExpiresAt, want)
	}
	if first.CommunityMemberID != e.member.ID {
		t.Errorf("token acts for member %d, want %d", first.CommunityMemberID, e.member.ID)
	}

	for range 3 {
		e.me(c, t, "reuse")
	}
	e.srv.Advance(30 * time.Minute)
	e.me(c, t, "half way through the access token's life")
	e.wantAuth(t, "reuse", authCalls{mint: 1})

	e.srv.Advance(31 * time.Minute) // past the access token's expiry
	e.me(c, t, "after access expiry")
	e.wantAuth(t, "after access expiry", authCalls{mint: 1, refresh: 1})
	refreshed, err := e.source.Token(c)
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.AccessToken == first.AccessToken || refreshed.RefreshToken != first.RefreshToken {
		t.Error("the refresh did not replace the access token alone")
	}
	if got := statuses(e.requests(opMe)); slices.Contains(got, http.StatusUnauthorized) {
		t.Errorf("getCurrentMember statuses %v: the refresh came late, after a 401", got)
	}

	// Just inside the expiry margin: refreshed before it expires.
	e.srv.Advance(time.Hour - 30*time.Second)
	e.me(c, t, "inside the expiry margin")
	e.wantAuth(t, "inside the expiry margin", authCalls{mint: 1, refresh: 2})

	e.srv.Advance(31 * 24 * time.Hour) // past the refresh token's expiry
	e.me(c, t, "after refresh expiry")
	e.wantAuth(t, "after refresh expiry", authCalls{mint: 2, refresh: 2})
	second, err := e.source.Token(c)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken {
		t.Error("re-minting kept the expired refresh token")
	}

	if err := e.source.Revoke(c); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	e.wantAuth(t, "revoke", authCalls{mint: 2, refresh: 2, revokeAccess: 1, revokeRefresh: 1})
	for _, r := range append(e.requests(opRevokeAccess), e.requests(opRevokeRefr)...) {
		if r.Status != http.StatusNoContent || r.MemberID != e.member.ID {
			t.Errorf("%s answered %d for member %d, want 204 for %d", r.OperationID, r.Status, r.MemberID, e.member.ID)
		}
	}

	// The revoked access token is refused: a client that cannot refresh
	// gets ErrUnauthorized.
	stale, err := circle.NewMemberClient(staticSource{second}, circle.WithBaseURL(e.srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = stale.GetCurrentMemberWithResponse(c)
	if !errors.Is(err, circle.ErrUnauthorized) {
		t.Fatalf("a call with the revoked access token: err = %v, want ErrUnauthorized", err)
	}
	var apiErr *circle.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Message == "" {
		t.Errorf("err = %#v, want an *APIError with status 401 and Circle's message", err)
	}
	if strings.Contains(err.Error(), second.AccessToken) || strings.Contains(string(apiErr.Body), second.AccessToken) {
		t.Error("the error shows the access token")
	}
	// So is the revoked refresh token.
	_, err = e.auth.RefreshAccessTokenWithResponse(c, authv1.RefreshTokenBody{RefreshToken: second.RefreshToken})
	if !errors.Is(err, circle.ErrNotFound) {
		t.Fatalf("refreshing with the revoked refresh token: err = %v, want ErrNotFound", err)
	}

	// The source itself mints a new pair on its next use.
	before := e.authCalls()
	e.me(c, t, "after revoke")
	before.mint++
	e.wantAuth(t, "after revoke", before)
	third, err := e.source.Token(c)
	if err != nil {
		t.Fatal(err)
	}
	if third.AccessToken == second.AccessToken || third.RefreshToken == second.RefreshToken {
		t.Error("the source reused the revoked pair")
	}
}

// TestIdentities mints through the member client for a member named each
// of the three ways, and for members circletest does not know: a known
// member's calls act for that member; an unknown one gets ErrNotFound from
// the mint, naming the Auth API call, and no Member API call is sent.
func TestIdentities(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := ctx(t)
	m := e.member
	for _, id := range []circle.Identity{circle.ByEmail(m.Email), circle.ByCommunityMemberID(m.ID), circle.BySSOUserID(m.SSOUserID)} {
		e.srv.ClearRequests()
		resp, err := e.api.GetCurrentMemberWithResponse(circle.WithTokenSource(c, e.auth.TokenSource(id)))
		if err != nil {
			t.Errorf("%v: %v", id, err)
			continue
		}
		if rec := recorded(t, e.srv, resp.HTTPResponse); rec.MemberID != m.ID {
			t.Errorf("%v: the call acted for member %d, want %d", id, rec.MemberID, m.ID)
		}
	}
	e.srv.ClearRequests()
	for _, id := range []circle.Identity{circle.ByEmail("nobody@example.com"), circle.ByCommunityMemberID(999999), circle.BySSOUserID("nobody")} {
		_, err := e.api.GetCurrentMemberWithResponse(circle.WithTokenSource(c, e.auth.TokenSource(id)))
		if !errors.Is(err, circle.ErrNotFound) {
			t.Errorf("%v: err = %v, want ErrNotFound", id, err)
			continue
		}
		if !strings.Contains(err.Error(), "POST /api/v1/headless/auth_token: 404") {
			t.Errorf("%v: error %q does not name the mint", id, err)
		}
	}
	if n := len(e.requests(opMe)); n != 0 {
		t.Errorf("%d Member API calls sent without a token", n)
	}
}

// TestServerClockAhead has circletest's clock run ahead of the client's
// (time.Now), so that the client believes tokens valid that Circle has
// expired: the member client must recover through the 401 alone.
func TestServerClockAhead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, circle.WithClock(time.Now))
	c := ctx(t)
	e.me(c, t, "first call")

	t.Run("access token expired", func(t *testing.T) {
		e.srv.ClearRequests()
		e.srv.Advance(2 * time.Hour)
		e.me(c, t, "after the server's access expiry")
		// 401, one refresh, one replay.
		if got := statuses(e.requests(opMe)); !slices.Equal(got, []int{401, 200}) {
			t.Errorf("getCurrentMember statuses %v, want [401 200]", got)
		}
		e.wantAuth(t, "after the server's access expiry", authCalls{refresh: 1})
	})
	t.Run("refresh token expired", func(t *testing.T) {
		e.srv.ClearRequests()
		e.srv.Advance(31 * 24 * time.Hour)
		e.me(c, t, "after the server's refresh expiry")
		// 401, the refresh refused, a new pair minted, one replay.
		if got := statuses(e.requests(opMe)); !slices.Equal(got, []int{401, 200}) {
			t.Errorf("getCurrentMember statuses %v, want [401 200]", got)
		}
		if got := statuses(e.requests(opRefresh)); !slices.Equal(got, []int{401}) {
			t.Errorf("refreshAccessToken statuses %v, want [401]", got)
		}
		e.wantAuth(t, "after the server's refresh expiry", authCalls{mint: 1, refresh: 1})
	})
}

// TestConcurrentRefresh checks that many calls arriving after the access
// token expired cause one refresh between them.
func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := ctx(t)
	e.me(c, t, "first call")
	e.srv.Advance(2 * time.Hour)

	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := e.api.GetCurrentMemberWithResponse(c)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	e.wantAuth(t, "after concurrent calls", authCalls{mint: 1, refresh: 1})
}

// TestReplayAfter401 has the Member API refuse a token the source believes
// valid: the member client refreshes once and sends the call once more,
// body included, and gives up with ErrUnauthorized when the replay is
// refused too.
func TestReplayAfter401(t *testing.T) {
	t.Parallel()

	t.Run("GET once", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.me(c, t, "first call")
		e.srv.InjectFault(opMe, circletest.Fault{Status: http.StatusUnauthorized, Times: 1})
		e.me(c, t, "after a 401")
		if got := statuses(e.requests(opMe)); !slices.Equal(got, []int{200, 401, 200}) {
			t.Errorf("getCurrentMember statuses %v, want [200 401 200]", got)
		}
		e.wantAuth(t, "after a 401", authCalls{mint: 1, refresh: 1})
		reqs := e.requests(opMe)
		if reqs[1].ID == reqs[2].ID {
			t.Error("the replay reused the request id")
		}
	})

	t.Run("POST with body", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.me(c, t, "first call")
		e.srv.InjectFault(opComment, circletest.Fault{Status: http.StatusUnauthorized, Times: 1})
		body := memberv1.CreateCommentJSONRequestBody{}
		if err := jsonInto(`{"comment":{"body":"Hello, replay"}}`, &body); err != nil {
			t.Fatal(err)
		}
		sp := e.srv.AddSpace(memberv1.Space{Name: "General"})
		post := e.srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: sp.ID}, Name: "Replays"}) // the post to comment on
		resp, err := e.api.CreateCommentWithResponse(c, post.ID, body)
		if err != nil {
			t.Fatalf("createComment after a 401: %v", err)
		}
		if resp.StatusCode()/100 != 2 {
			t.Fatalf("status %d", resp.StatusCode())
		}
		reqs := e.requests(opComment)
		if got := statuses(reqs); !slices.Equal(got, []int{401, resp.StatusCode()}) {
			t.Fatalf("createComment statuses %v, want [401 %d]", got, resp.StatusCode())
		}
		if string(reqs[0].Body) != string(reqs[1].Body) || len(reqs[1].Body) == 0 {
			t.Errorf("replayed body %q, first %q", reqs[1].Body, reqs[0].Body)
		}
		if reqs[1].ValidationError != nil {
			t.Errorf("the replay failed validation: %v", reqs[1].ValidationError)
		}
		e.wantAuth(t, "after a 401", authCalls{mint: 1, refresh: 1})
	})

	t.Run("refused twice", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.me(c, t, "first call")
		e.srv.InjectFault(opMe, circletest.Fault{Status: http.StatusUnauthorized, Times: 2})
		_, err := e.api.GetCurrentMemberWithResponse(c)
		if !errors.Is(err, circle.ErrUnauthorized) {
			t.Fatalf("err = %v, want ErrUnauthorized", err)
		}
		if got := statuses(e.requests(opMe)); !slices.Equal(got, []int{200, 401, 401}) {
			t.Errorf("getCurrentMember statuses %v, want [200 401 401]: one replay only", got)
		}
		e.wantAuth(t, "after two 401s", authCalls{mint: 1, refresh: 1})
	})

	t.Run("community not eligible", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.srv.SetCommunityEligible(false)
		_, err := e.api.GetCurrentMemberWithResponse(c)
		if !errors.Is(err, circle.ErrForbidden) {
			t.Fatalf("err = %v, want ErrForbidden", err)
		}
		if len(e.requests(opMe)) != 0 {
			t.Error("a Member API call was sent without a token")
		}
		e.srv.SetCommunityEligible(true)
		// The failed mint is remembered: until its backoff has passed,
		// calls fail at once, and Circle sees no mint.
		mints := len(e.requests(opMint))
		_, err = e.api.GetCurrentMemberWithResponse(c)
		var backoff *circle.BackoffError
		if !errors.As(err, &backoff) || !errors.Is(err, circle.ErrForbidden) {
			t.Fatalf("right after the failed mint: %v, want a *circle.BackoffError of the 403", err)
		}
		if got := len(e.requests(opMint)); got != mints {
			t.Errorf("%d mints during the backoff, want %d", got, mints)
		}
		time.Sleep(time.Until(backoff.Until))
		e.me(c, t, "eligible again")
	})
}

// TestRetries checks the member client's retries against injected faults:
// idempotent calls are retried after 5xx answers and dropped connections,
// honouring Retry-After, up to the retry limit; a POST is never retried.
func TestRetries(t *testing.T) {
	t.Parallel()

	t.Run("503 with Retry-After on GET", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.me(c, t, "first call")
		e.srv.InjectFault(opMe, circletest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: time.Second, Times: 2})
		start := time.Now()
		e.me(c, t, "after two 503s")
		if d := time.Since(start); d < 2*time.Second {
			t.Errorf("took %v; two Retry-After: 1 should take 2 s at least", d)
		}
		if got := statuses(e.requests(opMe)); !slices.Equal(got, []int{200, 503, 503, 200}) {
			t.Errorf("getCurrentMember statuses %v, want [200 503 503 200]", got)
		}
		e.wantAuth(t, "after retries", authCalls{mint: 1})
	})

	t.Run("retries exhausted", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil, circle.WithMaxRetries(2))
		c := ctx(t)
		e.srv.InjectFault(opMe, circletest.Fault{Status: http.StatusBadGateway, Times: 3})
		_, err := e.api.GetCurrentMemberWithResponse(c)
		var apiErr *circle.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway {
			t.Fatalf("err = %v, want an *APIError with status 502", err)
		}
		if got := len(e.requests(opMe)); got != 3 {
			t.Errorf("%d attempts, want 3 (1 + 2 retries)", got)
		}
		if apiErr.RequestID == "" || apiErr.Method != http.MethodGet || apiErr.Path != "/api/headless/v1/community_member" {
			t.Errorf("the error does not name the call: %+v", apiErr)
		}
	})

	t.Run("Retry-After too long", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil, circle.WithMaxRetryAfter(10*time.Second))
		c := ctx(t)
		e.srv.InjectFault(opMe, circletest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Minute, Times: 1})
		_, err := e.api.GetCurrentMemberWithResponse(c)
		if !errors.Is(err, circle.ErrRateLimited) {
			t.Fatalf("err = %v, want ErrRateLimited", err)
		}
		var apiErr *circle.APIError
		if errors.As(err, &apiErr) && apiErr.RetryAfter != time.Minute {
			t.Errorf("RetryAfter = %v, want 1m", apiErr.RetryAfter)
		}
		if got := len(e.requests(opMe)); got != 1 {
			t.Errorf("%d attempts, want 1", got)
		}
	})

	t.Run("dropped connection on GET", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.me(c, t, "first call")
		e.srv.InjectFault(opMe, circletest.Fault{Drop: true, Times: 1})
		e.me(c, t, "after a dropped connection")
		if got := statuses(e.requests(opMe)); !slices.Equal(got, []int{200, 0, 200}) {
			t.Errorf("getCurrentMember statuses %v, want [200 0 200]", got)
		}
	})

	t.Run("503 on POST is not retried", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.srv.InjectFault(opComment, circletest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
		body := memberv1.CreateCommentJSONRequestBody{}
		if err := jsonInto(`{"comment":{"body":"once"}}`, &body); err != nil {
			t.Fatal(err)
		}
		_, err := e.api.CreateCommentWithResponse(c, 7, body)
		var apiErr *circle.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("err = %v, want an *APIError with status 503", err)
		}
		if got := len(e.requests(opComment)); got != 1 {
			t.Errorf("%d attempts of a POST, want 1", got)
		}
	})

	t.Run("refresh answered 503", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.me(c, t, "first call")
		e.srv.Advance(2 * time.Hour)
		e.srv.InjectFault(opRefresh, circletest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
		_, err := e.api.GetCurrentMemberWithResponse(c)
		var apiErr *circle.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Path != "/api/v1/headless/access_token/refresh" {
			t.Fatalf("err = %v, want the refresh call's 503 as an *APIError", err)
		}
		if len(e.requests(opRefresh)) != 1 {
			t.Errorf("the PATCH refresh was sent %d times, want 1", len(e.requests(opRefresh)))
		}
		// The failure is remembered for a backoff, then the next call
		// refreshes.
		_, err = e.api.GetCurrentMemberWithResponse(c)
		var backoff *circle.BackoffError
		if !errors.As(err, &backoff) || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("right after the failed refresh: %v, want a *circle.BackoffError of the 503", err)
		}
		if len(e.requests(opRefresh)) != 1 {
			t.Errorf("during the backoff the refresh was sent %d times, want 1", len(e.requests(opRefresh)))
		}
		time.Sleep(time.Until(backoff.Until))
		e.me(c, t, "after the refresh failed once")
		e.wantAuth(t, "after the refresh failed once", authCalls{mint: 1, refresh: 2})
	})
}

// TestRevokeFailure has the Auth API fail the access token's revocation,
// on the first attempt and on both retries (revoke calls are retried on a
// 503): Revoke must report it, keep the access token it could not withdraw (and
// forget the refresh token it did), and a second Revoke must withdraw it,
// after which the old access token no longer works.
func TestRevokeFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	c := ctx(t)
	e.me(c, t, "first call")
	tok, err := e.source.Token(c)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.InjectFault(opRevokeAccess, circletest.Fault{Status: http.StatusServiceUnavailable, Times: 1 + circle.DefaultMaxRetries})
	err = e.source.Revoke(c)
	var apiErr *circle.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Path != "/api/v1/headless/access_token/revoke" {
		t.Fatalf("Revoke: err = %v, want the revoke call's 503", err)
	}
	e.wantAuth(t, "the failed Revoke", authCalls{mint: 1, revokeAccess: 3, revokeRefresh: 1})

	stale, err := circle.NewMemberClient(staticSource{tok}, circle.WithBaseURL(e.srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stale.GetCurrentMemberWithResponse(c); err != nil {
		t.Fatalf("after the failed Revoke the access token should still work: %v", err)
	}

	t.Run("retry of a failed Revoke", func(t *testing.T) {
		if err := e.source.Revoke(c); err != nil {
			t.Fatalf("the second Revoke: %v", err)
		}
		// Only the access token was left to revoke.
		e.wantAuth(t, "the second Revoke", authCalls{mint: 1, revokeAccess: 4, revokeRefresh: 1})
		if rec := e.requests(opRevokeAccess); len(rec) != 4 || rec[3].Status != http.StatusNoContent {
			t.Errorf("revokeAccessToken statuses %v, want [503 503 503 204]", statuses(rec))
		}
		_, err := stale.GetCurrentMemberWithResponse(c)
		if !errors.Is(err, circle.ErrUnauthorized) {
			t.Errorf("the revoked access token: err = %v, want ErrUnauthorized", err)
		}
		// Nothing is left: a third Revoke calls nothing, and Token mints.
		if err := e.source.Revoke(c); err != nil {
			t.Fatalf("the third Revoke: %v", err)
		}
		e.wantAuth(t, "the third Revoke", authCalls{mint: 1, revokeAccess: 4, revokeRefresh: 1})
		e.me(c, t, "after the Revoke")
		e.wantAuth(t, "after the Revoke", authCalls{mint: 2, revokeAccess: 4, revokeRefresh: 1})
	})
}
