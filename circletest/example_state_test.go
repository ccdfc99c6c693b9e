package circletest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// memberClient returns a Member API client acting for the member with the
// given email, through package circle, against srv.
func memberClient(srv *circletest.Server, email string) *memberv1.ClientWithResponses {
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	api, err := circle.NewMemberClient(auth.TokenSource(circle.ByEmail(email)), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	return api
}

// This example arranges a community without HTTP (a space, a member in
// it, a post) and reads it through the Member API as the member.
func ExampleServer_AddSpace() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com", Name: "Ada Lovelace"})
	space := srv.AddSpace(memberv1.Space{Name: "Announcements"})
	srv.AddSpaceMember(space.ID, ada.ID)
	srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: space.ID}, Name: "Welcome", Author: memberv1.SharedCommunityMember{ID: int(ada.ID)}})

	api := memberClient(srv, ada.Email)
	ctx := context.Background()
	got, err := api.GetSpaceWithResponse(ctx, space.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.JSON200.Name, "member:", got.JSON200.IsMember)
	for post, err := range circle.ListSpacePostsAll(ctx, api, space.ID, nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(post.Name, "by", post.Author.Name)
	}
	// Output:
	// Announcements member: true
	// Welcome by Ada Lovelace
}

// This example creates a post and a comment through the Member API and
// lists them back: the fake keeps what the calls create.
func Example_createThenList() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddMember(circletest.Member{Email: "ada@example.com", Name: "Ada"})
	space := srv.AddSpace(memberv1.Space{Name: "General"})

	api := memberClient(srv, "ada@example.com")
	ctx := context.Background()
	created, err := api.CreatePostWithResponse(ctx, space.ID, memberv1.CreatePostJSONRequestBody{Name: "Hello", Body: "First post"})
	if err != nil {
		log.Fatal(err)
	}
	post := created.JSON200
	if _, err := api.CreateCommentWithResponse(ctx, post.ID, memberv1.CreateCommentJSONRequestBody{
		Comment: memberv1.CommentInput{Body: "And a comment"},
	}); err != nil {
		log.Fatal(err)
	}

	list, err := api.ListSpacePostsWithResponse(ctx, space.ID, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range list.JSON200.Records {
		fmt.Printf("%s (%d comment)\n", p.Name, p.CommentCount)
	}
	comments, err := api.ListPostCommentsWithResponse(ctx, post.ID, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(comments.JSON200.Records[0].BodyText)
	// Output:
	// Hello (1 comment)
	// And a comment
}
