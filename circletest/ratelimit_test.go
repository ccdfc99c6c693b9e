package circletest

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRateLimitPerClientAddress(t *testing.T) {
	t.Parallel()
	s := Start(t)
	type answer struct {
		StatusCode int
		Header     http.Header
	}
	get := func() answer {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL()+"/api/headless/v1/home", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return answer{resp.StatusCode, resp.Header}
	}
	for range 20 { // off by default: 401 (no token), never 429
		if resp := get(); resp.StatusCode == http.StatusTooManyRequests {
			t.Fatal("429 without a limit")
		}
	}
	s.SetRateLimit(3, time.Minute)
	for i := range 3 {
		if resp := get(); resp.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("request %d of 3 refused", i+1)
		}
	}
	resp := get()
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || err != nil || ra < 59 || ra > 60 {
		t.Fatalf("4th request: %d, Retry-After %q; want 429 and 60", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	reqs := s.Requests()
	if last := reqs[len(reqs)-1]; last.Status != http.StatusTooManyRequests || last.OperationID != "" {
		t.Errorf("recorded %d %q", last.Status, last.OperationID)
	}
	// A short window ends, and a new one starts.
	s.SetRateLimit(1, time.Second)
	get()
	if resp := get(); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("2nd request of 1: %d", resp.StatusCode)
	}
	time.Sleep(1100 * time.Millisecond)
	if resp := get(); resp.StatusCode == http.StatusTooManyRequests {
		t.Fatal("refused in a new window")
	}
	s.SetRateLimit(0, 0)
	for range 5 {
		if resp := get(); resp.StatusCode == http.StatusTooManyRequests {
			t.Fatal("429 after the limit was turned off")
		}
	}
}
