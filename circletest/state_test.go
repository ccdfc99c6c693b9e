package circletest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/gen/memberv1"
	"github.com/circlekit/headless-go/openapi"
)

// fixture is a small community on a fake Circle: two members, Ada and
// Bob, who both belong to a space where Bob wrote a post and a comment,
// and a Member API client acting for each, through package circle.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	s        *Server
	ada, bob Member
	as, bs   *memberv1.ClientWithResponses // Ada's and Bob's clients
	space    memberv1.Space
	post     memberv1.Post
	comment  memberv1.Comment
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := Start(t, WithResponseValidation())
	f := &fixture{t: t, ctx: t.Context(), s: s}
	f.ada = s.AddMember(Member{Email: "ada@example.com", Name: "Ada Lovelace"})
	f.bob = s.AddMember(Member{Email: "bob@example.com", Name: "Bob Babbage"})
	auth, err := circle.NewAuthClient(s.AppToken(), circle.WithBaseURL(s.URL()))
	if err != nil {
		t.Fatal(err)
	}
	client := func(m Member) *memberv1.ClientWithResponses {
		api, err := circle.NewMemberClient(auth.TokenSource(circle.ByEmail(m.Email)), circle.WithBaseURL(s.URL()))
		if err != nil {
			t.Fatal(err)
		}
		return api
	}
	f.as, f.bs = client(f.ada), client(f.bob)
	f.space = s.AddSpace(memberv1.Space{Name: "General"})
	s.AddSpaceMember(f.space.ID, f.ada.ID)
	s.AddSpaceMember(f.space.ID, f.bob.ID)
	f.post = s.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: f.space.ID}, Name: "Welcome", BodyPlainText: "Say hello", Author: memberv1.SharedCommunityMember{ID: int(f.bob.ID)}})
	f.comment = s.AddComment(memberv1.Comment{PostID: f.post.ID, CommunityMemberID: int(f.bob.ID), BodyText: "First!"})
	t.Cleanup(f.allValid)
	return f
}

// allValid fails the test if a request the fake received was invalid or
// an answer it made did not match the spec.
func (f *fixture) allValid() {
	for _, r := range f.s.Requests() {
		if r.ValidationError != nil {
			f.t.Errorf("%s: invalid request: %v", r.OperationID, r.ValidationError)
		}
		if r.ResponseError != nil {
			f.t.Errorf("%s: answer does not match the spec: %v", r.OperationID, r.ResponseError)
		}
	}
}

// callFailed is the panic of must, turned into a test failure by run.
type callFailed struct{ err error }

// must returns v, or stops the effect test run by [run] when err is not
// nil (a call failed).
func must[T any](v T, err error) T {
	if err != nil {
		panic(callFailed{err})
	}
	return v
}

// run runs fn, failing t with the error of a call that fn's must found
// failed.
func run(t *testing.T, fn func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			cf, ok := r.(callFailed)
			if !ok {
				panic(r)
			}
			t.Fatalf("a call failed: %v", cf.err)
		}
	}()
	fn()
}

// wantNotFound fails the test unless err is a 404.
func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, circle.ErrNotFound) {
		t.Errorf("%s: err = %v, want a 404", what, err)
	}
}

func (f *fixture) getPost(api *memberv1.ClientWithResponses, id int) memberv1.Post {
	f.t.Helper()
	return *must(api.GetSpacePostWithResponse(f.ctx, f.space.ID, id)).JSON200
}

func (f *fixture) getComment(api *memberv1.ClientWithResponses, id int) memberv1.Comment {
	f.t.Helper()
	return *must(api.GetCommentWithResponse(f.ctx, f.post.ID, id)).JSON200
}

func (f *fixture) spacePostIDs(api *memberv1.ClientWithResponses) []int {
	f.t.Helper()
	var ids []int
	for _, p := range must(api.ListSpacePostsWithResponse(f.ctx, f.space.ID, nil)).JSON200.Records {
		ids = append(ids, p.ID)
	}
	return ids
}

func (f *fixture) notifications(api *memberv1.ClientWithResponses, status memberv1.ListNotificationsParamsStatus) []memberv1.Notification {
	f.t.Helper()
	return must(api.ListNotificationsWithResponse(f.ctx, &memberv1.ListNotificationsParams{Status: &status})).JSON200.Records
}

func (f *fixture) comment1(api *memberv1.ClientWithResponses, postID int, text string) memberv1.Comment {
	f.t.Helper()
	return *must(api.CreateCommentWithResponse(f.ctx, postID, memberv1.CreateCommentJSONRequestBody{Comment: memberv1.CommentInput{Body: text}})).JSON201
}

func (f *fixture) event(name string) memberv1.Post {
	return f.s.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: f.space.ID}, Name: name, PostType: "event", Author: memberv1.SharedCommunityMember{ID: int(f.bob.ID)}})
}

func (f *fixture) room() memberv1.ChatRoomDetails {
	f.t.Helper()
	return must(f.as.CreateChatRoomWithResponse(f.ctx, memberv1.CreateChatRoomJSONRequestBody{ChatRoom: memberv1.NewChatRoom{
		Kind: "direct", CommunityMemberIds: []string{fmt.Sprint(f.bob.ID)},
	}})).JSON200.ChatRoom
}

func text(s string) memberv1.RichTextBody {
	return memberv1.RichTextBody{Body: memberv1.RichTextDocument{Type: "doc", Content: []memberv1.RichTextBlock{{
		Type: "paragraph", Content: []memberv1.RichTextNode{{Type: "text", Text: s}},
	}}}}
}

func (f *fixture) say(room string, s string) int {
	f.t.Helper()
	must(f.as.CreateChatMessageWithResponse(f.ctx, room, memberv1.CreateChatMessageJSONRequestBody{RichTextBody: text(s)}))
	msgs := must(f.as.ListChatMessagesWithResponse(f.ctx, room, nil)).JSON200.Records
	return msgs[len(msgs)-1].ID
}

func (f *fixture) spaceMemberID(api *memberv1.ClientWithResponses) int {
	f.t.Helper()
	return must(api.GetSpaceWithResponse(f.ctx, f.space.ID)).JSON200.SpaceMemberID
}

