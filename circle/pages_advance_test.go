package circle_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// pageServer is a Member API on loopback that answers every list with
// answer(page asked for), counting requests.
type pageServer struct {
	requests atomic.Int64
	api      *memberv1.ClientWithResponses
}

func newPageServer(t *testing.T, answer func(page int) map[string]any) *pageServer {
	t.Helper()
	ps := &pageServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps.requests.Add(1)
		pageArg := r.URL.Query().Get("page")
		if r.Body != nil {
			var b struct {
				Page json.Number `json:"page"`
			}
			if json.NewDecoder(r.Body).Decode(&b) == nil && b.Page != "" {
				pageArg = b.Page.String()
			}
		}
		page, err := strconv.Atoi(pageArg)
		if err != nil {
			http.Error(w, "no page", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer(page))
	}))
	t.Cleanup(srv.Close)
	api, err := memberv1.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ps.api = api
	return ps
}

// rangeAll ranges over seq to its end or its first error, and returns the
// ids seen and the error.
func rangeAll[T any](t *testing.T, seq func(func(T, error) bool), id func(T) int) ([]int, error) {
	t.Helper()
	var ids []int
	for v, err := range seq {
		if err != nil {
			return ids, err
		}
		ids = append(ids, id(v))
	}
	return ids, nil
}

func bookmarkID(b memberv1.Bookmark) int { return b.ID }

func TestListAllStopsWhenThePageDoesNotAdvance(t *testing.T) {
	t.Parallel()
	recs := func(ids ...int) []map[string]any {
		var r []map[string]any
		for _, id := range ids {
			r = append(r, map[string]any{"id": id})
		}
		return r
	}
	for _, tc := range []struct {
		name     string
		answer   func(page int) map[string]any
		ids      []int
		requests int64
		err      string
	}{
		{
			name: "advancing list (control)",
			answer: func(page int) map[string]any {
				return map[string]any{"page": page, "has_next_page": page < 3, "records": recs(2*page-1, 2*page)}
			},
			ids: []int{1, 2, 3, 4, 5, 6}, requests: 3,
		},
		{
			name: "no page number, always a next page",
			answer: func(page int) map[string]any {
				return map[string]any{"has_next_page": true, "records": recs(2*page-1, 2*page)}
			},
			ids: []int{1, 2}, requests: 1,
			err: "circle: listBookmarks: page 1 reports no page number yet says a next page follows: the list is not advancing",
		},
		{
			name: "always page 1",
			answer: func(int) map[string]any {
				return map[string]any{"page": 1, "has_next_page": true, "records": recs(1, 2)}
			},
			ids: []int{1, 2}, requests: 2,
			err: "circle: listBookmarks: asked for page 2, got page 1: the list is not advancing",
		},
		{
			name: "the same records on every page",
			answer: func(page int) map[string]any {
				return map[string]any{"page": page, "has_next_page": true, "records": recs(1, 2)}
			},
			ids: []int{1, 2}, requests: 2,
			err: "circle: listBookmarks: page 2 holds the same records as page 1 and says a next page follows: the list is not advancing",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps := newPageServer(t, tc.answer)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ids, err := rangeAll(t, circle.ListBookmarksAll(ctx, ps.api, nil), bookmarkID)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || err.Error() != tc.err) {
				t.Errorf("error %v, want %q", err, tc.err)
			}
			if !slices.Equal(ids, tc.ids) {
				t.Errorf("records %v, want %v", short(ids), tc.ids)
			}
			if got := ps.requests.Load(); got != tc.requests {
				t.Errorf("%d requests, want %d", got, tc.requests)
			}
		})
	}
}

// The iterators of operations paged in the request body stop likewise.
func TestBodyPagedListAllStopsWhenThePageDoesNotAdvance(t *testing.T) {
	t.Parallel()
	ps := newPageServer(t, func(page int) map[string]any {
		return map[string]any{"has_next_page": true, "records": []map[string]any{{"id": page}}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ids, err := rangeAll(t, circle.SearchCommunityMembersAll(ctx, ps.api, memberv1.SearchCommunityMembersJSONRequestBody{}),
		func(m memberv1.SearchedMember) int { return m.ID })
	const want = "circle: searchCommunityMembers: page 1 reports no page number yet says a next page follows: the list is not advancing"
	if err == nil || err.Error() != want || len(ids) != 1 || ps.requests.Load() > 2 {
		t.Errorf("records %v, error %v, %d requests; want one record, %q, at most 2 requests", short(ids), err, ps.requests.Load(), want)
	}
}

// short shows at most the first ten ids, and how many there are.
func short(ids []int) string {
	if len(ids) <= 10 {
		return fmt.Sprint(ids)
	}
	return fmt.Sprintf("%v… (%d records)", ids[:10], len(ids))
}
