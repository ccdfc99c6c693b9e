package circle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/circlekit/headless-go/internal/jsonvalid"
	"github.com/circlekit/headless-go/internal/redact"
)

// transport is the retrying Doer under both clients. Around the guarded
// Doer of the user (see guard) it sends a request, reads and checks a 2xx
// response, turns a non-2xx response into an *APIError (unless raw errors
// were asked for), retries what may succeed later, and logs each attempt.
// It knows nothing of tokens but the secrets it must keep out of errors,
// and never modifies the request it is given: every attempt but an
// unmodified first one is a clone.
type transport struct {
	cfg  *config
	next Doer
	// secrets are redacted from every error and log line: the app token.
	secrets []string
	// maxBody is the largest 2xx body read, if less than cfg.maxBody: the
	// Auth API's responses are small.
	maxBody int64
}

// bodyLimit is the largest 2xx body t reads.
func (t *transport) bodyLimit() int64 {
	if t.maxBody > 0 && t.maxBody < t.cfg.maxBody {
		return t.maxBody
	}
	return t.cfg.maxBody
}

// Do sends req, retrying as described on transport.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	var c call // on the stack: one call allocates no state of its own
	if err := c.init(t, req); err != nil {
		return nil, err
	}
	for {
		o := c.try()
		wait, again := c.shouldRetry(o)
		if !again {
			return c.finish(o)
		}
		if ok, err := c.prepareRetry(wait); err != nil {
			closeResponse(o.resp)
			return nil, err
		} else if !ok {
			return c.finish(o)
		}
	}
}

// call is the state of one call through the transport: the request as
// given, the attempt being made and how many were.
type call struct {
	t       *transport
	ctx     context.Context
	req     *http.Request
	cur     *http.Request
	getBody func() (io.ReadCloser, error)
	policy  retryPolicy
	// oneShot is set when the request's body can be sent only once (see
	// replayableBody): the call is then never retried.
	oneShot bool
	attempt int // attempts made
	retries int // attempts made after the first
}

// outcome is what one attempt gave.
type outcome struct {
	resp *http.Response // the response to return (a checked 2xx, or a raw non-2xx)
	err  error          // the error to return
	// retry is set when the failure may not happen again: a transient
	// error of the connection, a body cut short, a retryable status.
	retry bool
	// unsent is set when the request never left.
	unsent bool
	// retryAfter is the wait a Retry-After header asked for, if hasWait.
	retryAfter time.Duration
	hasWait    bool
	// live is set when resp's body is still being received (a body passed
	// on unread): the attempt's deadline then ends when it is closed.
	live bool
}

func (c *call) init(t *transport, req *http.Request) error {
	getBody, err := replayableBody(req)
	if err != nil {
		return err
	}
	*c = call{t: t, ctx: req.Context(), req: req, cur: req, getBody: getBody, policy: policyFor(req), oneShot: oneShot(req, getBody)}
	if getBody != nil && req.GetBody == nil {
		// The body was buffered here; send a clone that reads the buffer.
		if c.cur, err = cloneRequest(c.ctx, req, getBody); err != nil {
			return err
		}
	}
	return nil
}

// try makes one attempt: the one place where the transport sends a
// request.
func (c *call) try() outcome {
	start := time.Now()
	// The budget first: waiting for it is not the attempt's time.
	if err := c.t.cfg.rate.take(c.ctx); err != nil {
		c.attempt++
		c.t.logAttempt(c, nil, err, time.Since(start))
		return c.outcome(nil, err)
	}
	req, stop := c.withDeadline()
	resp, err := c.t.next.Do(req)
	c.t.cfg.rate.sent(c.t.cfg, resp, err)
	c.attempt++
	c.t.logAttempt(c, resp, err, time.Since(start))
	o := c.outcome(resp, err)
	c.endDeadline(&o, stop)
	return o
}

// withDeadline returns the request of an attempt: with [WithTimeout] (or
// the default client) a copy of the current one under a deadline of its
// own, which bounds reading the response too, and the function that ends
// that deadline; else the current request and nil.
func (c *call) withDeadline() (*http.Request, context.CancelFunc) {
	d := c.t.cfg.timeout
	if d <= 0 {
		return c.cur, nil
	}
	ctx, stop := context.WithTimeout(c.ctx, d)
	return c.cur.WithContext(ctx), stop
}

