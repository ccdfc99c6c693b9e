package circle_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// startCircle starts a tiny stand-in for Circle on loopback: it mints
// tokens for the app token "app-token" and lists three bookmarks per
// member, two per page. (Package circletest has a complete one.)
func startCircle() *httptest.Server {
	var mu sync.Mutex
	members := map[string]int{}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("POST /api/v1/headless/auth_token", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer app-token" {
			reply(w, 401, map[string]any{"success": false, "message": "The app token was not accepted (test)."})
			return
		}
		var id struct{ Email string }
		_ = json.NewDecoder(r.Body).Decode(&id)
		mu.Lock()
		if members[id.Email] == 0 {
			members[id.Email] = len(members) + 1
		}
		m := members[id.Email]
		mu.Unlock()
		now := time.Now()
		reply(w, 200, map[string]any{
			"access_token": "acc-" + strconv.Itoa(m), "access_token_expires_at": now.Add(time.Hour),
			"refresh_token": "ref-" + strconv.Itoa(m), "refresh_token_expires_at": now.Add(720 * time.Hour),
			"community_member_id": m, "community_id": 7,
		})
	})
	mux.HandleFunc("GET /api/headless/v1/bookmarks", func(w http.ResponseWriter, r *http.Request) {
		m, err := strconv.Atoi(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer acc-"))
		if err != nil {
			reply(w, 401, map[string]any{"success": false, "message": "This access token is not valid (test)."})
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		page = max(page, 1)
		var recs []map[string]any
		for i := 2*page - 1; i <= min(2*page, 3); i++ {
			recs = append(recs, map[string]any{"id": 100*m + i, "record_id": i, "community_member_id": m})
		}
		reply(w, 200, map[string]any{"page": page, "per_page": 2, "has_next_page": page < 2, "count": 3, "records": recs})
	})
	return httptest.NewServer(mux)
}

// An AuthClient mints a member's token pair on first use of the member's
// token source, and turns Circle's failures into typed errors.
func ExampleNewAuthClient() {
	srv := startCircle()
	defer srv.Close()
	ctx := context.Background()

	auth, err := circle.NewAuthClient("app-token", circle.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := auth.TokenSource(circle.ByEmail("ada@example.com")).Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("member", tok.CommunityMemberID, "of community", tok.CommunityID)

	wrong, _ := circle.NewAuthClient("not-the-app-token", circle.WithBaseURL(srv.URL))
	_, err = wrong.TokenSource(circle.ByEmail("ada@example.com")).Token(ctx)
	fmt.Println(errors.Is(err, circle.ErrUnauthorized))
	fmt.Println(err)
	// Output:
	// member 1 of community 7
	// true
	// circle: POST /api/v1/headless/auth_token: 401 Unauthorized: The app token was not accepted (test).
}

// A member client acts for one member: its token source mints, caches
// and refreshes the member's token.
func ExampleNewMemberClient() {
	srv := startCircle()
	defer srv.Close()
	ctx := context.Background()

	auth, err := circle.NewAuthClient("app-token", circle.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	ada := auth.TokenSource(circle.ByEmail("ada@example.com"))
	api, err := circle.NewMemberClient(ada, circle.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	resp, err := api.ListBookmarksWithResponse(ctx, nil)
	if err != nil { // any non-2xx answer is an error
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
	srv := startCircle()
	defer srv.Close()

	auth, err := circle.NewAuthClient("app-token", circle.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	api, err := circle.NewMemberClient(nil, circle.WithBaseURL(srv.URL)) // no default member
	if err != nil {
		log.Fatal(err)
	}
	for _, email := range []string{"ada@example.com", "bob@example.com", "ada@example.com"} {
		ctx := circle.WithTokenSource(context.Background(), auth.TokenSource(circle.ByEmail(email)))
		resp, err := api.ListBookmarksWithResponse(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(email, "is member", resp.JSON200.Records[0].CommunityMemberID)
	}
	// Output:
	// ada@example.com is member 1
	// bob@example.com is member 2
	// ada@example.com is member 1
}

// Pages ranges over a whole list, fetching each page when the loop gets
// there.
func ExamplePages() {
	srv := startCircle()
	defer srv.Close()
	ctx := context.Background()
	auth, _ := circle.NewAuthClient("app-token", circle.WithBaseURL(srv.URL))
	api, _ := circle.NewMemberClient(auth.TokenSource(circle.ByEmail("ada@example.com")), circle.WithBaseURL(srv.URL))

	bookmarks := circle.Pages(ctx, 1, func(ctx context.Context, page int) (circle.Page[memberv1.Bookmark], error) {
		resp, err := api.ListBookmarksWithResponse(ctx, &memberv1.ListBookmarksParams{Page: &page})
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

// A non-2xx answer is an *APIError, matched by kind with errors.Is.
func ExampleAPIError() {
	srv := startCircle()
	defer srv.Close()
	api, _ := circle.NewMemberClient(staticToken("acc-none"), circle.WithBaseURL(srv.URL))

	_, err := api.ListBookmarksWithResponse(context.Background(), nil)
	var apiErr *circle.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Message)
	}
	fmt.Println(errors.Is(err, circle.ErrUnauthorized))
	// Output:
	// 401 This access token is not valid (test).
	// true
}

// staticToken is a TokenSource of a fixed access token.
type staticToken string

func (s staticToken) Token(context.Context) (circle.Token, error) {
	return circle.Token{AccessToken: string(s)}, nil
}
