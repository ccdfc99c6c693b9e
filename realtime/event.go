package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// Event names of Circle's cable, as its "Websockets (Beta)" page lists
// them, and the one the package adds ([EventReconnected]).
const (
	// EventNewNotification: the member has a new in-app notification
	// (NotificationChannel). [Event.Notification] decodes it.
	EventNewNotification = "newNotification"
	// EventUpdateNewNotificationCount: the member's count of new
	// notifications changed (NotificationChannel).
	// [Event.NotificationCount] reads it.
	EventUpdateNewNotificationCount = "updateNewNotificationCount"
	// EventResetNewNotificationCount: every notification was marked read;
	// the count is 0 (NotificationChannel).
	EventResetNewNotificationCount = "resetNewNotificationCount"

	// EventChatRoomCreated: a chat room (not an embedded one) the member
	// takes part in was created (ChatRoomChannel). [Event.ChatRoom]
	// decodes it.
	EventChatRoomCreated = "chatRoomCreated"
	// EventChatRoomUpdated: a room was renamed, pinned, or changed one of
	// its room-wide settings (the member's ChatRoomChannel, and the room's
	// own channel).
	EventChatRoomUpdated = "chatRoomUpdated"
	// EventChatRoomDeleted: a room was deleted (ChatRoomChannel).
	EventChatRoomDeleted = "chatRoomDeleted"
	// EventChatRoomRead: the member read a room (ChatRoomChannel).
	EventChatRoomRead = "chatRoomRead"

	// EventMessageCreated, EventMessageUpdated and EventMessageDeleted are
	// the message events of a room's channel. Circle's beta page lists
	// them in a part this package could not verify word for word; when
	// Circle names them otherwise, the events still arrive, under
	// Circle's names, and [Event.ChatMessage] decodes them all the same.
	EventMessageCreated = "newMessage"
	EventMessageUpdated = "updatedMessage"
	EventMessageDeleted = "deletedMessage"

	// EventReconnected is the package's own event: the connection was
	// lost and is back, and this subscription is confirmed again. Events
	// sent while it was down are lost: refetch what the app shows through
	// the Member API. It is not sent after a planned renewal (see
	// [Conn]), which loses nothing.
	EventReconnected = "reconnected"
)

// Event is one event of a subscription: a broadcast of Circle's cable, or
// [EventReconnected]. Subscriptions to the same channel receive the same
// Data and Raw: read them, do not modify them.
type Event struct {
	// Name is Circle's event name ("newNotification", ...), or
	// "reconnected" after a gap.
	Name string
	// Data is the event's payload as Circle sent it: the "data" member of
	// the broadcast when it has one, else the whole broadcast. It is
	// empty for [EventReconnected].
	Data json.RawMessage
	// Raw is the broadcast (Action Cable's "message") exactly as the
	// cable sent it, for what the typed accessors do not cover.
	Raw json.RawMessage
	// Channel is the subscription the event came through.
	Channel Channel
	// Received is when the frame was read, by this machine's clock.
	Received time.Time
}

// ErrWrongEvent is returned by a typed accessor of [Event] asked about an
// event of another kind.
var ErrWrongEvent = errors.New("realtime: the event is not of the kind asked for")

// newEvent builds the event of a broadcast. A broadcast that is a JSON
// object with a string "event" (or "type") member is named by it, and its
// "data" member, if any, is the payload.
func newEvent(ch Channel, msg json.RawMessage, now time.Time) Event {
	e := Event{Raw: msg, Data: msg, Channel: ch, Received: now}
	var head struct {
		Event string          `json:"event"`
		Type  string          `json:"type"`
		Data  json.RawMessage `json:"data"`
	}
	if t := bytes.TrimSpace(msg); len(t) > 0 && t[0] == '{' && json.Unmarshal(t, &head) == nil {
		e.Name = head.Event
		if e.Name == "" {
			e.Name = head.Type
		}
		if len(head.Data) > 0 && !bytes.Equal(head.Data, []byte("null")) {
			e.Data = head.Data
		}
	}
	return e
}

// NotificationCount returns the member's count of new notifications that
// an [EventUpdateNewNotificationCount] or [EventResetNewNotificationCount]
// carries (Circle's new_notifications_count). A reset without a count is
// 0. Other events give [ErrWrongEvent].
func (e Event) NotificationCount() (int64, error) {
	if e.Name != EventUpdateNewNotificationCount && e.Name != EventResetNewNotificationCount {
		return 0, fmt.Errorf("%w: %s has no notification count", ErrWrongEvent, e.Name)
	}
	var v struct {
		Count *int64 `json:"new_notifications_count"`
	}
	if err := decode(e, &v); err != nil {
		return 0, err
	}
	if v.Count == nil {
		if e.Name == EventResetNewNotificationCount {
			return 0, nil
		}
		return 0, fmt.Errorf("realtime: %s carries no new_notifications_count", e.Name)
	}
	return *v.Count, nil
}

