package circletest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// CablePath is where the server answers Circle's real-time endpoint (the
// Action Cable WebSocket of Circle's "Websockets (Beta)"): ws://<URL>/cable.
const CablePath = "/cable"

// cableSendBuffer is how many frames wait for a slow client before the
// server drops its connection.
const cableSendBuffer = 1024

// cableReadLimit bounds a client's frame (commands are small).
const cableReadLimit = 64 << 10

// cableHub is the state of the cable endpoint.
type cableHub struct {
	mu         sync.Mutex
	conns      map[*cableConn]struct{}
	origins    []string
	ping       time.Duration
	noPing     bool
	refused    map[int64]bool
	handshakes []CableHandshake
	wg         sync.WaitGroup
}

// cableConn is one open cable connection.
type cableConn struct {
	member  int64
	token   string
	expires time.Time
	ws      *websocket.Conn
	subs    map[string]map[string]any // identifier to its decoded keys; hub.mu
	out     chan []byte
	done    chan struct{}
	once    sync.Once
}

func (c *cableConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.ws.CloseNow()
	})
}

// CableHandshake records one connection attempt on the cable endpoint.
type CableHandshake struct {
	// Time is the server clock's time of the attempt.
	Time time.Time
	// MemberID is the member whose live token the attempt carried, or 0.
	MemberID int64
	// TokenID identifies the access token without showing it: the first
	// 12 hex digits of its SHA-256. Two attempts with the same token have
	// the same TokenID.
	TokenID string
	// Origin is the attempt's Origin header.
	Origin string
	// Accepted reports whether the cable welcomed the connection.
	Accepted bool
	// Refusal says why it did not: "origin" (answered 403 before the
	// upgrade) or "unauthorized" (a disconnect frame after it).
	Refusal string
}

func (s *Server) hub() *cableHub {
	s.cableOnce.Do(func() {
		s.cable = &cableHub{conns: map[*cableConn]struct{}{}, refused: map[int64]bool{}, ping: 3 * time.Second}
	})
	return s.cable
}

