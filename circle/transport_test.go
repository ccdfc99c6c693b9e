package circle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/circlekit/headless-go/gen/authv1"
)

func TestReplayOn401WithBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("lu@example.com"))
	tr := e.memberTransport(ts)
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.dropAccess() // Circle forgets the access token the source believes valid

	// A body without GetBody but of a known length, which the transport
	// must buffer to replay.
	body := &closeCounter{Reader: strings.NewReader(`{"record_id":1}`)}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL+"/api/headless/v1/bookmarks", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(`{"record_id":1}`))
	resp, err := tr.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, got := readMember(t, resp); got != `{"record_id":1}` {
		t.Errorf("replayed body = %q", got)
	}
	if e.memberCalls.Load() != 2 || e.refreshes.Load() != 1 {
		t.Errorf("member calls %d, refreshes %d; want 2, 1", e.memberCalls.Load(), e.refreshes.Load())
	}
	if body.closes.Load() != 1 {
		t.Errorf("the request body was closed %d times, want 1", body.closes.Load())
	}
}

// TestOneShotBodyIsNotReplayed: a body of unknown length, without
// GetBody, is sent as it is, once: a 401 to it stands.
func TestOneShotBodyIsNotReplayed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("lu@example.com"))
	tr := e.memberTransport(ts)
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.dropAccess()
	body := &closeCounter{Reader: strings.NewReader(`{"record_id":1}`)}
	resp, err := e.memberDo(t.Context(), tr, ts, http.MethodPost, "bookmarks", body)
	if err == nil {
		_ = resp.Body.Close()
	}
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want the 401", err)
	}
	if e.memberCalls.Load() != 1 || e.refreshes.Load() != 0 {
		t.Errorf("member calls %d, refreshes %d; want 1, 0", e.memberCalls.Load(), e.refreshes.Load())
	}
	if body.closes.Load() != 1 {
		t.Errorf("the request body was closed %d times, want 1", body.closes.Load())
	}
}

// closeCounter is a request body that counts its closes.
type closeCounter struct {
	io.Reader
	closes atomic.Int64
}

func (c *closeCounter) Close() error { c.closes.Add(1); return nil }

func TestConcurrent401sCauseOneRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("max@example.com"))
	tr := e.memberTransport(ts)
	old, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Circle rejects the old token, answering only once all n requests
	// carrying it have arrived, so that the n 401s are concurrent.
	const n = 100
	var arrived atomic.Int64
	all := make(chan struct{})
	e.setMemberFn(func(w http.ResponseWriter, r *http.Request, _ int64) {
		if r.Header.Get("Authorization") == "Bearer "+old.AccessToken {
			if arrived.Add(1) == n {
				close(all)
			}
			select {
			case <-all:
			case <-time.After(10 * time.Second):
				t.Error("the requests did not arrive together")
			}
			writeFailure(w, http.StatusUnauthorized, "This access token is not valid (test).")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
			if err == nil {
				err = resp.Body.Close()
			}
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
	if got := e.refreshes.Load(); got != 1 {
		t.Errorf("%d refreshes for %d concurrent 401s, want 1", got, n)
	}
	if got := e.memberCalls.Load(); got != 2*n {
		t.Errorf("%d member calls, want %d", got, 2*n)
	}
}

func TestReplayOn401OnlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("ned@example.com"))
	tr := e.memberTransport(ts)
	e.setMemberFn(func(w http.ResponseWriter, _ *http.Request, _ int64) {
		writeFailure(w, http.StatusUnauthorized, "This access token is not valid (test).")
	})
	resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
	closeRespBody(t, resp)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if e.memberCalls.Load() != 2 || e.refreshes.Load() != 1 {
		t.Errorf("member calls %d, refreshes %d; want 2, 1", e.memberCalls.Load(), e.refreshes.Load())
	}
}

