package circle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// secretMark is part of every token the fake Circle issues and of the app
// token the tests use, so that a search for it finds any leaked secret.
const secretMark = "SeKrIt"

const testAppToken = "app-" + secretMark + "-0123456789"

// basePath is where the fake Circle is served, so that a client that
// drops the base URL's path fails.
const basePath = "/circle-base"

// fakeClock is a clock the tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

type fakeAccess struct {
	member  int64
	expires time.Time
}

// fakeCircle is a small stateful Circle on loopback: the four Auth API
// calls, and a Member API that checks access tokens and answers from
// handlers the tests set.
type fakeCircle struct {
	t     testing.TB
	srv   *httptest.Server
	URL   string // base URL, with basePath
	clock *fakeClock

	accessTTL, refreshTTL time.Duration

	mu       sync.Mutex
	access   map[string]fakeAccess
	refresh  map[string]fakeAccess // refresh token -> member, expiry
	members  map[string]int64      // identity key -> member id
	seq      int
	memberFn func(w http.ResponseWriter, r *http.Request, member int64)

	// refreshGate, when set, holds every refresh until it is closed.
	refreshGate chan struct{}
	// mintDelay slows every mint.
	mintDelay time.Duration
	// refreshStatus, when set, is the status every refresh is answered.
	refreshStatus int
	// mintStatus, when set, is the status every mint is answered.
	mintStatus atomic.Int64
	// revokeAccessFail and revokeRefreshFail, when set, are the status and
	// message every revoke call of that kind is answered.
	revokeAccessFail, revokeRefreshFail atomic.Pointer[fakeFailure]
	// revokeGate, when set, holds every revoke call until it is closed;
	// revokeArrived is told of each call it holds.
	revokeGate    chan struct{}
	revokeArrived chan struct{}

	mints, refreshes, revokedAccess, revokedRefresh, revokeCalls, memberCalls atomic.Int64
}

func newFakeCircle(t testing.TB) *fakeCircle {
	t.Helper()
	f := &fakeCircle{
		t:          t,
		clock:      newFakeClock(),
		accessTTL:  time.Hour,
		refreshTTL: 30 * 24 * time.Hour,
		access:     map[string]fakeAccess{},
		refresh:    map[string]fakeAccess{},
		members:    map[string]int64{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+basePath+"/api/v1/headless/auth_token", f.mint)
	mux.HandleFunc("PATCH "+basePath+"/api/v1/headless/access_token/refresh", f.refreshToken)
	mux.HandleFunc("POST "+basePath+"/api/v1/headless/access_token/revoke", f.revokeAccess)
	mux.HandleFunc("POST "+basePath+"/api/v1/headless/refresh_token/revoke", f.revokeRefresh)
	mux.HandleFunc(basePath+"/api/headless/v1/", f.member)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.URL = f.srv.URL + basePath
	return f
}

// fakeFailure is an answer a fake call is made to give.
type fakeFailure struct {
	status int
	msg    string
}

// holdRevoke makes the revoke calls wait for the returned release.
func (f *fakeCircle) holdRevoke() (arrived <-chan struct{}, release func()) {
	f.revokeGate, f.revokeArrived = make(chan struct{}), make(chan struct{}, 16)
	return f.revokeArrived, sync.OnceFunc(func() { close(f.revokeGate) })
}

// revokeFails answers the call with p's failure, if any, and reports so.
func revokeFails(w http.ResponseWriter, p *atomic.Pointer[fakeFailure]) bool {
	if ff := p.Load(); ff != nil {
		writeFailure(w, ff.status, ff.msg)
		return true
	}
	return false
}

func (f *fakeCircle) revokeCall() {
	f.revokeCalls.Add(1)
	if f.revokeGate != nil {
		f.revokeArrived <- struct{}{}
		<-f.revokeGate
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeFailure(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"success": false, "message": msg, "error_details": map[string]any{}})
}

func (f *fakeCircle) appTokenOK(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+testAppToken {
		writeFailure(w, http.StatusUnauthorized, "The app token was not accepted (test).")
		return false
	}
	return true
}

func (f *fakeCircle) mint(w http.ResponseWriter, r *http.Request) {
	f.mints.Add(1)
	if !f.appTokenOK(w, r) {
		return
	}
	if f.mintDelay > 0 {
		time.Sleep(f.mintDelay)
	}
	if s := f.mintStatus.Load(); s != 0 {
		writeFailure(w, int(s), "Could not issue an access token (test).")
		return
	}
	var id map[string]any
	if err := json.NewDecoder(r.Body).Decode(&id); err != nil || len(id) != 1 {
		writeFailure(w, http.StatusUnprocessableEntity, "A required parameter is missing (test).")
		return
	}
	var key string
	for k, v := range id {
		key = fmt.Sprint(k, ":", v)
	}
	now := f.clock.Now()
	f.mu.Lock()
	m, ok := f.members[key]
	if !ok {
		m = int64(len(f.members) + 1)
		f.members[key] = m
	}
	f.seq++
	acc := fmt.Sprintf("acc-%s-%d", secretMark, f.seq)
	ref := fmt.Sprintf("ref-%s-%d", secretMark, f.seq)
	f.access[acc] = fakeAccess{member: m, expires: now.Add(f.accessTTL)}
	f.refresh[ref] = fakeAccess{member: m, expires: now.Add(f.refreshTTL)}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": acc, "refresh_token": ref,
		"access_token_expires_at":  now.Add(f.accessTTL),
		"refresh_token_expires_at": now.Add(f.refreshTTL),
		"community_member_id":      m, "community_id": 7,
	})
}

