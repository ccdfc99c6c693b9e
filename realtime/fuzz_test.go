package realtime

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzFrame feeds arbitrary bytes to what reads the cable's frames: the
// frame parser, the event builder and every typed accessor. None may
// panic, and a frame that parses must say what it is.
func FuzzFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"welcome"}`,
		`{"type":"ping","message":1700000000}`,
		`{"identifier":"{\"channel\":\"NotificationChannel\"}","type":"confirm_subscription"}`,
		`{"type":"disconnect","reason":"unauthorized","reconnect":false}`,
		`{"identifier":"x","message":{"event":"updateNewNotificationCount","data":{"new_notifications_count":3}}}`,
		`{"identifier":"x","message":{"event":"chatRoomCreated","data":{"chat_room":{"id":5}}}}`,
		`{"identifier":"x","message":{"event":"newMessage","data":{"chat_room_message":{"id":1}}}}`,
		`{"identifier":"x","message":"plain"}`,
		`{"type":7}`, `[]`, `null`, ``, `{`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		fr, err := parseFrame(p)
		if err != nil {
			if !errors.Is(err, errBadFrame) {
				t.Fatalf("error not marked as a bad frame: %v", err)
			}
			return
		}
		if fr.Type == "" && fr.Identifier == "" {
			t.Fatal("a parsed frame with neither type nor identifier")
		}
		_ = disconnectErr(fr)
		e := newEvent(Channel{Name: "X"}, fr.Message, time.Unix(0, 0))
		if len(fr.Message) > 0 && string(e.Raw) != string(fr.Message) {
			t.Fatal("Raw differs from the message")
		}
		for _, name := range []string{e.Name, EventUpdateNewNotificationCount, EventResetNewNotificationCount,
			EventNewNotification, EventChatRoomCreated, EventMessageCreated} {
			e.Name = name
			_, _ = e.NotificationCount()
			_, _ = e.Notification()
			_, _ = e.ChatRoom()
			_, _ = e.ChatMessage()
		}
	})
}

// FuzzIdentifier checks that a channel's identifier is JSON that decodes
// back to the channel's name and parameters.
func FuzzIdentifier(f *testing.F) {
	f.Add("NotificationChannel", "community_member_id", int64(42))
	f.Add("ChatRoomChannel", "chat_room_id", int64(-1))
	f.Add("\"quoted\"\n", "k\u2028", int64(0))
	f.Fuzz(func(t *testing.T, name, key string, v int64) {
		ch := Channel{Name: name, Params: map[string]any{key: v}}
		id, err := ch.identifier()
		if name == "" || key == "channel" {
			if err == nil {
				t.Fatal("no error")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]any
		dec := json.NewDecoder(stringsReader(id))
		dec.UseNumber()
		if err := dec.Decode(&back); err != nil {
			t.Fatalf("identifier %q is not JSON: %v", id, err)
		}
		if back["channel"] != toValidUTF8(name) {
			t.Fatalf("channel %q came back as %q", name, back["channel"])
		}
		if n, ok := back[toValidUTF8(key)].(json.Number); !ok || n.String() != jsonInt(v) {
			t.Fatalf("param came back as %v", back[key])
		}
		var cmd struct{ Command, Identifier string }
		if err := json.Unmarshal(command("subscribe", id), &cmd); err != nil || cmd.Identifier != id || cmd.Command != "subscribe" {
			t.Fatalf("command: %+v, %v", cmd, err)
		}
	})
}
