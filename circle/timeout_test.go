package circle

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// silent is a server that accepts requests and never sends a byte back
// until the test ends.
func silent(t *testing.T, hits *atomic.Int64) *httptest.Server {
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-quit:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(quit); srv.Close() })
	return srv
}

// callWithin runs f under a context of 20 s, so that a test of a call
// that would hang fails instead, and returns how long it took.
func callWithin(t *testing.T, f func(ctx context.Context) error) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err := f(ctx)
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("the call was still waiting after %v: only the caller's context ended it", took)
	}
	return took, err
}

// TestDefaultClientLimits: the default client's transport has a TLS
// handshake and a response header timeout, keeps the dialer of the
// program's DefaultTransport (net/http's gives up after 30 s), and brings
// its own when there is no DefaultTransport.
func TestDefaultClientLimits(t *testing.T) {
	t.Parallel()
	tr, ok := defaultHTTPClient().Transport.(*http.Transport)
	if !ok {
		t.Fatalf("default transport %T", defaultHTTPClient().Transport)
	}
	if tr.ResponseHeaderTimeout != 30*time.Second || tr.TLSHandshakeTimeout != 10*time.Second || tr.DialContext == nil {
		t.Errorf("default transport: header %v, handshake %v, dialer %v", tr.ResponseHeaderTimeout, tr.TLSHandshakeTimeout, tr.DialContext != nil)
	}
	own, _ := newDefaultHTTPClient(nil, defaultClientLimits).Transport.(*http.Transport)
	if own == nil || own.DialContext == nil || own.ResponseHeaderTimeout != 30*time.Second || own.TLSHandshakeTimeout != 10*time.Second {
		t.Errorf("transport made without a DefaultTransport: %+v", own)
	}
	// The program's transport keeps its own limits where it has them.
	mine := &http.Transport{ResponseHeaderTimeout: time.Minute}
	got, _ := newDefaultHTTPClient(mine, defaultClientLimits).Transport.(*http.Transport)
	if got == mine || got.ResponseHeaderTimeout != time.Minute || got.TLSHandshakeTimeout != 10*time.Second || mine.TLSHandshakeTimeout != 0 {
		t.Errorf("a program's transport: header %v, handshake %v; its own changed to %v", got.ResponseHeaderTimeout, got.TLSHandshakeTimeout, mine.TLSHandshakeTimeout)
	}
	// Every attempt with the default client has a deadline; a client of
	// the user's own keeps its settings.
	for _, tc := range []struct {
		name string
		opts []Option
		want time.Duration
	}{
		{"default client", nil, DefaultTimeout},
		{"default client, WithTimeout", []Option{WithTimeout(time.Second)}, time.Second},
		{"default client, WithTimeout(0)", []Option{WithTimeout(0)}, 0},
		{"own client", []Option{WithHTTPClient(&http.Client{})}, 0},
		{"own client, WithTimeout", []Option{WithHTTPClient(&http.Client{}), WithTimeout(time.Second)}, time.Second},
	} {
		cfg, err := newConfig(tc.opts)
		if err != nil || cfg.timeout != tc.want {
			t.Errorf("%s: attempt timeout %v (%v), want %v", tc.name, cfg.timeout, err, tc.want)
		}
	}
	// A member client made by an AuthClient inherits the default client's
	// deadline, or the explicit one, unless it is given a client of its own.
	for _, tc := range []struct {
		name       string
		auth, memb []Option
		want       time.Duration
	}{
		{"inherited default client", nil, nil, DefaultTimeout},
		{"own client for the member client", nil, []Option{WithHTTPClient(&http.Client{})}, 0},
		{"explicit WithTimeout, own client", []Option{WithTimeout(time.Second)}, []Option{WithHTTPClient(&http.Client{})}, time.Second},
	} {
		parent, err := newConfig(tc.auth)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := parent.with(tc.memb)
		if err != nil || cfg.timeout != tc.want {
			t.Errorf("%s: attempt timeout %v (%v), want %v", tc.name, cfg.timeout, err, tc.want)
		}
	}
	if _, err := newConfig([]Option{WithTimeout(-time.Second)}); err == nil {
		t.Error("a negative WithTimeout was accepted")
	}
}

// TestServerThatNeverAnswers: a server that accepts the request and never
// sends its headers holds a caller for the default client's response
// header limit, not for ever. The limit is shortened here; the default
// client is built as the package builds it.
func TestServerThatNeverAnswers(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := silent(t, &hits)
	lim := defaultClientLimits
	lim.header = 300 * time.Millisecond
	hc := newDefaultHTTPClient(http.DefaultTransport, lim)
	api, err := NewMemberClient(staticSource{Token{AccessToken: "acc"}}, WithBaseURL(srv.URL), WithHTTPClient(hc),
		WithRetryBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	took, err := callWithin(t, func(ctx context.Context) error {
		_, err := api.ListBookmarksWithResponse(ctx, nil)
		return err
	})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("err = %v, want a timeout", err)
	}
	if hits.Load() != 3 || took > 8*time.Second {
		t.Errorf("%d attempts in %v, want 3 (a timed-out GET is retried) in about 900 ms", hits.Load(), took)
	}
	t.Logf("a server that never sends headers, response header limit 300 ms, 3 attempts: the call failed after %v", took.Round(time.Millisecond))
}

