package realtime_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/realtime"
)

// TestScale opens one connection per member for many members at once
// against circletest in this process, and reports the client's heap and
// goroutines per open connection and the delay from PublishEvent to the
// iterator. It runs 50 members by default; REALTIME_SCALE=1000 runs a
// thousand (the figures of the README come from
// `REALTIME_SCALE=1000 go test -run TestScale -v ./realtime/`).
//
// The client's share is told apart from the fake's (which runs in the
// same process) by the stacks: a goroutine or an allocation is the fake's
// when its stack runs through circletest or net/http's server.
func TestScale(t *testing.T) {
	members := 50
	if s := os.Getenv("REALTIME_SCALE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("REALTIME_SCALE=%q is not a positive number", s)
		}
		members = n
	}
	runtime.MemProfileRate = 1
	defer func() { runtime.MemProfileRate = 512 * 1024 }()

	srv := circletest.Start(t)
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()), circle.WithCacheSize(members+10))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, members)
	sources := make([]*circle.MemberTokenSource, members)
	for i := range members {
		m := srv.AddMember(circletest.Member{Email: fmt.Sprintf("member%d@example.com", i)})
		ids[i] = m.ID
		sources[i] = auth.TokenSource(circle.ByEmail(m.Email))
		if _, err := sources[i].Token(t.Context()); err != nil { // mint before measuring
			t.Fatal(err)
		}
	}
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	// The pool's Conn for each member, dialled 16 at a time.
	pool := realtime.NewPool(members, realtime.WithBaseURL(srv.URL()), realtime.WithHandshakeTimeout(wait))
	defer func() { _ = pool.Close() }()
	conns := make([]*realtime.Conn, members)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	errs := make(chan error, members)
	for i := range members {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := pool.Conn(t.Context(), strconv.Itoa(i), sources[i])
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	base := classify(t)
	ctx, cancel := context.WithCancel(t.Context())
	arrived := make(chan time.Time, 16)
	var ended sync.WaitGroup
	for i, c := range conns {
		ended.Go(func() {
			for _, err := range c.Notifications(ctx) {
				if err != nil {
					return
				}
				if i%97 == 0 || members < 100 {
					arrived <- time.Now()
				}
			}
		})
	}
	waitFor(t, "every subscription", func() bool { return srv.CableConnections(0) == members && subscriptions(srv, ids) == members })
	time.Sleep(100 * time.Millisecond)
	open := classify(t)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	stacks := float64(after.StackInuse-before.StackInuse) / float64(members)

	// The delay from PublishEvent to the iterator, one event at a time.
	var delays []time.Duration
	var sampled []int
	for i := range members {
		if i%97 == 0 || members < 100 {
			sampled = append(sampled, i)
		}
	}
	for round := range 1000 / len(sampled) {
		for _, i := range sampled {
			start := time.Now()
			srv.PublishEvent(ids[i], "NotificationChannel", "updateNewNotificationCount", map[string]any{"new_notifications_count": round})
			select {
			case at := <-arrived:
				delays = append(delays, at.Sub(start))
			case <-time.After(wait):
				t.Fatal("an event did not arrive")
			}
		}
	}
	slices.Sort(delays)
	p50, p99 := delays[len(delays)/2], delays[len(delays)*99/100]

	perHeap := float64(open.clientHeap) / float64(members)
	perG := float64(open.clientGoroutines) / float64(members)
	subHeap := float64(open.clientHeap-base.clientHeap) / float64(members)
	t.Logf("%d members' connections open at once, each subscribed to its notifications (GOMAXPROCS %d, race %v)", members, runtime.GOMAXPROCS(0), raceEnabled)
	t.Logf("client, per open connection: %.1f KiB of heap in use (%.1f KiB of it the subscription), %.2f goroutines", perHeap/1024, subHeap/1024, perG)
	t.Logf("the fake in the same process, per connection: %.1f KiB, %.2f goroutines", float64(open.serverHeap)/float64(members)/1024, float64(open.serverGoroutines)/float64(members))
	t.Logf("goroutine stacks (not heap), client's and fake's together: %.1f KiB per connection", stacks/1024)
	t.Logf("PublishEvent to iterator, %d events one at a time: median %v, p99 %v, max %v", len(delays), p50, p99, delays[len(delays)-1])

	if perG >= 3 {
		t.Errorf("%.2f client goroutines per open connection, goal < 3", perG)
	}
	if !raceEnabled && perHeap >= 40<<10 {
		t.Errorf("%.1f KiB of client heap per open connection, goal < 40", perHeap/1024)
	}
	cancel()
	ended.Wait()
}

func subscriptions(srv *circletest.Server, ids []int64) int {
	n := 0
	for _, id := range ids {
		n += len(srv.CableSubscriptions(id))
	}
	return n
}

// usage is the heap in use and the goroutines of the client and of the
// fake.
type usage struct {
	clientHeap, serverHeap             int64
	clientGoroutines, serverGoroutines int
}

// serverFrames mark the fake's goroutines and allocations.
var serverFrames = []string{"circletest.", "net/http.(*conn)", "net/http.(*Server)", "net/http.(*response)", "net/http/httptest."}

// clientFrames mark the connections' own: this package, the WebSocket
// library, and net/http's client transport.
var clientFrames = []string{"realtime.", "coder/websocket", "net/http.(*Transport)", "net/http.(*persistConn)", "net.(*Dialer)"}

func has(frames []string, fn string) bool {
	for _, f := range frames {
		if strings.Contains(fn, f) {
			return true
		}
	}
	return false
}

// classify measures what the client and the fake hold now (the heap in
// use, by allocation stack, after a GC).
func classify(t *testing.T) usage {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var u usage
	var recs []runtime.MemProfileRecord
	for {
		n, _ := runtime.MemProfile(nil, true)
		recs = make([]runtime.MemProfileRecord, n+64)
		if n, ok := runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	for _, r := range recs {
		side := 0 // 1 client, 2 server
		frames := runtime.CallersFrames(r.Stack())
		for {
			fr, more := frames.Next()
			if has(serverFrames, fr.Function) {
				side = 2
				break
			}
			if side == 0 && has(clientFrames, fr.Function) && !strings.Contains(fr.Function, "realtime_test.") {
				side = 1
			}
			if !more {
				break
			}
		}
		switch side {
		case 1:
			u.clientHeap += r.InUseBytes()
		case 2:
			u.serverHeap += r.InUseBytes()
		}
	}
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		switch {
		case has(serverFrames, g):
			u.serverGoroutines++
		case strings.Contains(g, "realtime_test."):
			// the test's own consumers
		case has(clientFrames, g):
			u.clientGoroutines++
		}
	}
	return u
}
