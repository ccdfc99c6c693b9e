package realtime

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/circlekit/headless-go/circle"
)

// Conn is one member's connection to Circle's cable, made by [Dial]. Its
// subscriptions ([Conn.Notifications], [Conn.ChatRooms], [Conn.ChatRoom],
// [Conn.Threads], [Conn.Subscribe]) are iterators; the connection keeps
// them fed without the caller's help:
//
//   - Reconnecting. A dropped connection, a "disconnect" that allows
//     reconnecting, or a connection silent for longer than the stale
//     timeout (Circle pings every 3 seconds; no frame for
//     [WithStaleTimeout] means it is dead even when TCP has not noticed)
//     is replaced: at once with a little jitter, then after a backoff that
//     doubles up to [WithReconnectBackoff]'s maximum. Every subscription
//     is subscribed again, and each gets an [EventReconnected] once the
//     cable confirms it: events sent while it was down are lost.
//   - Renewal. Before the access token expires (the expiry the token
//     source gives: a quarter of its lifetime early, at most 30 s), a new
//     connection is opened with a fresh token, every subscription is
//     confirmed on it, and only then does it replace the old one. Nothing
//     is lost and no event is sent; an event broadcast during the overlap
//     may arrive twice.
//   - Unauthorized. When the cable refuses the token (a "disconnect" with
//     reason "unauthorized", or a 401), the token source is asked once for
//     a replacement ([circle.Refresher]'s RefreshRejected, as the Member
//     API's 401 replay does); if the cable refuses that one too, every
//     subscription ends with [ErrUnauthorized]. Each token the cable
//     welcomes is reported to a source that has an Accepted(accessToken
//     string) method ([circle.MemberTokenSource.Accepted]), so that a
//     refusal hours after a welcome counts as a first one, not as the
//     refusal of a token just issued.
//   - Limits. A frame over [WithMaxFrameSize] ends the connection with
//     [ErrFrameTooLarge]. Each subscription holds at most
//     [WithBufferSize] events and [MaxBufferedBytes] of them for its
//     consumer; one that falls further behind ends with [ErrSlowConsumer]
//     instead of growing memory. A "disconnect" that does not allow
//     reconnecting ends it with a [*DisconnectError].
//   - Lifetime. The socket is open while a subscription is (and for
//     [WithIdleTimeout] after the last one ends); a later subscription
//     opens it again. The socket Dial opened waits for the first
//     subscription 5 s (or the idle timeout, when longer), then closes.
//     An open Conn runs one goroutine; an idle one none. [Conn.Close]
//     ends everything.
//
// The member's token goes only to the cable's URL (derived from the base
// URL, or [WithCableURL]); the handshake follows no redirect. No error,
// log line or formatted value of the package shows it.
//
// A Conn is safe for concurrent use; several subscriptions, to the same
// channel or to others, share its one socket.
type Conn struct {
	ts     circle.TokenSource
	cfg    *config
	member int64

	life      context.Context // ends with Close
	closeLife context.CancelFunc

	connects atomic.Int64
	renewals atomic.Int64

	bg sync.WaitGroup // renewals in flight

	mu         sync.Mutex
	channels   map[string]*channel
	nsubs      int
	running    bool          // a run goroutine exists
	runDone    chan struct{} // closed when it exits
	stopRun    context.CancelFunc
	idleStop   bool // the run goroutine was told to stop for idleness
	idleTimer  *time.Timer
	ws         *websocket.Conn // the live socket, or nil
	gen        uint64          // counts sockets, so that a late renewal knows it is late
	kick       context.CancelFunc
	renewTimer *time.Timer
	next       *handover
	closed     bool
	// reserved counts the callers [Pool.Conn] handed the connection to
	// and whose first subscription has not started; until reservedUntil
	// the pool does not evict it for them.
	reserved      int
	reservedUntil time.Time
	err           error         // terminal
	dead          chan struct{} // closed with err
}

