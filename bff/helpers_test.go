package bff

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
)

// env is a bff handler on loopback in front of a fake Circle.
type env struct {
	t     testing.TB
	fake  *circletest.Server
	auth  *circle.AuthClient
	h     *Handler
	srv   *httptest.Server
	email string
}

// memberHeader is the test's stand-in for a host application's session:
// the member's email in a header.
const memberHeader = "X-Test-Member"

func identifyByHeader(r *http.Request) (circle.Identity, error) {
	v := r.Header.Get(memberHeader)
	if v == "" {
		return circle.Identity{}, errors.New("no session")
	}
	return circle.ByEmail(v), nil
}

// newEnv starts a fake Circle with the member ada, and the handler in
// front of it.
func newEnv(t *testing.T, authOpts []circle.Option, opts ...Option) *env {
	t.Helper()
	fake := circletest.Start(t)
	fake.AddMember(circletest.Member{Email: "ada@example.com"})
	return newEnvWith(t, fake, fake.URL(), fake.AppToken(), authOpts, opts...)
}

func newEnvWith(t testing.TB, fake *circletest.Server, base, appToken string, authOpts []circle.Option, opts ...Option) *env {
	t.Helper()
	auth, err := circle.NewAuthClient(appToken, append([]circle.Option{circle.WithBaseURL(base)}, authOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(auth, identifyByHeader, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, fake: fake, auth: auth, h: h, srv: srv, email: "ada@example.com"}
}

// reply is an answer of the handler.
type reply struct {
	status int
	header http.Header
	body   string
}

// do sends a request as the front end would: signed in, with X-CSRF: 1,
// and the extra headers given (a value "" deletes one).
func (e *env) do(method, path, body string, hdr ...string) reply {
	e.t.Helper()
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, rb)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-CSRF", "1")
	req.Header.Set(memberHeader, e.email)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Add(hdr[i], hdr[i+1])
		}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// raw sends the request line and headers as written, over a connection
// of its own, so that no client cleans the target; it returns the status.
func (e *env) raw(requestLine string, hdr ...string) int {
	e.t.Helper()
	c, err := new(net.Dialer).DialContext(context.Background(), "tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := requestLine + "\r\nHost: " + e.srv.Listener.Addr().String() + "\r\nX-CSRF: 1\r\n" + memberHeader + ": " + e.email + "\r\nConnection: close\r\n"
	for _, h := range hdr {
		msg += h + "\r\n"
	}
	if _, err := io.WriteString(c, msg+"\r\n"); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		e.t.Fatalf("%s: %v", requestLine, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// memberCalls counts the Member API calls the fake received.
func (e *env) memberCalls() int {
	n := 0
	for _, r := range e.fake.Requests() {
		if strings.HasPrefix(r.Path, "/api/headless/") {
			n++
		}
	}
	return n
}

// errorKind decodes the "error" member of a JSON error body.
func errorKind(t *testing.T, body string) string {
	t.Helper()
	var v struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return v.Error
}

// hostile is a Circle that mints tokens for anyone and answers Member API
// calls with handler, recording what each call carried.
type hostile struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	urls    []string
	access  string
	refresh string
}

func newHostile(t testing.TB, handler http.HandlerFunc) *hostile {
	t.Helper()
	h := &hostile{access: "hostile-access-token-7Qx9Zr2mK4", refresh: "hostile-refresh-token-Lp3Vw8Tn1"}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v1/headless/") {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Path != "/api/v1/headless/auth_token" {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			_, _ = fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"access_token_expires_at":%q,"refresh_token_expires_at":%q,"community_member_id":7,"community_id":1}`,
				h.access, h.refresh, time.Now().Add(time.Hour).UTC().Format(time.RFC3339), time.Now().Add(240*time.Hour).UTC().Format(time.RFC3339))
			return
		}
		h.mu.Lock()
		h.headers = append(h.headers, r.Header.Clone())
		h.urls = append(h.urls, r.URL.String())
		h.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hostile) calls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.headers)
}

func (h *hostile) last() (http.Header, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.headers[len(h.headers)-1], h.urls[len(h.urls)-1]
}
