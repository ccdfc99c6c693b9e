// Package circletest runs a fake of Circle's Headless APIs on loopback, for
// tests and offline examples, in the manner of net/http/httptest.
//
// A [Server] is built from the project's own specs, embedded in package
// openapi, so it needs no files. It serves both APIs on one address:
//
//   - The Auth API (/api/v1/headless/...) is stateful. Calls carry the
//     server's app token ([Server.AppToken]). It mints a token pair for a
//     member added with [Server.AddMember], refreshes access tokens and
//     revokes either token. Tokens are random, expire under a clock the test
//     controls ([Server.Advance]), and failures are answered with 401, 403,
//     404 or 422 and Circle's error body.
//   - The Member API (/api/headless/v1/...) needs, on every call, a live
//     access token of a known member (else 401). Every request is validated
//     against the spec (an invalid one is answered 400 and recorded). Every
//     operation answers with a body synthesised from its response schema, or
//     with what the test registered for its operationId with
//     [Server.SetResponse] or [Server.SetRecords]; list operations honour
//     page and per_page.
//
// Faults can be injected per operationId or for all operations
// ([Server.InjectFault]): an error status for the next N calls, a Retry-After
// header, latency, or a dropped connection. Every request is recorded
// ([Server.Requests]) so that a test can assert what reached Circle.
//
// Operations are named by the operationIds of the project's specs, such as
// createMemberToken and listSpacePosts; the spelling of the generated Go
// names (CreateMemberToken) is accepted too.
//
// [NewServer] needs no *testing.T; [Start] is the shorthand for tests, and
// closes the server when the test ends.
//
// Like stripe-mock, the Member API checks that requests are right, not that
// behaviour is real: it stores nothing that a call creates, so a post made
// with one call is not returned by the next.
package circletest
