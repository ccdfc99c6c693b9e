package circle

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func storeToken(i int) Token {
	return Token{AccessToken: fmt.Sprintf("access-%d", i), RefreshToken: fmt.Sprintf("refresh-%d", i), CommunityMemberID: int64(i)}
}

func mustStore(t testing.TB, capacity int) *MemoryStore {
	t.Helper()
	s, err := NewMemoryStoreSize(capacity)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func has(t *testing.T, s *MemoryStore, id Identity) bool {
	t.Helper()
	_, ok, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// mustSave and mustDelete call Save and Delete of s, failing the test on
// an error (a MemoryStore returns none).
func mustSave(t *testing.T, s *MemoryStore, id Identity, tok Token) {
	t.Helper()
	if err := s.Save(context.Background(), id, tok); err != nil {
		t.Fatalf("Save %v: %v", id, err)
	}
}

func mustDelete(t *testing.T, s *MemoryStore, id Identity) {
	t.Helper()
	if err := s.Delete(context.Background(), id); err != nil {
		t.Fatalf("Delete %v: %v", id, err)
	}
}

// checkStore checks that the list and the map of s agree.
func checkStore(t *testing.T, s *MemoryStore) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ll.Len() != len(s.m) || s.ll.Len() > s.max {
		t.Fatalf("list holds %d, map %d, capacity %d", s.ll.Len(), len(s.m), s.max)
	}
	for e := s.ll.Front(); e != nil; e = e.Next() {
		if s.m[e.Value.(*storeEntry).id] != e {
			t.Fatalf("list entry %v is not in the map", e.Value.(*storeEntry).id)
		}
	}
}

func TestNewMemoryStoreSizeRejectsCapacityBelowOne(t *testing.T) {
	t.Parallel()
	for _, c := range []int{0, -1} {
		if s, err := NewMemoryStoreSize(c); err == nil || s != nil || !strings.Contains(err.Error(), "capacity") {
			t.Errorf("NewMemoryStoreSize(%d) = %v, %v; want an error about the capacity", c, s, err)
		}
	}
	if c := NewMemoryStore().Cap(); c != DefaultStoreCapacity {
		t.Errorf("NewMemoryStore capacity %d, want %d", c, DefaultStoreCapacity)
	}
	var zero MemoryStore
	ctx := context.Background()
	if err := zero.Save(ctx, ByCommunityMemberID(1), storeToken(1)); err != nil || zero.Len() != 1 || zero.Cap() != DefaultStoreCapacity {
		t.Errorf("zero MemoryStore: Save %v, Len %d, Cap %d", err, zero.Len(), zero.Cap())
	}
}

// A store of capacity 2 holding a and b, after a use of a, drops b for c:
// least recently used, where first in first out would drop a.
func TestMemoryStoreDropsTheLeastRecentlyUsedPair(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, c := ByEmail("a@example.com"), ByEmail("b@example.com"), ByEmail("c@example.com")
	for _, use := range []struct {
		name string
		use  func(s *MemoryStore)
	}{
		{"Load", func(s *MemoryStore) {
			if _, _, err := s.Load(ctx, a); err != nil {
				t.Fatal(err)
			}
		}},
		{"Save", func(s *MemoryStore) { mustSave(t, s, a, storeToken(11)) }},
	} {
		s := mustStore(t, 2)
		mustSave(t, s, a, storeToken(1))
		mustSave(t, s, b, storeToken(2))
		use.use(s)
		mustSave(t, s, c, storeToken(3))
		if !has(t, s, a) || has(t, s, b) || !has(t, s, c) || s.Len() != 2 {
			t.Errorf("after a %s of a: a %v, b %v, c %v, Len %d; want a and c kept, b dropped",
				use.name, has(t, s, a), has(t, s, b), has(t, s, c), s.Len())
		}
		checkStore(t, s)
	}
	// Saving again replaces the pair, not adds one.
	s := mustStore(t, 2)
	mustSave(t, s, a, storeToken(1))
	mustSave(t, s, a, storeToken(2))
	if tok, _, _ := s.Load(ctx, a); tok.AccessToken != "access-2" || s.Len() != 1 {
		t.Errorf("after two saves of a: %v, Len %d", tok, s.Len())
	}
	// Delete frees the slot.
	mustSave(t, s, b, storeToken(3))
	mustDelete(t, s, a)
	mustDelete(t, s, a)
	mustSave(t, s, c, storeToken(4))
	if !has(t, s, b) || !has(t, s, c) || s.Len() != 2 {
		t.Errorf("after deleting a: b %v, c %v, Len %d", has(t, s, b), has(t, s, c), s.Len())
	}
	checkStore(t, s)
}

func TestMemoryStoreStaysWithinItsCapacity(t *testing.T) {
	t.Parallel()
	s := mustStore(t, 100)
	for i := 1; i <= 1000; i++ {
		mustSave(t, s, ByCommunityMemberID(int64(i)), storeToken(i))
		if s.Len() > 100 {
			t.Fatalf("Len %d after %d saves, capacity 100", s.Len(), i)
		}
	}
	// The last 100 are kept, the others dropped.
	for i := 1; i <= 1000; i++ {
		if got, want := has(t, s, ByCommunityMemberID(int64(i))), i > 900; got != want {
			t.Fatalf("member %d kept: %v, want %v", i, got, want)
		}
	}
	checkStore(t, s)
}

// A pair whose refresh token expired is dropped on Load; one whose access
// token alone expired is kept, because it can still be refreshed.
func TestMemoryStoreDropsPairsWithAnExpiredRefreshToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s := newMemoryStoreClock(10, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	stale, fresh, unknown := ByEmail("stale@example.com"), ByEmail("fresh@example.com"), ByEmail("unknown@example.com")
	tok := storeToken(1)
	tok.AccessTokenExpiresAt = now.Add(-time.Hour)
	tok.RefreshTokenExpiresAt = now.Add(time.Hour)
	mustSave(t, s, fresh, tok)
	tok.RefreshTokenExpiresAt = now // expires now: no longer usable
	mustSave(t, s, stale, tok)
	mustSave(t, s, unknown, storeToken(2)) // no expiry known: kept
	if got, ok, err := s.Load(ctx, stale); ok || err != nil || got != (Token{}) {
		t.Errorf("Load of an expired pair = %v, %v, %v; want none", got, ok, err)
	}
	if s.Len() != 2 {
		t.Errorf("Len %d after loading the expired pair, want 2", s.Len())
	}
	if got, ok, _ := s.Load(ctx, fresh); !ok || got.AccessToken != "access-1" {
		t.Errorf("pair with an expired access token but a live refresh token: %v, %v; want it", got, ok)
	}
	if !has(t, s, unknown) {
		t.Error("pair with no known expiry was dropped")
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if has(t, s, fresh) || s.Len() != 1 {
		t.Errorf("refresh token now expired: still loaded, Len %d", s.Len())
	}
	checkStore(t, s)

	// A store without a clock leaves expiry to its caller, whose clock
	// (WithClock) it cannot know.
	s = mustStore(t, 10)
	mustSave(t, s, stale, tok)
	if got, ok, _ := s.Load(ctx, stale); !ok || got != tok {
		t.Errorf("store without a clock: Load = %v, %v; want the pair", got, ok)
	}
}

func TestMemoryStoreConcurrentUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := mustStore(t, 50)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				id := ByCommunityMemberID(int64(1 + (g*7919+i)%200))
				switch i % 4 {
				case 0, 1:
					if err := s.Save(ctx, id, storeToken(i)); err != nil {
						t.Errorf("Save: %v", err)
						return
					}
				case 2:
					if tok, ok, _ := s.Load(ctx, id); ok && tok.CommunityMemberID < 0 {
						t.Error("bad token")
					}
				case 3:
					if err := s.Delete(ctx, id); err != nil {
						t.Errorf("Delete: %v", err)
						return
					}
				}
				if n := s.Len(); n > 50 {
					t.Errorf("Len %d over capacity 50", n)
					return
				}
			}
		})
	}
	wg.Wait()
	checkStore(t, s)
}

