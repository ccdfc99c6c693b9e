package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// env is circletest with one member, and the circle layer's clients wired
// to it: an Auth API client, the member's token source and a Member API
// client acting for that member.
type env struct {
	srv    *circletest.Server
	auth   *circle.AuthClient
	member circletest.Member
	source *circle.MemberTokenSource
	api    *memberv1.ClientWithResponses
}

var memberSeq atomic.Int64

// newEnv starts circletest for t with srvOpts and wires the circle clients
// to it. The clients read the server's clock (so that token expiry agrees
// with it) and back off for milliseconds rather than seconds; opts come
// after those defaults, so they can override them.
func newEnv(t testing.TB, srvOpts []circletest.Option, opts ...circle.Option) *env {
	t.Helper()
	// The fake checks its own answers against the spec too.
	srv := circletest.Start(t, append([]circletest.Option{circletest.WithResponseValidation()}, srvOpts...)...)
	n := memberSeq.Add(1)
	m := srv.AddMember(circletest.Member{
		Email:     fmt.Sprintf("member-%d@example.com", n),
		SSOUserID: fmt.Sprintf("sso-%d", n),
	})
	opts = append([]circle.Option{
		circle.WithBaseURL(srv.URL()),
		circle.WithClock(srv.Now),
		circle.WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
	}, opts...)
	auth, err := circle.NewAuthClient(srv.AppToken(), opts...)
	if err != nil {
		t.Fatalf("NewAuthClient: %v", err)
	}
	source := auth.TokenSource(circle.ByEmail(m.Email))
	api, err := circle.NewMemberClient(source, opts...)
	if err != nil {
		t.Fatalf("NewMemberClient: %v", err)
	}
	return &env{srv: srv, auth: auth, member: m, source: source, api: api}
}

// ctx is a context for one test's calls, cancelled when the test ends.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// counts tallies the requests the server recorded by operationId.
func (e *env) counts() map[string]int {
	c := map[string]int{}
	for _, r := range e.srv.Requests() {
		c[r.OperationID]++
	}
	return c
}

// requests returns the requests the server recorded for operationID.
func (e *env) requests(operationID string) []circletest.Request {
	return slices.DeleteFunc(e.srv.Requests(), func(r circletest.Request) bool { return r.OperationID != operationID })
}

// recorded returns the request the server answered with resp, found by
// the X-Request-Id header it sent.
func recorded(t testing.TB, srv *circletest.Server, resp *http.Response) circletest.Request {
	t.Helper()
	if resp == nil {
		t.Fatal("no HTTP response to match with a recorded request")
	}
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("the response has no X-Request-Id header")
	}
	for _, r := range srv.Requests() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("circletest recorded no request with id %q", id)
	return circletest.Request{}
}

// statuses lists the statuses of requests.
func statuses(reqs []circletest.Request) []int {
	out := make([]int, len(reqs))
	for i, r := range reqs {
		out[i] = r.Status
	}
	return out
}

// jsonInto decodes the JSON text s into v, refusing unknown fields, so that
// a test's literal body cannot silently lose a misspelt key.
func jsonInto(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
