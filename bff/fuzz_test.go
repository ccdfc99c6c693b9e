package bff

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// FuzzRequestTarget sends any request line through the whole handler, as
// a server parses it, and checks what reaches the upstream: only a
// request whose method and path are an operation of the spec, with
// anti-forgery and session headers, on the upstream's own host, and never
// a path with a dot segment, a doubled slash or percent-encoding.
func FuzzRequestTarget(f *testing.F) {
	for _, s := range []string{
		"GET /circle/api/headless/v1/home",
		"GET /circle/api/headless/v1/spaces/1/posts/2?x=1",
		"POST /circle/api/headless/v1/bookmarks",
		"GET /circle/api/headless/v1/spaces/1/../../../v1/headless/auth_token",
		"GET /circle/api/headless/v1/spaces/%2e%2e/posts",
		"GET http://evil.example/circle/api/headless/v1/home",
		"GET //evil.example/circle/api/headless/v1/home",
		"DELETE /circle/api/headless/v1/messages/a.b/chat_room_messages/1",
		"GET /circle/api/headless/v1/messages/%2e%2e/chat_room_messages",
		"GET /circle/token",
		"POST /circle/logout",
	} {
		f.Add(s)
	}
	var (
		mu   sync.Mutex
		seen []string
	)
	up := newHostile(f, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.Host+" "+r.RequestURI)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{}`)
	})
	e := newEnvWith(f, nil, up.URL, "app-token-xyz", nil)
	upHost := strings.TrimPrefix(up.URL, "http://")
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\r\n") {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(line + " HTTP/1.1\r\nHost: site.example\r\nX-CSRF: 1\r\n" + memberHeader + ": ada@example.com\r\n\r\n")))
		if err != nil {
			return
		}
		mu.Lock()
		seen = nil
		mu.Unlock()
		e.h.ServeHTTP(httptest.NewRecorder(), req)
		mu.Lock()
		got := seen
		mu.Unlock()
		for _, s := range got {
			parts := strings.SplitN(s, " ", 3)
			method, host, target := parts[0], parts[1], parts[2]
			path, _, _ := strings.Cut(target, "?")
			if host != upHost {
				t.Fatalf("%q reached host %q", line, host)
			}
			r := match(path)
			if r == nil || r.ops[method] == "" || !cleanTarget(path) {
				t.Fatalf("%q reached upstream as %s %s, no operation of the spec", line, method, target)
			}
			if !strings.HasPrefix(req.RequestURI, "/circle"+path) {
				t.Fatalf("%q reached upstream as %s, another path", line, target)
			}
		}
	})
}
