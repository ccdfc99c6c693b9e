// Package contract holds the contract tests of headless-go: every operation
// of the Auth and Member API specs called through the generated clients, as
// wired by package circle, against circletest's fake Circle on loopback.
//
// The tests derive their table of calls from the specs under openapi/ when
// they run, so an operation added to a spec is exercised without editing
// them, and a coverage test names any operationId that was not. Beside the
// per-operation calls, the package tests the token lifecycle end to end
// (mint, refresh, re-mint, revoke), the circle layer's retries and replay
// after a 401 against injected faults, and the handling of malformed
// answers (bodies that do not match the schema, truncated or empty bodies,
// HTML error pages), and fuzzes the decoding of responses.
//
// The package has no non-test code; run it with
//
//	go test -race ./internal/contract/
package contract