// channel is one Action Cable subscription and its consumers.
type channel struct {
	ch        Channel
	id        string
	subs      map[*sub]struct{}
	confirmed bool
	gap       bool // send EventReconnected at the next confirmation
	rejected  bool
}

// handover is a renewed socket, with its subscriptions confirmed, ready to
// replace the live one.
type handover struct {
	ws      *websocket.Conn
	tok     circle.Token
	sent    map[string]bool // identifiers subscribed on it
	pending [][]byte        // frames it read while waiting, to handle in order
}

// Stats counts what a connection did.
type Stats struct {
	// Connects counts sockets opened and welcomed, renewals included.
	Connects int64
	// Renewals counts sockets that replaced a live one before its token
	// expired.
	Renewals int64
}

// Dial connects to Circle's cable as the member of ts and waits for the
// cable's welcome, so that a wrong URL, a refused Origin or a refused
// token fails here. The token must name its member
// (CommunityMemberID), which the member's channels are keyed by. ctx
// bounds the dial only; the connection lives until [Conn.Close].
//
// A refused token is replaced once through the source (see [Conn]); any
// other failure is returned at once, as a [*HandshakeError] when the
// cable answered with an HTTP status.
func Dial(ctx context.Context, ts circle.TokenSource, opts ...Option) (*Conn, error) {
	if ts == nil {
		return nil, errors.New("realtime: Dial: nil token source")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	life, closeLife := context.WithCancel(context.Background())
	c := &Conn{
		ts: ts, cfg: cfg, life: life, closeLife: closeLife,
		channels: map[string]*channel{},
		dead:     make(chan struct{}),
	}
	ws, tok, err := c.connectOnce(ctx, "")
	if errors.Is(err, errUnauthorizedOnce) {
		ws, tok, err = c.connectOnce(ctx, tok.AccessToken)
		if errors.Is(err, errUnauthorizedOnce) {
			err = ErrUnauthorized
		}
	}
	if err != nil {
		closeLife()
		return nil, err
	}
	if tok.CommunityMemberID == 0 {
		_ = ws.CloseNow()
		closeLife()
		return nil, errors.New("realtime: Dial: the member token names no community member (CommunityMemberID is 0)")
	}
	c.member = tok.CommunityMemberID
	c.mu.Lock()
	c.startLocked(ws, tok)
	c.armIdleLocked(max(c.cfg.idle, c.cfg.grace)) // until the first subscription
	c.mu.Unlock()
	return c, nil
}

// MemberID returns the community member the connection acts for.
func (c *Conn) MemberID() int64 { return c.member }

// Stats returns what the connection did so far.
func (c *Conn) Stats() Stats {
	return Stats{Connects: c.connects.Load(), Renewals: c.renewals.Load()}
}

// String describes the connection without its token.
func (c *Conn) String() string {
	return fmt.Sprintf("realtime.Conn{member: %d, cable: %s}", c.member, c.cfg.resolvedURL)
}

// GoString is like String, so that %#v shows no token either.
func (c *Conn) GoString() string { return c.String() }

// Format prints the connection as String does, whatever the verb.
func (c *Conn) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// Close closes the socket, ends every subscription with [ErrClosed], and
// returns once the connection's goroutines have exited. It may be called
// more than once.
func (c *Conn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.failLocked(ErrClosed)
	done := c.runDone
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	c.mu.Unlock()
	c.closeLife()
	if done != nil {
		<-done
	}
	c.bg.Wait()
	return nil
}

// Err returns the error that ended the connection for good, or nil while
// it lives.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Notifications subscribes to the member's notifications
// (NotificationChannel): [EventNewNotification],
// [EventUpdateNewNotificationCount], [EventResetNewNotificationCount],
// and [EventReconnected] after a gap. See [Conn.Subscribe].
func (c *Conn) Notifications(ctx context.Context) iter.Seq2[Event, error] {
	return c.Subscribe(ctx, Channel{Name: "NotificationChannel", Params: map[string]any{"community_member_id": c.member}})
}

// ChatRooms subscribes to the member's chat channel (ChatRoomChannel with
// the member's id): what concerns the member's rooms
// ([EventChatRoomCreated], [EventChatRoomUpdated],
// [EventChatRoomDeleted], [EventChatRoomRead]) and the member-specific
// message events Circle sends there. See [Conn.Subscribe].
func (c *Conn) ChatRooms(ctx context.Context) iter.Seq2[Event, error] {
	return c.Subscribe(ctx, Channel{Name: "ChatRoomChannel", Params: map[string]any{"community_member_id": c.member}})
}

// ChatRoom subscribes to one room's channel, which carries what is common
// to all its participants: messages created, updated and deleted
// ([Event.ChatMessage]) and room-wide changes ([EventChatRoomUpdated]).
// The identifier is ChatRoomChannel with chat_room_id; Circle's beta page
// names the room's stream but not its identifier's keys, so use
// [Conn.Subscribe] if Circle expects others. See [Conn.Subscribe].
func (c *Conn) ChatRoom(ctx context.Context, roomID int64) iter.Seq2[Event, error] {
	return c.Subscribe(ctx, Channel{Name: "ChatRoomChannel", Params: map[string]any{"chat_room_id": roomID}})
}

// Threads subscribes to the member's chat threads channel
// (ChatThreadsChannel with the member's id), which carries the messages
// of the threads the member follows. Circle's beta page names the
// stream, not its identifier: use [Conn.Subscribe] if Circle expects
// another. See [Conn.Subscribe].
func (c *Conn) Threads(ctx context.Context) iter.Seq2[Event, error] {
	return c.Subscribe(ctx, Channel{Name: "ChatThreadsChannel", Params: map[string]any{"community_member_id": c.member}})
}

// Subscribe returns an iterator over the events of one Action Cable
// channel. The subscription starts when the loop starts and ends when it
// does: when the loop breaks or ctx ends (quietly: no error is yielded),
// or with a yielded error that ends it for good: [ErrSlowConsumer], a
// [*SubscriptionError] when the cable rejects it, or the error that ended
// the connection ([ErrUnauthorized], [ErrFrameTooLarge],
// [*DisconnectError], [ErrClosed]). Transient failures are not errors:
// the connection heals itself and yields [EventReconnected].
func (c *Conn) Subscribe(ctx context.Context, ch Channel) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		id, err := ch.identifier()
		if err != nil {
			yield(Event{}, err)
			return
		}
		if err := ctx.Err(); err != nil {
			return
		}
		s, err := c.add(ch, id)
		if err != nil {
			yield(Event{}, err)
			return
		}
		defer c.remove(id, s)
		for {
			if e, ok := s.pop(); ok {
				if !yield(e, nil) {
					return
				}
				continue
			}
			select {
			case <-s.notify:
			case <-s.stop:
				if e, ok := s.pop(); ok && !errors.Is(s.err, ErrSlowConsumer) {
					// Events that arrived before the end are delivered.
					if !yield(e, nil) {
						return
					}
					continue
				}
				yield(Event{}, s.err)
				return
			case <-ctx.Done():
				return
			}
		}
	}
}

