package realtime_test

// The README's "Real time" section quotes this example; the test
// TestReadmeSnippets at the root of the module checks that its snippet is
// here, word for word, so that it compiles.

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/realtime"
)

// The README's real-time snippet, against the real Circle. It needs an app
// token and an allowed origin, so it is compiled but not run;
// examples/notifications runs the same against a fake Circle.
func Example_readme() {
	ctx := context.Background()
	auth, err := circle.NewAuthClient(os.Getenv("CIRCLE_APP_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	member := auth.TokenSource(circle.ByEmail("ada@example.com"))

	// One connection for the member; the Origin must be one the
	// community allowed.
	conn, err := realtime.Dial(ctx, member, realtime.WithOrigin("https://community.example.com"))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = conn.Close() }()

	// Reconnects, renewals and pings are the connection's business: the
	// loop sees events, and an error only when it ends for good.
	for event, err := range conn.Notifications(ctx) {
		if err != nil {
			log.Fatal(err) // ErrUnauthorized, ErrSlowConsumer, ...
		}
		switch event.Name {
		case realtime.EventUpdateNewNotificationCount, realtime.EventResetNewNotificationCount:
			n, _ := event.NotificationCount()
			fmt.Println("new notifications:", n)
		case realtime.EventNewNotification:
			note, _ := event.Notification()
			fmt.Println("from", note.ActorName)
		case realtime.EventReconnected:
			// Events of the gap are lost: refetch through the Member API.
		}
	}
}
