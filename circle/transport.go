package circle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// transport is the Doer the generated clients are given. Around the user's
// Doer it retries, replays a Member API request once after a 401, turns
// non-2xx answers into *APIError, 2xx answers that are not well-formed
// JSON into *DecodeError, and logs each attempt. It never modifies
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
	// again waits wait and prepares the next attempt, if the retry budget,
	// the context and its deadline allow; it reports whether to send again.
	again := func(wait time.Duration) (bool, error) {
		if retries >= t.cfg.maxRetries || ctx.Err() != nil || !fitsDeadline(ctx, wait) || !sleep(ctx, wait) {
			return false, nil
		}
		retries++
		next, err := cloneRequest(ctx, cur, getBody)
		if err != nil {
			return false, err
		}
		cur = next
		return true, nil
	}
	for attempt := 1; ; attempt++ {
		start := time.Now()
		resp, err := t.next.Do(cur)
		t.logAttempt(ctx, cur, attempt, resp, err, time.Since(start))

		if err != nil {
			if retryableError(err, policy) {
				ok, cerr := again(t.cfg.backoff(retries))
				if cerr != nil {
					return nil, cerr
				}
				if ok {
					continue
				}
			}
			if retries > 0 {
				return nil, fmt.Errorf("circle: %s %s: after %d attempts: %w", req.Method, req.URL.Path, attempt, err)
			}
			return nil, err
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			err := t.checkAnswer(cur, resp, getBody)
			if err == nil {
				return resp, nil
			}
			// A body cut short by the connection is a connection error:
			// an idempotent request is sent again.
			var de *DecodeError
			if errors.As(err, &de) && de.Reason == reasonCutShort && policy == retryIdempotent {
				ok, cerr := again(t.cfg.backoff(retries))
				if cerr != nil {
					return nil, cerr
				}
				if ok {
					continue
				}
			}
			return nil, err
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

		if policy == retryIdempotent && retryableStatus(resp.StatusCode) {
			wait, capped := t.cfg.backoff(retries), true
			if ra, has := retryAfter(resp.Header, t.cfg.now()); has {
				wait, capped = ra, ra <= t.cfg.maxRetryAfter
			}
			if capped {
				ok, cerr := again(wait)
				if cerr != nil {
					return nil, cerr
				}
				if ok {
					continue
				}
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

// maxPrealloc is the largest Content-Length a 2xx body's buffer is
// allocated for at once; a longer body (or a false header) grows it as it
// is read.
const maxPrealloc = 16 << 20

// excerptRead is how much of a 2xx body that is not JSON is read for the
// excerpt of its error.
const excerptRead = 4 << 10

// checkAnswer makes sure that the 2xx answer resp to req is one the
// generated code decodes: every 2xx answer of the specs but 204 is an
// application/json body. A 204 or 205 answer, and the answer to a HEAD
// request, pass as they are. Any other must declare a JSON Content-Type
// (application/json, text/json or a +json type), or none, and have a
// non-empty body that is well-formed JSON; otherwise checkAnswer closes
// the body and returns a *DecodeError. It reads a good body into memory
// (the generated code reads it whole anyway) and replaces resp.Body with
// a reader of those bytes; a body without a Content-Type, or with one the
// generated code's case-sensitive test for "json" would miss, gets the
// header it needs to be decoded. The body is not checked against the
// schema.
func (t *transport) checkAnswer(req *http.Request, resp *http.Response, getBody func() (io.ReadCloser, error)) error {
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusResetContent || req.Method == http.MethodHead {
		return nil
	}
	ct := resp.Header.Get("Content-Type")
	if ct != "" && !jsonMediaType(ct) {
		var head []byte
		if resp.Body != nil {
			head, _ = io.ReadAll(io.LimitReader(resp.Body, excerptRead))
			_ = resp.Body.Close()
		}
		return t.decodeError(req, resp, getBody, "is not JSON", nil, head)
	}
	ab, err := readAnswer(resp)
	body := ab.b
	switch {
	case err != nil:
		return t.decodeError(req, resp, getBody, reasonCutShort, err, body)
	case len(body) == 0:
		return t.decodeError(req, resp, getBody, "has an empty body", nil, nil)
	case !validJSON(body): // json.Valid, faster
		// Unmarshal says where, as a *json.SyntaxError.
		return t.decodeError(req, resp, getBody, "is not valid JSON", json.Unmarshal(body, new(json.RawMessage)), body)
	}
	if ct == "" {
		resp.Header.Set("Content-Type", "application/json")
	} else if !strings.Contains(ct, "json") {
		resp.Header.Set("Content-Type", strings.ToLower(ct))
	}
	resp.Body = newAnswerBody(ab)
	return nil
}

// reasonCutShort is the Reason of a *DecodeError for a 2xx body that the
// connection cut short; the transport retries it like a connection error.
const reasonCutShort = "was cut short"

// decodeError builds the *DecodeError of an unusable 2xx answer, with an
// excerpt of body for the Member API only: an Auth API answer may carry
// tokens this client has never seen, which could not be redacted.
func (t *transport) decodeError(req *http.Request, resp *http.Response, getBody func() (io.ReadCloser, error), reason string, err error, body []byte) error {
	withBody := !t.auth && len(body) > 0
	var secrets []string
	if withBody {
		secrets = t.secrets(req, getBody)
	}
	return newDecodeError(req, resp, reason, err, body, withBody, secrets)
}

// jsonMediaType reports whether the Content-Type value ct names JSON:
// application/json, text/json, or a type with the +json suffix, in any
// case, with any parameters.
func jsonMediaType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	if strings.EqualFold(mt, "application/json") || strings.EqualFold(mt, "text/json") {
		return true
	}
	const suffix = "+json"
	typ, sub, ok := strings.Cut(mt, "/")
	return ok && typ != "" && len(sub) > len(suffix) && strings.EqualFold(sub[len(sub)-len(suffix):], suffix)
}

// readAnswer reads resp's whole body into a buffer of bufPool, and closes
// it. A buffer too small for the Content-Length, when there is one, is
// replaced by one of that size, so that a body is read without growing the
// buffer. On a read error it returns what was read with the error.
func readAnswer(resp *http.Response) (*answerBuf, error) {
	ab, _ := bufPool.Get().(*answerBuf)
	if ab == nil {
		ab = new(answerBuf)
	}
	b := ab.b[:0]
	if resp.Body == nil {
		ab.b = b
		return ab, nil
	}
	defer resp.Body.Close()
	if cl := resp.ContentLength; cl >= 0 && cl < maxPrealloc && int(cl) >= cap(b) {
		b = make([]byte, 0, int(cl)+1) // one more, so that reading the EOF needs no growth
	} else if cap(b) == 0 {
		b = make([]byte, 0, 512)
	}
	for {
		m, err := resp.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			ab.b = b
			return ab, nil
		}
		if err != nil {
			ab.b = b
			return ab, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// answerBuf is a buffer a 2xx body is read into. Buffers of answers that
// were closed go back to bufPool, up to maxPooled bytes.
type answerBuf struct{ b []byte }

var bufPool sync.Pool

const maxPooled = 64 << 10

// answerBody is the body of a checked 2xx answer: its bytes, read anew.
// Close hands the buffer back to bufPool: the bytes were only ever copied
// out (by Read or ReadAt, or by WriteTo into a Writer, which must not keep
// them), and the body reads as empty once closed.
type answerBody struct {
	bytes.Reader
	buf *answerBuf
}

func newAnswerBody(ab *answerBuf) *answerBody {
	a := &answerBody{buf: ab}
	a.Reset(ab.b)
	return a
}

// Close ends the body and recycles its buffer.
func (a *answerBody) Close() error {
	if ab := a.buf; ab != nil {
		a.buf = nil
		a.Reset(nil)
		if cap(ab.b) <= maxPooled {
			bufPool.Put(ab)
		}
	}
	return nil
}
