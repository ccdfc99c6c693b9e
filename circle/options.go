package circle

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is the address of Circle's cloud, used unless [WithBaseURL]
// names another.
const DefaultBaseURL = "https://app.circle.so"

// Defaults of the options below.
const (
	// DefaultMaxRetries is how many more attempts an idempotent request gets
	// after a connection error or a retryable status; see [WithMaxRetries].
	DefaultMaxRetries = 2
	// DefaultExpiryMargin is how long before its expiry an access token is
	// refreshed; see [WithExpiryMargin].
	DefaultExpiryMargin = 60 * time.Second
	// DefaultCacheSize is how many member token sources an [AuthClient]
	// keeps; see [WithCacheSize].
	DefaultCacheSize = 10000
	// DefaultStoreTimeout bounds each call a member token source makes to
	// its [TokenStore]; see [WithStoreTimeout].
	DefaultStoreTimeout = time.Second
	// DefaultMaxResponseSize is the largest body of a 2xx Member API
	// response the clients read; see [WithMaxResponseSize].
	DefaultMaxResponseSize = 32 << 20
	// DefaultTimeout bounds each attempt of a call made with the default
	// HTTP client, from sending the request to reading the response's
	// body; see [WithTimeout].
	DefaultTimeout = 80 * time.Second
)

const (
	defaultInitialBackoff = 500 * time.Millisecond
	defaultMaxBackoff     = 8 * time.Second
	defaultMaxRetryAfter  = 60 * time.Second
	// defaultFlightTimeout bounds one mint or refresh, which runs detached
	// from the contexts of the callers waiting for it.
	defaultFlightTimeout = time.Minute
	// defaultRefreshFloor is the shortest time between two Auth API calls
	// of one member's source, whatever the expiry times say.
	defaultRefreshFloor = time.Second
	// defaultTokenBackoff and defaultMaxTokenBackoff bound the wait after
	// a failed mint or refresh before a source asks Circle again; it
	// doubles with each failure in a row.
	defaultTokenBackoff    = time.Second
	defaultMaxTokenBackoff = 5 * time.Minute
	userAgentBase          = "headless-go"
	// maxAuthBody is the largest 2xx body of the Auth API read: a token
	// response is a few KiB at most.
	maxAuthBody = 64 << 10
)

// The limits of the default HTTP client's connections (see
// newDefaultHTTPClient).
var defaultClientLimits = clientLimits{
	dial:      30 * time.Second,
	handshake: 10 * time.Second,
	header:    30 * time.Second,
}

// Doer sends one HTTP request and returns its response, like
// [*http.Client.Do]. It is the HttpRequestDoer of the generated clients;
// pass one with [WithDoer].
type Doer interface {
	Do(req *http.Request) (*http.Response, error)
}

// An Option configures [NewAuthClient], [NewMemberClient],
// [AuthClient.NewMemberClient] or [NewHTTPClient]. The options that
// concern the member token sources of an [AuthClient] only
// ([WithCacheSize], [WithTokenStore], [WithStoreCapacity],
// [WithStoreTimeout], [WithExpiryMargin], [WithTokenBackoff],
// [WithMinRefreshInterval]) are an error for the other constructors,
// rather than silently ignored.
type Option func(*config) error

type config struct {
	baseURL        string
	base           *url.URL
	doer           Doer
	userAgent      string
	maxRetries     int
	initialBackoff time.Duration
	maxBackoff     time.Duration
	maxRetryAfter  time.Duration
	logger         *slog.Logger
	cacheSize      int
	store          TokenStore
	margin         time.Duration
	now            func() time.Time
	rawErrors      bool
	flightTimeout  time.Duration
	storeTimeout   time.Duration
	maxBody        int64
	// clockSet is true when WithClock gave the clock: it then reads time
	// as the server does, and a response's Date header is not used.
	clockSet bool
	// refreshFloor, tokenBackoff and maxTokenBackoff: see their defaults.
	refreshFloor    time.Duration
	tokenBackoff    time.Duration
	maxTokenBackoff time.Duration
	// storeCapacity is the capacity of the default MemoryStore.
	storeCapacity int
	// sourceOnly names the options given that concern the member token
	// sources of an AuthClient only.
	sourceOnly []string
	// stream makes 2xx bodies pass as they are (NewHTTPClient).
	stream bool
	// rate is the request budget of WithRateLimit (ratelimit.go).
	rate rateLimit
	// timeout bounds each attempt, when positive; timeoutSet is true
	// when WithTimeout gave it.
	timeout    time.Duration
	timeoutSet bool
}

