package circle

import (
	"strconv"

	"github.com/circlekit/headless-go/gen/authv1"
)

// An Identity names the member a token pair is minted for: by email, by
// community member id, or by single sign-on user id. Make one with
// [ByEmail], [ByCommunityMemberID] or [BySSOUserID]. Identities are
// comparable, so they can be map keys; two identities are equal when they
// name the member the same way with the same value (emails are compared as
// given, not case-folded).
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

// ByEmail names a member by email address.
func ByEmail(email string) Identity { return Identity{kind: emailIdentity, value: email} }

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

func (id Identity) valid() bool {
	switch id.kind {
	case emailIdentity, ssoIdentity:
		return id.value != ""
	case memberIDIdentity:
		return id.id > 0
	}
	return false
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
