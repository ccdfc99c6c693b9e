// Command notifications prints a member's count of new notifications as it
// changes, live, through Circle's real-time cable (package realtime): the
// count is read once through the Member API, then followed through the
// member's NotificationChannel, and read again after every reconnection
// (the events of a gap are lost).
//
// Without CIRCLE_APP_TOKEN it runs against an embedded fake Circle
// (package circletest), which plays a short scene (a notification
// arrives, the connection drops, the member reads everything) and exits.
// With it, it follows the real Circle until interrupted:
//
//	CIRCLE_APP_TOKEN    the community's Headless Auth app token
//	CIRCLE_MEMBER_EMAIL the member to follow (required with a token)
//	CIRCLE_ORIGIN       an origin the community allowed, such as
//	                    https://community.example.com (Circle's cable
//	                    refuses the others)
//	CIRCLE_BASE_URL     defaults to https://app.circle.so
//
// It never prints a token.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/realtime"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Stdout, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifications:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, getenv func(string) string) error {
	baseURL, appToken, email, origin := getenv("CIRCLE_BASE_URL"), getenv("CIRCLE_APP_TOKEN"), getenv("CIRCLE_MEMBER_EMAIL"), getenv("CIRCLE_ORIGIN")
	var fake *circletest.Server
	if appToken == "" {
		var err error
		if fake, err = circletest.NewServer(); err != nil {
			return err
		}
		defer fake.Close()
		baseURL, appToken, email = fake.URL(), fake.AppToken(), "ada@example.com"
		fake.AddMember(circletest.Member{Email: email})
		fake.SetResponse("getNewNotificationsCount", 200, map[string]any{"new_notifications_count": 2})
		fmt.Fprintf(out, "Circle: the embedded fake at %s; set CIRCLE_APP_TOKEN to use the real one\n", fake.URL())
	} else if email == "" {
		return errors.New("CIRCLE_MEMBER_EMAIL must name the member to follow when CIRCLE_APP_TOKEN is set")
	}
	if baseURL == "" {
		baseURL = circle.DefaultBaseURL
	}

	auth, err := circle.NewAuthClient(appToken, circle.WithBaseURL(baseURL))
	if err != nil {
		return err
	}
	member := auth.TokenSource(circle.ByEmail(email))
	api, err := auth.NewMemberClient(member)
	if err != nil {
		return err
	}
	opts := []realtime.Option{realtime.WithBaseURL(baseURL)}
	if origin != "" {
		opts = append(opts, realtime.WithOrigin(origin))
	}
	conn, err := realtime.Dial(ctx, member, opts...)
	if err != nil {
		return fmt.Errorf("connecting to the cable: %w", err)
	}
	defer func() { _ = conn.Close() }()

	// The count as it is now; the events say how it changes.
	count := func() (int, error) {
		r, err := api.GetNewNotificationsCountWithResponse(ctx)
		if err != nil {
			return 0, fmt.Errorf("reading the count: %w", err)
		}
		return r.JSON200.NewNotificationsCount, nil
	}
	n, err := count()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "member %d: %d new notifications\n", conn.MemberID(), n)

	if fake != nil {
		go scene(ctx, fake, conn.MemberID())
	}
	for event, err := range conn.Notifications(ctx) {
		if err != nil {
			return err // the connection ended for good
		}
		switch event.Name {
		case realtime.EventNewNotification:
			if note, err := event.Notification(); err == nil {
				fmt.Fprintf(out, "new notification from %s\n", note.ActorName)
			}
		case realtime.EventUpdateNewNotificationCount, realtime.EventResetNewNotificationCount:
			c, err := event.NotificationCount()
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "count: %d\n", c)
			if fake != nil && event.Name == realtime.EventResetNewNotificationCount {
				fmt.Fprintln(out, "done")
				return nil
			}
		case realtime.EventReconnected:
			n, err := count()
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "reconnected; count read again: %d\n", n)
		}
	}
	return ctx.Err()
}

// scene plays, on the fake, what Circle would send when a notification
// arrives, when the network fails, and when the member reads everything.
func scene(ctx context.Context, fake *circletest.Server, memberID int64) {
	subscribed := func() bool {
		for fake.CableConnections(memberID) != 1 || len(fake.CableSubscriptions(memberID)) != 1 {
			if ctx.Err() != nil {
				return false
			}
			time.Sleep(5 * time.Millisecond)
		}
		return true
	}
	if !subscribed() {
		return
	}
	fake.PublishEvent(memberID, "NotificationChannel", "newNotification", map[string]any{"id": 1, "actor_name": "Grace", "action": "mention"})
	fake.PublishEvent(memberID, "NotificationChannel", "updateNewNotificationCount", map[string]any{"new_notifications_count": 3})
	time.Sleep(50 * time.Millisecond)
	fake.SetResponse("getNewNotificationsCount", 200, map[string]any{"new_notifications_count": 4})
	fake.DropCableConnections() // the connection comes back by itself
	for welcomed(fake) < 2 {
		if ctx.Err() != nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !subscribed() {
		return
	}
	fake.PublishEvent(memberID, "NotificationChannel", "resetNewNotificationCount", map[string]any{"new_notifications_count": 0})
}

// welcomed counts the connections the fake's cable welcomed.
func welcomed(fake *circletest.Server) int {
	n := 0
	for _, h := range fake.CableHandshakes() {
		if h.Accepted {
			n++
		}
	}
	return n
}
