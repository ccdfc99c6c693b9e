package circle

import (
	"context"
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
// refresh or re-mint, Save after each, and Delete when revoked. Errors of a
// store are logged at warning level (see [WithLogger]) and otherwise
// ignored: the source falls back on Circle, so a store outage costs extra
// mints, not failed calls.
//
// # Sharing one store between processes
//
// Several processes serving the same members can share a store (a later
// version of this package adds one backed by a server). They coordinate
// their refreshes like this:
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
type TokenLocker interface {
	// Lock blocks until the caller holds id's lock, or ctx ends. The lock
	// should expire by itself after a while (a lease), so that a process
	// that dies holding it does not block the others for long.
	Lock(ctx context.Context, id Identity) (unlock func(), err error)
}

// MemoryStore is a [TokenStore] in this process's memory, the default of
// [NewAuthClient]. Every 1024 saves it drops the pairs whose refresh token
// has expired, so it does not grow with members long gone. The zero value
// is not ready for use; call [NewMemoryStore].
type MemoryStore struct {
	mu      sync.RWMutex
	m       map[Identity]Token
	saves   int
	timeNow func() time.Time
}

// NewMemoryStore returns an empty [MemoryStore].
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{m: make(map[Identity]Token), timeNow: time.Now}
}

// Load returns the pair saved for id.
func (s *MemoryStore) Load(_ context.Context, id Identity) (Token, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.m[id]
	return t, ok, nil
}

// Save records tok as id's pair.
func (s *MemoryStore) Save(_ context.Context, id Identity, tok Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[id] = tok
	s.saves++
	if s.saves%1024 == 0 {
		now := s.timeNow()
		for k, t := range s.m {
			if !t.RefreshTokenExpiresAt.IsZero() && !now.Before(t.RefreshTokenExpiresAt) {
				delete(s.m, k)
			}
		}
	}
	return nil
}

// Delete forgets id's pair.
func (s *MemoryStore) Delete(_ context.Context, id Identity) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

// Len returns how many pairs the store holds.
func (s *MemoryStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}
