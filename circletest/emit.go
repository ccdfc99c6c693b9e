package circletest

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

// emit announces a change of state to the member memberID, as Circle does
// over its WebSocket endpoint: name is the event on channel
// (NotificationChannel or ChatRoomChannel) and data the record it carries
// (a memberv1 record, or the new-notification count). It is called for
// each member who should hear the event, without the server's lock held.
//
// It does nothing yet: the real-time work (the cable endpoint of
// circletest, Server.PublishEvent) wires it to the members' subscriptions.
// Until then the state changes are visible through the Member API only.
func (s *Server) emit(memberID int64, channel, name string, data any) {
	_, _, _, _ = memberID, channel, name, data
}
