package circletest

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// The real-time channels and events Circle announces state changes on
// (Circle's "Websockets (Beta)" page), as the fake raises them.
const (
	channelNotifications = "NotificationChannel"
	channelChatRooms     = "ChatRoomChannel"

	eventNewNotification            = "newNotification"
	eventUpdateNewNotificationCount = "updateNewNotificationCount"
	eventResetNewNotificationCount  = "resetNewNotificationCount"

	eventChatRoomCreated = "chatRoomCreated"
	eventChatRoomUpdated = "chatRoomUpdated"
	eventChatRoomRead    = "chatRoomRead"
	// chatRoomDeleted is not raised: no Member API operation deletes a room.

	eventChatMessageCreated = "newMessage"
	eventChatMessageUpdated = "updatedMessage"
	eventChatMessageDeleted = "deletedMessage"
)

// event is one real-time event for one member. data is the record it
// carries, already encoded: it is encoded when the event is queued, with
// the server's lock held, so that a later change to the record (a
// reaction added to a message in place) neither races with the encoding
// nor shows in an event raised before it.
type event struct {
	member        int64
	channel, name string
	data          json.RawMessage
}

// events collects the events a change raises while the server's lock is
// held; they are sent before it is released, so that the events of two
// changes arrive in the order of the changes (the count of new
// notifications each carries ends on the last one). This is safe because
// sending never waits and never takes s.mu: PublishEvent takes only the
// cable hub's lock, the hub never takes s.mu while holding its own, and a
// connection's queue drops a client too slow to keep up rather than
// block.
type events []event

// add queues the event name on channel for member, with data (a memberv1
// record, a roomMessage, or the new-notification count) encoded now.
// s.mu is held.
func (ev *events) add(member int64, channel, name string, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(fmt.Sprintf("circletest: event %q: %v", name, err))
	}
	*ev = append(*ev, event{member: member, channel: channel, name: name, data: raw})
}

// send announces the events collected, in order, to their members over
// the cable, as Circle does over its WebSocket endpoint (see
// [Server.PublishEvent]). s.mu is held; the package's tests' observe hook
// is called with it held and must not call the server.
func (ev events) send(s *Server) {
	for _, e := range ev {
		if observe := s.observe.Load(); observe != nil {
			(*observe)(e) // the package's tests watch the events raised
		}
		s.PublishEvent(e.member, e.channel, e.name, e.data)
	}
}

// roomMessage is a chat message as a real-time event carries it: the
// record and the id of its room. Circle's message names its room by uuid
// only; the event gains the room's id too (chat_room_id), so that a
// subscription to one room by its id (realtime's Conn.ChatRoom) hears the
// messages of that room.
type roomMessage struct {
	msg    memberv1.ChatRoomMessage
	roomID int
}

// MarshalJSON encodes the message's fields and chat_room_id.
func (m roomMessage) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(m.msg)
	if err != nil || m.roomID == 0 {
		return b, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, err
	}
	if _, ok := fields["chat_room_id"]; !ok {
		fields["chat_room_id"] = json.RawMessage(strconv.Itoa(m.roomID))
	}
	return json.Marshal(fields)
}
