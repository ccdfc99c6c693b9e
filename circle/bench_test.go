package circle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// The benchmarks come in pairs, impl=baseline and impl=circle, measured in
// the same run; benchstat gives the ratios:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./circle/ > bench.out
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl bench.out

// benchServer serves a fixed page of ten bookmarks to the bearer token
// "acc-bench", and mints that token for any member.
func benchServer(b *testing.B) (*httptest.Server, []byte) {
	page := benchPage()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/headless/auth_token", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]any{"access_token": "acc-bench", "refresh_token": "ref-bench",
			"access_token_expires_at": time.Now().Add(time.Hour), "refresh_token_expires_at": time.Now().Add(time.Hour)})
	})
	mux.HandleFunc("GET /api/headless/v1/bookmarks", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer acc-bench" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(page) // a failed write fails the client's call
	})
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv, page
}

// benchPage is the page of ten bookmarks benchServer serves.
func benchPage() []byte {
	recs := make([]map[string]any, 10)
	for i := range recs {
		recs[i] = map[string]any{"id": i + 1, "record_id": 100 + i, "bookmarkable_type": "Post",
			"created_at": "2026-01-02T03:04:05Z", "community_id": 7, "community_member_id": 1}
	}
	page, _ := json.Marshal(map[string]any{"page": 1, "per_page": 10, "has_next_page": false, "count": 10, "page_count": 1, "records": recs})
	return page
}

// BenchmarkMemberCall compares ListBookmarks through NewMemberClient (with
// a member token source) with the same call made with net/http and
// encoding/json by hand, over one HTTP client, against one loopback server.
func BenchmarkMemberCall(b *testing.B) {
	srv, _ := benchServer(b)
	hc := &http.Client{Transport: defaultHTTPClient().Transport.(*http.Transport).Clone()}
	ctx := context.Background()

	b.Run("impl=baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/headless/v1/bookmarks", nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+"acc-bench")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			if cerr := resp.Body.Close(); cerr != nil {
				b.Fatal(cerr)
			}
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatal(resp.StatusCode, err)
			}
			var out memberv1.Bookmarks
			if err := json.Unmarshal(body, &out); err != nil || len(out.Records) != 10 {
				b.Fatal(err)
			}
		}
	})
	// The generated client alone, with a plain editor for the token: the
	// part of the difference that is not this package's.
	b.Run("impl=generated", func(b *testing.B) {
		api, err := memberv1.NewClientWithResponses(srv.URL, memberv1.WithHTTPClient(hc),
			memberv1.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
				r.Header.Set("Authorization", "Bearer "+"acc-bench")
				return nil
			}))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := api.ListBookmarksWithResponse(ctx, nil)
			if err != nil || resp.StatusCode() != 200 || len(resp.JSON200.Records) != 10 {
				b.Fatal(err)
			}
		}
	})
	// impl=circle sends with hc, a client of the user's own; impl=circle-deadline
	// adds the deadline each attempt has with the default client
	// (DefaultTimeout).
	for _, impl := range []struct {
		name string
		opts []Option
	}{
		{"circle", nil},
		{"circle-deadline", []Option{WithTimeout(DefaultTimeout)}},
	} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			opts := append([]Option{WithBaseURL(srv.URL), WithHTTPClient(hc)}, impl.opts...)
			auth, err := NewAuthClient("app", opts...)
			if err != nil {
				b.Fatal(err)
			}
			api, err := NewMemberClient(auth.TokenSource(ByEmail("bench@example.com")), opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := api.ListBookmarksWithResponse(ctx, nil)
				if err != nil || len(resp.JSON200.Records) != 10 {
					b.Fatal(err)
				}
			}
		})
	}
}

// mutexSource is the baseline of BenchmarkToken: a token behind a mutex,
// checked against the clock, as golang.org/x/oauth2's reuseTokenSource
// does it.
type mutexSource struct {
	mu  sync.Mutex
	tok Token
	now func() time.Time
}

func (s *mutexSource) Token(context.Context) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.now().Before(s.tok.AccessTokenExpiresAt.Add(-time.Minute)) {
		return s.tok, nil
	}
	return Token{}, fmt.Errorf("expired")
}

// cachedSources returns the two token sources BenchmarkToken compares,
// each holding a valid token and reading the real clock.
func cachedSources(b *testing.B) map[string]TokenSource {
	srv, _ := benchServer(b)
	auth, err := NewAuthClient("app", WithBaseURL(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	ts := auth.TokenSource(ByEmail("tok@example.com"))
	tok, err := ts.Token(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return map[string]TokenSource{"baseline": &mutexSource{tok: tok, now: time.Now}, "circle": ts}
}

// BenchmarkToken measures Token on a valid cached token beside the mutex
// baseline.
func BenchmarkToken(b *testing.B) {
	ctx := context.Background()
	srcs := cachedSources(b)
	for _, impl := range []string{"baseline", "circle"} {
		b.Run("impl="+impl, func(b *testing.B) {
			ts := srcs[impl]
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ts.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTokenParallel is BenchmarkToken from every processor at once.
func BenchmarkTokenParallel(b *testing.B) {
	ctx := context.Background()
	srcs := cachedSources(b)
	for _, impl := range []string{"baseline", "circle"} {
		b.Run("impl="+impl, func(b *testing.B) {
			ts := srcs[impl]
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ts.Token(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkExpiry sends 1000 goroutines through one access token expiry
// at a time: each op moves the clock past the token's expiry and has the
// goroutines call Token at once, which must cost exactly one refresh. The
// baseline is the same 1000 goroutines calling Token on a valid token, so
// the difference is the cost of the one refresh and of waiting for it.
func BenchmarkExpiry(b *testing.B) {
	const goroutines = 1000
	for _, impl := range []string{"baseline", "circle"} {
		b.Run("impl="+impl, func(b *testing.B) {
			e := newEnv(b)
			ts := e.auth.TokenSource(ByEmail("exp@example.com"))
			ctx := context.Background()
			if _, err := ts.Token(ctx); err != nil {
				b.Fatal(err)
			}
			start := e.mints.Load() + e.refreshes.Load()
			var wg sync.WaitGroup
			b.ReportAllocs()
			for b.Loop() {
				if impl == "circle" {
					e.clock.Advance(time.Hour)
				}
				for range goroutines {
					wg.Go(func() {
						if _, err := ts.Token(ctx); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			calls := e.mints.Load() + e.refreshes.Load() - start
			b.ReportMetric(float64(calls)/float64(b.N), "authcalls/op")
			if want := int64(b.N); impl == "baseline" && calls != 0 || impl == "circle" && calls != want {
				b.Fatalf("%d Auth API calls in %d ops", calls, b.N)
			}
		})
	}
}
