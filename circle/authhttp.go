package circle

import (
	"io"
	"net/http"
)

// NewHTTPClient returns an *http.Client as the package's [NewHTTPClient]
// does, with the settings of a: its base URL, HTTP client, user agent,
// retries, rate limit ([WithRateLimit], shared with a), clock and logger,
// so that a program states them once. opts change them for this client
// only. Unlike the package's NewHTTPClient, the body of a 2xx response is
// bounded by the response size limit ([WithMaxResponseSize]): a response
// that declares a larger Content-Length fails with a [*DecodeError]
// matching [ErrResponseTooLarge] before its body is read, and reading a
// body past the limit fails with an error matching it. Package bff sends
// the calls it proxies through such a client.
func (a *AuthClient) NewHTTPClient(ts TokenSource, opts ...Option) (*http.Client, error) {
	cfg, err := a.cfg.with(opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.memberOnly("AuthClient.NewHTTPClient"); err != nil {
		return nil, err
	}
	cfg.rawErrors, cfg.stream = true, true
	d := newMemberDoer(cfg, ts, false)
	ua := userAgentEditor(cfg.userAgent)
	limit := cfg.maxBody
	return &http.Client{Transport: roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Header.Get("User-Agent") == "" {
			r := req.Clone(req.Context())
			_ = ua(r.Context(), r)
			req = r
		}
		resp, err := d.Do(req)
		if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 || resp.Body == nil {
			return resp, err
		}
		if resp.ContentLength > limit {
			_ = resp.Body.Close()
			return nil, &DecodeError{
				StatusCode: resp.StatusCode, Method: req.Method, Path: req.URL.Path,
				RequestID: resp.Header.Get("X-Request-Id"), ContentType: resp.Header.Get("Content-Type"),
				Reason: "is larger than the limit of " + byteSize(limit), Err: ErrResponseTooLarge,
			}
		}
		resp.Body = &cappedBody{rc: resp.Body, left: limit}
		return resp, nil
	})}, nil
}

// BaseURL returns the base URL the client's calls are resolved against
// ([WithBaseURL], or [DefaultBaseURL]).
func (a *AuthClient) BaseURL() string { return a.cfg.baseURL }

// cappedBody is a response body that fails with ErrResponseTooLarge once
// more than left bytes were read.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrResponseTooLarge
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - int(-b.left), ErrResponseTooLarge
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
