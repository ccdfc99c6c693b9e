package contract

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
)

// fuzzOps are the Member API operations whose 200 (or 201) answers
// FuzzDecodeResponses replaces with arbitrary bytes: a plain object, a
// pagination envelope, an envelope of anyOf records, a post (allOf), and a
// POST answered 201.
var fuzzOps = []string{"getCurrentMember", "listBookmarks", "searchAdvanced", "getSpacePost", "createComment"}

// FuzzDecodeResponses sends arbitrary bytes, declared application/json,
// as the 2xx body of representative Member API operations (through
// circletest) and of the Auth API's createMemberToken (through a loopback
// server the member token source mints from). Nothing may panic; a call
// without error must have filled its typed JSON field, with a value that
// encodes again; a token source without error must hold both tokens.
func FuzzDecodeResponses(f *testing.F) {
	e := newEnv(f, nil, circle.WithMaxRetries(0))
	c := context.Background()
	var table []*specOp
	for _, o := range operations(f) {
		for _, id := range fuzzOps {
			if o.id == id {
				table = append(table, o)
			}
		}
	}
	if len(table) != len(fuzzOps) {
		f.Fatalf("found %d of the operations %v in the specs", len(table), fuzzOps)
	}

	// The Auth API answers createMemberToken with the fuzzed body.
	var authBody atomic.Pointer[[]byte]
	authSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*authBody.Load())
	}))
	f.Cleanup(authSrv.Close)
	auth, err := circle.NewAuthClient("app", circle.WithBaseURL(authSrv.URL), circle.WithMaxRetries(0), circle.WithCacheSize(1))
	if err != nil {
		f.Fatal(err)
	}
	var seq atomic.Int64

	// Seeds: what circletest synthesises for each operation, and shapes
	// that have broken decoders before.
	for _, o := range table {
		resp, err := invoke(c, e.api, o, &synth{forRequest: true, now: e.srv.Now()}, false, e.records(f, o))
		if err != nil {
			f.Fatalf("%s: %v", o.id, err)
		}
		f.Add(resp.Elem().FieldByName("Body").Bytes())
	}
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `"x"`, `0`, `{"records":null}`, `{"records":[null,1,"x",{}]}`,
		`{"id":1e999}`, `{"id":1.5}`, `{"id":-1}`, `{"records":[{"id":"7"}],"page":"2"}`,
		`{"access_token":"a","refresh_token":"r","access_token_expires_at":"not a time"}`,
		`{"access_token":"a","refresh_token":"r","community_member_id":9.9}`,
		`{"access_token":"a","refresh_token":"r","access_token_expires_at":"2024-01-02T03:04:05Z"}`,
		strings.Repeat(`[`, 10000), strings.Repeat(`{"a":`, 5000), "\xff\xfe{}", `{"name":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		e.srv.ClearRequests()
		for _, o := range table {
			status := o.successStatuses()[0]
			e.srv.SetResponse(o.id, status, body)
			resp, err := invoke(c, e.api, o, &synth{forRequest: true}, true, nil)
			if err != nil {
				continue // any error will do, as long as nothing panicked
			}
			field := resp.Elem().FieldByName(fmt.Sprintf("JSON%d", status))
			if !field.IsValid() || field.IsNil() {
				t.Fatalf("%s: no error and no JSON%d for body %q", o.id, status, body)
			}
			if _, err := json.Marshal(field.Interface()); err != nil {
				t.Fatalf("%s: JSON%d decoded from %q does not encode: %v", o.id, status, body, err)
			}
		}

		b := append([]byte(nil), body...)
		authBody.Store(&b)
		ts := auth.TokenSource(circle.ByEmail(fmt.Sprintf("fuzz-%d@example.com", seq.Add(1))))
		cctx, cancel := context.WithTimeout(c, 10*time.Second)
		defer cancel()
		tok, err := ts.Token(cctx)
		if err == nil && (tok.AccessToken == "" || tok.RefreshToken == "") {
			t.Fatalf("Token gave no error and an incomplete pair %v for body %q", tok, body)
		}
	})
}
