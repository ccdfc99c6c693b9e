// Command spa serves a small single-page front end of a community through
// package bff: a toy sign-in (an email form and a session cookie), one
// static page in plain HTML and JavaScript that shows the member's home
// feed, a count of new notifications and one of chat messages, both
// updated live, bookmarks a
// post through the proxy, and signs out. The member's tokens never reach
// the browser: the page calls /circle/api/headless/v1/... on its own
// origin with the header X-CSRF: 1, and bff attaches the token; it reads
// the member's notification and chat events from
// /circle/events?channels=notifications,chat_rooms (package
// bff/bffevents), a stream of Server-Sent Events that it reads with fetch,
// since EventSource cannot send X-CSRF.
//
// Without CIRCLE_APP_TOKEN it runs against an embedded fake Circle
// (package circletest) whose members are ada@example.com and
// grace@example.com, and needs no network. With it, it talks to the real
// Circle (CIRCLE_BASE_URL defaults to https://app.circle.so), and anyone
// who can reach the page can sign in as any member by typing an address:
// keep it on loopback; CIRCLE_ORIGIN names an origin the community allowed
// for its real-time cable (such as https://community.example.com). It
// prints the address it serves on.
//
//	go run ./examples/spa [-addr 127.0.0.1:8080]
package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/circlekit/headless-go/bff"
	"github.com/circlekit/headless-go/bff/bffevents"
	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
	"github.com/circlekit/headless-go/realtime"
)

//go:embed static
var static embed.FS

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, *addr, os.Stdout, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "spa:", err)
		os.Exit(1)
	}
}

// run serves the site on addr until ctx ends.
func run(ctx context.Context, addr string, out io.Writer, getenv func(string) string) error {
	a, err := newApp(getenv)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	// No WriteTimeout: it would cut the event streams. Shutdown does not
	// end the requests in flight, so the streams are ended first.
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	srv.RegisterOnShutdown(func() { _ = a.proxy.Close() })
	if a.fake != nil {
		fmt.Fprintf(out, "Circle: the embedded fake at %s (members ada@example.com, grace@example.com); set CIRCLE_APP_TOKEN to use the real one\n", a.fake.URL())
	}
	fmt.Fprintf(out, "spa: open http://%s/\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// app is the site: its own sessions, the static page, and bff under
// /circle/.
type app struct {
	mux   *http.ServeMux
	auth  *circle.AuthClient
	proxy *bff.Handler
	fake  *circletest.Server // nil for the real Circle
	room  string             // the fake's chat room of ada and grace (its UUID)

	mu       sync.Mutex
	sessions map[string]string // session id → email
}

// sessionCookie is the name of the site's own session cookie.
const sessionCookie = "spa_session"

func newApp(getenv func(string) string) (*app, error) {
	a := &app{sessions: map[string]string{}}
	base, appToken := getenv("CIRCLE_BASE_URL"), getenv("CIRCLE_APP_TOKEN")
	if appToken == "" {
		fake, err := circletest.NewServer()
		if err != nil {
			return nil, err
		}
		ada := fake.AddMember(circletest.Member{Email: "ada@example.com", Name: "Ada"})
		grace := fake.AddMember(circletest.Member{Email: "grace@example.com", Name: "Grace"})
		// A small community the fake keeps: a space both belong to, and
		// three posts (newest first in the feed).
		space := fake.AddSpace(memberv1.Space{Name: "General"})
		fake.AddSpaceMember(space.ID, ada.ID)
		fake.AddSpaceMember(space.ID, grace.ID)
		now := fake.Now()
		for i, name := range []string{"Welcome to the community", "Office hours on Thursday", "Show us what you built"} {
			fake.AddPost(memberv1.Post{
				Name:      name,
				Space:     memberv1.PostSpace{ID: space.ID},
				Author:    memberv1.SharedCommunityMember{ID: int(grace.ID)},
				CreatedAt: now.Add(-time.Duration(i+1) * time.Hour),
			})
		}
		// A chat room of the two, whose messages the page counts.
		a.room = fake.AddChatRoom(memberv1.ChatRoom{}, ada.ID, grace.ID).ChatRoom.UUID
		a.fake, base, appToken = fake, fake.URL(), fake.AppToken()
	}
	if base == "" {
		base = circle.DefaultBaseURL
	}
	auth, err := circle.NewAuthClient(appToken, circle.WithBaseURL(base), circle.WithUserAgent("headless-go-spa"),
		circle.WithRateLimit(6, 200)) // Circle: 2,000 requests per 5 minutes per address
	if err != nil {
		a.Close()
		return nil, err
	}
	a.auth = auth
	// bff: the Member API on this origin, for the member of the session,
	// and the member's notification and chat events at /circle/events (at most 100
	// members' cable connections at once).
	var cable []realtime.Option
	if origin := getenv("CIRCLE_ORIGIN"); origin != "" {
		cable = append(cable, realtime.WithOrigin(origin))
	}
	proxy, err := bff.New(auth, a.identify, bffevents.Route(100, cable...))
	if err != nil {
		a.Close()
		return nil, err
	}
	a.proxy = proxy
	files, _ := fs.Sub(static, "static")
	a.mux = http.NewServeMux()
	a.mux.Handle("/circle/", proxy)
	a.mux.Handle("GET /{$}", http.FileServerFS(files))
	a.mux.Handle("GET /app.js", http.FileServerFS(files))
	a.mux.HandleFunc("GET /session", a.session)
	a.mux.HandleFunc("POST /signin", a.signIn)
	a.mux.HandleFunc("POST /signout", a.signOut)
	return a, nil
}

// ServeHTTP serves the site with headers that keep other origins out.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	a.mux.ServeHTTP(w, r)
}

// Close ends the event streams and stops the fake Circle, if any.
func (a *app) Close() {
	if a.proxy != nil {
		_ = a.proxy.Close()
	}
	if a.auth != nil {
		_ = a.auth.Close()
	}
	if a.fake != nil {
		a.fake.Close()
	}
}

// identify is the site's session, as bff asks for it.
func (a *app) identify(r *http.Request) (circle.Identity, error) {
	email, ok := a.email(r)
	if !ok {
		return circle.Identity{}, errors.New("not signed in")
	}
	return circle.ByEmail(email), nil
}

func (a *app) email(r *http.Request) (string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	email, ok := a.sessions[c.Value]
	return email, ok
}

func (a *app) session(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	email, ok := a.email(r)
	if !ok {
		http.Error(w, "not signed in", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"email": email})
}

// signIn is the toy sign-in: it trusts the address typed. A real site
// checks a password or an identity provider here.
func (a *app) signIn(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" || r.Header.Get("Sec-Fetch-Site") == "same-site" {
		http.Error(w, "cross-site sign-in refused", http.StatusForbidden)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	if err := circle.ByEmail(email).Validate(); err != nil {
		http.Error(w, "not an email address", http.StatusBadRequest)
		return
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	a.mu.Lock()
	a.sessions[id] = email
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signOut ends the site's session; the page has revoked the member's
// Circle tokens through bff's logout first.
func (a *app) signOut(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-CSRF") != "1" {
		http.Error(w, "anti-forgery header missing", http.StatusForbidden)
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.WriteHeader(http.StatusNoContent)
}
