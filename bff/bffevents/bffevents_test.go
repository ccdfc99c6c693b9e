package bffevents_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/circlekit/headless-go/bff"
	"github.com/circlekit/headless-go/bff/bffevents"
	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
	"github.com/circlekit/headless-go/internal/syncbuf"
	"github.com/circlekit/headless-go/realtime"
)

// env is a bff handler with the events route on loopback, in front of a
// fake Circle with the members ada and grace.
type env struct {
	t          *testing.T
	fake       *circletest.Server
	auth       *circle.AuthClient
	h          *bff.Handler
	srv        *httptest.Server
	ada, grace int64
	logs       *syncbuf.Buffer
	client     *http.Client
}

const memberHeader = "X-Test-Member"

func newEnv(t *testing.T, maxMembers int, opts ...realtime.Option) *env {
	t.Helper()
	return newEnvWith(t, maxMembers, nil, opts...)
}

// newEnvWith is newEnv with more options of the bff handler.
func newEnvWith(t *testing.T, maxMembers int, bopts []bff.Option, opts ...realtime.Option) *env {
	t.Helper()
	fake := circletest.Start(t)
	ada := fake.AddMember(circletest.Member{Email: "ada@example.com"}).ID
	grace := fake.AddMember(circletest.Member{Email: "grace@example.com"}).ID
	auth, err := circle.NewAuthClient(fake.AppToken(), circle.WithBaseURL(fake.URL()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = auth.Close() })
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	identify := func(r *http.Request) (circle.Identity, error) {
		v := r.Header.Get(memberHeader)
		if v == "" {
			return circle.Identity{}, errors.New("no session")
		}
		return circle.ByEmail(v), nil
	}
	opts = append([]realtime.Option{realtime.WithReconnectBackoff(10*time.Millisecond, 50*time.Millisecond)}, opts...)
	bopts = append([]bff.Option{bff.WithLogger(logger), bffevents.Route(maxMembers, opts...)}, bopts...)
	h, err := bff.New(auth, identify, bopts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		_ = h.Close()
		srv.Close()
	})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	return &env{t: t, fake: fake, auth: auth, h: h, srv: srv, ada: ada, grace: grace, logs: logs, client: client}
}

