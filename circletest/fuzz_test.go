package circletest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// panicLog catches the log lines of net/http, where a panic in a handler
// would be reported.
type panicLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *panicLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *panicLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// FuzzServe sends arbitrary requests (method, path and query, body, which
// token, whether the body is declared JSON) and checks that the server
// never panics and answers each with a status it means, and an error body
// with each error status.
func FuzzServe(f *testing.F) {
	s, err := NewServer(WithResponseValidation())
	if err != nil {
		f.Fatal(err)
	}
	defer s.Close()
	logs := &panicLog{}
	s.hs.Config.ErrorLog = log.New(logs, "", 0)
	m := s.AddMember(Member{Email: "ada@example.com", SSOUserID: "ada"})
	pair := mint(f, s, map[string]any{"community_member_id": m.ID})
	d := seedEveryKind(f, s, m, pair.AccessToken) // records for the calls to act on
	host := s.hs.Listener.Addr().String()
	client := s.Client()

	f.Add("GET", "/api/headless/v1/spaces", "", uint8(1))
	f.Add("POST", fmt.Sprintf("/api/headless/v1/spaces/%d/posts", d.space), `{"name":"n","body":"b","topics":[1]}`, uint8(5))
	f.Add("POST", fmt.Sprintf("/api/headless/v1/posts/%d/comments", d.post), `{"comment":{"body":"hi"}}`, uint8(5))
	f.Add("DELETE", fmt.Sprintf("/api/headless/v1/spaces/%d/posts/%d", d.space, d.post), "", uint8(1))
	f.Add("GET", "/api/headless/v1/messages/"+d.room+"/chat_room_messages?id=3&previous_per_page=2&next_per_page=1", "", uint8(1))
	f.Add("POST", "/api/headless/v1/messages", `{"chat_room":{"kind":"direct","community_member_ids":["2"]}}`, uint8(5))
	f.Add("POST", "/api/headless/v1/reactions", fmt.Sprintf(`{"chat_room_message":%d,"emoji":"x"}`, d.message), uint8(5))
	f.Add("GET", "/api/headless/v1/search?search_text=first", "", uint8(1))
	f.Add("GET", "/api/headless/v1/spaces/1/posts?page=2&per_page=3", "", uint8(1))
	f.Add("GET", "/api/headless/v1/spaces/x/posts?page=-1&per_page=0", "", uint8(1))
	f.Add("GET", "/api/headless/v1/advanced_search?query=a&filters[space_ids][]=1", "", uint8(1))
	f.Add("POST", "/api/headless/v1/comments", `{"comment":{"body":"hi"}}`, uint8(5))
	f.Add("PUT", "/api/headless/v1/spaces/1", `[1,2]`, uint8(5))
	f.Add("DELETE", "/api/headless/v1/bookmarks/%zz", "", uint8(1))
	f.Add("POST", "/api/v1/headless/auth_token", `{"email":"ada@example.com"}`, uint8(6))
	f.Add("POST", "/api/v1/headless/auth_token", `{"sso_user_id":"ada","email":null}`, uint8(6))
	f.Add("PATCH", "/api/v1/headless/access_token/refresh", `{"refresh_token":"`+pair.RefreshToken+`"}`, uint8(6))
	f.Add("POST", "/api/v1/headless/access_token/revoke", `{"access_token":1e999}`, uint8(6))
	f.Add("HEAD", "//api/../api/headless/v1/spaces/", "\x00", uint8(0))

	f.Fuzz(func(t *testing.T, method, target, body string, flags uint8) {
		if !strings.HasPrefix(target, "/") {
			return
		}
		req, err := http.NewRequestWithContext(context.Background(), method, "http://"+host+target, strings.NewReader(body))
		if err != nil || req.URL.Host != host || req.Method == http.MethodConnect {
			return // not a request for this server
		}
		switch flags % 3 {
		case 1:
			req.Header.Set("Authorization", "Bearer "+pair.AccessToken)
		case 2:
			req.Header.Set("Authorization", "Bearer "+s.AppToken())
		}
		if flags&4 != 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		s.ClearRequests() // one request's record at a time
		resp, err := client.Do(req)
		if err != nil {
			if l := logs.String(); strings.Contains(l, "panic") {
				t.Fatalf("%s %q: %v\n%s", method, target, err, l)
			}
			return // the client refused to send it, or net/http refused it
		}
		defer func() { _ = resp.Body.Close() }()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s %q: reading the answer: %v", method, target, err)
		}
		if l := logs.String(); strings.Contains(l, "panic") {
			t.Fatalf("%s %q: %s", method, target, l)
		}
		switch resp.StatusCode {
		case http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent:
			// The server's own answers, from the state or synthesised,
			// match the spec.
			for _, r := range s.Requests() {
				if r.ID == resp.Header.Get("X-Request-Id") && r.ResponseError != nil {
					t.Fatalf("%s %q %q: answer %s does not match the spec: %v", method, target, body, got, r.ResponseError)
				}
			}
			return
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
			http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("%s %q %q: status %d: %s", method, target, body, resp.StatusCode, got)
		}
		if req.Method == http.MethodHead {
			return
		}
		if resp.Header.Get("X-Request-Id") == "" {
			return // net/http's own answer to a malformed request
		}
		var e errorBody
		if err := json.Unmarshal(got, &e); err != nil || e.Success == nil || *e.Success || e.Message == "" {
			t.Fatalf("%s %q: status %d with body %q", method, target, resp.StatusCode, got)
		}
	})
}
