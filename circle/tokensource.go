package circle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/circlekit/headless-go/gen/authv1"
)

// MemberTokenSource is the [TokenSource] of one member, made by
// [AuthClient.TokenSource]. It mints the member's token pair through the
// Auth API on first use (or reuses the pair in the client's [TokenStore]),
// hands out the cached access token while it is valid, and refreshes it
// before it expires: [WithExpiryMargin] before (60 s by default), but
// never more than half the lifetime the token was issued with. When Circle
// rejects the refresh token (expired, revoked or unknown), it mints a new
// pair.
//
// One mint or refresh runs at a time: callers arriving while one runs wait
// for its result. A caller whose context ends stops waiting at once; the
// mint or refresh goes on for the others (bounded by a timeout of its
// own). A failure is returned to the callers that waited for it, typed
// (an [*APIError] when Circle answered), and the next call tries again.
//
// A MemberTokenSource is safe for concurrent use. Token on a valid cached
// token takes no lock and allocates nothing.
type MemberTokenSource struct {
	auth *AuthClient
	id   Identity

	cur atomic.Pointer[cachedToken]

	mu     sync.Mutex // guards flight, and serialises changes to cur
	flight *flight
}

// cachedToken is a pair and when Token stops handing it out.
type cachedToken struct {
	tok       Token
	refreshAt time.Time
	noExpiry  bool // the pair came without an access token expiry
	rejected  bool // the Member API rejected it; never hand it out again
}

func (c *cachedToken) usable(now time.Time) bool {
	return c != nil && !c.rejected && (c.noExpiry || now.Before(c.refreshAt))
}

// flight is one mint or refresh, with the callers waiting for it, or a
// Revoke, which callers wait for before they look at the source again.
type flight struct {
	done   chan struct{}
	tok    Token
	err    error
	revoke bool
}

// Identity returns the member the source acts for.
func (s *MemberTokenSource) Identity() Identity { return s.id }

// Token returns the member's current token, minting or refreshing it
// first if it is missing or about to expire.
func (s *MemberTokenSource) Token(ctx context.Context) (Token, error) {
	if c := s.cur.Load(); c.usable(s.auth.cfg.now()) {
		return c.tok, nil
	}
	return s.wait(ctx, "")
}

// RefreshRejected replaces an access token the Member API answered 401 to.
// If the source already holds another valid token (a concurrent call
// refreshed it), that one is returned; otherwise the token is refreshed,
// once for all the callers reporting it. It makes *MemberTokenSource a
// [Refresher].
func (s *MemberTokenSource) RefreshRejected(ctx context.Context, rejectedAccessToken string) (Token, error) {
	return s.wait(ctx, rejectedAccessToken)
}

// wait returns a usable token, joining or starting a flight if needed. A
// non-empty rejected is an access token the Member API refused.
func (s *MemberTokenSource) wait(ctx context.Context, rejected string) (Token, error) {
	if !s.id.valid() {
		return Token{}, fmt.Errorf("circle: invalid member identity %v", s.id)
	}
	for {
		now := s.auth.cfg.now()
		s.mu.Lock()
		c := s.cur.Load()
		if c != nil && rejected != "" && c.tok.AccessToken == rejected && !c.rejected {
			r := *c
			r.rejected = true
			s.cur.Store(&r)
			c = &r
		}
		if c.usable(now) {
			s.mu.Unlock()
			return c.tok, nil
		}
		f := s.flight
		if f == nil {
			f = &flight{done: make(chan struct{})}
			s.flight = f
			go s.run(context.WithoutCancel(ctx), f, c)
		}
		s.mu.Unlock()

		select {
		case <-f.done:
			if !f.revoke {
				return f.tok, f.err
			}
			// A Revoke ended: look again at what the source holds.
		case <-ctx.Done():
			return Token{}, ctx.Err()
		}
	}
}

