package realtime_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
	"github.com/circlekit/headless-go/realtime"
)

func TestNotificationsArriveTyped(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)

	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "updateNewNotificationCount", map[string]any{"new_notifications_count": 3})
	e := nextEvent(t, events)
	if e.Name != realtime.EventUpdateNewNotificationCount {
		t.Fatalf("name: got %q", e.Name)
	}
	if n, err := e.NotificationCount(); err != nil || n != 3 {
		t.Fatalf("count: got %d, %v; want 3", n, err)
	}
	if e.Channel.Name != "NotificationChannel" || !strings.Contains(string(e.Raw), `"event":"updateNewNotificationCount"`) {
		t.Errorf("channel %v, raw %s", e.Channel, e.Raw)
	}

	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "newNotification", memberv1.Notification{ID: 77, ActorName: "Grace", Action: "comment"})
	e = nextEvent(t, events)
	n, err := e.Notification()
	if err != nil || n.ID != 77 || n.ActorName != "Grace" {
		t.Fatalf("notification: got %+v, %v", n, err)
	}
	if _, err := e.NotificationCount(); !errors.Is(err, realtime.ErrWrongEvent) {
		t.Errorf("NotificationCount of a newNotification: got %v, want ErrWrongEvent", err)
	}

	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "resetNewNotificationCount", map[string]any{"new_notifications_count": 0})
	e = nextEvent(t, events)
	if n, err := e.NotificationCount(); err != nil || n != 0 || e.Name != realtime.EventResetNewNotificationCount {
		t.Fatalf("reset: got %q %d, %v", e.Name, n, err)
	}

	// Another member's events do not arrive.
	other := f.srv.AddMember(circletest.Member{Email: "bob@example.com"})
	f.srv.PublishEvent(other.ID, "NotificationChannel", "updateNewNotificationCount", map[string]any{"new_notifications_count": 9})
	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "updateNewNotificationCount", map[string]any{"new_notifications_count": 4})
	if n, _ := nextEvent(t, events).NotificationCount(); n != 4 {
		t.Fatalf("got count %d, want the member's own 4", n)
	}
}

func TestChatChannelsArriveTyped(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	rooms := consume(c.ChatRooms(t.Context()))
	room5 := consume(c.ChatRoom(t.Context(), 5))
	room6 := consume(c.ChatRoom(t.Context(), 6))
	threads := consume(c.Threads(t.Context()))
	f.subscribed(t, 4)

	f.srv.PublishEvent(f.member.ID, "ChatRoomChannel", "chatRoomCreated", map[string]any{
		"id": 5, "uuid": "r-5", "chat_room_name": "Lounge", "chat_room_kind": "group_chat", "unread_messages_count": 2,
	})
	e := nextEvent(t, rooms)
	r, err := e.ChatRoom()
	if err != nil || r.ID != 5 || r.Name != "Lounge" || r.Kind != "group_chat" || r.UnreadMessagesCount != 2 {
		t.Fatalf("chatRoomCreated: got %+v, %v", r, err)
	}
	// The room's own channel hears of its room, not the other's.
	if e := nextEvent(t, room5); e.Name != realtime.EventChatRoomCreated {
		t.Fatalf("room 5: got %q", e.Name)
	}

	f.srv.PublishEvent(f.member.ID, "ChatRoomChannel", realtime.EventMessageCreated, map[string]any{
		"id": 900, "chat_room_id": 5, "body": "hello", "sender": map[string]any{"name": "Grace"},
	})
	for _, ch := range []<-chan item{room5, rooms} {
		e := nextEvent(t, ch)
		m, err := e.ChatMessage()
		if err != nil || m.ID != 900 || m.Body != "hello" || m.Sender.Name != "Grace" {
			t.Fatalf("message: got %+v, %v", m, err)
		}
		if _, err := e.ChatRoom(); !errors.Is(err, realtime.ErrWrongEvent) {
			t.Errorf("ChatRoom of a message: got %v", err)
		}
	}
	f.srv.PublishEvent(f.member.ID, "ChatRoomChannel", realtime.EventMessageDeleted, map[string]any{"id": 901, "chat_room_id": 6})
	if m, err := nextEvent(t, room6).ChatMessage(); err != nil || m.ID != 901 {
		t.Fatalf("room 6: got %+v, %v", m, err)
	}
	select {
	case it := <-room5:
		t.Fatalf("room 5 got room 6's event %q", it.e.Name)
	case <-time.After(100 * time.Millisecond):
	}

	f.srv.PublishEvent(f.member.ID, "ChatThreadsChannel", "newMessage", map[string]any{"chat_room_message": map[string]any{"id": 5000, "chat_thread_id": 12}})
	if m, err := nextEvent(t, threads).ChatMessage(); err != nil || m.ID != 5000 || m.ChatThreadID != 12 {
		t.Fatalf("thread message: got %+v, %v", m, err)
	}
}

