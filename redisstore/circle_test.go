package redisstore

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
)

// count returns how many calls of operation op for member reached srv and
// were answered with status (any status when status is 0).
func count(srv *circletest.Server, op string, member int64, status int) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.OperationID == op && (member == 0 || r.MemberID == member) && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}

func newAuth(t testing.TB, srv *circletest.Server, store circle.TokenStore, opts ...circle.Option) *circle.AuthClient {
	t.Helper()
	opts = append([]circle.Option{circle.WithBaseURL(srv.URL()), circle.WithClock(srv.Now), circle.WithTokenStore(store)}, opts...)
	a, err := circle.NewAuthClient(srv.AppToken(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// TestReplicasInOneProcess runs two clients, each with its own Store on
// one Redis, as two replicas would: one mint, one refresh per expiry, and
// a revoke in one is seen by the other.
func TestReplicasInOneProcess(t *testing.T) {
	_, rdb := startRedis(t)
	srv := circletest.Start(t)
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	key := newKey(t)
	a := newAuth(t, srv, newStore(t, rdb, WithEncryptionKey(key)))
	b := newAuth(t, srv, newStore(t, rdb, WithEncryptionKey(key)))
	id := circle.ByEmail(ada.Email)
	ctx := context.Background()

	tokens := func() map[string]bool {
		seen := map[string]bool{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 32 {
			wg.Go(func() {
				c := a
				if i%2 == 1 {
					c = b
				}
				tok, err := c.TokenSource(id).Token(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if !srv.Now().Before(tok.AccessTokenExpiresAt) {
					t.Error("handed out an expired token")
				}
				mu.Lock()
				seen[tok.AccessToken] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		return seen
	}
	if seen := tokens(); len(seen) != 1 {
		t.Errorf("%d access tokens for one member", len(seen))
	}
	if n := count(srv, "createMemberToken", ada.ID, 200); n != 1 {
		t.Errorf("%d mints, want 1", n)
	}
	for w := range 3 {
		srv.Advance(time.Hour)
		if seen := tokens(); len(seen) != 1 {
			t.Errorf("window %d: %d access tokens", w, len(seen))
		}
		if n := count(srv, "refreshAccessToken", ada.ID, 200); n != w+1 {
			t.Errorf("window %d: %d refreshes in all, want %d", w, n, w+1)
		}
	}
	if n := count(srv, "createMemberToken", ada.ID, 0); n != 1 {
		t.Errorf("%d mints after 3 expiries, want 1", n)
	}
	held, err := b.TokenSource(id).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	assertRedisClean(t, rdb, held.AccessToken, held.RefreshToken, string(key))

	// Revoke in a: the pair leaves Redis, Circle revoked both tokens, and b
	// stops handing out the revoked access token within a second.
	if err := a.TokenSource(id).Revoke(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, "circle:{email:ada@example.com}:pair", "circle:{email:ada@example.com}:lock").Val(); n != 0 {
		t.Errorf("%d keys of the member left after Revoke", n)
	}
	if count(srv, "revokeAccessToken", ada.ID, 204) != 1 || count(srv, "revokeRefreshToken", ada.ID, 204) != 1 {
		t.Errorf("Circle saw %d access and %d refresh token revokes, want 1 and 1",
			count(srv, "revokeAccessToken", ada.ID, 204), count(srv, "revokeRefreshToken", ada.ID, 204))
	}
	deadline := time.Now().Add(time.Second)
	for {
		tok, err := b.TokenSource(id).Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken != held.AccessToken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b still hands out the revoked access token a second after the revoke")
		}
		time.Sleep(5 * time.Millisecond)
	}
	tokens()
	if n := count(srv, "createMemberToken", ada.ID, 0); n != 2 {
		t.Errorf("%d mints in all after the revoke, want 2", n)
	}
}

// TestRoundTripsPerRefresh counts, with MONITOR, the commands a refresh
// sends to Redis: 3 (lock and load in one script, save, unlock).
func TestRoundTripsPerRefresh(t *testing.T) {
	_, rdb := startRedis(t)
	srv := circletest.Start(t)
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	storeRDB := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr, ContextTimeoutEnabled: true})
	defer func() { _ = storeRDB.Close() }()
	a := newAuth(t, srv, newStore(t, storeRDB, WithEncryptionKey(newKey(t))))
	ts := a.TokenSource(circle.ByEmail(ada.Email))
	ctx := context.Background()
	if _, err := ts.Token(ctx); err != nil { // mint; loads the scripts, opens connections
		t.Fatal(err)
	}

	cmds := monitor(t, rdb.Options().Addr)
	if _, err := ts.Token(ctx); err != nil { // cached: no Redis call
		t.Fatal(err)
	}
	if got := cmds(200 * time.Millisecond); len(got) != 0 {
		t.Errorf("a cached token cost Redis commands: %v", got)
	}
	srv.Advance(time.Hour)
	if _, err := ts.Token(ctx); err != nil { // refresh
		t.Fatal(err)
	}
	got := cmds(300 * time.Millisecond)
	t.Logf("one refresh: %d Redis round trips: %v", len(got), got)
	if want := []string{"evalsha", "set", "evalsha"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("one refresh sent %v, want %v", got, want)
	}
	if n := count(srv, "refreshAccessToken", ada.ID, 200); n != 1 {
		t.Errorf("%d refreshes", n)
	}
}

// monitor runs MONITOR on its own connection to addr and returns a func
// that collects, for d, the commands other clients send (not those run
// inside scripts), lower-cased.
func monitor(t testing.TB, addr string) func(d time.Duration) []string {
	t.Helper()
	var dialer net.Dialer
	c, err := dialer.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 10000)
	r := bufio.NewReader(c)
	if l, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(l, "+OK") {
		t.Fatalf("MONITOR: %q %v", l, err)
	}
	go func() {
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- l
		}
	}()
	return func(d time.Duration) []string {
		var out []string
		deadline := time.After(d)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					return out
				}
				_, rest, ok := strings.Cut(l, "] ")
				if !ok || strings.Contains(l, " lua]") {
					continue // commands run inside scripts
				}
				name, _, _ := strings.Cut(rest, " ")
				name = strings.ToLower(strings.Trim(strings.TrimSpace(name), `"`))
				if name == "ping" {
					continue // the revocation watch's health check
				}
				out = append(out, name)
			case <-deadline:
				return out
			}
		}
	}
}