// endDeadline ends the deadline of the attempt that gave o (when its body
// is closed, if it was passed on unread), and says in o's error when that
// deadline, not the caller's context, ended the attempt.
func (c *call) endDeadline(o *outcome, stop context.CancelFunc) {
	if stop == nil {
		return
	}
	if o.live && o.resp.Body != nil {
		o.resp.Body = &stopBody{ReadCloser: o.resp.Body, stop: stop}
	} else {
		stop()
	}
	if o.err == nil || c.ctx.Err() != nil || !errors.Is(o.err, context.DeadlineExceeded) {
		return
	}
	var de *DecodeError
	if errors.As(o.err, &de) {
		de.Reason += " at the attempt's deadline (" + c.t.cfg.timeout.String() + ")"
	} else {
		o.err = wrapf(o.err, "no response within the attempt's deadline (%v)", c.t.cfg.timeout)
	}
}

// stopBody is a body still being received under an attempt's deadline,
// which ends when it is closed.
type stopBody struct {
	io.ReadCloser
	stop context.CancelFunc
}

// Close closes the body and ends its attempt's deadline.
func (b *stopBody) Close() error {
	err := b.ReadCloser.Close()
	b.stop()
	return err
}

// outcome reads what an attempt gave: its response or error.
func (c *call) outcome(resp *http.Response, err error) outcome {
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close() // a refused redirect comes with its response
		}
		return outcome{err: err, retry: transient(err), unsent: unsent(err)}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return c.check2xx(resp)
	}
	// A non-2xx response: keep (at most 1 MiB of) its body, to be read
	// for the error and still returned when raw errors were asked for.
	body := bufferBody(resp, maxErrorBody)
	o := outcome{retry: retryableStatus(resp.StatusCode)}
	now := c.t.cfg.now()
	o.retryAfter, o.hasWait = retryAfter(resp.Header, now)
	if c.t.cfg.rawErrors {
		resp.Body = io.NopCloser(bytes.NewReader(body))
		o.resp = resp
	} else {
		o.err = newAPIError(c.cur, resp, body, c.secrets(), now)
	}
	return o
}

// shouldRetry decides whether the call is sent again after outcome o, and
// after what wait: only a failure that may heal, under the call's policy,
// within the retry budget, honouring Retry-After up to its cap, and only
// if the wait ends before the context's deadline.
func (c *call) shouldRetry(o outcome) (time.Duration, bool) {
	cfg := c.t.cfg
	if !o.retry || c.oneShot || c.ctx.Err() != nil || c.retries >= cfg.maxRetries {
		return 0, false
	}
	switch c.policy {
	case retryIdempotent:
	case retryUnsent:
		if !o.unsent {
			return 0, false
		}
	default:
		return 0, false
	}
	wait := cfg.backoff(c.retries)
	if o.hasWait {
		if o.retryAfter > cfg.maxRetryAfter {
			return 0, false
		}
		wait = o.retryAfter
	}
	return wait, fitsDeadline(c.ctx, wait)
}

// prepareRetry waits, then makes the next attempt's request; it reports
// false if the context ended during the wait, and the error of a body
// that cannot be read again.
func (c *call) prepareRetry(wait time.Duration) (bool, error) {
	if !sleep(c.ctx, wait) {
		return false, nil
	}
	next, err := cloneRequest(c.ctx, c.cur, c.getBody)
	if err != nil {
		return false, err
	}
	c.cur = next
	c.retries++
	return true, nil
}

// finish returns what the call ends with after outcome o.
func (c *call) finish(o outcome) (*http.Response, error) {
	if o.err == nil {
		return o.resp, nil
	}
	if o.resp != nil && o.resp.Body != nil {
		_ = o.resp.Body.Close()
	}
	return nil, c.failure(o.err)
}

