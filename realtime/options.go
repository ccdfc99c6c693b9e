package realtime

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/circlekit/headless-go/circle"
)

// Defaults of the options.
const (
	// DefaultMaxFrameSize is the largest frame read from the cable (1 MiB).
	DefaultMaxFrameSize = 1 << 20
	// DefaultBufferSize is how many events one subscription holds for a
	// consumer that has not read them yet.
	DefaultBufferSize = 256
	// DefaultStaleTimeout is how long the connection may go without a
	// frame before it is taken for dead: two missed pings of Action
	// Cable's 3-second beat, as its JavaScript client does.
	DefaultStaleTimeout = 6 * time.Second
	// DefaultHandshakeTimeout bounds a connection attempt: the WebSocket
	// handshake and Action Cable's welcome.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait between
	// reconnection attempts, which doubles from the first to the second,
	// with jitter.
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// Option configures [Dial] and [NewPool].
type Option func(*config)

type config struct {
	baseURL      string
	cableURL     string // explicit; else derived from baseURL
	origin       string
	client       *http.Client
	maxFrame     int64
	buffer       int
	stale        time.Duration
	handshake    time.Duration
	minBackoff   time.Duration
	maxBackoff   time.Duration
	idle         time.Duration
	grace        time.Duration // see firstUseGrace
	logger       *slog.Logger
	err          error
	resolvedURL  string // the cable URL in use
	resolvedHost string // its origin, for messages
}

func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		baseURL:    circle.DefaultBaseURL,
		maxFrame:   DefaultMaxFrameSize,
		buffer:     DefaultBufferSize,
		stale:      DefaultStaleTimeout,
		handshake:  DefaultHandshakeTimeout,
		minBackoff: DefaultMinBackoff,
		maxBackoff: DefaultMaxBackoff,
		grace:      firstUseGrace,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if c.err != nil {
		return nil, c.err
	}
	u, err := cableURL(c.baseURL, c.cableURL)
	if err != nil {
		return nil, err
	}
	c.resolvedURL = u.String()
	c.resolvedHost = u.Scheme + "://" + u.Host
	c.client = noRedirects(c.client)
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// cableURL returns the cable endpoint: explicit when set, else the base
// URL's origin with ws or wss and the path /cable.
func cableURL(base, explicit string) (*url.URL, error) {
	if explicit != "" {
		u, err := url.Parse(explicit)
		if err != nil || u.Host == "" || (u.Scheme != "ws" && u.Scheme != "wss") || u.User != nil {
			return nil, fmt.Errorf("realtime: WithCableURL: %q is not a ws:// or wss:// URL without credentials", explicit)
		}
		u.Fragment = ""
		return u, nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("realtime: WithBaseURL: %q is not an absolute http(s) URL without credentials", base)
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	case "http":
		u.Scheme = "ws"
	default:
		return nil, fmt.Errorf("realtime: WithBaseURL: %q is not an http or https URL", base)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/cable"}, nil
}

// noRedirects returns a copy of c (or a new client) that follows no
// redirect: the handshake carries the member's token, which must reach
// the cable's origin and no other.
func noRedirects(c *http.Client) *http.Client {
	var n http.Client
	if c != nil {
		n = *c
	}
	n.CheckRedirect = func(*http.Request, []*http.Request) error {
		return errors.New("realtime: the cable answered with a redirect, which is not followed (the request carries the member's token)")
	}
	return &n
}

// WithBaseURL sets Circle's base URL (default [circle.DefaultBaseURL]).
// The cable URL is derived from it: the same host with ws or wss and the
// path /cable, so that the member's token goes where the Member API's
// does.
func WithBaseURL(u string) Option {
	return func(c *config) {
		if strings.TrimSpace(u) == "" {
			c.fail(errors.New("realtime: WithBaseURL: empty URL"))
		}
		c.baseURL = u
	}
}

// WithCableURL sets the cable's URL (ws:// or wss://) in place of the
// one derived from the base URL. The member's token is sent there, and
// only there: the handshake follows no redirect.
func WithCableURL(u string) Option {
	return func(c *config) {
		if strings.TrimSpace(u) == "" {
			c.fail(errors.New("realtime: WithCableURL: empty URL"))
		}
		c.cableURL = u
	}
}

// WithOrigin sets the Origin header of the handshake. Circle accepts only
// the origins the community allowed (its whitelisted domains), such as
// "https://community.example.com". Without it no Origin is sent.
func WithOrigin(origin string) Option {
	return func(c *config) {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil ||
			(u.Scheme != "http" && u.Scheme != "https") {
			c.fail(fmt.Errorf("realtime: WithOrigin: %q is not an origin such as https://example.com", origin))
		}
		c.origin = origin
	}
}

// WithHTTPClient sets the HTTP client of the handshake (its Transport
// dials the connection; its Timeout, if any, bounds the handshake). The
// client is copied, and the copy follows no redirect.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if hc == nil {
			c.fail(errors.New("realtime: WithHTTPClient: nil client"))
		}
		c.client = hc
	}
}

