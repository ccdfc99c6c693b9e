package circle

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// WithRateLimit makes the clients wait before each request (every attempt,
// retries included) so that they send at most perSecond requests a second
// on average, with bursts of at most burst requests, instead of running
// into Circle's limit and its 429 answers. It is off by default.
//
// Circle limits each IP address to 2,000 requests in 5 minutes, across
// all its APIs. A token bucket lets burst requests through at once and
// then perSecond a second, so that any 5 minutes hold at most
// burst + 300*perSecond requests: WithRateLimit(6, 200) stays within
// 2,000 (200 + 1,800).
//
// Given to [NewAuthClient], the limit is shared by the Auth API calls of
// its token sources and every client built from it
// ([AuthClient.NewMemberClient], [AuthClient.NewHTTPClient]): one budget
// for the process. Given to [NewMemberClient] or [NewHTTPClient], it is
// that client's own. A request waits within its context: when the wait
// would outlast the context's deadline, or [WithMaxRateWait], the request
// fails at once with a [*RateWaitError], and nothing is sent. When Circle
// answers 429 with a Retry-After header, every request of the shared
// budget waits that long (up to [WithMaxRetryAfter]), not only the one
// that was refused.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(c *config) error {
		if math.IsNaN(perSecond) || perSecond <= 0 || math.IsInf(perSecond, 0) || burst < 1 {
			return fmt.Errorf("circle: WithRateLimit: want a positive rate and a burst of at least 1, got %v and %d", perSecond, burst)
		}
		c.rate.l = &limiter{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
		return nil
	}
}

// WithMaxRateWait bounds how long one request waits for the budget of
// [WithRateLimit]: a request that would wait longer fails at once with a
// [*RateWaitError] instead of queueing. The default, 0, leaves the wait
// bounded only by the request's context. It can differ between clients
// that share one budget: a proxy answering browsers gives up sooner than
// a background job.
func WithMaxRateWait(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("circle: WithMaxRateWait: negative duration %v", d)
		}
		c.rate.maxWait = d
		return nil
	}
}

// RateWaitError is the error of a request that [WithRateLimit]'s budget
// would have kept waiting longer than allowed (by [WithMaxRateWait] or
// the context's deadline). The request was not sent. It matches
// [ErrRateLimited] with [errors.Is].
type RateWaitError struct {
	// Wait is how long the request would have had to wait.
	Wait time.Duration
}

// Error says how long the request would have waited.
func (e *RateWaitError) Error() string {
	return fmt.Sprintf("circle: rate limit: the request would wait %v, longer than allowed; not sent", e.Wait.Round(time.Millisecond))
}

// Is reports whether target is [ErrRateLimited].
func (e *RateWaitError) Is(target error) bool { return target == ErrRateLimited }

// rateLimit is the rate limit setting of one client: the shared limiter,
// if any, and this client's longest wait.
type rateLimit struct {
	l       *limiter
	maxWait time.Duration
}

// limiter is one budget of requests, shared by the clients of one
// AuthClient.
type limiter struct {
	lim *rate.Limiter

	mu        sync.Mutex
	pauseTill time.Time // after a 429 with Retry-After: nobody sends before
}

// take takes one request from the budget, waiting for it within ctx;
// without a limit it returns at once.
func (r rateLimit) take(ctx context.Context) error {
	if r.l == nil {
		return nil
	}
	return r.wait(ctx)
}

// sent notes what an attempt got: a 429 with Retry-After pauses the budget
// for everyone.
func (r rateLimit) sent(cfg *config, resp *http.Response, err error) {
	if r.l == nil || err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return
	}
	if d, ok := retryAfter(resp.Header, cfg.now()); ok {
		r.l.pause(min(d, cfg.maxRetryAfter))
	}
}

// wait takes one request from the budget, waiting for it within ctx.
func (r rateLimit) wait(ctx context.Context) error {
	now := time.Now()
	res := r.l.lim.ReserveN(now, 1)
	d := res.DelayFrom(now)
	r.l.mu.Lock()
	if p := r.l.pauseTill.Sub(now); p > d {
		d = p
	}
	r.l.mu.Unlock()
	if d <= 0 {
		return nil
	}
	tooLong := r.maxWait > 0 && d > r.maxWait
	if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		tooLong = true
	}
	if tooLong {
		res.CancelAt(now)
		return &RateWaitError{Wait: d}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		res.Cancel()
		return context.Cause(ctx)
	}
}

// pause makes every request of the budget wait d from now.
func (l *limiter) pause(d time.Duration) {
	till := time.Now().Add(d)
	l.mu.Lock()
	defer l.mu.Unlock()
	if till.After(l.pauseTill) {
		l.pauseTill = till
	}
}
