package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
)

// The Action Cable protocol, as Rails speaks it and Circle's cable serves
// it: JSON text frames. The server sends a frame with a "type" (welcome,
// ping, confirm_subscription, reject_subscription, disconnect) or a frame
// with an "identifier" and a "message" (a broadcast to one subscription).
// The client sends commands: subscribe and unsubscribe, each naming the
// subscription by its identifier, a JSON object encoded as a string.

// subprotocol is the one Action Cable's JavaScript client asks for.
const subprotocol = "actioncable-v1-json"

// Frame types sent by an Action Cable server.
const (
	typeWelcome    = "welcome"
	typePing       = "ping"
	typeConfirm    = "confirm_subscription"
	typeReject     = "reject_subscription"
	typeDisconnect = "disconnect"
)

// frame is one decoded server frame.
type frame struct {
	Type       string          `json:"type"`
	Identifier string          `json:"identifier"`
	Message    json.RawMessage `json:"message"`
	Reason     string          `json:"reason"`
	Reconnect  *bool           `json:"reconnect"`
}

// errBadFrame marks a frame that is not Action Cable JSON.
var errBadFrame = errors.New("realtime: the cable sent a frame that is not an Action Cable JSON object")

// parseFrame decodes one server frame. It fails when p is not a JSON object
// or a known field has the wrong JSON type; unknown fields are ignored.
func parseFrame(p []byte) (frame, error) {
	var f frame
	p = bytes.TrimSpace(p)
	if len(p) == 0 || p[0] != '{' {
		return frame{}, errBadFrame
	}
	if err := json.Unmarshal(p, &f); err != nil {
		return frame{}, fmt.Errorf("%w: %v", errBadFrame, shortErr(err))
	}
	if f.Type == "" && f.Identifier == "" {
		return frame{}, fmt.Errorf("%w: neither a type nor an identifier", errBadFrame)
	}
	return f, nil
}

// shortErr keeps a decoding error's message short: encoding/json may quote
// part of the input, which is the server's and has no place in a long
// message.
func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// Channel names one Action Cable subscription: the channel class and its
// parameters, which together make the subscription's identifier.
type Channel struct {
	// Name is the channel class, such as "NotificationChannel".
	Name string
	// Params are the identifier's other keys, such as
	// {"community_member_id": 42}. Values must encode as JSON.
	Params map[string]any
}

// identifier encodes c as Action Cable's identifier: a JSON object with
// "channel" first and the other keys sorted, so that one channel always
// has one identifier.
func (c Channel) identifier() (string, error) {
	if c.Name == "" {
		return "", errors.New("realtime: a channel needs a name")
	}
	keys := make([]string, 0, len(c.Params))
	for k := range c.Params {
		if k == "channel" {
			return "", errors.New(`realtime: a channel parameter may not be named "channel"`)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteString(`{"channel":`)
	name, _ := json.Marshal(c.Name)
	b.Write(name)
	for _, k := range keys {
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(c.Params[k])
		if err != nil {
			return "", fmt.Errorf("realtime: channel %s: parameter %s: %w", c.Name, k, err)
		}
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.String(), nil
}

// String returns the channel's identifier, or its name when the identifier
// cannot be encoded.
func (c Channel) String() string {
	id, err := c.identifier()
	if err != nil {
		return c.Name
	}
	return id
}

// command encodes a client command (subscribe, unsubscribe) for identifier.
func command(cmd, identifier string) []byte {
	b := make([]byte, 0, 32+len(identifier)*2)
	b = append(b, `{"command":`...)
	b = strconv.AppendQuote(b, cmd)
	b = append(b, `,"identifier":`...)
	id, _ := json.Marshal(identifier)
	b = append(b, id...)
	b = append(b, '}')
	return b
}
