package redisstore_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/internal/redistest"
	"github.com/circlekit/headless-go/internal/syncbuf"
)

// cluster is a redis-server, a circletest server and worker processes
// sharing them.
type cluster struct {
	t       *testing.T
	redis   *redistest.Server
	rdb     *redis.Client
	srv     *circletest.Server
	key     string // hex
	env     []string
	workers []*worker

	mu     sync.Mutex
	nextID int
}

type clusterConfig struct {
	workers      int
	lease        time.Duration // 0: the default
	storeTimeout time.Duration // 0: the default
}

func newCluster(t *testing.T, cfg clusterConfig) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process test; skipped with -short")
	}
	c := &cluster{t: t, redis: redistest.Start(t), srv: circletest.Start(t)}
	c.rdb = redis.NewClient(&redis.Options{Addr: c.redis.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.rdb.Close() })
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	c.key = hex.EncodeToString(k)
	c.env = []string{
		"REDISSTORE_REDIS=" + c.redis.Addr(),
		"REDISSTORE_CIRCLE=" + c.srv.URL(),
		"REDISSTORE_APP_TOKEN=" + c.srv.AppToken(),
		"REDISSTORE_KEY=" + c.key,
		"REDISSTORE_PREFIX=circle:",
	}
	if cfg.lease > 0 {
		c.env = append(c.env, "REDISSTORE_LEASE="+cfg.lease.String())
	}
	if cfg.storeTimeout > 0 {
		c.env = append(c.env, "REDISSTORE_STORE_TIMEOUT="+cfg.storeTimeout.String())
	}
	for i := range cfg.workers {
		c.workers = append(c.workers, c.start(fmt.Sprintf("w%d", i)))
	}
	return c
}

// worker is one worker process.
type worker struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncbuf.Buffer
	exited chan struct{}
	killed bool

	mu      sync.Mutex
	waiting map[int]chan reply
}

// start starts a worker process; extra env entries override the cluster's.
func (c *cluster) start(name string, extra ...string) *worker {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.count=1", "-test.timeout=5m") //nolint:noctx // ended by the cleanup, not a context
	// The race detector sleeps a second at exit by default.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(append(append(os.Environ(), "GORACE="+gorace, workerEnv+"=1",
		"REDISSTORE_NOW="+c.srv.Now().Format(time.RFC3339Nano)), c.env...), extra...)
	w := &worker{name: name, cmd: cmd, stderr: &syncbuf.Buffer{}, exited: make(chan struct{}), waiting: map[int]chan reply{}}
	cmd.Stderr = w.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), replyMark)
			if !ok {
				continue
			}
			var r reply
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				continue
			}
			w.mu.Lock()
			ch := w.waiting[r.ID]
			delete(w.waiting, r.ID)
			w.mu.Unlock()
			if ch != nil {
				ch <- r
			}
		}
		err := cmd.Wait()
		if err != nil && !w.killed {
			c.t.Errorf("worker %s exited: %v\n%s", name, err, tail(w.stderr.String()))
		}
		close(w.exited)
	}()
	c.t.Cleanup(func() {
		_ = w.stdin.Close()
		select {
		case <-w.exited:
		case <-time.After(15 * time.Second):
			c.t.Errorf("worker %s did not exit 15 s after its stdin closed", name)
			_ = cmd.Process.Kill()
			<-w.exited
		}
		if c.t.Failed() {
			if s := w.stderr.String(); s != "" {
				c.t.Logf("stderr of worker %s:\n%s", name, tail(s))
			}
		}
	})
	return w
}

func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}

// send sends cmd to w and returns the channel its reply arrives on.
func (c *cluster) send(w *worker, cmd command) <-chan reply {
	c.t.Helper()
	c.mu.Lock()
	c.nextID++
	cmd.ID = c.nextID
	c.mu.Unlock()
	ch := make(chan reply, 1)
	w.mu.Lock()
	w.waiting[cmd.ID] = ch
	w.mu.Unlock()
	b, _ := json.Marshal(cmd)
	if _, err := w.stdin.Write(append(b, '\n')); err != nil {
		c.t.Fatalf("worker %s: %v", w.name, err)
	}
	return ch
}

