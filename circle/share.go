package circle

// A RevocationWatcher is a [TokenStore] shared by several processes that
// tells each of them when any process revoked a member's pair, so that a
// revoke is final everywhere, not only in the process that made it.
//
// [NewAuthClient] calls WatchRevocations once when its store implements
// this interface, and [AuthClient.Close] calls the returned stop. Each
// time fn is called with a member's identity, the client's source of that
// member (if it has one) drops the pair it holds; its next Token goes
// through the store again (and, with a [TokenLocker], at most one process
// mints a new pair). A store announces every Delete: a [MemberTokenSource]
// deletes a pair only after revoking it.
//
// See "Sharing one store between processes" at [TokenStore].
type RevocationWatcher interface {
	// WatchRevocations calls fn with the identity of each member whose
	// pair any process (this one included) deleted from the store, from
	// the time it returns until stop is called. fn is called from the
	// store's own goroutine, must be safe for concurrent use, and returns
	// quickly. An error means no watch was set up; the client then works
	// without it (a revoke elsewhere is seen when the token is rejected).
	WatchRevocations(fn func(Identity)) (stop func(), err error)
}
