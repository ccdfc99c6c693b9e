package circle

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// transport is the Doer the generated clients are given. Around the user's
// Doer it retries, replays a Member API request once after a 401, turns
// non-2xx answers into *APIError and logs each attempt. It never modifies
// the request it is given: every attempt but an unmodified first one is a
// clone.
type transport struct {
	cfg  *config
	next Doer
	// auth is set for the Auth API, whose PATCH refresh may be retried
	// when it was not sent, and whose bodies carry tokens.
	auth bool
	// appToken is redacted from errors.
	appToken string
	// member is set for the Member API, where a 401 is replayed; source
	// is the client's own token source (nil when every call names one in
	// its context).
	member bool
	source TokenSource
}

// Do sends req as described on transport.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	getBody, err := replayableBody(req)
	if err != nil {
		return nil, err
	}
	policy := policyFor(req, t.auth)

	cur := req
	if getBody != nil && req.GetBody == nil {
		// The body was buffered here; send a clone that reads the buffer.
		if cur, err = cloneRequest(ctx, req, getBody); err != nil {
			return nil, err
		}
	}
	retries, replayed := 0, false
	for attempt := 1; ; attempt++ {
		start := time.Now()
		resp, err := t.next.Do(cur)
		t.logAttempt(ctx, cur, attempt, resp, err, time.Since(start))

		if err != nil {
			if retries < t.cfg.maxRetries && ctx.Err() == nil && retryableError(err, policy) {
				wait := t.cfg.backoff(retries)
				if fitsDeadline(ctx, wait) && sleep(ctx, wait) {
					retries++
					if cur, err = cloneRequest(ctx, cur, getBody); err != nil {
						return nil, err
					}
					continue
				}
			}
			if retries > 0 {
				return nil, fmt.Errorf("circle: %s %s: after %d attempts: %w", req.Method, req.URL.Path, attempt, err)
			}
			return nil, err
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}

		// A non-2xx answer: keep (at most 1 MiB of) its body, so that it
		// can be read for the decisions below and still be returned.
		body := bufferBody(resp)

		if resp.StatusCode == http.StatusUnauthorized && t.member && !replayed {
			next, replay, err := t.replayAfter401(ctx, cur, resp, body, getBody)
			if err != nil {
				return nil, err
			}
			if replay {
				replayed, cur = true, next
				continue
			}
		}

		if policy == retryIdempotent && retryableStatus(resp.StatusCode) && retries < t.cfg.maxRetries {
			wait := t.cfg.backoff(retries)
			ok := true
			if ra, has := retryAfter(resp.Header, t.cfg.now()); has {
				wait, ok = ra, ra <= t.cfg.maxRetryAfter
			}
			if ok && fitsDeadline(ctx, wait) && sleep(ctx, wait) {
				retries++
				if cur, err = cloneRequest(ctx, cur, getBody); err != nil {
					return nil, err
				}
				continue
			}
		}

		if t.cfg.rawErrors {
			resp.Body = io.NopCloser(bytes.NewReader(body))
			return resp, nil
		}
		return nil, newAPIError(cur, resp, body, t.secrets(cur, getBody), t.cfg.now())
	}
}

// replayAfter401 decides whether a Member API request answered 401 is
// sent again with a refreshed token, and if so returns the request to send.
func (t *transport) replayAfter401(ctx context.Context, sent *http.Request, resp *http.Response, body []byte, getBody func() (io.ReadCloser, error)) (*http.Request, bool, error) {
	rejected, ok := strings.CutPrefix(sent.Header.Get("Authorization"), "Bearer ")
	if !ok || rejected == "" {
		return nil, false, nil
	}
	r, ok := sourceFor(ctx, t.source).(Refresher)
	if !ok {
		return nil, false, nil
	}
	if msg, _ := parseErrorBody(body); (&APIError{StatusCode: resp.StatusCode, Message: msg}).notEligible() {
		// The community may not use the API at all; a new token won't help.
		return nil, false, nil
	}
	tok, err := r.RefreshRejected(ctx, rejected)
	if err != nil {
		return nil, false, fmt.Errorf("circle: %s %s: refreshing the member token after a 401: %w", sent.Method, sent.URL.Path, err)
	}
	if tok.AccessToken == "" || tok.AccessToken == rejected {
		return nil, false, nil
	}
	next, err := cloneRequest(ctx, sent, getBody)
	if err != nil {
		return nil, false, err
	}
	next.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return next, true, nil
}

// secrets lists what must not appear in an error about req: the bearer
// token it carried, the app token, and the tokens in an Auth API body.
func (t *transport) secrets(req *http.Request, getBody func() (io.ReadCloser, error)) []string {
	s := []string{t.appToken}
	if b, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		s = append(s, b)
	}
	if t.auth && getBody != nil {
		if rc, err := getBody(); err == nil {
			var fields struct {
				AccessToken  string `json:"access_token"`
				RefreshToken string `json:"refresh_token"`
			}
			_ = json.NewDecoder(io.LimitReader(rc, maxErrorBody)).Decode(&fields)
			_ = rc.Close()
			s = append(s, fields.AccessToken, fields.RefreshToken)
		}
	}
	return s
}

func (t *transport) logAttempt(ctx context.Context, req *http.Request, attempt int, resp *http.Response, err error, d time.Duration) {
	l := t.cfg.logger
	if l == nil || !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", req.Method),
		slog.String("path", req.URL.Path),
		slog.Int("attempt", attempt),
		slog.Duration("duration", d),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", redactString(err.Error(), t.secrets(req, nil))))
	} else {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
		if id := resp.Header.Get("X-Request-Id"); id != "" {
			attrs = append(attrs, slog.String("request_id", id))
		}
	}
	l.LogAttrs(ctx, slog.LevelDebug, "circle: http attempt", attrs...)
}

// replayableBody returns a function giving a fresh copy of req's body, or
// nil if it has none. A body without GetBody is read into memory (and
// closed), so that it can be sent again after a 401 or a retryable failure.
func replayableBody(req *http.Request) (func() (io.ReadCloser, error), error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	if req.GetBody != nil {
		return req.GetBody, nil
	}
	b, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("circle: reading the request body: %w", err)
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, nil
}

// cloneRequest copies req with a fresh body, for another attempt.
func cloneRequest(ctx context.Context, req *http.Request, getBody func() (io.ReadCloser, error)) (*http.Request, error) {
	c := req.Clone(ctx)
	if getBody != nil {
		b, err := getBody()
		if err != nil {
			return nil, fmt.Errorf("circle: rewinding the request body: %w", err)
		}
		c.Body, c.GetBody = b, getBody
	}
	return c, nil
}

// bufferBody reads at most maxErrorBody of resp's body and closes it.
func bufferBody(resp *http.Response) []byte {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	return b
}
