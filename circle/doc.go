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
// [MemberTokenSource.Revoke] withdraws the member's tokens and forgets
// those Circle withdrew; a token it could not withdraw is kept, so that
// calling Revoke again retries it.
//
// # Retries
//
// GET, HEAD, PUT, DELETE and OPTIONS requests are retried after a
// connection error (a 2xx body the connection cut short counts as one) or a
// 408, 429, 500, 502, 503 or 504 answer, up to
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
// with [errors.Is]. A 2xx answer the client cannot use is returned as a
// [*DecodeError] (see Answers). No token appears in an error, in a log
// line ([WithLogger]) or in the String of a [Token].
//
// # Answers
//
// Every 2xx answer of the specs but 204 is a JSON body, and the clients
// hold Circle to that before the generated code decodes it: a 2xx answer
// (other than 204 and 205, or to a HEAD request) whose Content-Type is not
// JSON (application/json, text/json or a +json type; a login page, a wrong
// base URL), or whose body is empty, cut short or not well-formed JSON, is
// returned as a [*DecodeError] naming the call, the status, the
// Content-Type and the request id, with a short excerpt of the body in
// which string values are masked. So a nil error from a ...WithResponse
// method means that the typed field of the answer's status (JSON200,
// JSON201...) is set, for any status the spec declares a body for. A
// well-formed body without a Content-Type is taken as JSON.
//
// The clients do not validate answers against the schema: a well-formed
// body with values the schema forbids (an id below its minimum, a null
// where none is allowed, a required property missing) decodes without
// error, as Circle sent it. A body whose JSON types do not fit the
// generated Go types (a string where an integer is expected) makes the
// generated decoder fail after the circle layer has passed the answer on,
// so the ...WithResponse method returns encoding/json's own error, a
// [*encoding/json.UnmarshalTypeError], which names the field but not the
// call: the circle layer cannot wrap it without wrapping every generated
// method. The calls the circle layer makes itself, those of a
// [MemberTokenSource], do return it as a [*DecodeError].
//
// # Pagination
//
// [Pages] ranges over every item of a page-based list operation in one
// for-range loop, fetching pages lazily.
package circle