// wait returns the reply on ch, failing the test after 90 s.
func (c *cluster) wait(w *worker, ch <-chan reply) reply {
	c.t.Helper()
	select {
	case r := <-ch:
		if r.Err != "" {
			c.t.Errorf("worker %s: %s", w.name, r.Err)
		}
		return r
	case <-w.exited:
		c.t.Fatalf("worker %s exited before answering\n%s", w.name, tail(w.stderr.String()))
	case <-time.After(90 * time.Second):
		c.t.Fatalf("worker %s did not answer within 90 s\n%s", w.name, tail(w.stderr.String()))
	}
	return reply{}
}

// all sends cmd to every worker of ws (all workers if nil), starting them
// together 200 ms from now, and returns their replies.
func (c *cluster) all(ws []*worker, cmd command) []reply {
	c.t.Helper()
	if ws == nil {
		ws = c.workers
	}
	cmd.At = time.Now().Add(200 * time.Millisecond).UnixNano()
	if cmd.Now.IsZero() {
		cmd.Now = c.srv.Now()
	}
	chs := make([]<-chan reply, len(ws))
	for i, w := range ws {
		chs[i] = c.send(w, cmd)
	}
	out := make([]reply, len(ws))
	for i, w := range ws {
		out[i] = c.wait(w, chs[i])
	}
	return out
}