// Notification decodes an [EventNewNotification] into the Member API's
// notification type. Other events give [ErrWrongEvent].
func (e Event) Notification() (memberv1.Notification, error) {
	var n memberv1.Notification
	if e.Name != EventNewNotification {
		return n, fmt.Errorf("%w: %s is not %s", ErrWrongEvent, e.Name, EventNewNotification)
	}
	err := decode(e, &n)
	return n, err
}

// ChatRoom is a chat room as the chat room events carry it, with the
// fields Circle's beta page lists; the rest is in [Event.Data].
type ChatRoom struct {
	// ID is the room's id, as the Member API's chat operations take it.
	ID int64 `json:"id"`
	// UUID is the room's uuid, which chat messages name it by.
	UUID string `json:"uuid"`
	// Identifier is Circle's identifier of the room.
	Identifier string `json:"identifier"`
	// UnreadMessagesCount is how many of its messages the member has not
	// read.
	UnreadMessagesCount int64 `json:"unread_messages_count"`
	// Kind is the room's kind: "direct" or "group_chat".
	Kind string `json:"chat_room_kind"`
	// Name is the room's name.
	Name string `json:"chat_room_name"`
	// Description is the room's description.
	Description string `json:"chat_room_description"`
	// ShowHistory reports whether new participants see the messages sent
	// before they joined.
	ShowHistory bool `json:"chat_room_show_history"`
}

// ChatRoom decodes a chat room event ([EventChatRoomCreated],
// [EventChatRoomUpdated], [EventChatRoomDeleted], [EventChatRoomRead]).
// A payload that wraps the room in a "chat_room" member is unwrapped.
// Other events give [ErrWrongEvent].
func (e Event) ChatRoom() (ChatRoom, error) {
	var r ChatRoom
	switch e.Name {
	case EventChatRoomCreated, EventChatRoomUpdated, EventChatRoomDeleted, EventChatRoomRead:
	default:
		return r, fmt.Errorf("%w: %s is not a chat room event", ErrWrongEvent, e.Name)
	}
	var wrapped struct {
		ChatRoom json.RawMessage `json:"chat_room"`
	}
	if err := decode(e, &wrapped); err != nil {
		return r, err
	}
	if len(wrapped.ChatRoom) > 0 && wrapped.ChatRoom[0] == '{' {
		err := json.Unmarshal(wrapped.ChatRoom, &r)
		return r, decodeErr(e, err)
	}
	err := decode(e, &r)
	return r, err
}

// ChatMessage decodes a message event of a room's channel or of the
// threads channel into the Member API's chat message type. Every event
// that is not a notification or a chat room event counts as a message
// event, whatever Circle names it; a payload that wraps the message in a
// "chat_room_message" or "message" member is unwrapped.
func (e Event) ChatMessage() (memberv1.ChatRoomMessage, error) {
	var m memberv1.ChatRoomMessage
	switch e.Name {
	case EventNewNotification, EventUpdateNewNotificationCount, EventResetNewNotificationCount,
		EventChatRoomCreated, EventChatRoomUpdated, EventChatRoomDeleted, EventChatRoomRead, EventReconnected:
		return m, fmt.Errorf("%w: %s is not a message event", ErrWrongEvent, e.Name)
	}
	var wrapped struct {
		RoomMessage json.RawMessage `json:"chat_room_message"`
		Message     json.RawMessage `json:"message"`
	}
	if err := decode(e, &wrapped); err != nil {
		return m, err
	}
	for _, w := range []json.RawMessage{wrapped.RoomMessage, wrapped.Message} {
		if len(w) > 0 && w[0] == '{' {
			return m, decodeErr(e, json.Unmarshal(w, &m))
		}
	}
	return m, decode(e, &m)
}

func decode(e Event, v any) error {
	if len(e.Data) == 0 {
		return fmt.Errorf("realtime: %s carries no data", e.Name)
	}
	return decodeErr(e, json.Unmarshal(e.Data, v))
}

func decodeErr(e Event, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("realtime: decoding %s: %s", e.Name, shortErr(err))
}
