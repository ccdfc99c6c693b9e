package circletest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// seeded is a community holding one record of every kind the Member API
// keeps, so that every operation can name existing records.
type seeded struct {
	member, other                   Member
	space, spaceMember, post        int
	comment, reply, bookmark        int
	notification, message, follower int
	participant, quizAttempt        int
	room, invitation, upload        string
}

// seedEveryKind empties s's community and fills it with one record of
// every kind, member (whose token is token) owning them where records
// have an owner.
func seedEveryKind(t testing.TB, s *Server, member Member, token string) seeded {
	t.Helper()
	s.Reset()
	d := seeded{member: member, other: s.AddMember(Member{Name: "Other Member"})}
	sp := s.AddSpace(memberv1.Space{Name: "General"})
	d.space = sp.ID
	d.invitation = "welcome"
	s.AddInvitationLink(d.invitation, sp.ID)
	d.spaceMember = s.AddSpaceMember(sp.ID, member.ID).SpaceMemberID
	p := s.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: sp.ID}, Name: "Meetup", PostType: "event", Author: memberv1.SharedCommunityMember{ID: int(member.ID)}})
	d.post, d.follower = p.ID, p.PostFollowerID
	d.comment = s.AddComment(memberv1.Comment{PostID: p.ID, CommunityMemberID: int(member.ID), BodyText: "First"}).ID
	d.reply = s.AddComment(memberv1.Comment{ParentCommentID: d.comment, CommunityMemberID: int(member.ID), BodyText: "Reply"}).ID
	d.notification = s.AddNotification(member.ID, memberv1.Notification{Action: "comment", NotifiableID: d.comment, NotifiableType: "Comment"}).ID
	room := s.AddChatRoom(memberv1.ChatRoom{}, member.ID, d.other.ID)
	d.room, d.participant = room.ChatRoom.UUID, room.ChatRoom.CurrentParticipant.ID
	d.message = s.AddChatMessage(d.room, memberv1.ChatRoomMessage{Sender: memberv1.ChatMessageSender{CommunityMemberID: int(member.ID)}, Body: "hello"}).ID
	for _, w := range []struct{ path, body string }{
		{"/api/headless/v1/bookmarks", fmt.Sprintf(`{"record_id":%d,"bookmark_type":"post"}`, d.post)},
		{fmt.Sprintf("/api/headless/v1/events/%d/event_attendees", d.post), ""},
		{"/api/headless/v1/quizzes/1/attempts", `{}`},
		{"/api/headless/v1/direct_uploads", `{"blob":{"key":"k","filename":"a.png","content_type":"image/png","byte_size":1,"checksum":"c"}}`},
	} {
		var body any
		if w.body != "" {
			body = []byte(w.body)
		}
		status, _, b := call(t, s, "POST", w.path, token, body)
		if status/100 != 2 {
			t.Fatalf("seeding %s: %d %s", w.path, status, b)
		}
		var rec struct {
			ID       int
			SignedID string `json:"signed_id"`
		}
		_ = json.Unmarshal(b, &rec)
		switch {
		case strings.HasSuffix(w.path, "direct_uploads"):
			d.upload = rec.SignedID
		case strings.HasSuffix(w.path, "bookmarks"):
			d.bookmark = rec.ID
		case strings.HasSuffix(w.path, "attempts"):
			d.quizAttempt = rec.ID
		}
	}
	return d
}

// pathValues gives the path parameters of the operation path template
// the ids of d's records, by the name of each parameter and, for {id},
// the collection it follows.
func (d seeded) pathValues(template string) map[string]string {
	out := map[string]string{}
	segs := strings.Split(template, "/")
	for i, seg := range segs {
		if !strings.HasPrefix(seg, "{") {
			continue
		}
		name := strings.Trim(seg, "{}")
		prev := ""
		if i > 0 {
			prev = segs[i-1]
		}
		var v any
		switch name {
		case "space_id":
			v = d.space
		case "post_id", "event_id":
			v = d.post
		case "comment_id":
			v = d.comment
		case "community_member_id":
			v = d.member.ID
		case "chat_room_uuid", "uuid":
			v = d.room
		case "token":
			v = d.invitation
		case "quiz_id", "course_id", "lesson_id":
			v = 1
		case "medium", "notification_preference_medium":
			v = "in_app"
		case "id":
			switch prev {
			case "spaces":
				v = d.space
				if strings.Contains(template, "notification_preferences") {
					v = d.spaceMember
				}
			case "space_members":
				v = d.spaceMember
			case "posts":
				v = d.post
			case "comments":
				v = d.comment
			case "replies":
				v = d.reply
			case "bookmarks":
				v = d.bookmark
			case "notifications":
				v = d.notification
			case "chat_room_messages":
				v = d.message
			case "chat_room_participants":
				v = d.participant
			case "post_followers":
				v = d.follower
			case "attempts":
				v = d.quizAttempt
			default:
				v = 1
			}
		default:
			continue
		}
		out[name] = fmt.Sprint(v)
	}
	return out
}

// patchBody sets the fields of a synthesised request body that name
// records to d's: the members of a new chat room, a reaction's message.
func (d seeded) patchBody(op string) func(map[string]any) {
	return func(body map[string]any) {
		switch op {
		case "createChatRoom":
			if room, ok := body["chat_room"].(map[string]any); ok {
				room["community_member_ids"] = []any{fmt.Sprint(d.other.ID)}
			}
		case "createChatMessage":
			body["parent_message_id"] = d.message
		case "createImagePost":
			if g, ok := body["gallery_attributes"].(map[string]any); ok {
				if imgs, ok := g["images_attributes"].([]any); ok {
					for _, img := range imgs {
						if m, ok := img.(map[string]any); ok {
							m["signed_id"] = d.upload
						}
					}
				}
			}
		case "createReaction", "deleteReaction":
			body["chat_room_message"] = d.message
		case "createBookmark":
			body["record_id"], body["bookmark_type"] = d.post, "post"
		case "updateRecurringEventAttendance":
			body["event_ids"] = []any{d.post}
		case "createFlaggedContent":
			if f, ok := body["flagged_content"].(map[string]any); ok {
				f["flagged_contentable_id"], f["flagged_contentable_type"] = d.post, "Post"
			}
		}
	}
}
