// Package feedhandler is an example of a community website's own code built
// on headless-go: an HTTP handler that shows the signed-in member's home feed.
// Its test, feedhandler_test.go, shows how to test such code against the
// fake Circle of package circletest.
package feedhandler

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// Handler answers GET /feed with the titles of the first page of the home
// feed of the member named by the X-Member-Email header (a stand-in for the
// site's own session).
type Handler struct {
	// Auth mints and caches the members' tokens.
	Auth *circle.AuthClient
	// API is one Member API client shared by every member.
	API *memberv1.ClientWithResponses
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	email := r.Header.Get("X-Member-Email")
	if email == "" {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	// Name the member of this call in its context.
	ctx := circle.WithTokenSource(r.Context(), h.Auth.TokenSource(circle.ByEmail(email)))
	feed, err := h.API.ListHomePostsWithResponse(ctx, nil)
	switch {
	case errors.Is(err, circle.ErrNotFound):
		http.Error(w, "unknown member", http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, "Circle is unavailable", http.StatusBadGateway)
		return
	}
	titles := []string{}
	for _, p := range feed.JSON200.Records {
		if p.Name != "" {
			titles = append(titles, p.Name)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(titles)
}
