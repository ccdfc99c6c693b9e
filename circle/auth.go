package circle

import (
	"errors"
	"fmt"
	"sync"

	"github.com/circlekit/headless-go/gen/authv1"
)

// AuthClient is a client of Circle's Headless Auth API, authenticated with
// the community's Headless Auth app token, and the factory of the
// members' token sources.
//
// The embedded generated client makes the four raw calls
// (CreateMemberTokenWithResponse, RefreshAccessTokenWithResponse,
// RevokeAccessTokenWithResponse, RevokeRefreshTokenWithResponse) with the
// app token attached; a non-2xx answer is returned as an [*APIError]
// unless [WithRawErrorResponses] was given, and a 2xx answer that is not
// JSON as a [*DecodeError]. Most programs need only
// [AuthClient.TokenSource].
//
// An AuthClient is safe for concurrent use. Its String and Format methods
// never show the app token.
type AuthClient struct {
	*authv1.ClientWithResponses

	cfg      *config
	appToken string
	// tokens makes the token sources' calls; it always returns non-2xx
	// answers as errors.
	tokens  *authv1.ClientWithResponses
	sources *sourceCache

	stopWatch func() // ends the store's RevocationWatcher watch, if any
	closeOnce sync.Once
}

// NewAuthClient returns a client of the Auth API that sends appToken, the
// community's Headless Auth token, with every call. Options set the base
// URL, HTTP client, user agent, retries and logger, and, for the member
// token sources, the cache size, token store, expiry margin and clock.
func NewAuthClient(appToken string, opts ...Option) (*AuthClient, error) {
	if appToken == "" {
		return nil, errors.New("circle: NewAuthClient: empty app token")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	a := &AuthClient{cfg: cfg, appToken: appToken, sources: newSourceCache(cfg.cacheSize)}
	if a.ClientWithResponses, err = newAuthAPI(cfg, appToken); err != nil {
		return nil, err
	}
	a.tokens = a.ClientWithResponses
	if cfg.rawErrors {
		strict := *cfg
		strict.rawErrors = false
		if a.tokens, err = newAuthAPI(&strict, appToken); err != nil {
			return nil, err
		}
	}
	if w, ok := cfg.store.(RevocationWatcher); ok {
		stop, err := w.WatchRevocations(a.forget)
		if err != nil {
			return nil, fmt.Errorf("circle: NewAuthClient: watching the token store for revocations: %w", err)
		}
		a.stopWatch = stop
	}
	return a, nil
}

// forget drops the pair the source of id holds, if the cache has one: a
// process revoked it (see [RevocationWatcher]).
func (a *AuthClient) forget(id Identity) {
	if s := a.sources.peek(id); s != nil {
		s.forget()
	}
}

// Close stops what the client runs in the background: the watch for
// revocations of a store that is a [RevocationWatcher]. The client keeps
// working after Close, without that watch. Close is safe to call more than
// once; it returns nil.
func (a *AuthClient) Close() error {
	a.closeOnce.Do(func() {
		if a.stopWatch != nil {
			a.stopWatch()
		}
	})
	return nil
}

func newAuthAPI(cfg *config, appToken string) (*authv1.ClientWithResponses, error) {
	c, err := authv1.NewClientWithResponses(cfg.baseURL,
		authv1.WithHTTPClient(&transport{cfg: cfg, next: cfg.doer, auth: true, appToken: appToken}),
		authv1.WithRequestEditorFn(userAgentEditor(cfg.userAgent)),
		authv1.WithRequestEditorFn(AppTokenEditor(appToken)),
	)
	if err != nil {
		return nil, fmt.Errorf("circle: NewAuthClient: %w", err)
	}
	return c, nil
}

// TokenSource returns the token source of the member id names. The same
// identity gets the same source, and so shares its cached token, as long
// as the source stays among the [WithCacheSize] most recently used ones;
// a source dropped from the cache keeps working for those holding it, and
// a new source for the same member finds the pair in the [TokenStore].
// Calling TokenSource costs no request: the first Token call mints.
func (a *AuthClient) TokenSource(id Identity) *MemberTokenSource {
	mk := func() *MemberTokenSource { return &MemberTokenSource{auth: a, id: id} }
	if !id.valid() {
		return mk() // its Token reports the invalid identity
	}
	return a.sources.get(id, mk)
}

// String describes the client without its app token.
func (a *AuthClient) String() string { return "circle.AuthClient{" + a.cfg.baseURL + "}" }

// GoString is like String, so that %#v hides the app token too.
func (a *AuthClient) GoString() string { return a.String() }

// Format prints the client as String does, whatever the verb.
func (a *AuthClient) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(a.String())) }
