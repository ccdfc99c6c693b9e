package circle_test

import (
	"context"
	"testing"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// pagesEnv runs the generated iterators (pages.gen_test.go) against
// circletest, with records registered for one list operation.
type pagesEnv struct {
	ctx     context.Context
	srv     *circletest.Server
	api     *memberv1.ClientWithResponses
	op      string
	records int
	perPage int
}

func newPagesEnv(t *testing.T, op string) *pagesEnv {
	t.Helper()
	srv := circletest.Start(t)
	m := srv.AddMember(circletest.Member{Email: "pages@example.com"})
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	api, err := circle.NewMemberClient(auth.TokenSource(circle.ByEmail(m.Email)), circle.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	// 23 records, 5 a page: pages of 5, 5, 5, 5 and 3. Each record has
	// its own id, so that no two pages hold the same records (an iterator
	// stops on a page that repeats the one before it).
	records := make([]map[string]any, 23)
	for i := range records {
		switch op {
		case "listChatRooms": // the room is inside
			records[i] = map[string]any{"chat_room": map[string]any{"id": i + 1}}
		case "listCommunityMembers":
			records[i] = map[string]any{"community_member_id": i + 1}
		default:
			records[i] = map[string]any{"id": i + 1}
		}
	}
	srv.SetRecords(op, records)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &pagesEnv{ctx: ctx, srv: srv, api: api, op: op, records: len(records), perPage: 5}
}

// check ranges over seq to its end and then once more breaking early, and
// checks the records seen, the pages fetched and that every request was
// valid.
func (p *pagesEnv) check(t *testing.T, seq func(yield func(error) bool)) {
	t.Helper()
	n := 0
	seq(func(err error) bool {
		if err != nil {
			t.Fatalf("%s: %v", p.op, err)
		}
		n++
		return true
	})
	if n != p.records {
		t.Errorf("%s: ranged over %d records, want %d", p.op, n, p.records)
	}
	if got, want := p.calls(t), (p.records+p.perPage-1)/p.perPage; got != want {
		t.Errorf("%s: %d pages fetched, want %d", p.op, got, want)
	}

	// Breaking after the first record fetches no further page.
	p.srv.ClearRequests()
	seq(func(error) bool { return false })
	if got := p.calls(t); got != 1 {
		t.Errorf("%s: breaking after one record fetched %d pages, want 1", p.op, got)
	}
}

func (p *pagesEnv) calls(t *testing.T) int {
	t.Helper()
	n := 0
	for _, r := range p.srv.Requests() {
		if r.ValidationError != nil {
			t.Errorf("%s: invalid request %s %s: %v", p.op, r.Method, r.Path, r.ValidationError)
		}
		if r.OperationID == p.op {
			n++
		}
	}
	return n
}