// count returns the calls of op for member answered with status (any
// when 0).
func (c *cluster) count(op string, member int64, status int) int {
	n := 0
	for _, r := range c.srv.Requests() {
		if r.OperationID == op && (member == 0 || r.MemberID == member) && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

// summary adds up replies and fails the test on failed, expired or
// rejected tokens.
type summary struct {
	calls, failures, expired, rejected, validated int
	maxLatency                                    time.Duration
	// fps is, per member, the set of access-token fingerprints handed out.
	fps map[string]map[string]bool
}

func (c *cluster) check(what string, rs []reply) summary {
	c.t.Helper()
	s := summary{fps: map[string]map[string]bool{}}
	for i, r := range rs {
		s.calls += r.Calls
		s.failures += r.Failures
		s.expired += r.Expired
		s.rejected += r.Rejected
		s.validated += r.Validated
		s.maxLatency = max(s.maxLatency, r.MaxLatency)
		for m, fps := range r.Seen {
			if s.fps[m] == nil {
				s.fps[m] = map[string]bool{}
			}
			for fp := range fps {
				s.fps[m][fp] = true
			}
		}
		if r.Failures > 0 || r.Expired > 0 || r.Rejected > 0 {
			c.t.Errorf("%s: worker %d: %d failed Token calls, %d expired and %d rejected tokens: %q", what, i, r.Failures, r.Expired, r.Rejected, r.Errors)
		}
	}
	return s
}

func members(srv *circletest.Server, n int) ([]string, []int64) {
	var ids []string
	var nums []int64
	for i := range n {
		m := srv.AddMember(circletest.Member{Email: fmt.Sprintf("m%02d@example.com", i)})
		ids = append(ids, "email:"+m.Email)
		nums = append(nums, m.ID)
	}
	return ids, nums
}

// TestProcessesOneMint: 4 processes x 8 goroutines ask for one member's
// first token at once: exactly one mint, one access token everywhere. A
// process with another prefix does not see that pair.
func TestProcessesOneMint(t *testing.T) {
	c := newCluster(t, clusterConfig{workers: 4})
	ms, ids := members(c.srv, 1)
	rs := c.all(nil, command{Op: "tokens", Members: ms, Goroutines: 8, Rounds: 3, Validate: true})
	s := c.check("first tokens", rs)
	mints := c.count("createMemberToken", ids[0], 0)
	t.Logf("4 processes x 8 goroutines x 3 calls: %d calls, %d mints, %d access tokens, %d failures, max latency %v",
		s.calls, mints, len(s.fps[ms[0]]), s.failures, s.maxLatency)
	if s.calls != 4*8*3 || mints != 1 || len(s.fps[ms[0]]) != 1 || s.validated != 4 {
		t.Errorf("want 96 calls, 1 mint, 1 access token, 4 validations; got %d, %d, %d, %d", s.calls, mints, len(s.fps[ms[0]]), s.validated)
	}

	other := c.start("other", "REDISSTORE_PREFIX=other:")
	o := c.check("other prefix", c.all([]*worker{other}, command{Op: "tokens", Members: ms, Goroutines: 2, Rounds: 1}))
	if n := c.count("createMemberToken", ids[0], 0); n != 2 {
		t.Errorf("a process with another prefix: %d mints in all, want 2 (its own)", n)
	}
	for fp := range o.fps[ms[0]] {
		if s.fps[ms[0]][fp] {
			t.Error("a process with another prefix adopted the first prefix's pair")
		}
	}
	keys := c.rdb.Keys(context.Background(), "*").Val()
	for _, k := range keys {
		if !strings.HasPrefix(k, "circle:{") && !strings.HasPrefix(k, "other:{") {
			t.Errorf("unexpected key %q", k)
		}
	}
	if len(keys) != 2 {
		t.Errorf("keys %q, want one pair per prefix", keys)
	}
	audit(c)
}

// audit has every worker check that no key of Redis holds a token it was
// handed, in any common encoding, and that every key has a TTL.
func audit(c *cluster) {
	c.t.Helper()
	for i, r := range c.all(nil, command{Op: "audit"}) {
		if r.Rejected > 0 || r.Expired > 0 {
			c.t.Errorf("audit by worker %d: %q", i, r.Errors)
		}
		if r.Validated == 0 || r.Calls == 0 {
			c.t.Errorf("audit by worker %d checked %d tokens in %d keys", i, r.Validated, r.Calls)
		}
	}
}

// TestProcessesExpiries: across several access-token expiries, 4
// processes x 8 goroutines: one refresh per expiry window, no extra mint,
// no expired token handed out (each checked with the Member API).
func TestProcessesExpiries(t *testing.T) {
	c := newCluster(t, clusterConfig{workers: 4})
	ms, ids := members(c.srv, 1)
	c.check("first tokens", c.all(nil, command{Op: "tokens", Members: ms, Goroutines: 8, Rounds: 2}))
	windows := []struct {
		advance   time.Duration
		refreshes int // in all, after the window
	}{
		{time.Hour, 1},        // expired: one refresh
		{30 * time.Minute, 1}, // still valid for 30 min: none
		{30 * time.Minute, 2}, // expired exactly now: one refresh
		{59 * time.Minute, 3}, // within the 60 s margin of its expiry: one refresh
		{2 * time.Hour, 4},    // long expired: one refresh
	}
	for i, w := range windows {
		c.srv.Advance(w.advance)
		s := c.check(fmt.Sprintf("window %d", i), c.all(nil, command{Op: "tokens", Members: ms, Goroutines: 8, Rounds: 2, Validate: true}))
		refreshes, mints := c.count("refreshAccessToken", ids[0], 0), c.count("createMemberToken", ids[0], 0)
		t.Logf("window %d (+%v): %d calls, %d refreshes in all, %d mints in all, %d access tokens this window, %d expired, %d rejected by the Member API, max latency %v",
			i, w.advance, s.calls, refreshes, mints, len(s.fps[ms[0]]), s.expired, s.rejected, s.maxLatency)
		if refreshes != w.refreshes || mints != 1 || len(s.fps[ms[0]]) != 1 {
			t.Errorf("window %d: %d refreshes, %d mints, %d access tokens; want %d, 1, 1", i, refreshes, mints, len(s.fps[ms[0]]), w.refreshes)
		}
	}
	audit(c)
}

// TestProcessesManyMembers: 24 members, each process's goroutines touch
// them in different orders: one mint per member.
func TestProcessesManyMembers(t *testing.T) {
	c := newCluster(t, clusterConfig{workers: 4})
	ms, ids := members(c.srv, 24)
	chs := make([]<-chan reply, len(c.workers))
	at := time.Now().Add(200 * time.Millisecond).UnixNano()
	for i, w := range c.workers {
		chs[i] = c.send(w, command{Op: "tokens", Members: ms, Goroutines: 4, Rounds: 2, Seed: uint64(i + 1), At: at, Now: c.srv.Now()})
	}
	var rs []reply
	for i, w := range c.workers {
		rs = append(rs, c.wait(w, chs[i]))
	}
	s := c.check("many members", rs)
	total := 0
	for i, id := range ids {
		n := c.count("createMemberToken", id, 0)
		total += n
		if n != 1 || len(s.fps[ms[i]]) != 1 {
			t.Errorf("member %s: %d mints, %d access tokens; want 1 and 1", ms[i], n, len(s.fps[ms[i]]))
		}
	}
	t.Logf("24 members x 4 processes x 4 goroutines x 2 rounds: %d calls, %d mints in all, max latency %v", s.calls, total, s.maxLatency)
	audit(c)
}

// TestProcessesKilledHolder: a process killed (SIGKILL) while it holds a
// member's lock, mid-mint; another process gets a token within the lease
// plus the mint time.
func TestProcessesKilledHolder(t *testing.T) {
	const lease = time.Second
	// The store timeout is longer than the lease, so that the waiter waits
	// for the lease to lapse rather than giving up on the lock.
	c := newCluster(t, clusterConfig{workers: 2, lease: lease, storeTimeout: 5 * time.Second})
	ms, ids := members(c.srv, 1)
	a, b := c.workers[0], c.workers[1]
	c.srv.InjectFault("createMemberToken", circletest.Fault{Latency: 30 * time.Second, Times: 1})
	c.send(a, command{Op: "tokens", Members: ms, Goroutines: 1, Rounds: 1, Now: c.srv.Now()})
	lockKey := "circle:{" + ms[0] + "}:lock"
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); c.rdb.Exists(ctx, lockKey).Val() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("worker a never took the lock")
		}
	}
	time.Sleep(2 * lease) // a holds the lock across renewals, in its mint
	if c.rdb.Exists(ctx, lockKey).Val() == 0 {
		t.Fatal("the lock lapsed while its holder lived")
	}
	chB := c.send(b, command{Op: "tokens", Members: ms, Goroutines: 4, Rounds: 1, Now: c.srv.Now()})
	time.Sleep(300 * time.Millisecond) // b waits for the lock
	a.killed = true
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-a.exited
	r := c.wait(b, chB)
	s := c.check("after the kill", []reply{r})
	after := time.Unix(0, r.End).Sub(killed)
	mints, abandoned := c.count("createMemberToken", ids[0], 200), 0
	for _, r := range c.srv.Requests() {
		if r.OperationID == "createMemberToken" && r.Status == 0 {
			abandoned++ // recorded without a member: never answered
		}
	}
	t.Logf("lease %v: b got its tokens %v after a was killed (%d calls, max latency %v); %d mint answered, %d abandoned by the killed process",
		lease, after.Round(time.Millisecond), s.calls, s.maxLatency, mints, abandoned)
	if after > lease+time.Second {
		t.Errorf("b waited %v after the kill, more than the lease (%v) plus a second", after, lease)
	}
	if mints != 1 || len(s.fps[ms[0]]) != 1 {
		t.Errorf("%d mints answered, %d access tokens; want 1 and 1", mints, len(s.fps[ms[0]]))
	}
}

