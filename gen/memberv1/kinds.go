package memberv1

import (
	"encoding/json"
	"fmt"
)

// The kinds of a [SearchResult]. Each variant of the union types its "type"
// property with a kind of its own (x-go-type in the spec), which decodes
// only the value Circle gives that variant: the accessor of the wrong
// variant, such as [SearchResult.AsSearchedPost] on a member, fails instead
// of returning a post with a member's fields. Switch on
// [SearchResult.Discriminator], or use [SearchResult.ValueByDiscriminator].
//
// A kind's zero value is empty and is left out when encoding; the From
// methods of [SearchResult] set the type property.

// SearchedPostKind is the "type" of a [SearchedPost]: "post".
type SearchedPostKind string

// SearchedCommunityMemberKind is the "type" of a [SearchedCommunityMember]:
// "community_member".
type SearchedCommunityMemberKind string

// SearchedMemberTagKind is the "type" of a [SearchedMemberTag]: "member_tag".
type SearchedMemberTagKind string

// SearchedSpaceKind is the "type" of a [SearchedSpace]: "space".
type SearchedSpaceKind string

// SearchedSpaceGroupKind is the "type" of a [SearchedSpaceGroup]:
// "space_group".
type SearchedSpaceGroupKind string

// SearchedCommentKind is the "type" of a [SearchedComment]: "comment".
type SearchedCommentKind string

// The values of the kinds, as Circle sends them.
const (
	SearchedPostKindPost                       SearchedPostKind            = "post"
	SearchedCommunityMemberKindCommunityMember SearchedCommunityMemberKind = "community_member"
	SearchedMemberTagKindMemberTag             SearchedMemberTagKind       = "member_tag"
	SearchedSpaceKindSpace                     SearchedSpaceKind           = "space"
	SearchedSpaceGroupKindSpaceGroup           SearchedSpaceGroupKind      = "space_group"
	SearchedCommentKindComment                 SearchedCommentKind         = "comment"
)

// UnmarshalJSON accepts only "post".
func (k *SearchedPostKind) UnmarshalJSON(b []byte) error {
	return decodeKind(b, (*string)(k), string(SearchedPostKindPost), "SearchedPost")
}

// UnmarshalJSON accepts only "community_member".
func (k *SearchedCommunityMemberKind) UnmarshalJSON(b []byte) error {
	return decodeKind(b, (*string)(k), string(SearchedCommunityMemberKindCommunityMember), "SearchedCommunityMember")
}

// UnmarshalJSON accepts only "member_tag".
func (k *SearchedMemberTagKind) UnmarshalJSON(b []byte) error {
	return decodeKind(b, (*string)(k), string(SearchedMemberTagKindMemberTag), "SearchedMemberTag")
}

// UnmarshalJSON accepts only "space".
func (k *SearchedSpaceKind) UnmarshalJSON(b []byte) error {
	return decodeKind(b, (*string)(k), string(SearchedSpaceKindSpace), "SearchedSpace")
}

// UnmarshalJSON accepts only "space_group".
func (k *SearchedSpaceGroupKind) UnmarshalJSON(b []byte) error {
	return decodeKind(b, (*string)(k), string(SearchedSpaceGroupKindSpaceGroup), "SearchedSpaceGroup")
}

// UnmarshalJSON accepts only "comment".
func (k *SearchedCommentKind) UnmarshalJSON(b []byte) error {
	return decodeKind(b, (*string)(k), string(SearchedCommentKindComment), "SearchedComment")
}

// decodeKind decodes the JSON string b into k, and fails unless it is want
// (null leaves k as it is, as encoding/json does for a string).
func decodeKind(b []byte, k *string, want, variant string) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("memberv1: %s: type: %w", variant, err)
	}
	if s != want {
		return fmt.Errorf("memberv1: a %q search hit is not a %s (type %q)", s, variant, want)
	}
	*k = s
	return nil
}
