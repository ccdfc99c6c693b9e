package bff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
	"github.com/circlekit/headless-go/internal/syncbuf"
	"github.com/circlekit/headless-go/openapi"
)

func TestProxiesAMemberAPICall(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.fake.SetRecords("listHomePosts", []memberv1.Post{{Name: "Hello"}, {Name: "News"}})
	r := e.do("GET", "/circle/api/headless/v1/home?per_page=1&page=2", "")
	if r.status != 200 || !strings.Contains(r.body, `"News"`) || strings.Contains(r.body, `"Hello"`) {
		t.Fatalf("GET home: %d %s; want page 2 holding News", r.status, r.body)
	}
	var got circletest.Request
	for _, q := range e.fake.Requests() {
		if q.OperationID == "listHomePosts" {
			got = q
		}
	}
	if got.Query != "per_page=1&page=2" || got.MemberID == 0 || got.ValidationError != nil {
		t.Errorf("what reached Circle: query %q, member %d, validation %v", got.Query, got.MemberID, got.ValidationError)
	}
}

// Every route refuses, before anything else, a request without X-CSRF: 1
// or from another site, and never grants CORS.
func TestAntiForgeryOnEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, WithTokenEndpoint())
	routes := []struct{ method, path, body string }{
		{"GET", "/circle/api/headless/v1/home", ""},
		{"POST", "/circle/api/headless/v1/bookmarks", `{"bookmarkable_id":1,"bookmark_type":"post"}`},
		{"GET", "/circle/token", ""},
		{"POST", "/circle/logout", ""},
		{"GET", "/circle/api/headless/v1/no_such_thing", ""},
	}
	bad := [][]string{
		{"X-CSRF", ""},
		{"X-CSRF", "", "X-CSRF", "0"},
		{"X-CSRF", "", "X-CSRF", "true"},
		{"X-CSRF", "1"}, // a second value: X-CSRF: 1, 1
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
	}
	for _, rt := range routes {
		for _, h := range bad {
			r := e.do(rt.method, rt.path, rt.body, h...)
			if r.status != http.StatusForbidden || errorKind(t, r.body) != "forbidden" {
				t.Errorf("%s %s with %q: %d %s; want 403", rt.method, rt.path, h, r.status, r.body)
			}
		}
		// A CORS preflight carries no X-CSRF: refused, with no permission.
		r := e.do("OPTIONS", rt.path, "", "X-CSRF", "", "Origin", "http://evil.example",
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "x-csrf")
		if r.status != http.StatusForbidden {
			t.Errorf("preflight of %s: %d; want 403", rt.path, r.status)
		}
		for k := range r.header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("preflight of %s answered %s", rt.path, k)
			}
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("forged requests reached Circle %d times", n)
	}
	// And with the header from the same origin it works.
	if r := e.do("GET", "/circle/api/headless/v1/home", "", "Sec-Fetch-Site", "same-origin"); r.status != 200 {
		t.Errorf("same-origin call: %d %s", r.status, r.body)
	}
}

func TestAntiForgeryHeaderName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, WithAntiForgeryHeader("X-Requested-By-App"))
	if r := e.do("GET", "/circle/api/headless/v1/home", ""); r.status != http.StatusForbidden {
		t.Errorf("X-CSRF where another header is configured: %d; want 403", r.status)
	}
	if r := e.do("GET", "/circle/api/headless/v1/home", "", "X-Requested-By-App", "1"); r.status != 200 {
		t.Errorf("with the configured header: %d %s", r.status, r.body)
	}
	for _, name := range []string{"Content-Type", "accept", "Sec-Fetch-Site", "Cookie", "", "X Y"} {
		if _, err := New(e.auth, identifyByHeader, WithAntiForgeryHeader(name)); err == nil {
			t.Errorf("WithAntiForgeryHeader(%q) accepted", name)
		}
	}
}

