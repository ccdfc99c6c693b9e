package realtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/realtime"
)

// settle waits until the goroutines number at most want, and returns the
// count.
func settle(want int) int {
	deadline := time.Now().Add(wait)
	for {
		runtime.GC()
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNoGoroutineLeftAfterTheLoop(t *testing.T) {
	f := newFixture(t)
	// Warm up: one full cycle, so that pools and the HTTP transport have
	// what they keep for good before the count.
	warm := f.dial(t)
	_ = warm.Close()
	waitFor(t, "the warm-up socket to close", func() bool { return f.srv.CableConnections(0) == 0 })
	time.Sleep(50 * time.Millisecond)
	base := runtime.NumGoroutine()

	for i, stop := range []string{"break", "context", "close"} {
		c, err := realtime.Dial(t.Context(), f.ts, f.options()...)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			waitFor(t, "the subscription", func() bool { return len(f.srv.CableSubscriptions(f.member.ID)) == 1 })
			f.srv.PublishEvent(f.member.ID, "NotificationChannel", "updateNewNotificationCount", map[string]any{"new_notifications_count": i})
		}()
		for _, err := range c.Notifications(ctx) {
			if err != nil {
				if stop == "close" && errors.Is(err, realtime.ErrClosed) {
					break
				}
				t.Fatal(err)
			}
			if stop == "break" {
				break
			}
			if stop == "context" {
				cancel()
			} else {
				_ = c.Close()
			}
		}
		cancel()
		if got := settle(base); got > base {
			buf := make([]byte, 1<<20)
			t.Fatalf("%s: %d goroutines, %d before:\n%s", stop, got, base, buf[:runtime.Stack(buf, true)])
		}
		if n := f.srv.CableConnections(0); n != 0 {
			t.Fatalf("%s: %d cable connections still open", stop, n)
		}
		_ = c.Close()
	}
}

func TestSlowConsumerDoesNotGrowTheHeap(t *testing.T) {
	f := newFixture(t)
	const buffer = 64
	c := f.dial(t, realtime.WithBufferSize(buffer))
	release := make(chan struct{})
	result := make(chan error, 1)
	got := 0
	go func() {
		for _, err := range c.Notifications(t.Context()) {
			if err != nil {
				result <- err
				return
			}
			got++
			if got == 1 {
				<-release // the consumer stops reading
			}
		}
		result <- errors.New("the loop ended without an error")
	}()
	// A second subscription, read at once: a marker sent on it after the
	// flood tells when the client has read every frame of the flood (the
	// cable keeps their order), so that the fake's queue is empty when
	// the heap is measured.
	marks := consume(c.ChatRooms(t.Context()))
	f.subscribed(t, 2)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// 2,000 events of 4 KiB: 8 MiB, 30 times the buffer.
	payload := map[string]any{"new_notifications_count": 1, "padding": strings.Repeat("p", 4<<10)}
	for i := range 2000 {
		f.srv.PublishEvent(f.member.ID, "NotificationChannel", "updateNewNotificationCount", payload)
		if i%100 == 99 {
			time.Sleep(5 * time.Millisecond) // let the fake's writer keep up
		}
	}
	f.srv.PublishEvent(f.member.ID, "ChatRoomChannel", "chatRoomRead", map[string]any{"id": 1})
	if e := nextEvent(t, marks); e.Name != realtime.EventChatRoomRead {
		t.Fatalf("marker: got %q", e.Name)
	}
	if n := f.srv.CableConnections(f.member.ID); n != 1 {
		t.Fatalf("%d connections: the fake dropped the client as too slow, which proves nothing", n)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// The bound: the buffer's 64 events of about 4 KiB each, 256 KiB;
	// 2 MiB leaves room for the fake's own state.
	t.Logf("heap grew by %d KiB while 8 MiB of events went unread (bound: %d events)", grown/1024, buffer)
	if grown > 2<<20 {
		t.Errorf("heap grew by %d bytes", grown)
	}
	close(release)
	select {
	case err := <-result:
		if !errors.Is(err, realtime.ErrSlowConsumer) {
			t.Fatalf("got %v, want ErrSlowConsumer", err)
		}
	case <-time.After(wait):
		t.Fatal("the consumer got no error")
	}
	if got > buffer+1 {
		t.Errorf("the consumer read %d events, more than the buffer holds", got)
	}
}

func TestNoTokenInErrorsOrLogs(t *testing.T) {
	f := newFixture(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tok, err := f.ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	// A refused Origin.
	f.srv.SetAllowedOrigins("https://ok.example")
	_, err = realtime.Dial(t.Context(), f.ts, f.options(realtime.WithLogger(logger))...)
	errs = append(errs, err)
	f.srv.SetAllowedOrigins()
	// A refused token, twice.
	c := f.dial(t, realtime.WithLogger(logger))
	events := consume(c.Notifications(t.Context()))
	f.subscribed(t, 1)
	f.srv.DropCableConnections()
	nextEvent(t, events)
	f.srv.SetCableUnauthorized(f.member.ID, true)
	f.srv.DisconnectCable(f.member.ID, "unauthorized", false)
	errs = append(errs, next(t, events).err)
	// A static token that the cable does not know.
	bogus := circle.Token{AccessToken: "bogus-access-token-0123456789", CommunityMemberID: f.member.ID}
	_, err = realtime.Dial(t.Context(), circle.StaticTokenSource(bogus), f.options(realtime.WithLogger(logger))...)
	errs = append(errs, err)
	// A cable that is not there.
	_, err = realtime.Dial(t.Context(), f.ts, realtime.WithCableURL("ws://127.0.0.1:1/cable"), realtime.WithHandshakeTimeout(time.Second))
	errs = append(errs, err)

	secrets := []string{tok.AccessToken, tok.RefreshToken, bogus.AccessToken}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v %#v %v", err, err, err)} {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("case %d: the error shows a token: %s", i, text)
				}
			}
		}
	}
	shown := fmt.Sprintf("%v %+v %#v %s", c, c, c, c)
	for _, s := range secrets {
		if strings.Contains(logs.String(), s) || strings.Contains(shown, s) {
			t.Errorf("a token shows in the logs or in the Conn's formatting")
		}
	}
	if logs.Len() == 0 {
		t.Error("nothing was logged: the check above saw nothing")
	}
}

func TestTheTokenGoesToTheCableOnly(t *testing.T) {
	var leaked atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Add(1)
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	defer elsewhere.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/cable", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	ts := circle.StaticTokenSource(circle.Token{AccessToken: "access-token-never-to-leave", CommunityMemberID: 1})
	_, err := realtime.Dial(t.Context(), ts, realtime.WithBaseURL(redirector.URL), realtime.WithHTTPClient(&http.Client{}))
	if err == nil {
		t.Fatal("a redirect was followed to a connection")
	}
	if leaked.Load() != 0 {
		t.Fatal("the token reached another origin through a redirect")
	}
	if strings.Contains(err.Error(), "access-token-never-to-leave") {
		t.Fatal("the error shows the token")
	}
}
