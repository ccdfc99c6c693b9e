package circle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// answerServer answers every request with status, Content-Type ct (none
// if empty) and body, flushing first when chunked (so that the answer
// has no Content-Length).
func answerServer(t *testing.T, status int, ct, body string, chunked bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["Content-Type"] = nil // no sniffing
		if ct != "" {
			w.Header().Set("Content-Type", ct)
		}
		w.Header().Set("X-Request-Id", "req-7")
		w.WriteHeader(status)
		if chunked {
			w.(http.Flusher).Flush()
		}
		_, _ = io.WriteString(w, body) // the client's checks see what arrived
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestUnusable2xxAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		status      int
		ct, body    string
		reason      string
		wantExcerpt string
	}{
		{"HTML", 200, "text/html; charset=utf-8", "<!DOCTYPE html>\n<html lang=\"en\">\n  <title>Sign in</title>", "is not JSON", `<!DOCTYPE html> <html lang="…"> <title>Sign in</title>`},
		{"JSON as text", 200, "text/plain", `{"id":1}`, "is not JSON", `{"id":1}`},
		{"JSON-like type", 200, "application/jsonp", `{}`, "is not JSON", `{}`},
		{"empty", 200, "application/json", "", "has an empty body", ""},
		{"empty 201", 201, "application/json", "", "has an empty body", ""},
		{"empty without Content-Type", 200, "", "", "has an empty body", ""},
		{"white space", 200, "application/json", " \n", "is not valid JSON", ""},
		{"truncated", 200, "application/json; charset=utf-8", `{"records":[{"name":"Ada"},{"na`, "is not valid JSON", `{"records":[{"name":"…"},{"…`},
		{"trailing garbage", 200, "application/json", `{"a":1} x`, "is not valid JSON", `{"a":1} x`},
		{"HTML without Content-Type", 200, "", "<html>", "is not valid JSON", "<html>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, chunked := range []bool{false, true} {
				url := answerServer(t, tc.status, tc.ct, tc.body, chunked)
				resp, err := doRaw(t, newTestTransport(t), http.MethodGet, url+"/api/headless/v1/spaces?page=2", "")
				closeRespBody(t, resp)
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("err = %v (%T), want a *DecodeError", err, err)
				}
				want := DecodeError{StatusCode: tc.status, Method: "GET", Path: "/api/headless/v1/spaces", RequestID: "req-7",
					ContentType: tc.ct, Reason: tc.reason, Excerpt: tc.wantExcerpt, Err: de.Err}
				if *de != want {
					t.Errorf("chunked %t:\n got %#v\nwant %#v", chunked, *de, want)
				}
				var syntaxErr *json.SyntaxError
				if (tc.reason == "is not valid JSON") != errors.As(err, &syntaxErr) {
					t.Errorf("Err = %v; want a *json.SyntaxError exactly when the body is not valid JSON", de.Err)
				}
			}
		})
	}
}

func TestDecodeErrorMessage(t *testing.T) {
	t.Parallel()
	url := answerServer(t, 200, "application/json", `{"id":1,"token":"tok-`+secretMark, false)
	resp, err := doRaw(t, newTestTransport(t), http.MethodGet, url+"/api/headless/v1/me", "")
	closeRespBody(t, resp)
	want := `circle: GET /api/headless/v1/me: 200 OK response is not valid JSON: unexpected end of JSON input (Content-Type "application/json", request id req-7); body "{\"id\":1,\"token\":\"…"`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
	url = answerServer(t, 201, "", "", false)
	resp, err = doRaw(t, newTestTransport(t), http.MethodPost, url+"/x", "{}")
	closeRespBody(t, resp)
	want = `circle: POST /x: 201 Created response has an empty body (no Content-Type, request id req-7)`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

func TestUsable2xxAnswers(t *testing.T) {
	t.Parallel()
	big := `{"records":[` + strings.Repeat(`{"id":1,"name":"x"},`, 5000) + `{"id":2}]}`
	for _, tc := range []struct {
		name, method string
		status       int
		ct, body     string
		wantCT       string // the Content-Type the caller sees
	}{
		{"JSON", "GET", 200, "application/json; charset=utf-8", `{"id":1}`, "application/json; charset=utf-8"},
		{"JSON 202", "POST", 202, "application/json", `{}`, "application/json"},
		{"large JSON", "GET", 200, "application/json", big, "application/json"},
		{"null", "GET", 200, "application/json", "null", "application/json"},
		{"no Content-Type", "GET", 200, "", `[1,2]`, "application/json"},
		{"upper case", "GET", 200, "Application/JSON", `{}`, "application/json"},
		{"+json", "GET", 200, "application/problem+json", `{}`, "application/problem+json"},
		{"text/json", "GET", 200, "text/json", `{}`, "text/json"},
		{"204", "DELETE", 204, "", "", ""},
		{"204 with a stray Content-Type", "DELETE", 204, "text/html", "", "text/html"},
		{"HEAD", "HEAD", 200, "text/html", "", "text/html"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, chunked := range []bool{false, true} {
				if chunked && (tc.status == 204 || tc.method == "HEAD") {
					continue
				}
				url := answerServer(t, tc.status, tc.ct, tc.body, chunked)
				body := ""
				if tc.method == "POST" {
					body = "{}"
				}
				resp, err := doRaw(t, newTestTransport(t), tc.method, url+"/x", body)
				if err != nil {
					t.Fatalf("chunked %t: %v", chunked, err)
				}
				b, err := io.ReadAll(resp.Body)
				closeRespBody(t, resp)
				if err != nil || string(b) != tc.body {
					t.Errorf("chunked %t: the body reads %.40q, %v; want %.40q", chunked, b, err, tc.body)
				}
				if got := resp.Header.Get("Content-Type"); got != tc.wantCT {
					t.Errorf("chunked %t: Content-Type %q, want %q", chunked, got, tc.wantCT)
				}
			}
		})
	}
}

