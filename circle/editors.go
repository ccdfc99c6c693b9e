package circle

import (
	"context"
	"errors"
	"net/http"
)

// ErrNoTokenSource is returned for a Member API call that names no member:
// neither the client nor the context (see [WithTokenSource]) has a token
// source.
var ErrNoTokenSource = errors.New("circle: no member token source: give one to NewMemberClient or put one in the context with WithTokenSource")

// AppTokenEditor returns a request editor that sets "Authorization: Bearer
// appToken", the credential of the Auth API. It is a plain function, so it
// can be given to authv1.WithRequestEditorFn, to one call, or applied to
// any request you build. It changes only the request's headers. An app
// token that is empty or holds white space or control characters makes
// every request fail with an error (that does not show it).
func AppTokenEditor(appToken string) func(context.Context, *http.Request) error {
	header := []string{"Bearer " + appToken}
	bad := checkAppToken(appToken)
	return func(_ context.Context, req *http.Request) error {
		if bad != nil {
			return bad
		}
		req.Header["Authorization"] = header
		return nil
	}
}

// MemberTokenEditor returns a request editor that sets "Authorization:
// Bearer <access token>" from the token source in the context (see
// [WithTokenSource]) or else from ts, which refreshes the token when it is
// about to expire. ts may be nil when every call puts its source in the
// context. The editor changes only the request's headers; it is a plain
// function, usable with memberv1.WithRequestEditorFn, one call, or any
// request you build. Make sure such a request goes to Circle: the editor
// cannot tell where it is sent. The client of [NewMemberClient] does not
// need it: it attaches the token itself, and replays a call once after a
// 401.
func MemberTokenEditor(ts TokenSource) func(context.Context, *http.Request) error {
	return func(ctx context.Context, req *http.Request) error {
		src := sourceFor(ctx, ts)
		if src == nil {
			return ErrNoTokenSource
		}
		_, header, err := bearer(ctx, src)
		if err != nil {
			return err
		}
		req.Header["Authorization"] = header
		return nil
	}
}

// userAgentEditor sets the User-Agent header. The value slice is shared by
// every request: net/http only reads it, and Header.Set and Add replace
// or copy it.
func userAgentEditor(ua string) func(context.Context, *http.Request) error {
	header := []string{ua}
	return func(_ context.Context, req *http.Request) error {
		req.Header["User-Agent"] = header
		return nil
	}
}
