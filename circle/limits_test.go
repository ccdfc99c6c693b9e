package circle

import (
	"bufio"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// allocated returns the bytes allocated while f runs.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// endless answers 200 with a JSON array that never ends, until the client
// goes away.
func endless(t *testing.T, hits *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		chunk := []byte(strings.Repeat(`{"id":1},`, 4096))
		_, _ = w.Write([]byte("["))
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestEndlessResponseIsCut: a 2xx body longer than the limit ends the
// call with ErrResponseTooLarge, naming the call and the limit, after
// reading about the limit; it is not retried (a GET) and the heap does
// not grow with what the server sends.
func TestEndlessResponseIsCut(t *testing.T) {
	// Not parallel: it measures the allocations of the whole process.
	var hits atomic.Int64
	srv := endless(t, &hits)
	api, err := NewMemberClient(staticSource{Token{AccessToken: "acc"}}, WithBaseURL(srv.URL), WithMaxResponseSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	var callErr error
	n := allocated(func() { _, callErr = api.ListBookmarksWithResponse(t.Context(), nil) })
	var de *DecodeError
	if !errors.Is(callErr, ErrResponseTooLarge) || !errors.As(callErr, &de) ||
		!strings.Contains(callErr.Error(), "GET /api/headless/v1/bookmarks") || !strings.Contains(callErr.Error(), "1 MiB") {
		t.Fatalf("err = %v, want ErrResponseTooLarge naming the call and the limit", callErr)
	}
	if hits.Load() != 1 {
		t.Errorf("%d attempts, want 1: a response over the limit is not retried", hits.Load())
	}
	if n > 16<<20 {
		t.Errorf("the call allocated %d bytes for a limit of 1 MiB", n)
	}
	t.Logf("an endless response with a 1 MiB limit: %d bytes allocated", n)

	// The Auth API is bounded by the same limit, for a mint too.
	auth, err := NewAuthClient(testAppToken, WithBaseURL(srv.URL), WithMaxResponseSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.TokenSource(ByEmail("ada@example.com")).Token(t.Context()); !errors.Is(err, ErrResponseTooLarge) {
		t.Errorf("mint with an endless response: %v, want ErrResponseTooLarge", err)
	}
}

// lyingLength answers 200 with a Content-Length of 16 MiB and sends two
// bytes before closing the connection.
func lyingLength(t *testing.T, hits *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer func() { _ = conn.Close() }() // the client sees the cut either way
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16777216\r\n\r\n{}")
		_ = buf.Flush()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestFalseContentLengthIsNotTrusted: answers that claim 16 MiB and send 2
// bytes cost little memory: no buffer is allocated on the word of the
// header beyond a small bound. (Before the bound, 20 calls of 3 attempts
// allocated about 1 GB.)
func TestFalseContentLengthIsNotTrusted(t *testing.T) {
	// Not parallel: it measures the allocations of the whole process.
	var hits atomic.Int64
	srv := lyingLength(t, &hits)
	api, err := NewMemberClient(staticSource{Token{AccessToken: "acc"}}, WithBaseURL(srv.URL), WithRetryBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	n := allocated(func() {
		for range 20 {
			if _, err := api.ListBookmarksWithResponse(t.Context(), nil); err == nil {
				t.Fatal("a cut body was accepted")
			}
		}
	})
	if hits.Load() != 60 {
		t.Errorf("%d attempts, want 60 (a body cut short is retried for a GET)", hits.Load())
	}
	if n > 32<<20 {
		t.Errorf("20 calls with a false Content-Length allocated %d bytes", n)
	}
	t.Logf("20 calls (60 attempts) claiming 16 MiB and sending 2 bytes: %d bytes allocated", n)
}

// TestErrorBodiesAreCut: a non-2xx body is read up to 1 MiB only.
func TestErrorBodiesAreCut(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		bw := bufio.NewWriter(w)
		for i := 0; i < 8<<20; i += 4096 {
			if _, err := bw.WriteString(strings.Repeat("x", 4096)); err != nil {
				return
			}
		}
		_ = bw.Flush()
	}))
	t.Cleanup(srv.Close)
	api, err := NewMemberClient(staticSource{Token{AccessToken: "acc"}}, WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.ListBookmarksWithResponse(t.Context(), nil)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || len(apiErr.Body) != maxErrorBody {
		t.Errorf("err = %v, want a 404 *APIError with 1 MiB of body", err)
	}
}
