package realtime

import "sync"

// MaxBufferedBytes bounds the payload bytes that one subscription holds for
// a consumer that has not read them, whatever [WithBufferSize] allows: a
// subscription that would hold more ends with [ErrSlowConsumer].
const MaxBufferedBytes = 4 << 20

// sub is one consumer of a channel: a bounded queue between the read loop,
// which never blocks on it, and the consumer's iterator.
type sub struct {
	max    int
	notify chan struct{} // one pending wake-up
	stop   chan struct{} // closed by end
	err    error         // why it ended, set before stop is closed

	mu    sync.Mutex
	q     []Event
	bytes int
	ended bool
}

func newSub(limit int) *sub {
	return &sub{max: limit, notify: make(chan struct{}, 1), stop: make(chan struct{})}
}

// push queues e, or ends the subscription with ErrSlowConsumer when the
// queue is full. It never blocks.
func (s *sub) push(e Event) {
	n := len(e.Raw)
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	if len(s.q) >= s.max || s.bytes+n > MaxBufferedBytes {
		// Drop what the consumer did not read: it ends with the error.
		s.q, s.bytes = nil, 0
		s.endLocked(ErrSlowConsumer)
		s.mu.Unlock()
		return
	}
	s.q = append(s.q, e)
	s.bytes += n
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// pop takes the oldest queued event.
func (s *sub) pop() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.q) == 0 {
		return Event{}, false
	}
	e := s.q[0]
	s.q[0] = Event{}
	s.q = s.q[1:]
	s.bytes -= len(e.Raw)
	if len(s.q) == 0 {
		s.q = nil // let the backing array go
	}
	return e, true
}

// end ends the subscription with err; the first call wins.
func (s *sub) end(err error) {
	s.mu.Lock()
	s.endLocked(err)
	s.mu.Unlock()
}

func (s *sub) endLocked(err error) {
	if s.ended {
		return
	}
	s.ended = true
	s.err = err
	close(s.stop)
}
