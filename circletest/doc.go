// Package circletest runs a fake of Circle's Headless APIs on loopback, for
// tests and offline examples, in the manner of net/http/httptest.
//
// A [Server] is built from the project's own specs, embedded in package
// openapi, so it needs no files. It serves both APIs on one address:
//
//   - The Auth API (/api/v1/headless/...) is stateful. Calls carry the
//     server's app token ([Server.AppToken]). It mints a token pair for a
//     member added with [Server.AddMember], refreshes access tokens and
//     revokes either token. Tokens are random, expire under a clock the test
//     controls ([Server.Advance]), and failures are answered with 401, 403,
//     404 or 422 and Circle's error body.
//   - The Member API (/api/headless/v1/...) needs, on every call, a live
//     access token of a known member (else 401). Every request is validated
//     against the spec (an invalid one is answered 400 and recorded).
//   - The Member API keeps one community's state. Seed it without HTTP
//     with [Server.AddSpace], [Server.AddSpaceMember], [Server.AddPost],
//     [Server.AddComment], [Server.AddNotification], [Server.AddChatRoom],
//     [Server.AddChatMessage] and [Server.AddInvitationLink] (records are
//     the generated memberv1 types; ids are assigned and never reused),
//     and every write operation
//     of the spec has its effect on the reads that show it: a post created
//     is listed and can be read back, a like changes is_liked and
//     user_likes_count, a deleted record is a 404 and gone from lists,
//     bookmarks, notifications and chat rooms belong to the member of the
//     token, lists page in Circle's order and searches find stored text.
//     [Server.Reset] empties the community and keeps members and tokens.
//     The few write operations whose effect no read shows are listed in
//     the README ("What it does not model"); they, and the reads of what
//     no write makes (courses, topics, links...), answer with a body
//     synthesised from the response schema.
//   - [Server.SetResponse] and [Server.SetRecords] register an answer for
//     one operation that takes the place of the state's (until
//     [Server.ClearResponse]); list operations honour page and per_page.
//
// Faults can be injected per operationId or for all operations
// ([Server.InjectFault]): an error status for the next N calls, a Retry-After
// header, latency, or a dropped connection. Every request is recorded
// ([Server.Requests], and [WithRequestHook] as it happens) so that a test
// can assert what reached Circle.
//
// The cable, Circle's real-time WebSocket (the Action Cable protocol of
// Circle's "Websockets (Beta)"), is served at ws://<URL>/cable
// ([CablePath]) for package realtime and its users: it checks the
// member's live access token and, when [Server.SetAllowedOrigins] names
// some, the Origin; sends the welcome and a ping every 3 s; and confirms
// subscriptions to NotificationChannel, ChatRoomChannel and
// ChatThreadsChannel keyed by the member's own id or by a room, rejecting
// others (another member's id, an unknown channel). State changes raise the events Circle sends: a notification
// added ([Server.AddNotification], or made by the Member API, such as a
// comment on someone's post) reaches its member as newNotification and
// updateNewNotificationCount, a reset of the count as
// resetNewNotificationCount, a chat message or room change reaches the
// room's participants. [Server.PublishEvent] sends any event to a
// member's subscriptions. Tests control the cable as they inject HTTP
// faults: [Server.DropCableConnections], [Server.DisconnectCable],
// [Server.SetCablePinging] and [Server.SetCablePingInterval],
// [Server.SetCableUnauthorized], [Server.SendCableFrame]; and observe it:
// [Server.CableHandshakes], [Server.CableConnections],
// [Server.CableSubscriptions].
//
// Operations are named by the operationIds of the project's specs, such as
// createMemberToken and listSpacePosts; the spelling of the generated Go
// names (CreateMemberToken) is accepted too.
//
// [NewServer] needs no *testing.T; [Start] is the shorthand for tests, and
// closes the server when the test ends. Command circlefake
// (cmd/circlefake) runs the same fake as a server with a demo community.
//
// Unlike stripe-mock, which checks that requests are right and answers
// from fixtures, the fake behaves like Circle for the common flows of a
// community website; what it does not model it says.
package circletest
