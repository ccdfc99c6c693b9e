package circletest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// maxBody is the largest request body the server reads; a larger one is
// answered 413.
const maxBody = 10 << 20

// Server is a fake of Circle's Headless APIs listening on loopback. Create
// one with [NewServer] or [Start]. Its methods are safe for concurrent use,
// including while it serves requests.
type Server struct {
	hs          *httptest.Server
	auth        *api
	member      *api // nil when no member spec is available
	appToken    string
	communityID int64
	accessTTL   time.Duration
	refreshTTL  time.Duration
	key         []byte // signs access tokens
	closed      chan struct{}
	closeOnce   sync.Once
	rates       rateLimits // SetRateLimit (ratelimit.go)

	mu           sync.Mutex
	now          time.Time
	eligible     bool
	members      map[int64]Member
	byEmail      map[string]int64 // lower-cased email to member id
	bySSO        map[string]int64
	lastID       int64
	access       map[string]token
	refresh      map[string]token
	responses    map[string]response
	records      map[string][]any
	faults       []*fault
	requests     []Request
	onRequest    func(Request)
	checkAnswers bool                        // check the server's own answers against the spec too
	observe      atomic.Pointer[func(event)] // set by the package's tests: sees every event raised
	c            *community                  // what the Member API remembers
	stateful     bool                        // the embedded member spec is served: its operations keep state

	cable     *cableHub // the cable endpoint (cable.go)
	cableOnce sync.Once
}

// Member is a member of the fake community. The Auth API mints tokens for a
// member named by any one of ID, Email and SSOUserID.
type Member struct {
	// ID is the member's community_member_id. AddMember assigns one when it
	// is zero.
	ID int64
	// Email is the member's email address; it is matched ignoring case.
	Email string
	// SSOUserID is the member's id in the community's single sign-on
	// provider.
	SSOUserID string
	// Name is the member's name as the Member API shows it (on their
	// posts, comments, profile and in the member directory). When empty,
	// the part of Email before the @ stands in for it.
	Name string
}

// token is what the server knows of one issued token.
type token struct {
	member  int64
	expires time.Time
}

// response is a response registered with SetResponse.
type response struct {
	status int
	body   []byte // nil: let the server make one
}

// config collects the options of NewServer.
type config struct {
	appToken    string
	communityID int64
	accessTTL   time.Duration
	refreshTTL  time.Duration
	start       time.Time
	memberDoc   *openapi3.T // replaces the embedded member spec (tests)
	onRequest   func(Request)
	checkAll    bool
	err         error
}

// Option configures a Server made by [NewServer] or [Start].
type Option func(*config)

// WithAppToken sets the Headless Auth app token the server accepts. By
// default it makes a random one; read it with [Server.AppToken].
func WithAppToken(token string) Option {
	return func(c *config) {
		if token == "" {
			c.fail(errors.New("circletest: WithAppToken: empty token"))
		}
		c.appToken = token
	}
}

// WithCommunityID sets the community_id that minted tokens report. The
// default is 1.
func WithCommunityID(id int64) Option {
	return func(c *config) {
		if id < 1 {
			c.fail(fmt.Errorf("circletest: WithCommunityID: %d is not a valid id", id))
		}
		c.communityID = id
	}
}

// WithAccessTokenTTL sets how long a minted or refreshed access token
// lives. The default is one hour, as on Circle.
func WithAccessTokenTTL(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail(fmt.Errorf("circletest: WithAccessTokenTTL: %v is not positive", d))
		}
		c.accessTTL = d
	}
}

// WithRefreshTokenTTL sets how long a minted refresh token lives. The
// default is 30 days.
func WithRefreshTokenTTL(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail(fmt.Errorf("circletest: WithRefreshTokenTTL: %v is not positive", d))
		}
		c.refreshTTL = d
	}
}

// WithStartTime sets the time the server's clock starts at. By default it
// starts at the current time, truncated to the second. The clock moves only
// when [Server.Advance] is called.
func WithStartTime(t time.Time) Option {
	return func(c *config) {
		if t.IsZero() {
			c.fail(errors.New("circletest: WithStartTime: zero time"))
		}
		c.start = t
	}
}

// WithRequestHook makes the server call fn with the record of each request
// it receives, as it is recorded (just before it is answered), for logging.
// fn runs on the request's goroutine, without the server's lock: it may
// call the server's methods but should return quickly.
func WithRequestHook(fn func(Request)) Option {
	return func(c *config) {
		if fn == nil {
			c.fail(errors.New("circletest: WithRequestHook: nil function"))
		}
		c.onRequest = fn
	}
}

