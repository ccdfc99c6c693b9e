package contract

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/gen/memberv1"
)

const mePath = "/api/headless/v1/community_member"

// rawCircle is a loopback server answering every request with handler,
// for answers circletest will not make (an HTML page, a cut connection),
// and a member client pointed at it with a fixed token.
type rawCircle struct {
	*httptest.Server
	api   *memberv1.ClientWithResponses
	calls atomic.Int64
}

func newRawCircle(t *testing.T, handler http.HandlerFunc, opts ...circle.Option) *rawCircle {
	t.Helper()
	rc := &rawCircle{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.calls.Add(1)
		w.Header().Set("X-Request-Id", fmt.Sprintf("raw-%d", n))
		handler(w, r)
	}))
	t.Cleanup(rc.Close)
	opts = append([]circle.Option{
		circle.WithBaseURL(rc.URL),
		circle.WithRetryBackoff(time.Millisecond, time.Millisecond),
	}, opts...)
	api, err := circle.NewMemberClient(staticSource{circle.Token{AccessToken: "fixed-access-token"}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	rc.api = api
	return rc
}

// noPanic runs f, failing the test instead of crashing it if f panics.
func noPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s panicked: %v", what, p)
		}
	}()
	f()
}

// wantErrText fails unless err is non-nil and its text holds every part,
// ignoring case.
func wantErrText(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one mentioning %q", parts)
	}
	msg := strings.ToLower(err.Error())
	for _, p := range parts {
		if !strings.Contains(msg, strings.ToLower(p)) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
	if strings.Contains(msg, "fixed-access-token") {
		t.Errorf("error %q shows the access token", err)
	}
}

// gap reports a shortcoming of the client that is known and reported, so
// that it shows in verbose output without failing the suite. Turn it into
// t.Errorf once the circle layer handles the case.
func gap(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Skipf("KNOWN GAP (reported): "+format, args...)
}

// namesCall checks that the error of a 2xx answer that could not be
// decoded says which call it was, as an *APIError does for a non-2xx one.
func namesCall(t *testing.T, err error, path string) {
	t.Helper()
	if err != nil && !strings.Contains(err.Error(), path) {
		t.Run("names the call", func(t *testing.T) {
			gap(t, "a 2xx body that does not decode gives %q, which names neither the call (%s) nor the status", err, path)
		})
	}
}

