// Package bff is a backend-for-frontend for Circle's Member API: an
// http.Handler that a community's Go backend mounts next to its own
// session, so that the community's browser front end calls the Member API
// on its own origin while the member's tokens stay on the server.
//
// The handler serves, under its prefix ("/circle" by default, see
// [WithPrefix]):
//
//   - <prefix>/api/headless/v1/... : the Member API, on behalf of the
//     member the host application's identify function names. The path and
//     method must be those of an operation of the project's Member API
//     spec (the route table is generated from it); the handler rebuilds
//     the call to Circle's base URL from the matched operation, attaches
//     the member's access token through package circle (same token
//     sources, retries, replay on 401, redirect guard, size limits and
//     rate limit as the rest of the SDK) and streams the answer back.
//   - GET <prefix>/token : the member's current access token, its expiry
//     and the member and community ids, for a front end that calls Circle
//     itself (token-mediating mode). Off unless [WithTokenEndpoint]. The
//     refresh token never leaves the server.
//   - POST <prefix>/logout : revokes the member's access and refresh
//     tokens at Circle and answers 204, having first ended the member's
//     event streams, if any. The host application ends its own session
//     too: bff never creates or ends sessions.
//   - GET <prefix>/events : the member's notification events (and,
//     when asked, their chat's) as Server-Sent Events. Off unless the option of package
//     [github.com/circlekit/headless-go/bff/bffevents] turns it on, so
//     that a program without it does not link package realtime and its
//     WebSocket library.
//
// Every route refuses, before anything else, a request without the
// anti-forgery header "X-CSRF: 1" ([WithAntiForgeryHeader] names another)
// and a request whose Sec-Fetch-Site header says it comes from another
// site. A custom header makes a browser ask a cross-origin server first
// (a CORS preflight), and the handler never answers with an
// Access-Control-Allow-* header, so a page of another origin can neither
// send such a request nor read an answer. Headers pass through
// allow-lists in both directions: the browser's Cookie, Authorization,
// X-Forwarded-* and hop-by-hop headers never reach Circle, and Circle's
// Set-Cookie never reaches the browser.
//
// Failures are JSON bodies {"error": kind, "message": text} that never
// name a token: 401 when identify fails or the member has no access to
// Circle, 403 for a refused request, 404 or 405 for what is no operation
// of the spec, 413 for a body over the limit, 429 with Retry-After when
// the rate limit's wait would be too long, 502 when Circle cannot be
// reached or answers 5xx, 504 on a timeout. Circle's own 4xx answers pass
// through with their bodies. An answer that fails once its status is sent
// (a body over the size limit, one that carries the member's token) cuts
// the connection by panicking with http.ErrAbortHandler, as
// httputil.ReverseProxy does, so that the browser never takes a short
// answer for a whole one.
package bff

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/circlekit/headless-go/bff/internal/hook"
	"github.com/circlekit/headless-go/circle"
)

// Defaults of the options.
const (
	// DefaultPrefix is where the handler is mounted; see [WithPrefix].
	DefaultPrefix = "/circle"
	// DefaultMaxBodySize is the largest request body proxied; see
	// [WithMaxBodySize].
	DefaultMaxBodySize = 1 << 20
	// DefaultAntiForgeryHeader is the header every request must carry
	// with the value "1"; see [WithAntiForgeryHeader].
	DefaultAntiForgeryHeader = "X-CSRF"
	// DefaultTimeout bounds one proxied call, retries included; see
	// [WithTimeout].
	DefaultTimeout = 30 * time.Second
	// DefaultMaxRateWait is the longest a call waits for the rate limit's
	// budget before the handler answers 429; see [WithMaxRateWait].
	DefaultMaxRateWait = 2 * time.Second
)

// Handler is the backend-for-frontend: an http.Handler serving the
// Member API proxy, the optional token endpoint and logout under its
// prefix. Create one with [New]. It is safe for concurrent use.
type Handler struct {
	auth     *circle.AuthClient
	identify func(*http.Request) (circle.Identity, error)
	client   *http.Client
	base     string // Circle's base URL, without a trailing slash
	o        options
	// extra are the routes beside the Member API, by the path after the
	// prefix ("/token", "/logout"). Each gets what every route gets (the
	// anti-forgery check, then the method check, then identify) before
	// its serve function runs with the member's token source; a new
	// route (Server-Sent Events, say) is one more entry.
	extra map[string]extraRoute
	// closers release what the routes of other packages hold (the
	// events route's connections); Close calls them.
	closers []func() error
	// signedOut are told of a member's logout (the events route ends
	// the member's streams).
	signedOut []func(*circle.MemberTokenSource)
}