// add registers a consumer of channel id, subscribing it on the live
// socket or starting the connection.
func (c *Conn) add(ch Channel, id string) (*sub, error) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	st := c.channels[id]
	isNew := st == nil
	if isNew {
		st = &channel{ch: ch, id: id, subs: map[*sub]struct{}{}}
		c.channels[id] = st
	}
	s := newSub(c.cfg.buffer)
	st.subs[s] = struct{}{}
	c.nsubs++
	if c.reserved > 0 {
		c.reserved--
	}
	c.idleStop = false
	if c.idleTimer != nil {
		c.idleTimer.Stop()
		c.idleTimer = nil
	}
	ws := c.ws
	if !c.running {
		c.startLocked(nil, circle.Token{})
		ws = nil
	}
	c.mu.Unlock()
	if isNew && ws != nil {
		c.send(ws, command("subscribe", id))
	}
	return s, nil
}

// remove unregisters consumer s of channel id: it unsubscribes the channel
// when s was its last consumer, and lets the connection go idle when s
// was the last of all.
func (c *Conn) remove(id string, s *sub) {
	c.mu.Lock()
	st := c.channels[id]
	if st == nil {
		c.mu.Unlock()
		return
	}
	if _, ok := st.subs[s]; !ok {
		c.mu.Unlock()
		return
	}
	delete(st.subs, s)
	c.nsubs--
	last := len(st.subs) == 0
	if last {
		delete(c.channels, id)
	}
	ws := c.ws
	var wait chan struct{}
	if c.nsubs == 0 && c.err == nil {
		if c.cfg.idle == 0 {
			wait = c.stopIdleLocked()
		} else {
			c.armIdleLocked(c.cfg.idle)
		}
	}
	c.mu.Unlock()
	if wait != nil {
		<-wait // the socket is closed and the goroutine gone
		return
	}
	if last && ws != nil && !st.rejected {
		c.send(ws, command("unsubscribe", id))
	}
}

