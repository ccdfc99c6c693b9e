package circle

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// Every body the clients read (a 2xx or an error response, a request body
// kept for a replay, a token response) is read by respBuf.readFrom, one
// strategy that keeps the heap near the limit whatever the sender does: no
// buffer is allocated on the word of a Content-Length beyond maxPrealloc,
// and the bytes that arrive are never copied while they arrive. They fill
// chunks that double from 512 bytes up to maxChunk, never more than the
// limit plus one byte in all; a body of more than one chunk is joined into
// one buffer of its exact length at the end. An endless body costs the
// limit and is dropped; a body of n bytes costs at most about 2n + maxChunk
// at its peak, where doubling one buffer cost up to 4n.

// respBuf is a buffer a body is read into. Buffers of 2xx responses that
// were closed go back to bufPool, up to maxPooled bytes.
type respBuf struct{ b []byte }

var bufPool sync.Pool

const (
	// maxPooled is the largest buffer kept in bufPool.
	maxPooled = 64 << 10
	// maxPrealloc is the most a body's buffer is allocated for at once on
	// the word of its Content-Length: a header can lie, so a longer body
	// grows the buffer as its bytes arrive, never ahead of them.
	maxPrealloc = 256 << 10
	// maxChunk is the largest chunk a body is read into.
	maxChunk = 1 << 20
)

// errTooLarge is the read error of a body longer than the limit.
var errTooLarge = errors.New("body over the limit")

// pooledBuf returns a buffer of bufPool, or a new one.
func pooledBuf() *respBuf {
	if rb, _ := bufPool.Get().(*respBuf); rb != nil {
		return rb
	}
	return new(respBuf)
}

// readFrom reads r to its end into rb, at most limit bytes; hint is the
// length the sender announced (a Content-Length, -1 when unknown). It
// returns the error of the read: nil when r ended, errTooLarge when it
// goes on past limit, or the connection's error when it was cut short. On
// errTooLarge rb holds the first limit bytes if keep is set, else none;
// on another error, what was read. It closes nothing.
func (rb *respBuf) readFrom(r io.Reader, limit, hint int64, keep bool) error {
	cur := rb.b[:0]
	if r == nil {
		rb.b = cur
		return nil
	}
	if hint >= 0 && hint < maxPrealloc && hint < limit && int(hint) >= cap(cur) {
		cur = make([]byte, 0, int(hint)+1) // one more, so that reading the EOF needs no growth
	} else if cap(cur) == 0 {
		cur = make([]byte, 0, min(512, limit+1))
	}
	// first keeps its whole capacity for the pool; reads into it stop at
	// limit+1 bytes.
	first := cur
	if int64(cap(cur)) > limit+1 {
		cur = cur[: 0 : limit+1]
	}
	var full [][]byte // the chunks filled before cur
	var total int64   // their length
	whole := func() []byte {
		if len(full) == 0 {
			return first[:len(cur)] // cur is first, perhaps with less capacity
		}
		return join(full, cur)
	}
	for {
		n, err := r.Read(cur[len(cur):cap(cur)])
		cur = cur[:len(cur)+n]
		size := total + int64(len(cur))
		switch {
		case size > limit:
			if keep {
				rb.b = whole()[:limit]
			} else {
				rb.b = first[:0]
			}
			return errTooLarge
		case err == io.EOF:
			rb.b = whole()
			return nil
		case err != nil:
			rb.b = whole()
			return err
		case len(cur) == cap(cur):
			full = append(full, cur)
			total = size
			cur = make([]byte, 0, min(max(total, 512), maxChunk, limit+1-total))
		}
	}
}

// join returns the chunks full and then last as one slice: last itself
// when full is empty, else a new slice of their exact length.
func join(full [][]byte, last []byte) []byte {
	if len(full) == 0 {
		return last
	}
	n := len(last)
	for _, c := range full {
		n += len(c)
	}
	out := make([]byte, 0, n)
	for _, c := range full {
		out = append(out, c...)
	}
	return append(out, last...)
}

// readLimited reads r to its end, at most limit bytes, into a buffer of
// its own (not bufPool's, since the bytes are kept), the way readFrom
// does.
func readLimited(r io.Reader, limit, hint int64, keep bool) ([]byte, error) {
	var rb respBuf
	err := rb.readFrom(r, limit, hint, keep)
	return rb.b, err
}

// release hands rb back to bufPool when it is small enough to keep.
func (rb *respBuf) release() {
	if cap(rb.b) <= maxPooled {
		rb.b = rb.b[:0]
		bufPool.Put(rb)
	}
}

// respBody is the body of a checked 2xx response: its bytes, read anew.
// Close hands the buffer back to bufPool: the bytes were only ever copied
// out (by Read or ReadAt, or by WriteTo into a Writer, which must not keep
// them), and the body reads as empty once closed.
type respBody struct {
	bytes.Reader
	buf *respBuf
}

func newRespBody(rb *respBuf) *respBody {
	r := &respBody{buf: rb}
	r.Reset(rb.b)
	return r
}

// Close ends the body and recycles its buffer.
func (r *respBody) Close() error {
	if rb := r.buf; rb != nil {
		r.buf = nil
		r.Reset(nil)
		rb.release()
	}
	return nil
}