// request is GET /circle/events as the front end sends it (signed in as
// email, with X-CSRF: 1) and the header pairs given ("" deletes one).
func (e *env) request(ctx context.Context, email string, hdr ...string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/circle/events", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("X-CSRF", "1")
	if email != "" {
		req.Header.Set(memberHeader, email)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	return req
}

// stream is an open event stream, read as it comes.
type stream struct {
	cancel context.CancelFunc
	resp   *http.Response
	mu     sync.Mutex
	text   bytes.Buffer
	events chan message
	done   chan struct{}
}

type message struct{ event, data string }

// open starts reading the member's stream; it fails the test unless the
// answer is 200 text/event-stream.
func (e *env) open(email string) *stream {
	e.t.Helper()
	return e.openQuery(email, "")
}

// openQuery is open with a query string (such as "channels=chat_rooms")
// after /circle/events.
func (e *env) openQuery(email, query string) *stream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req := e.request(ctx, email)
	req.URL.RawQuery = query
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		_ = resp.Body.Close()
		e.t.Fatalf("GET /circle/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{cancel: cancel, resp: resp, events: make(chan message, 64), done: make(chan struct{})}
	go s.read()
	e.t.Cleanup(s.close)
	return s
}

func (s *stream) read() {
	defer close(s.done)
	defer close(s.events)
	sc := bufio.NewScanner(s.resp.Body)
	var m message
	for sc.Scan() {
		line := sc.Text()
		s.mu.Lock()
		s.text.WriteString(line + "\n")
		s.mu.Unlock()
		switch {
		case line == "":
			if m.event != "" || m.data != "" {
				s.events <- m
			}
			m = message{}
		case strings.HasPrefix(line, "event: "):
			m.event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			m.data += line[len("data: "):]
		}
	}
}

// close ends the stream from the client's side.
func (s *stream) close() {
	s.cancel()
	_ = s.resp.Body.Close()
	<-s.done
}

// next returns the next message, failing the test after 10 s.
func (s *stream) next(t *testing.T) message {
	t.Helper()
	select {
	case m, ok := <-s.events:
		if !ok {
			t.Fatalf("the stream ended; it read %q", s.all())
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("no event within 10 s; the stream read %q", s.all())
	}
	return message{}
}

func (s *stream) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// subscribed waits until the member's NotificationChannel is subscribed
// at the fake, after which its events reach the stream.
func (e *env) subscribed(member int64) {
	e.t.Helper()
	waitFor(e.t, "the member's notifications are subscribed at the cable", func() bool {
		return len(e.fake.CableSubscriptions(member)) > 0
	})
}

// tokens are the member's current access and refresh tokens.
func (e *env) tokens(email string) []string {
	e.t.Helper()
	tok, err := e.auth.TokenSource(circle.ByEmail(email)).Token(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return []string{tok.AccessToken, tok.RefreshToken}
}

// A notification added in the fake reaches the browser's stream, typed
// by its name, with Circle's payload as its data; a dropped cable is told
// as "reconnected". The stream holds no token, and bff's log line of the
// stream names the member, the events and the end, without a token.
func TestEventsArrive(t *testing.T) {
	e := newEnv(t, 4)
	s := e.open("ada@example.com")
	e.subscribed(e.ada)

	n := e.fake.AddNotification(e.ada, memberv1.Notification{ActorName: "Grace Hopper", Action: "comment"})
	m := s.next(t)
	if m.event != realtime.EventNewNotification || !strings.Contains(m.data, `"actor_name":"Grace Hopper"`) {
		t.Errorf("first message %+v; want newNotification from Grace Hopper", m)
	}
	if want := `"id":` + itoa(int64(n.ID)); !strings.Contains(m.data, want) {
		t.Errorf("newNotification %s lacks %s", m.data, want)
	}
	m = s.next(t)
	if m.event != realtime.EventUpdateNewNotificationCount || m.data != `{"new_notifications_count":1}` {
		t.Errorf("second message %+v; want updateNewNotificationCount 1", m)
	}

	e.fake.DropCableConnections()
	m = s.next(t)
	if m.event != realtime.EventReconnected || m.data != "{}" {
		t.Errorf("after a drop: %+v; want reconnected {}", m)
	}
	e.fake.PublishEvent(e.ada, "NotificationChannel", realtime.EventResetNewNotificationCount, map[string]int{"new_notifications_count": 0})
	if m = s.next(t); m.event != realtime.EventResetNewNotificationCount {
		t.Errorf("after the reconnection: %+v; want resetNewNotificationCount", m)
	}

	text := s.all()
	s.close()
	for _, tok := range e.tokens("ada@example.com") {
		if strings.Contains(text, tok) {
			t.Error("the stream holds a token of the member")
		}
	}
	waitFor(t, "bff logs the stream's end", func() bool { return strings.Contains(e.logs.String(), "route=events") })
	logs := e.logs.String()
	for _, want := range []string{"route=events", "status=200", "member=" + itoa(e.ada), "events=4", "end=client"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s: %s", want, logs)
		}
	}
	for _, tok := range e.tokens("ada@example.com") {
		if strings.Contains(logs, tok) {
			t.Error("the log holds a token")
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A forged request, a cross-site one, one without a signed-in member and
// one of another method are refused before anything is dialled: the
// fake's cable sees no handshake.
func TestRefusedBeforeDialling(t *testing.T) {
	e := newEnv(t, 4)
	for _, c := range []struct {
		name   string
		method string
		email  string
		hdr    []string
		want   int
	}{
		{"no X-CSRF", http.MethodGet, "ada@example.com", []string{"X-CSRF", ""}, http.StatusForbidden},
		{"X-CSRF 0", http.MethodGet, "ada@example.com", []string{"X-CSRF", "0"}, http.StatusForbidden},
		{"cross-site", http.MethodGet, "ada@example.com", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"same-site", http.MethodGet, "ada@example.com", []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"not signed in", http.MethodGet, "", nil, http.StatusUnauthorized},
		{"not a member's identity", http.MethodGet, "not an email", nil, http.StatusUnauthorized},
		{"POST", http.MethodPost, "ada@example.com", nil, http.StatusMethodNotAllowed},
	} {
		req := e.request(context.Background(), c.email, c.hdr...)
		req.Method = c.method
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != c.want || resp.Header.Get("Content-Type") == "text/event-stream" {
			t.Errorf("%s: %d %s; want %d", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), c.want)
		}
	}
	if hs := e.fake.CableHandshakes(); len(hs) != 0 {
		t.Errorf("refused requests dialled the cable %d times", len(hs))
	}
	// The same request, signed in and with the header, does dial.
	e.open("ada@example.com")
	if hs := e.fake.CableHandshakes(); len(hs) != 1 || hs[0].MemberID != e.ada {
		t.Errorf("an accepted request made handshakes %+v; want one for ada", hs)
	}
}

// goroutinesBack waits until the process runs no more goroutines than
// before, failing the test after 10 s with their stacks.
func goroutinesBack(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A client that goes away ends the member's subscription at the cable;
// with no idle time the connection closes too, and no goroutine is left.
func TestClientGoingAwayEndsTheSubscription(t *testing.T) {
	e := newEnv(t, 4, realtime.WithIdleTimeout(0))
	// A first stream warms up what lives as long as the servers. (It is
	// closed once subscribed, so that its connection closes at once; one
	// never subscribed would wait realtime's first-use grace.)
	warm := e.open("grace@example.com")
	e.subscribed(e.grace)
	warm.close()
	waitFor(t, "grace's connection closes", func() bool { return e.fake.CableConnections(0) == 0 })
	before := runtime.NumGoroutine()

	s := e.open("ada@example.com")
	e.subscribed(e.ada)
	if e.fake.CableConnections(e.ada) != 1 {
		t.Fatalf("%d connections of ada; want 1", e.fake.CableConnections(e.ada))
	}
	if runtime.NumGoroutine() <= before {
		t.Fatal("an open stream runs no goroutine; the count proves nothing")
	}
	s.close()
	waitFor(t, "the subscription ends at the cable", func() bool { return len(e.fake.CableSubscriptions(e.ada)) == 0 })
	waitFor(t, "the connection closes", func() bool { return e.fake.CableConnections(e.ada) == 0 })
	goroutinesBack(t, before)
}

// With the pool's idle time the connection outlives the stream (the next
// page of the member reuses it); Handler.Close closes it, ends the
// streams still open, and leaves no goroutine.
func TestHandlerCloseEndsStreams(t *testing.T) {
	e := newEnv(t, 4)
	e.tokens("ada@example.com") // the AuthClient's connection to the fake outlives the test's streams
	before := runtime.NumGoroutine()
	first := e.open("ada@example.com")
	e.subscribed(e.ada)
	first.close()
	waitFor(t, "the subscription ends at the cable", func() bool { return len(e.fake.CableSubscriptions(e.ada)) == 0 })
	if n := e.fake.CableConnections(e.ada); n != 1 {
		t.Errorf("%d connections after the stream; want 1, kept for the idle time", n)
	}
	second := e.open("ada@example.com")
	e.subscribed(e.ada)
	if hs := e.fake.CableHandshakes(); len(hs) != 1 {
		t.Errorf("%d handshakes for two streams in a row; want 1", len(hs))
	}

	if err := e.h.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-second.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the stream is open after Close")
	}
	if !strings.Contains(second.all(), "event: error") {
		t.Errorf("the stream ended without an error event: %q", second.all())
	}
	waitFor(t, "the connection closes", func() bool { return e.fake.CableConnections(0) == 0 })
	resp, err := e.client.Do(e.request(context.Background(), "ada@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d; want 503", resp.StatusCode)
	}
	e.client.CloseIdleConnections()
	goroutinesBack(t, before)
}

// When every connection of the pool has a stream, another member is
// answered 503 with Retry-After before anything is streamed or dialled.
func TestPoolFull(t *testing.T) {
	e := newEnv(t, 1)
	e.open("ada@example.com")
	e.subscribed(e.ada)
	resp, err := e.client.Do(e.request(context.Background(), "grace@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("grace with the pool full: %d, Retry-After %q, %s %s; want 503 JSON with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), body)
	}
	for _, h := range e.fake.CableHandshakes() {
		if h.MemberID == e.grace {
			t.Error("grace's connection was dialled with the pool full")
		}
	}
	// ada's second tab shares her connection: no room needed.
	e.open("ada@example.com")
}

// An event that carries the member's token, in its data or its name, is
// not relayed: the stream ends without it.
func TestNoTokenReachesTheBrowser(t *testing.T) {
	e := newEnv(t, 4)
	for _, c := range []struct {
		email  string
		member int64
		event  func(toks []string) (name string, data any)
	}{
		{"ada@example.com", e.ada, func(toks []string) (string, any) {
			return realtime.EventNewNotification, map[string]string{"echo": "x" + toks[0] + "x"}
		}},
		{"grace@example.com", e.grace, func(toks []string) (string, any) {
			return "Bearer " + toks[1], map[string]string{}
		}},
	} {
		s := e.open(c.email)
		e.subscribed(c.member)
		toks := e.tokens(c.email)
		name, data := c.event(toks)
		e.fake.PublishEvent(c.member, "NotificationChannel", name, data)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the stream goes on after an event with the token: %q", c.email, s.all())
		}
		for _, tok := range toks {
			if strings.Contains(s.all(), tok) {
				t.Errorf("%s: a token reached the stream", c.email)
			}
		}
	}
	if n := strings.Count(e.logs.String(), "end=token_in_event"); n != 2 {
		t.Errorf("the log says token_in_event %d times; want 2: %s", n, e.logs.String())
	}
}

// A stream that ends for good (Circle refuses the member) says so in a
// last error event that holds a fixed kind and no token.
func TestErrorEventHoldsNoToken(t *testing.T) {
	e := newEnv(t, 4)
	s := e.open("ada@example.com")
	e.subscribed(e.ada)
	toks := e.tokens("ada@example.com")
	e.fake.SetCableUnauthorized(e.ada, true)
	e.fake.DropCableConnections()
	m := s.next(t)
	if m.event != "error" || m.data != `{"error":"unauthorized"}` {
		t.Errorf("after Circle refused the member: %+v; want error unauthorized", m)
	}
	<-s.done
	for _, tok := range append(toks, e.tokens("ada@example.com")...) {
		if strings.Contains(s.all(), tok) {
			t.Error("a token reached the stream")
		}
	}
}

// bff's logout ends the member's open streams (one of them with both
// channels), each with a last error event "signed_out", before it
// revokes the tokens; another member's stream goes on.
func TestLogoutEndsTheMemberStreams(t *testing.T) {
	e := newEnv(t, 4)
	tabs := []*stream{e.open("ada@example.com"), e.openQuery("ada@example.com", "channels=notifications,chat_rooms")}
	other := e.open("grace@example.com")
	waitFor(t, "ada's channels are subscribed", func() bool { return len(e.fake.CableSubscriptions(e.ada)) == 2 })
	e.subscribed(e.grace)

	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, e.srv.URL+"/circle/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-CSRF", "1")
	req.Header.Set(memberHeader, "ada@example.com")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	for i, s := range tabs {
		if m := s.next(t); m.event != "error" || m.data != `{"error":"signed_out"}` {
			t.Errorf("ada's tab %d after logout: %+v; want error signed_out", i, m)
		}
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("ada's tab %d is open after logout", i)
		}
	}
	e.fake.PublishEvent(e.grace, "NotificationChannel", realtime.EventResetNewNotificationCount, map[string]int{"new_notifications_count": 0})
	if m := other.next(t); m.event != realtime.EventResetNewNotificationCount {
		t.Errorf("grace's stream after ada's logout: %+v", m)
	}
}

