package circletest

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// rateLimits is the limit SetRateLimit sets, and the count of each client
// address in its current window.
type rateLimits struct {
	mu      sync.Mutex
	n       int
	per     time.Duration
	windows map[string]*rateWindow
}

type rateWindow struct {
	start time.Time
	count int
}

// SetRateLimit makes the server answer 429 with a Retry-After header, as
// Circle does, to a client address (the IP address a request comes from)
// that sends more than n requests, to either API, in a window of per: the
// window starts with the address's first request and the next one with
// its first request after that. Retry-After says in how many seconds the
// window ends. Windows run on real time, not on the server's clock
// ([Server.Advance] does not move them). Circle documents 2,000 requests
// per 5 minutes per address; a test uses a smaller limit. n <= 0 turns the
// limit off, as it is by default. A refused request is recorded with
// status 429 and no operation.
func (s *Server) SetRateLimit(n int, per time.Duration) {
	rl := &s.rates
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.n, rl.per = n, per
	rl.windows = map[string]*rateWindow{}
}

// rateLimited reports whether r is over the limit, and then the reply.
func (s *Server) rateLimited(r *http.Request) (reply, bool) {
	rl := &s.rates
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if rl.n <= 0 || rl.per <= 0 {
		return reply{}, false
	}
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	now := time.Now()
	w := rl.windows[addr]
	if w == nil || now.Sub(w.start) >= rl.per {
		w = &rateWindow{start: now}
		rl.windows[addr] = w
	}
	w.count++
	if w.count <= rl.n {
		return reply{}, false
	}
	left := w.start.Add(rl.per).Sub(now)
	rp := errorReply(http.StatusTooManyRequests, "circletest: rate limit exceeded")
	rp.header = http.Header{"Retry-After": {fmt.Sprint(int64((left + time.Second - 1) / time.Second))}}
	return rp, true
}
