package circletest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/circlekit/headless-go/gen/memberv1"
)

func TestFaultStatusForNextCalls(t *testing.T) {
	s := Start(t)
	_, token := newMemberToken(t, s)
	s.InjectFault("listSpaces", Fault{Status: http.StatusServiceUnavailable, RetryAfter: 1500 * time.Millisecond, Times: 2})

	for range 2 {
		status, h, body := call(t, s, "GET", memberListingPath, token, nil)
		wantError(t, status, body, http.StatusServiceUnavailable)
		if h.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q, want 2", h.Get("Retry-After"))
		}
	}
	if status, _, body := call(t, s, "GET", memberListingPath, token, nil); status != 200 {
		t.Fatalf("third call: %d %s", status, body)
	}
	// Other operations are untouched.
	sp := s.AddSpace(memberv1.Space{Name: "General"})
	if status, _, _ := call(t, s, "GET", fmt.Sprintf("/api/headless/v1/spaces/%d", sp.ID), token, nil); status != 200 {
		t.Fatalf("other operation: %d", status)
	}
	var statuses []int
	for _, rec := range s.Requests() {
		if rec.OperationID == "listSpaces" {
			statuses = append(statuses, rec.Status)
		}
	}
	if len(statuses) != 3 || statuses[0] != 503 || statuses[1] != 503 || statuses[2] != 200 {
		t.Errorf("recorded statuses %v", statuses)
	}
}

func TestFaultBeforeAuthAndForAllOperations(t *testing.T) {
	s := Start(t)
	s.AddMember(Member{Email: "ada@example.com"})
	// A fault applies before the token check: even a call without a token
	// gets it, as from a proxy in front of Circle.
	s.InjectFault(AllOperations, Fault{Status: http.StatusTooManyRequests})
	for _, tc := range []struct{ method, path string }{
		{"GET", memberListingPath},
		{"POST", authTokenPath},
		{"PATCH", refreshPath},
	} {
		status, h, body := call(t, s, tc.method, tc.path, "", nil)
		wantError(t, status, body, http.StatusTooManyRequests)
		if h.Get("Retry-After") != "" {
			t.Error("Retry-After sent though none was asked for")
		}
	}
	s.ClearFaults()
	mint(t, s, map[string]any{"email": "ada@example.com"})

	// Auth operations take faults by operationId, in either spelling.
	s.InjectFault("CreateMemberToken", Fault{Status: http.StatusBadGateway, Times: 1})
	status, _, body := call(t, s, "POST", authTokenPath, s.AppToken(), map[string]any{"email": "ada@example.com"})
	wantError(t, status, body, http.StatusBadGateway)
	mint(t, s, map[string]any{"email": "ada@example.com"})

	if !panics(func() { s.InjectFault("noSuchOperation", Fault{Status: 500}) }) ||
		!panics(func() { s.InjectFault("listSpaces", Fault{Times: -1}) }) ||
		!panics(func() { s.InjectFault("listSpaces", Fault{Status: 7}) }) {
		t.Error("a mistaken fault did not panic")
	}
}

func TestFaultOrder(t *testing.T) {
	s := Start(t)
	_, token := newMemberToken(t, s)
	s.InjectFault("listSpaces", Fault{Status: 500, Times: 1})
	s.InjectFault(AllOperations, Fault{Status: 502, Times: 1})
	s.InjectFault("listSpaces", Fault{Status: 504, Times: 1})
	for _, want := range []int{500, 502, 504, 200} {
		if status, _, _ := call(t, s, "GET", memberListingPath, token, nil); status != want {
			t.Fatalf("status %d, want %d", status, want)
		}
	}
}

func TestFaultLatency(t *testing.T) {
	s := Start(t)
	_, token := newMemberToken(t, s)
	const d = 150 * time.Millisecond
	s.InjectFault("listSpaces", Fault{Latency: d, Times: 1})
	begin := time.Now()
	status, _, _ := call(t, s, "GET", memberListingPath, token, nil)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	if took := time.Since(begin); took < d {
		t.Errorf("answered in %v, before the %v latency", took, d)
	}

	// A client that gives up first sees its own deadline.
	s.InjectFault("listSpaces", Fault{Latency: time.Minute, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+memberListingPath, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.Client().Do(req)
	if err == nil {
		_ = resp.Body.Close()
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the deadline", err)
	}
}

func TestFaultDrop(t *testing.T) {
	s := Start(t)
	_, token := newMemberToken(t, s)
	s.InjectFault("createComment", Fault{Drop: true, Times: 1})
	sp := s.AddSpace(memberv1.Space{Name: "General"})
	s.AddPost(memberv1.Post{ID: 1, Space: memberv1.PostSpace{ID: sp.ID}, Name: "Hello"}) // the post the request names
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	req := requestFor(t, s, s.member.ops["createComment"], token)
	if resp, err := client.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("dropped call answered %d", resp.StatusCode)
	}
	rec := lastRequest(t, s)
	if rec.OperationID != "createComment" || rec.Status != 0 {
		t.Errorf("recorded %+v", rec)
	}
	req = requestFor(t, s, s.member.ops["createComment"], token)
	if status, _, body := send(t, s, req); status != 201 && status != 200 {
		t.Fatalf("after the drop: %d %s", status, body)
	}
}

// TestCloseCutsLatencyShort checks that Close does not wait out injected
// latency.
func TestCloseCutsLatencyShort(t *testing.T) {
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	_, token := newMemberToken(t, s)
	s.InjectFault(AllOperations, Fault{Latency: time.Hour, Times: 1})
	var wg sync.WaitGroup
	wg.Go(func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL()+memberListingPath, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := s.Client().Do(req); err == nil {
			_ = resp.Body.Close()
		}
	})
	for !faultTaken(s) {
		time.Sleep(5 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the latency")
	}
	wg.Wait()
	s.Close() // a second Close is harmless
}

// faultTaken reports whether the only injected fault has been taken.
func faultTaken(s *Server) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults) == 0
}

func TestRouting(t *testing.T) {
	s := Start(t)
	_, token := newMemberToken(t, s)

	status, h, body := call(t, s, "GET", "/api/headless/v1/no_such_thing", token, nil)
	wantError(t, status, body, http.StatusNotFound)
	if h.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	if rec := lastRequest(t, s); rec.OperationID != "" || rec.ID != h.Get("X-Request-Id") {
		t.Errorf("recorded %+v", rec)
	}
	status, _, body = call(t, s, "GET", "/", "", nil)
	wantError(t, status, body, http.StatusNotFound)

	status, h, body = call(t, s, "PUT", "/api/headless/v1/spaces", token, nil)
	wantError(t, status, body, http.StatusMethodNotAllowed)
	if h.Get("Allow") != "GET" {
		t.Errorf("Allow %q", h.Get("Allow"))
	}
	status, _, body = call(t, s, "GET", authTokenPath, s.AppToken(), nil)
	wantError(t, status, body, http.StatusMethodNotAllowed)

	big := strings.Repeat("x", maxBody+1)
	status, _, body = call(t, s, "POST", "/api/headless/v1/comments", token, []byte(big))
	wantError(t, status, body, http.StatusRequestEntityTooLarge)

	s.ClearRequests()
	if len(s.Requests()) != 0 {
		t.Error("requests not cleared")
	}
}
