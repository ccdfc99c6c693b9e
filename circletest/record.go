package circletest

import (
	"slices"
	"time"
)

// Request is the record of one request the server received, so that a
// test can assert what reached Circle.
type Request struct {
	// ID is the request id the server sent in the X-Request-Id header.
	ID string
	// Time is the time on the server's clock when the request arrived.
	Time time.Time
	// Method, Path and Query are the request's method, URL path and raw
	// query string.
	Method string
	Path   string
	Query  string
	// Body is the request body.
	Body []byte
	// OperationID is the operation the request was routed to, or "" when it
	// matched none.
	OperationID string
	// MemberID is the member the call acted for: the owner of the access
	// token on a Member API call, the member whose token was minted,
	// refreshed or revoked on an Auth API call; 0 when none is known.
	MemberID int64
	// Status is the status answered, or 0 when the connection was dropped
	// or the call abandoned.
	Status int
	// ValidationError says why the request did not match the spec; the
	// request was then answered 400 (Member API) or 422 (Auth API).
	ValidationError error
	// ResponseError says why the answer did not match the spec. The server
	// checks the bodies and records a test registered with
	// [Server.SetResponse] or [Server.SetRecords], and with
	// [WithResponseValidation] its own answers too (which match the spec:
	// it stays nil for them).
	ResponseError error
}

// record appends rec to the requests seen.
func (s *Server) record(rec Request) {
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	if s.onRequest != nil {
		s.onRequest(rec)
	}
}

// Requests returns the requests received so far, oldest first. A request
// is recorded just before it is answered.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ClearRequests forgets the requests received so far.
func (s *Server) ClearRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}
