package bffevents_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/circlekit/headless-go/bff"
	"github.com/circlekit/headless-go/bff/bffevents"
	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/gen/memberv1"
	"github.com/circlekit/headless-go/realtime"
)

// both is the query of a stream of notifications and chat.
const both = "channels=" + bffevents.ChannelNotifications + "," + bffevents.ChannelChatRooms

// subscribedTo waits until the member's open connections are subscribed
// to exactly n channels at the fake.
func (e *env) subscribedTo(member int64, n int) {
	e.t.Helper()
	waitFor(e.t, "the member's channels are subscribed at the cable", func() bool {
		return len(e.fake.CableSubscriptions(member)) == n
	})
}

// say sends text to the chat room roomUUID as the member of email,
// through the fake's Member API (as the member's own app would), and
// returns the message as the room lists it.
func (e *env) say(email, roomUUID, text string) memberv1.ChatRoomMessage {
	e.t.Helper()
	client, err := circle.NewMemberClient(e.auth.TokenSource(circle.ByEmail(email)), circle.WithBaseURL(e.fake.URL()))
	if err != nil {
		e.t.Fatal(err)
	}
	body := memberv1.RichTextBody{Body: memberv1.RichTextDocument{Type: "doc", Content: []memberv1.RichTextBlock{{
		Type: "paragraph", Content: []memberv1.RichTextNode{{Type: "text", Text: text}},
	}}}}
	ctx := context.Background()
	if resp, err := client.CreateChatMessageWithResponse(ctx, roomUUID, memberv1.CreateChatMessageJSONRequestBody{RichTextBody: body}); err != nil {
		e.t.Fatal(err)
	} else if resp.StatusCode() >= 300 {
		e.t.Fatalf("createChatMessage: %d", resp.StatusCode())
	}
	msgs, err := client.ListChatMessagesWithResponse(ctx, roomUUID, nil)
	if err != nil || msgs.JSON200 == nil || len(msgs.JSON200.Records) == 0 {
		e.t.Fatalf("listChatMessages: %v", err)
	}
	return msgs.JSON200.Records[len(msgs.JSON200.Records)-1]
}

// With channels=notifications,chat_rooms one stream relays both of the
// member's channels: a message another participant writes through the
// Member API arrives as Circle's "newMessage" (then "chatRoomUpdated"), a
// notification as before, and after a drop each channel says
// "reconnected" with its name. No token reaches the stream, and bff's
// log line names the channels.
func TestChatEventsArrive(t *testing.T) {
	e := newEnv(t, 4)
	room := e.fake.AddChatRoom(memberv1.ChatRoom{}, e.ada, e.grace).ChatRoom
	s := e.openQuery("ada@example.com", both)
	e.subscribedTo(e.ada, 2)

	sent := e.say("grace@example.com", room.UUID, "hello Ada")
	m := s.next(t)
	if m.event != realtime.EventMessageCreated {
		t.Fatalf("first message %+v; want %s", m, realtime.EventMessageCreated)
	}
	for _, want := range []string{`"id":` + itoa(int64(sent.ID)), `"chat_room_uuid":"` + room.UUID + `"`, "hello Ada"} {
		if !strings.Contains(m.data, want) {
			t.Errorf("%s %s lacks %s", m.event, m.data, want)
		}
	}
	if m = s.next(t); m.event != realtime.EventChatRoomUpdated {
		t.Errorf("second message %+v; want %s", m, realtime.EventChatRoomUpdated)
	}

	e.fake.AddNotification(e.ada, memberv1.Notification{ActorName: "Grace Hopper", Action: "mention"})
	if m = s.next(t); m.event != realtime.EventNewNotification || !strings.Contains(m.data, "Grace Hopper") {
		t.Errorf("after a notification: %+v; want newNotification", m)
	}
	if m = s.next(t); m.event != realtime.EventUpdateNewNotificationCount {
		t.Errorf("after a notification: %+v; want updateNewNotificationCount", m)
	}

	e.fake.DropCableConnections()
	var gaps []string
	for range 2 {
		m = s.next(t)
		if m.event != realtime.EventReconnected {
			t.Fatalf("after a drop: %+v; want reconnected", m)
		}
		gaps = append(gaps, m.data)
	}
	slices.Sort(gaps)
	if want := []string{`{"channel":"chat_rooms"}`, `{"channel":"notifications"}`}; !slices.Equal(gaps, want) {
		t.Errorf("reconnected data %q; want %q", gaps, want)
	}

	text := s.all()
	s.close()
	for _, tok := range e.tokens("ada@example.com") {
		if strings.Contains(text, tok) {
			t.Error("the stream holds a token of the member")
		}
	}
	waitFor(t, "bff logs the stream's end", func() bool { return strings.Contains(e.logs.String(), "route=events") })
	logs := e.logs.String()
	for _, want := range []string{"channels=notifications,chat_rooms", "member=" + itoa(e.ada), "events=6", "end=client"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s: %s", want, logs)
		}
	}
}

