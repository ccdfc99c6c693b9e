package circle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"weak"
)

func TestTokenMintsOnceForConcurrentFirstCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mintDelay = 50 * time.Millisecond
	ts := e.auth.TokenSource(ByEmail("ada@example.com"))

	const n = 500
	var wg sync.WaitGroup
	toks := make([]Token, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { toks[i], errs[i] = ts.Token(t.Context()) })
	}
	wg.Wait()
	for i := range n {
		e.scan.seen(errs[i])
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if toks[i] != toks[0] {
			t.Fatalf("caller %d got %v, caller 0 got %v", i, toks[i], toks[0])
		}
	}
	if got := e.mints.Load(); got != 1 {
		t.Errorf("%d mints for %d concurrent first calls, want 1", got, n)
	}
	if toks[0].CommunityMemberID != 1 || toks[0].CommunityID != 7 || toks[0].RefreshToken == "" ||
		!toks[0].AccessTokenExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
		t.Errorf("token = %v", toks[0])
	}
}

func TestTokenIsCachedUntilTheMargin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByCommunityMemberID(42))
	first, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Hour - 61*time.Second) // 61 s left, margin 60 s
	again, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if again != first || e.mints.Load() != 1 || e.refreshes.Load() != 0 {
		t.Fatalf("before the margin: same token %v, mints %d, refreshes %d; want cached, 1, 0",
			again == first, e.mints.Load(), e.refreshes.Load())
	}
	e.clock.Advance(2 * time.Second) // 59 s left
	fresh, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == first.AccessToken || e.refreshes.Load() != 1 || e.mints.Load() != 1 {
		t.Fatalf("inside the margin: new token %v, mints %d, refreshes %d; want refreshed, 1, 1",
			fresh.AccessToken != first.AccessToken, e.mints.Load(), e.refreshes.Load())
	}
	if fresh.RefreshToken != first.RefreshToken || fresh.CommunityMemberID != first.CommunityMemberID {
		t.Errorf("refresh changed the pair's other fields: %v -> %v", first, fresh)
	}
}

func TestTokenMarginIsAtMostHalfTheLifetime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, WithExpiryMargin(10*time.Minute))
	e.accessTTL = 4 * time.Minute // margin 10 min > half of 4 min: 2 min is used
	ts := e.auth.TokenSource(BySSOUserID("u-1"))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2*time.Minute - time.Second)
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := e.refreshes.Load(); n != 0 {
		t.Fatalf("refreshed %d times with more than half the lifetime left", n)
	}
	e.clock.Advance(2 * time.Second)
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := e.refreshes.Load(); n != 1 {
		t.Fatalf("refreshed %d times with less than half the lifetime left, want 1", n)
	}
}

func TestTokenRefreshesOnceForConcurrentCallersNearExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("bob@example.com"))
	old, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	e.refreshGate = gate
	e.clock.Advance(time.Hour - 30*time.Second)

	const n = 500
	var wg sync.WaitGroup
	var started atomic.Int64
	toks := make([]Token, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			started.Add(1)
			toks[i], errs[i] = ts.Token(t.Context())
		})
	}
	for started.Load() < n {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let them all reach the wait
	close(gate)
	wg.Wait()
	for i := range n {
		e.scan.seen(errs[i])
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if toks[i].AccessToken == old.AccessToken || toks[i] != toks[0] {
			t.Fatalf("caller %d got %v (old %v, caller 0 %v)", i, toks[i], old, toks[0])
		}
	}
	if got := e.refreshes.Load(); got != 1 {
		t.Errorf("%d refreshes for %d concurrent callers, want 1", got, n)
	}
	if got := e.mints.Load(); got != 1 {
		t.Errorf("%d mints, want 1", got)
	}
}

func TestTokenMintsAnewWhenTheRefreshTokenIsRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		reject func(e *env)
	}{
		{"unknown (404)", func(e *env) { e.dropRefresh() }},
		{"expired (401)", func(e *env) { e.refreshStatus = 401 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ts := e.auth.TokenSource(ByEmail("cy@example.com"))
			old, err := ts.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			tc.reject(e)
			e.clock.Advance(time.Hour)
			tok, err := ts.Token(t.Context())
			e.scan.seen(err)
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken == old.RefreshToken || tok.AccessToken == old.AccessToken {
				t.Errorf("the pair was not minted anew: %v", tok)
			}
			if e.refreshes.Load() != 1 || e.mints.Load() != 2 {
				t.Errorf("refreshes %d, mints %d; want 1, 2", e.refreshes.Load(), e.mints.Load())
			}
		})
	}
}