// TestProcessesRedisRestart: Redis stopped while processes run, then
// started again (empty): no failed Token, no crash; the processes share
// again once it is back.
func TestProcessesRedisRestart(t *testing.T) {
	c := newCluster(t, clusterConfig{workers: 3})
	ms, ids := members(c.srv, 3)
	tokens := command{Op: "tokens", Members: ms, Goroutines: 4, Rounds: 2, Validate: true}
	c.check("before", c.all(nil, tokens))
	refreshes := func() int {
		n := 0
		for _, id := range ids {
			n += c.count("refreshAccessToken", id, 0)
		}
		return n
	}

	c.redis.Stop()
	c.srv.Advance(time.Hour)
	s := c.check("Redis down", c.all(nil, tokens))
	down := refreshes()
	t.Logf("Redis down, one expiry: %d calls, %d failures, %d refreshes for 3 members in 3 processes (each process on its own), max latency %v", s.calls, s.failures, down, s.maxLatency)
	if down < 3 || down > 9 {
		t.Errorf("%d refreshes with Redis down, want 3 to 9", down)
	}

	if err := c.redis.Restart(); err != nil {
		t.Fatal(err)
	}
	// After failed dials, go-redis stops dialing and probes the server
	// once a second; until its probe succeeds, calls fail at once.
	time.Sleep(1500 * time.Millisecond)
	for i := range 2 {
		c.srv.Advance(time.Hour)
		before := refreshes()
		s = c.check("Redis back", c.all(nil, tokens))
		n := refreshes() - before
		t.Logf("Redis back, expiry %d: %d calls, %d failures, %d refreshes for 3 members, max latency %v", i+1, s.calls, s.failures, n, s.maxLatency)
		if n != 3 {
			t.Errorf("Redis back, expiry %d: %d refreshes for 3 members, want 3", i+1, n)
		}
	}
	mints := 0
	for _, id := range ids {
		mints += c.count("createMemberToken", id, 0)
	}
	if mints != 3 {
		t.Errorf("%d mints for 3 members, want 3", mints)
	}
	audit(c)
}

