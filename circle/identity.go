package circle

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/circlekit/headless-go/gen/authv1"
)

// An Identity names the member a token pair is minted for: by email, by
// community member id, or by single sign-on user id. Make one with
// [ByEmail], [ByCommunityMemberID] or [BySSOUserID]. Identities are
// comparable, so they can be map keys; two identities are equal when they
// name the member the same way with the same value. Emails are compared
// as Circle compares them: case-insensitively, white space around them
// ignored, so that ByEmail("Ada@Example.com") and
// ByEmail(" ada@example.com") are one identity, with one token source,
// one pair and one store key.
type Identity struct {
	kind  identityKind
	value string
	id    int64
}

type identityKind uint8

const (
	noIdentity identityKind = iota
	emailIdentity
	memberIDIdentity
	ssoIdentity
)

// ByEmail names a member by email address. The address is kept as Circle
// compares it: white space around it removed, in lower case (see
// [Identity]); that is the address the mint sends and String shows.
func ByEmail(email string) Identity {
	return Identity{kind: emailIdentity, value: canonicalEmail(email)}
}

// canonicalEmail returns v without the white space around it, in lower
// case. An address that is not valid UTF-8 is left as it is, for
// Validate to reject.
func canonicalEmail(v string) string {
	if !utf8.ValidString(v) {
		return v
	}
	return strings.ToLower(strings.TrimFunc(v, isEmailSpace))
}

// isEmailSpace reports whether r is white space to Validate.
func isEmailSpace(r rune) bool { return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff' }

// ByCommunityMemberID names a member by id within the community.
func ByCommunityMemberID(id int64) Identity { return Identity{kind: memberIDIdentity, id: id} }

// BySSOUserID names a member by id in the community's single sign-on
// provider.
func BySSOUserID(id string) Identity { return Identity{kind: ssoIdentity, value: id} }

// IsZero reports whether id names no member (the zero Identity).
func (id Identity) IsZero() bool { return id.kind == noIdentity }

// String returns a stable key for the identity, such as
// "email:ada@example.com", "community_member_id:42" or "sso_user_id:u-7".
// A [TokenStore] can use it as the key of a token pair.
func (id Identity) String() string {
	switch id.kind {
	case emailIdentity:
		return "email:" + id.value
	case memberIDIdentity:
		return "community_member_id:" + strconv.FormatInt(id.id, 10)
	case ssoIdentity:
		return "sso_user_id:" + id.value
	}
	return "none"
}

// Limits of the values of identities: an email address is at most 320
// bytes (64 for the local part, @, 255 for the domain), and an SSO user id
// is given the same order of magnitude.
const (
	maxEmailLen     = 320
	maxSSOUserIDLen = 256
)

// Validate reports whether id names a member in a form Circle can accept,
// so that a bad identity fails before anything is sent:
//
//   - [ByEmail]: the address is valid UTF-8 of at most 320 bytes, holds no
//     white space and no control character, and has exactly one "@" with
//     a non-empty part on each side;
//   - [ByCommunityMemberID]: the id is greater than zero;
//   - [BySSOUserID]: the id is valid UTF-8 of at most 256 bytes, is not
//     empty or only white space, and holds no control character;
//   - the zero Identity names no member and is never valid.
//
// The error names the constructor and what is wrong; it quotes at most
// the start of the value.
func (id Identity) Validate() error { return id.validate() }

// validate is Validate; see there.
func (id Identity) validate() error {
	switch id.kind {
	case emailIdentity:
		return validateEmail(id.value)
	case memberIDIdentity:
		if id.id <= 0 {
			return fmt.Errorf("circle: ByCommunityMemberID: %d is not a member id (ids are greater than zero)", id.id)
		}
		return nil
	case ssoIdentity:
		return validateSSOUserID(id.value)
	}
	return errors.New("circle: no member identity (the zero Identity); make one with ByEmail, ByCommunityMemberID or BySSOUserID")
}

func validateEmail(v string) error {
	bad := func(why string) error { return fmt.Errorf("circle: ByEmail: %s %s", quoteStart(v), why) }
	switch {
	case v == "":
		return errors.New("circle: ByEmail: the email address is empty")
	case len(v) > maxEmailLen:
		return bad(fmt.Sprintf("is %d bytes long, over the %d of an email address", len(v), maxEmailLen))
	case !utf8.ValidString(v):
		return bad("is not valid UTF-8")
	}
	for _, r := range v {
		switch {
		case unicode.IsControl(r):
			return bad(fmt.Sprintf("holds a control character (%U)", r))
		case isEmailSpace(r):
			return bad(fmt.Sprintf("holds white space (%U)", r))
		case !unicode.IsPrint(r) && r != ' ':
			return bad(fmt.Sprintf("holds an unprintable character (%U)", r))
		}
	}
	at := strings.IndexByte(v, '@')
	switch {
	case at < 0:
		return bad("has no @")
	case strings.Count(v, "@") > 1:
		return bad("has more than one @")
	case at == 0:
		return bad("has nothing before the @")
	case at == len(v)-1:
		return bad("has nothing after the @")
	}
	return nil
}

func validateSSOUserID(v string) error {
	bad := func(why string) error { return fmt.Errorf("circle: BySSOUserID: %s %s", quoteStart(v), why) }
	switch {
	case v == "":
		return errors.New("circle: BySSOUserID: the id is empty")
	case len(v) > maxSSOUserIDLen:
		return bad(fmt.Sprintf("is %d bytes long, over the %d allowed", len(v), maxSSOUserIDLen))
	case !utf8.ValidString(v):
		return bad("is not valid UTF-8")
	case strings.TrimSpace(v) == "":
		return bad("is only white space")
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return bad(fmt.Sprintf("holds a control character (%U)", r))
		}
	}
	return nil
}

