package circle

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"
)

// respBuf is a buffer a 2xx body is read into. Buffers of responses that
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
)

// errTooLarge is the read error of a body longer than the limit.
var errTooLarge = errors.New("body over the limit")

// readBody reads resp's whole body, at most limit bytes, into a buffer of
// bufPool, and closes it. It returns what was read with the error of the
// read: errTooLarge when the body goes on past limit, or the connection's
// error when it was cut short.
func readBody(resp *http.Response, limit int64) (*respBuf, error) {
	rb, _ := bufPool.Get().(*respBuf)
	if rb == nil {
		rb = new(respBuf)
	}
	b := rb.b[:0]
	if resp.Body == nil {
		rb.b = b
		return rb, nil
	}
	defer func() { _ = resp.Body.Close() }()
	if cl := resp.ContentLength; cl >= 0 && cl < maxPrealloc && cl < limit && int(cl) >= cap(b) {
		b = make([]byte, 0, int(cl)+1) // one more, so that reading the EOF needs no growth
	} else if cap(b) == 0 {
		b = make([]byte, 0, 512)
	}
	for {
		m, err := resp.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if int64(len(b)) > limit {
			rb.b = b[:0]
			return rb, errTooLarge
		}
		if err == io.EOF {
			rb.b = b
			return rb, nil
		}
		if err != nil {
			rb.b = b
			return rb, err
		}
		if len(b) == cap(b) {
			// Grow by doubling, but never past one byte over the limit.
			next := min(int64(cap(b))*2, limit+1)
			if next <= int64(cap(b)) {
				next = int64(cap(b)) + 1
			}
			nb := make([]byte, len(b), next)
			copy(nb, b)
			b = nb
		}
	}
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