// armIdleLocked closes the socket after d unless a subscription arrives
// first.
func (c *Conn) armIdleLocked(d time.Duration) {
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	c.idleTimer = time.AfterFunc(d, func() {
		c.mu.Lock()
		if c.nsubs == 0 {
			c.stopIdleLocked()
		}
		c.mu.Unlock()
	})
}

// stopIdleLocked tells the run goroutine to close the socket and exit, and
// returns the channel closed when it has.
func (c *Conn) stopIdleLocked() chan struct{} {
	if !c.running {
		return nil
	}
	c.idleStop = true
	c.stopRun()
	return c.runDone
}

// send writes one command, bounded by the handshake timeout. A failure is
// not reported: the socket is then dead, and the read loop replaces it
// and subscribes everything again.
func (c *Conn) send(ws *websocket.Conn, cmd []byte) {
	ctx, cancel := context.WithTimeout(c.life, c.cfg.handshake)
	defer cancel()
	_ = ws.Write(ctx, websocket.MessageText, cmd)
}

// startLocked starts the run goroutine, with a live socket or none.
func (c *Conn) startLocked(ws *websocket.Conn, tok circle.Token) {
	runCtx, stop := context.WithCancel(c.life)
	c.running = true
	c.stopRun = stop
	c.runDone = make(chan struct{})
	go c.run(runCtx, ws, tok, c.runDone)
}

// failLocked ends the connection for good with err.
func (c *Conn) failLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	close(c.dead)
	for _, st := range c.channels {
		for s := range st.subs {
			s.end(err)
		}
	}
}

// errUnauthorizedOnce marks a refusal of the token: a 401 handshake or a
// "disconnect" with reason "unauthorized".
var errUnauthorizedOnce = errors.New("realtime: the cable refused the member's token")

// errStale is why a silent connection was dropped.
var errStale = errors.New("realtime: no frame from the cable within the stale timeout")

// errReconnect is a "disconnect" that allows reconnecting.
var errReconnect = errors.New("realtime: the cable asked to reconnect")