// mints counts the createMemberToken calls the fake answered.
func (e *env) mints() int {
	n := 0
	for _, r := range e.fake.Requests() {
		if r.OperationID == "createMemberToken" {
			n++
		}
	}
	return n
}

// After the member's tokens were revoked other than by bff's logout (the
// host calling Revoke, another replica), the token guard scanning an event
// makes Circle mint nothing: it looks for the tokens it took, and does
// not ask the source for new ones.
func TestTokenGuardMintsNothingAfterARevoke(t *testing.T) {
	e := newEnv(t, 4)
	s := e.open("ada@example.com")
	e.subscribed(e.ada)
	toks := e.tokens("ada@example.com")
	if err := e.auth.TokenSource(circle.ByEmail("ada@example.com")).Revoke(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := e.mints()
	e.fake.PublishEvent(e.ada, "NotificationChannel", realtime.EventResetNewNotificationCount, map[string]int{"new_notifications_count": 0})
	if m := s.next(t); m.event != realtime.EventResetNewNotificationCount {
		t.Fatalf("after the revoke: %+v", m)
	}
	if n := e.mints() - before; n != 0 {
		t.Errorf("relaying one event after a revoke minted %d tokens; want 0", n)
	}
	// The tokens taken are still looked for, escaped as JSON writes them.
	e.fake.PublishEvent(e.ada, "NotificationChannel", realtime.EventNewNotification, map[string]string{"echo": strings.ReplaceAll(toks[0], ".", `\u002e`)})
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the stream goes on after an event with the token: %q", s.all())
	}
	if !strings.Contains(e.logs.String(), "end=token_in_event") {
		t.Errorf("the log does not say token_in_event: %s", e.logs.String())
	}
}

