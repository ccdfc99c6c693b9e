package circletest_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// community is a fake Circle with two members in one space, and a Member
// API client for each, as a user's test would set it up.
type community struct {
	srv      *circletest.Server
	ada, bob circletest.Member
	as, bs   *memberv1.ClientWithResponses
	space    memberv1.Space
}

// newCommunity is the community on a fake that checks its own answers
// against the spec as well as the requests.
func newCommunity(t *testing.T) *community {
	t.Helper()
	return newCommunityOn(t, circletest.Start(t, circletest.WithResponseValidation()))
}

func newCommunityOn(t *testing.T, srv *circletest.Server) *community {
	t.Helper()
	c := &community{srv: srv}
	c.ada = srv.AddMember(circletest.Member{Email: "ada@example.com", Name: "Ada"})
	c.bob = srv.AddMember(circletest.Member{Email: "bob@example.com", Name: "Bob"})
	c.as, c.bs = memberClient(srv, c.ada.Email), memberClient(srv, c.bob.Email)
	c.space = srv.AddSpace(memberv1.Space{Name: "General"})
	srv.AddSpaceMember(c.space.ID, c.ada.ID)
	srv.AddSpaceMember(c.space.ID, c.bob.ID)
	t.Cleanup(func() {
		for _, r := range srv.Requests() {
			if r.ValidationError != nil || r.ResponseError != nil {
				t.Errorf("%s: request %v, answer %v", r.OperationID, r.ValidationError, r.ResponseError)
			}
		}
	})
	return c
}

