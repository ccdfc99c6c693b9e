package circletest

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// TestDeletePostDropsEveryComment deletes a post with three comments, the
// second bookmarked by Ada: every comment goes, and so does the bookmark.
func TestDeletePostDropsEveryComment(t *testing.T) {
	f := newFixture(t)
	run(t, func() {
		second := f.comment1(f.as, f.post.ID, "second")
		third := f.comment1(f.as, f.post.ID, "third")
		must(f.as.CreateBookmarkWithResponse(f.ctx, memberv1.CreateBookmarkJSONRequestBody{RecordID: second.ID, BookmarkType: "comment"}))
		must(f.bs.DeletePostWithResponse(f.ctx, f.space.ID, f.post.ID))
		if b := must(f.as.ListBookmarksWithResponse(f.ctx, nil)).JSON200.Records; len(b) != 0 {
			t.Errorf("Ada's bookmarks after the post was deleted: %+v", b)
		}
		f.s.mu.Lock()
		defer f.s.mu.Unlock()
		for _, id := range []int{f.comment.ID, second.ID, third.ID} {
			if f.s.c.comments[id] != nil {
				t.Errorf("comment %d survived its post", id)
			}
		}
	})
}

// TestConcurrentReactions has Ada and Bob react to one message at once,
// again and again, while an observer encodes every event raised: under
// -race, an event must not share the message's reactions with the next
// change to them.
func TestConcurrentReactions(t *testing.T) {
	f := newFixture(t)
	var updates atomic.Int64
	observe := func(e event) {
		if _, err := json.Marshal(e.data); err != nil {
			t.Errorf("%s: %v", e.name, err)
		}
		if e.name == eventChatMessageUpdated {
			updates.Add(1)
		}
	}
	f.s.observe.Store(&observe)
	const rounds = 30
	run(t, func() {
		r := f.room()
		id := f.say(r.UUID, "react to me")
		var wg sync.WaitGroup
		for _, api := range []*memberv1.ClientWithResponses{f.as, f.bs} {
			wg.Go(func() {
				for range rounds {
					if _, err := api.CreateReactionWithResponse(f.ctx, memberv1.CreateReactionJSONRequestBody{ChatRoomMessage: id, Emoji: "+1"}); err != nil {
						t.Error(err)
						return
					}
					if _, err := api.DeleteReactionWithResponse(f.ctx, memberv1.DeleteReactionJSONRequestBody{ChatRoomMessage: id, Emoji: "+1"}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
	// Each change is heard by both participants.
	if got, want := updates.Load(), int64(2*2*2*rounds); got != want {
		t.Errorf("%d updatedMessage events, want %d", got, want)
	}
}

// TestNotificationCountsInOrder adds notifications for Bob from several
// goroutines at once: the new-notification counts his events carry must
// arrive in the order they were counted, so that a client ends on the
// last count, not a stale one.
func TestNotificationCountsInOrder(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var counts []int
	observe := func(e event) {
		if e.name != eventUpdateNewNotificationCount {
			return
		}
		var n memberv1.NewNotificationsCount
		if err := json.Unmarshal(e.data, &n); err != nil {
			t.Error(err)
		}
		mu.Lock()
		defer mu.Unlock()
		counts = append(counts, n.NewNotificationsCount)
	}
	f.s.observe.Store(&observe)
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				f.s.AddNotification(f.bob.ID, memberv1.Notification{Action: "mention"})
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(counts) != writers*each {
		t.Fatalf("%d counts, want %d", len(counts), writers*each)
	}
	for i := 1; i < len(counts); i++ {
		if counts[i] < counts[i-1] {
			t.Fatalf("count %d arrived after %d (event %d)", counts[i], counts[i-1], i)
		}
	}
}

// TestNewCountFollowsNotifications deletes a new notification: the count
// of new notifications drops with it.
func TestNewCountFollowsNotifications(t *testing.T) {
	f := newFixture(t)
	run(t, func() {
		n := f.s.AddNotification(f.bob.ID, memberv1.Notification{Action: "mention"})
		if got := must(f.bs.GetNewNotificationsCountWithResponse(f.ctx)).JSON200.NewNotificationsCount; got != 1 {
			t.Errorf("count after one notification: %d, want 1", got)
		}
		must(f.bs.DeleteNotificationWithResponse(f.ctx, n.ID))
		if list := f.notifications(f.bs, memberv1.ListNotificationsParamsStatusAll); len(list) != 0 {
			t.Errorf("notifications after deleting the one: %+v", list)
		}
		if got := must(f.bs.GetNewNotificationsCountWithResponse(f.ctx)).JSON200.NewNotificationsCount; got != 0 {
			t.Errorf("count after deleting it: %d, want 0", got)
		}
	})
}

// TestCommentCountWithReplies counts a post's comments and replies as
// they are made and deleted.
func TestCommentCountWithReplies(t *testing.T) {
	f := newFixture(t)
	run(t, func() {
		want := func(step string, n int) {
			t.Helper()
			if got := f.getPost(f.as, f.post.ID).CommentCount; got != n {
				t.Errorf("%s: comment_count %d, want %d", step, got, n)
			}
		}
		want("one comment", 1)
		reply := must(f.as.CreateReplyWithResponse(f.ctx, f.comment.ID, memberv1.CreateReplyJSONRequestBody{Comment: memberv1.CommentInput{Body: "re"}})).JSON201
		must(f.as.CreateReplyWithResponse(f.ctx, f.comment.ID, memberv1.CreateReplyJSONRequestBody{Comment: memberv1.CommentInput{Body: "re re"}}))
		other := f.comment1(f.as, f.post.ID, "another")
		want("two comments, two replies", 4)
		must(f.as.DeleteReplyWithResponse(f.ctx, f.comment.ID, reply.ID))
		want("a reply deleted", 3)
		must(f.bs.DeleteCommentWithResponse(f.ctx, f.post.ID, f.comment.ID))
		want("the comment with the other reply deleted", 1)
		must(f.as.DeleteCommentWithResponse(f.ctx, f.post.ID, other.ID))
		want("none left", 0)
	})
}
