package circletest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// watch records the events f's server raises, as "member channel name".
func watch(f *fixture) func() []string {
	var mu sync.Mutex
	var got []string
	observe := func(e event) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%d %s %s", e.member, e.channel, e.name))
	}
	f.s.observe.Store(&observe)
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
}

// TestEventsRaised checks who hears which real-time event when the state
// changes: the notified member for notifications and their count, every
// participant for a room's messages, the reader for a room read.
func TestEventsRaised(t *testing.T) {
	f := newFixture(t)
	events := watch(f)
	a, b := f.ada.ID, f.bob.ID
	want := func(step string, want ...string) {
		t.Helper()
		if got := events(); !slices.Equal(got, want) {
			t.Errorf("%s:\n got  %s\n want %s", step, strings.Join(got, "; "), strings.Join(want, "; "))
		}
	}
	run(t, func() {
		f.comment1(f.as, f.post.ID, "hi")
		want("Ada comments on Bob's post",
			fmt.Sprintf("%d NotificationChannel newNotification", b),
			fmt.Sprintf("%d NotificationChannel updateNewNotificationCount", b))
		must(f.bs.ResetNewNotificationsCountWithResponse(f.ctx))
		want("Bob resets his count", fmt.Sprintf("%d NotificationChannel updateNewNotificationCount", b))
		must(f.bs.MarkAllNotificationsReadWithResponse(f.ctx, memberv1.MarkAllNotificationsReadJSONRequestBody{}))
		want("Bob marks all read", fmt.Sprintf("%d NotificationChannel resetNewNotificationCount", b))

		r := f.room()
		want("Ada opens a room with Bob",
			fmt.Sprintf("%d ChatRoomChannel chatRoomCreated", a),
			fmt.Sprintf("%d ChatRoomChannel chatRoomCreated", b))
		id := f.say(r.UUID, "hello")
		want("Ada writes",
			fmt.Sprintf("%d ChatRoomChannel newMessage", a), fmt.Sprintf("%d ChatRoomChannel newMessage", b),
			fmt.Sprintf("%d ChatRoomChannel chatRoomUpdated", a), fmt.Sprintf("%d ChatRoomChannel chatRoomUpdated", b))
		must(f.as.UpdateChatMessageWithResponse(f.ctx, r.UUID, id, memberv1.UpdateChatMessageJSONRequestBody{RichTextBody: map[string]any{}}))
		want("Ada edits", fmt.Sprintf("%d ChatRoomChannel updatedMessage", a), fmt.Sprintf("%d ChatRoomChannel updatedMessage", b))
		must(f.bs.MarkChatRoomReadWithResponse(f.ctx, r.UUID))
		want("Bob reads", fmt.Sprintf("%d ChatRoomChannel chatRoomRead", b))
		must(f.as.DeleteChatMessageWithResponse(f.ctx, r.UUID, id))
		want("Ada deletes", fmt.Sprintf("%d ChatRoomChannel deletedMessage", a), fmt.Sprintf("%d ChatRoomChannel deletedMessage", b))
	})
}
