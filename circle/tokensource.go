package circle

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/circlekit/headless-go/internal/redact"
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
// for its result. An [AuthClient] has one source per member in use (see
// [AuthClient.TokenSource]), so this holds for the whole client. A
// caller whose context ends stops waiting at once; the mint or refresh
// goes on for the others (bounded by a timeout of its own, and by what a
// [TokenLocker]'s lock promises while it waits for it). A failure is
// returned to the callers that waited for it, typed (an [*APIError] when
// Circle answered).
//
// A source never hammers the Auth API, whatever Circle answers:
//   - after a failed mint or refresh, Token returns a [*BackoffError]
//     (which unwraps to the failure) without calling Circle until a
//     backoff has passed: 1 s, doubling with each failure in a row up to
//     5 minutes, with jitter, and never shorter than a Retry-After Circle
//     gave. The first success ends it;
//   - two mints or refreshes of one source are at least a second apart: a
//     token that has expired by the time it arrives (a clock far from
//     Circle's) is handed out until then, not refreshed at once;
//   - when an access token the source obtained is rejected by the Member
//     API (401) before any call accepted it ([MemberTokenSource.Accepted]),
//     and so was the one before it,
//     the problem is not the token (the member or the community lost
//     access): the source stops replacing tokens for a backoff, and calls
//     fail with an error matching [ErrUnauthorized].
//
// A revoke is final: see [MemberTokenSource.Revoke].
//
// A MemberTokenSource is safe for concurrent use. Token on a valid cached
// token takes no lock and allocates nothing.
type MemberTokenSource struct {
	api    tokenAPI
	cfg    *config
	id     Identity
	idErr  error        // why id is invalid, or nil
	stores *storeGate   // the health of the store, shared by the client's sources
	peers  *sourceCache // the client's sources, for Revoke; nil for a source of an invalid identity

	cur atomic.Pointer[cachedToken]

	mu      sync.Mutex // guards what follows, and serialises changes to cur
	flight  *flight
	gate    gate
	revoked revokedTokens
}

func newMemberTokenSource(api tokenAPI, cfg *config, id Identity, stores *storeGate, peers *sourceCache) *MemberTokenSource {
	return &MemberTokenSource{api: api, cfg: cfg, id: id, idErr: id.validate(), stores: stores, peers: peers}
}

// tokenAPI is what a member token source asks of the Auth API. An
// AuthClient's tokenCalls implement it; keeping it small keeps the source
// about caching and single flight alone.
type tokenAPI interface {
	// mint issues a new pair for id.
	mint(ctx context.Context, id Identity) (Token, error)
	// refresh issues a new access token with base's refresh token, and
	// returns base with it.
	refresh(ctx context.Context, base Token) (Token, error)
	// revokeAccess and revokeRefresh withdraw one token.
	revokeAccess(ctx context.Context, token string) error
	revokeRefresh(ctx context.Context, token string) error
	// secrets are what the source must redact besides its tokens.
	secrets() []string
}

// cachedToken is a pair, the Authorization header of its access token, and
// when Token stops handing it out. It is never copied: rejected and
// accepted change in place.
type cachedToken struct {
	tok       Token
	header    []string
	refreshAt time.Time // on the configured clock
	noExpiry  bool      // the pair came without an access token expiry
	// expired is set when the token was past its refresh time when it
	// arrived (an expiry time in the past, a clock far from Circle's).
	expired  bool
	rejected atomic.Bool
	accepted atomic.Bool // the Member API took it at least once
}

func (c *cachedToken) usable(now time.Time) bool {
	return c != nil && !c.rejected.Load() && (c.noExpiry || now.Before(c.refreshAt))
}

// flight is one mint or refresh, with the callers waiting for it, or a
// Revoke, which callers wait for before they look at the source again.
type flight struct {
	done   chan struct{}
	tok    *cachedToken
	err    error
	revoke bool
}

// Identity returns the member the source acts for.
func (s *MemberTokenSource) Identity() Identity { return s.id }

// Token returns the member's current token, minting or refreshing it
// first if it is missing or about to expire.
func (s *MemberTokenSource) Token(ctx context.Context) (Token, error) {
	c, err := s.current(ctx)
	if err != nil {
		return Token{}, err
	}
	return c.tok, nil
}