// The router is the spec's: every operation of openapi/member/v1 reaches
// Circle as that operation, through the generated table.
func TestEveryOperationOfTheSpecIsRouted(t *testing.T) {
	t.Parallel()
	doc, err := openapi.Member()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, nil)
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			p := path
			for _, prm := range append(item.Parameters, op.Parameters...) {
				if prm.Value.In != "path" {
					continue
				}
				v := "abc-1"
				switch sch := prm.Value.Schema.Value; {
				case sch.Type.Is("integer"):
					v = "12"
				case len(sch.Enum) > 0:
					v = fmt.Sprint(sch.Enum[0])
				}
				p = strings.ReplaceAll(p, "{"+prm.Value.Name+"}", v)
			}
			body := ""
			if op.RequestBody != nil {
				body = "{}"
			}
			e.fake.ClearRequests()
			r := e.do(method, "/circle"+p, body)
			if r.status >= 500 || r.status == 404 && strings.Contains(r.body, "no such operation") || r.status == 405 {
				t.Errorf("%s %s (%s): %d %s", method, p, op.OperationID, r.status, r.body)
				continue
			}
			var ops []string
			for _, q := range e.fake.Requests() {
				if strings.HasPrefix(q.Path, "/api/headless/") {
					ops = append(ops, q.OperationID)
				}
			}
			if len(ops) != 1 || ops[0] != op.OperationID {
				t.Errorf("%s %s: Circle saw %q; want %s", method, p, ops, op.OperationID)
			}
		}
	}
	if n != len(operations) {
		t.Errorf("the spec has %d operations, the table %d", n, len(operations))
	}
}

func TestOnlyOperationsOfTheSpecPass(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/circle/api/headless/v1/no_such_thing", 404},
		{"GET", "/circle/api/v1/headless/auth_token", 404},
		{"POST", "/circle/api/v1/headless/auth_token", 404},
		{"GET", "/circle/api/headless/v2/home", 404},
		{"GET", "/circle/api/headless/v1/home/", 400},
		{"GET", "/circle/api/headless/v1/spaces/abc/posts", 404}, // space_id is an integer
		{"GET", "/circle/api/headless/v1/spaces/-1/posts", 404},
		{"GET", "/circle/api/headless/v1/notification_preferences/carrier_pigeon", 404},
		{"GET", "/circle/elsewhere", 404},
		{"GET", "/other/api/headless/v1/home", 404},
		{"DELETE", "/circle/api/headless/v1/home", 405},
		{"PUT", "/circle/api/headless/v1/bookmarks", 405},
		{"GET", "/circle/logout", 405},
		{"GET", "/circle/token", 404}, // off by default
	} {
		r := e.do(c.method, c.path, "")
		if r.status != c.status {
			t.Errorf("%s %s: %d %s; want %d", c.method, c.path, r.status, r.body, c.status)
		}
		if c.status == 405 && r.header.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests reached Circle", n)
	}
}

