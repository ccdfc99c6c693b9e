// Package bffevents adds to package bff's handler the route
// GET <prefix>/events, which streams the signed-in member's notification
// and chat events to the browser as Server-Sent Events: a front end gets
// Circle's real time without ever holding a token.
//
//	proxy, err := bff.New(auth, identify,
//		bffevents.Route(1000, realtime.WithOrigin("https://community.example.com")))
//
// It is a package of its own so that bff stays lean: a program that does
// not import bffevents links neither package realtime nor its WebSocket
// library.
//
// The route runs what bff runs for its other routes (the anti-forgery
// header, the refusal of cross-site requests, identify) before it opens
// anything, then relays the events of the member's NotificationChannel
// (and, when asked, of their chat: see Channels below) ("newNotification", "updateNewNotificationCount",
// "resetNewNotificationCount", and "reconnected" after a gap, when events
// may have been lost) as SSE messages whose type is the event's name and
// whose data is the event's payload as Circle sent it. A comment line is
// written every 15 s while no event is, so that proxies keep the response
// open and a client that went away is noticed.
//
// Browsers' EventSource cannot send the anti-forgery header, so a page
// reads the stream with fetch and a ReadableStream reader:
//
//	const resp = await fetch("/circle/events", {headers: {"X-CSRF": "1"}, signal});
//	const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
//	// ... split what it reads at blank lines: "event: name" and "data: {...}"
//
// (examples/spa's page does it in full, reconnecting after a pause.)
//
// # Channels
//
// The query parameter channels picks what a stream relays: a
// comma-separated list (the parameter may also be repeated) of
// [ChannelNotifications] and [ChannelChatRooms]:
//
//	GET /circle/events                                    the notifications (as before channels existed)
//	GET /circle/events?channels=chat_rooms                the member's chat only
//	GET /circle/events?channels=notifications,chat_rooms  both, in one stream
//
// chat_rooms is the member's ChatRoomChannel: the rooms they take part
// in ("chatRoomCreated", "chatRoomUpdated", "chatRoomDeleted",
// "chatRoomRead") and the messages of those rooms ("newMessage",
// "updatedMessage", "deletedMessage", or whatever names Circle sends).
// The channels' event names do not overlap, so a message's type is
// Circle's event name whatever the channel, except "reconnected", which
// each channel sends after its own gap: when the request names its
// channels, the data of "reconnected" says whose, as
// {"channel":"chat_rooms"}; without the parameter it stays {}. Any other
// value (an unknown or empty name, a list over 256 bytes, a query that
// does not parse) is answered 400 before anything is dialled.
//
// A stream shows a member nothing the proxy would not let them read: with
// an operation check ([bff.WithOperationCheck]), notifications are
// relayed only when it allows "listNotifications", and chat_rooms only
// when it allows "listChatRooms" and "listChatMessages"; otherwise the
// request is answered 403 before anything is dialled. A host that keeps
// chat from its front end through the check keeps it from the stream
// too.
//
// The per-room channel ([realtime.Conn.ChatRoom]) is not offered: a room
// id from the browser would need a check that the member takes part in
// the room, and the member's ChatRoomChannel already carries the message
// events of every room they are in. Nor is the threads channel
// ([realtime.Conn.Threads]), whose message events would share their
// names with the rooms'.
//
// All the channels of a stream are subscriptions of the member's one
// pooled connection. Each holds what the browser has not read yet within
// the connection's bounds ([realtime.WithBufferSize],
// [realtime.MaxBufferedBytes]); the stream holds nothing more. When one
// of them ends for good, the stream ends (with one "error" event, below);
// when the client goes away, they all end.
//
// # Connections
//
// One [realtime.Pool] per handler holds one cable connection per member,
// shared by that member's streams (several tabs cost one connection), at
// most maxMembers at once. A request that would need more while every
// connection has a stream is answered 503 with Retry-After before
// anything is streamed. A member's connection closes a minute after their
// last stream ends ([realtime.DefaultPoolIdleTimeout];
// [realtime.WithIdleTimeout] changes it), and [bff.Handler.Close] closes
// them all.
//
// The connections use the AuthClient's base URL (the cable URL is derived
// from it) unless the options say otherwise ([realtime.WithBaseURL],
// [realtime.WithCableURL]). Circle accepts only an Origin the community
// allowed: pass it with [realtime.WithOrigin].
//
// # Failures
//
// Before the stream starts, failures are bff's JSON errors: 503 when the
// pool is full or the handler closed, 401 when Circle refuses the member,
// 502 when the cable cannot be reached or refuses the connection (a wrong
// Origin, say), 504 when it does not answer in time. Once it has started,
// an error that ends it for good is sent as a last "error" event whose
// data is {"error": kind} with kind one of "unauthorized",
// "slow_consumer", "signed_out" or "stream_ended", and the response ends.
// A client that goes away ends the stream's subscriptions. bff's logout
// route ends the member's open streams (with "signed_out") before it
// revokes the tokens, and a stream whose dial was in progress is
// answered 401 instead of starting; a stream opened later is the host's
// session's business: end it before or with the logout, as examples/spa
// does. A known limit: a revoke other than this handler's logout (the
// logout of another replica, the host calling
// [circle.MemberTokenSource.Revoke]) does not end the open streams: the
// member's connection goes on, and renews with a fresh token when the
// current one expires.
//
// No token reaches the browser: the data of a message is the event's
// payload, and a payload (or event name) that holds the member's access
// or refresh token, verbatim or encoded (escaped, percent-encoded,
// base64...), ends the stream instead of being relayed. The tokens looked
// for are those of the stream's start and, once they expire, the renewed
// ones: scanning an event never makes Circle mint a token. The route is
// not bound by [bff.WithTimeout]: a stream lasts as long as the client
// stays (mind an http.Server's WriteTimeout, which would cut it). bff's
// debug line of the request ([bff.WithLogger]) is written when the
// stream ends, with the member's id, the number of events relayed and
// why it ended; never a token.
package bffevents

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/circlekit/headless-go/bff"
	"github.com/circlekit/headless-go/bff/internal/hook"
	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/internal/redact"
	"github.com/circlekit/headless-go/internal/sse"
	"github.com/circlekit/headless-go/realtime"
)