// expectReconnected reads events until EventReconnected (failing on any
// other), then checks that a new event arrives.
func expectReconnected(t *testing.T, f *fixture, events <-chan item) {
	t.Helper()
	e := nextEvent(t, events)
	if e.Name != realtime.EventReconnected {
		t.Fatalf("got %q, want %q", e.Name, realtime.EventReconnected)
	}
	f.subscribed(t, 1)
	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "updateNewNotificationCount", map[string]any{"new_notifications_count": 11})
	if n, err := nextEvent(t, events).NotificationCount(); err != nil || n != 11 {
		t.Fatalf("after reconnecting: got %d, %v", n, err)
	}
	if got := f.srv.CableConnections(f.member.ID); got != 1 {
		t.Errorf("open connections: %d, want 1", got)
	}
}

func TestReconnectsAfterDrop(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	f.srv.DropCableConnections()
	expectReconnected(t, f, events)
	if n, _ := f.accepted(); n != 2 {
		t.Errorf("welcomed handshakes: %d, want 2", n)
	}
}

func TestReconnectsWhenPingsStop(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	f.srv.SetCablePinging(false) // the socket stays open but silent
	waitFor(t, "a second connection", func() bool { n, _ := f.accepted(); return n >= 2 })
	f.srv.SetCablePinging(true)
	expectReconnected(t, f, events)
}

func TestReconnectsWhenDisconnectAllowsIt(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	if n := f.srv.DisconnectCable(f.member.ID, "server_restart", true); n != 1 {
		t.Fatalf("disconnected %d connections", n)
	}
	expectReconnected(t, f, events)
}

func TestDisconnectWithoutReconnectEnds(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	f.srv.DisconnectCable(f.member.ID, "remote", false)
	it := next(t, events)
	var d *realtime.DisconnectError
	if !errors.As(it.err, &d) || d.Reason != "remote" {
		t.Fatalf("got %v, want a *DisconnectError for remote", it.err)
	}
}

func TestRenewsBeforeTheTokenExpires(t *testing.T) {
	// Tokens live 4 s: the source refreshes 2 s before, the connection
	// renews 1 s before.
	f := newFixture(t, circletest.WithAccessTokenTTL(4*time.Second))
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	waitFor(t, "a renewal", func() bool { return c.Stats().Renewals >= 1 })
	n, tokens := f.accepted()
	if n < 2 || len(tokens) != n {
		t.Fatalf("welcomed handshakes %d with %d distinct tokens: each renewal needs a fresh token", n, len(tokens))
	}
	waitFor(t, "the old connection to close", func() bool { return f.srv.CableConnections(f.member.ID) == 1 })
	f.subscribed(t, 1)
	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "updateNewNotificationCount", map[string]any{"new_notifications_count": 5})
	e := nextEvent(t, events)
	if e.Name != realtime.EventUpdateNewNotificationCount {
		t.Fatalf("after a renewal: got %q (a renewal must not show a gap)", e.Name)
	}
	if f.count("refreshAccessToken") < 1 {
		t.Error("no refresh reached the Auth API")
	}
}

func TestTokenExpiredOnTheServerIsReplaced(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	// The server's clock jumps past the token's expiry: the cable
	// disconnects the member as unauthorized at its next beat, and the
	// connection refreshes through the source once and comes back.
	f.srv.Advance(2 * time.Hour)
	expectReconnected(t, f, events)
	if got := f.count("refreshAccessToken"); got != 1 {
		t.Errorf("refreshes: %d, want 1", got)
	}
	if _, tokens := f.accepted(); len(tokens) != 2 {
		t.Errorf("distinct tokens welcomed: %d, want 2", len(tokens))
	}
}

