package circle

import (
	"container/list"
	"runtime"
	"sync"
	"weak"
)

// sourceCache keeps the most recently used member token sources of an
// AuthClient, at most max of them, and finds every source still in use:
// a source dropped from the cache while a caller holds it (in a mint, in
// a handler) is given again to whoever asks for its member, so that a
// process has one source, and so one mint or refresh at a time, per
// member, whatever the cache drops. It holds the sources it dropped by
// weak pointers only: memory stays bounded by the cache size and the
// sources callers hold.
type sourceCache struct {
	mu   sync.Mutex
	max  int
	ll   *list.List // of *MemberTokenSource; the front is the most recent
	m    map[Identity]*list.Element
	live map[Identity]weak.Pointer[MemberTokenSource] // every source not yet collected
}

func newSourceCache(size int) *sourceCache {
	return &sourceCache{max: size, ll: list.New(), m: make(map[Identity]*list.Element),
		live: make(map[Identity]weak.Pointer[MemberTokenSource])}
}

// get returns id's source, making it with mk if no source of id is in
// use, and drops the least recently used source from the cache when the
// cache is over its size.
func (c *sourceCache) get(id Identity, mk func() *MemberTokenSource) *MemberTokenSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*MemberTokenSource)
	}
	s := c.live[id].Value()
	if s == nil {
		s = mk()
		c.live[id] = weak.Make(s)
		runtime.AddCleanup(s, c.collected, id)
	}
	c.m[id] = c.ll.PushFront(s)
	if c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*MemberTokenSource).id)
	}
	return s
}

// collected forgets id's source once the garbage collector has taken it
// (and not a newer source of id).
func (c *sourceCache) collected(id Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w, ok := c.live[id]; ok && w.Value() == nil {
		delete(c.live, id)
	}
}

// peek returns id's source if one is in use, without making it the most
// recent.
func (c *sourceCache) peek(id Identity) *MemberTokenSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live[id].Value()
}

// all returns every source in use.
func (c *sourceCache) all() []*MemberTokenSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*MemberTokenSource, 0, len(c.live))
	for _, w := range c.live {
		if s := w.Value(); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (c *sourceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
