package circletest

import (
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
