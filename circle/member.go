package circle

import (
	"github.com/circlekit/headless-go/gen/memberv1"
)

// NewMemberClient returns the generated client of the Member API, sending
// each call with the access token of the member it acts for: the source
// put in the call's context with [WithTokenSource], or else ts. ts may be
// nil for a client that serves many members, each call naming its own; a
// call that names none fails with [ErrNoTokenSource].
//
// The client retries as described at [WithMaxRetries], returns non-2xx
// responses as [*APIError] and 2xx responses that are not JSON as
// [*DecodeError] (see "Responses" in the package documentation), and,
// when a call is answered 401 and its source is a [Refresher] (a
// [*MemberTokenSource] is), asks the source to replace the rejected token
// and sends the call once more. Options set the base URL, HTTP client,
// user agent, retries, response size limit and logger.
func NewMemberClient(ts TokenSource, opts ...Option) (*memberv1.ClientWithResponses, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.memberOnly("NewMemberClient"); err != nil {
		return nil, err
	}
	return buildMemberClient(cfg, ts)
}

// NewMemberClient returns a client of the Member API as the package's
// [NewMemberClient] does, with the settings of a: its base URL, HTTP
// client, user agent, retries, response size limit, clock and logger, so
// that a program states them once. opts change them for this client only.
func (a *AuthClient) NewMemberClient(ts TokenSource, opts ...Option) (*memberv1.ClientWithResponses, error) {
	cfg, err := a.cfg.with(opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.memberOnly("AuthClient.NewMemberClient"); err != nil {
		return nil, err
	}
	return buildMemberClient(cfg, ts)
}

func buildMemberClient(cfg *config, ts TokenSource) (*memberv1.ClientWithResponses, error) {
	c, err := memberv1.NewClientWithResponses(cfg.baseURL,
		memberv1.WithHTTPClient(newMemberDoer(cfg, ts, true)),
		memberv1.WithRequestEditorFn(userAgentEditor(cfg.userAgent)),
	)
	if err != nil {
		return nil, wrapf(err, "NewMemberClient")
	}
	return c, nil
}

// newMemberDoer is the Doer of a Member API client: the member's token
// over the retrying transport over the user's guarded Doer, which follows
// redirects within the base URL's origin only.
func newMemberDoer(cfg *config, ts TokenSource, ownsRequests bool) Doer {
	return &memberAuth{src: ts, next: &transport{cfg: cfg, next: guard(cfg.doer, cfg.base, true)}, ownsRequests: ownsRequests}
}