// current is Token, giving the cached token itself.
func (s *MemberTokenSource) current(ctx context.Context) (*cachedToken, error) {
	if c := s.cur.Load(); c.usable(s.cfg.now()) {
		return c, nil
	}
	return s.wait(ctx, "")
}

// RefreshRejected replaces an access token the Member API answered 401 to.
// If the source already holds another valid token (a concurrent call
// refreshed it), that one is returned; otherwise the token is refreshed,
// once for all the callers reporting it. It returns an error matching
// [ErrUnauthorized] instead, calling Circle not at all, when the token was
// revoked by this source (or by another process sharing its store), and
// when the source stopped replacing rejected tokens for a while (see
// [MemberTokenSource]). It makes *MemberTokenSource a [Refresher].
func (s *MemberTokenSource) RefreshRejected(ctx context.Context, rejectedAccessToken string) (Token, error) {
	c, err := s.wait(ctx, rejectedAccessToken)
	if err != nil {
		return Token{}, err
	}
	return c.tok, nil
}

// wait returns a usable token, joining or starting a flight if needed. A
// non-empty rejected is an access token the Member API refused.
func (s *MemberTokenSource) wait(ctx context.Context, rejected string) (*cachedToken, error) {
	if s.idErr != nil {
		return nil, s.idErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err // a caller that is gone starts no mint or refresh
	}
	afterRevoke := false
	for {
		s.mu.Lock()
		c, f, err := s.decide(ctx, rejected, afterRevoke)
		s.mu.Unlock()
		if f == nil {
			return c, err
		}
		select {
		case <-f.done:
			if !f.revoke {
				return f.tok, f.err
			}
			// A Revoke ended: what it kept may be handed out, but this
			// call, which began before it returned, mints nothing.
			afterRevoke = true
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// decide, with s.mu held, returns the token to hand out, the error to
// return, or the flight to wait for, starting one if needed.
func (s *MemberTokenSource) decide(ctx context.Context, rejected string, afterRevoke bool) (*cachedToken, *flight, error) {
	c := s.cur.Load()
	if rejected != "" {
		if s.revoked.has(rejected) {
			return nil, nil, errRevokedToken
		}
		if c != nil && c.tok.AccessToken == rejected && !c.rejected.Load() {
			c.rejected.Store(true)
			s.gate.rejected(c.accepted.Load(), s.cfg)
		}
	}
	switch {
	case c.usable(s.cfg.now()):
		return c, nil, nil
	case c != nil && c.expired && !c.rejected.Load() && !s.gate.floorPassed(s.cfg):
		// Expired on arrival: refresh no more than once per floor.
		return c, nil, nil
	case s.flight != nil:
		return nil, s.flight, nil
	case afterRevoke:
		return nil, nil, errRevokedWhileWaiting
	}
	if err := s.gate.closed(); err != nil {
		return nil, nil, err
	}
	f := &flight{done: make(chan struct{})}
	s.flight = f
	go s.run(context.WithoutCancel(ctx), f, c)
	return nil, f, nil
}

// run performs flight f, replacing prev (nil if the source holds nothing).
func (s *MemberTokenSource) run(ctx context.Context, f *flight, prev *cachedToken) {
	c, err := s.obtain(ctx, prev)
	if err == nil && s.peers != nil && c.tok.CommunityMemberID > 0 {
		s.peers.named(c.tok.CommunityMemberID, s.id) // for a Revoke by another name
	}
	s.mu.Lock()
	if err == nil {
		s.cur.Store(c)
		f.tok = c
		s.gate.succeeded()
	} else {
		f.err = err
		s.gate.failed(err, s.cfg)
	}
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

// obtain returns the pair that replaces prev: one another process stored,
// a refreshed one, or a newly minted one, in this order of preference.
// The wait for the store's lock is bounded by what the lock promises (see
// lockWait); what follows it, by the flight timeout.
func (s *MemberTokenSource) obtain(ctx context.Context, prev *cachedToken) (*cachedToken, error) {
	// The floor is waited for before the store's lock is taken: a lock
	// held while sleeping would hold up the other processes.
	s.awaitFloor(ctx)
	var base *Token // the pair whose refresh token may be used
	stale := ""     // the access token being replaced
	if prev != nil {
		base, stale = &prev.tok, prev.tok.AccessToken
	}
	// adoptable reports whether a stored pair can be handed out as it is:
	// another process refreshed or minted it. A pair a failed Revoke left
	// may lack its access token.
	adoptable := func(stored Token) (*cachedToken, bool) {
		if a := stored.AccessToken; a == "" || a == stale || s.revokedToken(a) {
			return nil, false
		}
		c := s.cache(stored)
		return c, c.usable(s.cfg.now())
	}
	st := s.openStore()
	release, found := st.lock(ctx, func(t Token) bool { _, ok := adoptable(t); return ok })
	defer release()
	if found != nil {
		if c, ok := adoptable(*found); ok { // still: a revoke may have come between
			return c, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.flightTimeout)
	defer cancel()
	if stored, ok := st.load(ctx); ok {
		if c, ok := adoptable(stored); ok {
			return c, nil
		}
		base = &stored
	}
	s.markCall()
	if base != nil && base.RefreshToken != "" &&
		(base.RefreshTokenExpiresAt.IsZero() || s.cfg.now().Before(base.RefreshTokenExpiresAt)) {
		tok, err := s.api.refresh(ctx, *base)
		if err == nil {
			st.save(ctx, tok)
			return s.cache(tok), nil
		}
		if !errors.Is(err, ErrUnauthorized) && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		// Circle no longer knows the refresh token: mint a new pair.
	}
	tok, err := s.api.mint(ctx, s.id)
	if err != nil {
		return nil, err
	}
	st.save(ctx, tok)
	return s.cache(tok), nil
}

// awaitFloor waits until the floor between two Auth API calls of the
// source has passed since the last.
func (s *MemberTokenSource) awaitFloor(ctx context.Context) {
	s.mu.Lock()
	wait := s.gate.floorWait(s.cfg)
	s.mu.Unlock()
	sleep(ctx, wait)
}

// markCall records the start of an Auth API call of the source.
func (s *MemberTokenSource) markCall() {
	s.mu.Lock()
	s.gate.called()
	s.mu.Unlock()
}

// cache wraps tok with the time Token stops handing it out: the margin
// before its expiry, at most half the time it has left (which, for a token
// just issued, is half its lifetime).
func (s *MemberTokenSource) cache(tok Token) *cachedToken {
	c := &cachedToken{tok: tok, header: []string{"Bearer " + tok.AccessToken}}
	if tok.AccessTokenExpiresAt.IsZero() {
		c.noExpiry = true
		return c
	}
	now := s.cfg.now()
	left := tok.AccessTokenExpiresAt.Sub(now)
	margin := max(min(s.cfg.margin, left/2), 0)
	c.refreshAt = tok.AccessTokenExpiresAt.Add(-margin)
	c.expired = !now.Before(c.refreshAt)
	return c
}

// Accepted records that Circle took accessToken, the token the source
// holds: a Member API call or a real-time connection succeeded with it.
// A token accepted once and rejected later (it expired, or was revoked)
// is then replaced as a first rejection, however long the source lives,
// instead of counting towards "rejected twice in a row" (see
// [MemberTokenSource]). Any other token is ignored. The Member API client
// of this package and package realtime call it; code that sends the token
// to Circle by other means may.
func (s *MemberTokenSource) Accepted(accessToken string) {
	c := s.cur.Load()
	if c == nil || c.accepted.Load() || c.tok.AccessToken != accessToken {
		return
	}
	c.accepted.Store(true)
	s.mu.Lock()
	s.gate.streak = 0
	s.mu.Unlock()
}

// forget drops the pair the source holds, because a process sharing its
// store revoked it: the next Token goes through the store again, and a
// call that was sent with the revoked token is not replayed.
func (s *MemberTokenSource) forget() {
	s.mu.Lock()
	if c := s.cur.Swap(nil); c != nil {
		s.revoked.add(c.tok.AccessToken)
	}
	s.mu.Unlock()
}

func (s *MemberTokenSource) revokedToken(access string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked.has(access)
}

// String describes the source without its tokens.
func (s *MemberTokenSource) String() string {
	return "circle.MemberTokenSource{" + s.id.String() + "}"
}

// GoString is like String, so that %#v hides the tokens too.
func (s *MemberTokenSource) GoString() string { return s.String() }

// Format prints the source as String does, whatever the verb.
func (s *MemberTokenSource) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// warn logs a failure of the store, without any token (see secrets). A
// call skipped because the store is taken as down is logged at debug
// level: the outage was logged once when it began (warnStoreDown).
func (s *MemberTokenSource) warn(ctx context.Context, msg string, err error, more ...Token) {
	if l := s.cfg.logger; l != nil {
		level := slog.LevelWarn
		if errors.Is(err, errStoreDown) {
			level = slog.LevelDebug
		}
		l.LogAttrs(ctx, level, msg, slog.String("identity", s.id.String()),
			slog.String("error", redact.String(err.Error(), s.secrets(more...))))
	}
}

// warnStoreDown logs that the store did not answer in time and is skipped
// by every source of the client until a probe answers.
func (s *MemberTokenSource) warnStoreDown(ctx context.Context) {
	if l := s.cfg.logger; l != nil {
		l.LogAttrs(ctx, slog.LevelWarn, "circle: the token store did not answer in time; every member's source goes on without it until it answers again",
			slog.String("identity", s.id.String()), slog.Duration("store_timeout", s.cfg.storeTimeout))
	}
}

// secrets lists what no error or log line of the source may show: the
// app token, the pair the source holds, and more (a pair being saved or
// revoked, not yet or no longer held).
func (s *MemberTokenSource) secrets(more ...Token) []string {
	sec := s.api.secrets()
	if c := s.cur.Load(); c != nil {
		more = append(more, c.tok)
	}
	for _, t := range more {
		sec = append(sec, t.AccessToken, t.RefreshToken)
	}
	return sec
}

// gate is what a source remembers so as not to hammer Circle: failures in
// a row and until when it asks Circle nothing, the start of its last Auth
// API call, and how many access tokens in a row the Member API rejected.
// Its times are on the real clock, whatever clock WithClock gave.
type gate struct {
	failures int
	until    time.Time
	err      error
	lastCall time.Time
	streak   int
}

// closed returns the error to return at once while the gate is closed.
func (g *gate) closed() error {
	if g.err == nil || !time.Now().Before(g.until) {
		return nil
	}
	return &BackoffError{Until: g.until, Err: g.err}
}

func (g *gate) succeeded() { g.failures, g.err, g.until = 0, nil, time.Time{} }

// failed closes the gate after a failed mint or refresh, for a backoff of
// its own or the Retry-After Circle gave, whichever is longer.
func (g *gate) failed(err error, cfg *config) {
	g.failures++
	wait := tokenBackoff(cfg, g.failures)
	var e *APIError
	if errors.As(err, &e) && e.RetryAfter > wait {
		wait = e.RetryAfter
	}
	g.err, g.until = err, time.Now().Add(wait)
}

// rejected counts an access token the Member API rejected; a second in a
// row, with none accepted in between, closes the gate.
func (g *gate) rejected(wasAccepted bool, cfg *config) {
	if wasAccepted {
		g.streak = 1
		return
	}
	g.streak++
	if g.streak >= 2 {
		g.err = &rejectedError{n: g.streak}
		g.until = time.Now().Add(tokenBackoff(cfg, g.streak-1))
	}
}

func (g *gate) called() { g.lastCall = time.Now() }

func (g *gate) floorWait(cfg *config) time.Duration {
	if g.lastCall.IsZero() {
		return 0
	}
	return cfg.refreshFloor - time.Since(g.lastCall)
}

func (g *gate) floorPassed(cfg *config) bool { return g.floorWait(cfg) <= 0 }

// tokenBackoff is the wait after the n-th failure in a row (n >= 1).
func tokenBackoff(cfg *config, n int) time.Duration {
	return jittered(cfg.tokenBackoff, cfg.maxTokenBackoff, n-1)
}

// revokedTokens remembers the last access tokens a source revoked (or saw
// revoked by another process), so that a call sent with one of them is
// not replayed with a new pair. It keeps their hashes, not the tokens, so
// that no formatting of a source shows them.
type revokedTokens struct {
	ring [4]uint64
	next int
}

// revokedSeed seeds the hashes of revokedTokens.
var revokedSeed = maphash.MakeSeed()

func (r *revokedTokens) add(access string) {
	if access == "" || r.has(access) {
		return
	}
	r.ring[r.next] = maphash.String(revokedSeed, access)
	r.next = (r.next + 1) % len(r.ring)
}

func (r *revokedTokens) has(access string) bool {
	if access == "" {
		return false
	}
	h := maphash.String(revokedSeed, access)
	for _, a := range r.ring {
		if a == h {
			return true
		}
	}
	return false
}
