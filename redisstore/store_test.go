package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/internal/redistest"
)

// startRedis starts a redis-server for t and returns a client of it.
func startRedis(t testing.TB) (*redistest.Server, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	return srv, rdb
}

func newKey(t testing.TB) []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newStore(t testing.TB, rdb redis.UniversalClient, opts ...Option) *Store {
	t.Helper()
	s, err := New(rdb, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pair returns a token pair with random tokens whose refresh token expires
// in refreshIn.
func pair(refreshIn time.Duration) circle.Token {
	now := time.Now().Truncate(time.Second).UTC()
	tok := circle.Token{
		AccessToken:          "acc-" + rand.Text(),
		RefreshToken:         "ref-" + rand.Text(),
		AccessTokenExpiresAt: now.Add(time.Hour),
		CommunityMemberID:    42,
		CommunityID:          7,
	}
	if refreshIn != 0 {
		tok.RefreshTokenExpiresAt = now.Add(refreshIn)
	}
	return tok
}

// encodings returns s in the common encodings a careless store might use.
func encodings(s string) map[string]string {
	js, _ := json.Marshal(s)
	return map[string]string{
		"raw":           s,
		"base64 std":    base64.StdEncoding.EncodeToString([]byte(s)),
		"base64 raw":    base64.RawStdEncoding.EncodeToString([]byte(s)),
		"base64 url":    base64.URLEncoding.EncodeToString([]byte(s)),
		"base64 rawurl": base64.RawURLEncoding.EncodeToString([]byte(s)),
		"hex":           hex.EncodeToString([]byte(s)),
		"HEX":           strings.ToUpper(hex.EncodeToString([]byte(s))),
		"json":          string(js[1 : len(js)-1]),
	}
}

// dumpRedis returns every key of rdb with its value (for strings) and TTL.
func dumpRedis(t testing.TB, rdb *redis.Client) map[string]struct {
	Value []byte
	TTL   time.Duration
} {
	t.Helper()
	ctx := context.Background()
	out := map[string]struct {
		Value []byte
		TTL   time.Duration
	}{}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		v, err := rdb.Get(ctx, k).Bytes()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatalf("GET %s: %v", k, err)
		}
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		out[k] = struct {
			Value []byte
			TTL   time.Duration
		}{v, ttl}
	}
	return out
}

// assertNoSecretIn fails t if any of secrets, in any common encoding,
// occurs in any key or value of rdb, and if any key lacks a TTL.
func assertRedisClean(t testing.TB, rdb *redis.Client, secrets ...string) {
	t.Helper()
	for k, e := range dumpRedis(t, rdb) {
		if e.TTL < 0 {
			t.Errorf("key %q has no TTL (PTTL %v)", k, e.TTL)
		}
		for _, sec := range secrets {
			for name, enc := range encodings(sec) {
				if strings.Contains(k, enc) || bytes.Contains(e.Value, []byte(enc)) {
					t.Errorf("key %q holds a token (%s)", k, name)
				}
			}
		}
	}
}

func assertNoSecretInError(t *testing.T, err error, secrets ...[]byte) {
	t.Helper()
	if err == nil {
		return
	}
	for _, sec := range secrets {
		for name, enc := range encodings(string(sec)) {
			if strings.Contains(err.Error(), enc) {
				t.Errorf("error %q shows a secret (%s)", err, name)
			}
		}
	}
}

