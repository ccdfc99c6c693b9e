package bff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/internal/jsonvalid"
)

// upstreamHeaders are the request headers passed to Circle: content
// negotiation and conditional requests. Everything else the browser sends
// (Cookie, Authorization, X-Forwarded-*, hop-by-hop headers...) stays
// here; the member's Authorization is set by package circle.
var upstreamHeaders = []string{
	"Accept", "Accept-Language", "Content-Type",
	"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
}

// downstreamHeaders are the response headers passed to the browser.
// Never Set-Cookie, never a hop-by-hop header, never a CORS header, and
// never Circle's caching headers: an answer is the member's own, so the
// handler sends Cache-Control: no-store, lest a shared cache serve it to
// another member.
var downstreamHeaders = []string{
	"Content-Type", "Content-Language", "ETag", "Last-Modified", "Retry-After", "X-Request-Id",
}

// proxy forwards the Member API call r, whose path after the prefix is
// rest (a matched, clean path), on behalf of src.
func (h *Handler) proxy(w http.ResponseWriter, r *http.Request, rest string, src *circle.MemberTokenSource) {
	body, ok := h.readBody(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(circle.WithTokenSource(r.Context(), src), h.o.timeout)
	defer cancel()
	url := h.base + rest
	if r.URL.RawQuery != "" {
		url += "?" + r.URL.RawQuery
	}
	var rb io.Reader
	if body != nil {
		rb = bytes.NewReader(body)
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, url, rb)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "the request cannot be forwarded")
		return
	}
	for _, k := range upstreamHeaders {
		if v := r.Header.Values(k); len(v) > 0 {
			out.Header[k] = append([]string(nil), v...)
		}
	}
	resp, err := h.client.Do(out)
	if err != nil {
		h.fail(ctx, w, err)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	h.relay(w, resp)
}

// readBody reads the request body, up to the limit; nil when there is
// none. Over the limit it answers 413; a body that is not JSON, 415.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > h.o.maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the request body is larger than "+strconv.FormatInt(h.o.maxBody, 10)+" bytes")
		return nil, false
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, true
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.o.maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the request body is larger than "+strconv.FormatInt(h.o.maxBody, 10)+" bytes")
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "bad_request", "the request body could not be read")
		return nil, false
	case len(b) == 0:
		return nil, true
	case !jsonvalid.MediaType(r.Header.Get("Content-Type")):
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "the Member API takes JSON bodies (Content-Type: application/json)")
		return nil, false
	}
	return b, true
}

// relay writes Circle's answer: a 2xx or 3xx streamed through (JSON
// only), a 4xx with its body, a 5xx as a 502 of our own.
func (h *Handler) relay(w http.ResponseWriter, resp *http.Response) {
	token := sentToken(resp)
	switch {
	case resp.StatusCode >= 500:
		writeError(w, http.StatusBadGateway, "bad_gateway", "Circle answered "+strconv.Itoa(resp.StatusCode))
		return
	case resp.StatusCode >= 400:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if token != "" && bytes.Contains(b, []byte(token)) {
			writeError(w, resp.StatusCode, "upstream_error", "Circle answered "+strconv.Itoa(resp.StatusCode))
			return
		}
		copyHeaders(w.Header(), resp.Header)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(b)
		return
	}
	ct := resp.Header.Get("Content-Type")
	hasBody := resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
	if hasBody && ct != "" && !jsonvalid.MediaType(ct) {
		writeError(w, http.StatusBadGateway, "bad_gateway", "Circle answered something other than JSON")
		return
	}
	hd := w.Header()
	copyHeaders(hd, resp.Header)
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(resp.StatusCode)
	if !hasBody {
		return
	}
	if err := stream(w, resp.Body, token); err != nil {
		// The status is sent: cut the connection, so that the browser
		// sees a broken answer rather than a short one that looks whole.
		panic(http.ErrAbortHandler)
	}
}