func TestTokenMintsWithoutRefreshingAnExpiredRefreshToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("di@example.com"))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(31 * 24 * time.Hour)
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.refreshes.Load() != 0 || e.mints.Load() != 2 {
		t.Errorf("refreshes %d, mints %d; want 0, 2", e.refreshes.Load(), e.mints.Load())
	}
}

func TestTokenErrorsAreTypedAndTheSourceRecovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("ed@example.com"))
	e.mintStatus.Store(422)
	_, err := ts.Token(t.Context())
	e.scan.seen(err)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity || apiErr.Path != basePath+"/api/v1/headless/auth_token" {
		t.Fatalf("err = %v, want a 422 *APIError of the mint call", err)
	}
	e.mintStatus.Store(0)
	// Until the backoff has passed, the failure is returned without a call.
	var backoff *BackoffError
	if _, err := ts.Token(t.Context()); !errors.As(err, &backoff) || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("right after the failure: %v, want a *BackoffError of the 422", err)
	}
	if got := e.mints.Load(); got != 1 {
		t.Fatalf("%d mints during the backoff, want 1", got)
	}
	time.Sleep(time.Until(backoff.Until))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatalf("after the backoff: %v", err)
	}
	if got := e.mints.Load(); got != 2 {
		t.Errorf("%d mints, want 2 (a failed mint is not retried: POST)", got)
	}
}

func TestTokenBadAppTokenIsUnauthorized(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	auth, err := NewAuthClient("wrong-"+secretMark, WithBaseURL(e.URL), WithLogger(e.log))
	if err != nil {
		t.Fatal(err)
	}
	_, err = auth.TokenSource(ByEmail("x@example.com")).Token(t.Context())
	e.scan.seen(err)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
}

func TestTokenCallerStopsWaitingWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("fay@example.com"))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	e.refreshGate = gate
	e.clock.Advance(time.Hour)

	// The caller that starts the refresh gives up at once...
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := ts.Token(ctx); done <- err }()
	for e.refreshes.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the canceled caller still waits")
	}
	// ... and so does a caller with a deadline ...
	short, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel2()
	start := time.Now()
	if _, err := ts.Token(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("waited %v past the deadline", d)
	}
	// ... but the refresh goes on, for a patient caller.
	res := make(chan Token, 1)
	go func() { tok, _ := ts.Token(t.Context()); res <- tok }()
	time.Sleep(10 * time.Millisecond)
	close(gate)
	tok := <-res
	if tok.AccessToken == "" {
		t.Fatal("the patient caller got no token")
	}
	if got := e.refreshes.Load(); got != 1 {
		t.Errorf("%d refreshes, want 1: the refresh was restarted or cancelled", got)
	}
	if again, err := ts.Token(t.Context()); err != nil || again != tok {
		t.Errorf("after the refresh: %v, %v; want the refreshed token", again, err)
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("gus@example.com"))
	old, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.Revoke(t.Context()); err != nil {
		e.scan.seen(err)
		t.Fatal(err)
	}
	if e.revokedAccess.Load() != 1 || e.revokedRefresh.Load() != 1 {
		t.Fatalf("revoked %d access and %d refresh tokens, want 1 and 1", e.revokedAccess.Load(), e.revokedRefresh.Load())
	}
	if _, ok, _ := e.auth.cfg.store.Load(t.Context(), ts.Identity()); ok {
		t.Error("the store still holds the revoked pair")
	}
	tok, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == old.AccessToken || e.mints.Load() != 2 {
		t.Errorf("after Revoke, Token did not mint a new pair (mints %d)", e.mints.Load())
	}
	// Revoking tokens Circle no longer knows is not an error.
	e.dropAccess()
	e.dropRefresh()
	if err := ts.Revoke(t.Context()); err != nil {
		e.scan.seen(err)
		t.Fatalf("revoking unknown tokens: %v", err)
	}
	// Revoking with nothing to revoke costs nothing.
	if err := ts.Revoke(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestRevokeReportsFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("hal@example.com"))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	bad, err := NewAuthClient("bad-"+secretMark, WithBaseURL(e.URL), WithTokenStore(e.auth.cfg.store), WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	stored, _, _ := e.auth.cfg.store.Load(t.Context(), ByEmail("hal@example.com"))
	err = bad.TokenSource(ByEmail("hal@example.com")).Revoke(t.Context())
	e.scan.seen(err)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized (bad app token)", err)
	}
	// A 401 that is not about an expired token is the app token's: the
	// pair is kept for a Revoke that can succeed.
	if kept, ok, _ := e.auth.cfg.store.Load(t.Context(), ByEmail("hal@example.com")); !ok || kept != stored {
		t.Error("a Revoke refused with a bad app token dropped the stored pair")
	}
	if err := e.auth.TokenSource(ByEmail("hal@example.com")).Revoke(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.revokedAccess.Load() != 1 || e.revokedRefresh.Load() != 1 {
		t.Errorf("revoked %d access and %d refresh tokens, want 1 and 1", e.revokedAccess.Load(), e.revokedRefresh.Load())
	}
}