// run performs flight f, replacing prev (nil if the source holds nothing).
func (s *MemberTokenSource) run(ctx context.Context, f *flight, prev *cachedToken) {
	ctx, cancel := context.WithTimeout(ctx, s.auth.cfg.flightTimeout)
	defer cancel()
	c, err := s.obtain(ctx, prev)
	s.mu.Lock()
	if err == nil {
		s.cur.Store(c)
		f.tok = c.tok
	} else {
		f.err = err
	}
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

// obtain returns the pair that replaces prev: one another process stored,
// a refreshed one, or a newly minted one, in this order of preference.
func (s *MemberTokenSource) obtain(ctx context.Context, prev *cachedToken) (*cachedToken, error) {
	cfg := s.auth.cfg
	if l, ok := cfg.store.(TokenLocker); ok {
		unlock, err := l.Lock(ctx, s.id)
		if err != nil {
			s.warn(ctx, "circle: token store lock failed; going on without it", err)
		} else {
			defer unlock()
		}
	}

	var base *Token // the pair whose refresh token may be used
	stale := ""     // the access token being replaced
	if prev != nil {
		base, stale = &prev.tok, prev.tok.AccessToken
	}
	stored, ok, err := cfg.store.Load(ctx, s.id)
	if err != nil {
		s.warn(ctx, "circle: token store load failed", err)
	} else if ok {
		// A pair a failed Revoke left may lack its access token.
		if c := s.cache(stored); stored.AccessToken != "" && stored.AccessToken != stale && c.usable(cfg.now()) {
			return c, nil
		}
		base = &stored
	}

	if base != nil && base.RefreshToken != "" &&
		(base.RefreshTokenExpiresAt.IsZero() || cfg.now().Before(base.RefreshTokenExpiresAt)) {
		tok, err := s.refresh(ctx, *base)
		if err == nil {
			return s.save(ctx, tok), nil
		}
		if !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		// Circle no longer knows the refresh token: mint a new pair.
	}
	tok, err := s.mint(ctx)
	if err != nil {
		return nil, err
	}
	return s.save(ctx, tok), nil
}

// cache wraps tok with the time Token stops handing it out: the margin
// before its expiry, at most half the time it has left (which, for a token
// just issued, is half its lifetime).
func (s *MemberTokenSource) cache(tok Token) *cachedToken {
	if tok.AccessTokenExpiresAt.IsZero() {
		return &cachedToken{tok: tok, noExpiry: true}
	}
	left := tok.AccessTokenExpiresAt.Sub(s.auth.cfg.now())
	margin := max(min(s.auth.cfg.margin, left/2), 0)
	return &cachedToken{tok: tok, refreshAt: tok.AccessTokenExpiresAt.Add(-margin)}
}

func (s *MemberTokenSource) save(ctx context.Context, tok Token) *cachedToken {
	if err := s.auth.cfg.store.Save(ctx, s.id, tok); err != nil {
		s.warn(ctx, "circle: token store save failed", err)
	}
	return s.cache(tok)
}

func (s *MemberTokenSource) mint(ctx context.Context) (Token, error) {
	rsp, err := s.auth.tokens.CreateMemberToken(ctx, s.id.body())
	if err != nil {
		return Token{}, err
	}
	resp, err := parseTokenAnswer(rsp, authv1.ParseCreateMemberTokenResponse)
	if err != nil {
		return Token{}, err
	}
	j := resp.JSON200
	if j == nil || j.AccessToken == nil || *j.AccessToken == "" || j.RefreshToken == nil || *j.RefreshToken == "" {
		return Token{}, malformed(resp.HTTPResponse, "token pair")
	}
	return Token{
		AccessToken:           *j.AccessToken,
		RefreshToken:          *j.RefreshToken,
		AccessTokenExpiresAt:  deref(j.AccessTokenExpiresAt),
		RefreshTokenExpiresAt: deref(j.RefreshTokenExpiresAt),
		CommunityMemberID:     deref(j.CommunityMemberID),
		CommunityID:           deref(j.CommunityID),
	}, nil
}

func (s *MemberTokenSource) refresh(ctx context.Context, base Token) (Token, error) {
	rsp, err := s.auth.tokens.RefreshAccessToken(ctx, authv1.RefreshTokenBody{RefreshToken: base.RefreshToken})
	if err != nil {
		return Token{}, err
	}
	resp, err := parseTokenAnswer(rsp, authv1.ParseRefreshAccessTokenResponse)
	if err != nil {
		return Token{}, err
	}
	j := resp.JSON200
	if j == nil || j.AccessToken == nil || *j.AccessToken == "" {
		return Token{}, malformed(resp.HTTPResponse, "access token")
	}
	tok := base
	tok.AccessToken = *j.AccessToken
	tok.AccessTokenExpiresAt = deref(j.AccessTokenExpiresAt)
	return tok, nil
}

// Revoke withdraws the member's access and refresh tokens (those the
// source holds and those in the store) through the Auth API, and forgets
// those Circle has withdrawn or no longer knows. It waits for a mint or
// refresh in progress first, and Token calls made while it runs wait for
// it. Tokens Circle already considers unusable are not an error: it
// answers 404 or 422 for an unknown, expired or revoked token, and 401
// saying the token has expired. Expired tokens are not sent.
//
// When it returns nil, the source and the store hold no token of the
// member, and the next call to Token mints a new pair. When some token
// could not be withdrawn (Circle answered 5xx, the app token was rejected,
// the context ended...), Revoke returns the errors (an [*APIError] for
// each answer) and keeps that token where it was, in the source or the
// store, so that calling Revoke again retries it; until then Token may
// hand out an access token that was kept. If the store cannot be read,
// Revoke reports it and leaves the store as it is.
func (s *MemberTokenSource) Revoke(ctx context.Context) error {
	if !s.id.valid() {
		return fmt.Errorf("circle: invalid member identity %v", s.id)
	}
	// Become the flight: Token waits for the outcome, instead of handing
	// out a token being revoked or minting a pair meanwhile.
	f := &flight{done: make(chan struct{}), revoke: true}
	var held *cachedToken
	for {
		s.mu.Lock()
		g := s.flight
		if g == nil {
			s.flight = f
			held = s.cur.Swap(nil)
			s.mu.Unlock()
			break
		}
		s.mu.Unlock()
		select {
		case <-g.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var keep *cachedToken // what of held the source holds again
	defer func() {
		s.mu.Lock()
		if keep != nil {
			s.cur.Store(keep)
		}
		s.flight = nil
		s.mu.Unlock()
		close(f.done)
	}()

	store := s.auth.cfg.store
	if l, ok := store.(TokenLocker); ok {
		// So that no other process saves a refreshed pair between the
		// Load and the Save or Delete below.
		unlock, err := l.Lock(ctx, s.id)
		if err != nil {
			s.warn(ctx, "circle: token store lock failed; going on without it", err)
		} else {
			defer unlock()
		}
	}
	var (
		errs  []error
		pairs []Token
	)
	if held != nil {
		pairs = append(pairs, held.tok)
	}
	stored, hasStored, err := store.Load(ctx, s.id)
	if err != nil {
		errs = append(errs, fmt.Errorf("circle: reading the pair to revoke from the token store: %w", err))
		hasStored = false // and leave the store alone
	} else if hasStored {
		pairs = append(pairs, stored)
	}

	gone := s.revokeAll(ctx, pairs, &errs)

	if held != nil {
		if left, ok := remaining(held.tok, gone); ok {
			k := *held
			k.tok = left
			if left.AccessToken == "" {
				k.rejected = true // nothing to hand out; refresh with what is left
			}
			keep = &k
		}
	}
	if hasStored {
		left, ok := remaining(stored, gone)
		switch {
		case !ok:
			if err := store.Delete(ctx, s.id); err != nil {
				errs = append(errs, fmt.Errorf("circle: forgetting the revoked pair: %w", err))
			}
		case left != stored:
			if err := store.Save(ctx, s.id, left); err != nil {
				errs = append(errs, fmt.Errorf("circle: saving the tokens left to revoke: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// revokeAll revokes each token of pairs once, appending the failures to
// errs, and returns the set of tokens that are gone: revoked, unknown to
// Circle, or expired. The empty token is gone.
func (s *MemberTokenSource) revokeAll(ctx context.Context, pairs []Token, errs *[]error) map[string]bool {
	gone := map[string]bool{"": true}
	tried := map[string]bool{"": true}
	now := s.auth.cfg.now()
	live := func(exp time.Time) bool { return exp.IsZero() || now.Before(exp) }
	for _, p := range pairs {
		if a := p.AccessToken; !tried[a] {
			tried[a] = true
			var err error
			if live(p.AccessTokenExpiresAt) {
				_, err = s.auth.tokens.RevokeAccessTokenWithResponse(ctx, authv1.AccessTokenBody{AccessToken: a})
			}
			if err == nil || alreadyUnusable(err) {
				gone[a] = true
			} else {
				*errs = append(*errs, err)
			}
		}
		if r := p.RefreshToken; !tried[r] {
			tried[r] = true
			var err error
			if live(p.RefreshTokenExpiresAt) {
				_, err = s.auth.tokens.RevokeRefreshTokenWithResponse(ctx, authv1.RefreshTokenBody{RefreshToken: r})
			}
			if err == nil || alreadyUnusable(err) {
				gone[r] = true
			} else {
				*errs = append(*errs, err)
			}
		}
	}
	return gone
}

// remaining returns p without the tokens that are gone, and whether it
// still holds one. The expiry times stay, so that a [MemoryStore] still
// drops the pair once its refresh token would have expired.
func remaining(p Token, gone map[string]bool) (Token, bool) {
	if gone[p.AccessToken] {
		p.AccessToken = ""
	}
	if gone[p.RefreshToken] {
		p.RefreshToken = ""
	}
	return p, p.AccessToken != "" || p.RefreshToken != ""
}

// alreadyUnusable reports whether a revoke call failed because the token
// no longer works anyway: unknown (404), invalid, expired or already
// revoked (422), or expired (a 401 whose message says so; any other 401
// is the app token being rejected, a failure to report).
func alreadyUnusable(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	switch e.StatusCode {
	case http.StatusNotFound, http.StatusUnprocessableEntity:
		return true
	case http.StatusUnauthorized:
		return strings.Contains(strings.ToLower(e.Message), "expired")
	}
	return false
}

// forget drops the pair the source holds, because another process revoked
// it: the next Token goes through the store again.
func (s *MemberTokenSource) forget() {
	s.mu.Lock()
	s.cur.Store(nil)
	s.mu.Unlock()
}

// String describes the source without its tokens.
func (s *MemberTokenSource) String() string {
	return "circle.MemberTokenSource{" + s.id.String() + "}"
}

// GoString is like String, so that %#v hides the tokens too.
func (s *MemberTokenSource) GoString() string { return s.String() }

// Format prints the source as String does, whatever the verb.
func (s *MemberTokenSource) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(s.String())) }

func (s *MemberTokenSource) warn(ctx context.Context, msg string, err error) {
	if l := s.auth.cfg.logger; l != nil {
		l.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("identity", s.id.String()),
			slog.String("error", redactString(err.Error(), s.secrets())))
	}
}

// secrets are the tokens the source holds, for redaction.
func (s *MemberTokenSource) secrets() []string {
	sec := []string{s.auth.appToken}
	if c := s.cur.Load(); c != nil {
		sec = append(sec, c.tok.AccessToken, c.tok.RefreshToken)
	}
	return sec
}

// malformed is the error for a 2xx answer without the expected body.
func malformed(resp *http.Response, what string) error {
	if resp == nil {
		return fmt.Errorf("circle: the answer carries no %s", what)
	}
	return newDecodeError(resp.Request, resp, "carries no "+what, nil, nil, false, nil)
}

// parseTokenAnswer decodes rsp, a 2xx answer of the Auth API, with the
// generated parse function, returning a decoding failure as a
// *DecodeError. The cause is kept only when it is a
// *json.UnmarshalTypeError, whose text names types and fields alone:
// another (a time that does not parse, say) could quote a value, which
// could be a token.
func parseTokenAnswer[T any](rsp *http.Response, parse func(*http.Response) (T, error)) (T, error) {
	v, err := parse(rsp)
	if err == nil {
		return v, nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		err = typeErr
	} else {
		err = errUndecodableValue
	}
	return v, newDecodeError(rsp.Request, rsp, "does not decode", err, nil, false, nil)
}

// errUndecodableValue stands for a decoding error of a token answer whose
// text could hold a token.
var errUndecodableValue = errors.New("a value is malformed (not shown: it could be a token)")

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