// Path is where the route is served, after the handler's prefix.
const Path = "/events"

// Route returns the option of [bff.New] that serves GET <prefix>/events
// (the channels a request names, see the package's doc), with a pool of at most maxMembers members' cable connections, each
// dialled with opts after the AuthClient's base URL. bff.New fails if
// maxMembers is not positive.
func Route(maxMembers int, opts ...realtime.Option) bff.Option {
	opts = append([]realtime.Option(nil), opts...)
	return hook.Option(hook.Route{
		Path:   Path,
		Method: http.MethodGet,
		Name:   "events",
		Start: func(env hook.Env) (hook.Started, error) {
			if maxMembers <= 0 {
				return hook.Started{}, fmt.Errorf("bffevents: Route: maxMembers is %d, not positive", maxMembers)
			}
			all := append([]realtime.Option{realtime.WithBaseURL(env.BaseURL)}, opts...)
			rt := &route{pool: realtime.NewPool(maxMembers, all...), env: env, streams: map[string]map[chan struct{}]struct{}{}}
			return hook.Started{Serve: rt.serve, Close: rt.pool.Close, SignedOut: rt.signedOut}, nil
		},
	}).(bff.Option)
}

// route is the events route of one handler.
type route struct {
	pool *realtime.Pool
	env  hook.Env

	mu sync.Mutex
	// streams are the open streams of each member (by the pool's key);
	// closing a stream's channel ends it, when the member signs out.
	streams map[string]map[chan struct{}]struct{}
}

// errSignedOut ends the streams of a member who signed out.
var errSignedOut = errors.New("bffevents: the member signed out")