// run keeps the connection alive until ctx ends (Close, or idleness) or a
// terminal error. It owns the live socket.
func (c *Conn) run(ctx context.Context, ws *websocket.Conn, tok circle.Token, done chan struct{}) {
	defer c.exit(done)
	var (
		attempt  int    // failed attempts in a row
		refused  int    // refusals of the token since the last welcome
		rejected string // the refused access token, to replace
		lost     = ws != nil
	)
	for {
		if ws == nil {
			// A connection opened for a new subscription goes at once; one
			// that was lost waits a little (see pause).
			if lost && !c.pause(ctx, attempt) {
				return
			}
			lost = true
			var err error
			ws, tok, err = c.connectOnce(ctx, rejected)
			switch {
			case err == nil:
				refused, rejected = 0, ""
			case ctx.Err() != nil:
				return
			case errors.Is(err, errUnauthorizedOnce):
				refused++
				if refused >= 2 {
					c.fail(ErrUnauthorized)
					return
				}
				rejected = tok.AccessToken
				attempt++
				continue
			case errors.Is(err, ErrUnauthorized):
				c.fail(ErrUnauthorized)
				return
			case errors.Is(err, circle.ErrUnauthorized):
				// The source itself gives up (revoked, or the member lost
				// access): no token will come.
				c.fail(fmt.Errorf("%w: %w", ErrUnauthorized, err))
				return
			default:
				c.cfg.logger.Warn("realtime: connecting failed", "member", c.member, "attempt", attempt+1, "error", err)
				attempt++
				continue
			}
		}
		started := time.Now()
		next, err := c.serve(ctx, ws, tok, nil)
		for next != nil {
			c.renewals.Add(1)
			c.cfg.logger.Debug("realtime: connection renewed", "member", c.member)
			ws, tok = next.ws, next.tok
			next, err = c.serve(ctx, ws, tok, next)
		}
		ws = nil
		if time.Since(started) > c.cfg.stale {
			attempt = 0 // it lived: no backoff beyond the jitter
		} else {
			attempt++
		}
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errUnauthorizedOnce):
			refused++
			if refused >= 2 {
				c.fail(ErrUnauthorized)
				return
			}
			rejected = tok.AccessToken
		case errors.Is(err, ErrFrameTooLarge):
			c.fail(ErrFrameTooLarge)
			return
		case isDisconnect(err):
			c.fail(err)
			return
		default:
			c.cfg.logger.Debug("realtime: connection lost; reconnecting", "member", c.member, "error", err)
		}
	}
}

func isDisconnect(err error) bool {
	var d *DisconnectError
	return errors.As(err, &d)
}

// exit is the run goroutine's last act: it starts another one if a
// subscription arrived while this one was stopping for idleness.
func (c *Conn) exit(done chan struct{}) {
	c.mu.Lock()
	c.running = false
	c.stopRun()
	close(done)
	if c.nsubs > 0 && c.err == nil && c.life.Err() == nil {
		c.startLocked(nil, circle.Token{})
	}
	c.mu.Unlock()
}

func (c *Conn) fail(err error) {
	c.mu.Lock()
	c.failLocked(err)
	c.mu.Unlock()
}

