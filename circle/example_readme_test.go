package circle_test

// The README quotes the examples and the test of this file; the test
// TestReadmeSnippets at the root of the module checks that every Go snippet
// of the README is here, word for word, so that each compiles.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"testing"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// The README's quick start: one member, against the real Circle. It needs
// an app token, so it is compiled but not run; examples/quickstart runs
// the same steps against a fake Circle.
func Example_quickStart() {
	ctx := context.Background()

	// The community's Headless Auth app token (Circle's admin settings).
	auth, err := circle.NewAuthClient(os.Getenv("CIRCLE_APP_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}

	// The token source of one member: it mints the member's token pair on
	// first use, caches it and refreshes it before it expires.
	member := auth.TokenSource(circle.ByEmail("ada@example.com"))

	// A Member API client acting for that member.
	api, err := circle.NewMemberClient(member)
	if err != nil {
		log.Fatal(err)
	}

	// One call: err == nil means a 2xx response, decoded in JSON200.
	me, err := api.GetCurrentMemberWithResponse(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in as", me.JSON200.Name)

	// Every page-based list can be ranged over to its end; pages are
	// fetched as the loop needs them.
	tok, err := member.Token(ctx) // the member's current token pair
	if err != nil {
		log.Fatal(err)
	}
	memberID := int(tok.CommunityMemberID)
	for space, err := range circle.ListMemberSpacesAll(ctx, api, memberID, nil) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("space:", space.Name)
	}

	// A non-2xx response is a *circle.APIError, matched by kind.
	spaceID, postID := 1, 999999
	_, err = api.GetSpacePostWithResponse(ctx, spaceID, postID)
	if errors.Is(err, circle.ErrNotFound) {
		fmt.Println("no such post")
	}

	// Sign the member out: revokes the access and the refresh token.
	if err := member.Revoke(ctx); err != nil {
		log.Fatal(err)
	}
}

// The README's "many members": one member client for every member of a
// website, each call naming its member in its context. Compiled, not run.
func Example_manyMembers() {
	auth, err := circle.NewAuthClient(os.Getenv("CIRCLE_APP_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	api, err := circle.NewMemberClient(nil) // no default member
	if err != nil {
		log.Fatal(err)
	}

	http.HandleFunc("GET /feed", func(w http.ResponseWriter, r *http.Request) {
		// However your site knows its signed-in member; here, its SSO id.
		userID := r.Header.Get("X-User-ID")
		ctx := circle.WithTokenSource(r.Context(), auth.TokenSource(circle.BySSOUserID(userID)))
		feed, err := api.ListHomePostsWithResponse(ctx, nil)
		if err != nil {
			http.Error(w, "Circle is unavailable", http.StatusBadGateway)
			return
		}
		_, _ = w.Write(feed.Body)
	})
	log.Fatal(http.ListenAndServe("localhost:8080", nil))
}

// TestHomeFeed is the README's test against circletest: the circle
// clients, pointed at a fake Circle on loopback.
func TestHomeFeed(t *testing.T) {
	ctx := context.Background()
	srv := circletest.Start(t) // a fake Circle, closed when the test ends
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	srv.SetRecords("listHomePosts", []memberv1.Post{{Name: "Hello"}, {Name: "News"}})

	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	api, err := circle.NewMemberClient(auth.TokenSource(circle.ByEmail(ada.Email)), circle.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}

	var names []string
	for post, err := range circle.ListHomePostsAll(ctx, api, nil) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, post.Name)
	}
	if fmt.Sprint(names) != "[Hello News]" {
		t.Errorf("home feed: got %q, want Hello and News", names)
	}

	// What reached Circle: a mint, then the feed, each valid against the spec.
	var ops []string
	for _, r := range srv.Requests() {
		ops = append(ops, r.OperationID)
		if r.ValidationError != nil {
			t.Errorf("%s: %v", r.OperationID, r.ValidationError)
		}
	}
	if fmt.Sprint(ops) != "[createMemberToken listHomePosts]" {
		t.Errorf("requests: got %q", ops)
	}
}