func TestNewValidatesOptions(t *testing.T) {
	_, rdb := startRedis(t)
	key := newKey(t)
	cases := []struct {
		name string
		opts []Option
		want string
	}{
		{"no key", nil, "no encryption key"},
		{"key and plaintext", []Option{WithEncryptionKey(key), WithPlaintext()}, "choose one"},
		{"short key", []Option{WithEncryptionKey(key[:16])}, "16 bytes long"},
		{"nil key", []Option{WithEncryptionKey(nil)}, "0 bytes long"},
		{"long key", []Option{WithEncryptionKey(append(key, key...))}, "64 bytes long"},
		{"no old keys", []Option{WithEncryptionKey(key), WithDecryptionKeys()}, "no key given"},
		{"short old key", []Option{WithEncryptionKey(key), WithDecryptionKeys(key, key[:31])}, "key 2 is 31 bytes"},
		{"empty prefix", []Option{WithPlaintext(), WithPrefix("")}, "empty prefix"},
		{"brace prefix", []Option{WithPlaintext(), WithPrefix("app{1}:")}, "contains '{' or '}'"},
		{"short lease", []Option{WithPlaintext(), WithLockLease(50 * time.Millisecond)}, "shorter than the minimum"},
		{"negative lease", []Option{WithPlaintext(), WithLockLease(-time.Second)}, "shorter than the minimum"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(rdb, c.opts...)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "redisstore: ") {
				t.Fatalf("New: got %v, want an error containing %q", err, c.want)
			}
			assertNoSecretInError(t, err, key)
		})
	}
	if _, err := New(nil, WithPlaintext()); err == nil || !strings.Contains(err.Error(), "nil Redis client") {
		t.Errorf("New(nil): got %v", err)
	}
	for _, opts := range [][]Option{
		{WithPlaintext()},
		{WithEncryptionKey(key)},
		{WithEncryptionKey(key), WithDecryptionKeys(newKey(t), newKey(t)), WithPrefix("app:"), WithLockLease(time.Second), nil},
		{WithPlaintext(), WithDecryptionKeys(key)},
	} {
		if _, err := New(rdb, opts...); err != nil {
			t.Errorf("New with %d valid options: %v", len(opts), err)
		}
	}
	// The store keeps a copy of its key.
	k := newKey(t)
	s := newStore(t, rdb, WithEncryptionKey(k))
	tok := pair(time.Hour)
	if err := s.Save(context.Background(), circle.ByEmail("a@example.com"), tok); err != nil {
		t.Fatal(err)
	}
	clear(k)
	if got, ok, err := s.Load(context.Background(), circle.ByEmail("a@example.com")); err != nil || !ok || got != tok {
		t.Fatalf("Load after the caller cleared its key: %v %v", ok, err)
	}
	// No format verb shows a key.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		out := fmt.Sprintf(verb, s)
		if out != `redisstore.Store{prefix: "circle:"}` {
			t.Errorf("%s of a Store: %s", verb, out)
		}
	}
}

func TestSaveLoadDeleteTTL(t *testing.T) {
	_, rdb := startRedis(t)
	ctx := context.Background()
	s := newStore(t, rdb, WithEncryptionKey(newKey(t)))
	ada, bob := circle.ByEmail("ada@example.com"), circle.ByCommunityMemberID(9)

	if _, ok, err := s.Load(ctx, ada); ok || err != nil {
		t.Fatalf("Load of nothing: ok=%v err=%v", ok, err)
	}
	tok := pair(30 * 24 * time.Hour)
	if err := s.Save(ctx, ada, tok); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Load(ctx, ada)
	if err != nil || !ok || got != tok {
		t.Fatalf("Load: ok=%v err=%v, same pair: %v", ok, err, got == tok)
	}
	ttl := rdb.PTTL(ctx, s.PairKey(ada)).Val()
	if want := time.Until(tok.RefreshTokenExpiresAt); ttl > want+time.Second || ttl < want-5*time.Second {
		t.Errorf("TTL of the pair: %v, want about %v", ttl, want)
	}
	// Unknown refresh expiry: DefaultTTL. Past expiry: one minute.
	unknown := pair(0)
	if err := s.Save(ctx, bob, unknown); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, s.PairKey(bob)).Val(); ttl > DefaultTTL || ttl < DefaultTTL-5*time.Second {
		t.Errorf("TTL with an unknown expiry: %v, want about %v", ttl, DefaultTTL)
	}
	if err := s.Save(ctx, bob, pair(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(ctx, s.PairKey(bob)).Val(); ttl > time.Minute || ttl < 55*time.Second {
		t.Errorf("TTL with a past expiry: %v, want about 1m", ttl)
	}
	if got := s.PairKey(ada); got != "circle:{email:ada@example.com}:pair" {
		t.Errorf("PairKey: %q", got)
	}
	if got := s.LockKey(bob); got != "circle:{community_member_id:9}:lock" {
		t.Errorf("LockKey: %q", got)
	}
	assertRedisClean(t, rdb, tok.AccessToken, tok.RefreshToken, unknown.AccessToken, unknown.RefreshToken)

	// Delete forgets, announces, and deleting nothing is fine.
	sub := rdb.Subscribe(ctx, s.Channel())
	defer func() { _ = sub.Close() }()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, ada); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, ada); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, s.PairKey(ada), s.LockKey(ada)).Val(); n != 0 {
		t.Errorf("after Delete, %d keys of the member are left", n)
	}
	if _, ok, err := s.Load(ctx, ada); ok || err != nil {
		t.Errorf("Load after Delete: ok=%v err=%v", ok, err)
	}
	for range 2 {
		m, err := sub.ReceiveMessage(ctx)
		if err != nil || m.Channel != "circle:revocations" || m.Payload != "email:ada@example.com" {
			t.Fatalf("announcement: %v %v", m, err)
		}
	}
}