// 200,000 distinct members through a store with default settings leave a
// heap bounded by the store's capacity, not by the number of members.
func TestMemoryStoreHeapIsBoundedByCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("saves 200,000 pairs")
	}
	const members = 200_000
	ctx := context.Background()
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	// Tokens about the size of Circle's JWTs, distinct for each member.
	pad := strings.Repeat("x", 300)
	before := heap()
	s := NewMemoryStore()
	for i := range members {
		tok := Token{
			AccessToken:       fmt.Sprintf("eyJ.access.%d.%s", i, pad),
			RefreshToken:      fmt.Sprintf("eyJ.refresh.%d.%s", i, pad),
			CommunityMemberID: int64(i),
		}
		if err := s.Save(ctx, ByEmail(fmt.Sprintf("member-%d@example.com", i)), tok); err != nil {
			t.Fatal(err)
		}
	}
	after := heap()
	runtime.KeepAlive(s)
	grown := int64(after) - int64(before)
	t.Logf("heap grew by %.1f MB for %d members (store of capacity %d holds %d pairs)",
		float64(grown)/1e6, members, DefaultStoreCapacity, s.Len())
	if s.Len() > DefaultStoreCapacity {
		t.Errorf("store holds %d pairs, capacity %d", s.Len(), DefaultStoreCapacity)
	}
	// About 1 KB a pair: the capacity's worth is about 10 MB; every
	// member's would be about 200 MB.
	if limit := int64(DefaultStoreCapacity) * 2048; grown > limit {
		t.Errorf("heap grew by %d bytes for %d members; want at most %d (capacity %d)", grown, members, limit, DefaultStoreCapacity)
	}
}
