package realtime

import (
	"errors"
	"fmt"
	"strings"

	"github.com/circlekit/headless-go/circle"
)

var (
	// ErrUnauthorized ends a connection whose token the cable refused
	// twice in a row: once, then once more after a refresh through the
	// token source. It matches [circle.ErrUnauthorized] too.
	ErrUnauthorized = fmt.Errorf("realtime: the cable refused the member's token, and the refreshed one too: %w", circle.ErrUnauthorized)
	// ErrFrameTooLarge ends a connection whose cable sent a frame over the
	// size limit ([WithMaxFrameSize]).
	ErrFrameTooLarge = errors.New("realtime: the cable sent a frame over the size limit")
	// ErrSlowConsumer ends a subscription whose consumer fell behind by
	// more than its buffer ([WithBufferSize], [MaxBufferedBytes]): the
	// events that did not fit were dropped, so the iterator stops rather
	// than hide the gap. Subscribe again and refetch through the Member
	// API.
	ErrSlowConsumer = errors.New("realtime: the consumer fell behind the subscription's buffer; events were dropped")
	// ErrClosed is returned by a subscription of a [Conn] that was closed.
	ErrClosed = errors.New("realtime: connection closed")
	// ErrRejected is matched by the error of a subscription the cable
	// rejected (see [*SubscriptionError]).
	ErrRejected = errors.New("realtime: subscription rejected")
	// ErrPoolFull is returned by [Pool.Conn] when the pool holds its
	// maximum of connections and none is idle.
	ErrPoolFull = errors.New("realtime: the pool holds its maximum of connections, none idle")
)

// SubscriptionError is the error of a subscription that the cable
// rejected (reject_subscription): the member may not follow that channel,
// or Circle does not know it. It matches [ErrRejected].
type SubscriptionError struct {
	// Channel is the rejected subscription.
	Channel Channel
}

// Error names the channel.
func (e *SubscriptionError) Error() string {
	return "realtime: the cable rejected the subscription to " + e.Channel.String()
}

// Is makes the error match [ErrRejected].
func (e *SubscriptionError) Is(target error) bool { return target == ErrRejected }

// DisconnectError ends a connection that the cable closed with an Action
// Cable "disconnect" that does not allow reconnecting (for a reason other
// than "unauthorized", which has its own rule).
type DisconnectError struct {
	// Reason is the cable's reason, such as "remote" or "invalid_request".
	Reason string
}

// Error gives the reason.
func (e *DisconnectError) Error() string {
	return fmt.Sprintf("realtime: the cable disconnected the member for good (reason %q)", e.Reason)
}

// HandshakeError is the error of a connection attempt that the cable
// answered with an HTTP status other than 101: a refused Origin (Circle
// answers 403 or 404), a load balancer's 5xx. [Dial] returns it; once
// connected, the connection retries them with backoff.
type HandshakeError struct {
	// StatusCode is the HTTP status of the handshake's response, or 0 when
	// none arrived (the connection failed).
	StatusCode int
	// URL is the cable's URL.
	URL string
	err error
}

// Error describes the attempt without any header of it.
func (e *HandshakeError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("realtime: connecting to %s: the cable answered HTTP %d", e.URL, e.StatusCode)
	}
	return fmt.Sprintf("realtime: connecting to %s: %v", e.URL, e.err)
}

// Unwrap returns the cause.
func (e *HandshakeError) Unwrap() error { return e.err }

// redactedError hides a secret that an error's text would show.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Is lets the redacted error match what its cause matched, without
// handing out the cause itself (whose text holds the secret).
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// redact returns err, or an error with the same matches whose text does
// not contain any of secrets.
func redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	hit := false
	for _, s := range secrets {
		if len(s) >= 8 && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			hit = true
		}
	}
	if !hit {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