// extraRoute is a route beside the Member API. serve returns attributes
// for the request's log line (none for bff's own routes).
type extraRoute struct {
	method string
	name   string // for the log line
	serve  func(w http.ResponseWriter, r *http.Request, src *circle.MemberTokenSource) []slog.Attr
}

// options are what the Options set.
type options struct {
	prefix        string
	tokenEndpoint bool
	maxBody       int64
	csrfHeader    string
	logger        *slog.Logger
	check         func(r *http.Request, operationID string) error
	timeout       time.Duration
	maxRateWait   time.Duration
	routes        []hook.Route // added by other packages (bffevents)
}

func init() {
	// A package beside bff turns its route into an Option through hook,
	// which cannot import bff.
	hook.Option = func(rt hook.Route) any {
		return Option(func(o *options) error {
			if rt.Path == "" || rt.Start == nil {
				return errors.New("bff: an option adds an incomplete route")
			}
			for _, have := range o.routes {
				if have.Path == rt.Path {
					return fmt.Errorf("bff: the route %s is added twice", rt.Path)
				}
			}
			o.routes = append(o.routes, rt)
			return nil
		})
	}
}

// An Option configures [New].
type Option func(*options) error

// WithPrefix sets the path the handler is mounted at, such as "/circle"
// (the default) or "/api/circle": it serves <prefix>/api/headless/v1/...,
// <prefix>/token and <prefix>/logout, and answers 404 to anything else.
// Mount it without stripping the prefix, e.g. mux.Handle("/circle/", h).
// The prefix starts with '/', does not end with one, and holds letters,
// digits, '-', '_' and '/' only.
func WithPrefix(prefix string) Option {
	return func(o *options) error {
		if prefix == "" || prefix[0] != '/' || strings.HasSuffix(prefix, "/") || !cleanTarget(prefix) {
			return fmt.Errorf("bff: WithPrefix: %q is not a path such as /circle", prefix)
		}
		for _, c := range prefix {
			if !isPrefixChar(c) {
				return fmt.Errorf("bff: WithPrefix: %q holds %q", prefix, c)
			}
		}
		o.prefix = prefix
		return nil
	}
}

// WithTokenEndpoint turns on GET <prefix>/token, which answers the
// member's current access token as JSON ({"access_token", "expires_at",
// "community_member_id", "community_id"}) with Cache-Control: no-store,
// for a front end that calls Circle directly (token-mediating mode, as
// Circle's own UI kit does). It is off by default: with it, a script
// running in the page (an XSS) can read the access token, which the
// proxy alone never lets it do. The refresh token is never answered.
func WithTokenEndpoint() Option {
	return func(o *options) error {
		o.tokenEndpoint = true
		return nil
	}
}

// WithMaxBodySize sets the largest request body the proxy forwards, 1 MiB
// by default ([DefaultMaxBodySize]). A larger body is answered 413 and
// nothing is sent to Circle.
func WithMaxBodySize(n int64) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("bff: WithMaxBodySize: %d is not positive", n)
		}
		o.maxBody = n
		return nil
	}
}

// WithAntiForgeryHeader sets the name of the header every request must
// carry with the value "1", instead of "X-CSRF". It must not be a header
// a browser lets a page of another origin send without a preflight
// (Accept, Accept-Language, Content-Language, Content-Type, Range) nor
// one browsers set themselves.
func WithAntiForgeryHeader(name string) Option {
	return func(o *options) error {
		canon := http.CanonicalHeaderKey(name)
		switch {
		case name == "" || strings.ContainsAny(name, " \t\r\n:"):
			return fmt.Errorf("bff: WithAntiForgeryHeader: %q is not a header name", name)
		case safelisted[canon], strings.HasPrefix(canon, "Sec-"), strings.HasPrefix(canon, "Proxy-"), canon == "Cookie", canon == "Origin", canon == "Referer", canon == "Host":
			return fmt.Errorf("bff: WithAntiForgeryHeader: a page of another origin can send %q, or the browser sets it", name)
		}
		o.csrfHeader = name
		return nil
	}
}

