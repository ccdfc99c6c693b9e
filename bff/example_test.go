package bff_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/circlekit/headless-go/bff"
	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// The handler in front of a fake Circle: a call from the front end, with
// its session and the anti-forgery header, comes back with the member's
// home feed; a call without the header is refused.
func ExampleNew() {
	fake, err := circletest.NewServer()
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	fake.AddMember(circletest.Member{Email: "ada@example.com"})
	fake.SetRecords("listHomePosts", []memberv1.Post{{ID: 1, Name: "Hello"}})

	auth, err := circle.NewAuthClient(fake.AppToken(), circle.WithBaseURL(fake.URL()))
	if err != nil {
		panic(err)
	}
	// The host application's session; here, a header naming the member.
	identify := func(r *http.Request) (circle.Identity, error) {
		return circle.ByEmail(r.Header.Get("X-Session-Email")), nil
	}
	h, err := bff.New(auth, identify)
	if err != nil {
		panic(err)
	}
	site := httptest.NewServer(h)
	defer site.Close()

	for _, csrf := range []string{"1", ""} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, site.URL+"/circle/api/headless/v1/home", nil)
		req.Header.Set("X-Session-Email", "ada@example.com")
		if csrf != "" {
			req.Header.Set("X-CSRF", csrf)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var page memberv1.Posts
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			_ = json.Unmarshal(b, &page)
			fmt.Println(resp.StatusCode, page.Records[0].Name)
		} else {
			fmt.Println(resp.StatusCode, string(b))
		}
	}
	// Output:
	// 200 Hello
	// 403 {"error":"forbidden","message":"the anti-forgery header X-CSRF: 1 is missing"}
}

// Token-mediating mode: the front end asks for the member's access token
// and calls Circle itself. The answer holds no refresh token, and is not
// to be cached.
func ExampleWithTokenEndpoint() {
	fake, err := circletest.NewServer()
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	fake.AddMember(circletest.Member{Email: "ada@example.com"})
	auth, err := circle.NewAuthClient(fake.AppToken(), circle.WithBaseURL(fake.URL()))
	if err != nil {
		panic(err)
	}
	identify := func(*http.Request) (circle.Identity, error) { return circle.ByEmail("ada@example.com"), nil }
	h, err := bff.New(auth, identify, bff.WithTokenEndpoint())
	if err != nil {
		panic(err)
	}
	site := httptest.NewServer(h)
	defer site.Close()

	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, site.URL+"/circle/token", nil)
	req.Header.Set("X-CSRF", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	fmt.Println(resp.StatusCode, resp.Header.Get("Cache-Control"), keys)
	// Output:
	// 200 no-store [access_token community_id community_member_id expires_at]
}
