package circletest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// cableClient is a bare Action Cable client over coder/websocket, to test
// the endpoint without package realtime.
type cableClient struct {
	t  *testing.T
	ws *websocket.Conn
}

// dialCable connects to s's cable, and returns the client, the HTTP
// status of the handshake (0 when none arrived) and the error.
func dialCable(t *testing.T, s *Server, token, origin string) (*cableClient, int, error) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+CablePath, &websocket.DialOptions{
		HTTPHeader: h, Subprotocols: []string{"actioncable-v1-json"},
	})
	status := 0
	if resp != nil {
		status = resp.StatusCode
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
	}
	if err != nil {
		return nil, status, err
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &cableClient{t: t, ws: ws}, status, nil
}

// next reads the next frame that is not a ping.
func (c *cableClient) next() map[string]any {
	c.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
		_, p, err := c.ws.Read(ctx)
		cancel()
		if err != nil {
			c.t.Fatalf("reading: %v", err)
		}
		var f map[string]any
		if err := json.Unmarshal(p, &f); err != nil {
			c.t.Fatalf("frame %q: %v", p, err)
		}
		if f["type"] != "ping" {
			return f
		}
	}
}

// closed reports whether the server ends the connection within a while.
func (c *cableClient) closed() bool {
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	for {
		_, p, err := c.ws.Read(ctx)
		if err != nil {
			return ctx.Err() == nil
		}
		_ = p
	}
}

func (c *cableClient) subscribe(identifier string) map[string]any {
	c.t.Helper()
	cmd, _ := json.Marshal(map[string]string{"command": "subscribe", "identifier": identifier})
	if err := c.ws.Write(c.t.Context(), websocket.MessageText, cmd); err != nil {
		c.t.Fatal(err)
	}
	return c.next()
}

