// Package realtime follows Circle's real-time events, chat and
// notifications, as Go iterators.
//
// Circle serves them on its cable (wss://app.circle.so/cable), a WebSocket
// that speaks Rails' Action Cable protocol and that Circle's documentation
// calls a beta ("Websockets (Beta)"). A member's access token opens it,
// with an Origin the community allowed; subscriptions to channels
// (NotificationChannel, ChatRoomChannel, ...) then receive broadcasts.
//
// [Dial] opens a member's connection from a [circle.TokenSource]; its
// subscriptions ([Conn.Notifications], [Conn.ChatRooms], [Conn.ChatRoom],
// [Conn.Threads], [Conn.Subscribe]) are iter.Seq2[Event, error]. The
// connection reconnects, renews itself before the token expires, watches
// for a silent cable, and bounds what it reads and holds: see [Conn] for
// the rules. [Pool] keeps one connection per member for many members.
//
// Package circletest serves a fake cable for tests ([circletest.Server]'s
// PublishEvent and its cable controls).
package realtime