func TestUnauthorizedTwiceEnds(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	f.srv.SetCableUnauthorized(f.member.ID, true)
	f.srv.DisconnectCable(f.member.ID, "unauthorized", false)
	it := next(t, events)
	if !errors.Is(it.err, realtime.ErrUnauthorized) || !errors.Is(it.err, circle.ErrUnauthorized) {
		t.Fatalf("got %v, want ErrUnauthorized", it.err)
	}
	if got := f.count("refreshAccessToken"); got != 1 {
		t.Errorf("refreshes: %d, want exactly 1", got)
	}
	if !errors.Is(c.Err(), realtime.ErrUnauthorized) {
		t.Errorf("Conn.Err: %v", c.Err())
	}
	// A later subscription fails at once.
	if it := next(t, consume(c.Notifications(t.Context()))); !errors.Is(it.err, realtime.ErrUnauthorized) {
		t.Errorf("later subscription: %v", it.err)
	}
}

func TestDialRefusedTwiceIsUnauthorized(t *testing.T) {
	f := newFixture(t)
	f.srv.SetCableUnauthorized(f.member.ID, true)
	_, err := realtime.Dial(t.Context(), f.ts, f.options()...)
	if !errors.Is(err, realtime.ErrUnauthorized) {
		t.Fatalf("got %v, want ErrUnauthorized", err)
	}
	if got := f.count("refreshAccessToken"); got != 1 {
		t.Errorf("refreshes: %d, want 1", got)
	}
}

func TestHugeFrameEndsWithAnError(t *testing.T) {
	f := newFixture(t)
	// A watchdog longer than the time to read 1 MiB under the race
	// detector on a loaded machine.
	c := f.dial(t, realtime.WithStaleTimeout(5*time.Second))
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	huge := `{"identifier":"x","message":"` + strings.Repeat("a", 10<<20) + `"}`
	f.srv.SendCableFrame(f.member.ID, []byte(huge))
	it := next(t, events)
	if !errors.Is(it.err, realtime.ErrFrameTooLarge) {
		t.Fatalf("got %q, %v; want ErrFrameTooLarge", it.e.Name, it.err)
	}
	waitFor(t, "the socket to close", func() bool { return f.srv.CableConnections(f.member.ID) == 0 })
}

func TestGarbageFrameReconnects(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	f.srv.SendCableFrame(f.member.ID, []byte("<html>not json</html>"))
	expectReconnected(t, f, events)
}

func TestRejectedSubscription(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	ch := realtime.Channel{Name: "NotificationChannel", Params: map[string]any{"community_member_id": f.member.ID + 1}}
	it := next(t, consume(c.Subscribe(t.Context(), ch)))
	var se *realtime.SubscriptionError
	if !errors.As(it.err, &se) || !errors.Is(it.err, realtime.ErrRejected) || se.Channel.Name != "NotificationChannel" {
		t.Fatalf("got %v, want a rejection", it.err)
	}
	// The connection itself lives on.
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "resetNewNotificationCount", map[string]any{"new_notifications_count": 0})
	nextEvent(t, events)
}

