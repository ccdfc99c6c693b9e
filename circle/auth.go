package circle

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/circlekit/headless-go/gen/authv1"
)

// AuthClient is a client of Circle's Headless Auth API, authenticated with
// the community's Headless Auth app token, and the factory of the
// members' token sources.
//
// The embedded generated client makes the four raw calls
// (CreateMemberTokenWithResponse, RefreshAccessTokenWithResponse,
// RevokeAccessTokenWithResponse, RevokeRefreshTokenWithResponse) with the
// app token attached; a non-2xx response is returned as an [*APIError]
// unless [WithRawErrorResponses] was given, and a 2xx response that is not
// JSON as a [*DecodeError]. Auth API calls follow no redirect. Most
// programs need only [AuthClient.TokenSource].
//
// An AuthClient is safe for concurrent use. No formatting of it, or of a
// value that holds one, shows the app token: it is held behind a pointer,
// and String, GoString and Format describe the client without it.
type AuthClient struct {
	*authv1.ClientWithResponses

	cfg  *config
	core *authCore
}

// authCore is what an AuthClient holds behind its pointer.
type authCore struct {
	calls   *tokenCalls
	sources *sourceCache
	stores  *storeGate

	stopWatch func() // ends the store's RevocationWatcher watch, if any
	closeOnce sync.Once
}

