// Package circle is the hand-written layer of headless-go over the clients
// generated from the Headless API specs (packages authv1 and memberv1). It
// adds what generation cannot: credentials, member tokens that mint,
// refresh and revoke themselves, retries, typed errors and pagination.
//
// # Clients
//
// [NewAuthClient] returns a client of the Auth API that sends the
// community's Headless Auth app token. Its [AuthClient.TokenSource] gives
// the [MemberTokenSource] of one member, named by an [Identity] ([ByEmail],
// [ByCommunityMemberID], [BySSOUserID]). [NewMemberClient] returns the
// generated Member API client, sending that member's access token.
//
//	auth, err := circle.NewAuthClient(appToken)
//	member := auth.TokenSource(circle.ByEmail("ada@example.com"))
//	api, err := circle.NewMemberClient(member)
//	resp, err := api.ListBookmarksWithResponse(ctx, nil)
//
// Both clients are the generated ones, wired with request editors
// ([AppTokenEditor], [MemberTokenEditor]) and with a transport around your
// HTTP client ([WithHTTPClient], [WithDoer]).
//
// # Many members
//
// One member client serves any number of members: create it with a nil
// source and name the member of each call in its context with
// [WithTokenSource]. The sources come from [AuthClient.TokenSource], which
// keeps the most recently used ones ([WithCacheSize]); token pairs are kept
// in a [TokenStore] ([WithTokenStore]), so a restart does not mint again.
//
// # Member tokens
//
// A [MemberTokenSource] mints a token pair on first use, refreshes the
// access token before it expires ([WithExpiryMargin]), mints anew when the
// refresh token is rejected, and runs one mint or refresh at a time for
// all its concurrent callers. When the Member API answers 401 to a token
// the source believed valid, the member client refreshes it (once for all
// concurrent 401s) and sends the request again, body included, once.
//
// # Retries
//
// GET, HEAD, PUT, DELETE and OPTIONS requests are retried after a
// connection error or a 408, 429, 500, 502, 503 or 504 answer, up to
// [WithMaxRetries] more times (2 by default), with exponential backoff and
// jitter ([WithRetryBackoff]), honouring Retry-After up to a cap
// ([WithMaxRetryAfter]), and never past the context's deadline. POST and
// PATCH are not retried, except the Auth API refresh call when it could
// not be sent at all.
//
// # Errors
//
// A non-2xx answer is returned as an [*APIError] (unless
// [WithRawErrorResponses]), so a nil error means a 2xx answer. It matches
// [ErrUnauthorized], [ErrForbidden], [ErrNotFound] and [ErrRateLimited]
// with [errors.Is]. No token appears in an error, in a log line
// ([WithLogger]) or in the String of a [Token].
//
// # Pagination
//
// [Pages] ranges over every item of a page-based list operation in one
// for-range loop, fetching pages lazily.
package circle