// TestRevokeKeepsWhatItCouldNotRevoke fails one revoke call at a time:
// Revoke reports it, forgets only the token that was withdrawn, and a
// second Revoke withdraws the rest; then nothing is left to revoke.
func TestRevokeKeepsWhatItCouldNotRevoke(t *testing.T) {
	t.Parallel()
	busy := &fakeFailure{http.StatusServiceUnavailable, "Service Unavailable"}

	t.Run("access token", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		id := ByEmail("ida@example.com")
		ts := e.auth.TokenSource(id)
		old, err := ts.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		e.revokeAccessFail.Store(busy)
		err = ts.Revoke(t.Context())
		e.scan.seen(err)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Path != basePath+"/api/v1/headless/access_token/revoke" {
			t.Fatalf("err = %v, want the access token revocation's 503", err)
		}
		if e.revokedAccess.Load() != 0 || e.revokedRefresh.Load() != 1 {
			t.Fatalf("revoked %d access and %d refresh tokens, want 0 and 1", e.revokedAccess.Load(), e.revokedRefresh.Load())
		}
		want := old
		want.RefreshToken = ""
		if got, ok, _ := e.auth.cfg.store.Load(t.Context(), id); !ok || got != want {
			t.Errorf("the store holds %v (%t), want the access token alone", got, ok)
		}
		// The access token is still good, and still handed out.
		if tok, err := ts.Token(t.Context()); err != nil || tok.AccessToken != old.AccessToken {
			t.Errorf("Token after the failed Revoke: %v, %v; want the kept access token", tok, err)
		}
		if e.mints.Load() != 1 {
			t.Errorf("%d mints, want 1", e.mints.Load())
		}

		e.revokeAccessFail.Store(nil)
		calls := e.revokeCalls.Load()
		if err := ts.Revoke(t.Context()); err != nil {
			e.scan.seen(err)
			t.Fatalf("the second Revoke: %v", err)
		}
		if e.revokedAccess.Load() != 1 || e.revokeCalls.Load() != calls+1 {
			t.Errorf("the second Revoke made %d calls, revoking %d access tokens; want 1, 1", e.revokeCalls.Load()-calls, e.revokedAccess.Load())
		}
		if _, ok, _ := e.auth.cfg.store.Load(t.Context(), id); ok {
			t.Error("the store still holds a revoked token")
		}
		calls = e.revokeCalls.Load()
		if err := ts.Revoke(t.Context()); err != nil || e.revokeCalls.Load() != calls {
			t.Errorf("a Revoke with nothing left: %v after %d calls; want nil after none", err, e.revokeCalls.Load()-calls)
		}
		if tok, err := ts.Token(t.Context()); err != nil || tok.AccessToken == old.AccessToken || e.mints.Load() != 2 {
			t.Errorf("Token after the Revoke: %v, %v, %d mints; want a new pair", tok, err, e.mints.Load())
		}
	})

	t.Run("refresh token", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		id := ByEmail("jan@example.com")
		ts := e.auth.TokenSource(id)
		old, err := ts.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		e.revokeRefreshFail.Store(busy)
		err = ts.Revoke(t.Context())
		e.scan.seen(err)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable || apiErr.Path != basePath+"/api/v1/headless/refresh_token/revoke" {
			t.Fatalf("err = %v, want the refresh token revocation's 503", err)
		}
		if e.revokedAccess.Load() != 1 || e.revokedRefresh.Load() != 0 {
			t.Fatalf("revoked %d access and %d refresh tokens, want 1 and 0", e.revokedAccess.Load(), e.revokedRefresh.Load())
		}
		// No access token to hand out: Token refreshes with the kept
		// refresh token.
		tok, err := ts.Token(t.Context())
		if err != nil || tok.AccessToken == old.AccessToken || tok.RefreshToken != old.RefreshToken || e.refreshes.Load() != 1 || e.mints.Load() != 1 {
			t.Fatalf("Token after the failed Revoke: %v, %v (%d refreshes, %d mints); want a refresh with the kept refresh token",
				tok, err, e.refreshes.Load(), e.mints.Load())
		}
		e.revokeRefreshFail.Store(nil)
		if err := ts.Revoke(t.Context()); err != nil {
			e.scan.seen(err)
			t.Fatalf("the second Revoke: %v", err)
		}
		if e.revokedAccess.Load() != 2 || e.revokedRefresh.Load() != 1 {
			t.Errorf("revoked %d access and %d refresh tokens, want 2 and 1", e.revokedAccess.Load(), e.revokedRefresh.Load())
		}
	})

	t.Run("expired is gone", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		id := ByEmail("kai@example.com")
		ts := e.auth.TokenSource(id)
		if _, err := ts.Token(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Circle's answer for a refresh token past its expiry, which the
		// client did not know about.
		e.revokeRefreshFail.Store(&fakeFailure{http.StatusUnauthorized, "This refresh token has expired; mint a new pair (test)."})
		if err := ts.Revoke(t.Context()); err != nil {
			e.scan.seen(err)
			t.Fatalf("Revoke: %v; a refresh token Circle says has expired is gone", err)
		}
		if _, ok, _ := e.auth.cfg.store.Load(t.Context(), id); ok {
			t.Error("the store still holds the pair")
		}
	})
}