// memberOnly returns an error if cfg was given an option that concerns
// the token sources of an AuthClient only, for the constructor named.
func (c *config) memberOnly(constructor string) error {
	if len(c.sourceOnly) == 0 {
		return nil
	}
	return fmt.Errorf("circle: %s: %s: only the member token sources of an AuthClient use it; give it to NewAuthClient",
		constructor, strings.Join(c.sourceOnly, ", "))
}

// with returns a copy of c changed by opts, for a client that inherits
// c's settings.
func (c *config) with(opts []Option) (*config, error) {
	d := *c
	d.sourceOnly = nil
	d.rawErrors, d.stream = false, false
	if err := d.apply(opts); err != nil {
		return nil, err
	}
	return &d, nil
}

// apply runs opts on c, then fills in what they left unset.
func (c *config) apply(opts []Option) error {
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(c); err != nil {
			return err
		}
	}
	base, err := url.Parse(c.baseURL)
	if err != nil {
		return wrapf(err, "base URL")
	}
	c.base = base
	if c.doer == nil {
		c.doer = defaultHTTPClient()
	}
	if !c.timeoutSet {
		// Only the default client gets a deadline per attempt unasked: a
		// client of the user's own keeps its settings, also when it
		// replaces an inherited default one (AuthClient.NewMemberClient).
		c.timeout = 0
		if hc, ok := c.doer.(*http.Client); ok && hc == defaultHTTPClient() {
			c.timeout = DefaultTimeout
		}
	}
	return nil
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		baseURL:         DefaultBaseURL,
		userAgent:       userAgentBase,
		maxRetries:      DefaultMaxRetries,
		initialBackoff:  defaultInitialBackoff,
		maxBackoff:      defaultMaxBackoff,
		maxRetryAfter:   defaultMaxRetryAfter,
		cacheSize:       DefaultCacheSize,
		margin:          DefaultExpiryMargin,
		now:             time.Now,
		flightTimeout:   defaultFlightTimeout,
		storeTimeout:    DefaultStoreTimeout,
		maxBody:         DefaultMaxResponseSize,
		refreshFloor:    defaultRefreshFloor,
		tokenBackoff:    defaultTokenBackoff,
		maxTokenBackoff: defaultMaxTokenBackoff,
		storeCapacity:   DefaultStoreCapacity,
	}
	if err := c.apply(opts); err != nil {
		return nil, err
	}
	return c, nil
}

var defaultHTTPClient = sync.OnceValue(func() *http.Client {
	return newDefaultHTTPClient(http.DefaultTransport, defaultClientLimits)
})

// clientLimits are timeouts of an *http.Transport: to connect, for the TLS
// handshake, and from sending a request to its response's headers.
type clientLimits struct{ dial, handshake, header time.Duration }

// newDefaultHTTPClient is the client used when no option gives one, over
// rt, the program's http.DefaultTransport. http.DefaultTransport keeps two
// idle connections per host, too few for a backend that sends many
// requests to one Circle host at once, and it waits for a response's
// headers without end, so an *http.Transport is cloned with more idle
// connections and the handshake and header limits of lim where it has
// none; it keeps its dialer (net/http's gives up connecting after 30 s).
// Without one (a nil rt), a transport is made with all the limits of lim. A
// program (a tracing library, a test tool) may have replaced it by
// another RoundTripper: that one is then used as it is, and only the
// attempt's deadline ([DefaultTimeout]) bounds a call.
func newDefaultHTTPClient(rt http.RoundTripper, lim clientLimits) *http.Client {
	switch t := rt.(type) {
	case *http.Transport:
		t = t.Clone()
		t.MaxIdleConnsPerHost = 64
		if t.TLSHandshakeTimeout == 0 {
			t.TLSHandshakeTimeout = lim.handshake
		}
		if t.ResponseHeaderTimeout == 0 {
			t.ResponseHeaderTimeout = lim.header
		}
		rt = t
	case nil:
		rt = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: lim.dial, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   lim.handshake,
			ResponseHeaderTimeout: lim.header,
			MaxIdleConnsPerHost:   64,
		}
	}
	return &http.Client{Transport: rt}
}

// WithBaseURL sets the scheme, host and optional path prefix the API paths
// are resolved against, instead of [DefaultBaseURL]. Use it for a Circle
// deployment of your own, or for a test server such as circletest's.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		p, err := url.Parse(u)
		if err != nil {
			return fmt.Errorf("circle: WithBaseURL: %w", err)
		}
		if p.Scheme != "http" && p.Scheme != "https" || p.Host == "" {
			return fmt.Errorf("circle: WithBaseURL: %q is not an absolute http or https URL", u)
		}
		if p.User != nil {
			return errors.New("circle: WithBaseURL: the URL must not carry credentials")
		}
		c.baseURL = p.String()
		return nil
	}
}

