package redisstore_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/internal/redistest"
	"github.com/circlekit/headless-go/redisstore"
)

// The benchmarks come in pairs measured in the same run: impl=memory (the
// baseline: circle's MemoryStore) and impl=redis (a Store on a local
// redis-server). benchstat gives the ratios:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./redisstore/ > bench.out
//	go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da -col /impl bench.out

// benchStores returns the two stores to compare.
func benchStores(b *testing.B) []struct {
	name  string
	store circle.TokenStore
} {
	r := redistest.Start(b)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr(), ContextTimeoutEnabled: true})
	b.Cleanup(func() { _ = rdb.Close() })
	key := make([]byte, redisstore.KeySize)
	_, _ = rand.Read(key)
	rs, err := redisstore.New(rdb, redisstore.WithEncryptionKey(key))
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name  string
		store circle.TokenStore
	}{{"impl=memory", circle.NewMemoryStore()}, {"impl=redis", rs}}
}

// BenchmarkToken: Token on a valid cached token. The store is not asked:
// both should cost the same.
func BenchmarkToken(b *testing.B) {
	srv := circletest.Start(b)
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	ctx := context.Background()
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()),
				circle.WithClock(srv.Now), circle.WithTokenStore(st.store))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = auth.Close() }()
			ts := auth.TokenSource(circle.ByEmail(ada.Email))
			if _, err := ts.Token(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ts.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRefresh: one refresh of an expired access token, through the
// Auth API of circletest on loopback, with the pair saved in the store
// (and, for Redis, the member's lock taken and released).
func BenchmarkRefresh(b *testing.B) {
	srv := circletest.Start(b, circletest.WithRefreshTokenTTL(100*365*24*time.Hour))
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	ctx := context.Background()
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			// No floor between two refreshes: the fake clock moves an hour
			// each iteration, the real one microseconds.
			auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()),
				circle.WithClock(srv.Now), circle.WithTokenStore(st.store), circle.WithMinRefreshInterval(0))
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = auth.Close() }()
			ts := auth.TokenSource(circle.ByEmail(ada.Email))
			if _, err := ts.Token(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				srv.Advance(time.Hour)
				if _, err := ts.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