// TestTokenWaitsForRevoke calls Token while Revoke waits on Circle: it
// must neither hand out the token being revoked nor mint before Revoke
// is done, and a caller whose context ends stops waiting.
func TestTokenWaitsForRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("lea@example.com"))
	old, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	arrived, release := e.holdRevoke()
	t.Cleanup(release)
	revoked := make(chan error, 1)
	go func() { revoked <- ts.Revoke(t.Context()) }()
	<-arrived // Revoke is calling Circle

	short, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := ts.Token(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Token during Revoke, with a short context: %v, want its deadline", err)
	}
	got := make(chan Token, 1)
	waited := make(chan error, 1)
	go func() {
		tok, err := ts.Token(t.Context())
		waited <- err
		got <- tok
	}()
	select {
	case tok := <-got:
		t.Fatalf("Token returned %v while Revoke was running", tok)
	case <-time.After(20 * time.Millisecond):
	}
	release()
	if err := <-revoked; err != nil {
		t.Fatal(err)
	}
	// The call that waited began before Revoke returned: it mints nothing.
	if err := <-waited; !errors.Is(err, ErrUnauthorized) {
		t.Errorf("Token that waited for Revoke: %v, want ErrUnauthorized", err)
	}
	if tok := <-got; tok.AccessToken != "" || e.mints.Load() != 1 {
		t.Errorf("Token that waited for Revoke: %v (%d mints), want none", tok, e.mints.Load())
	}
	// A call that begins after it mints a new pair.
	if tok, err := ts.Token(t.Context()); err != nil || tok.AccessToken == old.AccessToken || e.mints.Load() != 2 {
		t.Errorf("Token after Revoke: %v, %v (%d mints), want a new pair", tok, err, e.mints.Load())
	}
}

