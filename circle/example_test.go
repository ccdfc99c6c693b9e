package circle_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// An AuthClient mints a member's token pair on first use of the member's
// token source, and turns Circle's failures into typed errors. The fake
// Circle of package circletest stands in for Circle here; in a program,
// give NewAuthClient the community's Headless Auth token and no base URL.
func ExampleNewAuthClient() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	ctx := context.Background()

	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := auth.TokenSource(circle.ByEmail("ada@example.com")).Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("the token acts for ada:", tok.CommunityMemberID == ada.ID, tok.Valid())

	wrong, err := circle.NewAuthClient("not-the-app-token", circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	_, err = wrong.TokenSource(circle.ByEmail("ada@example.com")).Token(ctx)
	fmt.Println("a wrong app token is unauthorized:", errors.Is(err, circle.ErrUnauthorized))
	// Output:
	// the token acts for ada: true true
	// a wrong app token is unauthorized: true
}

// A member client acts for one member: its token source mints, caches
// and refreshes the member's token.
func ExampleNewMemberClient() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddMember(circletest.Member{Email: "ada@example.com"})
	srv.SetRecords("listBookmarks", []map[string]any{{"id": 101}, {"id": 102}})
	ctx := context.Background()

	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	ada := auth.TokenSource(circle.ByEmail("ada@example.com"))
	api, err := circle.NewMemberClient(ada, circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := api.ListBookmarksWithResponse(ctx, nil)
	if err != nil { // any non-2xx response is an error
		log.Fatal(err)
	}
	for _, b := range resp.JSON200.Records {
		fmt.Println("bookmark", b.ID)
	}
	// Output:
	// bookmark 101
	// bookmark 102
}

// One member client serves every member: each call names its member in its
// context. In a web backend, do this in the handler of each signed-in
// member's request.
func ExampleNewMemberClient_manyMembers() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	for _, email := range []string{"ada@example.com", "bob@example.com"} {
		srv.AddMember(circletest.Member{Email: email})
	}

	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	api, err := auth.NewMemberClient(nil) // no default member
	if err != nil {
		log.Fatal(err)
	}
	for _, email := range []string{"ada@example.com", "bob@example.com", "ada@example.com"} {
		ctx := circle.WithTokenSource(context.Background(), auth.TokenSource(circle.ByEmail(email)))
		if _, err := api.GetCurrentMemberWithResponse(ctx); err != nil {
			log.Fatal(err)
		}
	}
	for _, r := range srv.Requests() {
		fmt.Println(r.OperationID, r.MemberID)
	}
	// Output:
	// createMemberToken 1
	// getCurrentMember 1
	// createMemberToken 2
	// getCurrentMember 2
	// getCurrentMember 1
}

// Pages ranges over a whole list, fetching each page when the loop gets
// there. The List…All functions (ListBookmarksAll...) do this for every
// list operation; Pages is for a list of your own.
func ExamplePages() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddMember(circletest.Member{Email: "ada@example.com"})
	srv.SetRecords("listBookmarks", []map[string]any{{"id": 101}, {"id": 102}, {"id": 103}})
	ctx := context.Background()
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	api, err := auth.NewMemberClient(auth.TokenSource(circle.ByEmail("ada@example.com")))
	if err != nil {
		log.Fatal(err)
	}

	perPage := 2
	bookmarks := circle.Pages(ctx, 1, func(ctx context.Context, page int) (circle.Page[memberv1.Bookmark], error) {
		resp, err := api.ListBookmarksWithResponse(ctx, &memberv1.ListBookmarksParams{Page: &page, PerPage: &perPage})
		if err != nil {
			return circle.Page[memberv1.Bookmark]{}, err
		}
		return circle.Page[memberv1.Bookmark]{Records: resp.JSON200.Records, Number: resp.JSON200.Page, HasNext: resp.JSON200.HasNextPage}, nil
	})
	for b, err := range bookmarks {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("bookmark", b.ID)
	}
	// Output:
	// bookmark 101
	// bookmark 102
	// bookmark 103
}

// A non-2xx response is an *APIError, matched by kind with errors.Is.
func ExampleAPIError() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	api, err := circle.NewMemberClient(circle.StaticTokenSource(circle.Token{AccessToken: "not-a-token"}), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}

	_, err = api.ListBookmarksWithResponse(context.Background(), nil)
	var apiErr *circle.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Method, apiErr.Path)
	}
	fmt.Println(errors.Is(err, circle.ErrUnauthorized))
	// Output:
	// 401 GET /api/headless/v1/bookmarks
	// true
}