func TestNoReplayWhenTheCommunityIsNotEligible(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("ola@example.com"))
	tr := e.memberTransport(ts)
	e.setMemberFn(func(w http.ResponseWriter, _ *http.Request, _ int64) {
		writeFailure(w, http.StatusUnauthorized, "Not eligible for headless access on this plan (test).")
	})
	resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
	closeRespBody(t, resp)
	if !errors.Is(err, ErrForbidden) || errors.Is(err, ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrForbidden and not ErrUnauthorized", err)
	}
	if e.memberCalls.Load() != 1 || e.refreshes.Load() != 0 {
		t.Errorf("member calls %d, refreshes %d; want 1, 0", e.memberCalls.Load(), e.refreshes.Load())
	}
}

func TestNoReplayForASourceThatCannotRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := staticSource{Token{AccessToken: "static-" + secretMark}}
	tr := e.memberTransport(ts)
	resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
	closeRespBody(t, resp)
	if !errors.Is(err, ErrUnauthorized) || e.memberCalls.Load() != 1 {
		t.Fatalf("err = %v after %d calls; want ErrUnauthorized after 1", err, e.memberCalls.Load())
	}
}

type staticSource struct{ tok Token }

func (s staticSource) Token(context.Context) (Token, error) { return s.tok, nil }

func TestReplayFailsWithTheRefreshError(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("pia@example.com"))
	tr := e.memberTransport(ts)
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.dropAccess()
	e.refreshStatus = http.StatusForbidden
	resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
	closeRespBody(t, resp)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden || !strings.HasSuffix(apiErr.Path, "/access_token/refresh") {
		t.Fatalf("err = %v, want the refresh call's 403", err)
	}
}

func TestManyMembersThroughTheContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tr := e.memberTransport(nil) // no default member
	resp, err := e.memberDo(t.Context(), tr, nil, http.MethodGet, "spaces", nil)
	closeRespBody(t, resp)
	if !errors.Is(err, ErrNoTokenSource) {
		t.Fatalf("err = %v, want ErrNoTokenSource", err)
	}
	emails := []string{"a@x.org", "b@x.org", "c@x.org"}
	var wg sync.WaitGroup
	got := make([][]int64, len(emails))
	for i, email := range emails {
		ctx := WithTokenSource(t.Context(), e.auth.TokenSource(ByEmail(email)))
		wg.Go(func() {
			for range 20 {
				resp, err := e.memberDo(ctx, tr, nil, http.MethodGet, "spaces", nil)
				if err != nil {
					t.Error(err)
					return
				}
				m, _ := readMember(t, resp)
				got[i] = append(got[i], m)
			}
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i, ms := range got {
		for _, m := range ms[1:] {
			if m != ms[0] {
				t.Fatalf("member %s was served as %d and %d", emails[i], ms[0], m)
			}
		}
		seen[ms[0]] = true
	}
	if len(seen) != 3 || e.mints.Load() != 3 {
		t.Errorf("%d distinct members, %d mints; want 3, 3", len(seen), e.mints.Load())
	}
	// A context source wins over the client's own.
	own := e.auth.TokenSource(ByEmail("own@x.org"))
	tr2 := e.memberTransport(own)
	ctx := WithTokenSource(t.Context(), e.auth.TokenSource(ByEmail("a@x.org")))
	resp, err = e.memberDo(ctx, tr2, own, http.MethodGet, "spaces", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := readMember(t, resp); m != got[0][0] {
		t.Errorf("served as member %d, want the context's %d", m, got[0][0])
	}
	// Replay after a 401 uses the context's source too.
	e.dropAccess()
	resp, err = e.memberDo(ctx, tr2, own, http.MethodGet, "spaces", nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := readMember(t, resp); m != got[0][0] {
		t.Errorf("replay served member %d, want %d", m, got[0][0])
	}
}

// attemptServer answers every request with the statuses in order (the
// last one repeated), counting requests.
func attemptServer(t *testing.T, header http.Header, statuses ...int) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		_, _ = io.Copy(io.Discard, r.Body) // drained; a failed read changes nothing here
		for k, v := range header {
			w.Header()[k] = v
		}
		writeFailure(w, statuses[min(i, len(statuses)-1)], "try again")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func fastRetries() []Option {
	return []Option{WithRetryBackoff(time.Millisecond, 2*time.Millisecond)}
}

func doRaw(t *testing.T, tr *transport, method, url string, body string) (*http.Response, error) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Do(req)
}

// closeRespBody closes the body of resp, if there is one: the answer to a
// call that was to fail, or one read already.
func closeRespBody(t testing.TB, resp *http.Response) {
	t.Helper()
	if resp == nil {
		return
	}
	if err := resp.Body.Close(); err != nil {
		t.Errorf("closing the response body: %v", err)
	}
}

func newTestTransport(t *testing.T, opts ...Option) *transport {
	t.Helper()
	cfg, err := newConfig(append(fastRetries(), opts...))
	if err != nil {
		t.Fatal(err)
	}
	return &transport{cfg: cfg, next: cfg.doer} // the retrying layer alone
}

func TestRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		method   string
		status   int
		attempts int64
	}{
		{"GET", 408, 3}, {"GET", 429, 3}, {"GET", 500, 3}, {"GET", 502, 3}, {"GET", 503, 3}, {"GET", 504, 3},
		{"HEAD", 503, 3}, {"PUT", 503, 3}, {"DELETE", 503, 3}, {"OPTIONS", 503, 3},
		{"GET", 400, 1}, {"GET", 404, 1}, {"GET", 409, 1}, {"GET", 422, 1}, {"GET", 501, 1},
		{"POST", 503, 1}, {"POST", 429, 1}, {"PATCH", 503, 1},
	} {
		t.Run(fmt.Sprint(tc.method, tc.status), func(t *testing.T) {
			t.Parallel()
			srv, n := attemptServer(t, nil, tc.status)
			tr := newTestTransport(t)
			body := ""
			if tc.method != "GET" && tc.method != "HEAD" {
				body = "{}"
			}
			resp, err := doRaw(t, tr, tc.method, srv.URL+"/x", body)
			closeRespBody(t, resp)
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tc.status {
				t.Fatalf("err = %v, want a %d *APIError", err, tc.status)
			}
			if got := n.Load(); got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
		})
	}
}

func TestRetrySucceedsAndResendsTheBody(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"a":1}` {
			t.Errorf("attempt %d body = %q", n.Load()+1, b)
		}
		if n.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, http.StatusOK, "ok")
	}))
	t.Cleanup(srv.Close)
	tr := newTestTransport(t)
	resp, err := doRaw(t, tr, http.MethodPut, srv.URL, `{"a":1}`)
	if err != nil {
		t.Fatal(err)
	}
	closeRespBody(t, resp)
	if n.Load() != 3 {
		t.Errorf("%d attempts, want 3", n.Load())
	}
}

func TestMaxRetries(t *testing.T) {
	t.Parallel()
	for _, max := range []int{0, 1, 4} {
		srv, n := attemptServer(t, nil, 503)
		tr := newTestTransport(t, WithMaxRetries(max))
		resp, err := doRaw(t, tr, http.MethodGet, srv.URL, "")
		closeRespBody(t, resp)
		if !errors.As(err, new(*APIError)) || n.Load() != int64(max+1) {
			t.Errorf("WithMaxRetries(%d): %d attempts (%v), want %d", max, n.Load(), err, max+1)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	t.Run("seconds", func(t *testing.T) {
		t.Parallel()
		srv, n := attemptServer(t, http.Header{"Retry-After": {"1"}}, 429, 200)
		tr := newTestTransport(t)
		start := time.Now()
		resp, err := doRaw(t, tr, http.MethodGet, srv.URL, "")
		if err != nil {
			t.Fatal(err)
		}
		closeRespBody(t, resp)
		if d := time.Since(start); d < time.Second {
			t.Errorf("retried after %v, Retry-After said 1 s", d)
		}
		if n.Load() != 2 {
			t.Errorf("%d attempts, want 2", n.Load())
		}
	})
	t.Run("date", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		clock.Advance(-300 * time.Millisecond) // the date below is 300 ms ahead
		date := newFakeClock().Now().Format(http.TimeFormat)
		srv, n := attemptServer(t, http.Header{"Retry-After": {date}}, 503, 200)
		tr := newTestTransport(t, WithClock(clock.Now))
		start := time.Now()
		resp, err := doRaw(t, tr, http.MethodGet, srv.URL, "")
		if err != nil {
			t.Fatal(err)
		}
		closeRespBody(t, resp)
		if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
			t.Errorf("retried after %v, Retry-After said 300 ms", d)
		}
		if n.Load() != 2 {
			t.Errorf("%d attempts, want 2", n.Load())
		}
	})
	t.Run("over the cap", func(t *testing.T) {
		t.Parallel()
		srv, n := attemptServer(t, http.Header{"Retry-After": {"120"}}, 429)
		tr := newTestTransport(t)
		start := time.Now()
		resp, err := doRaw(t, tr, http.MethodGet, srv.URL, "")
		closeRespBody(t, resp)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || !errors.Is(err, ErrRateLimited) || apiErr.RetryAfter != 2*time.Minute {
			t.Fatalf("err = %#v, want a rate limit with RetryAfter 2m", err)
		}
		if n.Load() != 1 || time.Since(start) > 5*time.Second {
			t.Errorf("%d attempts in %v, want 1 at once", n.Load(), time.Since(start))
		}
	})
	t.Run("past the deadline", func(t *testing.T) {
		t.Parallel()
		srv, n := attemptServer(t, http.Header{"Retry-After": {"10"}}, 503)
		tr := newTestTransport(t)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		start := time.Now()
		resp, err := tr.Do(req)
		closeRespBody(t, resp)
		if !errors.As(err, new(*APIError)) || n.Load() != 1 || time.Since(start) > time.Second {
			t.Errorf("%d attempts in %v (%v); want 1 at once", n.Load(), time.Since(start), err)
		}
	})
}

func TestRetryStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	srv, n := attemptServer(t, nil, 503)
	tr := newTestTransport(t, WithRetryBackoff(time.Second, time.Second))
	ctx, cancel := context.WithCancel(t.Context())
	var canceled time.Time
	go func() {
		for n.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // the transport is in its backoff
		canceled = time.Now()
		cancel()
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := tr.Do(req)
	closeRespBody(t, resp)
	if !errors.As(err, new(*APIError)) || n.Load() != 1 || time.Since(canceled) > 500*time.Millisecond {
		t.Errorf("%d attempts, returned %v after the cancel (%v); want 1, at once", n.Load(), time.Since(canceled), err)
	}
}

// countingDoer counts the requests given to the next doer.
type countingDoer struct {
	next Doer
	n    atomic.Int64
}

func (d *countingDoer) Do(r *http.Request) (*http.Response, error) {
	d.n.Add(1)
	return d.next.Do(r)
}

// refusedURL returns the URL of a port nothing listens on.
func refusedURL(t *testing.T) string {
	l, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// droppingServer reads each request and closes the connection unanswered.
func droppingServer(t *testing.T) (string, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		_, _ = io.Copy(io.Discard, r.Body) // drained; a failed read changes nothing here
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close() // the client sees the connection end either way
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

func TestConnectionErrors(t *testing.T) {
	t.Parallel()
	refused := refusedURL(t)
	for _, tc := range []struct {
		method   string
		attempts int64
	}{{"GET", 3}, {"DELETE", 3}, {"POST", 1}, {"PATCH", 1}} {
		d := &countingDoer{next: http.DefaultClient}
		tr := newTestTransport(t, WithDoer(d))
		resp, err := doRaw(t, tr, tc.method, refused+"/x", "{}")
		closeRespBody(t, resp)
		if err == nil || d.n.Load() != tc.attempts {
			t.Errorf("%s to a closed port: %d attempts (%v), want %d", tc.method, d.n.Load(), err, tc.attempts)
		}
	}
	dropURL, n := droppingServer(t)
	d := &countingDoer{next: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	tr := newTestTransport(t, WithDoer(d))
	resp, err := doRaw(t, tr, http.MethodGet, dropURL, "")
	closeRespBody(t, resp)
	if err == nil || n.Load() != 3 {
		t.Errorf("GET to a dropping server: %d attempts (%v), want 3", n.Load(), err)
	}
}

func TestPerAttemptTimeoutIsRetriedButBadCertificatesAreNot(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	slowOnce := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		writeJSON(w, http.StatusOK, "ok")
	}))
	t.Cleanup(slowOnce.Close)
	tr := newTestTransport(t, WithHTTPClient(&http.Client{Timeout: 100 * time.Millisecond}))
	resp, err := doRaw(t, tr, http.MethodGet, slowOnce.URL, "")
	if err != nil {
		t.Fatalf("after a per-attempt timeout: %v", err)
	}
	closeRespBody(t, resp)
	if n.Load() != 2 {
		t.Errorf("%d attempts, want 2", n.Load())
	}

	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	d := &countingDoer{next: &http.Client{}} // does not trust the test certificate
	tr = newTestTransport(t, WithDoer(d))
	resp, err = doRaw(t, tr, http.MethodGet, tlsSrv.URL, "")
	closeRespBody(t, resp)
	if err == nil || d.n.Load() != 1 {
		t.Errorf("untrusted certificate: %d attempts (%v), want 1", d.n.Load(), err)
	}
}

func TestAuthRefreshIsRetriedOnlyWhenUnsent(t *testing.T) {
	t.Parallel()
	call := func(base string) (int64, error) {
		d := &countingDoer{next: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
		a, err := NewAuthClient(testAppToken, WithBaseURL(base), WithDoer(d), WithRetryBackoff(time.Millisecond, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.RefreshAccessTokenWithResponse(t.Context(), authv1.RefreshTokenBody{RefreshToken: "r-" + secretMark})
		if err != nil && strings.Contains(err.Error(), secretMark) {
			t.Errorf("error holds a secret: %v", err)
		}
		return d.n.Load(), err
	}
	if n, err := call(refusedURL(t)); err == nil || n != 3 {
		t.Errorf("refresh to a closed port: %d attempts (%v), want 3", n, err)
	}
	dropURL, served := droppingServer(t)
	if n, err := call(dropURL); err == nil || n != 1 || served.Load() != 1 {
		t.Errorf("refresh to a dropping server: %d attempts (%v), want 1: it may have been received", n, err)
	}
	// The mint (POST) is not retried even when unsent.
	d := &countingDoer{next: http.DefaultClient}
	a, _ := NewAuthClient(testAppToken, WithBaseURL(refusedURL(t)), WithDoer(d), WithRetryBackoff(time.Millisecond, time.Millisecond))
	if _, err := a.TokenSource(ByEmail("q@x.org")).Token(t.Context()); err == nil || d.n.Load() != 1 {
		t.Errorf("mint to a closed port: %d attempts (%v), want 1", d.n.Load(), err)
	}
}

// bodyTracker is a doer that counts response bodies opened and closed.
type bodyTracker struct {
	next           Doer
	opened, closed atomic.Int64
}

type trackedBody struct {
	io.ReadCloser
	t    *bodyTracker
	once sync.Once
}

func (b *trackedBody) Close() error {
	b.once.Do(func() { b.t.closed.Add(1) })
	return b.ReadCloser.Close()
}

func (d *bodyTracker) Do(r *http.Request) (*http.Response, error) {
	resp, err := d.next.Do(r)
	if err == nil {
		d.opened.Add(1)
		resp.Body = &trackedBody{ReadCloser: resp.Body, t: d}
	}
	return resp, err
}

func TestResponseBodiesAreClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("rae@example.com"))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	d := &bodyTracker{next: http.DefaultClient}
	tr := e.memberTransport(ts, WithDoer(d))
	e.dropAccess() // a 401, a replay...
	var n atomic.Int64
	e.setMemberFn(func(w http.ResponseWriter, _ *http.Request, _ int64) {
		if n.Add(1) < 3 { // ... two 503s, then 200
			writeFailure(w, 503, "busy")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	})
	resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The 2xx answer's body too: the transport read it, to check it.
	if d.opened.Load() != 4 || d.closed.Load() != 4 {
		t.Errorf("opened %d, closed %d before the caller closes; want 4, 4", d.opened.Load(), d.closed.Load())
	}
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "{}\n" {
		t.Errorf("the 2xx body reads %q, %v", b, err)
	}
	closeRespBody(t, resp)
	// An error answer is closed by the transport.
	e.setMemberFn(func(w http.ResponseWriter, _ *http.Request, _ int64) { writeFailure(w, 404, "Oops! Missing record.") })
	resp, err = e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if d.opened.Load() != d.closed.Load() {
		t.Errorf("opened %d, closed %d", d.opened.Load(), d.closed.Load())
	}
	closeRespBody(t, resp) // after the count: none is expected
}

func TestTransportDoesNotModifyTheRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("sam@example.com"))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	tr := e.memberTransport(ts)
	e.dropAccess()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.URL+"/api/headless/v1/bookmarks", strings.NewReader("{}"))
	if err := MemberTokenEditor(ts)(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	before := req.Header.Clone()
	resp, err := tr.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	closeRespBody(t, resp)
	if fmt.Sprint(req.Header) != fmt.Sprint(before) {
		t.Errorf("the request's headers changed: %v -> %v", before, req.Header)
	}
	if e.memberCalls.Load() != 2 {
		t.Errorf("%d member calls, want 2 (401, replay)", e.memberCalls.Load())
	}
}

func TestRawErrorResponses(t *testing.T) {
	t.Parallel()
	srv, n := attemptServer(t, nil, 404)
	tr := newTestTransport(t, WithRawErrorResponses())
	resp, err := doRaw(t, tr, http.MethodGet, srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	closeRespBody(t, resp)
	if resp.StatusCode != http.StatusNotFound || !bytes.Contains(b, []byte("try again")) || n.Load() != 1 {
		t.Errorf("status %d body %q after %d attempts", resp.StatusCode, b, n.Load())
	}
	// Retries still apply.
	srv2, n2 := attemptServer(t, nil, 503)
	resp, err = doRaw(t, tr, http.MethodGet, srv2.URL, "")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || n2.Load() != 3 {
		t.Errorf("503: %v after %d attempts", err, n2.Load())
	}
	closeRespBody(t, resp)
	// The token sources of a raw AuthClient still see typed errors.
	e := newEnv(t, WithRawErrorResponses())
	e.mintStatus.Store(403)
	_, err = e.auth.TokenSource(ByEmail("t@x.org")).Token(t.Context())
	e.scan.seen(err)
	if !errors.Is(err, ErrForbidden) {
		t.Errorf("mint with raw errors: %v, want ErrForbidden", err)
	}
	resp2, err := e.auth.CreateMemberTokenWithResponse(t.Context(), ByEmail("t@x.org").body())
	if err != nil || resp2.StatusCode() != 403 || resp2.JSON403 == nil {
		t.Errorf("raw call: %v, %v", resp2, err)
	}
}

func TestLogging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("uma@example.com"))
	tr := e.memberTransport(ts)
	resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil)
	if err != nil {
		t.Fatal(err)
	}
	closeRespBody(t, resp)
	e.scan.mu.Lock()
	logs := e.scan.logs.String()
	e.scan.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 2 { // the mint and the member call
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), logs)
	}
	for _, want := range []string{"level=DEBUG", "method=GET", "path=" + basePath + "/api/headless/v1/spaces", "status=200", "attempt=1", "duration="} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("log line %q lacks %q", lines[1], want)
		}
	}
	if !strings.Contains(lines[0], "path="+basePath+"/api/v1/headless/auth_token") {
		t.Errorf("mint log line: %q", lines[0])
	}
}

func TestUserAgentAndAppToken(t *testing.T) {
	t.Parallel()
	var ua, authz atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.UserAgent())
		authz.Store(r.Header.Get("Authorization"))
		writeJSON(w, 200, map[string]any{"access_token": "a", "access_token_expires_at": time.Now()})
	}))
	t.Cleanup(srv.Close)
	a, err := NewAuthClient("app-1", WithBaseURL(srv.URL), WithUserAgent("site/1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.RefreshAccessTokenWithResponse(t.Context(), authv1.RefreshTokenBody{RefreshToken: "r"}); err != nil {
		t.Fatal(err)
	}
	if ua.Load() != "site/1.0 headless-go" || authz.Load() != "Bearer app-1" {
		t.Errorf("User-Agent %q, Authorization %q", ua.Load(), authz.Load())
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	bad := map[string]Option{
		"relative URL":     WithBaseURL("/x"),
		"ftp URL":          WithBaseURL("ftp://h"),
		"URL with user":    WithBaseURL("https://u:p@h"),
		"unparsable URL":   WithBaseURL("http://[::1"),
		"nil client":       WithHTTPClient(nil),
		"nil doer":         WithDoer(nil),
		"empty UA":         WithUserAgent(""),
		"negative retries": WithMaxRetries(-1),
		"zero backoff":     WithRetryBackoff(0, time.Second),
		"max < initial":    WithRetryBackoff(time.Second, time.Millisecond),
		"negative cap":     WithMaxRetryAfter(-1),
		"zero cache":       WithCacheSize(0),
		"nil store":        WithTokenStore(nil),
		"negative margin":  WithExpiryMargin(-1),
		"nil clock":        WithClock(nil),
	}
	for name, o := range bad {
		if _, err := NewAuthClient("t", o); err == nil {
			t.Errorf("NewAuthClient with %s: no error", name)
		}
	}
	if _, err := NewAuthClient(""); err == nil {
		t.Error("NewAuthClient with an empty app token: no error")
	}
	a, err := NewAuthClient("t", nil, WithHTTPClient(http.DefaultClient))
	if err != nil || a.cfg.baseURL != DefaultBaseURL || a.cfg.maxRetries != DefaultMaxRetries {
		t.Errorf("defaults: %v %v", a, err)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"0": 0, "7": 7 * time.Second, now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat): 0,
	} {
		got, ok := retryAfter(http.Header{"Retry-After": {v}}, now)
		if !ok || got != want {
			t.Errorf("Retry-After %q = %v, %v; want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "-1", "soon", "1.5"} {
		if _, ok := retryAfter(http.Header{"Retry-After": {v}}, now); ok {
			t.Errorf("Retry-After %q accepted", v)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	c := &config{initialBackoff: 100 * time.Millisecond, maxBackoff: time.Second}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		for range 50 {
			if got := c.backoff(n); got > want || got < want*3/4 {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, got, want*3/4, want)
			}
		}
	}
	if got := c.backoff(1 << 20); got > time.Second || got <= 0 {
		t.Errorf("backoff(1<<20) = %v", got)
	}
}

func TestLargeErrorBodyIsCut(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Request-Id", "req-"+strconv.Itoa(42))
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 3<<20)) // fails once the client has read its 1 MiB
	}))
	t.Cleanup(srv.Close)
	resp, err := doRaw(t, newTestTransport(t), http.MethodGet, srv.URL+"/p?q=1", "")
	closeRespBody(t, resp)
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatal(err)
	}
	if len(apiErr.Body) != maxErrorBody || apiErr.Message != "" || apiErr.RequestID != "req-42" || apiErr.Path != "/p" {
		t.Errorf("len(Body) %d, Message %q, RequestID %q, Path %q", len(apiErr.Body), apiErr.Message, apiErr.RequestID, apiErr.Path)
	}
	if got := apiErr.Error(); got != "circle: GET /p: 400 Bad Request (request id req-42)" {
		t.Errorf("Error() = %q", got)
	}
}