func TestInvalidIdentity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, id := range []Identity{{}, ByEmail(""), BySSOUserID(""), ByCommunityMemberID(0)} {
		if _, err := e.auth.TokenSource(id).Token(t.Context()); err == nil {
			t.Errorf("Token for %v: no error", id)
		}
		if err := e.auth.TokenSource(id).Revoke(t.Context()); err == nil {
			t.Errorf("Revoke for %v: no error", id)
		}
	}
	if e.mints.Load() != 0 {
		t.Error("an invalid identity was sent to Circle")
	}
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id   Identity
		want string
	}{
		{ByEmail("a@b.c"), "email:a@b.c"},
		{ByCommunityMemberID(9), "community_member_id:9"},
		{BySSOUserID("s-1"), "sso_user_id:s-1"},
		{Identity{}, "none"},
	} {
		if got := tc.id.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
	// Identities made alike are equal; of different kinds, with one value, not.
	one, same := ByEmail("a@b.c"), ByEmail("a@b.c")
	if one != same || one == BySSOUserID("a@b.c") {
		t.Error("identities do not compare by kind and value")
	}
	if !(Identity{}).IsZero() || ByEmail("x").IsZero() {
		t.Error("IsZero is wrong")
	}
}

func TestTokenSourceCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t, WithCacheSize(2))
	a := e.auth.TokenSource(ByEmail("a@example.com"))
	if e.auth.TokenSource(ByEmail("a@example.com")) != a {
		t.Fatal("the same identity got another source")
	}
	if _, err := a.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.auth.TokenSource(ByEmail("b@example.com"))
	e.auth.TokenSource(ByEmail("c@example.com")) // evicts a, the least recently used
	if n := e.auth.core.sources.len(); n != 2 || cached(e.auth, ByEmail("a@example.com")) {
		t.Fatalf("cache holds %d sources, a among them: %v; want 2, without a", n, cached(e.auth, ByEmail("a@example.com")))
	}
	// Once nothing holds a, a new source is made for its member.
	wa := weak.Make(a)
	a = nil
	for i := 0; wa.Value() != nil || e.auth.core.sources.peek(ByEmail("a@example.com")) != nil; i++ {
		if i == 500 {
			t.Fatal("the evicted source, no longer held, was never collected")
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	a2 := e.auth.TokenSource(ByEmail("a@example.com"))
	if _, err := a2.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.mints.Load(); got != 1 {
		t.Errorf("%d mints, want 1: the new source should reuse the stored pair", got)
	}
	// Using b makes c the least recently used.
	b := e.auth.TokenSource(ByEmail("b@example.com"))
	e.auth.TokenSource(ByEmail("d@example.com"))
	if e.auth.TokenSource(ByEmail("b@example.com")) != b {
		t.Error("b, recently used, was evicted")
	}
}

func TestTokenStoreIsReusedAfterRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := NewMemoryStore()
	first, err := NewAuthClient(testAppToken, WithBaseURL(e.URL), WithClock(e.clock.Now), WithTokenStore(store))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := first.TokenSource(ByEmail("ida@example.com")).Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	restarted, err := NewAuthClient(testAppToken, WithBaseURL(e.URL), WithClock(e.clock.Now), WithTokenStore(store))
	if err != nil {
		t.Fatal(err)
	}
	again, err := restarted.TokenSource(ByEmail("ida@example.com")).Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if again != tok || e.mints.Load() != 1 {
		t.Fatalf("after a restart: same token %v, mints %d; want true, 1", again == tok, e.mints.Load())
	}
	// Near expiry, the restarted process refreshes with the stored refresh token.
	e.clock.Advance(time.Hour - 10*time.Second)
	fresh, err := restarted.TokenSource(ByEmail("ida@example.com")).Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || e.refreshes.Load() != 1 || e.mints.Load() != 1 {
		t.Fatalf("refreshes %d, mints %d; want 1, 1", e.refreshes.Load(), e.mints.Load())
	}
	if s, _, _ := store.Load(t.Context(), ByEmail("ida@example.com")); s != fresh {
		t.Errorf("the store holds %v, want the refreshed %v", s, fresh)
	}
	// The first process, whose token is stale, adopts the stored one.
	e.clock.Advance(5 * time.Second)
	adopted, err := first.TokenSource(ByEmail("ida@example.com")).Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if adopted != fresh || e.refreshes.Load() != 1 {
		t.Errorf("the other process got %v with %d refreshes; want the stored token and 1", adopted, e.refreshes.Load())
	}
}

