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
	// Start is called once by bff.New. It returns the route's serve
	// function, which returns attributes added to bff's log line of the
	// request, and what closes the route's resources when the handler is
	// closed (nil when there are none).
	Start func(Env) (serve func(http.ResponseWriter, *http.Request, *circle.MemberTokenSource) []slog.Attr, closer func() error, err error)
}

// Env is what bff hands a route when it starts.
type Env struct {
	// BaseURL is Circle's base URL, the AuthClient's.
	BaseURL string
	// WriteError answers status with bff's JSON error body.
	WriteError func(w http.ResponseWriter, status int, kind, msg string)
}

// Option turns a Route into a bff.Option (returned as any, since this
// package cannot import bff). Package bff sets it when it initialises.
var Option func(Route) any
