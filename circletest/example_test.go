package circletest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/circlekit/headless-go/circletest"
)

// do sends a request with a bearer token and an optional JSON body, and
// returns the status and body.
func do(method, url, token, body string) (int, []byte) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	return resp.StatusCode, b
}

// This example mints a member's tokens through the Auth API, then pages
// through a list of posts registered by the test. In a test, use
// circletest.Start(t) instead of NewServer and Close.
func Example() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	member := srv.AddMember(circletest.Member{Email: "ada@example.com"})

	// The community's backend mints the member's tokens with the app token.
	status, body := do("POST", srv.URL()+"/api/v1/headless/auth_token", srv.AppToken(),
		`{"email":"ada@example.com"}`)
	var tokens struct {
		AccessToken       string `json:"access_token"`
		CommunityMemberID int64  `json:"community_member_id"`
	}
	if err := json.Unmarshal(body, &tokens); err != nil {
		log.Fatal(err)
	}
	fmt.Println("mint:", status, "for member", tokens.CommunityMemberID == member.ID)

	// The Member API answers with what the test registered, a page at a time.
	srv.SetRecords("listSpacePosts", []map[string]any{
		{"id": 1, "name": "Welcome"},
		{"id": 2, "name": "Rules"},
		{"id": 3, "name": "Introductions"},
	})
	for page := 1; ; page++ {
		url := fmt.Sprintf("%s/api/headless/v1/spaces/7/posts?per_page=2&page=%d", srv.URL(), page)
		status, body := do("GET", url, tokens.AccessToken, "")
		var list struct {
			HasNextPage bool `json:"has_next_page"`
			Records     []struct {
				Name string `json:"name"`
			} `json:"records"`
		}
		if err := json.Unmarshal(body, &list); err != nil {
			log.Fatal(err)
		}
		fmt.Println("page", page, status, list.Records)
		if !list.HasNextPage {
			break
		}
	}

	// Every request was recorded, with the operation and the member.
	for _, r := range srv.Requests() {
		fmt.Println(r.OperationID, r.MemberID, r.Status)
	}
	// Output:
	// mint: 200 for member true
	// page 1 200 [{Welcome} {Rules}]
	// page 2 200 [{Introductions}]
	// createMemberToken 1 200
	// listSpacePosts 1 200
	// listSpacePosts 1 200
}

// This example makes the next call of one operation fail with 503 and a
// Retry-After header, as a client's retry logic would meet it.
func ExampleServer_InjectFault() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddMember(circletest.Member{Email: "ada@example.com"})

	srv.InjectFault("createMemberToken", circletest.Fault{
		Status:     http.StatusServiceUnavailable,
		RetryAfter: 2 * time.Second,
		Times:      1,
	})
	for range 2 {
		status, _ := do("POST", srv.URL()+"/api/v1/headless/auth_token", srv.AppToken(),
			`{"email":"ada@example.com"}`)
		fmt.Println(status)
	}
	// Output:
	// 503
	// 200
}

// This example lets an access token expire by moving the server's clock,
// without waiting an hour.
func ExampleServer_Advance() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	srv.AddMember(circletest.Member{ID: 42, SSOUserID: "user-42"})
	_, body := do("POST", srv.URL()+"/api/v1/headless/auth_token", srv.AppToken(),
		`{"sso_user_id":"user-42"}`)
	var tokens struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tokens); err != nil {
		log.Fatal(err)
	}

	status, _ := do("GET", srv.URL()+"/api/headless/v1/community_member", tokens.AccessToken, "")
	fmt.Println("before:", status)
	srv.Advance(time.Hour)
	status, body = do("GET", srv.URL()+"/api/headless/v1/community_member", tokens.AccessToken, "")
	fmt.Println("after an hour:", status, strings.Contains(string(body), "expired"))
	// Output:
	// before: 200
	// after an hour: 401 true
}