// The channels parameter picks what is relayed: chat_rooms alone
// subscribes only the member's ChatRoomChannel (a notification is not
// relayed; the chat message that follows it is the first message), and
// no parameter subscribes only the NotificationChannel, as before.
func TestChannelsPickTheSubscriptions(t *testing.T) {
	e := newEnv(t, 4)
	room := e.fake.AddChatRoom(memberv1.ChatRoom{}, e.ada, e.grace).ChatRoom

	chat := e.openQuery("ada@example.com", "channels=chat_rooms")
	e.subscribedTo(e.ada, 1)
	if subs := e.fake.CableSubscriptions(e.ada); !strings.Contains(subs[0], "ChatRoomChannel") {
		t.Errorf("channels=chat_rooms subscribed %q", subs)
	}
	e.fake.AddNotification(e.ada, memberv1.Notification{Action: "mention"})
	e.say("grace@example.com", room.UUID, "only chat")
	if m := chat.next(t); m.event != realtime.EventMessageCreated {
		t.Errorf("chat_rooms stream: first message %+v; want %s", m, realtime.EventMessageCreated)
	}
	chat.close()
	e.subscribedTo(e.ada, 0)

	plain := e.open("grace@example.com")
	e.subscribedTo(e.grace, 1)
	if subs := e.fake.CableSubscriptions(e.grace); !strings.Contains(subs[0], "NotificationChannel") {
		t.Errorf("no channels parameter subscribed %q", subs)
	}
	e.say("ada@example.com", room.UUID, "not relayed")
	e.fake.AddNotification(e.grace, memberv1.Notification{Action: "mention"})
	if m := plain.next(t); m.event != realtime.EventNewNotification {
		t.Errorf("default stream: first message %+v; want %s", m, realtime.EventNewNotification)
	}
	// A repeated parameter counts too, and a channel named twice is
	// subscribed once.
	e.openQuery("ada@example.com", "channels=chat_rooms&channels=notifications,chat_rooms")
	e.subscribedTo(e.ada, 2)
}