// errTokenInEvent ends a stream whose event holds a token.
var errTokenInEvent = errors.New("bffevents: an event holds the member's token")

// Channels a stream can relay, as named in the channels query parameter.
const (
	// ChannelNotifications is the member's NotificationChannel:
	// "newNotification", "updateNewNotificationCount" and
	// "resetNewNotificationCount". A stream relays it when the request
	// names no channel.
	ChannelNotifications = "notifications"
	// ChannelChatRooms is the member's ChatRoomChannel: what concerns the
	// rooms the member takes part in ("chatRoomCreated",
	// "chatRoomUpdated", "chatRoomDeleted", "chatRoomRead") and the
	// message events of those rooms ("newMessage", "updatedMessage",
	// "deletedMessage", under the names Circle sends).
	ChannelChatRooms = "chat_rooms"
)

// channelsParam is the query parameter that names a stream's channels.
const channelsParam = "channels"

// maxChannelsParam bounds the channels parameter's length.
const maxChannelsParam = 256

// subscription is one channel of a stream: its name in the query and how
// to subscribe to it on the member's connection.
type subscription struct {
	name string
	open func(*realtime.Conn, context.Context) iter.Seq2[realtime.Event, error]
	// reads are the Member API operations that read what the channel
	// relays: a stream relays the channel only when the handler's
	// operation check (bff.WithOperationCheck) allows each of them.
	reads []string
}

// known are the channels a stream can relay, in the order a stream lists
// them.
var known = []subscription{
	{ChannelNotifications, (*realtime.Conn).Notifications, []string{"listNotifications"}},
	{ChannelChatRooms, (*realtime.Conn).ChatRooms, []string{"listChatRooms", "listChatMessages"}},
}

// parseChannels reads the channels query parameter (comma-separated,
// possibly repeated): the channels to relay, or false when it names one
// the route does not relay, names none, or is too long. No parameter
// means notifications, as before channels existed; named says whether it
// was given.
func parseChannels(q map[string][]string) (subs []subscription, named, ok bool) {
	values, named := q[channelsParam]
	if !named {
		return known[:1], false, true
	}
	want := map[string]bool{}
	n := 0
	for _, v := range values {
		n += len(v) + 1
		if n > maxChannelsParam {
			return nil, true, false
		}
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if !slices.ContainsFunc(known, func(s subscription) bool { return s.name == name }) {
				return nil, true, false
			}
			want[name] = true
		}
	}
	for _, s := range known {
		if want[s.name] {
			subs = append(subs, s)
		}
	}
	return subs, true, len(subs) > 0
}

// relayed is one event of a stream, with the channel it came from.
type relayed struct {
	channel string
	e       realtime.Event
}

