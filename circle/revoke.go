package circle

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/circlekit/headless-go/internal/redact"
)

// Revoke withdraws the member's access and refresh tokens (those the
// source holds and those in the store) through the Auth API, and forgets
// those Circle has withdrawn or no longer knows. It waits for a mint or
// refresh in progress first, and Token calls made while it runs wait for
// it. Tokens Circle already considers unusable are not an error: it
// answers 404 or 422 for an unknown, expired or revoked token, and 401
// saying the token has expired. Expired tokens are not sent.
//
// A revoke is final for the calls in flight: a Member API call sent with
// a revoked access token that is answered 401 is not replayed (it fails
// with an error matching [ErrUnauthorized]), and a Token call that was
// waiting for Revoke mints nothing (it fails likewise). Only a Token call
// that begins after Revoke returned mints a new pair. With a store that
// is a [RevocationWatcher], this holds in every process sharing it.
//
// When Revoke returns nil, the source and the store hold no token of the
// member. When some token could not be withdrawn (Circle answered 5xx, the
// app token was rejected, the context ended...), Revoke returns the errors
// (an [*APIError] for each response) and keeps that token where it was, in
// the source or the store, so that calling Revoke again retries it; until
// then Token may hand out an access token that was kept. If the store
// cannot be read, Revoke reports it and leaves the store as it is.
//
// # Other identities of the member
//
// A member may be named in several ways (by email in one place, by
// community member id or SSO user id in another); each identity has its
// own source and pair, since Circle issues a pair per mint. Once the
// source holds a pair it knows the member's community_member_id, and
// Revoke withdraws the member's other pairs this process knows of too, as
// above (from the source and from the store): those of the client's other
// sources still in use (in its cache, or held by a caller) that hold a
// pair of the same member or name it by that id; those of the identities
// that got a pair of the member through this client lately (the client
// remembers up to 8 identities for each of as many members as
// [WithCacheSize]); and the pairs of that member a [MemoryStore] given to
// the client (or its default one) holds under any identity. It cannot
// find a pair that another process saved in another store (such as
// redisstore's) under an identity this process never used, nor one this
// process has forgotten: a [TokenStore] is keyed by identity and cannot
// be searched by member. Such a pair is withdrawn by a Revoke through its
// own identity, or expires with its refresh token.
func (s *MemberTokenSource) Revoke(ctx context.Context) error {
	if s.idErr != nil {
		return s.idErr
	}
	members, err := s.revokeOwn(ctx)
	if s.id.kind == memberIDIdentity {
		members[s.id.id] = true
	}
	return errors.Join(err, s.revokeAliases(ctx, members))
}

// revokeOwn is Revoke for the source's own identity. It returns the
// community member ids of the pairs it found.
func (s *MemberTokenSource) revokeOwn(ctx context.Context) (map[int64]bool, error) {
	members := map[int64]bool{}
	f, held, err := s.claimFlight(ctx)
	if err != nil {
		return members, err
	}
	var keep *cachedToken // what of held the source holds again
	defer func() { s.endRevoke(f, keep) }()

	st := s.openStore()
	// So that no other process saves a refreshed pair between the Load
	// and the Save or Delete below.
	release, _ := st.lock(ctx, nil)
	defer release()
	pairs, stored, hasStored, errs := s.collectPairs(ctx, st, held)
	gone := s.revokeAll(ctx, pairs, &errs)
	s.mu.Lock()
	for _, p := range pairs {
		if gone[p.AccessToken] {
			s.revoked.add(p.AccessToken)
		}
		if p.CommunityMemberID > 0 {
			members[p.CommunityMemberID] = true
		}
	}
	s.mu.Unlock()
	keep = kept(held, gone)
	if hasStored {
		if err := s.keepStored(ctx, st, stored, gone); err != nil {
			errs = append(errs, err)
		}
	}
	return members, errors.Join(errs...)
}