// TestFlowPostCommentLikeBookmarkDelete is the life of a post as members
// see it: Ada posts, Bob comments and likes, Ada sees the comment and the
// like, bookmarks the post and finds it among her bookmarks, then deletes
// the post, and it is gone everywhere.
func TestFlowPostCommentLikeBookmarkDelete(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	ctx := t.Context()

	created, err := c.as.CreatePostWithResponse(ctx, c.space.ID, memberv1.CreatePostJSONRequestBody{Name: "Lunch on Friday?", Body: "Who is in?"})
	if err != nil {
		t.Fatal(err)
	}
	post := created.JSON200

	comment, err := c.bs.CreateCommentWithResponse(ctx, post.ID, memberv1.CreateCommentJSONRequestBody{Comment: memberv1.CommentInput{Body: "I am!"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.bs.LikePostWithResponse(ctx, post.ID); err != nil {
		t.Fatal(err)
	}

	got, err := c.as.GetSpacePostWithResponse(ctx, c.space.ID, post.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p := got.JSON200; p.CommentCount != 1 || p.UserLikesCount != 1 || p.IsLiked {
		t.Errorf("Ada sees %d comments, %d likes, liked by her %v; want 1, 1, false", p.CommentCount, p.UserLikesCount, p.IsLiked)
	}
	var bodies []string
	for cm, err := range circle.ListPostCommentsAll(ctx, c.as, post.ID, nil) {
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, cm.Author.Name+": "+cm.BodyText)
	}
	if fmt.Sprint(bodies) != "[Bob: I am!]" {
		t.Errorf("comments %q", bodies)
	}
	notes, err := c.as.ListNotificationsWithResponse(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, n := range notes.JSON200.Records {
		actions = append(actions, n.ActorName+" "+n.Action)
	}
	if fmt.Sprint(actions) != "[Bob like Bob comment]" { // newest first
		t.Errorf("Ada's notifications %q", actions)
	}

	bm, err := c.as.CreateBookmarkWithResponse(ctx, memberv1.CreateBookmarkJSONRequestBody{RecordID: post.ID, BookmarkType: "post"})
	if err != nil {
		t.Fatal(err)
	}
	var saved []int
	for b, err := range circle.ListBookmarksAll(ctx, c.as, nil) {
		if err != nil {
			t.Fatal(err)
		}
		saved = append(saved, b.RecordID)
	}
	if !slices.Equal(saved, []int{post.ID}) {
		t.Errorf("Ada's bookmarks %v, want the post %d", saved, post.ID)
	}
	if got, _ := c.as.GetSpacePostWithResponse(ctx, c.space.ID, post.ID); got.JSON200.BookmarkID != bm.JSON201.ID {
		t.Errorf("the post's bookmark_id %d, want %d", got.JSON200.BookmarkID, bm.JSON201.ID)
	}

	if _, err := c.bs.DeletePostWithResponse(ctx, c.space.ID, post.ID); !errors.Is(err, circle.ErrForbidden) {
		t.Errorf("Bob deleting Ada's post: %v, want 403", err)
	}
	if _, err := c.as.DeletePostWithResponse(ctx, c.space.ID, post.ID); err != nil {
		t.Fatal(err)
	}
	for _, api := range []*memberv1.ClientWithResponses{c.as, c.bs} {
		if _, err := api.GetSpacePostWithResponse(ctx, c.space.ID, post.ID); !errors.Is(err, circle.ErrNotFound) {
			t.Errorf("get after delete: %v, want 404", err)
		}
		if _, err := api.GetCommentWithResponse(ctx, post.ID, comment.JSON201.ID); !errors.Is(err, circle.ErrNotFound) {
			t.Errorf("its comment after delete: %v, want 404", err)
		}
		home, err := api.ListHomePostsWithResponse(ctx, nil)
		if err != nil || len(home.JSON200.Records) != 0 {
			t.Errorf("home feed after delete: %v %+v", err, home)
		}
		inSpace, err := api.ListSpacePostsWithResponse(ctx, c.space.ID, nil)
		if err != nil || len(inSpace.JSON200.Records) != 0 {
			t.Errorf("space after delete: %v %+v", err, inSpace)
		}
		found, err := api.SearchCommunityWithResponse(ctx, &memberv1.SearchCommunityParams{SearchText: "Lunch"})
		if err != nil || len(found.JSON200.Records) != 0 {
			t.Errorf("search after delete: %v %+v", err, found)
		}
	}
	if b, err := c.as.ListBookmarksWithResponse(ctx, nil); err != nil || len(b.JSON200.Records) != 0 {
		t.Errorf("bookmarks after delete: %v %+v", err, b)
	}
}

// TestFlowChat: Ada opens a direct chat with Bob and writes 45 messages;
// Bob sees the room unread, reads the history back to the start with the
// message-id cursor, marks the room read, and answers.
func TestFlowChat(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	ctx := t.Context()
	room, err := c.as.CreateChatRoomWithResponse(ctx, memberv1.CreateChatRoomJSONRequestBody{ChatRoom: memberv1.NewChatRoom{
		Kind: "direct", CommunityMemberIds: []string{fmt.Sprint(c.bob.ID)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	uuid := room.JSON200.ChatRoom.UUID
	for i := range 45 {
		if _, err := c.as.CreateChatMessageWithResponse(ctx, uuid, memberv1.CreateChatMessageJSONRequestBody{RichTextBody: text(fmt.Sprint("message ", i+1))}); err != nil {
			t.Fatal(err)
		}
	}
	rooms, err := c.bs.ListChatRoomsWithResponse(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := rooms.JSON200.Records; len(r) != 1 || r[0].ChatRoom.UnreadMessagesCount != 45 || r[0].ChatRoom.LastMessage.Body != "message 45" {
		t.Fatalf("Bob's rooms %+v", r)
	}

	// Newest to oldest, 20 at a time, as a chat window scrolls up.
	var older []string
	for m, err := range circle.ListChatMessagesOlder(ctx, c.bs, uuid, nil) {
		if err != nil {
			t.Fatal(err)
		}
		older = append(older, m.Body)
	}
	if len(older) != 45 || older[0] != "message 45" || older[44] != "message 1" {
		t.Errorf("older: %d messages, %q ... %q", len(older), older[0], older[len(older)-1])
	}
	// Oldest to newest from the 40th.
	first := older[5] // message 40
	var from *int
	page, err := c.bs.ListChatMessagesWithResponse(ctx, uuid, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.JSON200.Records {
		if m.Body == first {
			id := m.ID
			from = &id
		}
	}
	if from == nil {
		t.Fatal("message 40 is not among the newest 20")
	}
	var newer []string
	for m, err := range circle.ListChatMessagesNewer(ctx, c.bs, uuid, &memberv1.ListChatMessagesParams{ID: from, NextPerPage: ptr(2)}) {
		if err != nil {
			t.Fatal(err)
		}
		newer = append(newer, m.Body)
	}
	if fmt.Sprint(newer) != "[message 40 message 41 message 42 message 43 message 44 message 45]" {
		t.Errorf("newer: %q", newer)
	}

	if _, err := c.bs.MarkChatRoomReadWithResponse(ctx, uuid); err != nil {
		t.Fatal(err)
	}
	if u, err := c.bs.ListUnreadChatRoomsWithResponse(ctx); err != nil || len(u.JSON200.ChatRooms) != 0 {
		t.Errorf("unread after marking read: %v %+v", err, u)
	}
	if _, err := c.bs.CreateChatMessageWithResponse(ctx, uuid, memberv1.CreateChatMessageJSONRequestBody{RichTextBody: text("Got them all")}); err != nil {
		t.Fatal(err)
	}
	if r, err := c.as.GetChatRoomWithResponse(ctx, uuid); err != nil || r.JSON200.ChatRoom.UnreadMessagesCount != 1 {
		t.Errorf("Ada's room after Bob's answer: %v %+v", err, r)
	}
}

// TestSearchFindsStoredRecords checks that the searches find posts,
// comments and members by their text.
func TestSearchFindsStoredRecords(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	ctx := t.Context()
	p := c.srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: c.space.ID}, Name: "Gardening tips", BodyPlainText: "Tomatoes need sun", Author: memberv1.SharedCommunityMember{ID: int(c.bob.ID)}})
	c.srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: c.space.ID}, Name: "Chess club"})
	c.srv.AddComment(memberv1.Comment{PostID: p.ID, CommunityMemberID: int(c.ada.ID), BodyText: "My tomatoes failed"})

	kinds := func(q string) []string {
		t.Helper()
		r, err := c.as.SearchCommunityWithResponse(ctx, &memberv1.SearchCommunityParams{SearchText: q})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, rec := range r.JSON200.Records {
			d, err := rec.Discriminator()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	if got := kinds("tomatoes"); fmt.Sprint(got) != "[post comment]" {
		t.Errorf("tomatoes: %v", got)
	}
	if got := kinds("chess"); fmt.Sprint(got) != "[post]" {
		t.Errorf("chess: %v", got)
	}
	if got := kinds("bob"); fmt.Sprint(got) != "[community_member]" {
		t.Errorf("bob: %v", got)
	}
	if got := kinds("nothing like this"); len(got) != 0 {
		t.Errorf("no match: %v", got)
	}
	members, err := c.as.ListCommunityMembersWithResponse(ctx, &memberv1.ListCommunityMembersParams{SearchText: ptr("ad")})
	if err != nil || len(members.JSON200.Records) != 1 || members.JSON200.Records[0].Name != "Ada" {
		t.Errorf("directory search: %v %+v", err, members)
	}
}

// TestResetKeepsMembersAndTokens checks that Reset empties the community
// while the members' tokens keep working, and that ids are not reused.
func TestResetKeepsMembersAndTokens(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	ctx := t.Context()
	before, err := c.as.CreatePostWithResponse(ctx, c.space.ID, memberv1.CreatePostJSONRequestBody{Name: "Before"})
	if err != nil {
		t.Fatal(err)
	}
	c.srv.Reset()
	if spaces, err := c.as.ListSpacesWithResponse(ctx); err != nil || len(*spaces.JSON200) != 0 {
		t.Fatalf("spaces after Reset: %v %+v", err, spaces)
	}
	me, err := c.as.GetCurrentMemberWithResponse(ctx)
	if err != nil || me.JSON200.Name != "Ada" {
		t.Fatalf("the member after Reset: %v %+v", err, me)
	}
	sp := c.srv.AddSpace(memberv1.Space{Name: "Again"})
	after, err := c.as.CreatePostWithResponse(ctx, sp.ID, memberv1.CreatePostJSONRequestBody{Name: "After"})
	if err != nil {
		t.Fatal(err)
	}
	if after.JSON200.ID <= before.JSON200.ID || sp.ID == c.space.ID {
		t.Errorf("ids reused after Reset: post %d then %d, space %d then %d", before.JSON200.ID, after.JSON200.ID, c.space.ID, sp.ID)
	}
	if mints := len(slices.DeleteFunc(c.srv.Requests(), func(r circletest.Request) bool { return r.OperationID != "createMemberToken" })); mints != 1 {
		t.Errorf("%d mints, want 1 (Ada's): her tokens did not survive Reset", mints)
	}
}

// TestSetRecordsOverridesState checks that registered records and
// responses take the place of the state for their operation until
// cleared.
func TestSetRecordsOverridesState(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	ctx := t.Context()
	c.srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: c.space.ID}, Name: "Stored"})
	c.srv.SetRecords("listHomePosts", []memberv1.Post{{ID: 900, Name: "Registered"}})
	names := func() string {
		t.Helper()
		r, err := c.as.ListHomePostsWithResponse(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range r.JSON200.Records {
			out = append(out, p.Name)
		}
		return fmt.Sprint(out)
	}
	if got := names(); got != "[Registered]" {
		t.Errorf("with SetRecords: %s", got)
	}
	c.srv.SetResponse("createPost", 503, nil)
	if _, err := c.as.CreatePostWithResponse(ctx, c.space.ID, memberv1.CreatePostJSONRequestBody{Name: "Refused"}); err == nil {
		t.Error("SetResponse 503 did not refuse the call")
	}
	c.srv.ClearResponse("listHomePosts")
	c.srv.ClearResponse("createPost")
	if got := names(); got != "[Stored]" {
		t.Errorf("after ClearResponse: %s (the refused call must not have stored a post)", got)
	}
}

// TestStateUnderParallelCalls has 8 goroutines of 4 members make 1,000
// calls that create and read, and checks every count at the end (run
// with -race). It logs how long the calls took.
func TestStateUnderParallelCalls(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	ctx := t.Context()
	post := c.srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: c.space.ID}, Name: "Busy"})
	clients := []*memberv1.ClientWithResponses{c.as, c.bs}
	for _, email := range []string{"cy@example.com", "di@example.com"} {
		m := c.srv.AddMember(circletest.Member{Email: email})
		c.srv.AddSpaceMember(c.space.ID, m.ID)
		clients = append(clients, memberClient(c.srv, email))
	}
	for _, api := range clients { // mint outside the timing
		if _, err := api.GetCurrentMemberWithResponse(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const workers, perWorker = 8, 125 // 1,000 calls
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		api := clients[w%len(clients)]
		wg.Go(func() {
			for i := range perWorker {
				var err error
				switch i % 5 {
				case 0, 1:
					_, err = api.CreateCommentWithResponse(ctx, post.ID, memberv1.CreateCommentJSONRequestBody{Comment: memberv1.CommentInput{Body: fmt.Sprint(w, i)}})
				case 2:
					_, err = api.LikePostWithResponse(ctx, post.ID)
				case 3:
					_, err = api.ListPostCommentsWithResponse(ctx, post.ID, &memberv1.ListPostCommentsParams{PerPage: ptr(5)})
				case 4:
					_, err = api.GetSpacePostWithResponse(ctx, c.space.ID, post.ID)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d calls by %d goroutines in %v", workers*perWorker, workers, elapsed)
	got, err := c.as.GetSpacePostWithResponse(ctx, c.space.ID, post.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantComments := workers * perWorker * 2 / 5
	if got.JSON200.CommentCount != wantComments || got.JSON200.UserLikesCount != len(clients) {
		t.Errorf("comment_count %d, likes %d; want %d, %d", got.JSON200.CommentCount, got.JSON200.UserLikesCount, wantComments, len(clients))
	}
	list, err := c.as.ListPostCommentsWithResponse(ctx, post.ID, nil)
	if err != nil || list.JSON200.Count != wantComments {
		t.Errorf("listed %v comments: %v", list.JSON200.Count, err)
	}
}

// TestThousandCalls makes 1,000 calls one after the other, as a user's
// test does (create posts, comment, like, list, get), against a fake as
// a user starts it (by default, and with WithResponseValidation), checks
// what they left, and logs how long they took.
func TestThousandCalls(t *testing.T) {
	t.Run("default", func(t *testing.T) { thousandCalls(t) })
	t.Run("WithResponseValidation", func(t *testing.T) { thousandCalls(t, circletest.WithResponseValidation()) })
}

func thousandCalls(t *testing.T, opts ...circletest.Option) {
	c := newCommunityOn(t, circletest.Start(t, opts...))
	ctx := t.Context()
	if _, err := c.as.GetCurrentMemberWithResponse(ctx); err != nil { // mint outside the timing
		t.Fatal(err)
	}
	start := time.Now()
	var ids []int
	for i := range 200 {
		p, err := c.as.CreatePostWithResponse(ctx, c.space.ID, memberv1.CreatePostJSONRequestBody{Name: fmt.Sprint("post ", i)})
		if err != nil {
			t.Fatal(err)
		}
		id := p.JSON200.ID
		ids = append(ids, id)
		if _, err := c.as.CreateCommentWithResponse(ctx, id, memberv1.CreateCommentJSONRequestBody{Comment: memberv1.CommentInput{Body: "c"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.as.LikePostWithResponse(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := c.as.ListSpacePostsWithResponse(ctx, c.space.ID, &memberv1.ListSpacePostsParams{PerPage: ptr(20)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.as.GetSpacePostWithResponse(ctx, c.space.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("1000 calls in %v", time.Since(start))
	home, err := c.as.ListHomePostsWithResponse(ctx, &memberv1.ListHomePostsParams{PerPage: ptr(1)})
	if err != nil {
		t.Fatal(err)
	}
	if h := home.JSON200; h.Count != 200 || h.Records[0].ID != ids[199] || h.Records[0].CommentCount != 1 || !h.Records[0].IsLiked {
		t.Errorf("home feed %+v", h)
	}
}

// BenchmarkStatefulCall measures one call that stores a comment and one
// that reads the post back, through package circle, on loopback.
func BenchmarkStatefulCall(b *testing.B) {
	srv, err := circletest.NewServer()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	srv.AddMember(circletest.Member{Email: "ada@example.com"})
	sp := srv.AddSpace(memberv1.Space{Name: "General"})
	post := srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: sp.ID}, Name: "Bench"})
	api := memberClient(srv, "ada@example.com")
	ctx := b.Context()
	body := memberv1.CreateCommentJSONRequestBody{Comment: memberv1.CommentInput{Body: "x"}}
	for b.Loop() {
		if _, err := api.CreateCommentWithResponse(ctx, post.ID, body); err != nil {
			b.Fatal(err)
		}
		if _, err := api.GetSpacePostWithResponse(ctx, sp.ID, post.ID); err != nil {
			b.Fatal(err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func text(s string) memberv1.RichTextBody {
	return memberv1.RichTextBody{Body: memberv1.RichTextDocument{Type: "doc", Content: []memberv1.RichTextBlock{{
		Type: "paragraph", Content: []memberv1.RichTextNode{{Type: "text", Text: s}},
	}}}}
}

// TestStoredListsPageInOrder checks that stored records are paged with
// page and per_page in Circle's order, or as sort says, to their end.
func TestStoredListsPageInOrder(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	ctx := t.Context()
	var want []int
	for i := range 25 {
		p := c.srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: c.space.ID}, Name: fmt.Sprintf("post %02d", i)})
		want = append(want, p.ID)
	}
	slices.Reverse(want) // newest first
	var got []int
	for p, err := range circle.ListSpacePostsAll(ctx, c.as, c.space.ID, &memberv1.ListSpacePostsParams{PerPage: ptr(10)}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("newest first: %v, want %v", got, want)
	}
	oldest := memberv1.ListSpacePostsParamsSortOldest
	got = nil
	for p, err := range circle.ListSpacePostsAll(ctx, c.as, c.space.ID, &memberv1.ListSpacePostsParams{PerPage: ptr(7), Sort: &oldest}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.ID)
	}
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Errorf("sort=oldest: %v, want %v", got, want)
	}
	page3, err := c.as.ListSpacePostsWithResponse(ctx, c.space.ID, &memberv1.ListSpacePostsParams{Page: ptr(3), PerPage: ptr(10)})
	if err != nil {
		t.Fatal(err)
	}
	if e := page3.JSON200; e.Count != 25 || e.PageCount != 3 || e.HasNextPage || len(e.Records) != 5 {
		t.Errorf("page 3 of 10: count %d, pages %d, next %v, %d records", e.Count, e.PageCount, e.HasNextPage, len(e.Records))
	}
}

// TestPrivateSpaces checks that a private space, its posts and their
// comments are seen by its members only.
func TestPrivateSpaces(t *testing.T) {
	t.Parallel()
	c := newCommunity(t)
	ctx := t.Context()
	club := c.srv.AddSpace(memberv1.Space{Name: "Board", IsPrivate: true})
	c.srv.AddSpaceMember(club.ID, c.ada.ID)
	p := c.srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: club.ID}, Name: "Budget"})

	if _, err := c.as.GetSpacePostWithResponse(ctx, club.ID, p.ID); err != nil {
		t.Errorf("a member reading the post: %v", err)
	}
	if _, err := c.bs.GetSpacePostWithResponse(ctx, club.ID, p.ID); !errors.Is(err, circle.ErrNotFound) {
		t.Errorf("a non-member reading the post: %v, want 404", err)
	}
	if _, err := c.bs.CreateCommentWithResponse(ctx, p.ID, memberv1.CreateCommentJSONRequestBody{Comment: memberv1.CommentInput{Body: "x"}}); !errors.Is(err, circle.ErrNotFound) {
		t.Errorf("a non-member commenting: %v, want 404", err)
	}
	spaces, err := c.bs.ListSpacesWithResponse(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range *spaces.JSON200 {
		if sp.ID == club.ID {
			t.Error("a non-member lists the private space")
		}
	}
	if home, err := c.bs.ListHomePostsWithResponse(ctx, nil); err != nil || len(home.JSON200.Records) != 0 {
		t.Errorf("a non-member's home feed: %v %+v", err, home)
	}
}