// TestTLSHandshakeThatNeverEnds: a server that accepts the connection and
// never answers the TLS handshake holds a caller for the default
// client's handshake limit (shortened here), not for ever.
func TestTLSHandshakeThatNeverEnds(t *testing.T) {
	t.Parallel()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	quit := make(chan struct{})
	t.Cleanup(func() { close(quit); _ = ln.Close() })
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() { <-quit; _ = c.Close() }()
		}
	}()
	// Without a DefaultTransport (whose handshake limit would be kept),
	// the transport has every limit of lim.
	lim := defaultClientLimits
	lim.handshake = 300 * time.Millisecond
	hc := newDefaultHTTPClient(nil, lim)
	api, err := NewMemberClient(staticSource{Token{AccessToken: "acc"}}, WithBaseURL("https://"+ln.Addr().String()), WithHTTPClient(hc), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	took, err := callWithin(t, func(ctx context.Context) error {
		_, err := api.ListBookmarksWithResponse(ctx, nil)
		return err
	})
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || conns.Load() != 1 || took > 5*time.Second {
		t.Errorf("err = %v after %d connections and %v, want a handshake timeout after 1 and about 300 ms", err, conns.Load(), took)
	}
	t.Logf("a server that never answers the TLS handshake, limit 300 ms: the call failed after %v", took.Round(time.Millisecond))
}

// TestWithTimeoutBoundsEachAttempt: WithTimeout bounds every attempt,
// with the default client and with a Doer of the user's own, whether the
// server never answers or answers and then sends its body a byte at a
// time; each timed-out attempt is retried like a timed-out connection.
func TestWithTimeoutBoundsEachAttempt(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	never := silent(t, &hits)
	var trickles atomic.Int64
	trickle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trickles.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("["))
		for {
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := w.Write([]byte("1,")); err != nil {
				return
			}
		}
	}))
	t.Cleanup(trickle.Close)
	doer := doerFunc(func(r *http.Request) (*http.Response, error) { return http.DefaultClient.Do(r) })
	for _, tc := range []struct {
		name  string
		srv   *httptest.Server
		hits  *atomic.Int64
		extra []Option
	}{
		{"no headers, default client", never, &hits, nil},
		{"no headers, own Doer", never, &hits, []Option{WithDoer(doer)}},
		{"endless trickle of a body, default client", trickle, &trickles, nil},
	} {
		tc.hits.Store(0)
		opts := append([]Option{WithBaseURL(tc.srv.URL), WithTimeout(250 * time.Millisecond), WithMaxRetries(1),
			WithRetryBackoff(time.Millisecond, time.Millisecond)}, tc.extra...)
		api, err := NewMemberClient(staticSource{Token{AccessToken: "acc"}}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		took, err := callWithin(t, func(ctx context.Context) error {
			_, err := api.ListBookmarksWithResponse(ctx, nil)
			return err
		})
		if !errors.Is(err, context.DeadlineExceeded) || tc.hits.Load() != 2 || took > 8*time.Second {
			t.Errorf("%s: err = %v after %d attempts, want the attempts' deadline after 2", tc.name, err, tc.hits.Load())
		}
		t.Logf("%s, WithTimeout(250ms), 2 attempts: failed after %v: %v", tc.name, took.Round(time.Millisecond), err)
	}
}

// doerFunc makes a function a Doer.
type doerFunc func(*http.Request) (*http.Response, error)

// Do calls f.
func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// TestWithTimeoutLastsWhileTheBodyIsRead: with NewHTTPClient, whose
// responses are handed over unread, an attempt's deadline ends when the
// body is closed, not when Do returns: a body read within it arrives
// whole, one read after it fails.
func TestWithTimeoutLastsWhileTheBodyIsRead(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"a":`))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		_, _ = w.Write([]byte(`1}`))
	}))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		timeout time.Duration
		whole   bool
	}{{5 * time.Second, true}, {30 * time.Millisecond, false}} {
		hc, err := NewHTTPClient(staticSource{Token{AccessToken: "acc"}}, WithBaseURL(srv.URL), WithTimeout(tc.timeout))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/headless/v1/bookmarks", nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, rerr := readLimited(resp.Body, 1<<10, -1, false)
		_ = resp.Body.Close()
		if whole := rerr == nil && string(b) == `{"a":1}`; whole != tc.whole {
			t.Errorf("WithTimeout(%v): body %q, %v; want whole %t", tc.timeout, b, rerr, tc.whole)
		}
	}
}
