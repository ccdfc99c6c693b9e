package circle

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hammer calls Token from several goroutines for d and returns how many
// calls it made and the last error.
func hammer(ts TokenSource, d time.Duration) (calls int64, last error) {
	var n atomic.Int64
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				_, err := ts.Token(ctx)
				n.Add(1)
				time.Sleep(50 * time.Microsecond) // many calls, without starving the other tests
				if err != nil && ctx.Err() == nil {
					mu.Lock()
					last = err
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return n.Load(), last
}

// realEnv is a fake Circle whose clients use the real clock and the
// default protections of the Auth API (backoff and floor).
func realEnv(t *testing.T, opts ...Option) *env {
	return newEnv(t, append([]Option{
		WithClock(time.Now), WithMinRefreshInterval(defaultRefreshFloor),
		WithTokenBackoff(defaultTokenBackoff, defaultMaxTokenBackoff),
	}, opts...)...)
}

// TestFailingMintIsNotHammered: with the mint failing (5xx), eight
// goroutines calling Token for 1.5 s cost at most about one mint per
// second, and get the failure (a *BackoffError between mints).
func TestFailingMintIsNotHammered(t *testing.T) {
	t.Parallel()
	e := realEnv(t)
	e.clock.ns.Store(time.Now().UnixNano())
	e.mintStatus.Store(http.StatusServiceUnavailable)
	calls, last := hammer(e.auth.TokenSource(ByEmail("ham@example.com")), 1500*time.Millisecond)
	var backoff *BackoffError
	var apiErr *APIError
	if !errors.As(last, &backoff) || !errors.As(last, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("last error %v, want a *BackoffError of the 503", last)
	}
	if m := e.mints.Load(); m > 3 {
		t.Errorf("%d mints in 1.5 s (%d Token calls), want at most 3", m, calls)
	}
	t.Logf("mint failing with 503: %d mints for %d Token calls in 1.5 s", e.mints.Load(), calls)
}

// TestRetryAfterIsHonouredAcrossCallers: a 429 with Retry-After: 3600 on
// the mint stops every caller of that member from minting for an hour.
func TestRetryAfterIsHonouredAcrossCallers(t *testing.T) {
	t.Parallel()
	var mints atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mints.Add(1)
		w.Header().Set("Retry-After", "3600")
		writeFailure(w, http.StatusTooManyRequests, "slow down (test)")
	}))
	t.Cleanup(srv.Close)
	auth, err := NewAuthClient(testAppToken, WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	calls, last := hammer(auth.TokenSource(ByEmail("ra@example.com")), time.Second)
	var backoff *BackoffError
	if !errors.As(last, &backoff) || !errors.Is(last, ErrRateLimited) || time.Until(backoff.Until) < 59*time.Minute {
		t.Errorf("last error %v, want a *BackoffError of the 429 lasting an hour", last)
	}
	if mints.Load() != 1 {
		t.Errorf("%d mints for %d Token calls, want 1", mints.Load(), calls)
	}
}