// gate is a TCP relay on loopback in front of the fake's cable that holds
// back the fake's answer to the first connection until released: a dial
// whose handshake the fake accepted, not yet finished.
type gate struct {
	ln       net.Listener
	target   atomic.Value // the fake's host:port
	answered chan struct{}
	release  chan struct{}
	once     sync.Once
}

func newGate(t *testing.T) *gate {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, answered: make(chan struct{}), release: make(chan struct{})}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		g.once.Do(func() { close(g.release) })
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { g.relay(c) })
		}
	})
	return g
}

func (g *gate) url() string { return "http://" + g.ln.Addr().String() }

func (g *gate) relay(c net.Conn) {
	defer func() { _ = c.Close() }()
	up, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", g.target.Load().(string))
	if err != nil {
		return
	}
	copied := make(chan struct{})
	defer func() {
		_ = up.Close()
		_ = c.Close()
		<-copied
	}()
	go func() {
		defer close(copied)
		_, _ = io.Copy(up, c)
	}()
	buf := make([]byte, 32<<10)
	n, err := up.Read(buf)
	if err != nil {
		return
	}
	select {
	case <-g.answered:
	default:
		close(g.answered)
	}
	<-g.release
	if _, err := c.Write(buf[:n]); err != nil {
		return
	}
	_, _ = io.Copy(c, up)
}