// pause waits before attempt n+1 after n failed ones, and reports false
// when ctx ends first. The wait is a little jitter for the first (so that
// many connections dropped at once do not come back at once), then
// doubles from the minimum to the maximum, each jittered between half and
// all of it: wider than the quarter circle's retries take off, since a
// cable restart drops every member's connection at the same moment.
func (c *Conn) pause(ctx context.Context, n int) bool {
	d := c.cfg.minBackoff
	for i := 1; i < n && d < c.cfg.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.maxBackoff)
	if n == 0 {
		d = rand.N(d)
	} else {
		d = d/2 + rand.N(d/2+1)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// connectOnce obtains a token (a replacement of rejected, when set) and
// opens a welcomed socket with it. The token is returned even on failure,
// so that a refused one can be replaced.
func (c *Conn) connectOnce(ctx context.Context, rejected string) (*websocket.Conn, circle.Token, error) {
	var (
		tok circle.Token
		err error
	)
	if rejected != "" {
		r, ok := c.ts.(circle.Refresher)
		if !ok {
			return nil, tok, ErrUnauthorized
		}
		tok, err = r.RefreshRejected(ctx, rejected)
		if err == nil && tok.AccessToken == rejected {
			return nil, tok, ErrUnauthorized
		}
		if errors.Is(err, circle.ErrUnauthorized) {
			return nil, tok, ErrUnauthorized
		}
	} else {
		tok, err = c.ts.Token(ctx)
	}
	if err != nil {
		return nil, tok, redact(fmt.Errorf("realtime: member token: %w", err), tok.AccessToken, tok.RefreshToken)
	}
	if tok.AccessToken == "" {
		return nil, tok, errors.New("realtime: the token source returned an empty access token")
	}
	ws, err := c.open(ctx, tok)
	return ws, tok, redact(err, tok.AccessToken, tok.RefreshToken)
}

// acceptor is a token source that records which of its tokens Circle took,
// as [circle.MemberTokenSource.Accepted] does: a welcomed token that the
// cable refuses hours later is then replaced, not taken for a member who
// lost access.
type acceptor interface {
	Accepted(accessToken string)
}

// open dials the cable with tok and waits for its welcome, telling the
// token source that the cable took tok (see acceptor).
func (c *Conn) open(ctx context.Context, tok circle.Token) (*websocket.Conn, error) {
	hctx, cancel := context.WithTimeout(ctx, c.cfg.handshake)
	defer cancel()
	h := http.Header{"Authorization": {"Bearer " + tok.AccessToken}}
	if c.cfg.origin != "" {
		h.Set("Origin", c.cfg.origin)
	}
	ws, resp, err := websocket.Dial(hctx, c.cfg.resolvedURL, &websocket.DialOptions{
		HTTPClient:   c.cfg.client,
		HTTPHeader:   h,
		Subprotocols: []string{subprotocol},
	})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close() // the library keeps what it needs
	}
	if err != nil {
		he := &HandshakeError{URL: c.cfg.resolvedURL, err: err}
		if resp != nil {
			he.StatusCode = resp.StatusCode
			if resp.StatusCode == http.StatusUnauthorized {
				return nil, fmt.Errorf("%w (HTTP 401)", errUnauthorizedOnce)
			}
		}
		return nil, he
	}
	ws.SetReadLimit(c.cfg.maxFrame)
	for {
		_, p, err := ws.Read(hctx)
		if err != nil {
			_ = ws.CloseNow()
			if errors.Is(err, websocket.ErrMessageTooBig) {
				return nil, ErrFrameTooLarge
			}
			return nil, &HandshakeError{URL: c.cfg.resolvedURL, err: fmt.Errorf("waiting for the welcome: %w", err)}
		}
		f, err := parseFrame(p)
		if err != nil {
			_ = ws.CloseNow()
			return nil, err
		}
		switch f.Type {
		case typeWelcome:
			c.connects.Add(1)
			if a, ok := c.ts.(acceptor); ok {
				a.Accepted(tok.AccessToken)
			}
			return ws, nil
		case typeDisconnect:
			_ = ws.CloseNow()
			return nil, disconnectErr(f)
		}
	}
}

// disconnectErr classifies a "disconnect" frame.
func disconnectErr(f frame) error {
	switch {
	case f.Reason == "unauthorized":
		return errUnauthorizedOnce
	case f.Reconnect == nil || *f.Reconnect:
		// Rails sends reconnect with every disconnect; an old server
		// that sends none means the default, which is to reconnect.
		return fmt.Errorf("%w (reason %q)", errReconnect, f.Reason)
	default:
		return &DisconnectError{Reason: f.Reason}
	}
}