func TestCableWelcomesPingsAndConfirms(t *testing.T) {
	s := Start(t)
	s.SetCablePingInterval(20 * time.Millisecond)
	m, tok := newMemberToken(t, s)
	c, _, err := dialCable(t, s, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.ws.Subprotocol() != "actioncable-v1-json" {
		t.Errorf("subprotocol %q", c.ws.Subprotocol())
	}
	if f := c.next(); f["type"] != "welcome" {
		t.Fatalf("first frame %v", f)
	}
	// Pings come.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, p, err := c.ws.Read(ctx)
	if err != nil || !strings.Contains(string(p), `"type":"ping"`) {
		t.Fatalf("got %q, %v; want a ping", p, err)
	}

	own := `{"channel":"NotificationChannel","community_member_id":` + jsonInt(m.ID) + `}`
	if f := c.subscribe(own); f["type"] != "confirm_subscription" || f["identifier"] != own {
		t.Fatalf("own channel: %v", f)
	}
	for _, id := range []string{
		`{"channel":"NotificationChannel","community_member_id":` + jsonInt(m.ID+1) + `}`, // another member's
		`{"channel":"AdminChannel"}`, // unknown
		`not json`,
	} {
		if f := c.subscribe(id); f["type"] != "reject_subscription" {
			t.Fatalf("%s: %v", id, f)
		}
	}
	if got := s.CableSubscriptions(m.ID); len(got) != 1 || got[0] != own {
		t.Fatalf("subscriptions %v", got)
	}
	hs := s.CableHandshakes()
	if len(hs) != 1 || !hs[0].Accepted || hs[0].MemberID != m.ID || hs[0].TokenID == "" || strings.Contains(hs[0].TokenID, tok[:8]) {
		t.Fatalf("handshakes %+v", hs)
	}
}

func TestCableRefusesBadTokensAndOrigins(t *testing.T) {
	s := Start(t)
	m, tok := newMemberToken(t, s)
	for name, token := range map[string]string{"none": "", "unknown": "not-a-token"} {
		c, _, err := dialCable(t, s, token, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f := c.next()
		if f["type"] != "disconnect" || f["reason"] != "unauthorized" || f["reconnect"] != false {
			t.Fatalf("%s: got %v, want an unauthorized disconnect", name, f)
		}
		if !c.closed() {
			t.Fatalf("%s: the connection stayed open", name)
		}
	}

	s.SetCableUnauthorized(m.ID, true)
	c, _, err := dialCable(t, s, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	if f := c.next(); f["reason"] != "unauthorized" {
		t.Fatalf("a refused member: %v", f)
	}
	s.SetCableUnauthorized(m.ID, false)

	s.SetAllowedOrigins("https://ok.example")
	if _, status, err := dialCable(t, s, tok, "https://evil.example"); err == nil || status != http.StatusForbidden {
		t.Fatalf("a foreign Origin: %v", err)
	}
	if _, _, err := dialCable(t, s, tok, "https://ok.example"); err != nil {
		t.Fatalf("an allowed Origin: %v", err)
	}
}

func TestPublishEventRoutesByMemberAndRoom(t *testing.T) {
	s := Start(t)
	m, tok := newMemberToken(t, s)
	other, otherTok := newMemberToken(t, s)
	c, _, err := dialCable(t, s, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	c.next() // welcome
	member := `{"channel":"ChatRoomChannel","community_member_id":` + jsonInt(m.ID) + `}`
	room7 := `{"channel":"ChatRoomChannel","chat_room_id":7}`
	roomU := `{"channel":"ChatRoomChannel","chat_room_uuid":"u-9"}`
	for _, id := range []string{member, room7, roomU} {
		if f := c.subscribe(id); f["type"] != "confirm_subscription" {
			t.Fatal(f)
		}
	}
	d, _, err := dialCable(t, s, otherTok, "")
	if err != nil {
		t.Fatal(err)
	}
	d.next()
	d.subscribe(`{"channel":"ChatRoomChannel","chat_room_id":7}`)

	got := func(c *cableClient) (string, string) {
		f := c.next()
		msg, _ := f["message"].(map[string]any)
		return f["identifier"].(string), msg["event"].(string)
	}
	s.PublishEvent(m.ID, "ChatRoomChannel", "newMessage", map[string]any{"id": 1, "chat_room_id": 7})
	seen := map[string]string{}
	for range 2 {
		id, ev := got(c)
		seen[id] = ev
	}
	if seen[member] != "newMessage" || seen[room7] != "newMessage" || len(seen) != 2 {
		t.Fatalf("room 7's message went to %v", seen)
	}
	s.PublishEvent(m.ID, "ChatRoomChannel", "chatRoomUpdated", map[string]any{"chat_room": map[string]any{"uuid": "u-9"}})
	seen = map[string]string{}
	for range 2 {
		id, ev := got(c)
		seen[id] = ev
	}
	if seen[member] != "chatRoomUpdated" || seen[roomU] != "chatRoomUpdated" {
		t.Fatalf("room u-9's update went to %v", seen)
	}
	// Another channel, and the other member, hear nothing of it.
	s.PublishEvent(m.ID, "NotificationChannel", "newNotification", map[string]any{})
	s.PublishEvent(other.ID, "ChatRoomChannel", "deletedMessage", map[string]any{"chat_room_id": 7})
	if id, ev := got(d); id != room7 || ev != "deletedMessage" {
		t.Fatalf("the other member got %s %s", id, ev)
	}
}

func TestCableControlsEndConnections(t *testing.T) {
	s := Start(t)
	s.SetCablePingInterval(20 * time.Millisecond)
	m, tok := newMemberToken(t, s)

	c, _, _ := dialCable(t, s, tok, "")
	c.next()
	if n := s.DisconnectCable(m.ID, "server_restart", true); n != 1 {
		t.Fatalf("disconnected %d", n)
	}
	if f := c.next(); f["type"] != "disconnect" || f["reason"] != "server_restart" || f["reconnect"] != true {
		t.Fatalf("got %v", f)
	}
	if !c.closed() {
		t.Fatal("open after DisconnectCable")
	}

	c, _, _ = dialCable(t, s, tok, "")
	c.next()
	s.DropCableConnections()
	if !c.closed() {
		t.Fatal("open after DropCableConnections")
	}

	c, _, _ = dialCable(t, s, tok, "")
	c.next()
	s.SendCableFrame(m.ID, []byte("raw bytes"))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for {
		_, p, err := c.ws.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(p) == "raw bytes" {
			break
		}
	}
	// The token expires on the server's clock: the member is disconnected
	// at the next beat.
	s.Advance(2 * time.Hour)
	if f := c.next(); f["type"] != "disconnect" || f["reason"] != "unauthorized" {
		t.Fatalf("after expiry: %v", f)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.CableConnections(0) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("connections left open")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCloseEndsCableConnections(t *testing.T) {
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	_, tok := newMemberToken(t, s)
	c, _, err := dialCable(t, s, tok, "")
	if err != nil {
		t.Fatal(err)
	}
	c.next()
	s.Close() // returns once the cable's goroutines are gone
	if n := s.CableConnections(0); n != 0 {
		t.Fatalf("%d connections after Close", n)
	}
	if !c.closed() {
		t.Fatal("the client's socket stayed open")
	}
}

func jsonInt(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
