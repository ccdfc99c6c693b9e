package realtime_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/realtime"
)

func TestPoolOneConnectionPerMemberWithinItsLimit(t *testing.T) {
	f := newFixture(t)
	var sources []circle.TokenSource
	var ids []int64
	for i := range 3 {
		m := f.srv.AddMember(circletest.Member{Email: fmt.Sprintf("m%d@example.com", i)})
		sources = append(sources, f.auth.TokenSource(circle.ByEmail(m.Email)))
		ids = append(ids, m.ID)
	}
	// A short grace: the second Conn of a below is never subscribed, and
	// keeps a from eviction for the grace.
	pool := realtime.NewPool(2, f.options(realtime.WithIdleTimeout(100*time.Millisecond), realtime.WithFirstUseGrace(100*time.Millisecond))...)
	defer func() { _ = pool.Close() }()

	ctx := t.Context()
	a, err := pool.Conn(ctx, "a", sources[0])
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := pool.Conn(ctx, "a", sources[0]); again != a {
		t.Fatal("a second Conn for the same member")
	}
	b, err := pool.Conn(ctx, "b", sources[1])
	if err != nil {
		t.Fatal(err)
	}
	actx, stopA := context.WithCancel(ctx)
	aEvents := consume(a.Notifications(actx))
	bEvents := consume(b.Notifications(ctx))
	waitFor(t, "both subscriptions", func() bool {
		return len(f.srv.CableSubscriptions(ids[0])) == 1 && len(f.srv.CableSubscriptions(ids[1])) == 1
	})
	if _, err := pool.Conn(ctx, "c", sources[2]); !errors.Is(err, realtime.ErrPoolFull) {
		t.Fatalf("a third member with two busy: got %v, want ErrPoolFull", err)
	}

	// a's subscription ends: its socket closes after the idle timeout, and
	// its place can go to c.
	stopA()
	for range aEvents {
	}
	waitFor(t, "a's idle close", func() bool { return f.srv.CableConnections(ids[0]) == 0 })
	c, err := pool.Conn(ctx, "c", sources[2])
	if err != nil {
		t.Fatalf("with a idle: %v", err)
	}
	if pool.Len() != 2 {
		t.Errorf("pool holds %d", pool.Len())
	}
	cEvents := consume(c.Notifications(ctx))
	waitFor(t, "c's subscription", func() bool { return len(f.srv.CableSubscriptions(ids[2])) == 1 })
	f.srv.PublishEvent(ids[2], "NotificationChannel", "resetNewNotificationCount", map[string]any{"new_notifications_count": 0})
	nextEvent(t, cEvents)
	f.srv.PublishEvent(ids[1], "NotificationChannel", "resetNewNotificationCount", map[string]any{"new_notifications_count": 0})
	nextEvent(t, bEvents)

	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if it := next(t, bEvents); !errors.Is(it.err, realtime.ErrClosed) {
		t.Fatalf("after the pool's Close: %v", it.err)
	}
	if _, err := pool.Conn(ctx, "a", sources[0]); !errors.Is(err, realtime.ErrClosed) {
		t.Fatalf("Conn after Close: %v", err)
	}
	waitFor(t, "every socket to close", func() bool { return f.srv.CableConnections(0) == 0 })
}

func TestPoolReplacesAnEndedConnection(t *testing.T) {
	f := newFixture(t)
	pool := realtime.NewPool(1, f.options()...)
	defer func() { _ = pool.Close() }()
	a, err := pool.Conn(t.Context(), "a", f.ts)
	if err != nil {
		t.Fatal(err)
	}
	_ = a.Close() // as if it had ended for good
	b, err := pool.Conn(t.Context(), "a", f.ts)
	if err != nil || b == a {
		t.Fatalf("got %v, %v; want a new connection", b, err)
	}
}