// closeCable ends every cable connection and waits for their goroutines;
// Close calls it.
func (s *Server) closeCable() {
	h := s.hub()
	h.mu.Lock()
	for c := range h.conns {
		c.close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// SetAllowedOrigins sets the Origin headers the cable accepts, such as
// "https://community.example.com", as Circle accepts only the domains a
// community allowed. A handshake with another Origin (or none) is answered
// 403. With none set, every Origin is accepted.
func (s *Server) SetAllowedOrigins(origins ...string) {
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.origins = slices.Clone(origins)
}

// SetCablePingInterval sets how often the cable pings every connection
// (Action Cable's beat, 3 s by default). Tests shorten it to make a
// client's watchdog fire quickly. It applies to connections opened later.
func (s *Server) SetCablePingInterval(d time.Duration) {
	if d <= 0 {
		panic(fmt.Sprintf("circletest: SetCablePingInterval: %v is not positive", d))
	}
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ping = d
}

// SetCablePinging switches the cable's pings on or off (on by default).
// Off, connections stay open but silent, as a half-open TCP connection
// looks to a client: its watchdog must notice.
func (s *Server) SetCablePinging(on bool) {
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.noPing = !on
}

// SetCableUnauthorized makes the cable refuse the member's connections, as
// Circle refuses a member who lost access: each new connection is sent a
// "disconnect" with reason "unauthorized" (and reconnect false) instead of
// the welcome, then closed. It does not touch open connections; see
// [Server.DisconnectCable].
func (s *Server) SetCableUnauthorized(memberID int64, refused bool) {
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	if refused {
		h.refused[memberID] = true
	} else {
		delete(h.refused, memberID)
	}
}

// DropCableConnections closes every open cable connection at once,
// without a close frame or a "disconnect", as a network failure or a
// server restart would.
func (s *Server) DropCableConnections() {
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		c.close()
	}
}

// DisconnectCable sends the member's open connections an Action Cable
// "disconnect" with reason and reconnect, then closes them, as Circle does
// when it restarts ("server_restart", true) or refuses a token
// ("unauthorized", false). memberID 0 means every member. It returns how
// many connections it closed.
func (s *Server) DisconnectCable(memberID int64, reason string, reconnect bool) int {
	b, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": reason, "reconnect": reconnect})
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for c := range h.conns {
		if memberID == 0 || c.member == memberID {
			n++
			c.sendThenClose(b)
		}
	}
	return n
}

// SendCableFrame sends frame as it is (any bytes, as a text frame) to the
// member's open connections, for tests of what a client does with a
// hostile or broken cable: a huge frame, a frame that is not JSON. It
// returns how many connections it was queued on.
func (s *Server) SendCableFrame(memberID int64, frame []byte) int {
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for c := range h.conns {
		if c.member == memberID {
			n++
			c.queue(slices.Clone(frame))
		}
	}
	return n
}

// CableConnections returns how many cable connections of the member are
// open (memberID 0: of every member).
func (s *Server) CableConnections(memberID int64) int {
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for c := range h.conns {
		if memberID == 0 || c.member == memberID {
			n++
		}
	}
	return n
}

// CableSubscriptions returns the identifiers the member's open
// connections are subscribed to, one entry per connection and
// subscription, sorted.
func (s *Server) CableSubscriptions(memberID int64) []string {
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for c := range h.conns {
		if c.member == memberID {
			for id := range c.subs {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

// CableHandshakes returns every connection attempt on the cable endpoint
// so far, in order.
func (s *Server) CableHandshakes() []CableHandshake {
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.handshakes)
}

// PublishEvent broadcasts the event name with data to the member's
// subscriptions of channel, as Circle does when the member's state
// changes: each receives {"identifier": ..., "message": {"event": name,
// "data": data}}.
//
// channel is the Action Cable channel class ("NotificationChannel",
// "ChatRoomChannel", "ChatThreadsChannel"). A subscription keyed by the
// member (community_member_id) gets every event of its channel; one keyed
// by a room (chat_room_id or chat_room_uuid) gets only the events whose
// data names that room: its chat_room_id, chat_room_uuid, chat_room.id
// or, for the chatRoom* events, its id or uuid. data is encoded as JSON;
// PublishEvent panics if it cannot be, a mistake in the test. A
// subscription that is not open yet misses the event, as on Circle.
func (s *Server) PublishEvent(memberID int64, channel, name string, data any) {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(fmt.Sprintf("circletest: PublishEvent(%q): %v", name, err))
	}
	msg, _ := json.Marshal(map[string]any{"event": name, "data": json.RawMessage(raw)})
	room := roomOf(name, raw)
	h := s.hub()
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		if c.member != memberID {
			continue
		}
		for id, keys := range c.subs {
			if keys["channel"] != channel || !room.matches(keys) {
				continue
			}
			b, _ := json.Marshal(map[string]any{"identifier": id, "message": json.RawMessage(msg)})
			c.queue(b)
		}
	}
}

// roomRef is the room an event's data names.
type roomRef struct {
	id   string // decimal, or ""
	uuid string
}

// matches reports whether a subscription with keys gets an event of room.
func (r roomRef) matches(keys map[string]any) bool {
	id, hasID := keys["chat_room_id"]
	uuid, hasUUID := keys["chat_room_uuid"]
	switch {
	case hasID:
		return r.id != "" && cableScalar(id) == r.id
	case hasUUID:
		return r.uuid != "" && cableScalar(uuid) == r.uuid
	}
	return true
}

// roomOf finds the room that an event's data names.
func roomOf(name string, raw []byte) roomRef {
	var d struct {
		ChatRoomID   any             `json:"chat_room_id"`
		ChatRoomUUID string          `json:"chat_room_uuid"`
		ChatRoom     json.RawMessage `json:"chat_room"`
		ID           any             `json:"id"`
		UUID         string          `json:"uuid"`
	}
	if json.Unmarshal(raw, &d) != nil {
		return roomRef{}
	}
	r := roomRef{id: cableScalar(d.ChatRoomID), uuid: d.ChatRoomUUID}
	if len(d.ChatRoom) > 0 && d.ChatRoom[0] == '{' {
		var in struct {
			ID   any    `json:"id"`
			UUID string `json:"uuid"`
		}
		if json.Unmarshal(d.ChatRoom, &in) == nil {
			r.id, r.uuid = cmp.Or(r.id, cableScalar(in.ID)), cmp.Or(r.uuid, in.UUID)
		}
	}
	if strings.HasPrefix(name, "chatRoom") {
		r.id, r.uuid = cmp.Or(r.id, cableScalar(d.ID)), cmp.Or(r.uuid, d.UUID)
	}
	return r
}

// cableScalar renders a JSON number or string as a string ("" otherwise).
func cableScalar(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case string:
		return x
	}
	return ""
}

// tokenID fingerprints a token for CableHandshake.
func tokenID(tok string) string {
	if tok == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:6])
}