// TestProcessesRevoke: a Revoke in one process is final in all. Quiet:
// the pair leaves Redis and Circle saw both tokens revoked. Busy: while
// three processes keep calling Token, none hands out the revoked access
// token more than about a second after the revoke, and one mint follows
// across all processes.
func TestProcessesRevoke(t *testing.T) {
	c := newCluster(t, clusterConfig{workers: 4})
	ms, ids := members(c.srv, 2)
	busy, quiet := ms[:1], ms[1:]
	c.check("first tokens", c.all(nil, command{Op: "tokens", Members: ms, Goroutines: 4, Rounds: 2}))
	ctx := context.Background()

	// Quiet.
	rv := c.wait(c.workers[0], c.send(c.workers[0], command{Op: "revoke", Members: quiet, Now: c.srv.Now()}))
	if n := c.rdb.Exists(ctx, "circle:{"+quiet[0]+"}:pair", "circle:{"+quiet[0]+"}:lock").Val(); n != 0 {
		t.Errorf("%d keys of the revoked member left in Redis", n)
	}
	acc, ref := c.count("revokeAccessToken", ids[1], 204), c.count("revokeRefreshToken", ids[1], 204)
	t.Logf("quiet revoke: %d access and %d refresh token revoked at Circle, member keys left: 0 checked", acc, ref)
	if acc != 1 || ref != 1 {
		t.Errorf("Circle revoked %d access and %d refresh tokens, want 1 and 1", acc, ref)
	}
	time.Sleep(200 * time.Millisecond) // the announcement reaches every process
	s := c.check("after the quiet revoke", c.all(nil, command{Op: "tokens", Members: quiet, Goroutines: 4, Rounds: 2, Validate: true}))
	if s.fps[quiet[0]][rv.Fingerprint] {
		t.Error("a process handed out the revoked access token 200 ms after the revoke")
	}
	if n := c.count("createMemberToken", ids[1], 0); n != 2 || len(s.fps[quiet[0]]) != 1 {
		t.Errorf("%d mints in all, %d access tokens after the revoke; want 2 and 1", n, len(s.fps[quiet[0]]))
	}

	// Busy.
	loopers := c.workers[1:]
	loop := command{Op: "loop", Members: busy, Goroutines: 4, Duration: 2500 * time.Millisecond, Now: c.srv.Now()}
	chs := make([]<-chan reply, len(loopers))
	for i, w := range loopers {
		chs[i] = c.send(w, loop)
	}
	time.Sleep(800 * time.Millisecond)
	mintsBefore := c.count("createMemberToken", ids[0], 0)
	rv = c.wait(c.workers[0], c.send(c.workers[0], command{Op: "revoke", Members: busy, Now: c.srv.Now()}))
	revoked := time.Unix(0, rv.End)
	var rs []reply
	for i, w := range loopers {
		rs = append(rs, c.wait(w, chs[i]))
	}
	s = c.check("busy revoke", rs)
	lag := -time.Hour
	for i, r := range rs {
		if f := r.Seen[busy[0]][rv.Fingerprint]; f != nil {
			lag = max(lag, time.Unix(0, f.Last).Sub(revoked))
			if d := time.Unix(0, f.Last).Sub(revoked); d > time.Second {
				t.Errorf("worker %d handed out the revoked access token %v after the revoke", i+1, d)
			}
		} else {
			t.Errorf("worker %d never saw the token that was revoked", i+1)
		}
	}
	mintsAfter := c.count("createMemberToken", ids[0], 0) - mintsBefore
	t.Logf("busy revoke (revoke took %v): %d Token calls in 3 processes, %d failures, the revoked access token last handed out %v after the revoke returned (negative: before), %d mints after it across all, %d access tokens in all, max latency %v",
		time.Duration(rv.End-rv.Start).Round(time.Millisecond), s.calls, s.failures, lag.Round(time.Millisecond), mintsAfter, len(s.fps[busy[0]]), s.maxLatency)
	if mintsAfter != 1 || len(s.fps[busy[0]]) != 2 {
		t.Errorf("%d mints after the revoke, %d access tokens in all; want 1 and 2", mintsAfter, len(s.fps[busy[0]]))
	}
	if c.count("revokeAccessToken", ids[0], 204) != 1 || c.count("revokeRefreshToken", ids[0], 204) != 1 {
		t.Error("Circle did not see both tokens of the busy member revoked once")
	}
	audit(c)
}