func TestSealing(t *testing.T) {
	_, rdb := startRedis(t)
	ctx := context.Background()
	key, oldKey, otherKey := newKey(t), newKey(t), newKey(t)
	s := newStore(t, rdb, WithEncryptionKey(key))
	ada, bob := circle.ByEmail("ada@example.com"), circle.BySSOUserID("u-7")
	tok := pair(time.Hour)
	if err := s.Save(ctx, ada, tok); err != nil {
		t.Fatal(err)
	}
	assertRedisClean(t, rdb, tok.AccessToken, tok.RefreshToken, string(key))
	rec := rdb.Get(ctx, s.PairKey(ada)).Val()

	// Two saves of one pair differ (random nonce).
	if err := s.Save(ctx, ada, tok); err != nil {
		t.Fatal(err)
	}
	if rec == rdb.Get(ctx, s.PairKey(ada)).Val() {
		t.Error("two seals of the same pair are equal: the nonce is not random")
	}

	secrets := [][]byte{[]byte(tok.AccessToken), []byte(tok.RefreshToken), key, oldKey, otherKey}
	loadErr := func(s *Store, id circle.Identity, want string) {
		t.Helper()
		_, ok, err := s.Load(ctx, id)
		if err == nil || ok || !strings.Contains(err.Error(), want) {
			t.Errorf("Load: ok=%v err=%v, want an error containing %q", ok, err, want)
		}
		assertNoSecretInError(t, err, secrets...)
	}
	// A record copied under another member's key does not open.
	rdb.Set(ctx, s.PairKey(bob), rec, time.Minute)
	loadErr(s, bob, "belongs to another member")
	// An altered record does not open.
	bad := []byte(rec)
	bad[len(bad)-1] ^= 1
	rdb.Set(ctx, s.PairKey(bob), bad, time.Minute)
	loadErr(s, bob, "was altered")
	rdb.Set(ctx, s.PairKey(bob), rec[:10], time.Minute)
	loadErr(s, bob, "cut short")
	rdb.Set(ctx, s.PairKey(bob), "\x07junk", time.Minute)
	loadErr(s, bob, "unknown record format")
	// Another key does not open it; a plaintext store does not either.
	loadErr(newStore(t, rdb, WithEncryptionKey(otherKey)), ada, "not given")
	loadErr(newStore(t, rdb, WithPlaintext()), ada, "not given")
	// A sealing store does not read a plaintext record.
	plain := newStore(t, rdb, WithPlaintext())
	if err := plain.Save(ctx, bob, tok); err != nil {
		t.Fatal(err)
	}
	if v := rdb.Get(ctx, s.PairKey(bob)).Val(); !strings.Contains(v, tok.AccessToken) {
		t.Error("WithPlaintext did not store JSON")
	}
	loadErr(s, bob, "not encrypted")

	// Rotation: a store with the new key and the old one as a decryption
	// key opens pairs sealed with either, and seals with the new key.
	old := newStore(t, rdb, WithEncryptionKey(oldKey))
	carol := circle.ByEmail("carol@example.com")
	if err := old.Save(ctx, carol, tok); err != nil {
		t.Fatal(err)
	}
	rotated := newStore(t, rdb, WithEncryptionKey(key), WithDecryptionKeys(oldKey))
	for _, id := range []circle.Identity{ada, carol} {
		if got, ok, err := rotated.Load(ctx, id); err != nil || !ok || got != tok {
			t.Fatalf("rotated store, Load(%v): ok=%v err=%v", id, ok, err)
		}
	}
	if err := rotated.Save(ctx, carol, tok); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Load(ctx, carol); err != nil || !ok {
		t.Errorf("a pair saved by the rotated store does not open with the new key alone: %v", err)
	}
	loadErr(old, carol, "not given")
	// Moving back to plaintext: old keys open.
	back := newStore(t, rdb, WithPlaintext(), WithDecryptionKeys(key))
	if got, ok, err := back.Load(ctx, ada); err != nil || !ok || got != tok {
		t.Errorf("plaintext store with the old key: ok=%v err=%v", ok, err)
	}
}

