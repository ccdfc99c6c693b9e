// Command circlefake runs circletest's fake Circle as a server anyone can
// call: front-end developers, and users of other languages, get Circle's
// Auth and Member APIs on one address, with a small demo community.
//
//	go run github.com/circlekit/headless-go/cmd/circlefake@latest -addr localhost:4010
//
// It prints the app token (for the Auth API) and the demo members' emails,
// then logs each request with its operationId, status, member and whether
// it matched the spec. Mint a member's tokens with the app token:
//
//	curl -s -X POST localhost:4010/api/v1/headless/auth_token \
//	  -H "Authorization: Bearer $APP_TOKEN" -H 'Content-Type: application/json' \
//	  -d '{"email":"ada@example.com"}'
//
// and call the Member API with the access token. Its state lives in
// memory: everything made is lost when it stops. Browsers may call it from
// any origin (CORS is open), as it holds nothing worth protecting.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/memberv1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, nil)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "circlefake:", err)
		os.Exit(1)
	}
}

// run parses args, starts the fake and serves until ctx ends. When ready
// is not nil it receives the base URL once the server listens.
func run(ctx context.Context, args []string, out io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("circlefake", flag.ContinueOnError)
	fs.SetOutput(out)
	addr := fs.String("addr", "localhost:4010", "address to listen on (host:port)")
	appToken := fs.String("app-token", "", "the Headless Auth app token to accept (default: a random one, printed)")
	seed := fs.Bool("seed", true, "seed a small demo community")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	logger := slog.New(slog.NewTextHandler(out, nil))
	opts := []circletest.Option{circletest.WithResponseValidation(), circletest.WithRequestHook(func(r circletest.Request) {
		valid := "valid"
		if r.ValidationError != nil {
			valid = "invalid request: " + firstLine(r.ValidationError.Error())
		} else if r.ResponseError != nil {
			valid = "answer off spec: " + firstLine(r.ResponseError.Error())
		}
		op := r.OperationID
		if op == "" {
			op = "(no operation)"
		}
		logger.Info("request", "op", op, "method", r.Method, "path", r.Path, "status", r.Status, "member", r.MemberID, "spec", valid)
	})}
	if *appToken != "" {
		opts = append(opts, circletest.WithAppToken(*appToken))
	}
	srv, err := circletest.NewServer(opts...)
	if err != nil {
		return err
	}
	defer srv.Close()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	base := "http://" + ln.Addr().String()

	var members []circletest.Member
	if *seed {
		if members, err = seedDemo(ctx, srv); err != nil {
			_ = ln.Close()
			return fmt.Errorf("seeding the demo community: %w", err)
		}
	}
	srv.ClearRequests()

	target, _ := url.Parse(srv.URL())
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	hs := &http.Server{Handler: cors(proxy), ReadHeaderTimeout: 10 * time.Second}

	fmt.Fprintf(out, "circlefake: a fake Circle (Headless Auth and Member APIs) at %s\n", base)
	fmt.Fprintf(out, "  app token:  %s\n", srv.AppToken())
	for _, m := range members {
		fmt.Fprintf(out, "  member:     %s (%s, id %d)\n", m.Email, m.Name, m.ID)
	}
	fmt.Fprintln(out, "  state:      in memory only; everything is lost when circlefake stops")
	fmt.Fprintf(out, "  mint:       curl -s -X POST %s/api/v1/headless/auth_token -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{\"email\":\"%s\"}'\n",
		base, srv.AppToken(), firstEmail(members))

	// The fake's clock follows the wall clock, so that tokens expire and
	// records are stamped with the time they were made.
	go func() {
		last := time.Now()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				srv.Advance(now.Sub(last))
				last = now
				srv.ClearRequests() // logged already; a long run must not grow
			}
		}
	}()

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if ready != nil {
		ready <- base
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// cors lets browsers on any origin call the fake with a bearer token.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if origin := r.Header.Get("Origin"); origin != "" {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Vary", "Origin")
			h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func firstEmail(ms []circletest.Member) string {
	if len(ms) == 0 {
		return "someone@example.com"
	}
	return ms[0].Email
}

// seedDemo arranges a small community: three members, three spaces, a few
// posts (one an event), comments, a reply, likes, a bookmark and a chat.
// What a member does goes through the Member API as that member, so the
// counts, flags and notifications are the fake's own.
func seedDemo(ctx context.Context, srv *circletest.Server) ([]circletest.Member, error) {
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com", Name: "Ada Lovelace", SSOUserID: "ada"})
	grace := srv.AddMember(circletest.Member{Email: "grace@example.com", Name: "Grace Hopper", SSOUserID: "grace"})
	alan := srv.AddMember(circletest.Member{Email: "alan@example.com", Name: "Alan Turing", SSOUserID: "alan"})
	members := []circletest.Member{ada, grace, alan}

	news := srv.AddSpace(memberv1.Space{Name: "Announcements", Emoji: "📣"})
	general := srv.AddSpace(memberv1.Space{Name: "General", Emoji: "💬"})
	events := srv.AddSpace(memberv1.Space{Name: "Events", Emoji: "📅", SpaceType: "event"})
	for _, sp := range []memberv1.Space{news, general, events} {
		for _, m := range members {
			srv.AddSpaceMember(sp.ID, m.ID)
		}
	}

	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()))
	if err != nil {
		return nil, err
	}
	api := map[int64]*memberv1.ClientWithResponses{}
	for _, m := range members {
		if api[m.ID], err = circle.NewMemberClient(auth.TokenSource(circle.ByEmail(m.Email)), circle.WithBaseURL(srv.URL())); err != nil {
			return nil, err
		}
	}
	post := func(m circletest.Member, space int, name, body string) (int, error) {
		r, err := api[m.ID].CreatePostWithResponse(ctx, space, memberv1.CreatePostJSONRequestBody{Name: name, Body: body})
		if err != nil {
			return 0, err
		}
		return r.JSON200.ID, nil
	}
	comment := func(m circletest.Member, postID int, body string) (int, error) {
		r, err := api[m.ID].CreateCommentWithResponse(ctx, postID, memberv1.CreateCommentJSONRequestBody{Comment: memberv1.CommentInput{Body: body}})
		if err != nil {
			return 0, err
		}
		return r.JSON201.ID, nil
	}

	welcome, err := post(ada, news.ID, "Welcome to the community", "Introduce yourself in General, and see you at the meetup.")
	if err != nil {
		return nil, err
	}
	intro, err := post(grace, general.ID, "Hello from Grace", "I work on compilers. What are you building?")
	if err != nil {
		return nil, err
	}
	c1, err := comment(alan, intro, "Machines that think, I hope.")
	if err != nil {
		return nil, err
	}
	if _, err := api[grace.ID].CreateReplyWithResponse(ctx, c1, memberv1.CreateReplyJSONRequestBody{Comment: memberv1.CommentInput{Body: "Let us talk at the meetup!"}}); err != nil {
		return nil, err
	}
	if _, err := comment(ada, welcome, "Glad to have you all here."); err != nil {
		return nil, err
	}
	for _, m := range []circletest.Member{grace, alan} {
		if _, err := api[m.ID].LikePostWithResponse(ctx, welcome); err != nil {
			return nil, err
		}
	}
	if _, err := api[ada.ID].LikePostWithResponse(ctx, intro); err != nil {
		return nil, err
	}
	meetup := srv.AddPost(memberv1.Post{
		Space: memberv1.PostSpace{ID: events.ID}, Name: "Monthly meetup", PostType: "event",
		BodyPlainText: "Talks and tea.", Author: memberv1.SharedCommunityMember{ID: int(ada.ID)},
		EventSettingAttributes: memberv1.EventSettings{StartsAt: srv.Now().Add(7 * 24 * time.Hour)},
	})
	if _, err := api[grace.ID].CreateEventAttendeeWithResponse(ctx, meetup.ID); err != nil {
		return nil, err
	}
	if _, err := api[alan.ID].CreateBookmarkWithResponse(ctx, memberv1.CreateBookmarkJSONRequestBody{RecordID: meetup.ID, BookmarkType: "post"}); err != nil {
		return nil, err
	}
	room, err := api[ada.ID].CreateChatRoomWithResponse(ctx, memberv1.CreateChatRoomJSONRequestBody{ChatRoom: memberv1.NewChatRoom{
		Kind: "direct", CommunityMemberIds: []string{fmt.Sprint(grace.ID)},
	}})
	if err != nil {
		return nil, err
	}
	for _, m := range []struct {
		from circletest.Member
		text string
	}{{ada, "Grace, will you give a talk at the meetup?"}, {grace, "Gladly: on debugging."}} {
		if _, err := api[m.from.ID].CreateChatMessageWithResponse(ctx, room.JSON200.ChatRoom.UUID, memberv1.CreateChatMessageJSONRequestBody{RichTextBody: richText(m.text)}); err != nil {
			return nil, err
		}
	}
	return members, nil
}

func richText(s string) memberv1.RichTextBody {
	return memberv1.RichTextBody{Body: memberv1.RichTextDocument{Type: "doc", Content: []memberv1.RichTextBlock{{
		Type: "paragraph", Content: []memberv1.RichTextNode{{Type: "text", Text: s}},
	}}}}
}
