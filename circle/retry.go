package circle

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// retryPolicy says which failures of a request may be retried.
type retryPolicy uint8

const (
	// retryByMethod: the policy follows from the method (the default).
	retryByMethod retryPolicy = iota
	// retryNever: the request may have had effects; never send it twice.
	retryNever
	// retryIdempotent: retry transient failures and retryable statuses.
	retryIdempotent
	// retryUnsent: retry only failures that happened before any byte of
	// the request was sent (a member token source's refresh call).
	retryUnsent
)

type retryPolicyKey struct{}

// withRetryPolicy returns a copy of ctx whose requests are retried under
// p, whatever their method: the caller that knows a call is safe to send
// again says so, instead of the transport guessing from its path.
func withRetryPolicy(ctx context.Context, p retryPolicy) context.Context {
	return context.WithValue(ctx, retryPolicyKey{}, p)
}

// policyFor returns the retry policy of req: the one its context names, or
// else retryIdempotent for GET, HEAD, PUT, DELETE and OPTIONS and
// retryNever for any other method.
func policyFor(req *http.Request) retryPolicy {
	if p, ok := req.Context().Value(retryPolicyKey{}).(retryPolicy); ok && p != retryByMethod {
		return p
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return retryIdempotent
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

// transient reports whether err, an error of the Doer, is a failure that
// may not happen again: the connection could not be made, was reset or
// cut, or an attempt timed out (http.Client.Timeout). Anything else (a
// request that cannot be sent as it is, a certificate that does not
// verify, a refused redirect, a canceled request) fails the same way every
// time, and is not retried.
func transient(err error) bool {
	var redirect *RedirectError
	var cert *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.Is(err, context.Canceled),
		errors.As(err, &redirect),
		errors.As(err, &cert), errors.As(err, &unknownAuthority),
		errors.As(err, &hostname), errors.As(err, &invalid):
		return false
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}

// unsent reports whether err shows the request never left: the name did
// not resolve, or no connection could be made.
func unsent(err error) bool {
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// backoff returns the wait before retry number n (0 for the first retry):
// initial * 2^n, at most max, less a random jitter of up to a quarter.
func (c *config) backoff(n int) time.Duration {
	return jittered(c.initialBackoff, c.maxBackoff, n)
}

// jittered returns initial doubled n times, at most maxWait, less a
// random jitter of up to a quarter: the waits of both the retries and the
// member token sources.
func jittered(initial, maxWait time.Duration, n int) time.Duration {
	d := initial
	for i := 0; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
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