func TestPrefixesAreSeparate(t *testing.T) {
	_, rdb := startRedis(t)
	ctx := context.Background()
	key := newKey(t)
	a := newStore(t, rdb, WithEncryptionKey(key))
	b := newStore(t, rdb, WithEncryptionKey(key), WithPrefix("other:"))
	ada := circle.ByEmail("ada@example.com")
	if err := a.Save(ctx, ada, pair(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Load(ctx, ada); ok || err != nil {
		t.Errorf("a second prefix sees the first's pair: ok=%v err=%v", ok, err)
	}
	unlock, err := a.Lock(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	c, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	unlockB, err := b.Lock(c, ada)
	if err != nil {
		t.Fatalf("a second prefix shares the first's lock: %v", err)
	}
	unlockB()
	if b.Channel() != "other:revocations" {
		t.Errorf("channel: %q", b.Channel())
	}
}

func TestLock(t *testing.T) {
	_, rdb := startRedis(t)
	ctx := context.Background()
	s := newStore(t, rdb, WithPlaintext(), WithLockLease(300*time.Millisecond))
	other := newStore(t, rdb, WithPlaintext(), WithLockLease(300*time.Millisecond))
	ada := circle.ByEmail("ada@example.com")

	t.Run("exclusive", func(t *testing.T) {
		var holders, most atomic.Int32
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				st := s
				if i%2 == 1 {
					st = other
				}
				c, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				unlock, err := st.Lock(c, ada)
				if err != nil {
					t.Error(err)
					return
				}
				n := holders.Add(1)
				for m := most.Load(); n > m; m = most.Load() {
					if most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(10 * time.Millisecond)
				holders.Add(-1)
				unlock()
				unlock() // twice is fine
			})
		}
		wg.Wait()
		if most.Load() != 1 {
			t.Errorf("%d holders at once", most.Load())
		}
		if rdb.Exists(ctx, s.LockKey(ada)).Val() != 0 {
			t.Error("the lock key is left after every unlock")
		}
	})

	t.Run("waiting honours the context", func(t *testing.T) {
		unlock, err := s.Lock(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		c, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = other.Lock(c, ada)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 250*time.Millisecond {
			t.Errorf("Lock on a held lock: %v after %v", err, time.Since(start))
		}
	})

	t.Run("renewed while held", func(t *testing.T) {
		unlock, err := s.Lock(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		c, cancel := context.WithTimeout(ctx, time.Second) // over 3 leases
		defer cancel()
		if _, err := other.Lock(c, ada); err == nil {
			t.Error("the lease lapsed while its holder lived")
		}
		unlock()
		if rdb.Exists(ctx, s.LockKey(ada)).Val() != 0 {
			t.Error("unlock left the lock key")
		}
	})

	t.Run("a dead holder blocks for one lease at most", func(t *testing.T) {
		// A holder that died: its value, no renewal.
		rdb.Set(ctx, s.LockKey(ada), "dead", 300*time.Millisecond)
		start := time.Now()
		unlock, err := s.Lock(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		if d := time.Since(start); d > 300*time.Millisecond+150*time.Millisecond {
			t.Errorf("took %v to get a lock of lease 300ms", d)
		}
		if ttl := rdb.PTTL(ctx, s.LockKey(ada)).Val(); ttl <= 0 || ttl > 300*time.Millisecond {
			t.Errorf("the lock's TTL: %v", ttl)
		}
	})

	t.Run("unlock releases only its own lock", func(t *testing.T) {
		unlock, err := s.Lock(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		// The lease lapsed (say Redis was unreachable) and another took it.
		rdb.Set(ctx, s.LockKey(ada), "someone-else", time.Minute)
		unlock()
		if v := rdb.Get(ctx, s.LockKey(ada)).Val(); v != "someone-else" {
			t.Errorf("unlock deleted another holder's lock: %q", v)
		}
		rdb.Del(ctx, s.LockKey(ada))
	})

	t.Run("Load after Lock is free", func(t *testing.T) {
		tok := pair(time.Hour)
		if err := s.Save(ctx, ada, tok); err != nil {
			t.Fatal(err)
		}
		unlock, err := s.Lock(ctx, ada)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
		// Changed behind the store's back: the prefetched pair is returned
		// once (the lock keeps the pair current among processes that lock),
		// then Load reads Redis again.
		tok2 := pair(time.Hour)
		if err := other.Save(ctx, ada, tok2); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.Load(ctx, ada); got != tok {
			t.Error("the first Load after Lock is not the pair the lock read")
		}
		if got, _, _ := s.Load(ctx, ada); got != tok2 {
			t.Error("the second Load after Lock did not read Redis")
		}
	})
}

func TestWatchRevocations(t *testing.T) {
	_, rdb := startRedis(t)
	ctx := context.Background()
	s := newStore(t, rdb, WithPlaintext())
	if _, err := s.WatchRevocations(nil); err == nil {
		t.Error("WatchRevocations(nil): no error")
	}
	got := make(chan circle.Identity, 10)
	stop, err := s.WatchRevocations(func(id circle.Identity) { got <- id })
	if err != nil {
		t.Fatal(err)
	}
	ids := []circle.Identity{circle.ByEmail("ada@example.com"), circle.ByCommunityMemberID(42), circle.BySSOUserID("u:7")}
	rdb.Publish(ctx, s.Channel(), "not an identity")
	rdb.Publish(ctx, s.Channel(), "community_member_id:007")
	for _, id := range ids {
		if err := s.Delete(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range ids {
		select {
		case id := <-got:
			if id != want {
				t.Errorf("got %v, want %v", id, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no announcement of %v", want)
		}
	}
	t0 := time.Now()
	stop()
	stop()
	t.Logf("stop took %v", time.Since(t0))
	if err := s.Delete(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-got:
		t.Errorf("announcement after stop: %v", id)
	case <-time.After(100 * time.Millisecond):
	}
}