// TestBadAnswers feeds the member client answers Circle should
// never give, or that a proxy in front of it might: each must give a clear
// error and never a panic. Where the answer is a 2xx that the generated
// code decodes after the circle layer has returned it, the error comes
// from encoding/json; the subtests marked as gaps show what the circle
// layer does not yet add to it.
func TestBadAnswers(t *testing.T) {
	t.Parallel()

	t.Run("body does not match the schema", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.srv.SetResponse("getSpacePost", 200, []byte(`{"id":"forty-two","name":["not","a","string"]}`))
		var err error
		noPanic(t, "getSpacePost", func() { _, err = e.api.GetSpacePostWithResponse(c, 1, 2) })
		wantErrText(t, err, "Post.id", "int")
		if rec := e.requests("getSpacePost"); len(rec) != 1 || rec[0].ResponseError == nil {
			t.Errorf("circletest did not record the answer as invalid: %+v", rec)
		}
		namesCall(t, err, "/api/headless/v1/spaces/1/posts/2")
	})

	t.Run("body decodes but does not match the schema", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		// Right JSON types, wrong values: ids below their minimum of 1, and
		// null where the spec does not allow it.
		e.srv.SetResponse(opMe, 200, []byte(`{"id":-5,"user_id":0,"name":null}`))
		var (
			resp *memberv1.GetCurrentMemberResponse
			err  error
		)
		noPanic(t, "getCurrentMember", func() { resp, err = e.api.GetCurrentMemberWithResponse(c) })
		rec := e.requests(opMe)
		if len(rec) != 1 || rec[0].ResponseError == nil {
			t.Fatalf("circletest did not record the answer as invalid: %+v", rec)
		}
		if err == nil && resp.JSON200 != nil {
			t.Run("detected", func(t *testing.T) {
				first, _, _ := strings.Cut(rec[0].ResponseError.Error(), "\n")
				gap(t, "an answer circletest finds invalid (%s) decodes without error: the clients do not validate responses", first)
			})
		}
	})

	t.Run("truncated JSON", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.srv.SetResponse(opMe, 200, []byte(`{"id":1,"name":"Ada Lov`))
		var err error
		noPanic(t, "getCurrentMember", func() { _, err = e.api.GetCurrentMemberWithResponse(c) })
		wantErrText(t, err, "unexpected end of JSON input")
		namesCall(t, err, mePath)
	})

	t.Run("connection cut mid-body", func(t *testing.T) {
		t.Parallel()
		rc := newRawCircle(t, func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\":1,\"na")
			_ = buf.Flush()
		})
		var err error
		noPanic(t, "getCurrentMember", func() { _, err = rc.api.GetCurrentMemberWithResponse(ctx(t)) })
		wantErrText(t, err, "EOF")
		namesCall(t, err, mePath)
	})

	t.Run("empty 200 declared JSON", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.srv.SetResponse(opMe, 200, []byte{})
		var err error
		noPanic(t, "getCurrentMember", func() { _, err = e.api.GetCurrentMemberWithResponse(c) })
		wantErrText(t, err, "unexpected end of JSON input")
		namesCall(t, err, mePath)
	})

	t.Run("empty 200 without Content-Type", func(t *testing.T) {
		t.Parallel()
		rc := newRawCircle(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil // no sniffing either
			w.WriteHeader(http.StatusOK)
		})
		var (
			resp *memberv1.GetCurrentMemberResponse
			err  error
		)
		noPanic(t, "getCurrentMember", func() { resp, err = rc.api.GetCurrentMemberWithResponse(ctx(t)) })
		if err == nil {
			if resp == nil || resp.JSON200 != nil {
				t.Fatalf("no error, response %+v", resp)
			}
			t.Run("detected", func(t *testing.T) {
				gap(t, "an empty 200 with no Content-Type gives no error and a nil JSON200")
			})
		}
	})

	t.Run("HTML page with 200", func(t *testing.T) {
		t.Parallel()
		rc := newRawCircle(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, "<!DOCTYPE html><html><body><h1>Sign in to Circle</h1></body></html>")
		})
		var (
			resp *memberv1.GetCurrentMemberResponse
			err  error
		)
		noPanic(t, "getCurrentMember", func() { resp, err = rc.api.GetCurrentMemberWithResponse(ctx(t)) })
		if err == nil {
			if resp == nil || resp.JSON200 != nil {
				t.Fatalf("no error, response %+v", resp)
			}
			t.Run("detected", func(t *testing.T) {
				gap(t, "a 200 HTML page (a wrong base URL, a login wall) gives no error and a nil JSON200; Content-Type %q", resp.HTTPResponse.Header.Get("Content-Type"))
			})
		}
	})

	t.Run("HTML error page", func(t *testing.T) {
		t.Parallel()
		rc := newRawCircle(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")
		}, circle.WithMaxRetries(1))
		var err error
		noPanic(t, "getCurrentMember", func() { _, err = rc.api.GetCurrentMemberWithResponse(ctx(t)) })
		wantErrText(t, err, "GET", mePath, "502 Bad Gateway", "request id raw-2")
		if strings.Contains(err.Error(), "<") {
			t.Errorf("error %q quotes the HTML", err)
		}
		var apiErr *circle.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || apiErr.Message != "" || !strings.Contains(string(apiErr.Body), "nginx") {
			t.Errorf("err = %#v, want an *APIError with status 502, no message and the page as Body", err)
		}
		if rc.calls.Load() != 2 {
			t.Errorf("%d attempts, want 2 (a 502 on GET is retried once)", rc.calls.Load())
		}
	})

	t.Run("HTML error page on 404", func(t *testing.T) {
		t.Parallel()
		rc := newRawCircle(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, "<html><body>The page you were looking for doesn't exist.</body></html>")
		})
		var err error
		noPanic(t, "getSpacePost", func() { _, err = rc.api.GetSpacePostWithResponse(ctx(t), 1, 2) })
		if !errors.Is(err, circle.ErrNotFound) {
			t.Errorf("err = %v, want ErrNotFound", err)
		}
		wantErrText(t, err, "GET", "/api/headless/v1/spaces/1/posts/2", "404 Not Found")
	})

	t.Run("500 without a body", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.srv.SetResponse(opMe, http.StatusInternalServerError, []byte{})
		e.srv.SetResponse(opComment, http.StatusInternalServerError, []byte{})
		var err error
		noPanic(t, "getCurrentMember", func() { _, err = e.api.GetCurrentMemberWithResponse(c) })
		wantErrText(t, err, "GET", mePath, "500 Internal Server Error", "request id")
		var apiErr *circle.APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.Message != "" || len(apiErr.Body) != 0 {
			t.Errorf("err = %#v, want an *APIError with status 500 and nothing else", err)
		}
		if n := len(e.requests(opMe)); n != 1+circle.DefaultMaxRetries {
			t.Errorf("GET sent %d times, want %d", n, 1+circle.DefaultMaxRetries)
		}

		body := memberv1.CreateCommentJSONRequestBody{}
		if err := jsonInto(`{"comment":{"body":"x"}}`, &body); err != nil {
			t.Fatal(err)
		}
		noPanic(t, "createComment", func() { _, err = e.api.CreateCommentWithResponse(c, 3, body) })
		wantErrText(t, err, "POST", "/api/headless/v1/posts/3/comments", "500 Internal Server Error")
		if n := len(e.requests(opComment)); n != 1 {
			t.Errorf("POST sent %d times, want 1", n)
		}
	})

	t.Run("error body of the wrong shape", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		c := ctx(t)
		e.srv.SetResponse(opMe, http.StatusUnprocessableEntity, []byte(`{"message":{"nested":true},"error_details":"plain","success":"no"}`))
		var err error
		noPanic(t, "getCurrentMember", func() { _, err = e.api.GetCurrentMemberWithResponse(c) })
		wantErrText(t, err, mePath, "422", `{"nested":true}`)
	})
}