// WithResponseValidation makes the server check every answer it sends
// against the spec, its own included, and record a mismatch in
// [Request.ResponseError]. By default it checks only the bodies and
// records a test registered ([Server.SetResponse], [Server.SetRecords]):
// its own answers, from the community's state or synthesised, match the
// spec (the package's tests check that they do), and checking each costs
// about as much as making it.
func WithResponseValidation() Option {
	return func(c *config) { c.checkAll = true }
}

func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// NewServer starts a Server on a loopback port. Close it when done. It
// fails only when an option is invalid or a spec cannot be loaded.
func NewServer(opts ...Option) (*Server, error) {
	c := config{
		communityID: 1,
		accessTTL:   time.Hour,
		refreshTTL:  30 * 24 * time.Hour,
		start:       time.Now().Truncate(time.Second),
	}
	for _, o := range opts {
		o(&c)
	}
	if c.err != nil {
		return nil, c.err
	}
	auth, err := defaultAuthAPI()
	if err != nil {
		return nil, err
	}
	var member *api
	if c.memberDoc != nil {
		if member, err = loadAPI(c.memberDoc); err != nil {
			return nil, fmt.Errorf("circletest: member spec: %w", err)
		}
	} else if member, err = defaultMemberAPI(); err != nil {
		return nil, err
	}
	if c.appToken == "" {
		c.appToken = randomString(32)
	}
	s := &Server{
		auth:         auth,
		member:       member,
		appToken:     c.appToken,
		communityID:  c.communityID,
		accessTTL:    c.accessTTL,
		refreshTTL:   c.refreshTTL,
		key:          []byte(randomString(32)),
		closed:       make(chan struct{}),
		now:          c.start.UTC(),
		eligible:     true,
		members:      map[int64]Member{},
		byEmail:      map[string]int64{},
		bySSO:        map[string]int64{},
		access:       map[string]token{},
		refresh:      map[string]token{},
		responses:    map[string]response{},
		records:      map[string][]any{},
		c:            newCommunity(),
		stateful:     c.memberDoc == nil,
		onRequest:    c.onRequest,
		checkAnswers: c.checkAll,
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s, nil
}

// Start starts a Server for the test t and closes it when the test and its
// subtests end. It stops the test if the server cannot start.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// URL returns the server's base URL, such as http://127.0.0.1:41234. Both
// APIs are served under it; point a client's base URL at it.
func (s *Server) URL() string { return s.hs.URL }

// Client returns an HTTP client that talks to the server.
func (s *Server) Client() *http.Client { return s.hs.Client() }

// AppToken returns the Headless Auth app token the server accepts.
func (s *Server) AppToken() string { return s.appToken }

// Close shuts the server down, cutting short any injected latency, and
// waits for the requests in flight to finish. It may be called more than
// once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.hs.Close()
		s.closeCable()
	})
}

// Now returns the time on the server's clock, which decides when tokens
// expire and fills synthesised timestamps.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the server's clock forward by d (backward if d is
// negative), so that tokens expire without waiting.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// AddMember adds m to the community and returns it with its ID set: when
// m.ID is zero it gets the next free id. A member with the same ID is
// replaced.
func (s *Server) AddMember(m Member) Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.ID <= 0 {
		m.ID = s.lastID + 1
	}
	s.lastID = max(s.lastID, m.ID)
	if old, ok := s.members[m.ID]; ok {
		delete(s.byEmail, strings.ToLower(old.Email))
		delete(s.bySSO, old.SSOUserID)
	}
	s.members[m.ID] = m
	if m.Email != "" {
		s.byEmail[strings.ToLower(m.Email)] = m.ID
	}
	if m.SSOUserID != "" {
		s.bySSO[m.SSOUserID] = m.ID
	}
	return m
}

// SetCommunityEligible switches whether the community may use the Headless
// APIs. When it may not, every Auth API call is answered 403, as Circle
// answers a community whose plan lacks headless access. It may by default.
func (s *Server) SetCommunityEligible(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.eligible = ok
}

// reply is an answer the server is about to send.
type reply struct {
	status int
	mime   string
	body   []byte
	header http.Header
	// registered is set when the body holds what the test registered
	// (SetResponse, SetRecords): it is checked against the spec.
	registered bool
}

