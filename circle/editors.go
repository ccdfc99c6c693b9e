package circle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ErrNoTokenSource is returned for a Member API call that names no member:
// neither the client nor the context (see [WithTokenSource]) has a token
// source.
var ErrNoTokenSource = errors.New("circle: no member token source: give one to NewMemberClient or put one in the context with WithTokenSource")

// AppTokenEditor returns a request editor that sets "Authorization: Bearer
// appToken", the credential of the Auth API. It is a plain function, so it
// can be given to authv1.WithRequestEditorFn, to one call, or applied to
// any request you build. It changes only the request's headers.
func AppTokenEditor(appToken string) func(context.Context, *http.Request) error {
	header := "Bearer " + appToken
	return func(_ context.Context, req *http.Request) error {
		if appToken == "" {
			return errors.New("circle: empty app token")
		}
		req.Header.Set("Authorization", header)
		return nil
	}
}

// MemberTokenEditor returns a request editor that sets "Authorization:
// Bearer <access token>" from the token source in the context (see
// [WithTokenSource]) or else from ts, which refreshes the token when it is
// about to expire. ts may be nil when every call puts its source in the
// context. The editor changes only the request's headers; it is a plain
// function, usable with memberv1.WithRequestEditorFn, one call, or any
// request you build.
func MemberTokenEditor(ts TokenSource) func(context.Context, *http.Request) error {
	return func(ctx context.Context, req *http.Request) error {
		src := sourceFor(ctx, ts)
		if src == nil {
			return ErrNoTokenSource
		}
		tok, err := src.Token(ctx)
		if err != nil {
			return fmt.Errorf("circle: member token: %w", err)
		}
		if tok.AccessToken == "" {
			return errors.New("circle: member token source returned an empty access token")
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return nil
	}
}

func userAgentEditor(ua string) func(context.Context, *http.Request) error {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("User-Agent", ua)
		return nil
	}
}
