package circle_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// ListBookmarksAll ranges over every bookmark of a member, fetching pages
// as the loop reaches them. Here the fake Circle of package circletest
// holds five bookmarks and serves two a page.
func ExampleListBookmarksAll() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddMember(circletest.Member{Email: "ada@example.com"})
	srv.SetRecords("listBookmarks", []map[string]any{{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}, {"id": 5}})
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
	n := 0
	for _, err := range circle.ListBookmarksAll(ctx, api, &memberv1.ListBookmarksParams{PerPage: &perPage}) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	pages := 0
	for _, r := range srv.Requests() {
		if r.OperationID == "listBookmarks" {
			pages++
		}
	}
	fmt.Println(n, "bookmarks in", pages, "pages")
	// Output:
	// 5 bookmarks in 3 pages
}

// Revoke signs a member out of the Headless APIs: Circle withdraws both
// tokens, and a call that begins afterwards mints a new pair.
func ExampleMemberTokenSource_Revoke() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddMember(circletest.Member{Email: "ada@example.com"})
	ctx := context.Background()

	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	ada := auth.TokenSource(circle.ByEmail("ada@example.com"))
	before, err := ada.Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	if err := ada.Revoke(ctx); err != nil {
		log.Fatal(err)
	}
	// The revoked access token no longer works.
	old, err := auth.NewMemberClient(circle.StaticTokenSource(before))
	if err != nil {
		log.Fatal(err)
	}
	_, err = old.GetCurrentMemberWithResponse(ctx)
	fmt.Println("old token:", errors.Is(err, circle.ErrUnauthorized))

	after, err := ada.Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new pair:", after.AccessToken != before.AccessToken)
	for _, r := range srv.Requests() {
		if r.OperationID != "getCurrentMember" {
			fmt.Println(r.OperationID, r.Status)
		}
	}
	// Output:
	// old token: true
	// new pair: true
	// createMemberToken 200
	// revokeAccessToken 204
	// revokeRefreshToken 204
	// createMemberToken 200
}

// A TokenStore keeps the members' pairs across clients: a restarted
// process (here a second AuthClient) reuses the stored pair instead of
// minting again. The default store is a MemoryStore of the client's own;
// package redisstore has one that several replicas share.
func ExampleWithTokenStore() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddMember(circletest.Member{Email: "ada@example.com"})
	ctx := context.Background()
	store := circle.NewMemoryStore()

	for range 2 { // the process, then the process restarted
		auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()), circle.WithTokenStore(store))
		if err != nil {
			log.Fatal(err)
		}
		if _, err := auth.TokenSource(circle.ByEmail("ada@example.com")).Token(ctx); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(len(srv.Requests()), "mint for two clients;", store.Len(), "pair stored")
	// Output:
	// 1 mint for two clients; 1 pair stored
}

// NewHTTPClient sends any request on behalf of a member, with the
// member's token, the retries and the replay after a 401: for requests the
// generated client does not cover. Responses stay responses.
func ExampleNewHTTPClient() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddMember(circletest.Member{Email: "ada@example.com"})
	ctx := context.Background()

	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	hc, err := circle.NewHTTPClient(auth.TokenSource(circle.ByEmail("ada@example.com")), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL()+"/api/headless/v1/community_member", nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	fmt.Println(resp.StatusCode)
	// Output:
	// 200
}
