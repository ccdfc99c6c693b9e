package circle

import "context"

type tokenSourceKey struct{}

// WithTokenSource returns a copy of ctx that names the member a Member API
// call acts for: the client of [NewMemberClient] and [MemberTokenEditor]
// take the access token from ts instead of from the source they were made
// with. It is how one member client serves many members:
//
//	members, _ := circle.NewMemberClient(nil, opts...) // no default member
//	...
//	// in the handler of a request of a signed-in member:
//	ctx := circle.WithTokenSource(r.Context(), auth.TokenSource(circle.BySSOUserID(user.ID)))
//	resp, err := members.ListBookmarksWithResponse(ctx, nil)
//
// The refresh before expiry and the replay after a 401 work per source as
// they do for a client's own source. A nil ts (or a nil
// *MemberTokenSource) leaves ctx as it is.
func WithTokenSource(ctx context.Context, ts TokenSource) context.Context {
	if noSource(ts) {
		return ctx
	}
	return context.WithValue(ctx, tokenSourceKey{}, ts)
}

// TokenSourceFromContext returns the token source [WithTokenSource] put in
// ctx, if any.
func TokenSourceFromContext(ctx context.Context) (TokenSource, bool) {
	ts, ok := ctx.Value(tokenSourceKey{}).(TokenSource)
	return ts, ok
}

// sourceFor returns the token source of ctx, or else def; nil if neither
// is a source (a nil *MemberTokenSource in an interface is none).
func sourceFor(ctx context.Context, def TokenSource) TokenSource {
	if ts, ok := ctx.Value(tokenSourceKey{}).(TokenSource); ok {
		return ts
	}
	if noSource(def) {
		return nil
	}
	return def
}

// noSource reports whether ts is nil, or a nil *MemberTokenSource held in
// the interface (a careless caller's typed nil), which would panic.
func noSource(ts TokenSource) bool {
	if ts == nil {
		return true
	}
	s, ok := ts.(*MemberTokenSource)
	return ok && s == nil
}