// serve reads the live socket ws until it ends, handling every frame. h is
// the handover that made ws live, if any. It returns a renewed socket to
// continue with, or why ws ended.
func (c *Conn) serve(ctx context.Context, ws *websocket.Conn, tok circle.Token, h *handover) (*handover, error) {
	sctx, kick := context.WithCancel(ctx)
	defer kick()
	var subscribe []string
	c.mu.Lock()
	c.gen++
	gen := c.gen
	c.ws, c.kick = ws, kick
	for id, st := range c.channels {
		if st.rejected {
			continue
		}
		if h != nil && h.sent[id] {
			continue // subscribed on the renewed socket already
		}
		st.confirmed = false
		subscribe = append(subscribe, id)
	}
	c.armRenewalLocked(sctx, gen, tok)
	c.mu.Unlock()
	for _, id := range subscribe {
		c.send(ws, command("subscribe", id))
	}

	end := func(why error) (*handover, error) {
		c.mu.Lock()
		next := c.next
		c.next = nil
		c.ws, c.kick = nil, nil
		if c.renewTimer != nil {
			c.renewTimer.Stop()
			c.renewTimer = nil
		}
		if next == nil {
			for _, st := range c.channels {
				if st.confirmed {
					st.gap = true
				}
				st.confirmed = false
			}
		}
		c.mu.Unlock()
		if next != nil {
			_ = ws.CloseNow()
			return next, nil
		}
		_ = ws.CloseNow()
		return nil, why
	}

	if h != nil {
		for _, p := range h.pending {
			if err := c.handle(p); err != nil {
				return end(err)
			}
		}
	}
	for {
		rctx, cancel := context.WithTimeout(sctx, c.cfg.stale)
		_, p, err := ws.Read(rctx)
		stale := rctx.Err() == context.DeadlineExceeded && sctx.Err() == nil
		cancel()
		if err != nil {
			switch {
			case stale:
				err = errStale
			case errors.Is(err, websocket.ErrMessageTooBig):
				err = ErrFrameTooLarge
			}
			return end(err)
		}
		if err := c.handle(p); err != nil {
			return end(err)
		}
	}
}

// handle acts on one frame of the live socket. It returns an error when
// the socket must end.
func (c *Conn) handle(p []byte) error {
	f, err := parseFrame(p)
	if err != nil {
		return err
	}
	switch f.Type {
	case typePing, typeWelcome:
	case typeDisconnect:
		return disconnectErr(f)
	case typeConfirm:
		c.confirm(f.Identifier)
	case typeReject:
		c.reject(f.Identifier)
	case "":
		c.deliver(f.Identifier, f.Message)
	}
	return nil
}

func (c *Conn) confirm(id string) {
	c.mu.Lock()
	st := c.channels[id]
	if st == nil || st.confirmed {
		c.mu.Unlock()
		return
	}
	st.confirmed = true
	gap := st.gap
	st.gap = false
	subs := st.list()
	ch := st.ch
	c.mu.Unlock()
	if gap {
		e := Event{Name: EventReconnected, Channel: ch, Received: time.Now()}
		for _, s := range subs {
			s.push(e)
		}
	}
}

func (c *Conn) reject(id string) {
	c.mu.Lock()
	st := c.channels[id]
	if st == nil {
		c.mu.Unlock()
		return
	}
	st.rejected = true
	err := &SubscriptionError{Channel: st.ch}
	for s := range st.subs {
		s.end(err)
	}
	c.mu.Unlock()
}

func (c *Conn) deliver(id string, msg []byte) {
	if len(msg) == 0 {
		return
	}
	now := time.Now()
	c.mu.Lock()
	st := c.channels[id]
	if st == nil {
		c.mu.Unlock()
		return
	}
	ch := st.ch
	subs := st.list()
	c.mu.Unlock()
	e := newEvent(ch, msg, now)
	for _, s := range subs {
		s.push(e)
	}
}

func (st *channel) list() []*sub {
	out := make([]*sub, 0, len(st.subs))
	for s := range st.subs {
		out = append(out, s)
	}
	return out
}

// renewMargin is how long before the access token's expiry the connection
// is renewed: a quarter of the token's remaining lifetime, at most 30 s.
// A member token source refreshes earlier (by default, a minute or half
// the lifetime), so the renewal finds a fresh token.
func renewMargin(left time.Duration) time.Duration {
	return min(left/4, 30*time.Second)
}

