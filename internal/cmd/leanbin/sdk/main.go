// Command sdk is the smallest useful program on headless-go: it mints a
// member token with a circle token source and lists the member's bookmarks
// with the member client. It is not a tool: internal/cmd/leanbin builds it to
// measure what importing package circle costs a user's binary, against the
// same program written on net/http (internal/cmd/leanbin/raw).
//
// It reads CIRCLE_BASE_URL, CIRCLE_APP_TOKEN and CIRCLE_MEMBER_EMAIL, and
// prints one line: the number of bookmarks on the first page.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/circlekit/headless-go/circle"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sdk:", err)
		os.Exit(1)
	}
}

func run() error {
	baseURL, appToken, email := os.Getenv("CIRCLE_BASE_URL"), os.Getenv("CIRCLE_APP_TOKEN"), os.Getenv("CIRCLE_MEMBER_EMAIL")
	if baseURL == "" || appToken == "" || email == "" {
		return errors.New("set CIRCLE_BASE_URL, CIRCLE_APP_TOKEN and CIRCLE_MEMBER_EMAIL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	auth, err := circle.NewAuthClient(appToken, circle.WithBaseURL(baseURL))
	if err != nil {
		return err
	}
	api, err := circle.NewMemberClient(auth.TokenSource(circle.ByEmail(email)), circle.WithBaseURL(baseURL))
	if err != nil {
		return err
	}
	resp, err := api.ListBookmarksWithResponse(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Printf("bookmarks: %d\n", len(resp.JSON200.Records))
	return nil
}
