package circle

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"
)

// A TokenStore persists member token pairs, keyed by [Identity], so that a
// restarted process (or another process) reuses them instead of minting
// new ones. Give one to [NewAuthClient] with [WithTokenStore]; the default
// is a [MemoryStore] of the client's own. Implementations must be safe for
// concurrent use. Identity.String gives a stable key for external stores;
// the JSON encoding of [Token] carries every field.
//
// A [MemberTokenSource] calls Load before it first mints and before every
// refresh or re-mint, Save after each, and Delete when revoked. Each call
// is bounded by [WithStoreTimeout], whatever the store does with its
// context. Errors of a store (and calls that overrun) are logged at
// warning level (see [WithLogger]) and otherwise ignored: the source falls
// back on Circle, so a store outage costs extra mints, not failed calls. A
// cached valid token costs no store call.
//
// A store that stops answering costs a bounded number of goroutines: at
// most 32 calls of one [AuthClient] run at once, abandoned ones included.
// Once a call overruns, the store is taken as down for the whole client:
// every source skips it for about a second, then one call (a probe) is
// let through, and the calls made meanwhile wait for its outcome within
// their own timeout. A probe that never returns blocks the next probes,
// so a store that never answers again costs nothing more; the first probe
// that answers ends the outage, and the sources share the store again.
//
// # Sharing one store between processes
//
// Several processes serving the same members can share a store (package
// github.com/circlekit/headless-go/redisstore has one on Redis). They
// coordinate their refreshes like this:
//
//   - Optimistically, always: before it refreshes or re-mints, a source
//     loads the stored pair, and if that pair's access token is valid and
//     is not the one being replaced (another process refreshed first), it
//     adopts it and calls Circle not at all. Concurrent refreshes of one
//     member in two processes remain possible; they are harmless, because
//     Circle's refresh keeps the refresh token and each refresh only issues
//     one more access token, and the last Save wins.
//   - Strictly, when the store also implements [TokenLocker]: the source
//     holds the member's lock from that Load until its Save, so exactly one
//     process refreshes and the others, waiting on the lock, adopt its
//     result. Within one process a source already lets one refresh run at
//     a time, so a store's lock sees one holder per process at most.
//   - Revocations, when the store also implements [RevocationWatcher]: a
//     revoke in one process is final in all, as each client drops the
//     member's cached pair when the store announces it.
type TokenStore interface {
	// Load returns the pair saved for id; ok is false if there is none.
	Load(ctx context.Context, id Identity) (tok Token, ok bool, err error)
	// Save records tok as id's current pair, replacing any other.
	Save(ctx context.Context, id Identity, tok Token) error
	// Delete forgets id's pair; deleting a missing pair is not an error.
	Delete(ctx context.Context, id Identity) error
}

// A TokenLocker is a [TokenStore] that can lock one member's pair across
// processes; see "Sharing one store between processes" at [TokenStore].
//
// Waiting for the lock is not a failure of the store: another process
// holds it while it mints or refreshes. A source waits for it as long as
// the lock may be held (a holder's mint or refresh, which a source bounds
// at a minute, and the lease of a holder that died: two minutes at most
// in all) and as long as the store keeps answering, in attempts of half
// the store timeout, each with a context that ends then. The callers of
// Token waiting for that source stop waiting when their own context ends. Between two attempts it
// loads the stored pair, and adopts it if the holder has saved a valid
// one. A wait that ends without the lock (the store stopped answering,
// the caller left, the bound passed) is logged; the source then loads,
// mints or refreshes, and saves without the lock.
type TokenLocker interface {
	// Lock blocks until the caller holds id's lock, or ctx ends; it must
	// return soon after ctx ends, since a source tells a busy lock from a
	// frozen store by that. The lock should expire by itself after a while
	// (a lease), so that a process that dies holding it does not block the
	// others for long.
	Lock(ctx context.Context, id Identity) (unlock func(), err error)
}

// A RevocationWatcher is a [TokenStore] shared by several processes that
// tells each of them when any process revoked a member's pair, so that a
// revoke is final everywhere, not only in the process that made it.
//
// [NewAuthClient] calls WatchRevocations once when its store implements
// this interface, and [AuthClient.Close] calls the returned stop. Each
// time fn is called with a member's identity, the client's source of that
// member (if it has one) drops the pair it holds; its next Token goes
// through the store again (and, with a [TokenLocker], at most one process
// mints a new pair). A store announces every Delete: a [MemberTokenSource]
// deletes a pair only after revoking it.
//
// See "Sharing one store between processes" at [TokenStore].
type RevocationWatcher interface {
	// WatchRevocations calls fn with the identity of each member whose
	// pair any process (this one included) deleted from the store, from
	// the time it returns until stop is called. fn is called from the
	// store's own goroutine, must be safe for concurrent use, and returns
	// quickly. An error means no watch was set up; the client then works
	// without it (a revoke elsewhere is seen when the token is rejected).
	WatchRevocations(fn func(Identity)) (stop func(), err error)
}

