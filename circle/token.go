package circle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"
)

// A TokenSource supplies the member access token a Member API request is
// sent with. It is a context-first cousin of golang.org/x/oauth2's
// TokenSource, not the same interface: its Token takes the caller's
// context (a mint or refresh may have to wait, and the wait ends with
// it) and returns a [Token] value, where x/oauth2's takes no context and
// returns a *oauth2.Token. An adapter either way is a few lines.
// Implementations must be safe for concurrent use, and callers must not
// modify the returned Token.
type TokenSource interface {
	// Token returns a token whose access token is valid now, obtaining or
	// refreshing it first if needed.
	Token(ctx context.Context) (Token, error)
}

// A Refresher is a [TokenSource] that can replace an access token the
// Member API rejected. The client of [NewMemberClient] uses it to replay a
// request once after a 401; a TokenSource that is not a Refresher gets no
// replay. [*MemberTokenSource] is a Refresher.
type Refresher interface {
	TokenSource
	// RefreshRejected returns a token that replaces the rejected access
	// token. If the source already holds a different, valid token it
	// returns that one; otherwise it refreshes (or mints) once, however
	// many callers report the same rejected token at the same time.
	RefreshRejected(ctx context.Context, rejectedAccessToken string) (Token, error)
}

// Token is a member's token pair as issued by the Auth API, and the member
// and community it acts for. Its String, GoString and Format methods and
// its slog value never show the two tokens; encoding/json does (with the
// Auth API's field names), so that a [TokenStore] can persist it.
type Token struct {
	// AccessToken is the JWT sent as a bearer token to the Member API.
	AccessToken string `json:"access_token"`
	// RefreshToken renews the access token through the Auth API.
	RefreshToken string `json:"refresh_token"`
	// AccessTokenExpiresAt is when the access token stops working; the
	// zero time means unknown, and the token is then used until the Member
	// API rejects it.
	AccessTokenExpiresAt time.Time `json:"access_token_expires_at"`
	// RefreshTokenExpiresAt is when the refresh token stops working; the
	// zero time means unknown.
	RefreshTokenExpiresAt time.Time `json:"refresh_token_expires_at"`
	// CommunityMemberID is the member the tokens act for.
	CommunityMemberID int64 `json:"community_member_id"`
	// CommunityID is the member's community.
	CommunityID int64 `json:"community_id"`
}

// validMargin is how long before its expiry Valid takes an access token
// for expired, as golang.org/x/oauth2 does.
const validMargin = 10 * time.Second

// Valid reports whether t has an access token that is not expired, nor
// about to (within 10 seconds), by this machine's clock. An access token
// whose expiry is unknown is valid.
func (t Token) Valid() bool {
	return t.AccessToken != "" &&
		(t.AccessTokenExpiresAt.IsZero() || time.Now().Add(validMargin).Before(t.AccessTokenExpiresAt))
}

// StaticTokenSource returns a [TokenSource] that always returns tok: a
// member token obtained elsewhere (by another service, or in a test). It
// never refreshes tok, so a Member API client using it gets no replay
// after a 401. Its Token fails when tok has no access token. No
// formatting of the source, or of a value holding it, shows the token.
func StaticTokenSource(tok Token) TokenSource {
	s := &staticTokenSource{}
	s.tok.Store(&tok)
	return s
}

// staticTokenSource holds its token where fmt never looks: an
// atomic.Pointer prints as an address, whatever the verb.
type staticTokenSource struct{ tok atomic.Pointer[Token] }

func (s *staticTokenSource) Token(context.Context) (Token, error) {
	tok := s.tok.Load()
	if tok.AccessToken == "" {
		return Token{}, errors.New("circle: StaticTokenSource: the token has no access token")
	}
	return *tok, nil
}

// String describes the source without its token.
func (s *staticTokenSource) String() string {
	return "circle.StaticTokenSource{" + s.tok.Load().String() + "}"
}

// GoString is like String.
func (s *staticTokenSource) GoString() string { return s.String() }

// Format prints the source as String does, whatever the verb.
func (s *staticTokenSource) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// String describes the token without its secrets, for logs and errors.
func (t Token) String() string {
	b := make([]byte, 0, 160)
	b = append(b, "circle.Token{CommunityMemberID: "...)
	b = strconv.AppendInt(b, t.CommunityMemberID, 10)
	b = append(b, ", CommunityID: "...)
	b = strconv.AppendInt(b, t.CommunityID, 10)
	b = append(b, ", AccessToken: "...)
	b = append(b, redacted(t.AccessToken)...)
	b = append(b, ", AccessTokenExpiresAt: "...)
	b = appendTime(b, t.AccessTokenExpiresAt)
	b = append(b, ", RefreshToken: "...)
	b = append(b, redacted(t.RefreshToken)...)
	b = append(b, ", RefreshTokenExpiresAt: "...)
	b = appendTime(b, t.RefreshTokenExpiresAt)
	b = append(b, '}')
	return string(b)
}

// GoString is like String, so that %#v hides the secrets too.
func (t Token) GoString() string { return t.String() }

// Format prints the token as String does, whatever the verb, so that no
// verb of package fmt shows its secrets.
func (t Token) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }

// LogValue gives log/slog the token without its secrets.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("community_member_id", t.CommunityMemberID),
		slog.Int64("community_id", t.CommunityID),
		slog.String("access_token", redacted(t.AccessToken)),
		slog.Time("access_token_expires_at", t.AccessTokenExpiresAt),
		slog.String("refresh_token", redacted(t.RefreshToken)),
		slog.Time("refresh_token_expires_at", t.RefreshTokenExpiresAt),
	)
}

func redacted(secret string) string {
	if secret == "" {
		return `""`
	}
	return "[redacted]"
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "unknown"...)
	}
	return t.UTC().AppendFormat(b, time.RFC3339)
}

func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
