package circle

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/circlekit/headless-go/gen/memberv1"
)

// serveBookmarks makes the fake's Member API list bookmarks (total of
// them, perPage a page, ids = member*1000 + n) and create them (echoing the
// record id, and failing if the body is missing).
func serveBookmarks(_ *testing.T, e *env, total, perPage int) {
	e.setMemberFn(func(w http.ResponseWriter, r *http.Request, member int64) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == basePath+"/api/headless/v1/bookmarks":
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			page = max(page, 1)
			var recs []map[string]any
			for i := (page-1)*perPage + 1; i <= min(page*perPage, total); i++ {
				recs = append(recs, map[string]any{"id": member*1000 + int64(i), "community_member_id": member})
			}
			writeJSON(w, 200, map[string]any{"page": page, "per_page": perPage, "has_next_page": page*perPage < total,
				"count": total, "page_count": (total + perPage - 1) / perPage, "records": recs})
		case r.Method == http.MethodPost && r.URL.Path == basePath+"/api/headless/v1/bookmarks":
			var b struct {
				RecordID     int    `json:"record_id"`
				BookmarkType string `json:"bookmark_type"`
			}
			body, _ := io.ReadAll(r.Body)
			if err := jsonUnmarshal(body, &b); err != nil || b.RecordID == 0 {
				writeFailure(w, 400, "bad body: "+string(body))
				return
			}
			writeJSON(w, 201, map[string]any{"id": 1, "record_id": b.RecordID, "bookmark_type": b.BookmarkType})
		default:
			writeFailure(w, 404, "No such record (test).")
		}
	})
}

func newMemberClient(t *testing.T, e *env, ts TokenSource, opts ...Option) *memberv1.ClientWithResponses {
	t.Helper()
	c, err := NewMemberClient(ts, append([]Option{WithBaseURL(e.URL), WithLogger(e.log), WithUserAgent("tests/1")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMemberClientCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serveBookmarks(t, e, 3, 10)
	var ua atomic.Value
	ts := e.auth.TokenSource(ByEmail("xia@example.com"))
	c := newMemberClient(t, e, ts)
	resp, err := c.ListBookmarksWithResponse(t.Context(), nil, func(_ context.Context, r *http.Request) error {
		ua.Store(r.Header.Get("User-Agent"))
		return nil
	})
	e.scan.seen(err)
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON200 == nil || len(resp.JSON200.Records) != 3 || resp.JSON200.Records[0].ID != 1001 {
		t.Fatalf("answer: %s", resp.Body)
	}
	if ua.Load() != "tests/1 headless-go" {
		t.Errorf("User-Agent = %q", ua.Load())
	}
	if e.mints.Load() != 1 || e.memberCalls.Load() != 1 {
		t.Errorf("mints %d, member calls %d; want 1, 1", e.mints.Load(), e.memberCalls.Load())
	}
}

func TestMemberClientReplaysAPOSTAfter401(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serveBookmarks(t, e, 0, 10)
	ts := e.auth.TokenSource(ByEmail("yan@example.com"))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.dropAccess()
	c := newMemberClient(t, e, ts)
	resp, err := c.CreateBookmarkWithResponse(t.Context(), memberv1.CreateBookmarkJSONRequestBody{RecordID: 77, BookmarkType: "post"})
	e.scan.seen(err)
	if err != nil {
		t.Fatal(err)
	}
	if resp.JSON201 == nil || resp.JSON201.RecordID != 77 {
		t.Fatalf("answer: %s", resp.Body)
	}
	if e.memberCalls.Load() != 2 || e.refreshes.Load() != 1 {
		t.Errorf("member calls %d, refreshes %d; want 2, 1", e.memberCalls.Load(), e.refreshes.Load())
	}
}

func TestMemberClientErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serveBookmarks(t, e, 0, 10)
	c := newMemberClient(t, e, e.auth.TokenSource(ByEmail("zed@example.com")))
	resp, err := c.GetSpaceWithResponse(t.Context(), 5)
	e.scan.seen(err)
	var apiErr *APIError
	if resp != nil || !errors.Is(err, ErrNotFound) || !errors.As(err, &apiErr) ||
		apiErr.Path != basePath+"/api/headless/v1/spaces/5" || apiErr.Message != "No such record (test)." {
		t.Fatalf("GetSpace: %v, %v; want nil and a 404 *APIError", resp, err)
	}
	// No member named: the call fails before any request.
	none := newMemberClient(t, e, nil)
	before := e.memberCalls.Load()
	if _, err := none.ListSpacesWithResponse(t.Context()); !errors.Is(err, ErrNoTokenSource) {
		t.Errorf("no member: %v, want ErrNoTokenSource", err)
	}
	if e.memberCalls.Load() != before {
		t.Error("a call without a member was sent")
	}
	// Raw error responses.
	raw := newMemberClient(t, e, e.auth.TokenSource(ByEmail("zed@example.com")), WithRawErrorResponses())
	resp2, err := raw.GetSpaceWithResponse(t.Context(), 5)
	if err != nil || resp2.StatusCode() != 404 {
		t.Errorf("raw: %v, %v; want a 404 response", resp2, err)
	}
}

func TestMemberClientServesManyMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serveBookmarks(t, e, 1, 10)
	c := newMemberClient(t, e, nil)
	ids := map[int]string{}
	for _, email := range []string{"m1@x.org", "m2@x.org", "m3@x.org", "m1@x.org"} {
		ctx := WithTokenSource(t.Context(), e.auth.TokenSource(ByEmail(email)))
		resp, err := c.ListBookmarksWithResponse(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		member := resp.JSON200.Records[0].CommunityMemberID
		if prev, ok := ids[member]; ok && prev != email {
			t.Errorf("members %s and %s were served as one", prev, email)
		}
		ids[member] = email
	}
	if len(ids) != 3 || e.mints.Load() != 3 {
		t.Errorf("%d members served with %d mints; want 3, 3", len(ids), e.mints.Load())
	}
}

func TestPagesOverAGeneratedListCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	serveBookmarks(t, e, 25, 10)
	c := newMemberClient(t, e, e.auth.TokenSource(ByEmail("p@x.org")))
	fetch := func(ctx context.Context, page int) (Page[memberv1.Bookmark], error) {
		resp, err := c.ListBookmarksWithResponse(ctx, &memberv1.ListBookmarksParams{Page: &page})
		if err != nil {
			return Page[memberv1.Bookmark]{}, err
		}
		b := resp.JSON200
		return Page[memberv1.Bookmark]{Records: b.Records, Number: b.Page, HasNext: b.HasNextPage}, nil
	}
	n := 0
	for b, err := range Pages(t.Context(), 1, fetch) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if b.ID != 1000+n {
			t.Fatalf("item %d has id %d", n, b.ID)
		}
	}
	if n != 25 || e.memberCalls.Load() != 3 {
		t.Errorf("%d items in %d calls, want 25 in 3", n, e.memberCalls.Load())
	}
}