// quoteStart quotes v for an error message, cut to its first 32 bytes
// (at a character boundary) when it is longer, so that an absurd value
// does not flood a log line.
func quoteStart(v string) string {
	const maxQuoted = 32
	if len(v) <= maxQuoted {
		return strconv.Quote(v)
	}
	cut := maxQuoted
	for cut > maxQuoted-utf8.UTFMax && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return strconv.Quote(v[:cut]) + "…"
}

// valid reports whether id passes [Identity.Validate].
func (id Identity) valid() bool { return id.validate() == nil }

// ParseIdentity returns the identity whose [Identity.String] is s:
// "email:<address>", "community_member_id:<decimal id>" or
// "sso_user_id:<id>", so that a [TokenStore] can decode the keys it
// wrote. The identity is validated as [Identity.Validate] does; an id must
// be written as String writes it (no sign, no leading zero). An address
// is taken as [ByEmail] takes it, so "email:Ada@Example.com" gives the
// identity whose String is "email:ada@example.com".
func ParseIdentity(s string) (Identity, error) {
	kind, v, ok := strings.Cut(s, ":")
	if !ok {
		return Identity{}, fmt.Errorf("circle: ParseIdentity: %s is not email:…, community_member_id:… or sso_user_id:…", quoteStart(s))
	}
	var id Identity
	switch kind {
	case "email":
		id = ByEmail(v)
	case "sso_user_id":
		id = BySSOUserID(v)
	case "community_member_id":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != v {
			return Identity{}, fmt.Errorf("circle: ParseIdentity: %s is not a decimal member id", quoteStart(v))
		}
		id = ByCommunityMemberID(n)
	default:
		return Identity{}, fmt.Errorf("circle: ParseIdentity: unknown kind %s (want email, community_member_id or sso_user_id)", quoteStart(kind))
	}
	if err := id.validate(); err != nil {
		return Identity{}, err
	}
	return id, nil
}

func (id Identity) body() authv1.MemberIdentity {
	var b authv1.MemberIdentity
	switch id.kind {
	case emailIdentity:
		v := id.value
		b.Email = &v
	case memberIDIdentity:
		v := id.id
		b.CommunityMemberID = &v
	case ssoIdentity:
		v := id.value
		b.SSOUserID = &v
	}
	return b
}
