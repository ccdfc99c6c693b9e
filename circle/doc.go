// Package circle is the hand-written layer of headless-go over the clients
// generated from the Headless API specs (packages authv1 and memberv1). It
// adds what generation cannot: credentials, member tokens that mint,
// refresh and revoke themselves, retries, typed errors, limits that hold
// against a hostile or broken server, and pagination.
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
// # How a call flows
//
// A Member API call goes: the generated method builds the request →
// the member client's Doer (memberauth.go) resolves the call's token
// source once (the context's, see [WithTokenSource], or the client's),
// asks it for the access token, and sends a copy of the request with it
// (reqcopy.go makes the copies and decides which bodies can be sent again) →
// the retrying transport (transport.go) sends it through your Doer,
// guarded so that no request leaves for another origin (guard.go), reads
// and checks the response and decides in one place whether to send again
// → back in the member client's Doer, a 401 makes the source replace that
// very token ([Refresher]) and the request is sent once more → the
// generated Parse function decodes the checked body. An Auth API call
// takes the same path without the member's Doer; its editor sets the app
// token. Typed errors are all made in errors.go.
//
// # Many members
//
// One member client serves any number of members: create it with a nil
// source and name the member of each call in its context with
// [WithTokenSource]. The sources come from [AuthClient.TokenSource], which
// keeps the most recently used ones ([WithCacheSize]); token pairs are kept
// in a [TokenStore] ([WithTokenStore]), so a restart does not mint again.
// The default store is a [MemoryStore] bounded like the cache
// ([WithStoreCapacity]): memory follows the capacities, not the number of
// members a process sees.
//
// # Member tokens
//
// A [MemberTokenSource] mints a token pair on first use, refreshes the
// access token before it expires ([WithExpiryMargin]), mints anew when the
// refresh token is rejected, and runs one mint or refresh at a time for
// all its concurrent callers. When the Member API answers 401 to a token
// the source believed valid, the member client asks the source to replace
// it (once for all concurrent 401s) and sends the request again, body
// included, once. A body without GetBody is kept in memory for that only
// when its length is known and at most 1 MiB (the Member API takes small
// JSON bodies); a longer one, or one of unknown length, is sent as a
// stream, once: neither replayed nor retried.
//
// Circle's Auth API is never hammered, whatever it answers. A failed mint
// or refresh is remembered per member: until a backoff has passed (1 s,
// doubling up to 5 minutes, never shorter than a Retry-After;
// [WithTokenBackoff]) Token returns a [*BackoffError] at once. Two Auth
// API calls of one member are at least a second apart
// ([WithMinRefreshInterval]), and expiry times are read in Circle's time,
// from the Date header of the response that issued them, so that a clock
// far from Circle's costs nothing. When a member's new tokens are rejected
// too, the source stops replacing them for a backoff: the problem is not
// the token.
//
// [MemberTokenSource.Revoke] withdraws the member's tokens and forgets
// those Circle withdrew; a token it could not withdraw is kept, so that
// calling Revoke again retries it. A revoke is final for the calls in
// flight: a call sent with the revoked token is not replayed, and only a
// Token call that begins after Revoke returned mints again.
//
// # Retries
//
// GET, HEAD, PUT, DELETE and OPTIONS requests are retried after a
// transient failure of the connection (refused, reset, cut short, timed
// out) or a 408, 429, 500, 502, 503 or 504 response, up to
// [WithMaxRetries] more times (2 by default), with exponential backoff and
// jitter ([WithRetryBackoff]), honouring Retry-After up to a cap
// ([WithMaxRetryAfter]), and never past the context's deadline. So are
// the Auth API's revoke calls, which are idempotent. Other POST and PATCH
// requests are not retried, except the Auth API refresh call when it
// could not be sent at all. What cannot heal (a request that cannot be sent as
// it is, a certificate that does not verify, a refused redirect, a
// response over the size limit) is never retried.
//
// # Limits
//
// No credential leaves for another origin than the base URL's: Auth API
// calls follow no redirect, Member API calls none to another origin, with
// the default client and with yours ([RedirectError]). A 2xx body is read
// up to [WithMaxResponseSize] (32 MiB by default; [ErrResponseTooLarge]),
// a 2xx body of the Auth API up to 64 KiB, an error body up to 1 MiB, and
// no buffer is allocated on the word of a Content-Length beyond 256 KiB.
// Each attempt of a call is bounded by [WithTimeout] ([DefaultTimeout],
// 80 s, with the default client, which also bounds a TLS handshake to
// 10 s and the wait for a response's headers to 30 s). Every call to a
// [TokenStore] is bounded by [WithStoreTimeout], and a store that stops
// answering holds a bounded number of goroutines (see [TokenStore]).
//
// # Errors
//
// A non-2xx response is returned as an [*APIError] (unless
// [WithRawErrorResponses]), so a nil error means a 2xx response. It
// matches [ErrUnauthorized], [ErrForbidden], [ErrNotFound] and
// [ErrRateLimited] with [errors.Is]. A 2xx response the client cannot use
// is returned as a [*DecodeError] (see Responses). No token appears in an
// error, in a log line ([WithLogger]) or in any formatting of a value of
// this package, whatever the encoding in which a server or a store echoes
// it.
//
// # Responses
//
// Every 2xx response of the specs but 204 is a JSON body, and the clients
// hold Circle to that before the generated code decodes it: a 2xx response
// (other than 204 and 205, or to a HEAD request) whose Content-Type is not
// JSON (application/json, text/json or a +json type; a login page, a wrong
// base URL), or whose body is empty, cut short or not well-formed JSON, is
// returned as a [*DecodeError] naming the call, the status, the
// Content-Type and the request id, with a short excerpt of the body in
// which string values and anything like a token are masked. So a nil
// error from a ...WithResponse method means that the typed field of the
// response's status (JSON200, JSON201...) is set, for any status the spec
// declares a body for. A well-formed body without a Content-Type is taken
// as JSON.
//
// The clients do not validate responses against the schema: a well-formed
// body with values the schema forbids (an id below its minimum, a null
// where none is allowed, a required property missing) decodes without
// error, as Circle sent it. A body whose JSON types do not fit the
// generated Go types (a string where an integer is expected) makes the
// generated decoder fail after the circle layer has passed the response
// on, so the ...WithResponse method returns encoding/json's own error, a
// [*encoding/json.UnmarshalTypeError], which names the field but not the
// call: the circle layer cannot wrap it without wrapping every generated
// method. The calls the circle layer makes itself, those of a
// [MemberTokenSource], do return it as a [*DecodeError].
//
// # Pagination
//
// [Pages] ranges over every item of a page-based list operation in one
// for-range loop, fetching pages lazily, and stops with an error when a
// page does not advance.
package circle
