package circletest

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// AllOperations names every operation of both APIs in [Server.InjectFault].
const AllOperations = "*"

// Fault is a failure the server injects into calls of an operation. It is
// applied after the call is routed and before anything else: before the
// token is checked and the request validated.
type Fault struct {
	// Status, when non-zero, is answered instead of the operation's
	// response, with Circle's error body.
	Status int
	// RetryAfter, when positive and Status is set, is sent as a Retry-After
	// header, in whole seconds rounded up.
	RetryAfter time.Duration
	// Latency delays the answer (or the drop) by this much real time. With
	// neither Status nor Drop set, the call is then answered as usual.
	Latency time.Duration
	// Drop closes the connection without answering. Note that Go's
	// http.Transport may itself replay an idempotent request whose reused
	// connection was closed this way, so the caller may not see the drop.
	Drop bool
	// Times is how many calls the fault applies to; zero means every call
	// until [Server.ClearFaults].
	Times int
}

// fault is an injected Fault and the calls it has left.
type fault struct {
	Fault
	op   string
	left int // <= 0: unlimited
}

// InjectFault makes the server fail calls of the operation operationID, of
// either API, as f says; [AllOperations] applies it to every operation.
// Faults apply in the order they were injected: a call takes the first
// fault that matches its operation and has calls left.
//
// InjectFault panics if operationID is not an operation of either spec or
// f.Times is negative, since both are mistakes in the test.
func (s *Server) InjectFault(operationID string, f Fault) {
	if operationID != AllOperations && s.operation(operationID) == nil {
		panic(fmt.Sprintf("circletest: InjectFault: no operation %q in the specs", operationID))
	}
	if f.Times < 0 {
		panic(fmt.Sprintf("circletest: InjectFault(%q): Times %d is negative", operationID, f.Times))
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 999) {
		panic(fmt.Sprintf("circletest: InjectFault(%q): status %d is not an HTTP status", operationID, f.Status))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if operationID != AllOperations {
		operationID = canonicalID(operationID)
	}
	s.faults = append(s.faults, &fault{Fault: f, op: operationID, left: f.Times})
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault that applies to a call of op, counting the
// call against it, or nil.
func (s *Server) takeFault(op string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.op != AllOperations && f.op != op {
			continue
		}
		if f.Times > 0 {
			f.left--
			if f.left <= 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		out := f.Fault
		return &out
	}
	return nil
}

// sleep waits for d, and reports false if ctx ends or the server closes
// first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closed:
		return false
	}
}

// drop closes the client's connection without an answer.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // makes the server drop the connection
	}
	_ = conn.Close()
}
