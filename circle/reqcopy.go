package circle

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
)

// The copies of a request that the member client (memberauth.go) and the
// transport (transport.go) send: the caller's request is never modified,
// its body is read again for each attempt from a function that gives a
// fresh copy, and a body that cannot be copied is sent once.

// maxReplayBody is the largest request body without GetBody that is kept
// in memory so that it can be sent again, after a 401 or a failure that
// may heal. The Member API takes small JSON bodies; a request made with
// http.NewRequest from a bytes.Reader, a bytes.Buffer or a strings.Reader
// (the generated clients' way) has GetBody and is never copied.
const maxReplayBody = 1 << 20

// replayableBody returns a function giving a fresh copy of req's body, or
// nil if it has none or can be sent only once (see oneShot). A body with
// GetBody is copied with it; a body without, whose ContentLength is
// known and at most maxReplayBody, is read into memory (and closed). Any
// other body, of unknown length or longer, is left unread, to be sent as
// it is, once.
func replayableBody(req *http.Request) (func() (io.ReadCloser, error), error) {
	if !hasBody(req) {
		return nil, nil
	}
	if req.GetBody != nil {
		return req.GetBody, nil
	}
	if req.ContentLength <= 0 || req.ContentLength > maxReplayBody {
		return nil, nil
	}
	b, err := readLimited(req.Body, req.ContentLength, req.ContentLength, false)
	_ = req.Body.Close()
	if errors.Is(err, errTooLarge) {
		return nil, errors.New("circle: the request body is longer than its ContentLength")
	}
	if err != nil {
		return nil, wrapf(err, "reading the request body")
	}
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, nil
}

// hasBody reports whether req has a body to send.
func hasBody(req *http.Request) bool { return req.Body != nil && req.Body != http.NoBody }

// oneShot reports whether req, whose body replayableBody copied with
// getBody, can be sent only once: it has a body that cannot be copied. Such
// a call is neither replayed after a 401 nor retried.
func oneShot(req *http.Request, getBody func() (io.ReadCloser, error)) bool {
	return getBody == nil && hasBody(req)
}

// cloneRequest copies req with a fresh body from getBody, for another
// attempt. Without getBody the copy shares req's body.
func cloneRequest(ctx context.Context, req *http.Request, getBody func() (io.ReadCloser, error)) (*http.Request, error) {
	c := req.Clone(ctx)
	if getBody != nil {
		b, err := getBody()
		if err != nil {
			return nil, wrapf(err, "rewinding the request body")
		}
		c.Body, c.GetBody = b, getBody
	}
	return c, nil
}

// closeBody closes req's body, as sending it would have.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

// closeResponse closes the body of resp, if there is one.
func closeResponse(resp *http.Response) {
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
}
