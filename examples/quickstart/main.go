// Command quickstart runs headless-go end to end: it mints a member token,
// reads the member's home feed and spaces, pages through the bookmarks with
// an iterator, shows a typed error for a missing post, refreshes the token
// and revokes it.
//
// Without CIRCLE_APP_TOKEN it runs against an embedded fake Circle
// (package circletest) and needs no network. With it, it talks to the real
// Circle:
//
//	CIRCLE_APP_TOKEN    the community's Headless Auth app token
//	CIRCLE_MEMBER_EMAIL the member to act for (required with a token)
//	CIRCLE_BASE_URL     defaults to https://app.circle.so
//
// It prints each step on a line or two, never a token, and exits non-zero
// on any failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	err := run(ctx, os.Stdout, os.Getenv)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// target is the Circle the quick start talks to.
type target struct {
	baseURL, appToken, email string
	fake                     *circletest.Server // nil for the real Circle
}

func run(ctx context.Context, out io.Writer, getenv func(string) string) error {
	t, err := pickTarget(getenv)
	if err != nil {
		return err
	}
	if t.fake != nil {
		defer t.fake.Close()
		fmt.Fprintf(out, "Circle: the embedded fake (circletest) at %s; set CIRCLE_APP_TOKEN to use the real one\n", t.fake.URL())
	} else {
		fmt.Fprintf(out, "Circle: the real one at %s, acting for %s\n", t.baseURL, t.email)
	}

	opts := []circle.Option{circle.WithBaseURL(t.baseURL), circle.WithUserAgent("headless-go-quickstart")}
	if t.fake != nil {
		// Share the fake's clock, so that moving it moves token expiry.
		opts = append(opts, circle.WithClock(t.fake.Now))
	}
	auth, err := circle.NewAuthClient(t.appToken, opts...)
	if err != nil {
		return err
	}
	member := auth.TokenSource(circle.ByEmail(t.email))
	api, err := circle.NewMemberClient(member, opts...)
	if err != nil {
		return err
	}

	// 1. Mint.
	tok, err := member.Token(ctx)
	if err != nil {
		return fmt.Errorf("mint a member token: %w", err)
	}
	fmt.Fprintf(out, "1. minted a token pair for member %d of community %d; access token valid until %s\n",
		tok.CommunityMemberID, tok.CommunityID, tok.AccessTokenExpiresAt.Format(time.RFC3339))

	// 2. Home feed.
	perPage := 5
	feed, err := api.ListHomePostsWithResponse(ctx, &memberv1.ListHomePostsParams{PerPage: &perPage})
	if err != nil {
		return fmt.Errorf("home feed: %w", err)
	}
	posts := feed.JSON200.Records
	fmt.Fprintf(out, "2. home feed: %d posts on page 1%s\n", len(posts), titles(posts, func(p memberv1.Post) string { return p.Name }))

	// 3. Spaces.
	spaces, err := api.ListSpacesWithResponse(ctx)
	if err != nil {
		return fmt.Errorf("spaces: %w", err)
	}
	fmt.Fprintf(out, "3. spaces: %d visible%s\n", len(deref(spaces.JSON200)), titles(deref(spaces.JSON200), func(s memberv1.Space) string { return s.Name }))

	// 4. Every bookmark, page by page, with the iterator.
	small := 10
	n := 0
	for _, err := range circle.ListBookmarksAll(ctx, api, &memberv1.ListBookmarksParams{PerPage: &small}) {
		if err != nil {
			return fmt.Errorf("bookmarks: %w", err)
		}
		n++
	}
	fmt.Fprintf(out, "4. bookmarks: ranged over all %d with circle.ListBookmarksAll, %d per page\n", n, small)

	// 5. A typed error.
	spaceID, postID := 1, 999_999_999
	if s := deref(spaces.JSON200); len(s) > 0 && s[0].ID != 0 {
		spaceID = s[0].ID
	}
	_, err = api.GetSpacePostWithResponse(ctx, spaceID, postID)
	var apiErr *circle.APIError
	switch {
	case errors.Is(err, circle.ErrNotFound) && errors.As(err, &apiErr):
		fmt.Fprintf(out, "5. missing post: errors.Is(err, circle.ErrNotFound) holds; status %d, message %q\n", apiErr.StatusCode, apiErr.Message)
	case err == nil:
		return fmt.Errorf("post %d of space %d exists; expected a 404", postID, spaceID)
	default:
		return fmt.Errorf("missing post: want circle.ErrNotFound, got %w", err)
	}

	// 6. Refresh. On the fake, move its clock to 30 s before the access
	// token expires: the source refreshes on its own, inside its margin.
	// On the real Circle, ask for a refresh as a 401 answer would.
	var fresh circle.Token
	if t.fake != nil {
		t.fake.Advance(tok.AccessTokenExpiresAt.Sub(t.fake.Now()) - 30*time.Second)
		fresh, err = member.Token(ctx)
	} else {
		fresh, err = member.RefreshRejected(ctx, tok.AccessToken)
	}
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	if fresh.AccessToken == tok.AccessToken {
		return errors.New("refresh: the access token did not change")
	}
	if _, err := api.GetCurrentMemberWithResponse(ctx); err != nil {
		return fmt.Errorf("call with the refreshed token: %w", err)
	}
	fmt.Fprintf(out, "6. refreshed the access token before it expired (new one valid until %s) and used it\n", fresh.AccessTokenExpiresAt.Format(time.RFC3339))

	// 7. Revoke.
	if err := member.Revoke(ctx); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	fmt.Fprintln(out, "7. revoked the access and refresh tokens")
	fmt.Fprintln(out, "done")
	return nil
}

