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

	// The identities that named each member (by community member id)
	// lately, for Revoke: an LRU of at most max members.
	names    *list.List // of *memberNames; the front is the most recent
	byMember map[int64]*list.Element
}

// memberNames is the identities that named one member.
type memberNames struct {
	member int64
	ids    []Identity
}

// maxNames is how many identities of one member sourceCache remembers.
const maxNames = 8

func newSourceCache(size int) *sourceCache {
	return &sourceCache{max: size, ll: list.New(), m: make(map[Identity]*list.Element),
		live:  make(map[Identity]weak.Pointer[MemberTokenSource]),
		names: list.New(), byMember: make(map[int64]*list.Element)}
}

// named records that id named member (a pair minted or loaded for id acts
// for member).
func (c *sourceCache) named(member int64, id Identity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byMember[member]
	if !ok {
		e = c.names.PushFront(&memberNames{member: member})
		c.byMember[member] = e
		if c.names.Len() > c.max {
			last := c.names.Back()
			c.names.Remove(last)
			delete(c.byMember, last.Value.(*memberNames).member)
		}
	}
	c.names.MoveToFront(e)
	n := e.Value.(*memberNames)
	for _, known := range n.ids {
		if known == id {
			return
		}
	}
	if len(n.ids) == maxNames {
		n.ids = n.ids[1:]
	}
	n.ids = append(n.ids, id)
}

// namesOf returns the identities that named one of members lately.
func (c *sourceCache) namesOf(members map[int64]bool) []Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []Identity
	for m := range members {
		if e, ok := c.byMember[m]; ok {
			ids = append(ids, e.Value.(*memberNames).ids...)
		}
	}
	return ids
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
