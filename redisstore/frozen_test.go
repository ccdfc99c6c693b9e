package redisstore_test

import (
	"testing"
	"time"
)

// TestProcessesRedisFrozen: Redis frozen (SIGSTOP) for 3 s while the
// processes must refresh, then resumed: no failed Token, and none much
// slower than the store timeout.
func TestProcessesRedisFrozen(t *testing.T) {
	const storeTimeout = 500 * time.Millisecond
	c := newCluster(t, clusterConfig{workers: 3, storeTimeout: storeTimeout})
	ms, ids := members(c.srv, 3)
	tokens := command{Op: "tokens", Members: ms, Goroutines: 4, Rounds: 2, Validate: true}
	c.check("before", c.all(nil, tokens))

	if err := c.redis.Freeze(); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	thawed := make(chan struct{})
	go func() { // thaw after 3 s, whatever the workers do
		defer close(thawed)
		time.Sleep(3 * time.Second)
		_ = c.redis.Thaw()
	}()
	c.srv.Advance(time.Hour)
	s := c.check("Redis frozen", c.all(nil, tokens))
	during := time.Since(frozen)
	<-thawed
	t.Logf("Redis frozen, one expiry: %d calls, %d failures, max Token latency %v (store timeout %v); the round took %v",
		s.calls, s.failures, s.maxLatency, storeTimeout, during.Round(time.Millisecond))
	if s.maxLatency > 4*storeTimeout {
		t.Errorf("a Token took %v with Redis frozen, more than 4 x the store timeout (%v)", s.maxLatency, storeTimeout)
	}
	c.srv.Advance(time.Hour)
	s = c.check("Redis resumed", c.all(nil, tokens))
	t.Logf("Redis resumed, one expiry: %d calls, %d failures, max latency %v", s.calls, s.failures, s.maxLatency)
	mints := 0
	for _, id := range ids {
		mints += c.count("createMemberToken", id, 0)
	}
	if mints != 3 {
		t.Errorf("%d mints for 3 members, want 3", mints)
	}
}
