package circletest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/circlekit/headless-go/gen/memberv1"
	"github.com/circlekit/headless-go/openapi"
)

// TestEveryMemberOperation calls every operation of the embedded member
// spec with a valid request and checks the answer against a fresh copy of
// the spec.
func TestEveryMemberOperation(t *testing.T) {
	s := Start(t, WithResponseValidation())
	if s.member == nil {
		t.Fatal("no member spec loaded")
	}
	doc, err := openapi.LoadMember()
	if err != nil {
		t.Fatal(err)
	}
	if n := checkEveryOperation(t, s, s.member, doc); n != 102 {
		t.Errorf("%d operations checked, want 102", n)
	}
}

// checkEveryOperation calls every operation of a with a valid request from
// a member, and checks, with a router and validator built independently
// from doc (a fresh copy of a's spec), that the request is valid and the
// synthesised response matches the operation's 2xx response. It returns
// the number of operations checked.
func checkEveryOperation(t *testing.T, s *Server, a *api, doc *openapi3.T) int {
	t.Helper()
	member, token := newMemberToken(t, s)
	doc.Servers = openapi3.Servers{{URL: s.URL() + a.basePath}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(a.ops))
	for id := range a.ops {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		op := a.ops[id]
		t.Run(id, func(t *testing.T) {
			req := requestFor(t, s, op, token)
			if s.stateful {
				// The operation acts on records: give it existing ones.
				d := seedEveryKind(t, s, member, token)
				req = requestWith(t, s, op, token, d.pathValues(op.path), d.patchBody(id))
			}
			reqBody := []byte{}
			if req.Body != nil {
				reqBody, _ = io.ReadAll(req.Body)
				req.Body = io.NopCloser(bytes.NewReader(reqBody))
			}
			status, header, body := send(t, s, req)
			rec := lastRequest(t, s)
			if rec.ValidationError != nil {
				t.Fatalf("request rejected: %v", rec.ValidationError)
			}
			if status < 200 || status > 299 {
				t.Fatalf("status %d: %s", status, body)
			}
			wantMember := member.ID
			if !op.secured {
				wantMember = 0
			}
			if rec.OperationID != id || rec.MemberID != wantMember || rec.Status != status || rec.ResponseError != nil {
				t.Fatalf("recorded %+v", rec)
			}

			// Validate independently of the server's own routing and checks.
			probe, _ := http.NewRequestWithContext(context.Background(), req.Method, req.URL.String(), bytes.NewReader(reqBody))
			probe.Header = req.Header.Clone()
			route, params, err := router.FindRoute(probe)
			if err != nil {
				t.Fatal(err)
			}
			if canonicalID(route.Operation.OperationID) != id {
				t.Fatalf("routed to %s", route.Operation.OperationID)
			}
			in := &openapi3filter.RequestValidationInput{
				Request: probe, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			}
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Fatalf("request: %v", err)
			}
			err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in,
				Status:                 status,
				Header:                 header,
				Body:                   io.NopCloser(bytes.NewReader(body)),
				Options:                &openapi3filter.Options{IncludeResponseStatus: true},
			})
			if err != nil {
				t.Fatalf("response %s: %v", body, err)
			}
			if (op.schema != nil) != (len(body) > 0) {
				t.Fatalf("body %q where the spec declares schema %v", body, op.schema != nil)
			}
		})
	}
	return len(ids)
}

// TestMemberNeedsLiveAccessToken checks the 401s of the Member API.
func TestMemberNeedsLiveAccessToken(t *testing.T) {
	s := Start(t)
	_, token := newMemberToken(t, s)
	const path = "/api/headless/v1/spaces"

	status, _, body := call(t, s, "GET", path, "", nil)
	wantError(t, status, body, http.StatusUnauthorized)
	status, _, body = call(t, s, "GET", path, "not-a-token", nil)
	wantError(t, status, body, http.StatusUnauthorized)
	status, _, body = call(t, s, "GET", path, s.AppToken(), nil)
	wantError(t, status, body, http.StatusUnauthorized)

	if status, _, body = call(t, s, "GET", path, token, nil); status != http.StatusOK {
		t.Fatalf("live token: %d %s", status, body)
	}
	s.Advance(time.Hour)
	status, _, body = call(t, s, "GET", path, token, nil)
	if e := wantError(t, status, body, http.StatusUnauthorized); !strings.Contains(e.Message, "expired") {
		t.Errorf("message %q does not say the token expired", e.Message)
	}
	if rec := lastRequest(t, s); rec.OperationID != "listSpaces" || rec.MemberID != 0 || rec.Status != 401 {
		t.Errorf("recorded %+v", rec)
	}
}

