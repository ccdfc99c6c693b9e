package contract

import (
	"fmt"
	"strings"
	"testing"

	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// pathKey prefixes the name of a path parameter among the known values
// given to invoke.
const pathKey = "path:"

// records makes, in e's community, one record of every kind the Member API
// keeps (a space e's member belongs to, an event post by them with a
// comment and a reply, a notification, a chat room with a message, a
// bookmark, an RSVP, a quiz attempt, an upload and an invitation link),
// and returns the values that name
// them for the call of o: its path parameters (under pathKey) and the body
// fields that name records. Each call gets records of its own, so that
// calls running in parallel, deletes included, do not meet.
func (e *env) records(t testing.TB, o *specOp) map[string]any {
	t.Helper()
	c := ctx(t)
	srv, me := e.srv, e.member.ID
	other := srv.AddMember(circletest.Member{Name: "Other", Email: fmt.Sprintf("other-%d@example.com", memberSeq.Add(1))})
	sp := srv.AddSpace(memberv1.Space{Name: "General"})
	spaceMember := srv.AddSpaceMember(sp.ID, me).SpaceMemberID
	invitation := fmt.Sprintf("invitation-%d", sp.ID)
	srv.AddInvitationLink(invitation, sp.ID)
	post := srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: sp.ID}, Name: "Meetup", PostType: "event", Author: memberv1.SharedCommunityMember{ID: int(me)}})
	comment := srv.AddComment(memberv1.Comment{PostID: post.ID, CommunityMemberID: int(me), BodyText: "First"})
	reply := srv.AddComment(memberv1.Comment{ParentCommentID: comment.ID, CommunityMemberID: int(me), BodyText: "Reply"})
	note := srv.AddNotification(me, memberv1.Notification{Action: "comment", NotifiableID: comment.ID, NotifiableType: "Comment"})
	room := srv.AddChatRoom(memberv1.ChatRoom{}, me, other.ID).ChatRoom
	msg := srv.AddChatMessage(room.UUID, memberv1.ChatRoomMessage{Sender: memberv1.ChatMessageSender{CommunityMemberID: int(me)}, Body: "hello"})

	bm, err := e.api.CreateBookmarkWithResponse(c, memberv1.CreateBookmarkJSONRequestBody{RecordID: post.ID, BookmarkType: "post"})
	if err != nil {
		t.Fatalf("seeding a bookmark: %v", err)
	}
	if _, err := e.api.CreateEventAttendeeWithResponse(c, post.ID); err != nil {
		t.Fatalf("seeding an RSVP: %v", err)
	}
	up, err := e.api.CreateDirectUploadWithResponse(c, memberv1.CreateDirectUploadJSONRequestBody{Blob: memberv1.DirectUploadBlob{
		Key: "k", Filename: "a.png", ContentType: "image/png", ByteSize: 1, Checksum: "c",
	}})
	if err != nil {
		t.Fatalf("seeding an upload: %v", err)
	}
	const quiz = 1
	qa, err := e.api.CreateQuizAttemptWithResponse(c, quiz, memberv1.CreateQuizAttemptJSONRequestBody{})
	if err != nil {
		t.Fatalf("seeding a quiz attempt: %v", err)
	}

	known := map[string]any{
		"record_id":              post.ID,
		"chat_room_message":      msg.ID,
		"parent_message_id":      msg.ID,
		"event_ids":              []any{post.ID},
		"flagged_contentable_id": post.ID,
		"community_member_ids":   []any{fmt.Sprint(other.ID)},
		"signed_id":              up.JSON200.SignedID, // the gallery of an image post
	}
	segs := strings.Split(o.path, "/")
	for i, seg := range segs {
		name, ok := strings.CutPrefix(seg, "{")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, "}")
		var v any
		switch name {
		case "space_id":
			v = sp.ID
		case "post_id", "event_id":
			v = post.ID
		case "comment_id":
			v = comment.ID
		case "community_member_id":
			v = me
		case "chat_room_uuid", "uuid":
			v = room.UUID
		case "quiz_id":
			v = quiz
		case "token":
			v = invitation
		case "id":
			v = map[string]any{
				"spaces": sp.ID, "space_members": spaceMember, "posts": post.ID, "comments": comment.ID,
				"replies": reply.ID, "bookmarks": bm.JSON201.ID, "notifications": note.ID,
				"chat_room_messages": msg.ID, "chat_room_participants": room.CurrentParticipant.ID,
				"post_followers": post.PostFollowerID, "attempts": qa.JSON201.ID,
			}[segs[i-1]]
			if segs[i-1] == "spaces" && strings.Contains(o.path, "notification_preferences") {
				v = spaceMember // a member's preferences for a space are named by their space member id
			}
		}
		if v != nil {
			known[pathKey+name] = v
		}
	}
	return known
}
