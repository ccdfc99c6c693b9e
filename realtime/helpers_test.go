package realtime_test

import (
	"context"
	"iter"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/realtime"
)

// wait bounds every wait of these tests: generous for a loaded 2-core
// machine, short enough to fail a hang quickly.
const wait = 15 * time.Second

// fixture is a fake Circle with one member and that member's token source.
type fixture struct {
	srv    *circletest.Server
	auth   *circle.AuthClient
	member circletest.Member
	ts     *circle.MemberTokenSource
}

// newFixture starts circletest with a fast cable (pings every 50 ms).
func newFixture(t *testing.T, opts ...circletest.Option) *fixture {
	t.Helper()
	srv := circletest.Start(t, opts...)
	srv.SetCablePingInterval(50 * time.Millisecond)
	m := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, auth: auth, member: m, ts: auth.TokenSource(circle.ByEmail(m.Email))}
}

// options are fast timings for tests: a 400 ms watchdog, short backoffs.
func (f *fixture) options(more ...realtime.Option) []realtime.Option {
	return append([]realtime.Option{
		realtime.WithBaseURL(f.srv.URL()),
		realtime.WithStaleTimeout(400 * time.Millisecond),
		realtime.WithReconnectBackoff(10*time.Millisecond, 200*time.Millisecond),
		realtime.WithHandshakeTimeout(5 * time.Second),
	}, more...)
}

func (f *fixture) dial(t *testing.T, more ...realtime.Option) *realtime.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := realtime.Dial(ctx, f.ts, f.options(more...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// item is one step of an iterator.
type item struct {
	e   realtime.Event
	err error
}

// consume ranges over seq in a goroutine and hands over what it yields;
// the channel closes when the loop ends.
func consume(seq iter.Seq2[realtime.Event, error]) <-chan item {
	ch := make(chan item, 4096)
	go func() {
		defer close(ch)
		for e, err := range seq {
			ch <- item{e, err}
		}
	}()
	return ch
}

// next returns the next item of ch, failing the test after wait.
func next(t *testing.T, ch <-chan item) item {
	t.Helper()
	select {
	case it, ok := <-ch:
		if !ok {
			t.Fatal("the iterator ended")
		}
		return it
	case <-time.After(wait):
		t.Fatal("no event within the wait")
	}
	return item{}
}

// nextEvent is next, failing on an error.
func nextEvent(t *testing.T, ch <-chan item) realtime.Event {
	t.Helper()
	it := next(t, ch)
	if it.err != nil {
		t.Fatalf("unexpected error: %v", it.err)
	}
	return it.e
}

// waitFor polls cond until it holds, failing the test after wait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// subscribed waits until the member's open connections hold n
// subscriptions.
func (f *fixture) subscribed(t *testing.T, n int) {
	t.Helper()
	waitFor(t, "the subscriptions", func() bool { return len(f.srv.CableSubscriptions(f.member.ID)) == n })
}

// accepted counts the cable's welcomed handshakes and their distinct
// tokens.
func (f *fixture) accepted() (n int, tokens map[string]bool) {
	tokens = map[string]bool{}
	for _, h := range f.srv.CableHandshakes() {
		if h.Accepted {
			n++
			tokens[h.TokenID] = true
		}
	}
	return n, tokens
}

// count counts the requests of an operation that reached the fake.
func (f *fixture) count(op string) int {
	n := 0
	for _, r := range f.srv.Requests() {
		if r.OperationID == op {
			n++
		}
	}
	return n
}
