package circle

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// The token store is the user's plug-in point, so the sources assume the
// worst of it: a call may block and ignore its context. Every call but
// those to the default MemoryStore therefore runs in a goroutine of its
// own, and the caller waits for it no longer than its bound. What a store
// that stops answering may cost is bounded by storeGate, shared by every
// source of an AuthClient:
//
//   - at most maxStoreCalls calls run at once, abandoned ones included, so
//     a frozen store holds at most that many goroutines, however many
//     members ask at the same moment;
//   - once a call overruns its bound, the whole store is taken as down:
//     every source skips it for storeDownBackoff, then one call is let
//     through as a probe. The calls made meanwhile wait for the probe's
//     outcome (within their own bound) and go ahead if it answered; once
//     it overran they skip the store for another backoff. A probe that
//     never returns blocks every further probe: one is in flight at most,
//     so a store that never answers again costs no more goroutines. The
//     first probe that answers, in time or late, ends the outage.
//
// Waiting for a TokenLocker's lock is not a store failure: another process
// holds it while it mints or refreshes. The wait is made of attempts of
// half a store timeout each, with a Load between them that shows whether
// the store still answers and whether the holder has saved a pair
// meanwhile; it ends when the lock is taken, a pair is found, the store
// stops answering, the caller's context ends, or after lockWait.

const (
	// maxStoreCalls is how many store calls of one AuthClient run at once
	// at most, including calls abandoned because they overran.
	maxStoreCalls = 32
	// storeDownBackoff is how long a store that did not answer in time is
	// skipped before a probe (less a jitter of up to a quarter).
	storeDownBackoff = time.Second
)

// errStoreTimeout is the error of a store call that overran its bound.
var errStoreTimeout = errors.New("circle: the token store did not answer in time")

// errStoreDown is the error of a store call not made because the store
// did not answer in time lately (see storeGate).
var errStoreDown = errors.New("circle: the token store did not answer in time lately; skipped until it does")

// errLockAttemptEnded is the error of an attempt to take a lock that
// ended with its context, the lock still held by another.
var errLockAttemptEnded = errors.New("circle: the token store lock is held by another")

// storeOutage reports whether err says the store did not answer (rather
// than answering with an error).
func storeOutage(err error) bool {
	return errors.Is(err, errStoreTimeout) || errors.Is(err, errStoreDown) || errors.Is(err, errStoreBusy)
}

// errStoreBusy is the error of a store call not made because
// maxStoreCalls calls were still running for the whole of its bound.
var errStoreBusy = errors.New("circle: too many token store calls in progress")

// storeGate is the health of one AuthClient's token store, shared by all
// its sources; see the top of this file.
type storeGate struct {
	slots   chan struct{} // one per call running, abandoned ones included
	backoff time.Duration // storeDownBackoff; tests lengthen it

	mu      sync.Mutex
	down    bool
	until   time.Time     // on the real clock: no probe before then
	probing bool          // a probe runs (or was abandoned and has not returned)
	outcome chan struct{} // closed when the running probe answered or overran
}

func newStoreGate() *storeGate {
	return &storeGate{slots: make(chan struct{}, maxStoreCalls), backoff: storeDownBackoff}
}

// admit says whether a call may be made, and whether it is the probe of
// a store taken as down. While a probe runs within its bound, it waits
// for the probe's outcome, until timer or ctx ends.
func (g *storeGate) admit(ctx context.Context, timer <-chan time.Time) (probe bool, err error) {
	for {
		g.mu.Lock()
		switch {
		case !g.down:
			g.mu.Unlock()
			return false, nil
		case g.probing && g.outcome != nil:
			wait := g.outcome
			g.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-timer:
				return false, errStoreDown
			case <-ctx.Done():
				return false, ctx.Err()
			}
		case g.probing || time.Now().Before(g.until):
			g.mu.Unlock()
			return false, errStoreDown
		}
		g.probing, g.outcome = true, make(chan struct{})
		g.mu.Unlock()
		return true, nil
	}
}

// overran takes the store as down after a call that did not answer in
// time, and reports whether it went down now (and was not already: the
// calls made before it went down overrun together). After a probe, the
// store stays down for another backoff.
func (g *storeGate) overran(probe bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if probe {
		g.closeOutcome()
	} else if g.down {
		return false
	}
	g.down = true
	g.until = time.Now().Add(jittered(g.backoff, g.backoff, 0))
	return !probe
}

