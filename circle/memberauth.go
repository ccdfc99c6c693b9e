package circle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
)

// memberAuth is the Doer of the Member API client, the one owner of the
// member's token on the way of a call, like golang.org/x/oauth2's
// Transport. It resolves the call's token source once (the context's, or
// else the client's), asks it for the access token, sends a copy of the
// request with that token through the retrying transport, and, when the
// Member API rejects exactly that token (401), asks a [Refresher] source
// to replace it and sends the request once more, body included (unless
// the body can be sent only once; see replayableBody).
type memberAuth struct {
	src  TokenSource // the client's own; nil when every call names one
	next Doer        // the retrying transport
	// ownsRequests is set under the generated client, which builds a new
	// request for every call and hands it to this Doer alone: the token is
	// then set on it, as a request editor would, instead of on a copy. A
	// request from anywhere else (NewHTTPClient) is never modified.
	ownsRequests bool
}

// Do sends req on behalf of the member of its context or of the client.
func (m *memberAuth) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	src := sourceFor(ctx, m.src)
	if src == nil {
		closeBody(req)
		return nil, ErrNoTokenSource
	}
	getBody, err := replayableBody(req)
	if err != nil {
		return nil, err
	}
	access, header, err := bearer(ctx, src)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	first, err := m.firstAttempt(req, header, getBody)
	if err != nil {
		return nil, err
	}
	resp, err := m.next.Do(first)
	r, ok := src.(Refresher)
	if !ok || oneShot(req, getBody) || !rejects(resp, err) {
		// A body that can be sent only once is not replayed: the 401
		// stands, and the next call refreshes.
		accepted(src, access, resp, err)
		return resp, err
	}
	tok, rerr := r.RefreshRejected(ctx, access)
	if errors.Is(rerr, errKeepRejection) || rerr == nil && (tok.AccessToken == "" || tok.AccessToken == access) {
		// No other token to try (the source revoked this one, its new
		// tokens were rejected too, or it has no other): the 401 stands.
		return resp, err
	}
	closeResponse(resp)
	if rerr != nil {
		return nil, wrapf(rerr, "%s %s: replacing the rejected member token", req.Method, req.URL.Path)
	}
	if err := checkBearer(tok.AccessToken); err != nil {
		return nil, err
	}
	again, err := authorized(req, []string{"Bearer " + tok.AccessToken}, getBody)
	if err != nil {
		return nil, err
	}
	resp, err = m.next.Do(again)
	accepted(src, tok.AccessToken, resp, err)
	return resp, err
}

// firstAttempt returns the request of the first attempt: req itself with
// its Authorization set when the Doer owns its requests, else a copy.
func (m *memberAuth) firstAttempt(req *http.Request, header []string, getBody func() (io.ReadCloser, error)) (*http.Request, error) {
	if m.ownsRequests {
		if req.GetBody == nil && getBody != nil {
			// replayableBody read the body into memory: send a copy.
			b, err := getBody()
			if err != nil {
				return nil, wrapf(err, "rewinding the request body")
			}
			req.Body, req.GetBody = b, getBody
		}
		req.Header["Authorization"] = header
		return req, nil
	}
	if req.GetBody != nil {
		closeBody(req) // every attempt reads a copy of it
	}
	return authorized(req, header, getBody)
}

// bearer returns the access token of src and the Authorization header
// value that carries it. A [*MemberTokenSource] keeps the header of its
// cached token, so that a call builds no string.
func bearer(ctx context.Context, src TokenSource) (string, []string, error) {
	if s, ok := src.(*MemberTokenSource); ok {
		c, err := s.current(ctx)
		if err != nil {
			return "", nil, wrapf(err, "member token")
		}
		return c.tok.AccessToken, c.header, nil
	}
	tok, err := src.Token(ctx)
	if err != nil {
		return "", nil, wrapf(err, "member token")
	}
	if tok.AccessToken == "" {
		return "", nil, errors.New("circle: member token source returned an empty access token")
	}
	if err := checkBearer(tok.AccessToken); err != nil {
		return "", nil, err
	}
	return tok.AccessToken, []string{"Bearer " + tok.AccessToken}, nil
}

// authorized returns a copy of req (see cloneRequest) that carries header
// as its Authorization; req itself is not modified.
func authorized(req *http.Request, header []string, getBody func() (io.ReadCloser, error)) (*http.Request, error) {
	r, err := cloneRequest(req.Context(), req, getBody)
	if err != nil {
		return nil, err
	}
	r.Header["Authorization"] = header
	return r, nil
}

// rejects reports whether a call's result is the Member API rejecting its
// access token: a 401, as an *APIError or as a raw response, that does not
// say the community is not eligible (a new token would not help then).
func rejects(resp *http.Response, err error) bool {
	if err != nil {
		var e *APIError
		return errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized && !e.notEligible()
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		return false
	}
	// A raw response: its body is in memory, at most 1 MiB (see
	// call.outcome).
	body, _ := readLimited(resp.Body, maxErrorBody, resp.ContentLength, true)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	msg, _ := parseErrorBody(body)
	return !notEligible(resp.StatusCode, msg)
}

// accepted tells a *MemberTokenSource that the Member API took its access
// token, which ends a run of rejected tokens (see RefreshRejected).
func accepted(src TokenSource, access string, resp *http.Response, err error) {
	if err != nil || resp == nil || resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return
	}
	if s, ok := src.(*MemberTokenSource); ok {
		s.Accepted(access)
	}
}
