package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/gen/memberv1"
	"github.com/circlekit/headless-go/internal/syncbuf"
)

// TestCirclefake runs the command on a free port, reads the app token and
// a member's email it prints, calls both APIs through package circle, and
// checks the log of each request.
func TestCirclefake(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var out syncbuf.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, &out, ready) }()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, out.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("not ready:\n%s", out.String())
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})

	banner := out.String()
	token := regexp.MustCompile(`app token:\s+(\S+)`).FindStringSubmatch(banner)
	email := regexp.MustCompile(`member:\s+(\S+@\S+)`).FindStringSubmatch(banner)
	if token == nil || email == nil || !strings.Contains(banner, "in memory") || !strings.Contains(banner, base) {
		t.Fatalf("banner lacks the URL, app token, a member's email or the word on memory:\n%s", banner)
	}

	auth, err := circle.NewAuthClient(token[1], circle.WithBaseURL(base))
	if err != nil {
		t.Fatal(err)
	}
	api, err := circle.NewMemberClient(auth.TokenSource(circle.ByEmail(email[1])), circle.WithBaseURL(base))
	if err != nil {
		t.Fatal(err)
	}
	home, err := api.ListHomePostsWithResponse(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(home.JSON200.Records); n < 3 {
		t.Errorf("the demo home feed has %d posts, want at least 3", n)
	}
	created, err := api.CreatePostWithResponse(t.Context(), home.JSON200.Records[0].Space.ID, memberv1.CreatePostJSONRequestBody{Name: "From the test"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := api.GetSpacePostWithResponse(t.Context(), created.JSON200.Space.ID, created.JSON200.ID); err != nil || got.JSON200.Name != "From the test" {
		t.Errorf("reading the new post back: %v", err)
	}
	// An invalid request: a bookmark without its required fields.
	_, err = api.CreateBookmarkWithBodyWithResponse(t.Context(), "application/json", strings.NewReader(`{}`))
	if err == nil {
		t.Error("an invalid request was accepted")
	}

	// A browser's preflight from another origin.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, base+"/api/headless/v1/home", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}

	deadline := time.Now().Add(5 * time.Second)
	for {
		log := out.String()
		ok := strings.Contains(log, "op=createMemberToken") &&
			regexp.MustCompile(`op=listHomePosts .*status=200 .*spec=valid`).MatchString(log) &&
			regexp.MustCompile(`op=createBookmark .*status=400 .*spec="invalid request`).MatchString(log)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log lacks a request's operation, status or validity:\n%s", log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCirclefakeFlags checks that a bad flag or argument is an error.
func TestCirclefakeFlags(t *testing.T) {
	var out syncbuf.Buffer
	if err := run(t.Context(), []string{"-no-such-flag"}, &out, nil); err == nil {
		t.Error("an unknown flag was accepted")
	}
	if err := run(t.Context(), []string{"extra"}, &out, nil); err == nil {
		t.Error("an argument was accepted")
	}
	if err := run(t.Context(), []string{"-addr", "not an address"}, &out, nil); err == nil {
		t.Error("a bad address was accepted")
	}
}