// lockingStore is a MemoryStore with a TokenLocker that counts its locks.
type lockingStore struct {
	*MemoryStore
	mu            sync.Mutex
	locks, unlock atomic.Int64
}

func (s *lockingStore) Lock(context.Context, Identity) (func(), error) {
	s.mu.Lock()
	s.locks.Add(1)
	return func() { s.unlock.Add(1); s.mu.Unlock() }, nil
}

func TestTokenLockerIsHeldAroundRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	store := &lockingStore{MemoryStore: NewMemoryStore()}
	// Two "processes" sharing the store.
	var clients []*AuthClient
	for range 2 {
		c, err := NewAuthClient(testAppToken, WithBaseURL(e.URL), WithClock(e.clock.Now), WithTokenStore(store))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	id := ByEmail("jo@example.com")
	for _, c := range clients {
		if _, err := c.TokenSource(id).Token(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Hour - time.Second)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			if _, err := c.TokenSource(id).Token(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if e.mints.Load() != 1 || e.refreshes.Load() != 1 {
		t.Errorf("mints %d, refreshes %d; want 1, 1 across two processes", e.mints.Load(), e.refreshes.Load())
	}
	if store.locks.Load() != store.unlock.Load() || store.locks.Load() < 3 {
		t.Errorf("locks %d, unlocks %d", store.locks.Load(), store.unlock.Load())
	}
	before := store.locks.Load()
	if err := clients[0].TokenSource(id).Revoke(t.Context()); err != nil {
		t.Fatal(err)
	}
	if store.locks.Load() != before+1 || store.unlock.Load() != before+1 {
		t.Errorf("Revoke: locks %d, unlocks %d; want %d each", store.locks.Load(), store.unlock.Load(), before+1)
	}
	if store.Len() != 0 {
		t.Error("the revoked pair is still stored")
	}
}

// failingStore fails every call.
type failingStore struct{}

var errStore = errors.New("store down")

func (failingStore) Load(context.Context, Identity) (Token, bool, error) {
	return Token{}, false, errStore
}
func (failingStore) Save(context.Context, Identity, Token) error { return errStore }
func (failingStore) Delete(context.Context, Identity) error      { return errStore }

func TestTokenStoreFailuresFallBackOnCircle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, WithTokenStore(failingStore{}))
	ts := e.auth.TokenSource(ByEmail("kim@example.com"))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatalf("a failing store failed Token: %v", err)
	}
	if !stringsContains(e.scan, "token store load failed") || !stringsContains(e.scan, "token store save failed") {
		t.Error("the store failures were not logged")
	}
	if err := ts.Revoke(t.Context()); !errors.Is(err, errStore) {
		t.Errorf("Revoke: %v, want the store's error", err)
	}
}

func stringsContains(s *secretScanner, sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Contains(s.logs.Bytes(), []byte(sub))
}

func TestMemoryStoreDropsExpiredPairs(t *testing.T) {
	t.Parallel()
	s := NewMemoryStore()
	now := time.Now()
	s.timeNow = func() time.Time { return now }
	ctx := t.Context()
	_ = s.Save(ctx, ByEmail("old"), Token{RefreshTokenExpiresAt: now.Add(-time.Second)})
	for i := range 1023 {
		_ = s.Save(ctx, ByCommunityMemberID(int64(i+1)), Token{RefreshTokenExpiresAt: now.Add(time.Hour)})
	}
	if _, ok, _ := s.Load(ctx, ByEmail("old")); ok {
		t.Error("an expired pair was kept")
	}
	if s.Len() != 1023 {
		t.Errorf("Len = %d, want 1023", s.Len())
	}
	_ = s.Delete(ctx, ByCommunityMemberID(1))
	if s.Len() != 1022 {
		t.Errorf("after Delete, Len = %d", s.Len())
	}
}

