package redisstore_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circletest"
)

// TestProcessesLockWaitIsNotAStoreFailure: process a holds a member's
// lock while its mint is slow; process b needs the same member (and
// another), with a store timeout of 1 s, shorter than the wait. Waiting
// for the lock is not a store failure: b waits for a's pair or for the
// lease of a killed a to lapse, then loads, mints if it must, and saves.
// After each case every member has its pair in Redis, and a third
// process c adopts every pair with no mint.
func TestProcessesLockWaitIsNotAStoreFailure(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lease time.Duration // 0: the default, 5 s
		kill  bool          // kill a mid-mint
		mint  time.Duration // how long a's mint takes
	}{
		{"holder killed, lease 2s", 2 * time.Second, true, 30 * time.Second},
		{"holder killed, default lease 5s", 0, true, 30 * time.Second},
		{"holder alive, mint 3s", 0, false, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const storeTimeout = time.Second
			c := newCluster(t, clusterConfig{workers: 3, lease: tc.lease, storeTimeout: storeTimeout})
			lease := tc.lease
			if lease == 0 {
				lease = 5 * time.Second
			}
			ms, ids := members(c.srv, 2)
			a, b, third := c.workers[0], c.workers[1], c.workers[2]
			c.srv.InjectFault("createMemberToken", circletest.Fault{Latency: tc.mint, Times: 1})
			chA := c.send(a, command{Op: "tokens", Members: ms[:1], Goroutines: 1, Rounds: 1, Now: c.srv.Now()})
			lockKey := "circle:{" + ms[0] + "}:lock"
			ctx := context.Background()
			for deadline := time.Now().Add(10 * time.Second); c.rdb.Exists(ctx, lockKey).Val() == 0; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("worker a never took the lock")
				}
			}
			chB := c.send(b, command{Op: "tokens", Members: ms, Goroutines: 4, Rounds: 1, Seed: 2, Now: c.srv.Now()})
			var ra reply
			var killed time.Time
			if tc.kill {
				time.Sleep(1500 * time.Millisecond) // b waits for the lock longer than a store timeout
				a.killed = true
				if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = time.Now()
				<-a.exited
			} else {
				ra = c.wait(a, chA)
			}
			rb := c.wait(b, chB)
			sb := c.check("b", []reply{rb})

			// Every member has its pair in Redis.
			for _, m := range ms {
				if n := c.rdb.Exists(ctx, "circle:{"+m+"}:pair").Val(); n != 1 {
					t.Errorf("%s has no pair in Redis after b got its token", m)
				}
			}
			mintsBefore := c.count("createMemberToken", 0, 0)
			sc := c.check("c", c.all([]*worker{third}, command{Op: "tokens", Members: ms, Goroutines: 4, Rounds: 2, Validate: true}))
			mintsByC := c.count("createMemberToken", 0, 0) - mintsBefore
			for _, m := range ms {
				if len(sc.fps[m]) != 1 || len(sb.fps[m]) != 1 {
					t.Errorf("%s: %d access tokens in c, %d in b; want 1 each", m, len(sc.fps[m]), len(sb.fps[m]))
				}
				for fp := range sc.fps[m] {
					if !sb.fps[m][fp] {
						t.Errorf("%s: c holds another access token than b's", m)
					}
				}
			}
			answered := []int{c.count("createMemberToken", ids[0], 200), c.count("createMemberToken", ids[1], 200)}
			wait := time.Duration(rb.End - rb.Start)
			if tc.kill {
				wait = time.Unix(0, rb.End).Sub(killed)
			}
			t.Logf("figure: lease %v, store timeout %v, a's mint %v, killed %v: b waited %v (max Token latency %v); mints answered per member %v; pairs in Redis 2 of 2 checked; c adopted both with %d mints",
				lease, storeTimeout, tc.mint, tc.kill, wait.Round(time.Millisecond), sb.maxLatency.Round(time.Millisecond), answered, mintsByC)
			if mintsByC != 0 {
				t.Errorf("c minted %d times, want 0 (adopt the stored pairs)", mintsByC)
			}
			if answered[0] != 1 || answered[1] != 1 {
				t.Errorf("mints answered per member %v, want one each", answered)
			}
			if tc.kill && wait > lease+2*time.Second {
				t.Errorf("b waited %v after the kill, more than the lease (%v) and 2 s", wait, lease)
			}
			if !tc.kill {
				sa := c.check("a", []reply{ra})
				for fp := range sa.fps[ms[0]] {
					if !sb.fps[ms[0]][fp] {
						t.Error("b did not adopt a's pair")
					}
				}
			}
		})
	}
}
