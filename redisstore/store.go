// Package redisstore keeps members' token pairs in Redis, so that several
// replicas of a community website share one pair per member: one mint per
// member for all of them, one refresh per access-token lifetime, and a
// revoke in one replica final in all.
//
// A [*Store] is a [circle.TokenStore] (pairs sealed with AES-256-GCM, keys
// that expire with the refresh token), a [circle.TokenLocker] (a leased
// lock per member, renewed while held) and a [circle.RevocationWatcher]
// (revocations announced on a pub/sub channel). Give it to
// [circle.NewAuthClient] with [circle.WithTokenStore]:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
//	store, err := redisstore.New(rdb, redisstore.WithEncryptionKey(key)) // 32 secret random bytes
//	...
//	auth, err := circle.NewAuthClient(appToken, circle.WithTokenStore(store))
//	defer auth.Close() // ends the watch for revocations
//
// # Keys
//
// For a member whose [circle.Identity] String is id, with prefix p
// (default "circle:"); an email is in lower case, without white space
// around it, since circle compares emails as Circle does:
//
//	p{id}:pair   the sealed pair; expires when the refresh token does
//	             (DefaultTTL when that is unknown)
//	p{id}:lock   the member's lock while a process holds it; expires
//	             after the lease unless its holder renews it
//	prevocations the channel on which every Delete is announced, with id
//
// Both keys of a member share the hash tag {id}, so the store's scripts
// work on a Redis Cluster. Member identities (emails, for example) appear
// in key names and on the channel; tokens never do, and never appear in
// an error or a log line.
//
// # Cost
//
// A cached valid token costs no Redis call. A refresh (or mint) costs 3
// round trips: lock (one script that takes the lock and reads the pair),
// save (SET with PX) and unlock (a compare-and-delete script); the
// source's Load after Lock is answered from what the lock read. A process
// that waits for another's refresh polls the lock (every 5 ms at first,
// then up to every 100 ms) and adopts the pair it reads with the lock: no
// call to Circle. A Delete costs one round trip (DEL and PUBLISH
// pipelined).
//
// # Waiting for another process
//
// A process that waits for a member's lock waits as long as the lock is
// held and Redis answers: while the holder mints or refreshes (however
// long Circle takes), or, when the holder died, until its lease lapses.
// That wait is not bounded by the source's store timeout: the source
// calls Lock in attempts of half a store timeout and loads the pair
// between them (adopting it as soon as the holder has saved it), so it
// never mints beside a living holder, and after a dead holder's lease it
// mints once and saves the pair for the others.
//
// # When Redis is down
//
// Each call fails (or, with a frozen Redis, is abandoned by the source
// after its store timeout, see [circle.WithStoreTimeout]); the source logs
// it and goes on with Circle alone: Token keeps working, at the cost of a
// mint or refresh per process instead of one for all. After a call
// overruns, every source of the client skips Redis and probes it once a
// second; when it answers the replicas share again. A lock that a frozen
// Redis took after its client gave up (a command it ran once thawed)
// holds that member for one lease. Revocations announced while a process's
// subscription is down are lost to it: that process hands out the revoked
// access token until its next refresh or until the Member API rejects it
// (then the client refreshes and replays the call).
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/circlekit/headless-go/circle"
)

// Store is a [circle.TokenStore], [circle.TokenLocker] and
// [circle.RevocationWatcher] on Redis; see the package documentation. Make
// one with [New]. A Store is safe for concurrent use; it does not own its
// Redis client, which the caller closes.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	channel string
	lease   time.Duration
	sealer  *sealer

	mu   sync.Mutex
	held map[string]*lease // the locks this store holds, by identity string
}

var (
	_ circle.TokenStore        = (*Store)(nil)
	_ circle.TokenLocker       = (*Store)(nil)
	_ circle.RevocationWatcher = (*Store)(nil)
)