func TestTokenResponseWithoutTokens(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ contentType, body, want string }{
		{"text/plain", "ok", `circle: POST /api/v1/headless/auth_token: 200 OK response is not JSON (Content-Type "text/plain", request id r-1); body "ok"`},
		{"text/plain", "access_token=acc-" + secretMark + "-12&refresh_token=ref-" + secretMark + "-12",
			`circle: POST /api/v1/headless/auth_token: 200 OK response is not JSON (Content-Type "text/plain", request id r-1); body "…&…"`},
		{"application/json", "{}", `circle: POST /api/v1/headless/auth_token: 200 OK response carries no token pair (Content-Type "application/json", request id r-1)`},
		{"application/json", `{"access_token":7,"refresh_token":"ref-` + secretMark + `"}`,
			`circle: POST /api/v1/headless/auth_token: 200 OK response does not decode: json: cannot unmarshal number into Go struct field tokenFields.access_token of type string (Content-Type "application/json", request id r-1)`},
		{"application/json", `{"access_token":"acc-` + secretMark + `\u0001` + `","refresh_token":"ref-` + secretMark + `"}`,
			`circle: POST /api/v1/headless/auth_token: 200 OK response carries a token no header can carry (Content-Type "application/json", request id r-1)`},
		{"application/json", `{"access_token":"acc-` + secretMark,
			`circle: POST /api/v1/headless/auth_token: 200 OK response is not valid JSON: unexpected end of JSON input (Content-Type "application/json", request id r-1); body "{\"access_token\":\"…"`},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", tc.contentType)
			w.Header().Set("X-Request-Id", "r-1")
			_, _ = w.Write([]byte(tc.body)) // the client's checks see what arrived
		}))
		t.Cleanup(srv.Close)
		a, err := NewAuthClient(testAppToken, WithBaseURL(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.TokenSource(ByEmail("nil@example.com")).Token(t.Context())
		if err == nil || err.Error() != tc.want {
			t.Errorf("err = %v\nwant  %s", err, tc.want)
		}
		var de *DecodeError
		if !errors.As(err, &de) || de.StatusCode != http.StatusOK || de.Path != "/api/v1/headless/auth_token" || de.ContentType != tc.contentType {
			t.Errorf("err = %#v, want a *DecodeError", err)
		}
		if s := fmt.Sprintf("%v %+v %#v", err, err, de); strings.Contains(s, secretMark) {
			t.Errorf("a token shows: %s", s)
		}
	}
}

// TestTokenExpiryThatDoesNotParse: a pair whose expiry times do not parse
// is used, its expiry unknown, rather than failing every call.
func TestTokenExpiryThatDoesNotParse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"acc-` + secretMark + `","refresh_token":"ref-` + secretMark +
			`","access_token_expires_at":"acc-` + secretMark + `","refresh_token_expires_at":17}`))
	}))
	t.Cleanup(srv.Close)
	a, err := NewAuthClient(testAppToken, WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.TokenSource(ByEmail("nil@example.com")).Token(t.Context())
	if err != nil || tok.AccessToken != "acc-"+secretMark || !tok.AccessTokenExpiresAt.IsZero() || !tok.RefreshTokenExpiresAt.IsZero() {
		t.Errorf("Token = %v, %v; want the pair with unknown expiry times", tok, err)
	}
}

// TestAcceptedEndsARunOfRejections: a token Circle took and later
// rejected is a first rejection, replaced however many came before it;
// two tokens rejected in a row with no Accepted between still close the
// source, and Accepted of a token the source no longer holds changes
// nothing.
func TestAcceptedEndsARunOfRejections(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("long@example.com"))
	first, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tok := first
	for i := range 3 {
		ts.Accepted(tok.AccessToken)
		next, err := ts.RefreshRejected(t.Context(), tok.AccessToken)
		if err != nil {
			t.Fatalf("rejection %d of an accepted token: %v", i+1, err)
		}
		if next.AccessToken == tok.AccessToken {
			t.Fatalf("rejection %d: the rejected token came back", i+1)
		}
		tok = next
	}
	// The last replacement is rejected before Circle took it: with the
	// rejection before it, two in a row. Accepting an older token, which
	// the source no longer holds, does not hide that.
	ts.Accepted(first.AccessToken)
	if _, err := ts.RefreshRejected(t.Context(), tok.AccessToken); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("a new token rejected right after a rejection: got %v, want ErrUnauthorized", err)
	}
	if got := e.refreshes.Load(); got != 3 {
		t.Errorf("%d refreshes, want 3", got)
	}
}
