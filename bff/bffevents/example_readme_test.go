package bffevents_test

// The README's "Front ends" section quotes this file; TestReadmeSnippets
// at the root of the module checks that it does word for word.

import (
	"errors"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/circlekit/headless-go/bff"
	"github.com/circlekit/headless-go/bff/bffevents"
	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/realtime"
)

// sessionEmail stands for the site's own session lookup (a cookie, a JWT).
func sessionEmail(r *http.Request) (string, bool) {
	c, err := r.Cookie("session")
	return c.String(), err == nil
}

// The README's "Front ends": bff with the events route. It needs an app
// token, so it is compiled but not run.
func Example_relayedToBrowsers() {
	auth, err := circle.NewAuthClient(os.Getenv("CIRCLE_APP_TOKEN"), circle.WithRateLimit(6, 200))
	if err != nil {
		log.Fatal(err)
	}
	identify := func(r *http.Request) (circle.Identity, error) {
		email, ok := sessionEmail(r)
		if !ok {
			return circle.Identity{}, errors.New("not signed in")
		}
		return circle.ByEmail(email), nil
	}
	proxy, err := bff.New(auth, identify,
		// GET /circle/events: the member's notification events (and,
		// with ?channels=notifications,chat_rooms, their chat's) as
		// Server-Sent Events, through at most 1,000 members' cable
		// connections at once. The Origin must be one the community
		// allowed.
		bffevents.Route(1000, realtime.WithOrigin("https://community.example.com")))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/circle/", proxy)
	// No WriteTimeout: it would cut the streams.
	srv := &http.Server{Addr: "localhost:8080", Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	// Close ends the streams and the members' cable connections;
	// Shutdown would wait for open streams otherwise.
	srv.RegisterOnShutdown(func() { _ = proxy.Close() })
	log.Fatal(srv.ListenAndServe())
}