// TestBadAuthAnswers checks that the member token source reports an Auth
// API answer without a usable token pair as an error naming the call, and
// that the member call carrying it fails without being sent.
func TestBadAuthAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        []string
	}{
		{"HTML page", 200, "text/html", "<html>Sign in</html>", []string{"POST /api/v1/headless/auth_token", "text/html"}},
		{"empty object", 200, "application/json", "{}", []string{"POST /api/v1/headless/auth_token", "token pair"}},
		{"truncated", 200, "application/json", `{"access_token":"abc","refre`, []string{"unexpected end of JSON input"}},
		{"wrong types", 200, "application/json", `{"access_token":1,"refresh_token":2}`, []string{"access_token", "string"}},
		{"empty 200", 200, "application/json", "", []string{"unexpected end of JSON input"}},
		{"500 without a body", 500, "", "", []string{"POST /api/v1/headless/auth_token", "500 Internal Server Error"}},
		{"HTML 503", 503, "text/html", "<html><h1>Service Unavailable</h1></html>", []string{"POST /api/v1/headless/auth_token", "503 Service Unavailable"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var memberCalls atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasPrefix(r.URL.Path, "/api/v1/headless/") {
					memberCalls.Add(1)
					w.WriteHeader(http.StatusTeapot)
					return
				}
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			opts := []circle.Option{circle.WithBaseURL(srv.URL), circle.WithRetryBackoff(time.Millisecond, time.Millisecond)}
			auth, err := circle.NewAuthClient("app-token-secret", opts...)
			if err != nil {
				t.Fatal(err)
			}
			ts := auth.TokenSource(circle.ByEmail("ada@example.com"))
			api, err := circle.NewMemberClient(ts, opts...)
			if err != nil {
				t.Fatal(err)
			}
			c := ctx(t)
			noPanic(t, "Token", func() { _, err = ts.Token(c) })
			wantErrText(t, err, tc.want...)
			namesCall(t, err, "/api/v1/headless/auth_token")
			if strings.Contains(err.Error(), "has no a ") {
				t.Run("reads well", func(t *testing.T) { gap(t, "the message reads %q", err) })
			}
			if strings.Contains(err.Error(), "app-token-secret") {
				t.Errorf("error %q shows the app token", err)
			}
			noPanic(t, "getCurrentMember", func() { _, err = api.GetCurrentMemberWithResponse(c) })
			wantErrText(t, err, "member token")
			if memberCalls.Load() != 0 {
				t.Error("the member call was sent without a token")
			}
		})
	}
}
