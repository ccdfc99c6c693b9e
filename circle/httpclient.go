package circle

import "net/http"

// NewHTTPClient returns an *http.Client that sends each request on behalf
// of a member, as the client of [NewMemberClient] does: with the access
// token of the source in the request's context ([WithTokenSource]) or else
// ts, refreshed when it is about to expire, with the same retries, and
// with one replay after a 401 when the source is a [Refresher]. It is for
// requests the generated client does not cover, as golang.org/x/oauth2's
// NewClient is. ts may be nil when every request names its source.
//
// Responses stay responses, as net/http users expect: a non-2xx status is
// not an error (its body is kept, cut at 1 MiB, so that it could be
// retried), and a 2xx body is handed over unread and unchecked. Requests
// go to the base URL's origin only ([WithBaseURL]; a request to another
// origin fails with a [*RedirectError] before anything is sent), so that
// the member's token never leaves for another host. Options set the base
// URL, HTTP client, user agent, retries, attempt timeout, clock and
// logger.
//
// A request body is sent again (after a 401, or a failure that may heal)
// when the request has GetBody, as one made by [http.NewRequest] from a
// bytes.Reader, bytes.Buffer or strings.Reader does, or when its
// ContentLength is known and at most 1 MiB (it is then kept in memory).
// Any other body, longer or of unknown length, is sent as a stream, once:
// the request is neither replayed after a 401 nor retried.
func NewHTTPClient(ts TokenSource, opts ...Option) (*http.Client, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.memberOnly("NewHTTPClient"); err != nil {
		return nil, err
	}
	cfg.rawErrors, cfg.stream = true, true
	d := newMemberDoer(cfg, ts, false)
	ua := userAgentEditor(cfg.userAgent)
	return &http.Client{Transport: roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Header.Get("User-Agent") == "" {
			r := req.Clone(req.Context())
			_ = ua(r.Context(), r)
			req = r
		}
		return d.Do(req)
	})}, nil
}

// roundTripper makes a function an http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

// RoundTrip calls f.
func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