func TestOriginIsSentAndChecked(t *testing.T) {
	f := newFixture(t)
	f.srv.SetAllowedOrigins("https://community.example.com")
	_, err := realtime.Dial(t.Context(), f.ts, f.options()...)
	var he *realtime.HandshakeError
	if !errors.As(err, &he) || he.StatusCode != http.StatusForbidden {
		t.Fatalf("without an Origin: got %v, want a 403 HandshakeError", err)
	}
	c, err := realtime.Dial(t.Context(), f.ts, f.options(realtime.WithOrigin("https://community.example.com"))...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	hs := f.srv.CableHandshakes()
	if last := hs[len(hs)-1]; !last.Accepted || last.Origin != "https://community.example.com" {
		t.Fatalf("handshake: %+v", last)
	}
}

func TestOptionsAreValidated(t *testing.T) {
	ts := circle.StaticTokenSource(circle.Token{AccessToken: "x", CommunityMemberID: 1})
	for name, opt := range map[string]realtime.Option{
		"base URL":      realtime.WithBaseURL("ftp://example.com"),
		"cable URL":     realtime.WithCableURL("https://example.com/cable"),
		"origin":        realtime.WithOrigin("https://example.com/path"),
		"frame size":    realtime.WithMaxFrameSize(10),
		"buffer":        realtime.WithBufferSize(0),
		"stale":         realtime.WithStaleTimeout(0),
		"backoff":       realtime.WithReconnectBackoff(time.Second, time.Millisecond),
		"idle":          realtime.WithIdleTimeout(-1),
		"handshake":     realtime.WithHandshakeTimeout(0),
		"http client":   realtime.WithHTTPClient(nil),
		"logger":        realtime.WithLogger(nil),
		"credentials":   realtime.WithBaseURL("https://user:pass@example.com"),
		"empty base":    realtime.WithBaseURL(""),
		"empty cable":   realtime.WithCableURL(""),
		"cable no host": realtime.WithCableURL("wss:///cable"),
	} {
		if _, err := realtime.Dial(t.Context(), ts, opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := realtime.Dial(t.Context(), nil); err == nil {
		t.Error("nil source: no error")
	}
}

func TestBreakingTheLoopClosesTheSocket(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "x", nil) // nobody yet
	go func() {
		waitFor(t, "the subscription", func() bool { return len(f.srv.CableSubscriptions(f.member.ID)) == 1 })
		f.srv.PublishEvent(f.member.ID, "NotificationChannel", "resetNewNotificationCount", map[string]any{"new_notifications_count": 0})
	}()
	for e, err := range c.Notifications(t.Context()) {
		if err != nil || e.Name != realtime.EventResetNewNotificationCount {
			t.Fatalf("got %q, %v", e.Name, err)
		}
		break
	}
	waitFor(t, "the socket to close", func() bool { return f.srv.CableConnections(f.member.ID) == 0 })

	// A new subscription opens it again.
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "resetNewNotificationCount", map[string]any{"new_notifications_count": 0})
	if e := nextEvent(t, events); e.Name != realtime.EventResetNewNotificationCount {
		t.Fatalf("after reopening: got %q", e.Name)
	}
}

func TestEndingTheContextEndsTheLoopQuietly(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	ctx, cancel := context.WithCancel(t.Context())
	events := consume(c.Notifications(ctx))
	f.subscribed(t, 1)
	cancel()
	select {
	case it, ok := <-events:
		if ok {
			t.Fatalf("got %+v after the context ended", it)
		}
	case <-time.After(wait):
		t.Fatal("the loop did not end")
	}
	waitFor(t, "the socket to close", func() bool { return f.srv.CableConnections(f.member.ID) == 0 })
}

func TestCloseEndsSubscriptions(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if it := next(t, events); !errors.Is(it.err, realtime.ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", it.err)
	}
	waitFor(t, "the socket to close", func() bool { return f.srv.CableConnections(f.member.ID) == 0 })
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestIdleTimeoutKeepsTheSocketAWhile(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t, realtime.WithIdleTimeout(300*time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	events := consume(c.Notifications(ctx))
	f.subscribed(t, 1)
	cancel()
	for range events {
	}
	if f.srv.CableConnections(f.member.ID) != 1 {
		t.Fatal("the socket closed before the idle timeout")
	}
	waitFor(t, "the idle close", func() bool { return f.srv.CableConnections(f.member.ID) == 0 })
}

func TestAClockFarBehindDoesNotLoopRenewals(t *testing.T) {
	f := newFixture(t)
	tok, err := f.ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// By this machine's clock the token expired an hour ago; the cable
	// still takes it.
	tok.AccessTokenExpiresAt = time.Now().Add(-time.Hour)
	c, err := realtime.Dial(t.Context(), circle.StaticTokenSource(tok), f.options()...)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	time.Sleep(500 * time.Millisecond)
	if s := c.Stats(); s.Connects != 1 || s.Renewals != 0 {
		t.Fatalf("stats %+v: a token that looks expired must not make the connection churn", s)
	}
	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "resetNewNotificationCount", map[string]any{"new_notifications_count": 0})
	nextEvent(t, events)
}

func TestSubscriptionsMadeDuringARenewalSurviveIt(t *testing.T) {
	f := newFixture(t, circletest.WithAccessTokenTTL(4*time.Second))
	c := f.dial(t)
	var want []string
	// Subscribe to a new room every 20 ms until the connection has
	// renewed itself (about 3 s in), so that some subscriptions land while
	// the renewed socket is being prepared.
	for i := int64(1); c.Stats().Renewals == 0; i++ {
		if i > 500 {
			t.Fatal("no renewal")
		}
		consume(c.ChatRoom(t.Context(), i))
		want = append(want, realtime.Channel{Name: "ChatRoomChannel", Params: map[string]any{"chat_room_id": i}}.String())
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 5 { // and a few after
		consume(c.ChatRoom(t.Context(), 1000+int64(i)))
		want = append(want, realtime.Channel{Name: "ChatRoomChannel", Params: map[string]any{"chat_room_id": 1000 + i}}.String())
	}
	waitFor(t, "one connection with every subscription", func() bool {
		return f.srv.CableConnections(f.member.ID) == 1 && len(f.srv.CableSubscriptions(f.member.ID)) == len(want)
	})
	got := f.srv.CableSubscriptions(f.member.ID)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("subscriptions after the renewal:\n%v\nwant\n%v", got, want)
	}
}

// A connection lives for hours: each token the cable welcomed and later
// refused (it expired on the server's clock, with no Member API call in
// between) is a first refusal, replaced once, however many come in a
// row. A member the cable truly refuses still ends with ErrUnauthorized.
func TestUnauthorizedHoursApartAreReplacedEachTime(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	for i := 1; i <= 3; i++ {
		f.srv.Advance(2 * time.Hour)
		expectReconnected(t, f, events)
		if got := f.count("refreshAccessToken"); got != i {
			t.Fatalf("after expiry %d: %d refreshes, want %d", i, got, i)
		}
	}
	if err := c.Err(); err != nil {
		t.Fatalf("the connection ended: %v", err)
	}
	f.srv.SetCableUnauthorized(f.member.ID, true)
	f.srv.DisconnectCable(f.member.ID, "unauthorized", false)
	if it := next(t, events); !errors.Is(it.err, realtime.ErrUnauthorized) {
		t.Fatalf("a member the cable refuses: got %v, want ErrUnauthorized", it.err)
	}
	if got := f.count("refreshAccessToken"); got != 4 {
		t.Errorf("refreshes: %d, want 4 (one for the refusal)", got)
	}
}

// With no idle time, a connection closes its socket as soon as its last
// subscription ends; one never subscribed keeps the socket Dial opened
// for the grace only (for a subscription made just after Dial, which
// uses it), then holds neither socket nor goroutine.
func TestNoIdleTimeClosesAConnectionNeverSubscribed(t *testing.T) {
	f := newFixture(t)
	// A grace longer than the test: what closes the socket below is the
	// end of the subscription.
	c := f.dial(t, realtime.WithIdleTimeout(0), realtime.WithFirstUseGrace(time.Minute))
	ctx, cancel := context.WithCancel(t.Context())
	events := consume(c.Notifications(ctx))
	f.subscribed(t, 1)
	if n, _ := f.accepted(); n != 1 {
		t.Fatalf("%d handshakes; the subscription made after Dial must use Dial's socket", n)
	}
	cancel()
	for range events {
	}
	waitFor(t, "the socket to close with the last subscription", func() bool {
		return f.srv.CableConnections(f.member.ID) == 0
	})

	before := runtime.NumGoroutine()
	start := time.Now()
	idle := f.dial(t, realtime.WithIdleTimeout(0), realtime.WithFirstUseGrace(200*time.Millisecond))
	waitFor(t, "the socket of a connection never subscribed to close", func() bool {
		return f.srv.CableConnections(f.member.ID) == 0
	})
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("closed after %v, within the grace", d)
	}
	if got := settle(before); got > before {
		t.Errorf("%d goroutines, %d before the connection", got, before)
	}
	// It opens again for a subscription.
	events = consume(idle.Notifications(t.Context()))
	f.subscribed(t, 1)
	f.srv.PublishEvent(f.member.ID, "NotificationChannel", "resetNewNotificationCount", map[string]any{"new_notifications_count": 0})
	nextEvent(t, events)
}