// A connection Pool.Conn just returned is not evicted for another member
// before its caller subscribes: the caller's stream must not end at once
// with ErrClosed. Once its subscription has ended, the room is free.
func TestPoolKeepsAConnectionForItsCaller(t *testing.T) {
	f := newFixture(t)
	m := f.srv.AddMember(circletest.Member{Email: "other@example.com"})
	other := f.auth.TokenSource(circle.ByEmail(m.Email))
	pool := realtime.NewPool(1, f.options()...)
	defer func() { _ = pool.Close() }()

	ctx, cancel := context.WithCancel(t.Context())
	a, err := pool.Conn(ctx, "a", f.ts)
	if err != nil {
		t.Fatal(err)
	}
	// Another member's request comes between Conn and the subscription.
	if _, err := pool.Conn(t.Context(), "b", other); !errors.Is(err, realtime.ErrPoolFull) {
		t.Fatalf("another member before the first one subscribed: got %v, want ErrPoolFull", err)
	}
	events := consume(a.Notifications(ctx))
	f.subscribed(t, 1)
	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "resetNewNotificationCount", map[string]any{"new_notifications_count": 0})
	nextEvent(t, events)

	cancel()
	for it := range events {
		if it.err != nil {
			t.Fatalf("the stream ended with %v", it.err)
		}
	}
	if _, err := pool.Conn(t.Context(), "b", other); err != nil {
		t.Fatalf("with a's subscription over: %v", err)
	}
	if it := next(t, consume(a.Notifications(t.Context()))); !errors.Is(it.err, realtime.ErrClosed) {
		t.Fatalf("a, evicted: got %v, want ErrClosed", it.err)
	}
}

// A caller that never subscribes keeps its connection from eviction for
// the grace only.
func TestPoolGraceEnds(t *testing.T) {
	f := newFixture(t)
	m := f.srv.AddMember(circletest.Member{Email: "other@example.com"})
	other := f.auth.TokenSource(circle.ByEmail(m.Email))
	pool := realtime.NewPool(1, f.options(realtime.WithFirstUseGrace(200*time.Millisecond))...)
	defer func() { _ = pool.Close() }()
	start := time.Now()
	if _, err := pool.Conn(t.Context(), "a", f.ts); err != nil {
		t.Fatal(err)
	}
	var err error
	waitFor(t, "room for another member", func() bool {
		_, err = pool.Conn(t.Context(), "b", other)
		return err == nil
	})
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("a was evicted after %v, within its grace", d)
	}
}

// Several tabs of one member opening at once cost one connection: the
// callers of Pool.Conn for a key being dialled wait for that dial rather
// than each dialling their own.
func TestPoolConcurrentCallersOfOneMemberDialOnce(t *testing.T) {
	f := newFixture(t)
	pool := realtime.NewPool(2, f.options()...)
	defer func() { _ = pool.Close() }()
	const n = 6
	conns := make(chan *realtime.Conn, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			c, err := pool.Conn(t.Context(), "a", f.ts)
			if err != nil {
				t.Error(err)
			}
			conns <- c
		})
	}
	wg.Wait()
	close(conns)
	first := <-conns
	for c := range conns {
		if c != first {
			t.Fatal("two callers got different connections")
		}
	}
	if hs := f.srv.CableHandshakes(); len(hs) != 1 {
		t.Errorf("%d concurrent Conn of one member made %d handshakes; want 1", n, len(hs))
	}
	if pool.Len() != 1 {
		t.Errorf("pool holds %d", pool.Len())
	}
}

// The limit counts the dials in progress: two members opening at once in
// a pool of one cost one handshake, and the other caller gets ErrPoolFull.
func TestPoolLimitCountsDialsInProgress(t *testing.T) {
	f := newFixture(t)
	b := f.srv.AddMember(circletest.Member{Email: "bob@example.com"})
	pool := realtime.NewPool(1, f.options()...)
	defer func() { _ = pool.Close() }()
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for key, ts := range map[string]circle.TokenSource{"a": f.ts, "b": f.auth.TokenSource(circle.ByEmail(b.Email))} {
		wg.Go(func() {
			_, err := pool.Conn(t.Context(), key, ts)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	var full int
	for err := range errs {
		switch {
		case errors.Is(err, realtime.ErrPoolFull):
			full++
		case err != nil:
			t.Error(err)
		}
	}
	if full != 1 {
		t.Errorf("%d callers got ErrPoolFull; want 1", full)
	}
	if hs := f.srv.CableHandshakes(); len(hs) != 1 {
		t.Errorf("two members in a pool of one made %d handshakes; want 1", len(hs))
	}
}
