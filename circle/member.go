package circle

import (
	"fmt"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// NewMemberClient returns the generated client of the Member API, sending
// each call with the access token of the member it acts for: the source
// put in the call's context with [WithTokenSource], or else ts. ts may be
// nil for a client that serves many members, each call naming its own; a
// call that names none fails with [ErrNoTokenSource].
//
// The client retries as described at [WithMaxRetries], returns non-2xx
// answers as [*APIError] and 2xx answers that are not JSON as
// [*DecodeError] (see "Answers" in the package documentation), and, when a call is answered 401 and its source
// is a [Refresher] (a [*MemberTokenSource] is), refreshes the token and
// sends the call once more. Options set the base URL, HTTP client, user
// agent, retries and logger.
func NewMemberClient(ts TokenSource, opts ...Option) (*memberv1.ClientWithResponses, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	c, err := memberv1.NewClientWithResponses(cfg.baseURL,
		memberv1.WithHTTPClient(&transport{cfg: cfg, next: cfg.doer, member: true, source: ts}),
		memberv1.WithRequestEditorFn(userAgentEditor(cfg.userAgent)),
		memberv1.WithRequestEditorFn(MemberTokenEditor(ts)),
	)
	if err != nil {
		return nil, fmt.Errorf("circle: NewMemberClient: %w", err)
	}
	return c, nil
}
