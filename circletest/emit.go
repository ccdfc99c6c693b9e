package circletest

import (
	"encoding/json"
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

// event is one real-time event for one member.
type event struct {
	member        int64
	channel, name string
	data          any
}

// events collects the events a change raises while the server's lock is
// held; they are sent after it is released, so that whatever receives
// them may call the server.
type events []event

func (ev *events) add(member int64, channel, name string, data any) {
	*ev = append(*ev, event{member: member, channel: channel, name: name, data: data})
}

// send emits the events collected, in order. s.mu must not be held.
func (ev events) send(s *Server) {
	for _, e := range ev {
		if observe := s.observe.Load(); observe != nil {
			(*observe)(e) // the package's tests watch the events raised
		}
		s.emit(e.member, e.channel, e.name, e.data)
	}
}

// emit announces a change of state to the member memberID over the
// cable, as Circle does over its WebSocket endpoint: name is the event on
// channel (NotificationChannel or ChatRoomChannel) and data the record it
// carries (a memberv1 record, or the new-notification count). It is called
// for each member who should hear the event, without the server's lock
// held.
//
// A chat message names its room by uuid only; the event gains the room's
// id too (chat_room_id), so that a subscription to one room by its id
// (realtime's Conn.ChatRoom) hears the messages of that room.
func (s *Server) emit(memberID int64, channel, name string, data any) {
	if m, ok := data.(memberv1.ChatRoomMessage); ok {
		data = roomMessage{m, s.roomID(m.ChatRoomUUID)}
	}
	s.PublishEvent(memberID, channel, name, data)
}

// roomMessage is a chat message as a real-time event carries it: the
// record and the id of its room.
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

// roomID is the id of the chat room with the uuid given, or 0.
func (s *Server) roomID(uuid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return 0
	}
	if r := s.c.rooms[uuid]; r != nil {
		return r.id
	}
	return 0
}
