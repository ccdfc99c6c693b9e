package circletest_test

// The README's circletest section quotes this file (readme_test.go checks
// that it does).

import (
	"context"
	"testing"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

func TestCommentsAndLikes(t *testing.T) {
	ctx := context.Background()
	srv := circletest.Start(t) // a fake Circle, closed when the test ends
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com", Name: "Ada"})
	bob := srv.AddMember(circletest.Member{Email: "bob@example.com", Name: "Bob"})
	space := srv.AddSpace(memberv1.Space{Name: "General"})
	post := srv.AddPost(memberv1.Post{
		Space:  memberv1.PostSpace{ID: space.ID},
		Name:   "Hello",
		Author: memberv1.SharedCommunityMember{ID: int(ada.ID)},
	})

	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	api, err := circle.NewMemberClient(nil, circle.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	asAda := circle.WithTokenSource(ctx, auth.TokenSource(circle.ByEmail(ada.Email)))
	asBob := circle.WithTokenSource(ctx, auth.TokenSource(circle.ByEmail(bob.Email)))

	// Bob comments and likes; the fake keeps both.
	comment := memberv1.CreateCommentJSONRequestBody{Comment: memberv1.CommentInput{Body: "Welcome!"}}
	if _, err := api.CreateCommentWithResponse(asBob, post.ID, comment); err != nil {
		t.Fatal(err)
	}
	if _, err := api.LikePostWithResponse(asBob, post.ID); err != nil {
		t.Fatal(err)
	}

	// Ada sees the comment and the like on her post.
	got, err := api.GetSpacePostWithResponse(asAda, space.ID, post.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.JSON200.CommentCount != 1 || got.JSON200.UserLikesCount != 1 {
		t.Errorf("comments %d, likes %d; want 1 and 1", got.JSON200.CommentCount, got.JSON200.UserLikesCount)
	}

	// Every request that reached the fake was valid against the spec.
	for _, r := range srv.Requests() {
		if r.ValidationError != nil {
			t.Errorf("%s: %v", r.OperationID, r.ValidationError)
		}
	}
}