func pickTarget(getenv func(string) string) (target, error) {
	if tok := getenv("CIRCLE_APP_TOKEN"); tok != "" {
		t := target{baseURL: getenv("CIRCLE_BASE_URL"), appToken: tok, email: getenv("CIRCLE_MEMBER_EMAIL")}
		if t.baseURL == "" {
			t.baseURL = circle.DefaultBaseURL
		}
		if t.email == "" {
			return target{}, errors.New("CIRCLE_APP_TOKEN is set: set CIRCLE_MEMBER_EMAIL to the member to act for")
		}
		return t, nil
	}
	srv, err := circletest.NewServer()
	if err != nil {
		return target{}, fmt.Errorf("start the fake Circle: %w", err)
	}
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	srv.SetRecords("listHomePosts", samplePosts())
	srv.SetRecords("listBookmarks", sampleBookmarks(23))
	srv.SetResponse("listSpaces", 200, sampleSpaces())
	srv.SetResponse("getSpacePost", 404, map[string]any{
		"success": false, "message": "There is no such post in this space.", "error_details": map[string]any{},
	})
	return target{baseURL: srv.URL(), appToken: srv.AppToken(), email: ada.Email, fake: srv}, nil
}

func samplePosts() []memberv1.Post {
	names := []string{"Welcome to the community", "Office hours on Thursday", "Show us what you built"}
	posts := make([]memberv1.Post, len(names))
	for i, n := range names {
		posts[i] = memberv1.Post{ID: i + 1, Name: n}
	}
	return posts
}

func sampleSpaces() []memberv1.Space {
	names := []string{"Announcements", "General", "Help"}
	spaces := make([]memberv1.Space, len(names))
	for i, n := range names {
		spaces[i] = memberv1.Space{ID: i + 1, Name: n}
	}
	return spaces
}

func sampleBookmarks(n int) []memberv1.Bookmark {
	b := make([]memberv1.Bookmark, n)
	for i := range b {
		b[i] = memberv1.Bookmark{ID: i + 1}
	}
	return b
}

// titles lists up to three names as `: "a", "b", ...`.
func titles[T any](items []T, name func(T) string) string {
	var parts []string
	for _, it := range items {
		if len(parts) == 3 {
			parts = append(parts, "...")
			break
		}
		if n := name(it); n != "" {
			parts = append(parts, fmt.Sprintf("%q", n))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// deref reads a response's JSON200 that is a list: nil reads as empty.
func deref[T any](p *[]T) []T {
	if p == nil {
		return nil
	}
	return *p
}