// serveCable answers the cable endpoint: it checks the Origin, upgrades to
// a WebSocket, checks the member's token, and speaks Action Cable.
func (s *Server) serveCable(w http.ResponseWriter, r *http.Request) {
	h := s.hub()
	tok := bearer(r)
	hs := CableHandshake{Time: s.Now(), TokenID: tokenID(tok), Origin: r.Header.Get("Origin")}

	h.mu.Lock()
	allowed := len(h.origins) == 0 || slices.Contains(h.origins, hs.Origin)
	ping := h.ping
	h.mu.Unlock()
	if !allowed {
		hs.Refusal = "origin"
		h.record(hs)
		http.Error(w, "circletest: the cable does not accept this Origin", http.StatusForbidden)
		return
	}

	member, expires, live := s.liveToken(tok)
	if live {
		hs.MemberID = member
	}
	h.mu.Lock()
	if h.refused[member] {
		live = false
	}
	h.mu.Unlock()

	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:       []string{"actioncable-v1-json", "actioncable-unsupported"},
		InsecureSkipVerify: true, // the Origin was checked above
	})
	if err != nil {
		return // Accept answered the client
	}
	ws.SetReadLimit(cableReadLimit)
	ctx := context.Background()
	if !live {
		hs.Refusal = "unauthorized"
		h.record(hs)
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = ws.Write(wctx, websocket.MessageText, []byte(`{"type":"disconnect","reason":"unauthorized","reconnect":false}`))
		cancel()
		_ = ws.CloseNow()
		return
	}
	hs.Accepted = true

	c := &cableConn{
		member: member, token: tok, expires: expires, ws: ws,
		subs: map[string]map[string]any{},
		out:  make(chan []byte, cableSendBuffer),
		done: make(chan struct{}),
	}
	h.mu.Lock()
	select {
	case <-s.closed:
		h.mu.Unlock()
		_ = ws.CloseNow()
		return
	default:
	}
	h.conns[c] = struct{}{}
	h.handshakes = append(h.handshakes, hs)
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()
	defer func() {
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
		c.close()
	}()

	c.queue([]byte(`{"type":"welcome"}`))
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s.cableWriter(c, ping)
	}()
	s.cableReader(c)
}

func (h *cableHub) record(hs CableHandshake) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handshakes = append(h.handshakes, hs)
}

// liveToken returns the member and expiry of a live access token.
func (s *Server) liveToken(tok string) (int64, time.Time, bool) {
	if tok == "" {
		return 0, time.Time{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.access[tok]
	if !ok || !s.now.Before(t.expires) {
		return 0, time.Time{}, false
	}
	return t.member, t.expires, true
}

// queue hands a frame to the connection's writer; a client too slow to
// take cableSendBuffer frames is dropped. h.mu may be held.
func (c *cableConn) queue(b []byte) {
	select {
	case c.out <- b:
	case <-c.done:
	default:
		c.close()
	}
}

// sendThenClose queues a last frame and closes the connection once the
// writer has sent it.
func (c *cableConn) sendThenClose(b []byte) {
	select {
	case c.out <- b:
		c.queue(nil) // nil: close after what is queued
	default:
		c.close()
	}
}

// cableWriter sends queued frames and pings, and disconnects the member
// when the access token expires on the server's clock.
func (s *Server) cableWriter(c *cableConn, ping time.Duration) {
	t := time.NewTicker(ping)
	defer t.Stop()
	write := func(b []byte) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.ws.Write(ctx, websocket.MessageText, b) == nil
	}
	for {
		select {
		case <-c.done:
			return
		case <-s.closed:
			c.close()
			return
		case b := <-c.out:
			if b == nil || !write(b) {
				c.close()
				return
			}
		case <-t.C:
			if !s.Now().Before(c.expires) {
				write([]byte(`{"type":"disconnect","reason":"unauthorized","reconnect":false}`))
				c.close()
				return
			}
			h := s.hub()
			h.mu.Lock()
			silent := h.noPing
			h.mu.Unlock()
			if silent {
				continue
			}
			if !write([]byte(`{"type":"ping","message":` + strconv.FormatInt(time.Now().Unix(), 10) + `}`)) {
				c.close()
				return
			}
		}
	}
}

// cableReader handles the client's commands until the connection ends.
func (s *Server) cableReader(c *cableConn) {
	h := s.hub()
	for {
		_, p, err := c.ws.Read(context.Background())
		if err != nil {
			return
		}
		var cmd struct {
			Command    string `json:"command"`
			Identifier string `json:"identifier"`
		}
		if json.Unmarshal(p, &cmd) != nil || cmd.Identifier == "" {
			continue // Action Cable logs and ignores what it cannot parse
		}
		switch cmd.Command {
		case "subscribe":
			keys, ok := s.subscribable(c.member, cmd.Identifier)
			typ := "reject_subscription"
			if ok {
				typ = "confirm_subscription"
				h.mu.Lock()
				c.subs[cmd.Identifier] = keys
				h.mu.Unlock()
			}
			b, _ := json.Marshal(map[string]string{"identifier": cmd.Identifier, "type": typ})
			c.queue(b)
		case "unsubscribe":
			h.mu.Lock()
			delete(c.subs, cmd.Identifier)
			h.mu.Unlock()
		}
	}
}

// subscribable decodes an identifier and decides whether member may
// subscribe: a known channel, and no community_member_id but the
// member's own.
func (s *Server) subscribable(member int64, identifier string) (map[string]any, bool) {
	var keys map[string]any
	if json.Unmarshal([]byte(identifier), &keys) != nil {
		return nil, false
	}
	switch keys["channel"] {
	case "NotificationChannel", "ChatRoomChannel", "ChatThreadsChannel":
	default:
		return nil, false
	}
	if v, ok := keys["community_member_id"]; ok && cableScalar(v) != strconv.FormatInt(member, 10) {
		return nil, false
	}
	return keys, true
}