// check2xx makes sure that the 2xx response resp is one the generated
// code decodes: every 2xx response of the specs but 204 is an
// application/json body. A 204 or 205 response, and the response to a
// HEAD request, pass as they are. Any other must declare a JSON
// Content-Type (application/json, text/json or a +json type), or none,
// and have a non-empty, well-formed JSON body of at most the configured
// size. Reading and checking are two steps: a body the connection cut
// short is a transient failure, retried like one; a body that is read
// whole but is not JSON is a *DecodeError. A good body is kept in memory
// (the generated code reads it whole anyway) and served to the caller
// from there.
func (c *call) check2xx(resp *http.Response) outcome {
	if c.t.cfg.stream || resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusResetContent || c.cur.Method == http.MethodHead {
		return outcome{resp: resp, live: true}
	}
	ct := resp.Header.Get("Content-Type")
	if ct != "" && !jsonvalid.MediaType(ct) {
		head := bufferBody(resp, excerptRead)
		return outcome{err: c.decodeError(resp, decodeFailure{reason: "is not JSON", body: head})}
	}
	limit := c.t.bodyLimit()
	rb := pooledBuf()
	err := rb.readFrom(resp.Body, limit, resp.ContentLength, false) // a nil body reads as empty
	closeResponse(resp)
	var f decodeFailure
	switch {
	case errors.Is(err, errTooLarge):
		f = decodeFailure{reason: "is larger than the limit of " + byteSize(limit), err: ErrResponseTooLarge}
	case err != nil:
		o := outcome{err: c.decodeError(resp, decodeFailure{reason: "was cut short", err: err, body: rb.b}), retry: transient(err)}
		rb.release()
		return o
	case len(rb.b) == 0:
		f = decodeFailure{reason: "has an empty body"}
	case !jsonvalid.Valid(rb.b): // json.Valid, faster
		// Unmarshal says where, as a *json.SyntaxError.
		f = decodeFailure{reason: "is not valid JSON", err: json.Unmarshal(rb.b, new(json.RawMessage)), body: rb.b}
	default:
		if ct == "" {
			resp.Header.Set("Content-Type", "application/json")
		} else if !strings.Contains(ct, "json") {
			// The generated code looks for "json" case-sensitively.
			resp.Header.Set("Content-Type", strings.ToLower(ct))
		}
		resp.Body = newRespBody(rb)
		return outcome{resp: resp}
	}
	o := outcome{err: c.decodeError(resp, f)}
	rb.release()
	return o
}

// excerptRead is how much of a 2xx body that is not JSON is read for the
// excerpt of its error.
const excerptRead = 4 << 10

// secrets lists what must not appear in an error about the call: the
// transport's own, the bearer token of the request, and any token its
// JSON body carries (the Auth API's refresh and revoke calls send them
// there).
func (c *call) secrets() []string {
	s := append([]string(nil), c.t.secrets...)
	if b, ok := strings.CutPrefix(c.cur.Header.Get("Authorization"), "Bearer "); ok {
		s = append(s, b)
	}
	if c.getBody != nil {
		if rc, err := c.getBody(); err == nil {
			s = append(s, bodyTokens(rc)...)
			_ = rc.Close()
		}
	}
	return s
}

// bodyTokens returns the string values of the members of a JSON object
// whose names end in "token".
func bodyTokens(r io.Reader) []string {
	var fields map[string]any
	if json.NewDecoder(io.LimitReader(r, maxErrorBody)).Decode(&fields) != nil {
		return nil
	}
	var s []string
	for k, v := range fields {
		if v, ok := v.(string); ok && strings.HasSuffix(strings.ToLower(k), "token") {
			s = append(s, v)
		}
	}
	return s
}

func (t *transport) logAttempt(c *call, resp *http.Response, err error, d time.Duration) {
	l := t.cfg.logger
	if l == nil || !l.Enabled(c.ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", c.cur.Method),
		slog.String("path", c.cur.URL.Path),
		slog.Int("attempt", c.attempt),
		slog.Duration("duration", d),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", redact.String(err.Error(), c.secrets())))
	} else {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
		if id := resp.Header.Get("X-Request-Id"); id != "" {
			attrs = append(attrs, slog.String("request_id", id))
		}
	}
	l.LogAttrs(c.ctx, slog.LevelDebug, "circle: http attempt", attrs...)
}

// bufferBody reads at most limit bytes of resp's body and closes it.
func bufferBody(resp *http.Response, limit int64) []byte {
	if resp.Body == nil {
		return nil
	}
	b, _ := readLimited(resp.Body, limit, resp.ContentLength, true)
	_ = resp.Body.Close()
	return b
}
