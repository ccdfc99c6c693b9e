package circle

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// leaseStore is a TokenStore and TokenLocker (the user's plug-in point) as
// another process shares it: a MemoryStore, and one lock that Lock waits
// for until it is free or its context ends.
type leaseStore struct {
	mem   *MemoryStore
	mu    sync.Mutex
	held  bool
	free  chan struct{} // closed when the lock is released
	locks atomic.Int64
}

func (s *leaseStore) Load(ctx context.Context, id Identity) (Token, bool, error) {
	return s.mem.Load(ctx, id)
}
func (s *leaseStore) Save(ctx context.Context, id Identity, tok Token) error {
	return s.mem.Save(ctx, id, tok)
}
func (s *leaseStore) Delete(ctx context.Context, id Identity) error { return s.mem.Delete(ctx, id) }

func (s *leaseStore) Lock(ctx context.Context, _ Identity) (func(), error) {
	for {
		s.mu.Lock()
		if !s.held {
			s.held, s.free = true, make(chan struct{})
			s.mu.Unlock()
			s.locks.Add(1)
			return sync.OnceFunc(func() {
				s.mu.Lock()
				s.held = false
				close(s.free)
				s.mu.Unlock()
			}), nil
		}
		free := s.free
		s.mu.Unlock()
		select {
		case <-free:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// TestLockWaitIsNotAStoreFailure: another process holds the member's lock
// for 3 store timeouts. Alive, it then saves the pair it minted: the
// source, which waited, adopts it (no mint of its own). Dead (the lease
// lapses, no pair saved), the source mints once and saves its pair, and
// the store is not taken as down.
func TestLockWaitIsNotAStoreFailure(t *testing.T) {
	t.Parallel()
	// Long enough that a loaded machine does not make a call overrun.
	const storeTimeout = 500 * time.Millisecond
	for _, alive := range []bool{true, false} {
		ls := &leaseStore{mem: NewMemoryStore()}
		e := newEnv(t, WithTokenStore(ls), WithStoreTimeout(storeTimeout))
		id := ByEmail("wait@example.com")
		release, err := ls.Lock(t.Context(), id) // the other process
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		toks := make([]Token, 4)
		for i := range toks {
			wg.Go(func() {
				var err error
				if toks[i], err = e.auth.TokenSource(id).Token(t.Context()); err != nil {
					t.Error(err)
				}
			})
		}
		time.Sleep(3 * storeTimeout)
		var theirs Token
		if alive {
			other, err := NewAuthClient(testAppToken, WithBaseURL(e.URL), WithClock(e.clock.Now))
			if err != nil {
				t.Fatal(err)
			}
			if theirs, err = other.TokenSource(id).Token(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := ls.mem.Save(t.Context(), id, theirs); err != nil {
				t.Fatal(err)
			}
		}
		release()
		wg.Wait()
		stored, ok, _ := ls.mem.Load(t.Context(), id)
		t.Logf("holder alive %v: %d mints in all, the source's token is the holder's %v, pair stored %v, locks taken %d, store down %v",
			alive, e.mints.Load(), toks[0] == theirs, ok, ls.locks.Load(), e.auth.core.stores.isDown())
		if e.mints.Load() != 1 || !ok || stored != toks[0] || e.auth.core.stores.isDown() {
			t.Log(e.scan.logs.String())
			t.Errorf("holder alive %v: %d mints, pair stored %v (the source's: %v), store down %v; want 1 mint, the source's pair stored, store up",
				alive, e.mints.Load(), ok, stored == toks[0], e.auth.core.stores.isDown())
		}
		for i := range toks {
			if toks[i] != toks[0] || alive && toks[i] != theirs {
				t.Errorf("holder alive %v: caller %d got another token", alive, i)
			}
		}
	}
}

// frozenLocker is a leaseStore whose Lock, once frozen, blocks and ignores
// its context, as a store on a frozen server does.
type frozenLocker struct {
	leaseStore
	frozen chan struct{}
}

func (s *frozenLocker) Lock(context.Context, Identity) (func(), error) {
	<-s.frozen
	return func() {}, nil
}

// TestFrozenLockIsAStoreFailure: a Lock that ignores its context and
// never returns is a store that stopped answering, not a busy lock: the
// source goes on without the store at once (about a store timeout plus a
// mint; the test allows 2 s for a loaded machine, where the lock's own
// bound is minutes) and the store is taken as down.
func TestFrozenLockIsAStoreFailure(t *testing.T) {
	t.Parallel()
	const storeTimeout = 50 * time.Millisecond
	fl := &frozenLocker{leaseStore: leaseStore{mem: NewMemoryStore()}, frozen: make(chan struct{})}
	t.Cleanup(func() { close(fl.frozen) })
	e := newEnv(t, WithTokenStore(fl), WithStoreTimeout(storeTimeout))
	t0 := time.Now()
	if _, err := e.auth.TokenSource(ByEmail("frozen@example.com")).Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	t.Logf("frozen Lock: Token in %v (store timeout %v), store down %v", took.Round(time.Millisecond), storeTimeout, e.auth.core.stores.isDown())
	if !e.auth.core.stores.isDown() || took > 2*time.Second {
		t.Errorf("frozen Lock: Token took %v, store down %v; want well under the lock's bound, and down", took, e.auth.core.stores.isDown())
	}
}
