package circle

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// rateServer answers every request 200 with a JSON body, or 429 with
// Retry-After: 1 for the first `refuse` requests, and counts them.
func rateServer(t *testing.T, refuse int64) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) <= refuse {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func getVia(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

var testTok = StaticTokenSource(Token{AccessToken: "member-access-token-1234567890"})

// Two clients of one AuthClient share one budget: 10 requests at 20 a
// second with a burst of 1 take at least 9/20 s, whichever client sends.
func TestRateLimitIsSharedByTheClientsOfOneAuthClient(t *testing.T) {
	t.Parallel()
	srv, n := rateServer(t, 0)
	auth, err := NewAuthClient("app-token-abc", WithBaseURL(srv.URL), WithRateLimit(20, 1))
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.NewHTTPClient(testTok)
	if err != nil {
		t.Fatal(err)
	}
	b, err := auth.NewHTTPClient(testTok)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 10 {
		c := a
		if i%2 == 1 {
			c = b
		}
		if _, err := getVia(context.Background(), c, srv.URL+"/api/headless/v1/home"); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Errorf("10 requests at 20/s (burst 1) took %v, want at least 450ms", d)
	}
	if n.Load() != 10 {
		t.Errorf("server got %d requests, want 10", n.Load())
	}
}

// A 429 with Retry-After holds off every client of the budget, not only
// the one refused.
func TestRateLimit429PausesEveryCaller(t *testing.T) {
	t.Parallel()
	srv, n := rateServer(t, 1)
	auth, err := NewAuthClient("app-token-abc", WithBaseURL(srv.URL), WithRateLimit(1000, 100), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := auth.NewHTTPClient(testTok)
	b, _ := auth.NewHTTPClient(testTok)
	if code, err := getVia(context.Background(), a, srv.URL+"/x"); err != nil || code != 429 {
		t.Fatalf("first call: %d, %v; want 429", code, err)
	}
	start := time.Now()
	if code, err := getVia(context.Background(), b, srv.URL+"/x"); err != nil || code != 200 {
		t.Fatalf("second call: %d, %v; want 200", code, err)
	}
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("the other client sent after %v; want it to wait about the Retry-After of 1s", d)
	}
	if n.Load() != 2 {
		t.Errorf("server got %d requests, want 2", n.Load())
	}
}

// A wait longer than WithMaxRateWait, or than the context allows, fails
// at once with a *RateWaitError, and sends nothing.
func TestRateLimitRefusesALongWait(t *testing.T) {
	t.Parallel()
	srv, n := rateServer(t, 0)
	auth, err := NewAuthClient("app-token-abc", WithBaseURL(srv.URL), WithRateLimit(0.1, 1))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := auth.NewHTTPClient(testTok, WithMaxRateWait(100*time.Millisecond))
	patient, _ := auth.NewHTTPClient(testTok)
	if _, err := getVia(context.Background(), c, srv.URL+"/x"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = getVia(context.Background(), c, srv.URL+"/x")
	var rw *RateWaitError
	if !errors.As(err, &rw) || !errors.Is(err, ErrRateLimited) || rw.Wait < 5*time.Second {
		t.Fatalf("second call: %v; want a *RateWaitError of about 10s matching ErrRateLimited", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := getVia(ctx, patient, srv.URL+"/x"); !errors.As(err, &rw) {
		t.Fatalf("call with a short deadline: %v; want a *RateWaitError", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refusals took %v; want them at once", d)
	}
	if n.Load() != 1 {
		t.Errorf("server got %d requests, want 1", n.Load())
	}
}

func TestRateLimitOptionsAreChecked(t *testing.T) {
	t.Parallel()
	for _, o := range []Option{WithRateLimit(0, 1), WithRateLimit(1, 0), WithRateLimit(-1, 5), WithMaxRateWait(-time.Second)} {
		if _, err := NewAuthClient("app-token-abc", o); err == nil {
			t.Error("a bad rate limit option was accepted")
		}
	}
}

// Waiting for the budget is not the attempt's time: with a budget of one
// request a second and a 300 ms bound on each attempt, the second request
// waits about a second and is then sent with its whole 300 ms, instead of
// failing at a deadline that ran out while it waited.
func TestRateWaitIsNotTheAttemptsTime(t *testing.T) {
	t.Parallel()
	srv, n := rateServer(t, 0)
	auth, err := NewAuthClient("app-token-abc", WithBaseURL(srv.URL), WithRateLimit(1, 1),
		WithTimeout(300*time.Millisecond), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	c, err := auth.NewHTTPClient(testTok)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 2 {
		if st, err := getVia(ctx, c, srv.URL+"/api/headless/v1/home"); err != nil || st != http.StatusOK {
			t.Fatalf("request %d: %d, %v", i+1, st, err)
		}
	}
	if got := n.Load(); got != 2 {
		t.Errorf("%d requests reached the server; want 2", got)
	}
}