// Request targets that try to leave the operation's path are refused,
// sent as raw bytes so that no client cleans them.
func TestPathTricksAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, line := range []string{
		"GET /circle/api/headless/v1/spaces/1/../../../v1/headless/auth_token HTTP/1.1",
		"GET /circle/api/headless/v1/./home HTTP/1.1",
		"GET /circle/api/headless/v1/spaces/%2e%2e/posts HTTP/1.1",
		"GET /circle/api/headless/v1/spaces/1%2Fposts HTTP/1.1",
		"GET /circle/api/headless/v1/spaces/1%2fposts HTTP/1.1",
		"GET /circle/api/headless/v1/h%6fme HTTP/1.1",
		"GET /circle/api/headless/v1/messages/%2E HTTP/1.1",
		"GET /circle//api/headless/v1/home HTTP/1.1",
		"GET /circle/api/headless/v1//home HTTP/1.1",
		"GET /circle/api/headless/v1/messages/a\\..\\b HTTP/1.1",
		"GET http://evil.example/circle/api/headless/v1/home HTTP/1.1",
		"GET //evil.example/circle/api/headless/v1/home HTTP/1.1",
		"GET /circle/api/headless/v1/messages/.. HTTP/1.1",
		"GET /circle/api/headless/v1/messages/... HTTP/1.1",
		"GET /circle/api/headless/v1/messages/a;b=c HTTP/1.1",
		"GET * HTTP/1.1",
	} {
		if st := e.raw(line); st < 400 || st > 499 {
			t.Errorf("%s: %d; want a 4xx", line, st)
		}
	}
	if n := len(e.fake.Requests()); n != 0 {
		t.Errorf("%d requests reached Circle: %v", n, e.fake.Requests()[0].Path)
	}
	// A plain uuid passes and reaches Circle (the stateful fake knows no
	// such room and answers 404, which is relayed).
	st := e.raw("GET /circle/api/headless/v1/messages/4f6e-b2.x_~1/chat_room_messages HTTP/1.1")
	var reached []string
	for _, r := range e.fake.Requests() {
		if r.OperationID != "createMemberToken" {
			reached = append(reached, r.Path)
		}
	}
	if len(reached) != 1 || reached[0] != "/api/headless/v1/messages/4f6e-b2.x_~1/chat_room_messages" {
		t.Errorf("a plain uuid (%d) did not reach Circle: %q", st, reached)
	}
}

func TestHeadersPassThroughAllowLists(t *testing.T) {
	t.Parallel()
	up := newHostile(t, func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Set-Cookie", "circle_session=stolen; Path=/")
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("X-Hostile", "1")
		h.Set("ETag", `"v1"`)
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")
		h.Set("Keep-Alive", "timeout=99")
		h.Set("Trailer", "X-Late")
		_, _ = io.WriteString(w, `{"records":[]}`)
	})
	e := newEnvWith(t, nil, up.URL, "app-token-xyz", nil)
	r := e.do("GET", "/circle/api/headless/v1/home?a=1&b=%2F&c", "",
		"Cookie", "host_session=secret-cookie-value",
		"Authorization", "Bearer browser-supplied",
		"X-Forwarded-For", "6.6.6.6", "X-Forwarded-Host", "evil.example", "Forwarded", "for=6.6.6.6",
		"Proxy-Authorization", "Basic eA==", "Connection", "X-Smuggle", "X-Smuggle", "1",
		"X-Real-Ip", "6.6.6.6", "Origin", "http://evil.example",
		"Accept-Language", "fr", "If-None-Match", `"v0"`, "Accept", "application/json")
	if r.status != 200 {
		t.Fatalf("GET home: %d %s", r.status, r.body)
	}
	got, url := up.last()
	if a := got.Get("Authorization"); a != "Bearer "+up.access {
		t.Errorf("Circle got Authorization %q; want the member's token", a)
	}
	for _, k := range []string{"Cookie", "X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "Proxy-Authorization", "X-Smuggle", "X-Real-Ip", "Origin", memberHeader, "X-Csrf"} {
		if v := got.Values(k); len(v) > 0 {
			t.Errorf("Circle got %s: %q", k, v)
		}
	}
	for k, want := range map[string]string{"Accept-Language": "fr", "If-None-Match": `"v0"`, "Accept": "application/json"} {
		if v := got.Get(k); v != want {
			t.Errorf("Circle got %s %q; want %q", k, v, want)
		}
	}
	if url != "/api/headless/v1/home?a=1&b=%2F&c" {
		t.Errorf("Circle got URL %q; want the query as it was", url)
	}
	if cc := r.header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
		t.Errorf("the browser got Cache-Control %q; want no-store only", cc)
	}
	for _, k := range []string{"Set-Cookie", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "X-Hostile", "Keep-Alive", "Trailer", "Expires"} {
		if v := r.header.Values(k); len(v) > 0 {
			t.Errorf("the browser got %s: %q", k, v)
		}
	}
	if r.header.Get("ETag") != `"v1"` || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("the browser got ETag %q, X-Content-Type-Options %q", r.header.Get("ETag"), r.header.Get("X-Content-Type-Options"))
	}
}