// WithMaxFrameSize sets the largest frame read from the cable (default
// [DefaultMaxFrameSize]). A larger frame ends the connection for good with
// an error matching [ErrFrameTooLarge].
func WithMaxFrameSize(n int64) Option {
	return func(c *config) {
		if n < 512 {
			c.fail(fmt.Errorf("realtime: WithMaxFrameSize: %d is below 512 bytes", n))
		}
		c.maxFrame = n
	}
}

// WithBufferSize sets how many events one subscription holds for its
// consumer (default [DefaultBufferSize]). A consumer that falls further
// behind gets [ErrSlowConsumer].
func WithBufferSize(n int) Option {
	return func(c *config) {
		if n < 1 || n > 1<<20 {
			c.fail(fmt.Errorf("realtime: WithBufferSize: %d is not between 1 and 1048576", n))
		}
		c.buffer = n
	}
}

// WithStaleTimeout sets how long the connection may go without any frame
// (Circle pings every few seconds) before it is taken for dead and
// replaced (default [DefaultStaleTimeout]).
func WithStaleTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail(fmt.Errorf("realtime: WithStaleTimeout: %v is not positive", d))
		}
		c.stale = d
	}
}

// WithHandshakeTimeout bounds one connection attempt: the WebSocket
// handshake and the cable's welcome (default [DefaultHandshakeTimeout]).
func WithHandshakeTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.fail(fmt.Errorf("realtime: WithHandshakeTimeout: %v is not positive", d))
		}
		c.handshake = d
	}
}

// WithReconnectBackoff sets the wait between reconnection attempts: from
// about minWait, doubling with each failed attempt, up to maxWait, with
// jitter (defaults [DefaultMinBackoff] and [DefaultMaxBackoff]).
func WithReconnectBackoff(minWait, maxWait time.Duration) Option {
	return func(c *config) {
		if minWait <= 0 || maxWait < minWait {
			c.fail(fmt.Errorf("realtime: WithReconnectBackoff: need 0 < min <= max, got %v and %v", minWait, maxWait))
		}
		c.minBackoff, c.maxBackoff = minWait, maxWait
	}
}

// firstUseGrace is how long a connection just handed out waits for its
// first subscription: the socket [Dial] opened stays open that long (or
// the idle timeout, when longer) if no subscription comes, and a
// connection [Pool.Conn] returned is not evicted for that long unless a
// subscription starts on it first. Tests shorten it.
const firstUseGrace = 5 * time.Second

// WithIdleTimeout sets how long a connection stays open once its last
// subscription has ended (default 0: it closes as soon as the last one
// ends). A later subscription opens it again. The socket [Dial] opens
// waits for a first subscription for the idle timeout, or 5 s when that
// is longer, then closes: a connection never subscribed holds no socket
// and no goroutine after that.
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail(fmt.Errorf("realtime: WithIdleTimeout: %v is negative", d))
		}
		c.idle = d
	}
}

// WithLogger sets a logger for connection changes (connected, lost,
// renewed), at debug and warn levels. No token is ever logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			c.fail(errors.New("realtime: WithLogger: nil logger"))
		}
		c.logger = l
	}
}