// A channels parameter that names a channel the route does not relay, or
// none, is answered 400 with bff's JSON error before anything is dialled.
func TestUnknownChannelsRefusedBeforeDialling(t *testing.T) {
	e := newEnv(t, 4)
	for _, q := range []string{
		"channels=",
		"channels=chat",
		"channels=notifications,bogus",
		"channels=notifications,",
		"channels=threads",
		"channels=chat_room:7",
		"channels=NOTIFICATIONS",
		"channels=notifications&x=%zz", // a query that does not parse
		"channels=notifications" + strings.Repeat(",notifications", 20), // too long
	} {
		req := e.request(context.Background(), "ada@example.com")
		req.URL.RawQuery = q
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		if resp.StatusCode != http.StatusOK { // a stream would not end
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/json" ||
			!strings.Contains(string(body), `"error":"bad_request"`) {
			t.Errorf("%s: %d %s %s; want 400 bad_request", q, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	if hs := e.fake.CableHandshakes(); len(hs) != 0 {
		t.Errorf("refused requests dialled the cable %d times", len(hs))
	}
	if !strings.Contains(e.logs.String(), "end=bad_channels") {
		t.Errorf("the log does not say why: %s", e.logs.String())
	}
	e.openQuery("ada@example.com", both)
	if hs := e.fake.CableHandshakes(); len(hs) != 1 {
		t.Errorf("a valid channels parameter made %d handshakes; want 1", len(hs))
	}
}

// A client that goes away from a stream of both channels ends both
// subscriptions at the cable; with no idle time the connection closes
// too, and no goroutine is left.
func TestClientGoingAwayEndsEverySubscription(t *testing.T) {
	e := newEnv(t, 4, realtime.WithIdleTimeout(0))
	warm := e.openQuery("grace@example.com", both)
	e.subscribedTo(e.grace, 2)
	warm.close()
	waitFor(t, "grace's connection closes", func() bool { return e.fake.CableConnections(0) == 0 })
	before := runtime.NumGoroutine()

	s := e.openQuery("ada@example.com", both)
	e.subscribedTo(e.ada, 2)
	if runtime.NumGoroutine() <= before {
		t.Fatal("an open stream runs no goroutine; the count proves nothing")
	}
	t.Logf("an open stream of two channels: %d more goroutines in the process (both ends of the HTTP stream and of the cable, the fake's included)", runtime.NumGoroutine()-before)
	s.close()
	waitFor(t, "both subscriptions end at the cable", func() bool { return len(e.fake.CableSubscriptions(e.ada)) == 0 })
	waitFor(t, "the connection closes", func() bool { return e.fake.CableConnections(e.ada) == 0 })
	goroutinesBack(t, before)
}

// A chat event that carries the member's token is not relayed: the
// stream ends without it.
func TestNoTokenInChatEvents(t *testing.T) {
	e := newEnv(t, 4)
	s := e.openQuery("ada@example.com", both)
	e.subscribedTo(e.ada, 2)
	toks := e.tokens("ada@example.com")
	e.fake.PublishEvent(e.ada, "ChatRoomChannel", realtime.EventMessageCreated,
		map[string]any{"id": 1, "chat_room_uuid": "u-1", "body": "x" + toks[1] + "x"})
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the stream goes on after a chat event with the token: %q", s.all())
	}
	for _, tok := range toks {
		if strings.Contains(s.all(), tok) {
			t.Error("a token reached the stream")
		}
	}
	waitFor(t, "bff logs the stream's end", func() bool { return strings.Contains(e.logs.String(), "end=token_in_event") })
}

// When Circle refuses the member, both subscriptions end; the stream
// says so once, with a fixed kind, and ends.
func TestChatStreamEndsOnceWithAnError(t *testing.T) {
	e := newEnv(t, 4)
	s := e.openQuery("ada@example.com", both)
	e.subscribedTo(e.ada, 2)
	e.fake.SetCableUnauthorized(e.ada, true)
	e.fake.DropCableConnections()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the stream goes on after Circle refused the member: %q", s.all())
	}
	text := s.all()
	if n := strings.Count(text, "event: error"); n != 1 || !strings.Contains(text, `data: {"error":"unauthorized"}`) {
		t.Errorf("the stream ended with %d error events: %q; want one unauthorized", n, text)
	}
}

// The handler's operation check guards the channels as it guards the
// proxied operations: a host that keeps chat from its front end keeps it
// from the stream too, before anything is dialled.
func TestOperationCheckGuardsTheChannels(t *testing.T) {
	var asked sync.Map
	noChat := bff.WithOperationCheck(func(_ *http.Request, op string) error {
		asked.Store(op, true)
		if strings.HasPrefix(op, "listChat") {
			return errors.New("no chat on this site")
		}
		return nil
	})
	e := newEnvWith(t, 4, []bff.Option{noChat})
	for _, q := range []string{"channels=" + bffevents.ChannelChatRooms, both} {
		req := e.request(context.Background(), "ada@example.com")
		req.URL.RawQuery = q
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body []byte
		if resp.StatusCode != http.StatusOK { // a stream would not end
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"error":"forbidden"`) {
			t.Errorf("%s: %d %s; want 403 forbidden", q, resp.StatusCode, body)
		}
		if strings.Contains(string(body), "no chat on this site") {
			t.Errorf("%s: the check's text reached the browser: %s", q, body)
		}
	}
	if hs := e.fake.CableHandshakes(); len(hs) != 0 {
		t.Errorf("refused requests dialled the cable %d times", len(hs))
	}
	if !strings.Contains(e.logs.String(), "end=channel_not_allowed") {
		t.Errorf("the log does not say why: %s", e.logs.String())
	}
	for _, op := range []string{"listChatRooms", "listNotifications"} {
		if _, ok := asked.Load(op); !ok {
			t.Errorf("the check was not asked about %s", op)
		}
	}
	// Notifications, which the check allows, still stream.
	e.open("ada@example.com")
	if hs := e.fake.CableHandshakes(); len(hs) != 1 {
		t.Errorf("an allowed stream made %d handshakes; want 1", len(hs))
	}
}