// safelisted are the request headers a cross-origin page may send without
// a preflight (the Fetch standard's CORS-safelisted request headers), and
// the headers browsers set themselves.
var safelisted = map[string]bool{
	"Accept": true, "Accept-Language": true, "Content-Language": true, "Content-Type": true, "Range": true,
	"User-Agent": true, "Connection": true, "Content-Length": true, "Accept-Encoding": true,
}

// WithLogger sets the logger of the handler: one debug line per request
// (route, operation id, method, status, duration) and nothing else. No
// token, cookie or header value is logged. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		o.logger = l
		return nil
	}
}

// WithOperationCheck sets a function that decides, for each proxied call
// after its member is known, whether the operation may be called:
// operationID is the operation of the project's Member spec (such as
// "listHomePosts" or "deactivateCurrentMember"). A non-nil error refuses
// the call with 403, and nothing is sent; the error's text is not shown.
// By default every operation of the spec passes. The events route of
// package bff/bffevents asks it too, for the operations that read what
// each channel relays (see that package).
func WithOperationCheck(check func(r *http.Request, operationID string) error) Option {
	return func(o *options) error {
		o.check = check
		return nil
	}
}

// WithTimeout bounds one proxied call (retries included), 30 s by
// default; a call that takes longer is answered 504.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("bff: WithTimeout: %v is not positive", d)
		}
		o.timeout = d
		return nil
	}
}

// WithMaxRateWait sets how long a call may wait for the budget of the
// AuthClient's rate limit ([circle.WithRateLimit]) before the handler
// answers 429 with a Retry-After header instead, 2 s by default: a
// browser is told to come back rather than queued without bound. Without
// a rate limit on the AuthClient it changes nothing.
func WithMaxRateWait(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("bff: WithMaxRateWait: %v is not positive", d)
		}
		o.maxRateWait = d
		return nil
	}
}

// isPrefixChar reports whether c may be in a prefix.
func isPrefixChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '/'
}

// New returns the handler. auth is the community's Auth API client: the
// member token sources, base URL, HTTP client, retries, size limits and
// rate limit of the proxied calls are its own. identify names the member
// of a request from the host application's own session (a cookie, a
// JWT); an error from it, or an invalid identity, is answered 401.
func New(auth *circle.AuthClient, identify func(*http.Request) (circle.Identity, error), opts ...Option) (*Handler, error) {
	if auth == nil || identify == nil {
		return nil, errors.New("bff: New: an AuthClient and an identify function are needed")
	}
	o := options{
		prefix:      DefaultPrefix,
		maxBody:     DefaultMaxBodySize,
		csrfHeader:  DefaultAntiForgeryHeader,
		timeout:     DefaultTimeout,
		maxRateWait: DefaultMaxRateWait,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	client, err := auth.NewHTTPClient(nil, circle.WithMaxRateWait(o.maxRateWait))
	if err != nil {
		return nil, fmt.Errorf("bff: New: %w", err)
	}
	h := &Handler{
		auth:     auth,
		identify: identify,
		client:   client,
		base:     strings.TrimSuffix(auth.BaseURL(), "/"),
		o:        o,
	}
	h.addRoute("/logout", http.MethodPost, "logout", quiet(h.serveLogout))
	if o.tokenEndpoint {
		h.addRoute("/token", http.MethodGet, "token", quiet(h.serveToken))
	}
	env := hook.Env{BaseURL: h.base, WriteError: writeError, Check: o.check}
	for _, rt := range o.routes {
		st, err := rt.Start(env)
		if err != nil {
			_ = h.Close()
			return nil, err
		}
		if st.Close != nil {
			h.closers = append(h.closers, st.Close)
		}
		if st.SignedOut != nil {
			h.signedOut = append(h.signedOut, st.SignedOut)
		}
		h.addRoute(rt.Path, rt.Method, rt.Name, st.Serve)
	}
	return h, nil
}

// quiet adapts a route that adds nothing to the log line.
func quiet(serve func(http.ResponseWriter, *http.Request, *circle.MemberTokenSource)) func(http.ResponseWriter, *http.Request, *circle.MemberTokenSource) []slog.Attr {
	return func(w http.ResponseWriter, r *http.Request, src *circle.MemberTokenSource) []slog.Attr {
		serve(w, r, src)
		return nil
	}
}

// Close releases what the handler holds beyond its requests: with the
// events route ([github.com/circlekit/headless-go/bff/bffevents]), it
// closes the members' connections to Circle's cable, which ends every
// stream still open, and waits for them. Without it there is nothing to
// release and Close returns nil. Requests served after Close fail the
// way the route says (the events route answers 503). Close may be
// called more than once.
func (h *Handler) Close() error {
	var errs []error
	for _, c := range h.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// addRoute adds a route beside the Member API at <prefix><path>. Its
// serve function runs only for a request that passed the anti-forgery
// check, has the method given (any other is answered 405) and whose
// member identify named; it gets that member's token source. A route of
// Server-Sent Events, say, is one more call here.
func (h *Handler) addRoute(path, method, name string, serve func(http.ResponseWriter, *http.Request, *circle.MemberTokenSource) []slog.Attr) {
	if h.extra == nil {
		h.extra = map[string]extraRoute{}
	}
	h.extra[path] = extraRoute{method: method, name: name, serve: serve}
}

// apiPrefix is the path of the Member API's operations.
const apiPrefix = "/api/headless/v1/"

// ServeHTTP serves a request as the package documentation says.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	name, op, more := h.serve(sw, r)
	if l := h.o.logger; l != nil && l.Enabled(r.Context(), slog.LevelDebug) {
		attrs := append([]slog.Attr{
			slog.String("route", name), slog.String("operation", op),
			slog.String("method", r.Method), slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)),
		}, more...)
		l.LogAttrs(r.Context(), slog.LevelDebug, "bff: request", attrs...)
	}
}