func TestRequestBodyLimit(t *testing.T) {
	t.Parallel()
	up := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"got":%d}`, n)
	})
	e := newEnvWith(t, nil, up.URL, "app-token-xyz", nil)
	big := `{"x":"` + strings.Repeat("a", DefaultMaxBodySize-7) + `"}` // 1 MiB + 1
	if len(big) != DefaultMaxBodySize+1 {
		t.Fatalf("body of %d bytes", len(big))
	}
	if r := e.do("POST", "/circle/api/headless/v1/bookmarks", big); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB + 1 with Content-Length: %d", r.status)
	}
	// Without Content-Length (chunked), the limit holds while reading.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, e.srv.URL+"/circle/api/headless/v1/bookmarks", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("X-CSRF", "1")
	req.Header.Set(memberHeader, e.email)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || req.ContentLength != -1 && req.ContentLength != 0 {
		t.Errorf("1 MiB + 1 chunked: %d", resp.StatusCode)
	}
	if r := e.do("POST", "/circle/api/headless/v1/bookmarks", "a=1", "Content-Type", "", "Content-Type", "application/x-www-form-urlencoded"); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("a form body: %d; want 415", r.status)
	}
	if up.calls() != 0 {
		t.Fatalf("%d refused bodies reached Circle", up.calls())
	}
	ok := big[:len(big)-3] + `"}`
	if r := e.do("POST", "/circle/api/headless/v1/bookmarks", ok); r.status != 200 || r.body != `{"got":1048576}` {
		t.Errorf("exactly 1 MiB: %d %s", r.status, r.body)
	}
}