// A logout while the member's connection is being dialled is not missed:
// the stream is answered 401 instead of starting.
func TestLogoutDuringTheDialRefusesTheStream(t *testing.T) {
	g := newGate(t)
	e := newEnv(t, 4, realtime.WithBaseURL(g.url()))
	u, err := url.Parse(e.fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	g.target.Store(u.Host)
	type answer struct {
		status int
		ct     string
		err    error
	}
	answers := make(chan answer, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		resp, err := e.client.Do(e.request(ctx, "ada@example.com"))
		if err != nil {
			answers <- answer{err: err}
			return
		}
		answers <- answer{status: resp.StatusCode, ct: resp.Header.Get("Content-Type")}
		cancel() // a stream that started ends here
		_ = resp.Body.Close()
	}()
	select {
	case <-g.answered: // the fake accepted the handshake; its answer is held
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake at the fake")
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, e.srv.URL+"/circle/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-CSRF", "1")
	req.Header.Set(memberHeader, "ada@example.com")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	g.once.Do(func() { close(g.release) })
	a := <-answers
	if a.err != nil {
		t.Fatal(a.err)
	}
	if a.status != http.StatusUnauthorized {
		t.Errorf("a stream whose dial a logout overlapped: %d %s; want 401", a.status, a.ct)
	}
}