// TestMemberValidation checks that an invalid request is answered 400 with
// the reason, and recorded.
func TestMemberValidation(t *testing.T) {
	s := Start(t)
	_, token := newMemberToken(t, s)

	// A path parameter of the wrong type.
	status, _, body := call(t, s, "GET", "/api/headless/v1/spaces/abc", token, nil)
	e := wantError(t, status, body, http.StatusBadRequest)
	if !strings.Contains(e.Message, `"id"`) {
		t.Errorf("message %q does not name the parameter", e.Message)
	}
	rec := lastRequest(t, s)
	if rec.OperationID != "getSpace" || rec.ValidationError == nil || rec.Status != 400 {
		t.Errorf("recorded %+v", rec)
	}

	// A body that is not JSON, and one missing a required property.
	op := s.member.ops["createComment"]
	req := requestFor(t, s, op, token)
	req.Body = io.NopCloser(strings.NewReader("{not json"))
	req.ContentLength = -1
	status, _, body = send(t, s, req)
	wantError(t, status, body, http.StatusBadRequest)

	req = requestFor(t, s, s.member.ops["createBookmark"], token)
	req.Body = io.NopCloser(strings.NewReader("{}"))
	req.ContentLength = 2
	status, _, body = send(t, s, req)
	wantError(t, status, body, http.StatusBadRequest)
	if rec := lastRequest(t, s); rec.ValidationError == nil || string(rec.Body) != "{}" {
		t.Errorf("recorded %+v", rec)
	}
}

// TestSetResponse checks registered responses, and that a body that does
// not match the spec is sent anyway and noted.
func TestSetResponse(t *testing.T) {
	s := Start(t)
	_, token := newMemberToken(t, s)

	s.SetResponse("getSpace", http.StatusOK, map[string]any{"id": 42, "name": "Announcements"})
	status, _, body := call(t, s, "GET", "/api/headless/v1/spaces/7", token, nil)
	if status != 200 || !strings.Contains(string(body), `"Announcements"`) {
		t.Fatalf("%d %s", status, body)
	}
	if rec := lastRequest(t, s); rec.ResponseError != nil {
		t.Errorf("valid registered body flagged: %v", rec.ResponseError)
	}

	s.SetResponse("getSpace", http.StatusNotFound, nil)
	status, _, body = call(t, s, "GET", "/api/headless/v1/spaces/7", token, nil)
	wantError(t, status, body, http.StatusNotFound)

	s.SetResponse("getSpace", http.StatusOK, []byte(`{"id":"not a number"}`))
	status, _, body = call(t, s, "GET", "/api/headless/v1/spaces/7", token, nil)
	if status != 200 || string(body) != `{"id":"not a number"}` {
		t.Fatalf("%d %s", status, body)
	}
	if rec := lastRequest(t, s); rec.ResponseError == nil {
		t.Error("a body that breaks the schema was not flagged")
	}

	// A nil body with the operation's status returns to the server's own
	// answer: here from the state, which has no space 7 until one is added.
	s.SetResponse("getSpace", http.StatusOK, nil)
	status, _, body = call(t, s, "GET", "/api/headless/v1/spaces/7", token, nil)
	wantError(t, status, body, http.StatusNotFound)
	s.AddSpace(memberv1.Space{ID: 7, Name: "Seven"})
	status, _, body = call(t, s, "GET", "/api/headless/v1/spaces/7", token, nil)
	if rec := lastRequest(t, s); status != 200 || !strings.Contains(string(body), `"id":7`) || rec.ResponseError != nil {
		t.Fatalf("%d %s %v", status, body, rec.ResponseError)
	}
	// An operation the state does not answer is synthesised again.
	s.SetResponse("getChatThread", http.StatusNotFound, nil)
	s.SetResponse("getChatThread", http.StatusOK, nil)
	status, _, body = call(t, s, "GET", "/api/headless/v1/chat_threads/9", token, nil)
	if status != 200 || !strings.Contains(string(body), `"id":9`) {
		t.Fatalf("%d %s", status, body)
	}
	// Any other 2xx status with a nil body is synthesised at that status.
	s.SetResponse("createComment", http.StatusAccepted, nil)
	status, _, body = send(t, s, requestFor(t, s, s.member.ops["createComment"], token))
	if status != http.StatusAccepted || len(body) != 0 {
		t.Fatalf("undeclared status: %d %s", status, body)
	}

	// The token is still checked.
	status, _, body = call(t, s, "GET", "/api/headless/v1/spaces/7", "", nil)
	wantError(t, status, body, http.StatusUnauthorized)

	for _, bad := range []func(){
		func() { s.SetResponse("noSuchOperation", 200, nil) },
		func() { s.SetResponse("createMemberToken", 200, nil) },
		func() { s.SetResponse("getSpace", 42, nil) },
		func() { s.SetRecords("getSpace", []int{}) },
		func() { s.SetRecords("listSpacePosts", map[string]int{}) },
	} {
		if !panics(bad) {
			t.Error("a mistaken registration did not panic")
		}
	}
}

