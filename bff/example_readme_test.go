package bff_test

// The README's "Front ends" section quotes this file; TestReadmeSnippets
// at the root of the module checks that it does word for word.

import (
	"errors"
	"log"
	"net/http"
	"os"

	"github.com/circlekit/headless-go/bff"
	"github.com/circlekit/headless-go/circle"
)

// sessionEmail stands for the site's own session lookup (a cookie, a JWT).
func sessionEmail(r *http.Request) (string, bool) {
	c, err := r.Cookie("session")
	return c.String(), err == nil
}

// The README's "Front ends": bff mounted next to a site's own session.
// It needs an app token, so it is compiled but not run.
func Example_frontEnds() {
	// One budget for the whole process: Circle allows 2,000 requests per
	// 5 minutes per IP address; 200 at once, then 6 a second, stays
	// within it (200 + 300*6 = 2,000).
	auth, err := circle.NewAuthClient(os.Getenv("CIRCLE_APP_TOKEN"), circle.WithRateLimit(6, 200))
	if err != nil {
		log.Fatal(err)
	}
	// identify is the site's own session: bff never makes one.
	identify := func(r *http.Request) (circle.Identity, error) {
		email, ok := sessionEmail(r)
		if !ok {
			return circle.Identity{}, errors.New("not signed in")
		}
		return circle.ByEmail(email), nil
	}
	proxy, err := bff.New(auth, identify) // bff.WithTokenEndpoint() for token-mediating mode
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/circle/", proxy) // /circle/api/headless/v1/..., /circle/logout
	mux.Handle("/", http.FileServer(http.Dir("public")))
	log.Fatal(http.ListenAndServe("localhost:8080", mux))
}