// Circle's answer streams through: the browser reads the first part
// before Circle sends the rest.
func TestResponsesStream(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	up := newHostile(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"records":[`+strings.Repeat(" ", 100))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		_, _ = io.WriteString(w, `]}`)
	})
	e := newEnvWith(t, nil, up.URL, "app-token-xyz", nil)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.srv.URL+"/circle/api/headless/v1/home", nil)
	req.Header.Set("X-CSRF", "1")
	req.Header.Set(memberHeader, e.email)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	first := make([]byte, 12)
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != `{"records":[` {
		t.Fatalf("first bytes %q, %v", first, err)
	}
	close(release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || !strings.HasSuffix(string(rest), "]}") {
		t.Errorf("rest %q, %v", rest, err)
	}
}

// A body over the SDK's size limit does not reach the browser whole.
func TestResponseSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	up := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		body := `["` + strings.Repeat("x", 2*limit) + `"]`
		if r.URL.Query().Get("declared") != "" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		_, _ = io.WriteString(w, body)
	})
	e := newEnvWith(t, nil, up.URL, "app-token-xyz", []circle.Option{circle.WithMaxResponseSize(limit)})
	if r := e.do("GET", "/circle/api/headless/v1/home?declared=1", ""); r.status != http.StatusBadGateway {
		t.Errorf("a declared large body: %d; want 502", r.status)
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.srv.URL+"/circle/api/headless/v1/home", nil)
	req.Header.Set("X-CSRF", "1")
	req.Header.Set(memberHeader, e.email)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err == nil || len(b) > limit {
		t.Errorf("a chunked large body: read %d bytes, error %v; want the connection cut within the limit", len(b), err)
	}
}

// A hostile Circle that echoes the member's token gets it nowhere.
func TestTheTokenIsNeverRelayed(t *testing.T) {
	t.Parallel()
	up := newHostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.URL.Query().Get("status") == "400" {
			w.WriteHeader(http.StatusBadRequest)
		}
		_, _ = io.WriteString(w, `{"message":"`+strings.Repeat("z", 40000)+`you sent `+tok+`"}`)
	})
	e := newEnvWith(t, nil, up.URL, "app-token-xyz", nil)
	r := e.do("GET", "/circle/api/headless/v1/home?status=400", "")
	if r.status != 400 || strings.Contains(r.body, up.access) {
		t.Errorf("a 400 echoing the token: %d, token relayed %v", r.status, strings.Contains(r.body, up.access))
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.srv.URL+"/circle/api/headless/v1/home", nil)
	req.Header.Set("X-CSRF", "1")
	req.Header.Set(memberHeader, e.email)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err == nil || bytes.Contains(b, []byte(up.access)) {
		t.Errorf("a 200 echoing the token: error %v, token relayed %v", err, bytes.Contains(b, []byte(up.access)))
	}
}

func TestErrorsMapToStatuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// identify fails.
	if r := e.do("GET", "/circle/api/headless/v1/home", "", memberHeader, ""); r.status != 401 || errorKind(t, r.body) != "unauthorized" {
		t.Errorf("no session: %d %s", r.status, r.body)
	}
	// The member is unknown to Circle: no access.
	if r := e.do("GET", "/circle/api/headless/v1/home", "", memberHeader, "", memberHeader, "nobody@example.com"); r.status != 401 {
		t.Errorf("unknown member: %d %s", r.status, r.body)
	}
	// Circle's own 4xx passes with its body.
	e.fake.SetResponse("getSpacePost", 404, map[string]any{"success": false, "message": "Post not found", "error_details": map[string]any{}})
	if r := e.do("GET", "/circle/api/headless/v1/spaces/1/posts/2", ""); r.status != 404 || !strings.Contains(r.body, "Post not found") {
		t.Errorf("Circle's 404: %d %s", r.status, r.body)
	}
	// A 5xx after the SDK's retries: 502.
	e.fake.InjectFault("listHomePosts", circletest.Fault{Status: 503, Times: 3})
	if r := e.do("GET", "/circle/api/headless/v1/home", ""); r.status != 502 || errorKind(t, r.body) != "bad_gateway" {
		t.Errorf("Circle 503: %d %s", r.status, r.body)
	}
	// Too slow: 504.
	impatient, err := New(e.auth, identifyByHeader, WithTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e.fake.InjectFault("listSpaces", circletest.Fault{Latency: 5 * time.Second, Times: 1})
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/circle/api/headless/v1/spaces", nil)
	req.Header.Set("X-CSRF", "1")
	req.Header.Set(memberHeader, e.email)
	rec := httptest.NewRecorder()
	impatient.ServeHTTP(rec, req)
	if rec.Code != 504 || errorKind(t, rec.Body.String()) != "timeout" {
		t.Errorf("slow Circle: %d %s", rec.Code, rec.Body)
	}
	// Unreachable: 502.
	e.fake.Close()
	if r := e.do("GET", "/circle/api/headless/v1/home", "", memberHeader, "", memberHeader, "grace@example.com"); r.status != 502 {
		t.Errorf("Circle down: %d %s", r.status, r.body)
	}
}

// A redirect to another origin is refused by the SDK's guard: 502, and
// the token does not travel.
func TestRedirectElsewhereIsRefused(t *testing.T) {
	t.Parallel()
	var elsewhere int
	other := newHostile(t, func(http.ResponseWriter, *http.Request) { elsewhere++ })
	up := newHostile(t, func(w http.ResponseWriter, _ *http.Request) {
		http.Redirect(w, &http.Request{}, other.URL+"/api/headless/v1/home", http.StatusFound)
	})
	e := newEnvWith(t, nil, up.URL, "app-token-xyz", nil)
	if r := e.do("GET", "/circle/api/headless/v1/home", ""); r.status != 502 {
		t.Errorf("redirect to another origin: %d %s", r.status, r.body)
	}
	if other.calls() != 0 {
		t.Errorf("the other origin got %d calls", other.calls())
	}
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, WithTokenEndpoint())
	r := e.do("GET", "/circle/token", "")
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET token: %d, Cache-Control %q", r.status, r.header.Get("Cache-Control"))
	}
	tok, err := e.auth.TokenSource(circle.ByEmail(e.email)).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"access_token":%q,"expires_at":%q,"community_member_id":%d,"community_id":1}`,
		tok.AccessToken, tok.AccessTokenExpiresAt.UTC().Format(time.RFC3339Nano), tok.CommunityMemberID)
	if r.body != want {
		t.Errorf("GET token:\n got %s\nwant %s", r.body, want)
	}
	if strings.Contains(r.body, tok.RefreshToken) || strings.Contains(r.body, "refresh") {
		t.Error("the token endpoint tells about the refresh token")
	}
	if r := e.do("POST", "/circle/token", ""); r.status != 405 {
		t.Errorf("POST token: %d", r.status)
	}
}

func TestLogoutRevokes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if r := e.do("GET", "/circle/api/headless/v1/home", ""); r.status != 200 {
		t.Fatalf("GET home: %d", r.status)
	}
	before, err := e.auth.TokenSource(circle.ByEmail(e.email)).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/circle/logout", ""); r.status != 405 {
		t.Errorf("GET logout: %d", r.status)
	}
	e.fake.ClearRequests()
	if r := e.do("POST", "/circle/logout", ""); r.status != 204 {
		t.Fatalf("POST logout: %d %s", r.status, r.body)
	}
	var ops []string
	for _, q := range e.fake.Requests() {
		ops = append(ops, fmt.Sprint(q.OperationID, " ", q.Status))
	}
	if fmt.Sprint(ops) != "[revokeAccessToken 204 revokeRefreshToken 204]" && fmt.Sprint(ops) != "[revokeRefreshToken 204 revokeAccessToken 204]" {
		t.Errorf("logout sent %q", ops)
	}
	// The revoked token is dead at Circle.
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, e.fake.URL()+"/api/headless/v1/home", nil)
	req.Header.Set("Authorization", "Bearer "+before.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old access token after logout: %d", resp.StatusCode)
	}
}

func TestOperationCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, WithOperationCheck(func(_ *http.Request, id string) error {
		if id == "deactivateCurrentMember" {
			return errors.New("not from the browser")
		}
		return nil
	}))
	if r := e.do("DELETE", "/circle/api/headless/v1/community_member/deactivate", ""); r.status != 403 || strings.Contains(r.body, "not from the browser") {
		t.Errorf("refused operation: %d %s", r.status, r.body)
	}
	if e.memberCalls() != 0 {
		t.Error("a refused operation reached Circle")
	}
	if r := e.do("GET", "/circle/api/headless/v1/home", ""); r.status != 200 {
		t.Errorf("allowed operation: %d", r.status)
	}
}

// One debug line per call, with the operation and status, and no token,
// cookie or session.
func TestOneLogLinePerCallWithoutSecrets(t *testing.T) {
	t.Parallel()
	var buf syncbuf.Buffer
	e := newEnv(t, nil, WithTokenEndpoint(), WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	e.do("GET", "/circle/api/headless/v1/home", "", "Cookie", "host_session=cookie-secret-4242")
	tokBody := e.do("GET", "/circle/token", "")
	e.do("POST", "/circle/logout", "")
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "operation=listHomePosts") || !strings.Contains(lines[0], "status=200") || !strings.Contains(lines[0], "duration=") {
		t.Errorf("log:\n%s", out)
	}
	tok := strings.Split(tokBody.body, `"`)[3]
	for _, secret := range []string{tok, "cookie-secret-4242", e.email} {
		if len(secret) < 8 || strings.Contains(out, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// When the rate limit's wait would be too long, the browser gets 429
// with Retry-After, and Circle nothing.
func TestRateLimitAnswers429(t *testing.T) {
	t.Parallel()
	e := newEnv(t, []circle.Option{circle.WithRateLimit(0.1, 2)}, WithMaxRateWait(100*time.Millisecond))
	if r := e.do("GET", "/circle/api/headless/v1/home", ""); r.status != 200 { // a mint and a call: the burst
		t.Fatalf("first call: %d %s", r.status, r.body)
	}
	start := time.Now()
	r := e.do("GET", "/circle/api/headless/v1/home", "")
	ra, _ := strconv.Atoi(r.header.Get("Retry-After"))
	if r.status != 429 || ra < 1 || errorKind(t, r.body) != "rate_limited" {
		t.Errorf("second call: %d, Retry-After %q, %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if time.Since(start) > 5*time.Second { // waiting would take 10 s
		t.Errorf("the 429 took %v", time.Since(start))
	}
	if e.memberCalls() != 1 {
		t.Errorf("Circle got %d member calls; want 1", e.memberCalls())
	}
}

func TestOptionsAreChecked(t *testing.T) {
	t.Parallel()
	auth, err := circle.NewAuthClient("app-token-abc")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Option{WithPrefix(""), WithPrefix("circle"), WithPrefix("/circle/"), WithPrefix("/a/../b"), WithPrefix("/a%2f"), WithPrefix("//x"),
		WithMaxBodySize(0), WithTimeout(0), WithMaxRateWait(-1)} {
		if _, err := New(auth, identifyByHeader, o); err == nil {
			t.Error("a bad option was accepted")
		}
	}
	if _, err := New(nil, identifyByHeader); err == nil {
		t.Error("New without AuthClient")
	}
	if _, err := New(auth, nil); err == nil {
		t.Error("New without identify")
	}
}

func TestPrefix(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, WithPrefix("/app/circle"))
	if r := e.do("GET", "/app/circle/api/headless/v1/home", ""); r.status != 200 {
		t.Errorf("under the prefix: %d", r.status)
	}
	if r := e.do("GET", "/circle/api/headless/v1/home", ""); r.status != 404 {
		t.Errorf("under the default prefix: %d", r.status)
	}
}

// The proxy calls through the SDK: a 401 on a token believed valid is
// refreshed and replayed once, and a 503 on a GET is retried.
func TestSDKBehaviourIsReused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if r := e.do("GET", "/circle/api/headless/v1/spaces", ""); r.status != 200 {
		t.Fatalf("first call: %d %s", r.status, r.body)
	}
	e.fake.ClearRequests()
	e.fake.InjectFault("listHomePosts", circletest.Fault{Status: 401, Times: 1})
	if r := e.do("GET", "/circle/api/headless/v1/home", ""); r.status != 200 {
		t.Errorf("after a 401: %d %s", r.status, r.body)
	}
	e.fake.InjectFault("listSpaces", circletest.Fault{Status: 503, Times: 1})
	if r := e.do("GET", "/circle/api/headless/v1/spaces", ""); r.status != 200 {
		t.Errorf("after a 503: %d %s", r.status, r.body)
	}
	var ops []string
	for _, q := range e.fake.Requests() {
		ops = append(ops, fmt.Sprint(q.OperationID, " ", q.Status))
	}
	if got := fmt.Sprint(ops); got != "[listHomePosts 401 refreshAccessToken 200 listHomePosts 200 listSpaces 503 listSpaces 200]" {
		t.Errorf("Circle saw %s", got)
	}
}

// Circle's text/json answer is JSON to the SDK (circle accepts it), so bff
// relays it rather than answering 502; a non-JSON type still gets a 502.
func TestRelaysTheJSONTypesCircleAccepts(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]int{"text/json; charset=utf-8": 200, "application/problem+json": 200, "text/html": 502} {
		up := newHostile(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ct)
			_, _ = io.WriteString(w, `{"records":[]}`)
		})
		e := newEnvWith(t, nil, up.URL, "app-token-xyz", nil)
		if r := e.do("GET", "/circle/api/headless/v1/home", ""); r.status != want {
			t.Errorf("Circle answering %s: bff answered %d %s; want %d", ct, r.status, r.body, want)
		}
	}
}
