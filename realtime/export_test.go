package realtime

import "time"

// WithFirstUseGrace sets how long a connection just handed out waits for
// its first subscription (firstUseGrace, 5 s outside tests), so that tests
// of that wait need not take 5 s.
func WithFirstUseGrace(d time.Duration) Option {
	return func(c *config) { c.grace = d }
}