// writeEffects holds, for each modelled write operation of the Member
// spec, a test that makes the write and reads back its effect.
var writeEffects = map[string]func(f *fixture){
	"createPost": func(f *fixture) {
		p := must(f.as.CreatePostWithResponse(f.ctx, f.space.ID, memberv1.CreatePostJSONRequestBody{Name: "Hello", Body: "My first post"})).JSON200
		got := f.getPost(f.bs, p.ID)
		if got.Name != "Hello" || got.BodyPlainText != "My first post" || got.Author.ID != int(f.ada.ID) || got.Author.Name != "Ada Lovelace" {
			f.t.Errorf("Bob reads %+v", got)
		}
		if ids := f.spacePostIDs(f.bs); len(ids) != 2 || ids[0] != p.ID {
			f.t.Errorf("space posts %v, want the new post first", ids)
		}
		home := must(f.bs.ListHomePostsWithResponse(f.ctx, nil)).JSON200
		if len(home.Records) != 2 || home.Records[0].ID != p.ID {
			f.t.Errorf("home feed %+v", home.Records)
		}
		if posts := must(f.bs.ListMemberPostsWithResponse(f.ctx, int(f.ada.ID), nil)).JSON200.Records; len(posts) != 1 || posts[0].ID != p.ID {
			f.t.Errorf("Ada's posts %+v", posts)
		}
	},
	"createImagePost": func(f *fixture) {
		p := must(f.as.CreateImagePostWithResponse(f.ctx, f.space.ID, memberv1.CreateImagePostJSONRequestBody{Slug: "sunset"})).JSON200
		if got := f.getPost(f.bs, p.ID); got.PostType != "image" || got.Slug != "sunset" {
			f.t.Errorf("Bob reads %+v", got)
		}
	},
	"updateImagePost": func(f *fixture) {
		p := must(f.as.CreateImagePostWithResponse(f.ctx, f.space.ID, memberv1.CreateImagePostJSONRequestBody{Slug: "sunset"})).JSON200
		off, slug := false, "dawn"
		must(f.as.UpdateImagePostWithResponse(f.ctx, f.space.ID, p.ID, memberv1.UpdateImagePostJSONRequestBody{Slug: &slug, IsCommentsEnabled: &off}))
		if got := f.getPost(f.bs, p.ID); got.Slug != "dawn" || got.IsCommentsEnabled {
			f.t.Errorf("Bob reads %+v", got)
		}
		_, err := f.bs.CreateCommentWithResponse(f.ctx, p.ID, memberv1.CreateCommentJSONRequestBody{Comment: memberv1.CommentInput{Body: "x"}})
		if !errors.Is(err, circle.ErrForbidden) {
			f.t.Errorf("comment on a post without comments: %v", err)
		}
	},
	"deletePost": func(f *fixture) {
		must(f.as.CreateBookmarkWithResponse(f.ctx, memberv1.CreateBookmarkJSONRequestBody{RecordID: f.post.ID, BookmarkType: "post"}))
		must(f.bs.DeletePostWithResponse(f.ctx, f.space.ID, f.post.ID))
		_, err := f.as.GetSpacePostWithResponse(f.ctx, f.space.ID, f.post.ID)
		wantNotFound(f.t, "the deleted post", err)
		_, err = f.as.GetCommentWithResponse(f.ctx, f.post.ID, f.comment.ID)
		wantNotFound(f.t, "a comment of the deleted post", err)
		if ids := f.spacePostIDs(f.as); len(ids) != 0 {
			f.t.Errorf("space posts %v", ids)
		}
		if b := must(f.as.ListBookmarksWithResponse(f.ctx, nil)).JSON200.Records; len(b) != 0 {
			f.t.Errorf("bookmarks %+v", b)
		}
		_, err = f.as.DeletePostWithResponse(f.ctx, f.space.ID, f.post.ID)
		wantNotFound(f.t, "deleting again", err)
	},
	"likePost": func(f *fixture) {
		must(f.as.LikePostWithResponse(f.ctx, f.post.ID))
		must(f.as.LikePostWithResponse(f.ctx, f.post.ID)) // a like is a like
		if got := f.getPost(f.as, f.post.ID); !got.IsLiked || got.UserLikesCount != 1 {
			f.t.Errorf("Ada reads is_liked %v, likes %d", got.IsLiked, got.UserLikesCount)
		}
		if got := f.getPost(f.bs, f.post.ID); got.IsLiked || got.UserLikesCount != 1 || len(got.FirstLikedBy) != 1 {
			f.t.Errorf("Bob reads is_liked %v, likes %d", got.IsLiked, got.UserLikesCount)
		}
		if l := must(f.bs.ListPostLikesWithResponse(f.ctx, f.post.ID, nil)).JSON200.Records; len(l) != 1 || l[0].ID != int(f.ada.ID) {
			f.t.Errorf("likes %+v", l)
		}
		if n := f.notifications(f.bs, "all"); len(n) != 1 || n[0].Action != "like" || n[0].NotifiableID != f.post.ID {
			f.t.Errorf("Bob's notifications %+v", n)
		}
	},
	"unlikePost": func(f *fixture) {
		must(f.as.LikePostWithResponse(f.ctx, f.post.ID))
		must(f.as.UnlikePostWithResponse(f.ctx, f.post.ID))
		if got := f.getPost(f.as, f.post.ID); got.IsLiked || got.UserLikesCount != 0 {
			f.t.Errorf("Ada reads is_liked %v, likes %d", got.IsLiked, got.UserLikesCount)
		}
		if l := must(f.bs.ListPostLikesWithResponse(f.ctx, f.post.ID, nil)).JSON200.Records; len(l) != 0 {
			f.t.Errorf("likes %+v", l)
		}
	},
	"followPost": func(f *fixture) {
		must(f.as.FollowPostWithResponse(f.ctx, f.post.ID))
		if got := f.getPost(f.as, f.post.ID); got.PostFollowerID == 0 {
			f.t.Error("Ada does not follow the post")
		}
		f.comment1(f.bs, f.post.ID, "news")
		if n := f.notifications(f.as, "unread"); len(n) != 1 || n[0].Action != "comment" {
			f.t.Errorf("a follower's notifications %+v", n)
		}
	},
	"unfollowPost": func(f *fixture) {
		must(f.bs.UnfollowPostWithResponse(f.ctx, f.post.ID))
		if got := f.getPost(f.bs, f.post.ID); got.PostFollowerID != 0 {
			f.t.Error("Bob still follows his post")
		}
		f.comment1(f.as, f.post.ID, "hi")
		if n := f.notifications(f.bs, "all"); len(n) != 0 {
			f.t.Errorf("Bob was told of a comment on a post he left: %+v", n)
		}
	},
	"deletePostFollower": func(f *fixture) {
		must(f.as.FollowPostWithResponse(f.ctx, f.post.ID))
		id := f.getPost(f.as, f.post.ID).PostFollowerID
		must(f.as.DeletePostFollowerWithResponse(f.ctx, f.post.ID, id))
		if got := f.getPost(f.as, f.post.ID); got.PostFollowerID != 0 {
			f.t.Error("Ada still follows the post")
		}
		_, err := f.as.DeletePostFollowerWithResponse(f.ctx, f.post.ID, id)
		wantNotFound(f.t, "deleting again", err)
	},
	"createComment": func(f *fixture) {
		c := f.comment1(f.as, f.post.ID, "Nice to meet you")
		if got := f.getComment(f.bs, c.ID); got.BodyText != "Nice to meet you" || got.Author.Name != "Ada Lovelace" || got.PostID != f.post.ID {
			f.t.Errorf("Bob reads %+v", got)
		}
		list := must(f.bs.ListPostCommentsWithResponse(f.ctx, f.post.ID, nil)).JSON200.Records
		if len(list) != 2 || list[1].ID != c.ID {
			f.t.Errorf("comments %+v, want the new one last (oldest first)", list)
		}
		if got := f.getPost(f.bs, f.post.ID); got.CommentCount != 2 {
			f.t.Errorf("comment_count %d, want 2", got.CommentCount)
		}
		if mine := must(f.bs.ListMemberCommentsWithResponse(f.ctx, int(f.ada.ID), nil)).JSON200.Records; len(mine) != 1 || mine[0].ID != c.ID {
			f.t.Errorf("Ada's comments %+v", mine)
		}
		if n := f.notifications(f.bs, "unread"); len(n) != 1 || n[0].NotifiableID != c.ID {
			f.t.Errorf("the author's notifications %+v", n)
		}
	},
	"updateComment": func(f *fixture) {
		c := f.comment1(f.as, f.post.ID, "Helo")
		body := "Hello"
		must(f.as.UpdateCommentWithResponse(f.ctx, f.post.ID, c.ID, memberv1.UpdateCommentJSONRequestBody{Comment: memberv1.CommentUpdate{Body: &body}}))
		if got := f.getComment(f.bs, c.ID); got.BodyText != "Hello" {
			f.t.Errorf("Bob reads %q", got.BodyText)
		}
		_, err := f.bs.UpdateCommentWithResponse(f.ctx, f.post.ID, c.ID, memberv1.UpdateCommentJSONRequestBody{Comment: memberv1.CommentUpdate{Body: &body}})
		if !errors.Is(err, circle.ErrForbidden) {
			f.t.Errorf("Bob edits Ada's comment: %v", err)
		}
	},
	"deleteComment": func(f *fixture) {
		must(f.bs.DeleteCommentWithResponse(f.ctx, f.post.ID, f.comment.ID))
		_, err := f.as.GetCommentWithResponse(f.ctx, f.post.ID, f.comment.ID)
		wantNotFound(f.t, "the deleted comment", err)
		if got := f.getPost(f.as, f.post.ID); got.CommentCount != 0 {
			f.t.Errorf("comment_count %d", got.CommentCount)
		}
	},
	"createReply": func(f *fixture) {
		r := must(f.as.CreateReplyWithResponse(f.ctx, f.comment.ID, memberv1.CreateReplyJSONRequestBody{Comment: memberv1.CommentInput{Body: "Agreed"}})).JSON201
		if got := must(f.bs.GetReplyWithResponse(f.ctx, f.comment.ID, r.ID)).JSON200; got.BodyText != "Agreed" || got.ParentCommentID != f.comment.ID {
			f.t.Errorf("Bob reads %+v", got)
		}
		if l := must(f.bs.ListCommentRepliesWithResponse(f.ctx, f.comment.ID, nil)).JSON200.Records; len(l) != 1 || l[0].ID != r.ID {
			f.t.Errorf("replies %+v", l)
		}
		if got := f.getComment(f.bs, f.comment.ID); got.RepliesCount != 1 {
			f.t.Errorf("replies_count %d", got.RepliesCount)
		}
		if n := f.notifications(f.bs, "unread"); len(n) != 1 || n[0].Action != "reply" {
			f.t.Errorf("the comment author's notifications %+v", n)
		}
	},
	"updateReply": func(f *fixture) {
		r := must(f.as.CreateReplyWithResponse(f.ctx, f.comment.ID, memberv1.CreateReplyJSONRequestBody{Comment: memberv1.CommentInput{Body: "Agread"}})).JSON201
		body := "Agreed"
		must(f.as.UpdateReplyWithResponse(f.ctx, f.comment.ID, r.ID, memberv1.UpdateReplyJSONRequestBody{Comment: memberv1.CommentUpdate{Body: &body}}))
		if got := must(f.bs.GetReplyWithResponse(f.ctx, f.comment.ID, r.ID)).JSON200; got.BodyText != "Agreed" {
			f.t.Errorf("Bob reads %q", got.BodyText)
		}
	},
	"deleteReply": func(f *fixture) {
		r := must(f.as.CreateReplyWithResponse(f.ctx, f.comment.ID, memberv1.CreateReplyJSONRequestBody{Comment: memberv1.CommentInput{Body: "Oops"}})).JSON201
		must(f.as.DeleteReplyWithResponse(f.ctx, f.comment.ID, r.ID))
		_, err := f.bs.GetReplyWithResponse(f.ctx, f.comment.ID, r.ID)
		wantNotFound(f.t, "the deleted reply", err)
		if got := f.getComment(f.bs, f.comment.ID); got.RepliesCount != 0 {
			f.t.Errorf("replies_count %d", got.RepliesCount)
		}
	},
	"likeComment": func(f *fixture) {
		must(f.as.LikeCommentWithResponse(f.ctx, f.comment.ID))
		if got := f.getComment(f.as, f.comment.ID); !got.IsLiked || got.UserLikesCount != 1 {
			f.t.Errorf("Ada reads is_liked %v, likes %d", got.IsLiked, got.UserLikesCount)
		}
		if l := must(f.bs.ListCommentLikesWithResponse(f.ctx, f.comment.ID, nil)).JSON200.Records; len(l) != 1 || l[0].Name != "Ada Lovelace" {
			f.t.Errorf("likes %+v", l)
		}
	},
	"unlikeComment": func(f *fixture) {
		must(f.as.LikeCommentWithResponse(f.ctx, f.comment.ID))
		must(f.as.UnlikeCommentWithResponse(f.ctx, f.comment.ID))
		if got := f.getComment(f.as, f.comment.ID); got.IsLiked || got.UserLikesCount != 0 {
			f.t.Errorf("Ada reads is_liked %v, likes %d", got.IsLiked, got.UserLikesCount)
		}
	},
	"createFlaggedContent": func(f *fixture) {
		must(f.as.CreateFlaggedContentWithResponse(f.ctx, memberv1.CreateFlaggedContentJSONRequestBody{FlaggedContent: memberv1.FlaggedContentInput{
			FlaggedContentableID: f.post.ID, FlaggedContentableType: "Post", ReportedReasonType: "spam", ReportedReasonBody: "ads",
		}}))
		if got := f.getPost(f.bs, f.post.ID); got.UnresolvedFlaggedReportsCount != 1 {
			f.t.Errorf("unresolved_flagged_reports_count %d", got.UnresolvedFlaggedReportsCount)
		}
	},
	"createBookmark": func(f *fixture) {
		b := must(f.as.CreateBookmarkWithResponse(f.ctx, memberv1.CreateBookmarkJSONRequestBody{RecordID: f.post.ID, BookmarkType: "post"})).JSON201
		list := must(f.as.ListBookmarksWithResponse(f.ctx, nil)).JSON200.Records
		if len(list) != 1 || list[0].ID != b.ID || list[0].BookmarkRecord.Name != "Welcome" {
			f.t.Errorf("Ada's bookmarks %+v", list)
		}
		if got := f.getPost(f.as, f.post.ID); got.BookmarkID != b.ID {
			f.t.Errorf("bookmark_id %d, want %d", got.BookmarkID, b.ID)
		}
		if list := must(f.bs.ListBookmarksWithResponse(f.ctx, nil)).JSON200.Records; len(list) != 0 {
			f.t.Errorf("Bob sees Ada's bookmarks: %+v", list)
		}
		if got := f.getPost(f.bs, f.post.ID); got.BookmarkID != 0 {
			f.t.Error("Bob sees Ada's bookmark on the post")
		}
	},
	"deleteBookmark": func(f *fixture) {
		b := must(f.as.CreateBookmarkWithResponse(f.ctx, memberv1.CreateBookmarkJSONRequestBody{RecordID: f.comment.ID, BookmarkType: "comment"})).JSON201
		_, err := f.bs.DeleteBookmarkWithResponse(f.ctx, b.ID)
		wantNotFound(f.t, "Bob deleting Ada's bookmark", err)
		must(f.as.DeleteBookmarkWithResponse(f.ctx, b.ID))
		if list := must(f.as.ListBookmarksWithResponse(f.ctx, nil)).JSON200.Records; len(list) != 0 {
			f.t.Errorf("bookmarks %+v", list)
		}
		if got := f.getComment(f.as, f.comment.ID); got.BookmarkID != 0 {
			f.t.Error("the comment is still bookmarked")
		}
	},
	"joinSpace": func(f *fixture) {
		sp := f.s.AddSpace(memberv1.Space{Name: "Events"})
		if got := must(f.as.GetSpaceWithResponse(f.ctx, sp.ID)).JSON200; got.IsMember {
			f.t.Fatal("Ada is in the space before joining")
		}
		must(f.as.JoinSpaceWithResponse(f.ctx, sp.ID))
		if got := must(f.as.GetSpaceWithResponse(f.ctx, sp.ID)).JSON200; !got.IsMember || got.SpaceMemberID == 0 {
			f.t.Errorf("Ada reads %+v", got)
		}
		if got := must(f.bs.GetSpaceWithResponse(f.ctx, sp.ID)).JSON200; got.IsMember {
			f.t.Error("Bob reads that he is a member")
		}
		spaces := must(f.bs.ListMemberSpacesWithResponse(f.ctx, int(f.ada.ID), nil)).JSON200.Records
		if len(spaces) != 2 {
			f.t.Errorf("Ada's spaces %+v", spaces)
		}
		members := must(f.bs.ListCommunityMembersWithResponse(f.ctx, &memberv1.ListCommunityMembersParams{SpaceID: &sp.ID})).JSON200.Records
		if len(members) != 1 || members[0].CommunityMemberID != int(f.ada.ID) {
			f.t.Errorf("members of the space %+v", members)
		}
	},
	"leaveSpace": func(f *fixture) {
		must(f.as.LeaveSpaceWithResponse(f.ctx, f.space.ID))
		if got := must(f.as.GetSpaceWithResponse(f.ctx, f.space.ID)).JSON200; got.IsMember {
			f.t.Error("Ada is still a member")
		}
		if spaces := must(f.bs.ListMemberSpacesWithResponse(f.ctx, int(f.ada.ID), nil)).JSON200.Records; len(spaces) != 0 {
			f.t.Errorf("Ada's spaces %+v", spaces)
		}
	},
	"markSpaceRead": func(f *fixture) {
		unread := func() int {
			d := must(f.as.ListSpaceNotificationDetailsWithResponse(f.ctx, nil)).JSON200
			if d == nil || len(*d) != 1 {
				f.t.Fatalf("details %+v", d)
			}
			return (*d)[0].UnreadContentCount
		}
		if n := unread(); n != 1 {
			f.t.Errorf("before: %d unread posts, want 1", n)
		}
		must(f.as.MarkSpaceReadWithResponse(f.ctx, f.spaceMemberID(f.as)))
		if n := unread(); n != 0 {
			f.t.Errorf("after: %d unread posts", n)
		}
		must(f.bs.CreatePostWithResponse(f.ctx, f.space.ID, memberv1.CreatePostJSONRequestBody{Name: "More"}))
		if n := unread(); n != 1 {
			f.t.Errorf("after a new post: %d unread", n)
		}
	},
	"archiveNotification": func(f *fixture) {
		n := f.s.AddNotification(f.ada.ID, memberv1.Notification{Action: "mention"})
		must(f.as.ArchiveNotificationWithResponse(f.ctx, n.ID))
		if l := f.notifications(f.as, "all"); len(l) != 0 {
			f.t.Errorf("notifications %+v", l)
		}
	},
	"deleteNotification": func(f *fixture) {
		n := f.s.AddNotification(f.ada.ID, memberv1.Notification{Action: "mention"})
		_, err := f.bs.DeleteNotificationWithResponse(f.ctx, n.ID)
		wantNotFound(f.t, "Bob deleting Ada's notification", err)
		must(f.as.DeleteNotificationWithResponse(f.ctx, n.ID))
		if l := f.notifications(f.as, "all"); len(l) != 0 {
			f.t.Errorf("notifications %+v", l)
		}
		_, err = f.as.MarkNotificationReadWithResponse(f.ctx, n.ID)
		wantNotFound(f.t, "the deleted notification", err)
	},
	"markNotificationRead": func(f *fixture) {
		n := f.s.AddNotification(f.ada.ID, memberv1.Notification{Action: "mention"})
		f.s.AddNotification(f.ada.ID, memberv1.Notification{Action: "mention"})
		got := must(f.as.MarkNotificationReadWithResponse(f.ctx, n.ID)).JSON200
		if got.ReadAt.IsZero() {
			f.t.Error("read_at not set")
		}
		if l := f.notifications(f.as, "unread"); len(l) != 1 || l[0].ID == n.ID {
			f.t.Errorf("unread %+v", l)
		}
		if l := f.notifications(f.as, "read"); len(l) != 1 || l[0].ID != n.ID {
			f.t.Errorf("read %+v", l)
		}
	},
	"markAllNotificationsRead": func(f *fixture) {
		f.s.AddNotification(f.ada.ID, memberv1.Notification{Action: "mention"})
		f.s.AddNotification(f.ada.ID, memberv1.Notification{Action: "comment"})
		f.s.AddNotification(f.bob.ID, memberv1.Notification{Action: "comment"})
		must(f.as.MarkAllNotificationsReadWithResponse(f.ctx, memberv1.MarkAllNotificationsReadJSONRequestBody{}))
		if l := f.notifications(f.as, "unread"); len(l) != 0 {
			f.t.Errorf("Ada's unread %+v", l)
		}
		if l := f.notifications(f.bs, "unread"); len(l) != 1 {
			f.t.Errorf("Bob's unread %+v (not Ada's to mark)", l)
		}
		if c := must(f.as.GetNewNotificationsCountWithResponse(f.ctx)).JSON200; c.NewNotificationsCount != 0 {
			f.t.Errorf("new count %d", c.NewNotificationsCount)
		}
	},
	"resetNewNotificationsCount": func(f *fixture) {
		f.s.AddNotification(f.ada.ID, memberv1.Notification{Action: "mention"})
		f.s.AddNotification(f.ada.ID, memberv1.Notification{Action: "mention"})
		if c := must(f.as.GetNewNotificationsCountWithResponse(f.ctx)).JSON200; c.NewNotificationsCount != 2 {
			f.t.Errorf("new count before %d, want 2", c.NewNotificationsCount)
		}
		must(f.as.ResetNewNotificationsCountWithResponse(f.ctx))
		if c := must(f.as.GetNewNotificationsCountWithResponse(f.ctx)).JSON200; c.NewNotificationsCount != 0 {
			f.t.Errorf("new count after %d", c.NewNotificationsCount)
		}
		if l := f.notifications(f.as, "unread"); len(l) != 2 {
			f.t.Errorf("resetting the count read the notifications: %+v", l)
		}
	},
	"updateNotificationPreference": func(f *fixture) {
		must(f.as.UpdateNotificationPreferenceWithResponse(f.ctx, "push", &memberv1.UpdateNotificationPreferenceParams{Type: "post_like", Enabled: false}))
		enabled := func(medium memberv1.Medium) bool {
			for _, p := range must(f.as.GetNotificationPreferencesWithResponse(f.ctx, medium)).JSON200.NotificationPreference {
				if p.Name == "post_like" {
					return p.Enabled
				}
			}
			f.t.Fatal("no post_like preference")
			return false
		}
		if enabled("push") || !enabled("in_app") {
			f.t.Error("push post_like should be off, in_app on")
		}
	},
	"updateSpaceNotificationPreference": func(f *fixture) {
		id := f.spaceMemberID(f.as)
		must(f.as.UpdateSpaceNotificationPreferenceWithResponse(f.ctx, "in_app", id, &memberv1.UpdateSpaceNotificationPreferenceParams{Choice: "never"}))
		if got := must(f.as.GetSpaceMemberNotificationPreferencesWithResponse(f.ctx, id)).JSON200; got.InApp != "never" || got.Push != "all" {
			f.t.Errorf("preferences %+v", got)
		}
	},
	"updateAllSpacesNotificationPreference": func(f *fixture) {
		must(f.as.UpdateAllSpacesNotificationPreferenceWithResponse(f.ctx, "push", &memberv1.UpdateAllSpacesNotificationPreferenceParams{Choice: "mention"}))
		prefs := must(f.as.GetNotificationPreferencesWithResponse(f.ctx, "push")).JSON200.SpacePreferences
		if len(prefs) != 1 || prefs[0].Choice != "mention" || prefs[0].SpaceID != f.space.ID {
			f.t.Errorf("space preferences %+v", prefs)
		}
	},
	"updateProfile": func(f *fixture) {
		name, headline := "Ada King", "Analyst"
		must(f.as.UpdateProfileWithResponse(f.ctx, memberv1.UpdateProfileJSONRequestBody{CommunityMember: memberv1.ProfileUpdate{Name: &name, Headline: &headline}}))
		if me := must(f.as.GetCurrentMemberWithResponse(f.ctx)).JSON200; me.Name != name || me.Headline != headline {
			f.t.Errorf("Ada reads %+v", me)
		}
		if p := must(f.bs.GetMemberProfileWithResponse(f.ctx, int(f.ada.ID))).JSON200; p.Name != name || p.Headline != headline {
			f.t.Errorf("Bob reads %+v", p)
		}
		c := f.comment1(f.as, f.post.ID, "signed")
		if got := f.getComment(f.bs, c.ID); got.Author.Name != name {
			f.t.Errorf("comment author %q", got.Author.Name)
		}
	},
	"confirmProfile": func(f *fixture) {
		name := "Ada K."
		must(f.as.ConfirmProfileWithResponse(f.ctx, memberv1.ConfirmProfileJSONRequestBody{CommunityMember: memberv1.ProfileUpdate{Name: &name}}))
		if me := must(f.as.GetCurrentMemberWithResponse(f.ctx)).JSON200; me.Name != name {
			f.t.Errorf("Ada reads %q", me.Name)
		}
	},
	"deactivateCurrentMember": func(f *fixture) {
		must(f.as.DeactivateCurrentMemberWithResponse(f.ctx))
		for _, m := range must(f.bs.ListCommunityMembersWithResponse(f.ctx, nil)).JSON200.Records {
			if m.CommunityMemberID == int(f.ada.ID) {
				f.t.Error("Ada is still in the directory")
			}
		}
		_, err := f.bs.GetMemberProfileWithResponse(f.ctx, int(f.ada.ID))
		wantNotFound(f.t, "a deactivated member's profile", err)
	},
	"searchCommunityMembers": func(f *fixture) {
		text := "babb"
		got := must(f.as.SearchCommunityMembersWithResponse(f.ctx, memberv1.SearchCommunityMembersJSONRequestBody{SearchText: text})).JSON200.Records
		if len(got) != 1 || got[0].CommunityMemberID != int(f.bob.ID) || got[0].Name != "Bob Babbage" {
			f.t.Errorf("search %q: %+v", text, got)
		}
	},
	"createChatRoom": func(f *fixture) {
		r := f.room()
		for _, api := range []*memberv1.ClientWithResponses{f.as, f.bs} {
			rooms := must(api.ListChatRoomsWithResponse(f.ctx, nil)).JSON200.Records
			if len(rooms) != 1 || rooms[0].ChatRoom.UUID != r.UUID || rooms[0].ChatRoom.ChatRoomKind != "direct" {
				f.t.Errorf("rooms %+v", rooms)
			}
		}
		if p := must(f.bs.ListChatParticipantsWithResponse(f.ctx, r.UUID, nil)).JSON200.Records; len(p) != 2 {
			f.t.Errorf("participants %+v", p)
		}
		if again := f.room(); again.UUID != r.UUID {
			f.t.Error("a second direct room with the same member")
		}
	},
	"createChatMessage": func(f *fixture) {
		r := f.room()
		f.say(r.UUID, "Hi Bob")
		msgs := must(f.bs.ListChatMessagesWithResponse(f.ctx, r.UUID, nil)).JSON200.Records
		if len(msgs) != 1 || msgs[0].Body != "Hi Bob" || msgs[0].Sender.CommunityMemberID != int(f.ada.ID) {
			f.t.Errorf("Bob reads %+v", msgs)
		}
		if got := must(f.bs.GetChatRoomWithResponse(f.ctx, r.UUID)).JSON200.ChatRoom; got.UnreadMessagesCount != 1 || got.LastMessage.Body != "Hi Bob" {
			f.t.Errorf("Bob's room %+v", got)
		}
		if got := must(f.as.GetChatRoomWithResponse(f.ctx, r.UUID)).JSON200.ChatRoom; got.UnreadMessagesCount != 0 {
			f.t.Errorf("the sender has %d unread", got.UnreadMessagesCount)
		}
		if u := must(f.bs.ListUnreadChatRoomsWithResponse(f.ctx)).JSON200.ChatRooms; len(u) != 1 || u[0] != r.UUID {
			f.t.Errorf("Bob's unread rooms %v", u)
		}
	},
	"updateChatMessage": func(f *fixture) {
		r := f.room()
		id := f.say(r.UUID, "Hi Bbo")
		must(f.as.UpdateChatMessageWithResponse(f.ctx, r.UUID, id, memberv1.UpdateChatMessageJSONRequestBody{RichTextBody: map[string]any{
			"body": map[string]any{"type": "doc", "content": []any{map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": "Hi Bob"}}}}},
		}}))
		if got := must(f.bs.GetChatMessageWithResponse(f.ctx, r.UUID, id)).JSON200; got.Body != "Hi Bob" || got.EditedAt.IsZero() {
			f.t.Errorf("Bob reads %+v", got)
		}
	},
	"deleteChatMessage": func(f *fixture) {
		r := f.room()
		id := f.say(r.UUID, "oops")
		must(f.as.DeleteChatMessageWithResponse(f.ctx, r.UUID, id))
		_, err := f.bs.GetChatMessageWithResponse(f.ctx, r.UUID, id)
		wantNotFound(f.t, "the deleted message", err)
		if msgs := must(f.bs.ListChatMessagesWithResponse(f.ctx, r.UUID, nil)).JSON200.Records; len(msgs) != 0 {
			f.t.Errorf("messages %+v", msgs)
		}
	},
	"markChatRoomRead": func(f *fixture) {
		r := f.room()
		f.say(r.UUID, "one")
		f.say(r.UUID, "two")
		must(f.bs.MarkChatRoomReadWithResponse(f.ctx, r.UUID))
		if got := must(f.bs.GetChatRoomWithResponse(f.ctx, r.UUID)).JSON200.ChatRoom; got.UnreadMessagesCount != 0 {
			f.t.Errorf("unread %d", got.UnreadMessagesCount)
		}
		if u := must(f.bs.ListUnreadChatRoomsWithResponse(f.ctx)).JSON200.ChatRooms; len(u) != 0 {
			f.t.Errorf("unread rooms %v", u)
		}
	},
	"updateChatParticipant": func(f *fixture) {
		r := f.room()
		muted := true
		must(f.as.UpdateChatParticipantWithResponse(f.ctx, r.UUID, r.CurrentParticipant.ID, memberv1.UpdateChatParticipantJSONRequestBody{Muted: &muted}))
		if got := must(f.as.GetChatRoomWithResponse(f.ctx, r.UUID)).JSON200.ChatRoom.CurrentParticipant; !got.Muted {
			f.t.Error("Ada's participant is not muted")
		}
		bobs := must(f.bs.GetChatRoomWithResponse(f.ctx, r.UUID)).JSON200.ChatRoom.CurrentParticipant
		_, err := f.as.UpdateChatParticipantWithResponse(f.ctx, r.UUID, bobs.ID, memberv1.UpdateChatParticipantJSONRequestBody{Muted: &muted})
		if !errors.Is(err, circle.ErrForbidden) {
			f.t.Errorf("Ada changing Bob: %v", err)
		}
	},
	"createReaction": func(f *fixture) {
		r := f.room()
		id := f.say(r.UUID, "cake?")
		must(f.bs.CreateReactionWithResponse(f.ctx, memberv1.CreateReactionJSONRequestBody{ChatRoomMessage: id, Emoji: "👍"}))
		got := must(f.as.GetChatMessageWithResponse(f.ctx, r.UUID, id)).JSON200.Reactions
		if len(got) != 1 || got[0].Emoji != "👍" || got[0].Count != 1 || !slices.Equal(got[0].CommunityMemberIds, []int{int(f.bob.ID)}) {
			f.t.Errorf("reactions %+v", got)
		}
	},
	"deleteReaction": func(f *fixture) {
		r := f.room()
		id := f.say(r.UUID, "cake?")
		must(f.bs.CreateReactionWithResponse(f.ctx, memberv1.CreateReactionJSONRequestBody{ChatRoomMessage: id, Emoji: "👍"}))
		must(f.bs.DeleteReactionWithResponse(f.ctx, memberv1.DeleteReactionJSONRequestBody{ChatRoomMessage: id, Emoji: "👍"}))
		if got := must(f.as.GetChatMessageWithResponse(f.ctx, r.UUID, id)).JSON200.Reactions; len(got) != 0 {
			f.t.Errorf("reactions %+v", got)
		}
	},
	"joinInvitationLink": func(f *fixture) {
		sp := f.s.AddSpace(memberv1.Space{Name: "Founders", IsPrivate: true})
		f.s.AddInvitationLink("join-us", sp.ID)
		if _, err := f.as.GetSpaceWithResponse(f.ctx, sp.ID); !errors.Is(err, circle.ErrNotFound) {
			f.t.Errorf("a private space before joining: %v", err)
		}
		got := must(f.as.JoinInvitationLinkWithResponse(f.ctx, "join-us")).JSON200
		if got.RedirectToSpaceID != sp.ID {
			f.t.Errorf("redirect to %d, want %d", got.RedirectToSpaceID, sp.ID)
		}
		if s := must(f.as.GetSpaceWithResponse(f.ctx, sp.ID)).JSON200; !s.IsMember {
			f.t.Error("Ada is not a member after joining")
		}
		_, err := f.as.JoinInvitationLinkWithResponse(f.ctx, "no-such-link")
		wantNotFound(f.t, "an unknown link", err)
	},
	"createDirectUpload": func(f *fixture) {
		up := must(f.as.CreateDirectUploadWithResponse(f.ctx, memberv1.CreateDirectUploadJSONRequestBody{Blob: memberv1.DirectUploadBlob{
			Key: "k", Filename: "sunset.jpg", ContentType: "image/jpeg", ByteSize: 1024, Checksum: "c2Vj",
		}})).JSON200
		if up.SignedID == "" || up.Filename != "sunset.jpg" {
			f.t.Fatalf("upload %+v", up)
		}
		p := must(f.as.CreateImagePostWithResponse(f.ctx, f.space.ID, memberv1.CreateImagePostJSONRequestBody{
			GalleryAttributes: memberv1.GalleryInput{ImagesAttributes: []memberv1.GalleryImageInput{{SignedID: up.SignedID, Width: 800}}},
		})).JSON200
		imgs := f.getPost(f.bs, p.ID).Gallery.Images
		if len(imgs) != 1 || imgs[0].Filename != "sunset.jpg" || imgs[0].URL != up.URL || imgs[0].Width != 800 {
			f.t.Errorf("gallery %+v", imgs)
		}
		must(f.as.UpdateProfileWithResponse(f.ctx, memberv1.UpdateProfileJSONRequestBody{CommunityMember: memberv1.ProfileUpdate{Avatar: &up.SignedID}}))
		if me := must(f.as.GetCurrentMemberWithResponse(f.ctx)).JSON200; me.AvatarURL != up.URL {
			f.t.Errorf("avatar_url %q, want %q", me.AvatarURL, up.URL)
		}
		_, err := f.as.CreateImagePostWithResponse(f.ctx, f.space.ID, memberv1.CreateImagePostJSONRequestBody{
			GalleryAttributes: memberv1.GalleryInput{ImagesAttributes: []memberv1.GalleryImageInput{{SignedID: "never-uploaded"}}},
		})
		var apiErr *circle.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnprocessableEntity {
			f.t.Errorf("a gallery naming no upload: %v, want 422", err)
		}
	},
	"createLiveRoom": func(f *fixture) {
		lr := must(f.as.CreateLiveRoomWithResponse(f.ctx, memberv1.CreateLiveRoomJSONRequestBody{
			Name: "Office hours", InvitedEntitiesIds: memberv1.LiveRoomInvitees{MembersIds: []int{int(f.bob.ID)}},
		})).JSON201
		if lr.Name != "Office hours" || lr.ChatRoomUUID == "" || lr.Creator.ID != int(f.ada.ID) {
			f.t.Fatalf("live room %+v", lr)
		}
		chat := must(f.bs.GetChatRoomWithResponse(f.ctx, lr.ChatRoomUUID)).JSON200.ChatRoom
		if chat.ChatRoomName != "Office hours" || chat.ChatRoomParticipantsCount != 2 {
			f.t.Errorf("the live room's chat, as Bob reads it: %+v", chat)
		}
		f.say(lr.ChatRoomUUID, "Welcome")
		if msgs := must(f.bs.ListChatMessagesWithResponse(f.ctx, lr.ChatRoomUUID, nil)).JSON200.Records; len(msgs) != 1 {
			f.t.Errorf("messages %+v", msgs)
		}
		if rooms := must(f.as.ListChatRoomsWithResponse(f.ctx, nil)).JSON200.Records; len(rooms) != 0 {
			f.t.Errorf("a live room's chat among the chat rooms: %+v", rooms)
		}
	},
	"createEventAttendee": func(f *fixture) {
		ev := f.event("Meetup")
		must(f.as.CreateEventAttendeeWithResponse(f.ctx, ev.ID))
		if a := must(f.bs.ListEventAttendeesWithResponse(f.ctx, ev.ID, nil)).JSON200.Records; len(a) != 1 || a[0].CommunityMemberID != int(f.ada.ID) {
			f.t.Errorf("attendees %+v", a)
		}
		if got := f.getPost(f.as, ev.ID); !got.RsvpedEvent || got.EventAttendees.Count != 1 {
			f.t.Errorf("Ada reads rsvped %v, %d attendees", got.RsvpedEvent, got.EventAttendees.Count)
		}
		if got := f.getPost(f.bs, ev.ID); got.RsvpedEvent {
			f.t.Error("Bob reads that he is going")
		}
	},
	"deleteEventAttendee": func(f *fixture) {
		ev := f.event("Meetup")
		must(f.as.CreateEventAttendeeWithResponse(f.ctx, ev.ID))
		must(f.as.DeleteEventAttendeeWithResponse(f.ctx, ev.ID))
		if a := must(f.bs.ListEventAttendeesWithResponse(f.ctx, ev.ID, nil)).JSON200.Records; len(a) != 0 {
			f.t.Errorf("attendees %+v", a)
		}
		if got := f.getPost(f.as, ev.ID); got.RsvpedEvent {
			f.t.Error("Ada still going")
		}
	},
	"updateRecurringEventAttendance": func(f *fixture) {
		first, second := f.event("Week 1"), f.event("Week 2")
		must(f.as.UpdateRecurringEventAttendanceWithResponse(f.ctx, f.space.ID, first.ID, memberv1.UpdateRecurringEventAttendanceJSONRequestBody{EventIds: []int{first.ID, second.ID}}))
		for _, ev := range []memberv1.Post{first, second} {
			if got := f.getPost(f.as, ev.ID); !got.RsvpedEvent {
				f.t.Errorf("Ada is not going to %s", ev.Name)
			}
		}
	},
	"updateLessonProgress": func(f *fixture) {
		must(f.as.UpdateLessonProgressWithResponse(f.ctx, 3, 8, memberv1.UpdateLessonProgressJSONRequestBody{Status: "completed"}))
		if got := must(f.as.GetLessonWithResponse(f.ctx, 3, 8)).JSON200; got.Progress.Status != "completed" || got.ID != 8 {
			f.t.Errorf("Ada reads %+v", got.Progress)
		}
		if got := must(f.bs.GetLessonWithResponse(f.ctx, 3, 8)).JSON200; got.Progress.Status != "incomplete" {
			f.t.Errorf("Bob reads %+v", got.Progress)
		}
	},
	"createQuizAttempt": func(f *fixture) {
		a := must(f.as.CreateQuizAttemptWithResponse(f.ctx, 4, memberv1.CreateQuizAttemptJSONRequestBody{})).JSON201
		if got := must(f.as.GetQuizAttemptWithResponse(f.ctx, 4, a.ID, nil)).JSON200; got.ID != a.ID || got.QuizID != 4 {
			f.t.Errorf("Ada reads %+v", got)
		}
		if l := must(f.as.ListCourseQuizAttemptsWithResponse(f.ctx, 1, nil)).JSON200.Records; len(l) != 1 || l[0].ID != a.ID {
			f.t.Errorf("attempts %+v", l)
		}
		_, err := f.bs.GetQuizAttemptWithResponse(f.ctx, 4, a.ID, nil)
		wantNotFound(f.t, "Bob reading Ada's attempt", err)
	},
	"updateQuizAttempt": func(f *fixture) {
		a := must(f.as.CreateQuizAttemptWithResponse(f.ctx, 4, memberv1.CreateQuizAttemptJSONRequestBody{})).JSON201
		passed := memberv1.UpdateQuizAttemptJSONBodyResult("passed")
		must(f.as.UpdateQuizAttemptWithResponse(f.ctx, 4, a.ID, memberv1.UpdateQuizAttemptJSONRequestBody{Result: &passed}))
		if got := must(f.as.GetQuizAttemptWithResponse(f.ctx, 4, a.ID, nil)).JSON200; got.Result != "passed" {
			f.t.Errorf("result %q", got.Result)
		}
	},
}

// TestEveryWriteOperationHasItsEffect runs, for every write operation of
// the member spec (every method but GET, read from the spec), the test in
// writeEffects that makes the write and reads its effect back, or finds
// it in notModelled. A write operation in neither fails the test, as does
// an entry that names no write operation.
func TestEveryWriteOperationHasItsEffect(t *testing.T) {
	doc, err := openapi.LoadMember()
	if err != nil {
		t.Fatal(err)
	}
	writes := map[string]bool{}
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			if method != http.MethodGet {
				writes[canonicalID(op.OperationID)] = true
			}
		}
	}
	if len(writes) == 0 {
		t.Fatal("the member spec has no write operation")
	}
	for id := range writeEffects {
		if !writes[id] {
			t.Errorf("writeEffects has %s, which is not a write operation of the spec", id)
		}
	}
	modelled := 0
	for _, id := range slicesSorted(writes) {
		reason, skipped := notModelled[id]
		check := writeEffects[id]
		switch {
		case skipped && (check != nil || models[id] != nil):
			t.Errorf("%s is both modelled and listed as not modelled (%s)", id, reason)
			continue
		case skipped:
			t.Logf("%s: not modelled: %s", id, reason)
			continue
		case check == nil:
			t.Errorf("%s: a write operation with no effect test in writeEffects and no entry in notModelled", id)
			continue
		case models[id] == nil:
			t.Errorf("%s: an effect test but no model answers it", id)
			continue
		}
		modelled++
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			run(t, func() { check(f) })
		})
	}
	t.Logf("%d write operations in the spec: %d modelled, %d not modelled", len(writes), modelled, len(notModelled))
}

func slicesSorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
