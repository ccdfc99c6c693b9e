package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/circlekit/headless-go/circle"
)

// The lock is the single-instance lease of the Redis documentation (the
// pattern of github.com/bsm/redislock): SET NX PX with a random value,
// renewed and released only by the holder of that value.
var (
	// lockScript takes the lock KEYS[1] with value ARGV[1] for ARGV[2] ms
	// and returns {1, the pair KEYS[2] or false}, or {0, the lock's PTTL}.
	// Reading the pair with the lock saves the source's Load a round trip.
	lockScript = redis.NewScript(`
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then
  return {1, redis.call("GET", KEYS[2])}
end
return {0, redis.call("PTTL", KEYS[1])}`)
	// renewScript extends the lock KEYS[1] to ARGV[2] ms if it still holds
	// ARGV[1]; it returns 1, or 0 when the lock was lost.
	renewScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)
	// unlockScript deletes the lock KEYS[1] if it still holds ARGV[1].
	unlockScript = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0`)
)

const (
	firstPoll = 5 * time.Millisecond
	maxPoll   = 100 * time.Millisecond
	// maxUnlockWait is how long unlock waits for Redis; the release goes on
	// in the background after that, and the lease bounds it anyway.
	maxUnlockWait = 500 * time.Millisecond
	// maxHold is how long a lock is renewed at most: twice circle's bound
	// on one mint or refresh (a minute). A holder that never unlocks then
	// blocks the others for maxHold plus a lease.
	maxHold = 2 * time.Minute
)

// lease is one lock this store holds.
type lease struct {
	key, value string
	// prefetched is the pair read with the lock (nil: none), until the
	// first Load, Save or Delete of the member.
	prefetched []byte
	fresh      bool
	stop       chan struct{} // closed by unlock: stop renewing
}

// Lock blocks until this process holds id's lock, or ctx ends. The lock
// is a lease of [WithLockLease] ([DefaultLockLease] by default), renewed
// every third of it until unlock is called (for two minutes at most), so
// it outlives a slow Circle but blocks the others for at most one lease
// when its holder dies. Waiting polls Redis, every 5 ms at first, then up
// to every 100 ms, and ends when ctx ends (a token source calls Lock
// again while the lock is busy and Redis answers; see
// [circle.TokenLocker]). A lock obtained after ctx ended is released at
// once and Lock returns the context's error, since its caller has gone.
//
// unlock releases the lock (only if this process still holds it) and may
// be called more than once; it waits at most 500 ms for Redis.
func (s *Store) Lock(ctx context.Context, id circle.Identity) (unlock func(), err error) {
	key, pair := s.LockKey(id), s.PairKey(id)
	value, err := randomValue()
	if err != nil {
		return nil, err
	}
	ms := s.lease.Milliseconds()
	wait := firstPoll
	var t *time.Timer
	for {
		res, err := lockScript.Run(ctx, s.rdb, []string{key, pair}, value, ms).Slice()
		if err != nil {
			return nil, fmt.Errorf("redisstore: locking the pair of %v: %w", id, err)
		}
		if len(res) == 2 && res[0] == int64(1) {
			if err := ctx.Err(); err != nil {
				// The caller gave up (a source abandons a store call that
				// overruns its store timeout): nobody would unlock.
				go s.release(key, value)
				return nil, fmt.Errorf("redisstore: waiting for the lock of %v: %w", id, err)
			}
			l := &lease{key: key, value: value, fresh: true, stop: make(chan struct{})}
			if v, ok := res[1].(string); ok {
				l.prefetched = []byte(v)
			}
			s.hold(id, l)
			return s.unlocker(id, l), nil
		}
		// Wait with a jitter, so that waiters do not poll in step.
		d := wait/2 + mrand.N(wait/2+1)
		if t == nil {
			t = time.NewTimer(d)
			defer t.Stop()
		} else {
			t.Reset(d)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("redisstore: waiting for the lock of %v: %w", id, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, maxPoll)
	}
}

func randomValue() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", errors.New("redisstore: no random lock value available")
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// hold records l as the lock this store holds for id and starts renewing
// it.
func (s *Store) hold(id circle.Identity, l *lease) {
	s.mu.Lock()
	s.held[id.String()] = l
	s.mu.Unlock()
	go s.renew(l)
}

// renew extends l every third of the lease until it is released or lost,
// for maxHold at most.
func (s *Store) renew(l *lease) {
	every := s.lease / 3
	t := time.NewTicker(every)
	defer t.Stop()
	end := time.NewTimer(maxHold)
	defer end.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-end.C:
			return // a holder that never unlocks blocks the others no longer
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		n, err := renewScript.Run(ctx, s.rdb, []string{l.key}, l.value, s.lease.Milliseconds()).Int()
		cancel()
		if err == nil && n == 0 {
			return // lost (expired while Redis was unreachable): nothing to renew
		}
	}
}

func (s *Store) unlocker(id circle.Identity, l *lease) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			close(l.stop) // a renewal in flight after this finds the lock gone, or is undone below
			s.mu.Lock()
			if s.held[id.String()] == l {
				delete(s.held, id.String())
			}
			s.mu.Unlock()
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.release(l.key, l.value)
			}()
			t := time.NewTimer(maxUnlockWait)
			defer t.Stop()
			select {
			case <-done:
			case <-t.C:
			}
		})
	}
}

// release deletes the lock key if it still holds value.
func (s *Store) release(key, value string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.lease)
	defer cancel()
	_ = unlockScript.Run(ctx, s.rdb, []string{key}, value).Err()
}

// takePrefetched returns, once, the pair record the lock of id read, if
// this store holds that lock: (nil, true) when there was no pair.
func (s *Store) takePrefetched(id circle.Identity) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.held[id.String()]
	if l == nil || !l.fresh {
		return nil, false
	}
	l.fresh = false
	rec := l.prefetched
	l.prefetched = nil
	return rec, true
}

// dropPrefetched forgets the pair the lock of id read: it is about to
// change.
func (s *Store) dropPrefetched(id circle.Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.held[id.String()]; l != nil {
		l.fresh, l.prefetched = false, nil
	}
}
