package circle

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// frozenStore is a TokenStore (the user's plug-in point) whose calls block
// while it is frozen, ignoring their context, as a store on a frozen
// server without timeouts does; thawed, it answers from a MemoryStore.
type frozenStore struct {
	mem     *MemoryStore
	thawed  chan struct{}
	thaw    func()
	entered atomic.Int64 // calls made
	inside  atomic.Int64 // calls not returned
}

func newFrozenStore() *frozenStore {
	s := &frozenStore{mem: NewMemoryStore(), thawed: make(chan struct{})}
	s.thaw = sync.OnceFunc(func() { close(s.thawed) })
	return s
}

func (s *frozenStore) block() {
	s.entered.Add(1)
	s.inside.Add(1)
	defer s.inside.Add(-1)
	<-s.thawed // whatever the context says
}

func (s *frozenStore) Load(ctx context.Context, id Identity) (Token, bool, error) {
	s.block()
	return s.mem.Load(ctx, id)
}

func (s *frozenStore) Save(ctx context.Context, id Identity, tok Token) error {
	s.block()
	return s.mem.Save(ctx, id, tok)
}

func (s *frozenStore) Delete(ctx context.Context, id Identity) error {
	s.block()
	return s.mem.Delete(ctx, id)
}

// settledGoroutines returns the number of goroutines once it has stopped
// falling (connections closing, handlers ending), within 3 s.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 30 {
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}

// tokensAtOnce asks for the first token of each member at once and
// returns the slowest call; every call must succeed.
func tokensAtOnce(t *testing.T, e *env, ids []Identity) time.Duration {
	t.Helper()
	var slowest atomic.Int64
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			t0 := time.Now()
			_, err := e.auth.TokenSource(id).Token(ctx)
			d := int64(time.Since(t0))
			for {
				old := slowest.Load()
				if d <= old || slowest.CompareAndSwap(old, d) {
					break
				}
			}
			if err != nil {
				t.Errorf("%v: %v", id, err)
			}
		})
	}
	wg.Wait()
	return time.Duration(slowest.Load())
}

func memberIDs(prefix string, n int) []Identity {
	ids := make([]Identity, n)
	for i := range ids {
		ids[i] = ByEmail(fmt.Sprintf("%s%04d@example.com", prefix, i))
	}
	return ids
}

// TestFrozenStoreCostsBoundedGoroutines: a store whose calls never return
// (and ignore their context). 500 members' first Token calls at once,
// then 500 more: every call succeeds within about the store timeout, and
// the goroutines left blocked in the store stay under a constant (the
// client's cap on store calls in progress), whatever the number of
// members.
func TestFrozenStoreCostsBoundedGoroutines(t *testing.T) {
	const storeTimeout = 100 * time.Millisecond
	fs := newFrozenStore()
	t.Cleanup(fs.thaw) // let the blocked calls end with the test
	e := newEnv(t, WithTokenStore(fs), WithStoreTimeout(storeTimeout))
	before := settledGoroutines()

	slowest := tokensAtOnce(t, e, memberIDs("first", 500))
	stuck1 := fs.inside.Load()
	slowest = max(slowest, tokensAtOnce(t, e, memberIDs("second", 500)))
	stuck2 := fs.inside.Load()

	e.srv.CloseClientConnections()
	after := settledGoroutines()
	// For scale: the same 500 first calls with the default store, which
	// cannot block (on a loaded machine, 500 mints at once take a while).
	base := tokensAtOnce(t, newEnv(t), memberIDs("base", 500))
	t.Logf("figure: store that never returns, store timeout %v: 1000 members' first Token calls (500 at once, twice) all succeeded, slowest %v (%v with the default store); %d mints; store calls made %d, blocked %d after 500 members and %d after 1000; goroutines %d before, %d after (+%d)",
		storeTimeout, slowest.Round(time.Millisecond), base.Round(time.Millisecond), e.mints.Load(), fs.entered.Load(), stuck1, stuck2, before, after, after-before)
	if stuck2 > maxStoreCalls+1 || stuck2 != stuck1 {
		t.Errorf("%d then %d calls blocked in the store; want at most %d, not growing with the members", stuck1, stuck2, maxStoreCalls+1)
	}
	// The blocked calls, and a margin for the test's own goroutines.
	if grown := after - before; grown > maxStoreCalls+1+16 {
		t.Errorf("goroutines grew by %d (%d to %d); want at most %d", grown, before, after, maxStoreCalls+1+16)
	}
	// Generous: 500 mints at once on a shared machine vary a lot.
	if slowest > 3*base+30*storeTimeout {
		t.Errorf("the slowest Token took %v, more than 3 x the %v of the default store plus 30 store timeouts", slowest, base)
	}
	if e.mints.Load() != 1000 {
		t.Errorf("%d mints for 1000 members, want 1000", e.mints.Load())
	}
}