// DefaultStoreCapacity is how many member token pairs a [MemoryStore] made
// by [NewMemoryStore] holds at most, like [DefaultCacheSize] for token
// sources.
const DefaultStoreCapacity = 10000

// MemoryStore is a [TokenStore] in this process's memory, the default of
// [NewAuthClient]. It holds at most a fixed number of pairs (its capacity,
// [DefaultStoreCapacity] unless made with [NewMemoryStoreSize]): saving a
// pair for one more member drops the pair used least recently, so memory
// stays bounded however many members the process sees. Load and Save count
// as uses. Every operation takes constant time. The zero value is an
// empty store of capacity [DefaultStoreCapacity], ready for use.
//
// A pair whose refresh token has expired is useless (a new pair must be
// minted), so the store an [AuthClient] makes for itself drops it when
// Load finds it, judging by the client's clock (see [WithClock]). A store
// made by [NewMemoryStore] or [NewMemoryStoreSize] does not judge expiry,
// since it cannot know the clock of the clients it serves: it returns the
// pair, and the [MemberTokenSource] loading it mints a new one, which
// replaces it. Either way a pair whose access token alone has expired is
// kept, since its refresh token can renew it.
type MemoryStore struct {
	mu      sync.Mutex
	max     int
	ll      list.List // of *storeEntry; the front is the most recently used
	m       map[Identity]*list.Element
	timeNow func() time.Time
}

// storeEntry is one member's pair in a MemoryStore.
type storeEntry struct {
	id  Identity
	tok Token
}

// NewMemoryStore returns an empty [MemoryStore] that holds at most
// [DefaultStoreCapacity] pairs.
func NewMemoryStore() *MemoryStore {
	s, _ := NewMemoryStoreSize(DefaultStoreCapacity)
	return s
}

// NewMemoryStoreSize returns an empty [MemoryStore] that holds at most
// capacity pairs, dropping the least recently used pair beyond that. It
// returns an error if capacity is less than 1.
func NewMemoryStoreSize(capacity int) (*MemoryStore, error) {
	if capacity < 1 {
		return nil, fmt.Errorf("circle: NewMemoryStoreSize: capacity %d is less than 1", capacity)
	}
	return &MemoryStore{max: capacity, m: make(map[Identity]*list.Element)}, nil
}

// newMemoryStoreClock returns an empty MemoryStore of the given capacity
// (at least 1) that drops, on Load, a pair whose refresh token has expired
// by the clock now.
func newMemoryStoreClock(capacity int, now func() time.Time) *MemoryStore {
	s, err := NewMemoryStoreSize(capacity)
	if err != nil {
		s, _ = NewMemoryStoreSize(DefaultStoreCapacity)
	}
	s.timeNow = now
	return s
}

// init makes the zero MemoryStore usable; s.mu must be held.
func (s *MemoryStore) init() {
	if s.m == nil {
		s.m = make(map[Identity]*list.Element)
	}
	if s.max < 1 {
		s.max = DefaultStoreCapacity
	}
}

// Load returns the pair saved for id, and marks it as the most recently
// used. A store with a clock (see [MemoryStore]) drops a pair whose
// refresh token has expired and returns none.
func (s *MemoryStore) Load(_ context.Context, id Identity) (Token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	e, ok := s.m[id]
	if !ok {
		return Token{}, false, nil
	}
	tok := e.Value.(*storeEntry).tok
	if exp := tok.RefreshTokenExpiresAt; s.timeNow != nil && !exp.IsZero() && !s.timeNow().Before(exp) {
		s.ll.Remove(e)
		delete(s.m, id)
		return Token{}, false, nil
	}
	s.ll.MoveToFront(e)
	return tok, true, nil
}

// Save records tok as id's pair and marks it as the most recently used,
// dropping the least recently used pair if the store is then over its
// capacity.
func (s *MemoryStore) Save(_ context.Context, id Identity, tok Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	if e, ok := s.m[id]; ok {
		e.Value.(*storeEntry).tok = tok
		s.ll.MoveToFront(e)
		return nil
	}
	s.m[id] = s.ll.PushFront(&storeEntry{id: id, tok: tok})
	for s.ll.Len() > s.max {
		last := s.ll.Back()
		s.ll.Remove(last)
		delete(s.m, last.Value.(*storeEntry).id)
	}
	return nil
}

// Delete forgets id's pair.
func (s *MemoryStore) Delete(_ context.Context, id Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[id]; ok {
		s.ll.Remove(e)
		delete(s.m, id)
	}
	return nil
}

// Len returns how many pairs the store holds, counting expired pairs that
// no Load has dropped yet; it is never more than the capacity.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ll.Len()
}

// Cap returns the most pairs the store holds.
func (s *MemoryStore) Cap() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	return s.max
}

// identitiesOf returns the identities whose pairs act for one of members
// (community member ids).
func (s *MemoryStore) identitiesOf(members map[int64]bool) []Identity {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []Identity
	for e := s.ll.Front(); e != nil; e = e.Next() {
		if se := e.Value.(*storeEntry); members[se.tok.CommunityMemberID] {
			ids = append(ids, se.id)
		}
	}
	return ids
}