// tokenServer mints pairs whose expiry times are set by expiry (given the
// server's idea of now, which is ours plus skew), and sends Date as the
// server's time when dated is set.
func tokenServer(t *testing.T, skew time.Duration, dated bool, expiry func(now time.Time) time.Time) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := calls.Add(1)
		now := time.Now().Add(skew)
		if dated {
			w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
		}
		writeJSON(w, 200, map[string]any{
			"access_token":             "acc-" + secretMark + "-" + strconv.FormatInt(n, 10),
			"refresh_token":            "ref-" + secretMark,
			"access_token_expires_at":  expiry(now),
			"refresh_token_expires_at": now.Add(30 * 24 * time.Hour),
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestExpiryIsReadInTheServersTime: a server whose clock is two hours
// behind ours issues tokens that look expired on arrival; its Date header
// says so, and the source reads their hour of life from it: one mint.
func TestExpiryIsReadInTheServersTime(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{-2 * time.Hour, 2 * time.Hour} {
		srv, calls := tokenServer(t, skew, true, func(now time.Time) time.Time { return now.Add(time.Hour) })
		auth, err := NewAuthClient(testAppToken, WithBaseURL(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		ts := auth.TokenSource(ByEmail("skew@example.com"))
		tok, err := ts.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if left := time.Until(tok.AccessTokenExpiresAt); left < 59*time.Minute || left > 61*time.Minute {
			t.Errorf("skew %v: the token expires in %v by our clock, want about an hour", skew, left)
		}
		if _, last := hammer(ts, 300*time.Millisecond); last != nil {
			t.Errorf("skew %v: %v", skew, last)
		}
		if calls.Load() != 1 {
			t.Errorf("skew %v: %d Auth API calls, want 1", skew, calls.Load())
		}
	}
}

// TestTokensExpiredOnArrivalAreNotHammered: tokens that have expired when
// they arrive (and no Date header to explain it) are refreshed at most
// about once a second, whatever the expiries say.
func TestTokensExpiredOnArrivalAreNotHammered(t *testing.T) {
	t.Parallel()
	for name, expiry := range map[string]func(time.Time) time.Time{
		"in the past":   func(now time.Time) time.Time { return now.Add(-time.Hour) },
		"at once":       func(now time.Time) time.Time { return now },
		"in one second": func(now time.Time) time.Time { return now.Add(time.Second) },
	} {
		srv, calls := tokenServer(t, 0, false, expiry)
		auth, err := NewAuthClient(testAppToken, WithBaseURL(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		n, last := hammer(auth.TokenSource(ByEmail("dead@example.com")), 1500*time.Millisecond)
		if last != nil {
			t.Errorf("%s: %v", name, last)
		}
		if c := calls.Load(); c > 3 {
			t.Errorf("%s: %d Auth API calls in 1.5 s (%d Token calls), want at most 3", name, c, n)
		}
		t.Logf("expiry %s: %d Auth API calls for %d Token calls in 1.5 s", name, calls.Load(), n)
	}
}

// TestAlways401IsNotHammered: against a Member API that rejects every
// token, 1,000 calls cost a handful of refreshes, not 1,000, and every
// call fails with ErrUnauthorized.
func TestAlways401IsNotHammered(t *testing.T) {
	t.Parallel()
	e := realEnv(t)
	e.clock.ns.Store(time.Now().UnixNano())
	ts := e.auth.TokenSource(ByEmail("denied@example.com"))
	tr := e.memberTransport(ts, WithClock(time.Now))
	e.setMemberFn(func(w http.ResponseWriter, _ *http.Request, _ int64) {
		writeFailure(w, http.StatusUnauthorized, "This member may not use the API (test).")
	})
	start := time.Now()
	for i := range 1000 {
		resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
		closeRespBody(t, resp)
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("call %d: %v, want ErrUnauthorized", i, err)
		}
	}
	if r := e.refreshes.Load() + e.mints.Load(); r > 4 {
		t.Errorf("%d Auth API calls for 1,000 rejected calls in %v, want at most 4", r, time.Since(start))
	}
	t.Logf("always 401: %d mints, %d refreshes, %d member calls for 1,000 calls in %v",
		e.mints.Load(), e.refreshes.Load(), e.memberCalls.Load(), time.Since(start).Round(time.Millisecond))
}

// TestFirstRejectionStillRefreshes: a token that worked and is then
// rejected (revoked by Circle, expired early) is replaced and the call
// replayed, as before; only a run of rejected new tokens stops that.
func TestFirstRejectionStillRefreshes(t *testing.T) {
	t.Parallel()
	e := realEnv(t)
	e.clock.ns.Store(time.Now().UnixNano())
	ts := e.auth.TokenSource(ByEmail("once@example.com"))
	tr := e.memberTransport(ts, WithClock(time.Now))
	for round := range 3 {
		resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		closeRespBody(t, resp)
		e.dropAccess()
		time.Sleep(defaultRefreshFloor) // the floor between two refreshes
	}
	if e.refreshes.Load() != 2 {
		t.Errorf("%d refreshes, want 2", e.refreshes.Load())
	}
}
