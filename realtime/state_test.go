package realtime_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
	"github.com/circlekit/headless-go/realtime"
)

// TestStateChangesReachSubscribers checks the fake end to end: a chat
// message created through the Member API reaches the other participant's
// room channels over the cable, and a notification reaches its member.
func TestStateChangesReachSubscribers(t *testing.T) {
	f := newFixture(t)
	bob := f.srv.AddMember(circletest.Member{Email: "bob@example.com", Name: "Bob"})
	room := f.srv.AddChatRoom(memberv1.ChatRoom{}, f.member.ID, bob.ID).ChatRoom

	// Bob listens; Ada writes through the Member API.
	bobTS := f.auth.TokenSource(circle.ByEmail(bob.Email))
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, err := realtime.Dial(ctx, bobTS, f.options()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	rooms := consume(conn.ChatRooms(t.Context()))
	one := consume(conn.ChatRoom(t.Context(), int64(room.ID)))
	other := consume(conn.ChatRoom(t.Context(), int64(room.ID)+1000))
	notes := consume(conn.Notifications(t.Context()))
	waitFor(t, "Bob's subscriptions", func() bool { return len(f.srv.CableSubscriptions(bob.ID)) == 4 })

	ada, err := circle.NewMemberClient(f.ts, circle.WithBaseURL(f.srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	body := memberv1.RichTextBody{Body: memberv1.RichTextDocument{Type: "doc", Content: []memberv1.RichTextBlock{{
		Type: "paragraph", Content: []memberv1.RichTextNode{{Type: "text", Text: "hello Bob"}},
	}}}}
	if _, err := ada.CreateChatMessageWithResponse(ctx, room.UUID, memberv1.CreateChatMessageJSONRequestBody{RichTextBody: body}); err != nil {
		t.Fatal(err)
	}
	msgs, err := ada.ListChatMessagesWithResponse(ctx, room.UUID, nil)
	if err != nil {
		t.Fatal(err)
	}
	sent := msgs.JSON200.Records[len(msgs.JSON200.Records)-1]

	for name, ch := range map[string]<-chan item{"ChatRooms": rooms, "ChatRoom": one} {
		e := nextEvent(t, ch)
		if e.Name != realtime.EventMessageCreated {
			t.Fatalf("%s: first event %q, want %q", name, e.Name, realtime.EventMessageCreated)
		}
		m, err := e.ChatMessage()
		if err != nil || m.ID != sent.ID || m.ChatRoomUUID != room.UUID {
			t.Fatalf("%s: message %+v, %v; want id %d in room %s", name, m, err, sent.ID, room.UUID)
		}
	}
	// The room's update follows on the member's rooms channel.
	if e := nextEvent(t, rooms); e.Name != realtime.EventChatRoomUpdated {
		t.Errorf("ChatRooms: second event %q, want %q", e.Name, realtime.EventChatRoomUpdated)
	}

	f.srv.AddNotification(bob.ID, memberv1.Notification{Action: "mention"})
	e := nextEvent(t, notes)
	if e.Name != realtime.EventNewNotification {
		t.Fatalf("notifications: first event %q, want %q", e.Name, realtime.EventNewNotification)
	}
	e = nextEvent(t, notes)
	n, err := e.NotificationCount()
	if e.Name != realtime.EventUpdateNewNotificationCount || err != nil || n != 1 {
		t.Fatalf("notifications: got %q count %d, %v; want %q 1", e.Name, n, err, realtime.EventUpdateNewNotificationCount)
	}

	// Another room's channel heard nothing of this room.
	select {
	case it := <-other:
		t.Fatalf("another room's channel got %q", fmt.Sprint(it.e.Name, it.err))
	default:
	}
}
