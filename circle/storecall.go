package circle

import (
	"context"
	"errors"
)

// storeSession is the store as one mint, refresh or revoke of a source
// sees it: each call bounded by the store timeout, and, once one call has
// overrun it, none made any more (the store is taken as down until the
// next flight), so that a slow or frozen store costs a caller about one
// timeout per flight.
type storeSession struct {
	s    *MemberTokenSource
	down bool
}

func (s *MemberTokenSource) openStore() *storeSession { return &storeSession{s: s} }

// errStoreTimeout is the error of a store call that overran its timeout,
// or that was not made because an earlier one of the session had.
var errStoreTimeout = errors.New("circle: the token store did not answer in time")

// lock takes the member's lock if the store is a TokenLocker, and returns
// the function that releases it (a no-op when there is no lock).
func (st *storeSession) lock(ctx context.Context) func() {
	l, ok := st.s.cfg.store.(TokenLocker)
	if !ok {
		return func() {}
	}
	release, err := bounded(ctx, st, func(ctx context.Context) (func(), error) {
		return l.Lock(ctx, st.s.id)
	}, func(u func()) { u() })
	if err != nil {
		st.s.warn(ctx, "circle: token store lock failed; going on without it", err)
		return func() {}
	}
	return func() {
		if st.down {
			go release() // a frozen store must not hold up this flight's callers
			return
		}
		_, _ = bounded(context.WithoutCancel(ctx), st, func(context.Context) (struct{}, error) {
			release()
			return struct{}{}, nil
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
	return bounded(ctx, st, func(ctx context.Context) (loaded, error) {
		tok, ok, err := st.s.cfg.store.Load(ctx, st.s.id)
		return loaded{tok, ok}, err
	}, nil)
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
	_, err := bounded(ctx, st, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, st.s.cfg.store.Save(ctx, st.s.id, tok)
	}, nil)
	return err
}

func (st *storeSession) delete(ctx context.Context) error {
	_, err := bounded(ctx, st, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, st.s.cfg.store.Delete(ctx, st.s.id)
	}, nil)
	return err
}

// bounded runs f with a context that ends after the store timeout, and
// stops waiting for it then, whatever f does with its context: f goes on
// in the background, and undo, if given, is applied to what it returns
// late (a lock taken after all is released). Once a call of the session
// has overrun, bounded makes no more. The default MemoryStore, which
// cannot block, is called directly.
func bounded[T any](ctx context.Context, st *storeSession, f func(context.Context) (T, error), undo func(T)) (T, error) {
	var zero T
	if st.down {
		return zero, errStoreTimeout
	}
	if _, ok := st.s.cfg.store.(*MemoryStore); ok {
		return f(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, st.s.cfg.storeTimeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f(ctx)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
	}
	st.down = true
	go func() {
		if r := <-ch; r.err == nil && undo != nil {
			undo(r.v)
		}
	}()
	return zero, errStoreTimeout
}