// errorReply is Circle's error body with status.
func errorReply(status int, message string) reply {
	b, _ := json.Marshal(map[string]any{
		"success":       false,
		"message":       message,
		"error_details": map[string]any{},
	})
	return reply{status: status, mime: "application/json", body: b}
}

// jsonReply is v as a JSON body.
func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return errorReply(http.StatusInternalServerError, "circletest: encoding the response: "+err.Error())
	}
	return reply{status: status, mime: "application/json", body: b}
}

// serveHTTP answers every request: it records it, routes it to an
// operation of either spec, applies any fault, and answers.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == CablePath {
		s.serveCable(w, r) // the real-time endpoint (cable.go)
		return
	}
	rec := Request{
		ID:     randomString(12),
		Time:   s.Now(),
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.RawQuery,
	}
	w.Header().Set("X-Request-Id", rec.ID)
	// The Date of every response is the server's clock, as a real Circle's
	// agrees with the expiry times it issues; clients read token lifetimes
	// against it.
	w.Header().Set("Date", rec.Time.UTC().Format(http.TimeFormat))
	if rp, limited := s.rateLimited(r); limited {
		s.send(w, r, nil, nil, &rec, rp)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		s.send(w, r, nil, nil, &rec, errorReply(http.StatusBadRequest, "could not read the request body"))
		return
	}
	if len(body) > maxBody {
		s.send(w, r, nil, nil, &rec, errorReply(http.StatusRequestEntityTooLarge, "request body too large"))
		return
	}
	rec.Body = body
	r.Body = io.NopCloser(bytes.NewReader(body))

	var (
		a      *api
		op     *operation
		params map[string]string
		found  bool
	)
	for _, c := range []*api{s.auth, s.member} {
		if c == nil {
			continue
		}
		if op, params, found = c.route(r); found {
			a = c
			break
		}
	}
	switch {
	case !found:
		s.send(w, r, nil, nil, &rec, errorReply(http.StatusNotFound, "no such route: "+r.URL.Path))
		return
	case op == nil:
		rp := errorReply(http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path)
		rp.header = http.Header{"Allow": {strings.Join(a.allowed(r.URL.Path), ", ")}}
		s.send(w, r, nil, nil, &rec, rp)
		return
	}
	rec.OperationID = op.id

	if f := s.takeFault(op.id); f != nil {
		if !s.sleep(r.Context(), f.Latency) {
			s.record(rec) // the client left or the server closed: no answer
			return
		}
		if f.Drop {
			s.record(rec)
			drop(w)
			return
		}
		if f.Status != 0 {
			rp := errorReply(f.Status, fmt.Sprintf("circletest: injected fault (%d %s)", f.Status, http.StatusText(f.Status)))
			if f.RetryAfter > 0 {
				secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
				rp.header = http.Header{"Retry-After": {fmt.Sprint(secs)}}
			}
			s.send(w, r, op, params, &rec, rp)
			return
		}
	}

	var rp reply
	if a == s.auth {
		rp = s.serveAuth(r, op, params, &rec)
	} else {
		rp = s.serveMember(r, op, params, &rec)
	}
	s.send(w, r, op, params, &rec, rp)
}

// send records rec with the reply's status, checks the reply against op's
// responses when op is known, and writes it.
func (s *Server) send(w http.ResponseWriter, r *http.Request, op *operation, params map[string]string, rec *Request, rp reply) {
	h := w.Header()
	for k, v := range rp.header {
		h[k] = v
	}
	if rp.mime != "" {
		h.Set("Content-Type", rp.mime)
	}
	if op != nil {
		if rp.registered || s.checkAnswers {
			rec.ResponseError = checkResponse(r, op, params, rp.status, h, rp.body)
		}
	}
	rec.Status = rp.status
	s.record(*rec) // before writing, so the caller sees it once answered
	w.WriteHeader(rp.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(rp.body)
	}
}

// checkResponse validates a response to r against op's spec.
func checkResponse(r *http.Request, op *operation, params map[string]string, status int, h http.Header, body []byte) error {
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r, PathParams: params, Route: op.route,
		},
		Status: status,
		Header: h,
		Body:   io.NopCloser(bytes.NewReader(body)),
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// bearer returns the token of r's "Authorization: Bearer" header, or "".
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// randomString returns n random bytes, base64url encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	return b64.EncodeToString(b)
}
