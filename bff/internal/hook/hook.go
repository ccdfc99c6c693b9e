// Package hook lets a package beside bff (such as bff/bffevents) add a
// route to bff's handler without bff importing it, so that a program that
// does not use that route does not link what it needs (bffevents links
// package realtime and its WebSocket library).
package hook

import (
	"log/slog"
	"net/http"

	"github.com/circlekit/headless-go/circle"
)

// Route is a route beside the Member API, at <prefix><Path>. bff runs
// what it runs for its own routes (the anti-forgery check, the method
// check, then identify) before Serve.
type Route struct {
	Path   string // such as "/events"
	Method string
	Name   string // for bff's log line
	// Start is called once by bff.New, with what the handler knows.
	Start func(Env) (Started, error)
}

// Started is a route ready to serve.
type Started struct {
	// Serve answers a request that passed bff's checks, for the member of
	// src, and returns attributes for bff's log line of the request.
	Serve func(w http.ResponseWriter, r *http.Request, src *circle.MemberTokenSource) []slog.Attr
	// Close releases the route's resources when the handler is closed;
	// nil when there are none.
	Close func() error
	// SignedOut, when not nil, is called by bff's logout route for its
	// member before the member's tokens are revoked.
	SignedOut func(src *circle.MemberTokenSource)
}

// Env is what bff hands a route when it starts.
type Env struct {
	// BaseURL is Circle's base URL, the AuthClient's.
	BaseURL string
	// WriteError answers status with bff's JSON error body.
	WriteError func(w http.ResponseWriter, status int, kind, msg string)
	// Check is the handler's operation check (bff.WithOperationCheck),
	// or nil when it has none.
	Check func(r *http.Request, operationID string) error
}

// Option turns a Route into a bff.Option (returned as any, since this
// package cannot import bff). Package bff sets it when it initialises.
var Option func(Route) any
