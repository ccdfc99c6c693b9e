package circle

import (
	"container/list"
	"sync"
)

// sourceCache keeps the most recently used member token sources of an
// AuthClient, at most max of them.
type sourceCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List // of *MemberTokenSource; the front is the most recent
	m   map[Identity]*list.Element
}

func newSourceCache(size int) *sourceCache {
	return &sourceCache{max: size, ll: list.New(), m: make(map[Identity]*list.Element)}
}

// get returns id's source, making it with mk if the cache has none, and
// drops the least recently used source when the cache is over its size.
func (c *sourceCache) get(id Identity, mk func() *MemberTokenSource) *MemberTokenSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*MemberTokenSource)
	}
	s := mk()
	c.m[id] = c.ll.PushFront(s)
	if c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*MemberTokenSource).id)
	}
	return s
}

// peek returns id's source if the cache holds one, without making it the
// most recent.
func (c *sourceCache) peek(id Identity) *MemberTokenSource {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		return e.Value.(*MemberTokenSource)
	}
	return nil
}
