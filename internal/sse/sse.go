// Package sse streams a Go iterator to a browser as Server-Sent Events
// (the text/event-stream format of the HTML standard): one message per
// value, comment lines as heartbeats so that proxies and the browser keep
// the response open, a flush after each, and an end when the client goes
// away.
//
// Package bff's real-time route relays a member's events
// (package realtime) with it:
//
//	err := sse.Stream(w, r, func(ctx context.Context) iter.Seq2[realtime.Event, error] {
//		return conn.Notifications(ctx)
//	}, sse.RealtimeEvent, sse.Options{})
package sse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/circlekit/headless-go/realtime"
)

// Message is one Server-Sent Event.
type Message struct {
	// Event is the event's type (the browser's EventSource dispatches it
	// to listeners of that name); empty means "message". Line breaks are
	// removed.
	Event string
	// Data is the payload; each of its lines becomes a data line.
	Data []byte
	// ID, when set, becomes the stream's last event id. Line breaks and
	// NUL are removed.
	ID string
}

// Options configures [Stream].
type Options struct {
	// Heartbeat is how often a comment line is written while no message
	// is (default 15 s), so that idle proxies keep the response open and
	// a client that went away is noticed.
	Heartbeat time.Duration
	// WriteTimeout bounds each write and flush (default 10 s): a client
	// that stops reading ends the stream instead of holding it.
	WriteTimeout time.Duration
	// Retry, when positive, is sent first as the browser's reconnection
	// delay.
	Retry time.Duration
	// ErrorData turns an error of the iterator into the data of a final
	// "error" event. The default sends {"error":"stream ended"}: the
	// error's text, which may describe the server, is not sent.
	ErrorData func(error) []byte
}

// ErrNoFlush is returned by [Stream] when the ResponseWriter cannot flush,
// which a stream needs.
var ErrNoFlush = errors.New("sse: the ResponseWriter cannot flush")

// Stream writes what open's iterator yields to w as Server-Sent Events,
// each encoded by encode, until the iterator ends, r's context ends (the
// client went away), or a write fails. It sets the response's headers
// (text/event-stream, no caching, no proxy buffering) and its status, 200.
//
// open receives a context that ends when Stream returns; the iterator must
// end when it does (realtime's subscriptions do). Stream returns once the
// iterator's goroutine is gone: nil when the iterator or the client
// ended the stream, the iterator's error after writing a last "error"
// event (see [Options.ErrorData]), or the write's error.
func Stream[T any](w http.ResponseWriter, r *http.Request, open func(context.Context) iter.Seq2[T, error], encode func(T) (Message, error), opts Options) error {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	out := &writer{w: w, rc: rc, timeout: opts.WriteTimeout}
	first := []byte(": stream\n\n")
	if opts.Retry > 0 {
		first = append(first, "retry: "+strconv.FormatInt(opts.Retry.Milliseconds(), 10)+"\n\n"...)
	}
	if err := out.write(first); err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			return ErrNoFlush
		}
		return err
	}

	ctx, cancel := context.WithCancel(r.Context())
	type item struct {
		v   T
		err error
	}
	items := make(chan item)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(items)
		for v, err := range open(ctx) {
			select {
			case items <- item{v, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	})
	defer wg.Wait()
	defer cancel()

	beat := time.NewTicker(opts.Heartbeat)
	defer beat.Stop()
	var buf bytes.Buffer
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			if err := out.write([]byte(": heartbeat\n\n")); err != nil {
				return err
			}
		case it, ok := <-items:
			if !ok {
				return nil
			}
			if it.err != nil {
				data := []byte(`{"error":"stream ended"}`)
				if opts.ErrorData != nil {
					data = opts.ErrorData(it.err)
				}
				buf.Reset()
				appendMessage(&buf, Message{Event: "error", Data: data})
				_ = out.write(buf.Bytes())
				return it.err
			}
			m, err := encode(it.v)
			if err != nil {
				return fmt.Errorf("sse: encoding a message: %w", err)
			}
			buf.Reset()
			appendMessage(&buf, m)
			if err := out.write(buf.Bytes()); err != nil {
				return err
			}
			beat.Reset(opts.Heartbeat)
		}
	}
}

// writer writes and flushes within a deadline.
type writer struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (o *writer) write(p []byte) error {
	_ = o.rc.SetWriteDeadline(time.Now().Add(o.timeout)) // not every writer has one
	if _, err := o.w.Write(p); err != nil {
		return err
	}
	return o.rc.Flush()
}

// appendMessage encodes m in the event-stream format.
func appendMessage(b *bytes.Buffer, m Message) {
	if m.ID != "" {
		b.WriteString("id: ")
		b.WriteString(oneLine(strings.ReplaceAll(m.ID, "\x00", "")))
		b.WriteByte('\n')
	}
	if m.Event != "" {
		b.WriteString("event: ")
		b.WriteString(oneLine(m.Event))
		b.WriteByte('\n')
	}
	data := bytes.ReplaceAll(m.Data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
}

func oneLine(s string) string {
	return strings.NewReplacer("\r", "", "\n", "").Replace(s)
}

// RealtimeEvent encodes an event of package realtime: the event's name as
// the SSE event type, its data (or {} when it has none, as
// [realtime.EventReconnected]) as the SSE data. Nothing else of the
// connection reaches the browser.
func RealtimeEvent(e realtime.Event) (Message, error) {
	data := []byte(e.Data)
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	name := e.Name
	if name == "" {
		name = "message"
	}
	return Message{Event: name, Data: data}, nil
}