// serve answers r and returns the route's name and operation id, and
// what the route adds, for the log line.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request) (name, op string, more []slog.Attr) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	// Anti-forgery first: nothing else is looked at for a forged request.
	if r.Header.Get(h.o.csrfHeader) != "1" || len(r.Header.Values(h.o.csrfHeader)) != 1 {
		writeError(w, http.StatusForbidden, "forbidden", "the anti-forgery header "+h.o.csrfHeader+": 1 is missing")
		return "refused", "", nil
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		writeError(w, http.StatusForbidden, "forbidden", "cross-site requests are refused")
		return "refused", "", nil
	}
	raw := r.URL.EscapedPath()
	if r.RequestURI != "" {
		raw, _, _ = strings.Cut(r.RequestURI, "?")
	}
	if r.URL.Scheme != "" || r.URL.Host != "" || !cleanTarget(raw) || !cleanTarget(r.URL.EscapedPath()) {
		writeError(w, http.StatusBadRequest, "bad_request", "the request path is not one the proxy accepts")
		return "refused", "", nil
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), h.o.prefix)
	if !ok || !strings.HasPrefix(rest, "/") {
		writeError(w, http.StatusNotFound, "not_found", "no such route")
		return "none", "", nil
	}
	if e, ok := h.extra[rest]; ok {
		if r.Method != e.method {
			hd.Set("Allow", e.method)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "this method is not allowed here")
			return e.name, "", nil
		}
		src, ok := h.member(w, r)
		if ok {
			more = e.serve(w, r, src)
		}
		return e.name, "", more
	}
	rt := match(rest)
	if rt == nil || !strings.HasPrefix(rest, apiPrefix) {
		writeError(w, http.StatusNotFound, "not_found", "no such operation")
		return "none", "", nil
	}
	id, ok := rt.ops[r.Method]
	if !ok {
		hd.Set("Allow", rt.allow)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "this method is not allowed here")
		return "api", "", nil
	}
	src, ok := h.member(w, r)
	if !ok {
		return "api", id, nil
	}
	if h.o.check != nil {
		if err := h.o.check(r, id); err != nil {
			writeError(w, http.StatusForbidden, "forbidden", "this operation is not allowed")
			return "api", id, nil
		}
	}
	h.proxy(w, r, rest, src)
	return "api", id, nil
}

// member returns the token source of the request's member, or answers
// 401.
func (h *Handler) member(w http.ResponseWriter, r *http.Request) (*circle.MemberTokenSource, bool) {
	id, err := h.identify(r)
	if err == nil {
		err = id.Validate()
	}
	if err != nil {
		writeError(w, http.StatusUnauthorized, "unauthorized", "not signed in")
		return nil, false
	}
	return h.auth.TokenSource(id), true
}

// statusWriter remembers the status written, for the log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap gives http.ResponseController the writer beneath.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
