package circle

import (
	"context"
	"crypto/tls"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryPolicy says which failures of a request may be retried.
type retryPolicy uint8

const (
	// retryNever: the request may have had effects; never send it twice.
	retryNever retryPolicy = iota
	// retryIdempotent: retry connection errors and retryable statuses.
	retryIdempotent
	// retryUnsent: retry only connection errors that happened before any
	// byte of the request was sent (used for the Auth API refresh call).
	retryUnsent
)

// refreshPath is the Auth API refresh call, the one PATCH that is retried
// when it could not be sent at all.
const refreshPath = "/api/v1/headless/access_token/refresh"

func policyFor(req *http.Request, auth bool) retryPolicy {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return retryIdempotent
	case http.MethodPatch:
		if auth && strings.HasSuffix(req.URL.Path, refreshPath) {
			return retryUnsent
		}
	}
	return retryNever
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableError reports whether the connection error err may be retried
// under policy p, the caller's context being still alive.
func retryableError(err error, p retryPolicy) bool {
	switch p {
	case retryIdempotent:
		// The caller's context is checked apart; a deadline error here is
		// a per-attempt timeout (http.Client.Timeout), worth retrying. A
		// certificate that does not verify will not verify next time.
		var cert *tls.CertificateVerificationError
		return !errors.As(err, &cert)
	case retryUnsent:
		return notSent(err)
	}
	return false
}

// notSent reports whether err shows the request never left: the name did
// not resolve, or no connection could be made.
func notSent(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// backoff returns the wait before retry number n (0 for the first retry):
// initial * 2^n, at most max, less a random jitter of up to a quarter.
func (c *config) backoff(n int) time.Duration {
	d := c.initialBackoff
	for i := 0; i < n && d < c.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.maxBackoff)
	return d - time.Duration(rand.Float64()*float64(d)/4)
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date
// (relative to now).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits for d, or until ctx ends (and then reports false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// fitsDeadline reports whether waiting d still leaves ctx time to run.
func fitsDeadline(ctx context.Context, d time.Duration) bool {
	dl, ok := ctx.Deadline()
	return !ok || time.Until(dl) > d
}
