package circle

// len returns how many sources the cache holds; only tests ask.
func (c *sourceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
