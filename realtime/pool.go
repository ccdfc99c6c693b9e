package realtime

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/circlekit/headless-go/circle"
)

// DefaultPoolIdleTimeout is how long a pooled connection stays open after
// its last subscription ends, unless [WithIdleTimeout] says otherwise.
const DefaultPoolIdleTimeout = time.Minute

// Pool holds the connections of many members in one process: one [Conn]
// per member, dialled on demand, at most a fixed number at once. A
// member's connection closes its socket [WithIdleTimeout] after its last
// subscription ends (default [DefaultPoolIdleTimeout]) and is then a small
// struct with no goroutine, which the pool drops when it needs the room.
// A connection that ended for good ([ErrUnauthorized], ...) is replaced
// by the next [Pool.Conn] of its member. A connection [Pool.Conn] has
// just returned is not dropped before its caller subscribes: not until a
// subscription starts on it, or for 5 s if none does.
//
// A Pool is safe for concurrent use.
type Pool struct {
	max  int
	opts []Option

	mu      sync.Mutex
	conns   map[string]*Conn
	dialing map[string]chan struct{} // closed when the key's dial ends
	closed  bool
	closing sync.WaitGroup // the Close calls of dropped connections
}

// NewPool returns a pool of at most maxConns connections, each dialled
// with opts. It panics if maxConns is not positive.
func NewPool(maxConns int, opts ...Option) *Pool {
	if maxConns <= 0 {
		panic("realtime: NewPool: maxConns must be positive")
	}
	all := append([]Option{WithIdleTimeout(DefaultPoolIdleTimeout)}, opts...)
	return &Pool{max: maxConns, opts: all, conns: map[string]*Conn{}, dialing: map[string]chan struct{}{}}
}

// Conn returns the connection of the member that key names (any string
// that identifies the member to the caller, such as its community member
// id or SSO id), dialling it with ts if there is none. When the pool is
// full, it drops an idle member's connection to make room, or fails with
// [ErrPoolFull]. The returned Conn is kept for the caller's first
// subscription (see [Pool]). It belongs to the pool: do not close it.
// Callers for a key whose dial is in progress wait for that dial (within
// ctx) rather than dial their own, and dials in progress count against
// the limit.
func (p *Pool) Conn(ctx context.Context, key string, ts circle.TokenSource) (*Conn, error) {
	p.mu.Lock()
	for {
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if c := p.conns[key]; c != nil {
			if c.reserve() {
				p.mu.Unlock()
				return c, nil
			}
			delete(p.conns, key)
		}
		done := p.dialing[key]
		if done == nil {
			break
		}
		// Another caller is dialling this member: wait for its connection
		// rather than dial a second one.
		p.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		p.mu.Lock()
	}
	if len(p.conns)+len(p.dialing) >= p.max && !p.evictLocked() {
		p.mu.Unlock()
		return nil, ErrPoolFull
	}
	done := make(chan struct{})
	p.dialing[key] = done
	p.mu.Unlock()

	c, err := Dial(ctx, ts, p.opts...)
	p.mu.Lock()
	delete(p.dialing, key)
	close(done)
	closed := p.closed
	if err == nil && !closed {
		c.reserve()
		p.conns[key] = c
	}
	p.mu.Unlock()
	switch {
	case err != nil:
		return nil, err
	case closed: // Close ran during the dial and did not see c
		_ = c.Close()
		return nil, ErrClosed
	}
	return c, nil
}

// closeLater closes c in a goroutine [Pool.Close] waits for.
func (p *Pool) closeLater(c *Conn) {
	p.closing.Go(func() { _ = c.Close() })
}

// reserve keeps c from eviction for one more caller until that caller's
// first subscription starts or the grace passes, and reports whether c is
// still alive (a connection that ended is not handed out).
func (c *Conn) reserve() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return false
	}
	now := time.Now()
	if !now.Before(c.reservedUntil) {
		c.reserved = 0 // the callers of before let their grace pass
	}
	c.reserved++
	c.reservedUntil = now.Add(c.cfg.grace)
	return true
}

// evictable reports whether the pool may drop c: it ended, or it has no
// subscription and no caller [Pool.Conn] handed it to lately is yet to
// subscribe.
func (c *Conn) evictable(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err != nil || c.nsubs == 0 && (c.reserved == 0 || !now.Before(c.reservedUntil))
}

// evictLocked drops one connection without subscriptions (or ended), and
// reports whether it did.
func (p *Pool) evictLocked() bool {
	now := time.Now()
	for k, c := range p.conns {
		if c.evictable(now) {
			delete(p.conns, k)
			p.closeLater(c)
			return true
		}
	}
	return false
}

// Len returns how many members' connections the pool holds.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close closes every connection of the pool and waits for them. Later
// calls of Conn fail with [ErrClosed].
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = map[string]*Conn{}
	p.mu.Unlock()
	var errs []error
	for _, c := range conns {
		errs = append(errs, c.Close())
	}
	p.closing.Wait()
	return errors.Join(errs...)
}