// NewAuthClient returns a client of the Auth API that sends appToken, the
// community's Headless Auth token, with every call. An empty app token, or
// one with white space or control characters, is an error. Options set
// the base URL, HTTP client, user agent, retries, response size limit and
// logger, and, for the member token sources, the cache size, token store
// and its timeout, expiry margin and clock.
func NewAuthClient(appToken string, opts ...Option) (*AuthClient, error) {
	if err := checkAppToken(appToken); err != nil {
		return nil, wrapf(err, "NewAuthClient")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if cfg.store == nil {
		cfg.store = newMemoryStoreClock(cfg.storeCapacity, cfg.now)
	}
	raw, err := newAuthAPI(cfg, appToken)
	if err != nil {
		return nil, err
	}
	strict := raw
	if cfg.rawErrors {
		c := *cfg
		c.rawErrors = false
		if strict, err = newAuthAPI(&c, appToken); err != nil {
			return nil, err
		}
	}
	a := &AuthClient{ClientWithResponses: raw, cfg: cfg, core: &authCore{
		calls:   &tokenCalls{api: strict, cfg: cfg, appToken: appToken},
		sources: newSourceCache(cfg.cacheSize),
		stores:  newStoreGate(),
	}}
	if w, ok := cfg.store.(RevocationWatcher); ok {
		stop, err := w.WatchRevocations(a.forget)
		if err != nil {
			return nil, wrapf(err, "NewAuthClient: watching the token store for revocations")
		}
		a.core.stopWatch = stop
	}
	return a, nil
}

// newAuthAPI is the generated Auth API client over the retrying transport
// over the user's guarded Doer, which follows no redirect. A 2xx response
// of the Auth API, a token pair, is read up to maxAuthBody.
func newAuthAPI(cfg *config, appToken string) (*authv1.ClientWithResponses, error) {
	t := &transport{cfg: cfg, next: guard(cfg.doer, cfg.base, false), secrets: []string{appToken}, maxBody: maxAuthBody}
	c, err := authv1.NewClientWithResponses(cfg.baseURL,
		authv1.WithHTTPClient(authRetry{t}),
		authv1.WithRequestEditorFn(userAgentEditor(cfg.userAgent)),
		authv1.WithRequestEditorFn(AppTokenEditor(appToken)),
	)
	if err != nil {
		return nil, wrapf(err, "NewAuthClient")
	}
	return c, nil
}

// authRetry gives the Auth API's calls the retry policies that fit them,
// where a POST or a PATCH is otherwise never sent twice. The refresh call
// (its one PATCH) is sent again only when it never left: a lost response
// could have issued a token. The revoke calls (POSTs to .../revoke) are
// idempotent, retried like a GET: a token revoked by an attempt whose
// response was lost is reported gone to the next, which Revoke counts as
// done. The mint call is never sent twice.
type authRetry struct{ next Doer }

// Do sends req under the policy of its call.
func (d authRetry) Do(req *http.Request) (*http.Response, error) {
	switch {
	case req.Method == http.MethodPatch:
		req = req.WithContext(withRetryPolicy(req.Context(), retryUnsent))
	case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/revoke"):
		req = req.WithContext(withRetryPolicy(req.Context(), retryIdempotent))
	}
	return d.next.Do(req)
}

// TokenSource returns the token source of the member id names. The same
// identity (emails compared as Circle compares them, see [Identity]) gets
// the same source, and so shares its cached token and its one mint or
// refresh at a time, as long as the source is among the [WithCacheSize]
// most recently used ones or anyone still holds it: a source dropped from
// the cache while a caller uses it is given again to whoever asks for its
// member, so that a process never runs two mints of one member at once.
// A source made after the last one was dropped and collected finds the
// pair in the [TokenStore]. Calling TokenSource costs no request: the
// first Token call mints. The source of an invalid identity (see
// [Identity.Validate]) reports it from every call, and sends nothing.
func (a *AuthClient) TokenSource(id Identity) *MemberTokenSource {
	if !id.valid() {
		return newMemberTokenSource(a.core.calls, a.cfg, id, a.core.stores, nil)
	}
	mk := func() *MemberTokenSource {
		return newMemberTokenSource(a.core.calls, a.cfg, id, a.core.stores, a.core.sources)
	}
	return a.core.sources.get(id, mk)
}

// forget drops the pair the source of id holds, if the cache has one: a
// process revoked it (see [RevocationWatcher]).
func (a *AuthClient) forget(id Identity) {
	if s := a.core.sources.peek(id); s != nil {
		s.forget()
	}
}

// Close stops what the client runs in the background: the watch for
// revocations of a store that is a [RevocationWatcher]. The client keeps
// working after Close, without that watch. Close is safe to call more than
// once; it returns nil.
func (a *AuthClient) Close() error {
	a.core.closeOnce.Do(func() {
		if a.core.stopWatch != nil {
			a.core.stopWatch()
		}
	})
	return nil
}

// String describes the client without its app token.
func (a AuthClient) String() string {
	if a.cfg == nil {
		return "circle.AuthClient{}"
	}
	return "circle.AuthClient{" + a.cfg.baseURL + "}"
}

// GoString is like String, so that %#v hides the app token too.
func (a AuthClient) GoString() string { return a.String() }

// Format prints the client as String does, whatever the verb.
func (a AuthClient) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

// tokenCalls makes the Auth API calls of the member token sources of one
// AuthClient, with a client that always returns non-2xx responses as
// errors.
type tokenCalls struct {
	api      *authv1.ClientWithResponses
	cfg      *config
	appToken string
}

func (c *tokenCalls) secrets() []string { return []string{c.appToken} }

func (c *tokenCalls) mint(ctx context.Context, id Identity) (Token, error) {
	resp, err := c.api.CreateMemberToken(ctx, id.body())
	if err != nil {
		return Token{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	f, err := c.read(resp)
	if err != nil {
		return Token{}, err
	}
	if f.AccessToken == "" || f.RefreshToken == "" {
		return Token{}, tokenResponseError(resp, "carries no token pair", nil)
	}
	tok := Token{
		AccessToken:           f.AccessToken,
		RefreshToken:          f.RefreshToken,
		AccessTokenExpiresAt:  c.expiry(resp, f.AccessTokenExpiresAt),
		RefreshTokenExpiresAt: c.expiry(resp, f.RefreshTokenExpiresAt),
		CommunityMemberID:     f.CommunityMemberID,
		CommunityID:           f.CommunityID,
	}
	if checkBearer(tok.AccessToken) != nil || checkBearer(tok.RefreshToken) != nil {
		return Token{}, tokenResponseError(resp, "carries a token no header can carry", nil)
	}
	return tok, nil
}

func (c *tokenCalls) refresh(ctx context.Context, base Token) (Token, error) {
	resp, err := c.api.RefreshAccessToken(ctx, authv1.RefreshTokenBody{RefreshToken: base.RefreshToken})
	if err != nil {
		return Token{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	f, err := c.read(resp)
	if err != nil {
		return Token{}, err
	}
	if f.AccessToken == "" {
		return Token{}, tokenResponseError(resp, "carries no access token", nil)
	}
	if checkBearer(f.AccessToken) != nil {
		return Token{}, tokenResponseError(resp, "carries a token no header can carry", nil)
	}
	tok := base
	tok.AccessToken = f.AccessToken
	tok.AccessTokenExpiresAt = c.expiry(resp, f.AccessTokenExpiresAt)
	return tok, nil
}

func (c *tokenCalls) revokeAccess(ctx context.Context, token string) error {
	_, err := c.api.RevokeAccessTokenWithResponse(ctx, authv1.AccessTokenBody{AccessToken: token})
	return err
}

func (c *tokenCalls) revokeRefresh(ctx context.Context, token string) error {
	_, err := c.api.RevokeRefreshTokenWithResponse(ctx, authv1.RefreshTokenBody{RefreshToken: token})
	return err
}

// tokenFields is the body of a mint or refresh response. Expiry times
// are read apart, so that one that does not parse leaves the expiry
// unknown instead of failing the call.
type tokenFields struct {
	AccessToken           string          `json:"access_token"`
	RefreshToken          string          `json:"refresh_token"`
	AccessTokenExpiresAt  json.RawMessage `json:"access_token_expires_at"`
	RefreshTokenExpiresAt json.RawMessage `json:"refresh_token_expires_at"`
	CommunityMemberID     int64           `json:"community_member_id"`
	CommunityID           int64           `json:"community_id"`
}

// read decodes the body of resp, a checked 2xx response.
func (c *tokenCalls) read(resp *http.Response) (tokenFields, error) {
	var f tokenFields
	b, err := readLimited(resp.Body, maxAuthBody, resp.ContentLength, false)
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err != nil {
		return f, tokenResponseError(resp, "does not decode", err)
	}
	return f, nil
}

// maxSkew is the largest difference between Circle's clock (its Date
// header) and this machine's that is corrected; minSkew the smallest.
const (
	minSkew = 2 * time.Second
	maxSkew = 24 * time.Hour
)

// expiry reads an expiry time of resp, an RFC 3339 JSON string, as a time
// of this machine's clock: unless WithClock gave the clock, an expiry is a
// time of the server's clock, and the Date header of resp says how far
// that is from ours. A missing or malformed time is unknown (zero).
func (c *tokenCalls) expiry(resp *http.Response, raw json.RawMessage) time.Time {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	if c.cfg.clockSet {
		return t
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return t
	}
	skew := date.Sub(c.cfg.now())
	if skew.Abs() < minSkew || skew.Abs() > maxSkew {
		return t
	}
	return t.Add(-skew)
}