// copyHeaders copies the allow-listed response headers.
func copyHeaders(dst, src http.Header) {
	for _, k := range downstreamHeaders {
		if v := src.Values(k); len(v) > 0 {
			dst[k] = append([]string(nil), v...)
		}
	}
}

// sentToken is the bearer token the answered request carried, to keep it
// out of what is relayed.
func sentToken(resp *http.Response) string {
	if resp.Request == nil {
		return ""
	}
	t, _ := strings.CutPrefix(resp.Request.Header.Get("Authorization"), "Bearer ")
	return t
}

var bufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// stream copies body to w, flushing after each read, and fails if the
// body holds token: the tail of each read that could begin the token is
// held back until the next read shows it does not.
func stream(w http.ResponseWriter, body io.Reader, token string) error {
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	buf := *bp
	rc := http.NewResponseController(w)
	hold := 0 // bytes held at the start of buf from the previous read
	keep := max(len(token)-1, 0)
	for {
		n, err := body.Read(buf[hold:])
		n += hold
		if token != "" && bytes.Contains(buf[:n], []byte(token)) {
			return errors.New("bff: the answer holds the member's token")
		}
		out := n
		if err == nil {
			out = max(n-keep, 0)
		}
		if out > 0 {
			if _, werr := w.Write(buf[:out]); werr != nil {
				return werr
			}
			_ = rc.Flush()
		}
		hold = copy(buf, buf[out:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// fail answers an error of the SDK with a status that fits it.
func (h *Handler) fail(ctx context.Context, w http.ResponseWriter, err error) {
	var (
		rw  *circle.RateWaitError
		api *circle.APIError
	)
	switch {
	case errors.As(err, &rw):
		w.Header().Set("Retry-After", strconv.FormatInt(int64((rw.Wait+time.Second-1)/time.Second), 10))
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests to Circle; try again later")
	case errors.As(err, &api) && api.StatusCode == http.StatusTooManyRequests:
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests to Circle; try again later")
	case errors.As(err, &api) && api.StatusCode < 500,
		errors.Is(err, circle.ErrUnauthorized), errors.Is(err, circle.ErrForbidden):
		// The Auth API refused the member's tokens: no access.
		writeError(w, http.StatusUnauthorized, "unauthorized", "the member has no access to Circle")
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "timeout", "Circle did not answer in time")
	default:
		writeError(w, http.StatusBadGateway, "bad_gateway", "Circle could not be reached")
	}
}

// serveToken answers the member's current access token (token-mediating
// mode); never the refresh token.
func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request, src *circle.MemberTokenSource) {
	ctx, cancel := context.WithTimeout(r.Context(), h.o.timeout)
	defer cancel()
	tok, err := src.Token(ctx)
	if err != nil {
		h.fail(ctx, w, err)
		return
	}
	body := struct {
		AccessToken       string     `json:"access_token"`
		ExpiresAt         *time.Time `json:"expires_at,omitempty"`
		CommunityMemberID int64      `json:"community_member_id"`
		CommunityID       int64      `json:"community_id"`
	}{AccessToken: tok.AccessToken, CommunityMemberID: tok.CommunityMemberID, CommunityID: tok.CommunityID}
	if !tok.AccessTokenExpiresAt.IsZero() {
		t := tok.AccessTokenExpiresAt.UTC()
		body.ExpiresAt = &t
	}
	b, _ := json.Marshal(body)
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	_, _ = w.Write(b)
}

// serveLogout ends the member's event streams, revokes the member's
// tokens and answers 204.
func (h *Handler) serveLogout(w http.ResponseWriter, r *http.Request, src *circle.MemberTokenSource) {
	for _, f := range h.signedOut {
		f(src)
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.o.timeout)
	defer cancel()
	if err := src.Revoke(ctx); err != nil {
		h.fail(ctx, w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// writeError answers status with the JSON body {"error": kind, "message":
// msg}. Neither names a token: every caller passes fixed text.
func writeError(w http.ResponseWriter, status int, kind, msg string) {
	b, _ := json.Marshal(struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}{kind, msg})
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
