package sse_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/internal/sse"
	"github.com/circlekit/headless-go/realtime"
)

const wait = 15 * time.Second

// reader reads an event stream line by line.
type reader struct {
	t     *testing.T
	lines chan string
}

func get(ctx context.Context, t *testing.T, url string) *reader {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req) //nolint:bodyclose // the reading goroutine closes it
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %q", resp.StatusCode, ct)
	}
	r := &reader{t: t, lines: make(chan string, 1024)}
	go func() {
		defer close(r.lines)
		defer func() { _ = resp.Body.Close() }()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			r.lines <- sc.Text()
		}
	}()
	return r
}

// until reads lines until want, failing after wait.
func (r *reader) until(want string) {
	r.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case l, ok := <-r.lines:
			if !ok {
				r.t.Fatalf("the stream ended before %q", want)
			}
			if l == want {
				return
			}
		case <-timeout:
			r.t.Fatalf("no %q within the wait", want)
		}
	}
}

func TestStreamRelaysAMembersEvents(t *testing.T) {
	srv := circletest.Start(t)
	srv.SetCablePingInterval(50 * time.Millisecond)
	m := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := realtime.Dial(t.Context(), auth.TokenSource(circle.ByEmail(m.Email)), realtime.WithBaseURL(srv.URL()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()

	ended := make(chan error, 1)
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ended <- sse.Stream(w, r, func(ctx context.Context) iter.Seq2[realtime.Event, error] {
			return conn.Notifications(ctx)
		}, sse.RealtimeEvent, sse.Options{Retry: 2 * time.Second})
	}))
	defer h.Close()

	ctx, leave := context.WithCancel(t.Context())
	r := get(ctx, t, h.URL)
	r.until("retry: 2000")
	for len(srv.CableSubscriptions(m.ID)) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.PublishEvent(m.ID, "NotificationChannel", "updateNewNotificationCount", map[string]any{"new_notifications_count": 4})
	r.until("event: updateNewNotificationCount")
	r.until(`data: {"new_notifications_count":4}`)
	srv.DropCableConnections()
	r.until("event: reconnected")
	r.until("data: {}")

	// The browser leaves: the handler returns, and the subscription ends,
	// which closes the cable's socket.
	leave()
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("Stream: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Stream did not return when the client left")
	}
	deadline := time.Now().Add(wait)
	for srv.CableConnections(m.ID) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the cable's socket stayed open")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHeartbeatsAndTheEndOfTheIterator(t *testing.T) {
	stopped := make(chan struct{})
	ended := make(chan error, 1)
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ended <- sse.Stream(w, r, func(ctx context.Context) iter.Seq2[string, error] {
			return func(func(string, error) bool) {
				defer close(stopped)
				<-ctx.Done() // nothing to say until the client leaves
			}
		}, func(s string) (sse.Message, error) { return sse.Message{Data: []byte(s)}, nil },
			sse.Options{Heartbeat: 20 * time.Millisecond})
	}))
	defer h.Close()
	ctx, leave := context.WithCancel(t.Context())
	r := get(ctx, t, h.URL)
	r.until(": heartbeat")
	r.until(": heartbeat")
	leave()
	select {
	case <-stopped:
	case <-time.After(wait):
		t.Fatal("the iterator's context did not end")
	}
	if err := <-ended; err != nil {
		t.Fatal(err)
	}
}

func TestAnIteratorErrorEndsWithAnErrorEvent(t *testing.T) {
	secret := errors.New("upstream said something private")
	ended := make(chan error, 1)
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ended <- sse.Stream(w, r, func(context.Context) iter.Seq2[string, error] {
			return func(yield func(string, error) bool) {
				if yield("one\ntwo\r\nthree", nil) {
					yield("", secret)
				}
			}
		}, func(s string) (sse.Message, error) {
			return sse.Message{Event: "multi\nline", ID: "7\r", Data: []byte(s)}, nil
		}, sse.Options{})
	}))
	defer h.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, h.URL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	want := ": stream\n\nid: 7\nevent: multiline\ndata: one\ndata: two\ndata: three\n\nevent: error\ndata: {\"error\":\"stream ended\"}\n\n"
	if body.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", body.String(), want)
	}
	if err := <-ended; !errors.Is(err, secret) {
		t.Fatalf("Stream returned %v", err)
	}
	if strings.Contains(body.String(), "private") {
		t.Fatal("the error's text reached the client")
	}
}

// noFlush is a ResponseWriter that cannot flush.
type noFlush struct{ h http.Header }

func (n *noFlush) Header() http.Header         { return n.h }
func (n *noFlush) Write(p []byte) (int, error) { return len(p), nil }
func (n *noFlush) WriteHeader(int)             {}

func TestAWriterThatCannotFlush(t *testing.T) {
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	err := sse.Stream(&noFlush{h: http.Header{}}, r, func(context.Context) iter.Seq2[string, error] {
		return func(func(string, error) bool) {}
	}, func(string) (sse.Message, error) { return sse.Message{}, nil }, sse.Options{})
	if !errors.Is(err, sse.ErrNoFlush) {
		t.Fatalf("got %v", err)
	}
}