// answered records that a call answered: a probe that did ends the
// outage.
func (g *storeGate) answered(probe bool) {
	if !probe {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down, g.until = false, time.Time{}
	g.closeOutcome()
}

// closeOutcome lets the calls waiting for the probe go on; g.mu is held.
func (g *storeGate) closeOutcome() {
	if g.outcome != nil {
		close(g.outcome)
		g.outcome = nil
	}
}

// probeAbandoned records that the caller of the probe left before it
// returned: the calls waiting for its outcome wait no longer.
func (g *storeGate) probeAbandoned() {
	g.mu.Lock()
	g.closeOutcome()
	g.mu.Unlock()
}

// probeEnded records that the probe returned (late or not at all), so
// that another may be made.
func (g *storeGate) probeEnded() {
	g.mu.Lock()
	g.probing = false
	g.closeOutcome()
	g.mu.Unlock()
}

// storeSession is the store as one mint, refresh or revoke of a source
// sees it.
type storeSession struct{ s *MemberTokenSource }

func (s *MemberTokenSource) openStore() *storeSession { return &storeSession{s: s} }

// callKind tells callStore how to bound a call.
type callKind uint8

const (
	// plainCall is a Load, Save, Delete or unlock: bounded by the store
	// timeout; a call that ends with that deadline has overrun too.
	plainCall callKind = iota
	// lockAttempt is one attempt to take a lock: its context ends after
	// its wait, at which a store that honours it returns (the lock is
	// busy); it has overrun only if it has not returned a store timeout
	// after that.
	lockAttempt
)

// callStore runs f, a call of the store, with a context that ends after
// wait, and waits for it no longer than its bound (see callKind) or
// ctx. f keeps what the store returned in variables of its own, which
// the caller reads only when callStore returns nil. A call that overruns
// is abandoned: it goes on in its goroutine, which calls undo, if given,
// when it returns late without an error (a lock taken after all is
// released), and the store is taken as down (see storeGate). The default
// MemoryStore, which cannot block, is called directly.
func callStore(ctx context.Context, s *MemberTokenSource, kind callKind, wait time.Duration,
	f func(context.Context) error, undo func()) error {
	if _, ok := s.cfg.store.(*MemoryStore); ok {
		return f(ctx)
	}
	g := s.stores
	bound := wait
	if kind == lockAttempt {
		bound += s.cfg.storeTimeout
	}
	timer := time.NewTimer(bound)
	defer timer.Stop()
	probe, err := g.admit(ctx, timer.C)
	if err != nil {
		return err
	}
	select { // a slot, or the end of the bound
	case g.slots <- struct{}{}:
	default:
		select {
		case g.slots <- struct{}{}:
		case <-timer.C:
			if probe {
				g.probeEnded()
			}
			return errStoreBusy
		case <-ctx.Done():
			if probe {
				g.probeEnded()
			}
			return ctx.Err()
		}
	}
	timer.Reset(bound) // the store has all of its bound, once the call is made
	cctx, cancel := context.WithTimeout(ctx, wait)
	ch := make(chan error, 1)
	// state: 0 running, 1 returned in time, 2 abandoned by the caller.
	var state atomic.Int32
	go func() {
		err := f(cctx)
		<-g.slots
		if state.CompareAndSwap(0, 1) {
			ch <- err
			return
		}
		// Abandoned: nobody reads ch.
		cancel()
		if err == nil && undo != nil {
			undo()
		}
		if probe {
			if err == nil {
				g.answered(true)
			}
			g.probeEnded()
		}
	}()
	got := false
	select {
	case err = <-ch:
		got = true
	case <-timer.C:
	case <-ctx.Done():
	}
	if !got && !state.CompareAndSwap(0, 2) {
		err, got = <-ch, true // it returned meanwhile
	}
	if !got {
		if ctx.Err() != nil {
			if probe {
				g.probeAbandoned()
			}
			return ctx.Err() // the caller left; nothing is known of the store
		}
		if g.overran(probe) {
			s.warnStoreDown(ctx)
		}
		return errStoreTimeout
	}
	timedOut := errors.Is(cctx.Err(), context.DeadlineExceeded)
	cancel()
	if probe {
		defer g.probeEnded()
	}
	if kind == plainCall && err != nil && timedOut && ctx.Err() == nil {
		// The store gave up at the deadline: it did not answer in time.
		if g.overran(probe) {
			s.warnStoreDown(ctx)
		}
		return errStoreTimeout
	}
	g.answered(probe)
	return err
}

// lock takes the member's lock if the store is a TokenLocker, and returns
// the function that releases it (a no-op when the lock was not taken).
// While the lock is busy, it loads the stored pair between attempts: when
// found reports that pair usable, lock stops waiting and returns it
// (another process has just refreshed). A wait that ends without the lock
// is logged; the caller goes on without it, still loading and saving.
func (st *storeSession) lock(ctx context.Context, found func(Token) bool) (release func(), pair *Token) {
	noop := func() {}
	l, ok := st.s.cfg.store.(TokenLocker)
	if !ok {
		return noop, nil
	}
	lockCtx, cancel := context.WithTimeout(ctx, lockWait(st.s.cfg))
	defer cancel()
	attempt := max(st.s.cfg.storeTimeout/2, time.Millisecond)
	for {
		var unlock func()
		err := callStore(lockCtx, st.s, lockAttempt, attempt, func(ctx context.Context) error {
			u, err := l.Lock(ctx, st.s.id)
			if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err = errLockAttemptEnded // whatever the store made of its deadline
			}
			unlock = u
			return err
		}, func() {
			if unlock != nil {
				unlock()
			}
		})
		if err == nil && unlock == nil {
			unlock = func() {} // a store's Lock that returned no unlock
		}
		switch {
		case err == nil:
			return st.unlocker(ctx, unlock), nil
		case lockCtx.Err() != nil:
			if ctx.Err() == nil {
				st.s.warn(ctx, "circle: waited "+lockWait(st.s.cfg).String()+" for the token store lock; going on without it", lockCtx.Err())
			}
			return noop, nil
		case !errors.Is(err, errLockAttemptEnded):
			st.s.warn(ctx, "circle: token store lock failed; going on without it", err)
			return noop, nil
		}
		// The lock is busy: is the store answering, and did the holder
		// save a pair meanwhile? A pair that does not open, for one, is
		// no reason to stop waiting; a store that does not answer is.
		r, err := st.loadErr(lockCtx)
		switch {
		case err != nil && lockCtx.Err() == nil && storeOutage(err):
			st.s.warn(ctx, "circle: token store load failed while waiting for its lock; going on without the lock", err)
			return noop, nil
		case err == nil && r.ok && found != nil && found(r.tok):
			return noop, &r.tok
		}
	}
}

