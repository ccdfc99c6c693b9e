package circle

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCacheEvictionCostsNoMint: 300 members through a cache of 8 sources,
// 16 goroutines asking in random orders while the garbage collector runs:
// sources are dropped from the cache while callers still hold them (in a
// mint), and collected once nobody does. Exactly one mint per member, and
// one access token per member: one flight per member in the process
// whatever the cache drops, and a source made after its member's source
// was collected finds the stored pair.
func TestCacheEvictionCostsNoMint(t *testing.T) {
	t.Parallel()
	const members, goroutines, rounds = 300, 16, 3
	e := newEnv(t, WithCacheSize(8))
	e.mintDelay = 2 * time.Millisecond // wider windows for a second mint
	ids := make([]Identity, members)
	for i := range ids {
		ids[i] = ByEmail(fmt.Sprintf("m%03d@example.com", i))
	}
	stop := make(chan struct{})
	var gcs atomic.Int64
	go func() { // collect dropped sources all along
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.GC()
				gcs.Add(1)
			}
		}
	}()
	var mu sync.Mutex
	seen := make([]map[string]bool, members)
	for i := range seen {
		seen[i] = map[string]bool{}
	}
	var calls atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range rounds {
				for _, i := range rng.Perm(members) {
					tok, err := e.auth.TokenSource(ids[i]).Token(t.Context())
					calls.Add(1)
					if err != nil {
						t.Errorf("%v: %v", ids[i], err)
						return
					}
					mu.Lock()
					seen[i][tok.AccessToken] = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	tokens := 0
	for i := range seen {
		tokens += len(seen[i])
		if len(seen[i]) != 1 {
			t.Errorf("%v: %d access tokens, want 1", ids[i], len(seen[i]))
		}
	}
	mints := e.mints.Load()
	t.Logf("figure: %d members, WithCacheSize(8), %d goroutines in random orders, %d garbage collections: %d Token calls in %v, %d mints, %d access tokens",
		members, goroutines, gcs.Load(), calls.Load(), time.Since(start).Round(time.Millisecond), mints, tokens)
	if mints != members {
		t.Errorf("%d mints for %d members, want exactly one each", mints, members)
	}
}

// TestSourcesInUseAreBoundedByTheCache: 100,000 members' sources through a
// cache of 100, none kept by the caller: once the garbage collector has
// run, the client remembers about as many sources as its cache holds, not
// one per member seen.
func TestSourcesInUseAreBoundedByTheCache(t *testing.T) {
	t.Parallel()
	auth, err := NewAuthClient(testAppToken, WithCacheSize(100))
	if err != nil {
		t.Fatal(err)
	}
	const members = 100_000
	for i := range members {
		auth.TokenSource(ByCommunityMemberID(int64(i + 1)))
	}
	c := auth.core.sources
	live := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.live)
	}
	before := live()
	for i := 0; live() > 2*100; i++ {
		if i == 500 {
			t.Fatalf("%d sources remembered 5 s after %d members went through a cache of 100", live(), members)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d members through a cache of 100: %d sources remembered before the garbage collector ran, %d after", members, before, live())
}