// TestStoreOutageIsProbedOneCallAtATime: once a call overruns, every
// source skips the store; after the backoff one call at a time probes it
// (a probe that never returns blocks further probes: one in flight at
// most); when the probe answers, the sources use the store again.
func TestStoreOutageIsProbedOneCallAtATime(t *testing.T) {
	t.Parallel()
	const storeTimeout = 100 * time.Millisecond
	fs := newFrozenStore()
	t.Cleanup(fs.thaw)
	e := newEnv(t, WithTokenStore(fs), WithStoreTimeout(storeTimeout))
	gate := e.auth.core.stores
	// A backoff long enough that 50 mints fit in it on a loaded machine
	// (it is cut by up to a quarter, at random).
	const backoff = 2 * time.Second
	gate.backoff = backoff

	// One member: its Load overruns; the store is down, its Save skipped.
	tokensAtOnce(t, e, memberIDs("a", 1))
	phases := []int64{fs.entered.Load()}
	if n := fs.entered.Load(); n != 1 || !gate.isDown() {
		t.Fatalf("after one overrun: %d store calls made, store down %v; want 1, true", n, gate.isDown())
	}
	// Within the backoff, 50 members touch the store not at all.
	tokensAtOnce(t, e, memberIDs("b", 50))
	phases = append(phases, fs.entered.Load())
	if n := fs.entered.Load(); n != 1 {
		t.Errorf("during the backoff: %d store calls made, want 1 (none more)", n)
	}
	// After it, one of 50 members probes; the probe blocks too.
	time.Sleep(backoff + 100*time.Millisecond)
	tokensAtOnce(t, e, memberIDs("c", 50))
	phases = append(phases, fs.entered.Load())
	if n := fs.entered.Load(); n != 2 {
		t.Errorf("after the backoff: %d store calls made, want 2 (one probe)", n)
	}
	// While that probe has not returned, no other is made, backoff or not.
	time.Sleep(backoff + 100*time.Millisecond)
	tokensAtOnce(t, e, memberIDs("d", 50))
	phases = append(phases, fs.entered.Load())
	if n := fs.entered.Load(); n != 2 {
		t.Errorf("with a probe in flight: %d store calls made, want 2", n)
	}
	// The store answers again: the probe returns, and the store is used.
	fs.thaw()
	for i := 0; gate.isDown(); i++ {
		if i == 300 {
			t.Fatal("the store is still taken as down 3 s after the probe answered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	id := memberIDs("e", 1)
	tokensAtOnce(t, e, id)
	if _, ok, _ := fs.mem.Load(t.Context(), id[0]); !ok {
		t.Error("the store answers again, but the new pair was not saved in it")
	}
	t.Logf("figure: store calls made in all after one member (1 overrun), 50 in the backoff, 50 after it (1 probe, blocked), 50 with that probe blocked: %v; after the store answered, one more member: %d calls, its pair saved; %d mints",
		phases, fs.entered.Load(), e.mints.Load())
}

// isDown reports whether the store is taken as down.
func (g *storeGate) isDown() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.down
}