// lockWait bounds a wait for a member's lock by what a holder may take:
// a living holder's mint or refresh lasts at most cfg.flightTimeout, and
// the lease a dead holder leaves is short beside that (redisstore's is 5
// s by default). Twice the flight timeout covers both with room.
func lockWait(cfg *config) time.Duration { return 2 * cfg.flightTimeout }

// unlocker releases the lock unlock holds, bounded like any store call.
func (st *storeSession) unlocker(ctx context.Context, unlock func()) func() {
	return func() {
		_ = callStore(context.WithoutCancel(ctx), st.s, plainCall, st.s.cfg.storeTimeout, func(context.Context) error {
			unlock()
			return nil
		}, nil)
	}
}

// loaded is what a Load returned.
type loaded struct {
	tok Token
	ok  bool
}

// loadErr returns the member's stored pair, if the store has one.
func (st *storeSession) loadErr(ctx context.Context) (loaded, error) {
	var r loaded
	err := callStore(ctx, st.s, plainCall, st.s.cfg.storeTimeout, func(ctx context.Context) error {
		tok, ok, err := st.s.cfg.store.Load(ctx, st.s.id)
		r = loaded{tok, ok}
		return err
	}, nil)
	if err != nil {
		return loaded{}, err
	}
	return r, nil
}

// load is loadErr, logging a failure and taking it as no pair.
func (st *storeSession) load(ctx context.Context) (Token, bool) {
	r, err := st.loadErr(ctx)
	if err != nil {
		st.s.warn(ctx, "circle: token store load failed", err)
		return Token{}, false
	}
	return r.tok, r.ok
}

// save records tok as the member's pair, logging a failure.
func (st *storeSession) save(ctx context.Context, tok Token) {
	if err := st.saveErr(ctx, tok); err != nil {
		st.s.warn(ctx, "circle: token store save failed", err, tok)
	}
}

func (st *storeSession) saveErr(ctx context.Context, tok Token) error {
	return callStore(ctx, st.s, plainCall, st.s.cfg.storeTimeout, func(ctx context.Context) error {
		return st.s.cfg.store.Save(ctx, st.s.id, tok)
	}, nil)
}

func (st *storeSession) delete(ctx context.Context) error {
	return callStore(ctx, st.s, plainCall, st.s.cfg.storeTimeout, func(ctx context.Context) error {
		return st.s.cfg.store.Delete(ctx, st.s.id)
	}, nil)
}
