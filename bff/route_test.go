package bff

import (
	"net/url"
	"strings"
	"testing"
)

func TestCleanTarget(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]bool{
		"/circle/api/headless/v1/home":           true,
		"/circle/api/headless/v1/messages/a.b~c": true,
		"/circle/api/headless/v1/./home":         false,
		"/circle/api/headless/v1/../home":        false,
		"/circle/api/headless/v1/home/.":         false,
		"/circle/api/headless/v1/home/..":        false,
		"/circle//api/headless/v1/home":          false,
		"/circle/api/headless/v1/home/":          false,
		"/circle/api/headless/v1/h%6fme":         false,
		"/circle/api/headless/v1/spaces/1%2F2":   false,
		"/circle/api/headless/v1/%2e%2e/x":       false,
		"/circle/api\\headless":                  false,
		"http://evil.example/circle":             false,
		"//evil.example/circle":                  false,
		"*":                                      false,
		"":                                       false,
	} {
		if got := cleanTarget(raw); got != want {
			t.Errorf("cleanTarget(%q) = %v; want %v", raw, got, want)
		}
	}
}

func TestMatchPrefersLiterals(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/api/headless/v1/messages/unread_chat_rooms":            "/api/headless/v1/messages/unread_chat_rooms",
		"/api/headless/v1/messages/3fa85f64-5717-4562":           "/api/headless/v1/messages/{uuid}",
		"/api/headless/v1/chat_threads/unread_chat_threads":      "/api/headless/v1/chat_threads/unread_chat_threads",
		"/api/headless/v1/chat_threads/42":                       "/api/headless/v1/chat_threads/{id:int}",
		"/api/headless/v1/chat_threads/x42":                      "",
		"/api/headless/v1/spaces/12/posts/7":                     "/api/headless/v1/spaces/{space_id:int}/posts/{id:int}",
		"/api/headless/v1/spaces/12/posts/7/x":                   "",
		"/api/headless/v1/spaces/99999999999999999999/posts":     "",
		"/api/headless/v1/notification_preferences/carrier":      "",
		"/api/headless/v1/messages/" + strings.Repeat("a", 201):  "",
		"/api/headless/v1/messages/" + strings.Repeat("a", 200):  "/api/headless/v1/messages/{uuid}",
		"/api/headless/v1/messages/...":                          "",
		"api/headless/v1/home":                                   "",
		"/api/headless/v1/home":                                  "/api/headless/v1/home",
		"/api/headless/v1/home?x":                                "",
		"/api/headless/v1/invitation_links/abc.DEF_1-2~3/join":   "/api/headless/v1/invitation_links/{token}/join",
		"/api/headless/v1/invitation_links/abc%2F..%2Fx/join":    "",
		"/api/headless/v1/community_members/1/public_profile":    "/api/headless/v1/community_members/{community_member_id:int}/public_profile",
		"/api/headless/v1/community_members/1/public_profile/":   "",
		"/api/headless/v1/notification_preferences/email/spaces": "",
	} {
		r := match(path)
		got := ""
		if r != nil {
			got = r.template
		}
		if !strings.HasPrefix(got, want) || (want == "") != (got == "") {
			t.Errorf("match(%q) = %q; want %q", path, got, want)
		}
	}
}

// Whatever the path, a match is a clean path of safe characters under
// the Member API, with as many segments as its template.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"/api/headless/v1/home", "/api/headless/v1/spaces/1/posts/2", "/api/headless/v1/messages/../x",
		"/api/headless/v1/messages/%2e%2e", "//api/headless/v1/home", "/api/headless/v1/messages/a/b",
		"/api/v1/headless/auth_token", "/api/headless/v1/invitation_links/a.b/join", "/api/headless/v1/messages/.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r := match(path)
		if r == nil {
			return
		}
		if !strings.HasPrefix(path, "/api/headless/v1/") {
			t.Fatalf("%q matched %s outside the Member API", path, r.template)
		}
		segs := strings.Split(path[1:], "/")
		if len(segs) != len(r.segs) {
			t.Fatalf("%q matched %s with another number of segments", path, r.template)
		}
		for _, s := range segs {
			if s == "" || strings.Trim(s, ".") == "" {
				t.Fatalf("%q matched %s with an empty or dot segment", path, r.template)
			}
			if strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~") != "" {
				t.Fatalf("%q matched %s with a character that needs escaping", path, r.template)
			}
		}
		// The path is sent as it is: it must parse back to itself.
		u, err := url.Parse("https://circle.example" + path)
		if err != nil || u.EscapedPath() != path || u.Host != "circle.example" {
			t.Fatalf("%q does not stay a path of Circle's host: %v %q %q", path, err, u.EscapedPath(), u.Host)
		}
	})
}
