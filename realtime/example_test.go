package realtime_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/realtime"
)

// A member's live notification count, from the fake Circle of package
// circletest; against Circle, leave out WithBaseURL and set WithOrigin to
// one of the community's allowed domains.
func ExampleDial() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	conn, err := realtime.Dial(ctx, auth.TokenSource(circle.ByEmail(ada.Email)), realtime.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = conn.Close() }()

	// What Circle would send when a notification arrives.
	go func() {
		for len(srv.CableSubscriptions(ada.ID)) == 0 {
			time.Sleep(time.Millisecond)
		}
		srv.PublishEvent(ada.ID, "NotificationChannel", "updateNewNotificationCount", map[string]any{"new_notifications_count": 3})
	}()

	for event, err := range conn.Notifications(ctx) {
		if err != nil {
			log.Fatal(err) // the connection ended for good
		}
		switch event.Name {
		case realtime.EventUpdateNewNotificationCount, realtime.EventResetNewNotificationCount:
			n, err := event.NotificationCount()
			if err != nil {
				log.Fatal(err)
			}
			fmt.Println("new notifications:", n)
		case realtime.EventReconnected:
			// Events may have been missed: refetch the count through the
			// Member API.
		}
		break // one is enough here
	}
	// Output: new notifications: 3
}

// Many members in one process: one connection per member, opened on
// demand, closed a minute after its last subscription ends.
func ExamplePool() {
	srv, err := circletest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		log.Fatal(err)
	}
	pool := realtime.NewPool(10_000, realtime.WithBaseURL(srv.URL()))
	defer func() { _ = pool.Close() }()

	for _, email := range []string{"ada@example.com", "grace@example.com"} {
		srv.AddMember(circletest.Member{Email: email})
		// A handler of the member's request would do this, keyed by
		// however the site knows its member.
		conn, err := pool.Conn(context.Background(), email, auth.TokenSource(circle.ByEmail(email)))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(email, "is member", conn.MemberID())
	}
	fmt.Println("connections:", pool.Len())
	// Output:
	// ada@example.com is member 1
	// grace@example.com is member 2
	// connections: 2
}