func (f *fakeCircle) refreshToken(w http.ResponseWriter, r *http.Request) {
	f.refreshes.Add(1)
	if !f.appTokenOK(w, r) {
		return
	}
	if g := f.refreshGate; g != nil {
		<-g
	}
	if f.refreshStatus != 0 {
		writeFailure(w, f.refreshStatus, "This refresh token has expired; mint a new pair (test).")
		return
	}
	var b struct {
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.NewDecoder(r.Body).Decode(&b)
	now := f.clock.Now()
	f.mu.Lock()
	ref, ok := f.refresh[b.RefreshToken]
	if !ok {
		f.mu.Unlock()
		writeFailure(w, http.StatusNotFound, "No such refresh token (test).")
		return
	}
	if !now.Before(ref.expires) {
		f.mu.Unlock()
		writeFailure(w, http.StatusUnauthorized, "This refresh token has expired; mint a new pair (test).")
		return
	}
	f.seq++
	acc := fmt.Sprintf("acc-%s-%d", secretMark, f.seq)
	f.access[acc] = fakeAccess{member: ref.member, expires: now.Add(f.accessTTL)}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": acc, "access_token_expires_at": now.Add(f.accessTTL)})
}

func (f *fakeCircle) revokeAccess(w http.ResponseWriter, r *http.Request) {
	f.revokeCall()
	if !f.appTokenOK(w, r) || revokeFails(w, &f.revokeAccessFail) {
		return
	}
	var b struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(r.Body).Decode(&b)
	f.mu.Lock()
	_, ok := f.access[b.AccessToken]
	delete(f.access, b.AccessToken)
	f.mu.Unlock()
	if !ok {
		writeFailure(w, http.StatusUnprocessableEntity, "No such access token (test).")
		return
	}
	f.revokedAccess.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeCircle) revokeRefresh(w http.ResponseWriter, r *http.Request) {
	f.revokeCall()
	if !f.appTokenOK(w, r) || revokeFails(w, &f.revokeRefreshFail) {
		return
	}
	var b struct {
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.NewDecoder(r.Body).Decode(&b)
	f.mu.Lock()
	_, ok := f.refresh[b.RefreshToken]
	delete(f.refresh, b.RefreshToken)
	f.mu.Unlock()
	if !ok {
		writeFailure(w, http.StatusNotFound, "No such refresh token (test).")
		return
	}
	f.revokedRefresh.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// member checks the access token and calls memberFn, or answers with the
// member id and the request body.
func (f *fakeCircle) member(w http.ResponseWriter, r *http.Request) {
	f.memberCalls.Add(1)
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	a, ok := f.access[tok]
	fn := f.memberFn
	f.mu.Unlock()
	switch {
	case !ok:
		writeFailure(w, http.StatusUnauthorized, "No such access token (test).")
		return
	case !f.clock.Now().Before(a.expires):
		writeFailure(w, http.StatusUnauthorized, "This access token has expired (test).")
		return
	}
	if fn != nil {
		fn(w, r, a.member)
		return
	}
	body, _ := io.ReadAll(r.Body)
	writeJSON(w, http.StatusOK, map[string]any{"member": a.member, "body": string(body), "path": r.URL.Path})
}

func (f *fakeCircle) setMemberFn(fn func(w http.ResponseWriter, r *http.Request, member int64)) {
	f.mu.Lock()
	f.memberFn = fn
	f.mu.Unlock()
}

// dropAccess forgets every access token, as if Circle revoked them.
func (f *fakeCircle) dropAccess() {
	f.mu.Lock()
	clear(f.access)
	f.mu.Unlock()
}

// dropRefresh forgets every refresh token.
func (f *fakeCircle) dropRefresh() {
	f.mu.Lock()
	clear(f.refresh)
	f.mu.Unlock()
}

// secretScanner collects what a test logged and the errors it saw, and
// fails the test if any holds a secret.
type secretScanner struct {
	mu   sync.Mutex
	logs bytes.Buffer
	errs []string
}

func (s *secretScanner) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

// seen records err's text (and its %+v and %#v forms) for the scan.
func (s *secretScanner) seen(err error) {
	if err == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err.Error(), fmt.Sprintf("%+v", err))
	var e *APIError
	if errors.As(err, &e) {
		s.errs = append(s.errs, string(e.Body), fmt.Sprint(e.Details), e.Message)
	}
}

func (s *secretScanner) check(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := bytes.Index(s.logs.Bytes(), []byte(secretMark)); i >= 0 {
		t.Errorf("a log line holds a secret: %q", lineAround(s.logs.String(), i))
	}
	for _, e := range s.errs {
		if strings.Contains(e, secretMark) {
			t.Errorf("an error holds a secret: %q", e)
		}
	}
}

func lineAround(s string, i int) string {
	start := strings.LastIndexByte(s[:i], '\n') + 1
	end := strings.IndexByte(s[i:], '\n')
	if end < 0 {
		return s[start:]
	}
	return s[start : i+end]
}

// env is a fake Circle and an AuthClient for it, logging at debug level
// into a scanner that the test's cleanup searches for secrets.
type env struct {
	*fakeCircle
	auth *AuthClient
	scan *secretScanner
	log  *slog.Logger
}

func newEnv(t testing.TB, opts ...Option) *env {
	t.Helper()
	f := newFakeCircle(t)
	scan := &secretScanner{}
	log := slog.New(slog.NewTextHandler(scan, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := []Option{
		WithBaseURL(f.URL), WithClock(f.clock.Now), WithLogger(log),
		WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
		// The waits that protect Circle run on the real clock; the tests
		// that are about them set their own.
		WithMinRefreshInterval(0), WithTokenBackoff(time.Millisecond, 5*time.Millisecond),
	}
	auth, err := NewAuthClient(testAppToken, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { scan.check(t) })
	return &env{fakeCircle: f, auth: auth, scan: scan, log: log}
}

// memberTransport is the Doer NewMemberClient gives the generated client
// (made by the same function), for raw requests against the fake Member
// API.
func (e *env) memberTransport(ts TokenSource, opts ...Option) Doer {
	cfg, err := newConfig(append([]Option{
		WithBaseURL(e.URL), WithClock(e.clock.Now), WithLogger(e.log), WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
	}, opts...))
	if err != nil {
		e.t.Fatal(err)
	}
	return newMemberDoer(cfg, ts, true) // as NewMemberClient: memberDo builds a new request per call
}

// memberDo sends method path of the Member API through tr, on behalf of
// ts when it is not nil (as WithTokenSource names a call's member), as
// the generated client would.
func (e *env) memberDo(ctx context.Context, tr Doer, ts TokenSource, method, path string, body io.Reader) (*http.Response, error) {
	if _, named := TokenSourceFromContext(ctx); !named {
		ctx = WithTokenSource(ctx, ts)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.URL+"/api/headless/v1/"+path, body)
	if err != nil {
		return nil, err
	}
	resp, err := tr.Do(req)
	e.scan.seen(err)
	return resp, err
}

// readMember decodes the fake's default Member API answer.
func readMember(t testing.TB, resp *http.Response) (member int64, body string) {
	t.Helper()
	var v struct {
		Member int64  `json:"member"`
		Body   string `json:"body"`
	}
	err := json.NewDecoder(resp.Body).Decode(&v)
	if cerr := resp.Body.Close(); cerr != nil {
		t.Errorf("closing the response body: %v", cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v.Member, v.Body
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