// revokeAliases revokes the pairs of members that this process holds
// under identities other than the source's own; see Revoke.
func (s *MemberTokenSource) revokeAliases(ctx context.Context, members map[int64]bool) error {
	if len(members) == 0 || s.peers == nil {
		return nil
	}
	of := func(id Identity, tok *cachedToken) bool {
		return id.kind == memberIDIdentity && members[id.id] || tok != nil && members[tok.tok.CommunityMemberID]
	}
	done := map[Identity]bool{s.id: true}
	var errs []error
	for _, o := range s.peers.all() {
		if !done[o.id] && of(o.id, o.cur.Load()) {
			done[o.id] = true
			_, err := o.revokeOwn(ctx)
			errs = append(errs, err)
		}
	}
	// Identities whose sources are gone: named lately, or in a
	// MemoryStore, which can be searched.
	names := s.peers.namesOf(members)
	if m, ok := s.cfg.store.(*MemoryStore); ok {
		names = append(names, m.identitiesOf(members)...)
	}
	for _, id := range names {
		if done[id] {
			continue
		}
		done[id] = true
		// The identity's one source, made and registered if it is gone, so
		// that a TokenSource call meanwhile gets this source (and waits
		// for its revoke) rather than a second one.
		o := s.peers.get(id, func() *MemberTokenSource {
			return newMemberTokenSource(s.api, s.cfg, id, s.stores, s.peers)
		})
		_, err := o.revokeOwn(ctx)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// claimFlight makes the Revoke the source's flight, once no other runs,
// so that Token waits for its outcome instead of handing out a token being
// revoked or minting a pair meanwhile; it takes the pair the source holds.
func (s *MemberTokenSource) claimFlight(ctx context.Context) (*flight, *cachedToken, error) {
	f := &flight{done: make(chan struct{}), revoke: true}
	for {
		s.mu.Lock()
		g := s.flight
		if g == nil {
			s.flight = f
			held := s.cur.Swap(nil)
			s.mu.Unlock()
			return f, held, nil
		}
		s.mu.Unlock()
		select {
		case <-g.done:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// endRevoke puts back what the source keeps and lets the waiters go.
func (s *MemberTokenSource) endRevoke(f *flight, keep *cachedToken) {
	s.mu.Lock()
	if keep != nil {
		s.cur.Store(keep)
	}
	s.flight = nil
	s.mu.Unlock()
	close(f.done)
}

// collectPairs returns the pairs to revoke: the one the source held and
// the one in the store, if any (and the latter apart, with whether there
// is one). A store that cannot be read is reported and left alone.
func (s *MemberTokenSource) collectPairs(ctx context.Context, st *storeSession, held *cachedToken) (pairs []Token, stored Token, hasStored bool, errs []error) {
	if held != nil {
		pairs = append(pairs, held.tok)
	}
	r, err := st.loadErr(ctx)
	if err != nil {
		return pairs, Token{}, false, []error{wrapf(s.redacted(err, held), "reading the pair to revoke from the token store")}
	}
	if r.ok {
		pairs = append(pairs, r.tok)
	}
	return pairs, r.tok, r.ok, nil
}

// revokeAll revokes each token of pairs once, appending the failures to
// errs, and returns the set of tokens that are gone: revoked, unknown to
// Circle, or expired.
func (s *MemberTokenSource) revokeAll(ctx context.Context, pairs []Token, errs *[]error) map[string]bool {
	gone := map[string]bool{}
	tried := map[string]bool{"": true}
	now := s.cfg.now()
	live := func(exp time.Time) bool { return exp.IsZero() || now.Before(exp) }
	revoke := func(tok string, exp time.Time, call func(context.Context, string) error) {
		if tried[tok] {
			return
		}
		tried[tok] = true
		var err error
		if live(exp) {
			err = call(ctx, tok)
		}
		if err == nil || alreadyUnusable(err) {
			gone[tok] = true
		} else {
			*errs = append(*errs, err)
		}
	}
	for _, p := range pairs {
		revoke(p.AccessToken, p.AccessTokenExpiresAt, s.api.revokeAccess)
		revoke(p.RefreshToken, p.RefreshTokenExpiresAt, s.api.revokeRefresh)
	}
	return gone
}

// kept returns what the source holds again of held after a revoke: the
// tokens that are not gone, or nil if none is left.
func kept(held *cachedToken, gone map[string]bool) *cachedToken {
	if held == nil {
		return nil
	}
	left, ok := remaining(held.tok, gone)
	if !ok {
		return nil
	}
	k := &cachedToken{tok: left, header: held.header, refreshAt: held.refreshAt, noExpiry: held.noExpiry, expired: held.expired}
	if left.AccessToken == "" || held.rejected.Load() {
		k.rejected.Store(true) // nothing to hand out; refresh with what is left
	}
	return k
}

// keepStored deletes the stored pair if none of its tokens is left, or
// saves what is left of it.
func (s *MemberTokenSource) keepStored(ctx context.Context, st *storeSession, stored Token, gone map[string]bool) error {
	left, ok := remaining(stored, gone)
	switch {
	case !ok:
		if err := st.delete(ctx); err != nil {
			return wrapf(s.redacted(err, nil, stored), "forgetting the revoked pair")
		}
	case left != stored:
		if err := st.saveErr(ctx, left); err != nil {
			return wrapf(s.redacted(err, nil, stored), "saving the tokens left to revoke")
		}
	}
	return nil
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

// redacted returns err with its text freed of every token the source
// knows of, held's and more's: a store's error may quote the pair.
func (s *MemberTokenSource) redacted(err error, held *cachedToken, more ...Token) error {
	if held != nil {
		more = append(more, held.tok)
	}
	msg := redact.String(err.Error(), s.secrets(more...))
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
