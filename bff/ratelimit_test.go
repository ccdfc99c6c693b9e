package bff

import (
	"context"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
)

// Proxied calls under a client-side limit below the fake Circle's never
// meet its 429: every caller waits its turn instead. The fake allows
// `limit` requests a second per address; the AuthClient sends at most
// 60% of that, with a burst of 5%, so that a window of one second holds
// at most 65% of the limit: the rest is slack for the time a request
// takes between the limiter and the fake on a loaded machine (up to half
// a second). BFF_RATE_CALLS and
// BFF_RATE_LIMIT change the figures (the README's were measured with
// 5000 and 100); by default 250 calls at 50 a second.
func TestRateLimitKeepsCircleFromRefusing(t *testing.T) {
	calls, limit := envInt("BFF_RATE_CALLS", 250), envInt("BFF_RATE_LIMIT", 50)
	if testing.Short() {
		calls = limit
	}
	rate, burst := 0.6*float64(limit), max(limit/20, 1)
	e := newEnv(t, []circle.Option{circle.WithRateLimit(rate, burst)}, WithMaxRateWait(time.Minute))
	e.fake.SetRateLimit(limit, time.Second)
	const workers = 32
	waits := make([]time.Duration, calls)
	statuses := make([]int, calls)
	var wg sync.WaitGroup
	next := make(chan int)
	client := e.srv.Client()
	for range workers {
		wg.Go(func() {
			for i := range next {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.srv.URL+"/circle/api/headless/v1/home", nil)
				req.Header.Set("X-CSRF", "1")
				req.Header.Set(memberHeader, e.email)
				start := time.Now()
				resp, err := client.Do(req)
				waits[i] = time.Since(start)
				if err != nil {
					continue
				}
				statuses[i] = resp.StatusCode
				_ = resp.Body.Close()
			}
		})
	}
	start := time.Now()
	for i := range calls {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	refused := 0
	for _, r := range e.fake.Requests() {
		if r.Status == http.StatusTooManyRequests {
			refused++
		}
	}
	bad := 0
	for _, s := range statuses {
		if s != http.StatusOK {
			bad++
		}
	}
	slices.Sort(waits)
	t.Logf("%d proxied calls, %d workers, fake limit %d/s, client limit %.0f/s burst %d: %v in all (%.0f calls/s); 429s from the fake: %d; answers not 200: %d; time per call median %v, p99 %v, max %v",
		calls, workers, limit, rate, burst, elapsed.Round(time.Millisecond), float64(calls)/elapsed.Seconds(),
		refused, bad, waits[calls/2].Round(time.Millisecond), waits[calls*99/100].Round(time.Millisecond), waits[calls-1].Round(time.Millisecond))
	if refused != 0 || bad != 0 {
		t.Errorf("the fake refused %d calls with 429; %d answers were not 200", refused, bad)
	}
	if least := time.Duration(float64(calls-burst-1) / rate * float64(time.Second)); elapsed < least*9/10 {
		t.Errorf("%d calls took %v; the limit allows no less than %v", calls, elapsed, least)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