// New returns a store that keeps pairs in the Redis database of client
// (any [redis.UniversalClient]: a single node, a sentinel failover client
// or a cluster client). New makes no call to Redis.
//
// Give exactly one of [WithEncryptionKey] and [WithPlaintext]. Enable
// ContextTimeoutEnabled in the client's options so that go-redis honours
// the deadlines the token sources put on each store call.
func New(client redis.UniversalClient, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: New: nil Redis client")
	}
	c := config{prefix: DefaultPrefix, lease: DefaultLockLease}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	switch {
	case c.key != nil && c.plaintext:
		return nil, errors.New("redisstore: New: both WithEncryptionKey and WithPlaintext were given; choose one")
	case c.key == nil && !c.plaintext:
		return nil, errors.New("redisstore: New: no encryption key: give WithEncryptionKey (32 secret random bytes), or WithPlaintext to store member tokens unencrypted")
	}
	sl, err := newSealer(c.key, c.old)
	if err != nil {
		return nil, err
	}
	return &Store{
		rdb:     client,
		prefix:  c.prefix,
		channel: c.prefix + "revocations",
		lease:   c.lease,
		sealer:  sl,
		held:    make(map[string]*lease),
	}, nil
}

// PairKey returns the Redis key that holds id's pair.
func (s *Store) PairKey(id circle.Identity) string { return s.prefix + "{" + id.String() + "}:pair" }

// LockKey returns the Redis key of id's lock.
func (s *Store) LockKey(id circle.Identity) string { return s.prefix + "{" + id.String() + "}:lock" }

// Channel returns the pub/sub channel on which the store announces each
// Delete, with the member's identity string as the message.
func (s *Store) Channel() string { return s.channel }

// Load returns the pair saved for id. Right after [Store.Lock], it
// returns the pair the lock read (the lock keeps it current) without
// another round trip.
func (s *Store) Load(ctx context.Context, id circle.Identity) (circle.Token, bool, error) {
	if rec, ok := s.takePrefetched(id); ok {
		if rec == nil {
			return circle.Token{}, false, nil
		}
		return s.decode(id, rec)
	}
	rec, err := s.rdb.Get(ctx, s.PairKey(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return circle.Token{}, false, nil
	}
	if err != nil {
		return circle.Token{}, false, fmt.Errorf("redisstore: loading the pair of %v: %w", id, err)
	}
	return s.decode(id, rec)
}

func (s *Store) decode(id circle.Identity, rec []byte) (circle.Token, bool, error) {
	tok, err := s.sealer.decode(id, rec)
	if err != nil {
		return circle.Token{}, false, fmt.Errorf("redisstore: the pair of %v cannot be read: %s", id, err.Error())
	}
	return tok, true, nil
}

// Save records tok as id's pair, sealed, with a TTL that ends when its
// refresh token expires ([DefaultTTL] when that is unknown, one minute at
// least, so that a clock running ahead of Circle's does not drop a fresh
// pair at once).
func (s *Store) Save(ctx context.Context, id circle.Identity, tok circle.Token) error {
	rec, err := s.sealer.encode(id, tok)
	if err != nil {
		return err
	}
	s.dropPrefetched(id)
	if err := s.rdb.Set(ctx, s.PairKey(id), rec, pairTTL(tok, time.Now())).Err(); err != nil {
		return fmt.Errorf("redisstore: saving the pair of %v: %w", id, err)
	}
	return nil
}

// pairTTL is how long the pair tok is kept, from now.
func pairTTL(tok circle.Token, now time.Time) time.Duration {
	if tok.RefreshTokenExpiresAt.IsZero() {
		return DefaultTTL
	}
	return max(tok.RefreshTokenExpiresAt.Sub(now), time.Minute).Truncate(time.Millisecond)
}

// Delete forgets id's pair and announces it on [Store.Channel], so that
// the other processes' clients drop the pair they hold (see
// [Store.WatchRevocations]). A token source deletes a pair only after
// revoking it.
func (s *Store) Delete(ctx context.Context, id circle.Identity) error {
	s.dropPrefetched(id)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, s.PairKey(id))
		p.Publish(ctx, s.channel, id.String())
		return nil
	})
	if err != nil {
		return fmt.Errorf("redisstore: deleting the pair of %v: %w", id, err)
	}
	return nil
}

// String describes the store without its keys.
func (s *Store) String() string { return fmt.Sprintf("redisstore.Store{prefix: %q}", s.prefix) }

// GoString is like String, so that %#v hides the keys too.
func (s *Store) GoString() string { return s.String() }

// Format prints the store as String does, whatever the verb.
func (s *Store) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }
