package redisstore_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/redisstore"
)

// The multi-process tests run the test binary again as worker processes
// (TestWorkerProcess), which share the parent's redis-server and
// circletest server. The parent sends each worker one JSON command a line
// on its stdin; the worker runs each in its own goroutine and answers with
// a line "@@ <JSON reply>" on its stdout. No token is ever sent to the
// parent: a worker reports fingerprints (the start of the SHA-256 of an
// access token).
//
// The worker's clock is the parent's circletest clock: the parent sends
// it with every command that needs it, and moves the server's clock only
// while no worker runs a command, so both agree whenever a token is
// handed out.

const (
	// workerEnv, when set, makes the test binary a worker process.
	workerEnv = "REDISSTORE_WORKER"
	replyMark = "@@ "
)

// command is one instruction of the parent to a worker.
type command struct {
	ID int    `json:"id"`
	Op string `json:"op"` // tokens, loop, revoke
	// Now is the time of circletest's clock; the worker's clock is set to
	// it before the command runs (when not zero).
	Now time.Time `json:"now"`
	// Members are identity strings (circle.Identity.String).
	Members []string `json:"members"`
	// Goroutines call Token concurrently, Rounds times each over Members
	// (tokens), or until Duration ends (loop).
	Goroutines int           `json:"goroutines"`
	Rounds     int           `json:"rounds"`
	Duration   time.Duration `json:"duration"`
	// At is when to start (Unix ns), so that processes start together.
	At int64 `json:"at"`
	// Seed orders the members differently in each goroutine (tokens).
	Seed uint64 `json:"seed"`
	// Validate checks every distinct access token handed out with a
	// Member API call (getCurrentMember) after the command.
	Validate bool `json:"validate"`
}

// seen is what a worker saw of one access token.
type seen struct {
	First int64 `json:"first"` // Unix ns
	Last  int64 `json:"last"`
	Count int   `json:"count"`
}

// reply is a worker's answer to one command.
type reply struct {
	ID         int           `json:"id"`
	Calls      int           `json:"calls"`
	Failures   int           `json:"failures"`
	Errors     []string      `json:"errors,omitempty"` // the first few
	Expired    int           `json:"expired"`          // tokens handed out already expired on the clock
	Rejected   int           `json:"rejected"`         // distinct tokens the Member API rejected (Validate)
	Validated  int           `json:"validated"`
	MaxLatency time.Duration `json:"max_latency"`
	// Seen maps member identity to access-token fingerprint to what the
	// worker saw of it.
	Seen        map[string]map[string]*seen `json:"seen"`
	Fingerprint string                      `json:"fingerprint"` // revoke: the access token held before
	Start       int64                       `json:"start"`       // Unix ns: when the command's work began
	End         int64                       `json:"end"`         // and ended
	Err         string                      `json:"err,omitempty"`
}

func fingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:6])
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err == nil {
			return d
		}
	}
	return def
}

// TestWorkerProcess is a worker of the multi-process tests; it does
// nothing unless a parent test started it.
func TestWorkerProcess(t *testing.T) {
	if os.Getenv(workerEnv) == "" {
		t.Skip("a worker process of the multi-process tests; they start it")
	}
	key, err := hex.DecodeString(os.Getenv("REDISSTORE_KEY"))
	if err != nil {
		t.Fatal("REDISSTORE_KEY is not hex")
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("REDISSTORE_REDIS"), ContextTimeoutEnabled: true})
	defer func() { _ = rdb.Close() }()
	auditRDB = rdb
	store, err := redisstore.New(rdb, redisstore.WithEncryptionKey(key),
		redisstore.WithPrefix(os.Getenv("REDISSTORE_PREFIX")),
		redisstore.WithLockLease(envDuration("REDISSTORE_LEASE", redisstore.DefaultLockLease)))
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	start, err := time.Parse(time.RFC3339Nano, os.Getenv("REDISSTORE_NOW"))
	if err != nil {
		t.Fatal("REDISSTORE_NOW is not a time")
	}
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	base := os.Getenv("REDISSTORE_CIRCLE")
	auth, err := circle.NewAuthClient(os.Getenv("REDISSTORE_APP_TOKEN"),
		circle.WithBaseURL(base), circle.WithClock(now), circle.WithTokenStore(store),
		circle.WithStoreTimeout(envDuration("REDISSTORE_STORE_TIMEOUT", circle.DefaultStoreTimeout)),
		circle.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = auth.Close() }()

	var outMu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	send := func(r reply) {
		b, _ := json.Marshal(r)
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, "%s%s\n", replyMark, b)
		_ = out.Flush()
	}
	var wg sync.WaitGroup
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			send(reply{Err: "bad command: " + err.Error()})
			continue
		}
		if !c.Now.IsZero() {
			clock.Store(c.Now.UnixNano())
		}
		wg.Go(func() { send(run(auth, base, now, c)) })
	}
	wg.Wait()
}

// run performs c in a worker.
func run(auth *circle.AuthClient, base string, now func() time.Time, c command) (r reply) {
	r = reply{ID: c.ID, Seen: map[string]map[string]*seen{}}
	ids := make([]circle.Identity, len(c.Members))
	for i, m := range c.Members {
		id, err := circle.ParseIdentity(m)
		if err != nil {
			r.Err = err.Error()
			return r
		}
		ids[i] = id
	}
	if c.At > 0 {
		time.Sleep(time.Until(time.Unix(0, c.At)))
	}
	r.Start = time.Now().UnixNano()
	defer func() { r.End = time.Now().UnixNano() }()

	switch c.Op {
	case "tokens", "loop":
		var mu sync.Mutex
		tokens := map[string]string{} // fingerprint to token, for Validate
		var deadline time.Time
		if c.Op == "loop" {
			deadline = time.Now().Add(c.Duration)
		}
		var wg sync.WaitGroup
		for g := range c.Goroutines {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(c.Seed, uint64(g)))
				order := make([]int, len(ids))
				for i := range order {
					order[i] = i
				}
				for round := 0; ; round++ {
					if c.Op == "tokens" && round >= c.Rounds || c.Op == "loop" && !time.Now().Before(deadline) {
						return
					}
					if c.Op == "loop" && round >= 100000 {
						return // bounded, whatever the clock does
					}
					rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
					for _, i := range order {
						ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
						t0 := time.Now()
						tok, err := auth.TokenSource(ids[i]).Token(ctx)
						lat := time.Since(t0)
						cancel()
						at := time.Now().UnixNano()
						mu.Lock()
						r.Calls++
						r.MaxLatency = max(r.MaxLatency, lat)
						if err != nil {
							r.Failures++
							if len(r.Errors) < 5 {
								r.Errors = append(r.Errors, err.Error())
							}
						} else {
							if !now().Before(tok.AccessTokenExpiresAt) {
								r.Expired++
							}
							fp := fingerprint(tok.AccessToken)
							tokens[fp] = tok.AccessToken
							handedOut.Store(tok.AccessToken, true)
							handedOut.Store(tok.RefreshToken, true)
							m := r.Seen[c.Members[i]]
							if m == nil {
								m = map[string]*seen{}
								r.Seen[c.Members[i]] = m
							}
							s := m[fp]
							if s == nil {
								s = &seen{First: at}
								m[fp] = s
							}
							s.Last, s.Count = at, s.Count+1
						}
						mu.Unlock()
						if c.Op == "loop" {
							time.Sleep(time.Millisecond)
						}
					}
				}
			})
		}
		wg.Wait()
		if c.Validate {
			for _, tok := range tokens {
				r.Validated++
				if err := validate(base, tok); err != nil {
					r.Rejected++
					if len(r.Errors) < 5 {
						r.Errors = append(r.Errors, "validate: "+err.Error())
					}
				}
			}
		}
	case "audit":
		// Every key of Redis has a TTL and holds no token this process was
		// handed, in any common encoding.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		keys, err := auditRDB.Keys(ctx, "*").Result()
		if err != nil {
			r.Err = err.Error()
			return r
		}
		var secrets []string
		handedOut.Range(func(k, _ any) bool { secrets = append(secrets, k.(string)); return true })
		r.Validated = len(secrets)
		for _, k := range keys {
			r.Calls++
			v, _ := auditRDB.Get(ctx, k).Result()
			if ttl := auditRDB.PTTL(ctx, k).Val(); ttl < 0 {
				r.Expired++
				r.Errors = append(r.Errors, "no TTL: "+k)
			}
			for _, sec := range secrets {
				for name, enc := range redisstore.Encodings(sec) {
					if strings.Contains(k, enc) || strings.Contains(v, enc) {
						r.Rejected++
						r.Errors = append(r.Errors, fmt.Sprintf("key %s holds a token (%s)", k, name))
					}
				}
			}
		}
	case "revoke":
		ts := auth.TokenSource(ids[0])
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		tok, err := ts.Token(ctx)
		if err != nil {
			r.Err = err.Error()
			return r
		}
		r.Fingerprint = fingerprint(tok.AccessToken)
		r.Start = time.Now().UnixNano()
		if err := ts.Revoke(ctx); err != nil {
			r.Err = err.Error()
		}
	default:
		r.Err = "unknown op " + strconv.Quote(c.Op)
	}
	return r
}

var (
	// handedOut holds every token (access and refresh) the worker was
	// handed, for the audit.
	handedOut sync.Map
	auditRDB  *redis.Client
)

// staticSource hands out one token.
type staticSource circle.Token

func (s staticSource) Token(context.Context) (circle.Token, error) { return circle.Token(s), nil }

// validate calls the Member API with the access token tok.
func validate(base, tok string) error {
	api, err := circle.NewMemberClient(staticSource{AccessToken: tok}, circle.WithBaseURL(base), circle.WithMaxRetries(0))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = api.GetCurrentMemberWithResponse(ctx)
	if errors.Is(err, circle.ErrUnauthorized) {
		return errors.New("the Member API rejected the token (401)")
	}
	return err
}