// armRenewalLocked schedules the renewal of the socket of generation gen,
// whose token is tok. A token without an expiry, or one that has (nearly)
// expired by this machine's clock, is not renewed ahead: the cable's
// refusal will say when.
func (c *Conn) armRenewalLocked(ctx context.Context, gen uint64, tok circle.Token) {
	if tok.AccessTokenExpiresAt.IsZero() {
		return
	}
	left := time.Until(tok.AccessTokenExpiresAt)
	if left < 2*time.Second {
		return
	}
	c.scheduleRenewalLocked(ctx, gen, tok, left-renewMargin(left))
}

func (c *Conn) scheduleRenewalLocked(ctx context.Context, gen uint64, tok circle.Token, after time.Duration) {
	if c.renewTimer != nil {
		c.renewTimer.Stop()
	}
	c.renewTimer = time.AfterFunc(after, func() {
		c.mu.Lock()
		if c.gen != gen || c.ws == nil || c.closed {
			c.mu.Unlock()
			return
		}
		c.bg.Add(1)
		c.mu.Unlock()
		defer c.bg.Done()
		c.renew(ctx, gen, tok)
	})
}

// renew opens a socket with a fresh token, subscribes every channel on it,
// and hands it to the read loop, which switches to it.
func (c *Conn) renew(ctx context.Context, gen uint64, old circle.Token) {
	retry := func() {
		left := time.Until(old.AccessTokenExpiresAt)
		if left < time.Second || ctx.Err() != nil {
			return // the cable's refusal, if any, takes over
		}
		c.mu.Lock()
		if c.gen == gen && c.ws != nil {
			c.scheduleRenewalLocked(ctx, gen, old, min(max(left/4, 200*time.Millisecond), 5*time.Second))
		}
		c.mu.Unlock()
	}
	tok, err := c.ts.Token(ctx)
	if err != nil || tok.AccessToken == old.AccessToken || tok.AccessToken == "" {
		retry()
		return
	}
	ws, err := c.open(ctx, tok)
	if err != nil {
		c.cfg.logger.Warn("realtime: renewing the connection failed; will retry", "member", c.member, "error", redact(err, tok.AccessToken))
		retry()
		return
	}
	h, ok := c.prepare(ctx, ws, tok)
	if !ok {
		_ = ws.CloseNow()
		retry()
		return
	}
	c.mu.Lock()
	if c.gen != gen || c.ws == nil || c.kick == nil {
		c.mu.Unlock()
		_ = ws.CloseNow()
		return
	}
	c.next = h
	kick := c.kick
	c.mu.Unlock()
	kick()
}

// prepare subscribes every channel on the renewed socket ws and reads it
// until the cable has answered each subscription, keeping what it read.
func (c *Conn) prepare(ctx context.Context, ws *websocket.Conn, tok circle.Token) (*handover, bool) {
	h := &handover{ws: ws, tok: tok, sent: map[string]bool{}}
	c.mu.Lock()
	var ids []string
	for id, st := range c.channels {
		if !st.rejected {
			ids = append(ids, id)
		}
	}
	c.mu.Unlock()
	for _, id := range ids {
		h.sent[id] = true
		c.send(ws, command("subscribe", id))
	}
	waiting := len(ids)
	rctx, cancel := context.WithTimeout(ctx, c.cfg.handshake)
	defer cancel()
	var bytes int
	for waiting > 0 {
		_, p, err := ws.Read(rctx)
		if err != nil {
			return nil, false
		}
		f, err := parseFrame(p)
		if err != nil {
			return nil, false
		}
		switch f.Type {
		case typePing, typeWelcome:
			continue
		case typeDisconnect:
			return nil, false
		case typeConfirm, typeReject:
			if h.sent[f.Identifier] {
				waiting--
			}
		}
		bytes += len(p)
		if bytes > MaxBufferedBytes {
			return nil, false
		}
		h.pending = append(h.pending, p)
	}
	return h, true
}