// TestDecodeErrorHoldsNoSecret has the Member API answer 200 with pages
// that quote the request's credentials and a token of their own.
func TestDecodeErrorHoldsNoSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ts := e.auth.TokenSource(ByEmail("ola@example.com"))
	tr := e.memberTransport(ts)
	for _, page := range []func(authz string) (ct, body string){
		func(authz string) (string, string) {
			return "text/html", "<p>" + authz + `</p><meta name="csrf-token" content="csrf-` + secretMark + `">`
		},
		func(authz string) (string, string) {
			return "application/json", `{"header":"` + authz + `","token":"invite-` + secretMark + `","cut":"` + authz[:len(authz)-2]
		},
		func(authz string) (string, string) { return "", authz },
	} {
		e.setMemberFn(func(w http.ResponseWriter, r *http.Request, _ int64) {
			ct, body := page(r.Header.Get("Authorization"))
			w.Header()["Content-Type"] = nil
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			_, _ = io.WriteString(w, body) // the client's checks see what arrived
		})
		resp, err := e.memberDo(t.Context(), tr, ts, http.MethodGet, "spaces", nil) // the scan checks err
		closeRespBody(t, resp)
		var de *DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("err = %v, want a *DecodeError", err)
		}
		if s := fmt.Sprintf("%v|%+v|%#v|%s", err, de, de, de.Excerpt); strings.Contains(s, secretMark) {
			t.Errorf("a secret shows: %s", s)
		}
	}
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 200)
	for _, tc := range []struct{ body, want string }{
		{``, ``},
		{`{"id":1,"name":"Ada","tags":["x","y"]}`, `{"id":1,"name":"…","tags":["…","…"]}`},
		{`{"a" : "b"}`, `{"a" : "…"}`},
		{`{"esc\"aped":"v\"w"}`, `{"esc\"aped":"…"}`},
		{`{"` + long + `":1}`, `{"…":1}`},
		{`{"name":"cut`, `{"name":"…`},
		{"<h1>\n\n  Sign   in\t</h1>\x00\x01", "<h1> Sign in </h1>"},
		{"caf\xc3\xa9 \xff", "café"},
		{"Bearer secret-token here", "Bearer [redacted] here"},
		{long, strings.Repeat("a", excerptMax) + "…"},
		{`"` + long + `"`, `"…"`},
		{`[` + strings.Repeat(`"x",`, 200) + `]`, `[` + strings.Repeat(`"…",`, 13) + `"…"…`},
	} {
		if got := excerpt([]byte(tc.body), []string{"", "secret-token"}); got != tc.want {
			t.Errorf("excerpt(%.50q) = %q, want %q", tc.body, got, tc.want)
		}
	}
	// A secret cut by the window is redacted all the same.
	body := strings.Repeat(" ", excerptWindow-5) + "secret-token"
	if got := excerpt([]byte(body), []string{"secret-token"}); strings.Contains(got, "secr") {
		t.Errorf("excerpt = %q", got)
	}
}

// TestCheck2xxAllocations pins the cost of checking a good 2xx answer
// with a Content-Length, then reading and closing it as the generated code
// does: one allocation (the reader handed on) more than reading it alone,
// the buffer the check reads the body into being recycled.
func TestCheck2xxAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	page := benchPage()
	tr := newTestTransport(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://circle.test/api/headless/v1/bookmarks", nil)
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: int64(len(page))}
	in := &respBody{}
	read := func() {
		b, _ := io.ReadAll(resp.Body)
		if err := resp.Body.Close(); err != nil {
			t.Error(err)
		}
		if !bytes.Equal(b, page) {
			t.Error("the body changed")
		}
	}
	alone := testing.AllocsPerRun(100, func() {
		in.Reset(page)
		resp.Body = in
		read()
	})
	checked := testing.AllocsPerRun(100, func() {
		in.Reset(page)
		resp.Body = in
		c := &call{t: tr, ctx: req.Context(), req: req, cur: req}
		if o := c.check2xx(resp); o.err != nil {
			t.Fatal(o.err)
		}
		read()
	})
	if checked > alone+1 {
		t.Errorf("reading a checked answer allocates %v times, reading it alone %v; want 1 more", checked, alone)
	}
}

// TestClosedResponseBodyIsEmpty: once closed, a checked body, whose buffer
// may serve another answer, reads as empty, and closing it again is
// harmless.
func TestClosedResponseBodyIsEmpty(t *testing.T) {
	t.Parallel()
	url := answerServer(t, 200, "application/json", `{"id":1}`, false)
	resp, err := doRaw(t, newTestTransport(t), http.MethodGet, url+"/x", "")
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 3)
	if n, err := resp.Body.Read(p); n != 3 || err != nil || string(p) != `{"i` {
		t.Fatalf("Read = %d, %v, %q", n, err, p)
	}
	for range 2 {
		if err := resp.Body.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := resp.Body.Read(p); n != 0 || err != io.EOF {
		t.Errorf("Read after Close = %d, %v; want 0, EOF", n, err)
	}
	if s, ok := resp.Body.(io.Seeker); ok {
		// Seek may fail on a closed body; either way nothing reads after it.
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			t.Logf("Seek after Close: %v", err)
		}
		if b, _ := io.ReadAll(resp.Body); len(b) != 0 {
			t.Errorf("after Close and Seek, the body reads %q", b)
		}
	}
}
