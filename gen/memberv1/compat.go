package memberv1

// Names of earlier releases, kept so that code using them still compiles.
// oapi-codegen named these unions after their place in the spec, with
// underscores; the spec now names them (x-go-type-name).

// Deprecated: Use [SearchedCommunityMemberAttributesID].
type SearchedCommunityMember_Attributes_ID = SearchedCommunityMemberAttributesID

// Deprecated: Use [SharedCommunityMemberRoles].
type SharedCommunityMember_Roles = SharedCommunityMemberRoles