// TestSynthesisedRecordMatchesPathID checks that a synthesised record (of
// an operation the state does not answer) carries the id the path asked
// for.
func TestSynthesisedRecordMatchesPathID(t *testing.T) {
	s := Start(t)
	_, token := newMemberToken(t, s)
	if models["getChatThread"] != nil {
		t.Fatal("getChatThread is answered from the state; pick an operation that is not")
	}
	status, _, body := call(t, s, "GET", "/api/headless/v1/chat_threads/987", token, nil)
	var got struct{ ID int64 }
	if err := json.Unmarshal(body, &got); status != 200 || err != nil || got.ID != 987 {
		t.Fatalf("%d %s", status, body)
	}
}

// TestPagination checks that registered records are paged by page and
// per_page with a coherent envelope, and that an empty stored list is a
// single empty page.
func TestPagination(t *testing.T) {
	s := Start(t)
	_, token := newMemberToken(t, s)
	s.AddSpace(memberv1.Space{ID: 5, Name: "Five"})
	const path = "/api/headless/v1/spaces/5/posts"
	op := s.member.ops["listSpacePosts"]
	if op == nil || !op.envelope {
		t.Fatal("listSpacePosts is not a paginated list")
	}
	type envelope struct {
		Page        int
		PerPage     int  `json:"per_page"`
		HasNextPage bool `json:"has_next_page"`
		Count       int
		PageCount   int `json:"page_count"`
		Records     []struct{ ID int }
	}
	get := func(query string) envelope {
		t.Helper()
		status, _, body := call(t, s, "GET", path+query, token, nil)
		if status != 200 {
			t.Fatalf("%s: %d %s", query, status, body)
		}
		if rec := lastRequest(t, s); rec.ResponseError != nil {
			t.Fatalf("%s: %v", query, rec.ResponseError)
		}
		var e envelope
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatal(err)
		}
		return e
	}

	// Stored: the space has no post yet, so one empty page ends a pager.
	e := get("")
	if e.Page != 1 || e.HasNextPage || e.Count != 0 || len(e.Records) != 0 || e.PageCount != 0 {
		t.Errorf("empty envelope %+v", e)
	}
	if e = get("?page=2"); len(e.Records) != 0 || e.HasNextPage {
		t.Errorf("empty page 2 %+v", e)
	}

	// Registered records, read to the end as a pager would.
	posts := make([]map[string]any, 25)
	for i := range posts {
		posts[i] = map[string]any{"id": i + 1, "name": "post"}
	}
	s.SetRecords("listSpacePosts", posts)
	var seen []int
	for page := 1; ; page++ {
		e := get("?per_page=10&page=" + strconv.Itoa(page))
		if e.Page != page || e.PerPage != 10 || e.Count != 25 || e.PageCount != 3 {
			t.Fatalf("page %d: %+v", page, e)
		}
		for _, r := range e.Records {
			seen = append(seen, r.ID)
		}
		if !e.HasNextPage {
			break
		}
		if page > 5 {
			t.Fatal("the pages do not end")
		}
	}
	if len(seen) != 25 || seen[0] != 1 || seen[24] != 25 {
		t.Errorf("records seen %v", seen)
	}
	if e := get("?per_page=10&page=9"); len(e.Records) != 0 || e.HasNextPage {
		t.Errorf("page past the end %+v", e)
	}
	if e := get(""); e.PerPage != op.perPageDefault || len(e.Records) != min(25, op.perPageDefault) {
		t.Errorf("default page size %+v", e)
	}

	if e := get("?per_page=9223372036854775807&page=9223372036854775807"); len(e.Records) != 0 || e.HasNextPage || e.PageCount != 1 {
		t.Errorf("huge page %+v", e)
	}
	if e := get("?per_page=9223372036854775807"); len(e.Records) != 25 || e.HasNextPage {
		t.Errorf("huge page size %+v", e)
	}

	s.SetRecords("listSpacePosts", nil)
	if e := get(""); len(e.Records) != 0 || e.Count != 0 || e.HasNextPage {
		t.Errorf("no records %+v", e)
	}
}

func panics(f func()) (did bool) {
	defer func() { did = recover() != nil }()
	f()
	return false
}
