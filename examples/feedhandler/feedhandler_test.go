package feedhandler

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

func newHandler(t *testing.T, srv *circletest.Server) *Handler {
	t.Helper()
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	api, err := circle.NewMemberClient(nil, circle.WithBaseURL(srv.URL()), circle.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	return &Handler{Auth: auth, API: api}
}

func get(h http.Handler, email string) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/feed", nil)
	req.Header.Set("X-Member-Email", email)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestFeed(t *testing.T) {
	srv := circletest.Start(t) // a fake Circle, closed when the test ends
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	// The community the feed shows: a space with two posts, the newest last.
	space := srv.AddSpace(memberv1.Space{Name: "General"})
	srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: space.ID}, Name: "News"})
	srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: space.ID}, Name: "Hello"})

	rec := get(newHandler(t, srv), ada.Email)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var titles []string
	if err := json.Unmarshal(rec.Body.Bytes(), &titles); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(titles, []string{"Hello", "News"}) {
		t.Fatalf("titles = %q", titles)
	}
	// What reached Circle: one mint, then the feed, for Ada.
	var ops []string
	for _, r := range srv.Requests() {
		ops = append(ops, r.OperationID)
		if r.ValidationError != nil {
			t.Errorf("%s was invalid: %s", r.OperationID, r.ValidationError)
		}
	}
	if !slices.Equal(ops, []string{"createMemberToken", "listHomePosts"}) {
		t.Fatalf("calls = %q", ops)
	}
}

// TestFeedShowsNewPosts checks that a post another member writes through
// the Member API reaches the top of Ada's feed.
func TestFeedShowsNewPosts(t *testing.T) {
	srv := circletest.Start(t)
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	bob := srv.AddMember(circletest.Member{Email: "bob@example.com"})
	space := srv.AddSpace(memberv1.Space{Name: "General"})
	srv.AddPost(memberv1.Post{Space: memberv1.PostSpace{ID: space.ID}, Name: "Old news"})
	h := newHandler(t, srv)

	// Bob posts, through the same client the handler uses.
	ctx := circle.WithTokenSource(context.Background(), h.Auth.TokenSource(circle.ByEmail(bob.Email)))
	if _, err := h.API.CreatePostWithResponse(ctx, space.ID, memberv1.CreatePostJSONRequestBody{Name: "Meetup on Friday"}); err != nil {
		t.Fatal(err)
	}

	rec := get(h, ada.Email)
	var titles []string
	if err := json.Unmarshal(rec.Body.Bytes(), &titles); err != nil {
		t.Fatalf("status %d: %v", rec.Code, err)
	}
	if !slices.Equal(titles, []string{"Meetup on Friday", "Old news"}) {
		t.Fatalf("titles = %q", titles)
	}
}

// TestFeedWithRegisteredPosts shows the other way to arrange the feed:
// records registered for the operation, whatever the community holds.
func TestFeedWithRegisteredPosts(t *testing.T) {
	srv := circletest.Start(t)
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	srv.SetRecords("listHomePosts", []memberv1.Post{{Name: "Hello"}, {Name: "News"}})

	rec := get(newHandler(t, srv), ada.Email)
	var titles []string
	if err := json.Unmarshal(rec.Body.Bytes(), &titles); err != nil {
		t.Fatalf("status %d: %v", rec.Code, err)
	}
	if !slices.Equal(titles, []string{"Hello", "News"}) {
		t.Fatalf("titles = %q", titles)
	}
}

func TestFeedWhenCircleFails(t *testing.T) {
	srv := circletest.Start(t)
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	srv.InjectFault("listHomePosts", circletest.Fault{Status: http.StatusServiceUnavailable, Times: 1})

	if rec := get(newHandler(t, srv), ada.Email); rec.Code != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", rec.Code)
	}
}

func TestFeedUnknownMember(t *testing.T) {
	srv := circletest.Start(t)
	if rec := get(newHandler(t, srv), "nobody@example.com"); rec.Code != http.StatusNotFound {
		t.Fatalf("status %d, want 404", rec.Code)
	}
}