// merge subscribes to every channel of subs on conn and yields their
// events as they come, until ctx ends, the consumer stops, or one
// subscription ends with an error (yielded last). Each subscription
// buffers for the consumer within the connection's bounds
// ([realtime.WithBufferSize], [realtime.MaxBufferedBytes]); merge holds
// no event of its own beyond the one being handed over. It returns once
// every subscription has ended.
func merge(ctx context.Context, conn *realtime.Conn, subs []subscription) iter.Seq2[relayed, error] {
	return func(yield func(relayed, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		type item struct {
			r   relayed
			err error
		}
		items := make(chan item)
		var wg sync.WaitGroup
		defer wg.Wait()
		defer cancel()
		for _, s := range subs {
			wg.Go(func() {
				for e, err := range s.open(conn, ctx) {
					select {
					case items <- item{relayed{s.name, e}, err}:
					case <-ctx.Done():
						return
					}
					if err != nil {
						return
					}
				}
			})
		}
		for {
			select {
			case it := <-items:
				if !yield(it.r, it.err) || it.err != nil {
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}
}

// allowed reports whether the handler's operation check allows every
// operation that reads what the channels of subs relay: a stream shows a
// member nothing the proxy would not let the member read.
func (rt *route) allowed(r *http.Request, subs []subscription) bool {
	if rt.env.Check == nil {
		return true
	}
	for _, s := range subs {
		for _, op := range s.reads {
			if rt.env.Check(r, op) != nil {
				return false
			}
		}
	}
	return true
}

// serve streams the member's events of the channels the request names.
func (rt *route) serve(w http.ResponseWriter, r *http.Request, src *circle.MemberTokenSource) []slog.Attr {
	q, err := url.ParseQuery(r.URL.RawQuery)
	subs, named, ok := parseChannels(q)
	if err != nil || !ok {
		rt.env.WriteError(w, http.StatusBadRequest, "bad_request",
			"channels must name one or more of "+ChannelNotifications+" and "+ChannelChatRooms+", separated by commas")
		return []slog.Attr{slog.String("end", "bad_channels")}
	}
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	channels := slog.String("channels", strings.Join(names, ","))
	if !rt.allowed(r, subs) {
		rt.env.WriteError(w, http.StatusForbidden, "forbidden", "a channel asked for is not allowed")
		return []slog.Attr{channels, slog.String("end", "channel_not_allowed")}
	}
	key := src.Identity().String()
	// Registered before the dial, so that a logout during it is seen.
	out := rt.register(key)
	defer rt.unregister(key, out)
	conn, err := rt.pool.Conn(r.Context(), key, src)
	if err != nil {
		return []slog.Attr{channels, slog.String("end", rt.refuse(w, r, err))}
	}
	select {
	case <-out:
		rt.env.WriteError(w, http.StatusUnauthorized, "unauthorized", "the member signed out")
		return []slog.Attr{channels, slog.String("end", "signed_out")}
	default:
	}
	// The connection has just used the source's token: it is cached, and
	// taking it mints nothing.
	guard := tokenGuard{src: src}
	if err := guard.take(r.Context()); err != nil {
		return []slog.Attr{channels, slog.String("end", rt.refuse(w, r, err))}
	}
	n := 0
	encode := func(v relayed) (sse.Message, error) {
		m, err := sse.RealtimeEvent(v.e)
		if err != nil {
			return m, err
		}
		if named && v.e.Name == realtime.EventReconnected {
			// Every channel has its own gap: say whose.
			m.Data = []byte(`{"channel":"` + v.channel + `"}`)
		}
		if guard.holds(r.Context(), m) {
			return sse.Message{}, errTokenInEvent
		}
		n++
		return m, nil
	}
	open := func(ctx context.Context) iter.Seq2[relayed, error] {
		return func(yield func(relayed, error) bool) {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() {
				select {
				case <-out:
					cancel()
				case <-ctx.Done():
				}
			}()
			for v, err := range merge(ctx, conn, subs) {
				if !yield(v, err) {
					return
				}
			}
			select {
			case <-out:
				yield(relayed{}, errSignedOut)
			default:
			}
		}
	}
	err = sse.Stream(w, r, open, encode, sse.Options{ErrorData: errorData})
	return []slog.Attr{
		channels,
		slog.Int64("member", conn.MemberID()),
		slog.Int("events", n),
		slog.String("end", endKind(err)),
	}
}

// register records a stream of the member key; the channel it returns is
// closed when the member signs out.
func (rt *route) register(key string) chan struct{} {
	out := make(chan struct{})
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.streams[key] == nil {
		rt.streams[key] = map[chan struct{}]struct{}{}
	}
	rt.streams[key][out] = struct{}{}
	return out
}

func (rt *route) unregister(key string, out chan struct{}) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	delete(rt.streams[key], out)
	if len(rt.streams[key]) == 0 {
		delete(rt.streams, key)
	}
}

// signedOut ends the streams of src's member, each with a last error
// event "signed_out": bff's logout calls it before revoking the tokens.
func (rt *route) signedOut(src *circle.MemberTokenSource) {
	key := src.Identity().String()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for out := range rt.streams[key] {
		close(out)
	}
	delete(rt.streams, key)
}

// refuse answers a failure to get the member's connection, before the
// stream starts, and returns its kind for the log line.
func (rt *route) refuse(w http.ResponseWriter, r *http.Request, err error) string {
	switch {
	case errors.Is(err, realtime.ErrPoolFull):
		w.Header().Set("Retry-After", "30")
		rt.env.WriteError(w, http.StatusServiceUnavailable, "unavailable", "too many members are following events; try again later")
		return "pool_full"
	case errors.Is(err, realtime.ErrClosed):
		rt.env.WriteError(w, http.StatusServiceUnavailable, "unavailable", "events are not served any more")
		return "closed"
	case errors.Is(err, circle.ErrUnauthorized), errors.Is(err, circle.ErrForbidden):
		rt.env.WriteError(w, http.StatusUnauthorized, "unauthorized", "the member has no access to Circle")
		return "unauthorized"
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		rt.env.WriteError(w, http.StatusServiceUnavailable, "unavailable", "the request ended")
		return "client"
	case errors.Is(err, context.DeadlineExceeded):
		rt.env.WriteError(w, http.StatusGatewayTimeout, "timeout", "Circle's cable did not answer in time")
		return "timeout"
	}
	var api *circle.APIError
	if errors.As(err, &api) && api.StatusCode < 500 && api.StatusCode != http.StatusTooManyRequests {
		rt.env.WriteError(w, http.StatusUnauthorized, "unauthorized", "the member has no access to Circle")
		return "unauthorized"
	}
	rt.env.WriteError(w, http.StatusBadGateway, "bad_gateway", "Circle's cable could not be reached")
	return "bad_gateway"
}

// errorData is the data of the last "error" event: a fixed kind, never
// the error's text.
func errorData(err error) []byte {
	return []byte(`{"error":"` + endKind(err) + `"}`)
}

// endKind names why a stream ended, for the client and the log line.
func endKind(err error) string {
	switch {
	case err == nil:
		return "client"
	case errors.Is(err, realtime.ErrUnauthorized), errors.Is(err, circle.ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, realtime.ErrSlowConsumer):
		return "slow_consumer"
	case errors.Is(err, errTokenInEvent):
		return "token_in_event"
	case errors.Is(err, errSignedOut):
		return "signed_out"
	}
	return "stream_ended"
}

// tokenGuard finds the member's tokens in what is about to be sent, in
// any encoding [redact.Redact] undoes: the tokens of the source when the
// stream started, and those it holds once they expired (the connection,
// which takes its tokens from the same source, has renewed by then). It
// never asks the source for a token before the one it holds expires: a
// token revoked elsewhere (another replica, the host's Revoke) would make
// the source mint a fresh pair at Circle just to scan an event.
type tokenGuard struct {
	src     *circle.MemberTokenSource
	secrets []string  // the latest few, access and refresh
	until   time.Time // when the latest access token taken expires
}

// maxGuarded bounds the tokens remembered by one stream.
const maxGuarded = 8

// take adds the source's current tokens to those looked for.
func (g *tokenGuard) take(ctx context.Context) error {
	tok, err := g.src.Token(ctx)
	if err != nil {
		return err
	}
	for _, s := range []string{tok.AccessToken, tok.RefreshToken} {
		if s != "" && !slices.Contains(g.secrets, s) {
			if len(g.secrets) == maxGuarded {
				g.secrets = g.secrets[1:]
			}
			g.secrets = append(g.secrets, s)
		}
	}
	g.until = tok.AccessTokenExpiresAt
	return nil
}

func (g *tokenGuard) holds(ctx context.Context, m sse.Message) bool {
	if !time.Now().Before(g.until) {
		_ = g.take(ctx) // on failure, the tokens held are still looked for
	}
	return !bytes.Equal(redact.Redact(m.Data, g.secrets), m.Data) ||
		redact.String(m.Event, g.secrets) != m.Event || redact.String(m.ID, g.secrets) != m.ID
}