// WithHTTPClient sends requests with hc instead of a default client. The
// client is used as it is, never modified, with its own timeouts: its
// Timeout, if any, bounds each attempt (no [DefaultTimeout] is added, but
// [WithTimeout] may be); the caller's context bounds the whole call,
// retries included.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("circle: WithHTTPClient: nil client")
		}
		c.doer = hc
		return nil
	}
}

// WithDoer sends requests with d, any value with the Do method of
// [*http.Client] (a tracing or recording client, for example). The retries,
// replay on 401 and error conversion of this package wrap it.
func WithDoer(d Doer) Option {
	return func(c *config) error {
		if d == nil {
			return errors.New("circle: WithDoer: nil doer")
		}
		c.doer = d
		return nil
	}
}

// WithUserAgent puts product (for example "my-community-site/1.4") in
// front of the SDK's own User-Agent on every request.
func WithUserAgent(product string) Option {
	return func(c *config) error {
		if product == "" {
			return errors.New("circle: WithUserAgent: empty product")
		}
		c.userAgent = product + " " + userAgentBase
		return nil
	}
}

// WithMaxRetries sets how many more attempts (default [DefaultMaxRetries])
// a request gets after a connection error or a 408, 429, 500, 502, 503 or
// 504 response. Only GET, HEAD, PUT, DELETE and OPTIONS requests and the
// Auth API's revoke calls are retried, and only when their body can be
// sent again (see [NewHTTPClient]). Zero turns retries off.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("circle: WithMaxRetries: %d is negative", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithRetryBackoff sets the wait before the first retry (default 0.5 s) and
// the longest wait, maxWait, between two attempts (default 8 s). The wait doubles
// with each retry and is shortened by a random jitter of up to a quarter.
func WithRetryBackoff(initial, maxWait time.Duration) Option {
	return func(c *config) error {
		if initial <= 0 || maxWait < initial {
			return fmt.Errorf("circle: WithRetryBackoff: need 0 < initial <= maxWait, got %v and %v", initial, maxWait)
		}
		c.initialBackoff, c.maxBackoff = initial, maxWait
		return nil
	}
}

// WithMaxRetryAfter sets the longest Retry-After wait (default 60 s) the
// client honours. When Circle asks for a longer wait, the client does not
// retry and returns the [*APIError] at once, with its RetryAfter set.
func WithMaxRetryAfter(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("circle: WithMaxRetryAfter: %v is negative", d)
		}
		c.maxRetryAfter = d
		return nil
	}
}

// WithTimeout bounds each attempt of a call to d, from sending the
// request to reading the whole response (for [NewHTTPClient], until its
// body is closed), whatever the HTTP client or [Doer]: an attempt that
// takes longer fails as a timed-out connection does, and is retried like
// one. The default, with the default HTTP client, is [DefaultTimeout];
// with a client of your own ([WithHTTPClient], [WithDoer]) there is none
// unless WithTimeout sets one. Zero removes the bound. The caller's
// context bounds the whole call, retries included.
//
// The default client also gives up connecting after 30 s (net/http's
// dialer), a TLS handshake after 10 s, and waiting for a response's
// headers after 30 s.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("circle: WithTimeout: %v is negative", d)
		}
		c.timeout, c.timeoutSet = d, true
		return nil
	}
}

// WithLogger logs one debug line per attempt (method, path, status,
// attempt, duration, request id) to l. Tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		c.logger = l
		return nil
	}
}

// WithCacheSize sets how many member token sources [AuthClient.TokenSource]
// keeps (default [DefaultCacheSize]); the least recently used one is
// dropped first.
func WithCacheSize(n int) Option {
	return func(c *config) error {
		c.sourceOnly = append(c.sourceOnly, "WithCacheSize")
		if n < 1 {
			return fmt.Errorf("circle: WithCacheSize: %d is less than 1", n)
		}
		c.cacheSize = n
		return nil
	}
}

// WithTokenStore makes the member token sources of an [AuthClient] load
// and save token pairs in s, so that a restarted process reuses them
// instead of minting new ones. The default is a [MemoryStore] of the
// client's own.
func WithTokenStore(s TokenStore) Option {
	return func(c *config) error {
		c.sourceOnly = append(c.sourceOnly, "WithTokenStore")
		if s == nil {
			return errors.New("circle: WithTokenStore: nil store")
		}
		c.store = s
		return nil
	}
}

// WithStoreCapacity sets how many member token pairs the [MemoryStore] an
// [AuthClient] makes for itself holds (default [DefaultStoreCapacity]);
// the least recently used pair is dropped first. It has no effect with
// [WithTokenStore].
func WithStoreCapacity(n int) Option {
	return func(c *config) error {
		c.sourceOnly = append(c.sourceOnly, "WithStoreCapacity")
		if n < 1 {
			return fmt.Errorf("circle: WithStoreCapacity: %d is less than 1", n)
		}
		c.storeCapacity = n
		return nil
	}
}

// WithExpiryMargin sets how long before its expiry an access token is
// refreshed (default [DefaultExpiryMargin]). The margin used for a token is
// never more than half the lifetime the token was issued with.
func WithExpiryMargin(d time.Duration) Option {
	return func(c *config) error {
		c.sourceOnly = append(c.sourceOnly, "WithExpiryMargin")
		if d < 0 {
			return fmt.Errorf("circle: WithExpiryMargin: %v is negative", d)
		}
		c.margin = d
		return nil
	}
}

// WithClock makes the client read the time from now instead of [time.Now]
// when it decides whether a token has expired and when it reads a
// Retry-After date. Tests use it to move through token lifetimes without
// sleeping; it should agree with the clock of the server issuing tokens.
// Without it, the expiry times of a token are read against the Date
// header of the response that issued it, so that a server clock ahead of
// or behind this machine's does not shorten or stretch a token's life.
// The waits that protect Circle (the backoff after a failed mint and the
// floor between two refreshes) always use the real clock.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("circle: WithClock: nil clock")
		}
		c.now, c.clockSet = now, true
		return nil
	}
}

// WithRawErrorResponses makes the client return non-2xx responses as
// they are, as the generated clients do on their own, instead of turning
// them into an [*APIError]. Retries and the replay on 401 still apply, and
// the body of such a response is cut at 1 MiB. Use it when you read the
// typed JSON401, JSON404... fields of the generated responses yourself.
// The token sources of an [AuthClient] still see typed errors.
func WithRawErrorResponses() Option {
	return func(c *config) error {
		c.rawErrors = true
		return nil
	}
}

// WithStoreTimeout bounds each call a member token source makes to its
// [TokenStore] (Load, Save, Delete, and each attempt to take a
// [TokenLocker]'s lock) to d (default [DefaultStoreTimeout]), whatever the
// store does with the context it is given. A call that takes longer is
// abandoned and the store is skipped by every source of the client until
// it answers again (see [TokenStore]), so a slow or frozen store costs a
// caller about d or two per refresh, never a failed Token. Waiting for a
// lock another process holds is not bounded by d (see [TokenLocker]).
func WithStoreTimeout(d time.Duration) Option {
	return func(c *config) error {
		c.sourceOnly = append(c.sourceOnly, "WithStoreTimeout")
		if d <= 0 {
			return fmt.Errorf("circle: WithStoreTimeout: %v is not positive", d)
		}
		c.storeTimeout = d
		return nil
	}
}

// WithMaxResponseSize sets the largest body of a 2xx response the clients
// read, in bytes (default [DefaultMaxResponseSize], 32 MiB, far above a
// page of the Member API). A longer body is not read further: the call
// fails with a [*DecodeError] that matches [ErrResponseTooLarge] and is
// not retried. A 2xx response of the Auth API, a token pair, is read up to
// 64 KiB (or n, if smaller). The body of a non-2xx response is always cut
// at 1 MiB.
func WithMaxResponseSize(n int64) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("circle: WithMaxResponseSize: %d is less than 1", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithTokenBackoff sets how long a member token source waits after a
// failed mint or refresh before it asks Circle again: initial after the
// first failure in a row (default 1 s), doubling with each further one up
// to maxWait (default 5 minutes), less a random jitter of up to a quarter, and
// never shorter than a Retry-After Circle gave. Until then, Token returns
// a [*BackoffError] at once. The same waits follow a run of access tokens
// the Member API rejected. Tests of failures against a fake Circle may
// shorten them; a production program has little reason to.
func WithTokenBackoff(initial, maxWait time.Duration) Option {
	return func(c *config) error {
		c.sourceOnly = append(c.sourceOnly, "WithTokenBackoff")
		if initial <= 0 || maxWait < initial {
			return fmt.Errorf("circle: WithTokenBackoff: need 0 < initial <= maxWait, got %v and %v", initial, maxWait)
		}
		c.tokenBackoff, c.maxTokenBackoff = initial, maxWait
		return nil
	}
}

// WithMinRefreshInterval sets the shortest time between two Auth API
// calls (mints or refreshes) of one member's token source (default 1 s),
// whatever the expiry times of its tokens say: a token that has expired
// by the time it arrives is handed out until then. Zero removes the floor,
// which leaves Circle unprotected from a source whose tokens expire at
// once; tests that move a fake clock may want it.
func WithMinRefreshInterval(d time.Duration) Option {
	return func(c *config) error {
		c.sourceOnly = append(c.sourceOnly, "WithMinRefreshInterval")
		if d < 0 {
			return fmt.Errorf("circle: WithMinRefreshInterval: %v is negative", d)
		}
		c.refreshFloor = d
		return nil
	}
}
