package circle

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// heapUse is what f cost the heap: the bytes it allocated, and the peak
// of the heap's objects (live and not yet collected) above where it stood
// when f began, sampled every 100 µs. A sample can miss the very top, so
// the peak is a lower bound; the bytes allocated are exact.
func heapUse(f func()) (allocated, peak uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	base := read()
	var top atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		for {
			if h := read(); h > top.Load() {
				top.Store(h)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	if h := read(); h > top.Load() {
		top.Store(h)
	}
	close(done)
	<-stopped
	runtime.ReadMemStats(&after)
	if t := top.Load(); t > base {
		peak = t - base
	}
	return after.TotalAlloc - before.TotalAlloc, peak
}

// mib writes n bytes in MiB, for the figures the tests print.
func mib(n uint64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }

// TestEndlessMintBodyCostsLittle: an Auth API 2xx body that never ends
// is read to the Auth API's own limit (64 KiB), not to the Member API's
// 32 MiB, so a mint against it costs the heap next to nothing. (Before the
// Auth API had its own limit: 64 MiB allocated, a peak near 32 MiB
// above the start.)
func TestEndlessMintBodyCostsLittle(t *testing.T) {
	// Not parallel: it measures the allocations of the whole process.
	var hits atomic.Int64
	srv := endless(t, &hits)
	auth, err := NewAuthClient(testAppToken, WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	var callErr error
	allocated, peak := heapUse(func() { _, callErr = auth.TokenSource(ByEmail("ada@example.com")).Token(t.Context()) })
	if !errors.Is(callErr, ErrResponseTooLarge) {
		t.Fatalf("mint with an endless body: %v, want ErrResponseTooLarge", callErr)
	}
	if hits.Load() != 1 {
		t.Errorf("%d mints sent, want 1", hits.Load())
	}
	t.Logf("an endless 2xx mint body (default limits): %d bytes allocated (%s), heap peak +%s", allocated, mib(allocated), mib(peak))
	if allocated > 4<<20 {
		t.Errorf("a mint against an endless body allocated %s, want under 4 MiB", mib(allocated))
	}
}

// TestEndlessMemberBodyStaysNearTheLimit: a Member API 2xx body that never
// ends is read up to the limit (32 MiB by default) and dropped; what that
// allocates stays near the limit, since the bytes are never copied while
// they arrive. (Doubling one buffer allocated about twice the limit.)
func TestEndlessMemberBodyStaysNearTheLimit(t *testing.T) {
	// Not parallel: it measures the allocations of the whole process.
	var hits atomic.Int64
	srv := endless(t, &hits)
	api, err := NewMemberClient(staticSource{Token{AccessToken: "acc"}}, WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	var callErr error
	allocated, peak := heapUse(func() { _, callErr = api.ListBookmarksWithResponse(t.Context(), nil) })
	if !errors.Is(callErr, ErrResponseTooLarge) {
		t.Fatalf("err = %v, want ErrResponseTooLarge", callErr)
	}
	t.Logf("an endless 2xx Member API body (32 MiB limit): %d bytes allocated (%s), heap peak +%s", allocated, mib(allocated), mib(peak))
	const limit = DefaultMaxResponseSize
	if allocated > limit+limit/8 {
		t.Errorf("allocated %s for a limit of %s, want at most 1.125 times the limit", mib(allocated), mib(limit))
	}
	if peak > limit+limit/2 {
		t.Errorf("heap peak +%s for a limit of %s", mib(peak), mib(limit))
	}
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestLargeRequestBodyIsStreamedOnce: a 64 MiB request body without
// GetBody, of unknown length or of a known one over the replay limit, is
// sent as a stream: it is not read into memory, and it is sent once, not
// retried after a 503. (Buffered for a replay, it cost about 160 MB of
// allocation.)
func TestLargeRequestBodyIsStreamedOnce(t *testing.T) {
	// Not parallel: it measures the allocations of the whole process.
	const size = 64 << 20
	var attempts atomic.Int64
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write([]byte(`{"read":` + strconv.FormatInt(n, 10) + `}`))
	}))
	t.Cleanup(srv.Close)
	hc, err := NewHTTPClient(staticSource{Token{AccessToken: "acc"}}, WithBaseURL(srv.URL), WithRetryBackoff(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	send := func(sized bool) (*http.Response, error) {
		body := io.NopCloser(io.LimitReader(zeros{}, size))
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, srv.URL+"/api/headless/v1/upload", body)
		if err != nil {
			t.Fatal(err)
		}
		if sized {
			req.ContentLength = size
		}
		return hc.Do(req)
	}
	for _, sized := range []bool{false, true} {
		name := "of unknown length"
		if sized {
			name = "with a Content-Length"
		}
		status.Store(http.StatusOK)
		attempts.Store(0)
		var code int
		var callErr error
		allocated, peak := heapUse(func() {
			resp, err := send(sized)
			if callErr = err; err == nil {
				code = resp.StatusCode
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
		if callErr != nil || code != http.StatusOK {
			t.Fatalf("a 64 MiB body %s: %d, %v", name, code, callErr)
		}
		t.Logf("a 64 MiB streamed request body %s: %d bytes allocated (%s), heap peak +%s", name, allocated, mib(allocated), mib(peak))
		if allocated > 8<<20 {
			t.Errorf("a 64 MiB streamed body %s allocated %s, want under 8 MiB", name, mib(allocated))
		}

		// A 503, retryable for a PUT, stands: the body is gone. (The 401
		// is TestOneShotBodyIsNotReplayed's.)
		for _, code := range []int{http.StatusServiceUnavailable} {
			status.Store(int64(code))
			attempts.Store(0)
			resp, err := send(sized)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != code || attempts.Load() != 1 {
				t.Errorf("a body %s answered %d: got %d after %d attempts, want %d after 1", name, code, resp.StatusCode, attempts.Load(), code)
			}
		}
	}
}

// stepReader gives the bytes of b at most step at a time.
type stepReader struct {
	b    []byte
	step int
}

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// FuzzReadFrom checks the chunked reader against the obvious one: a body
// within the limit comes back whole, a longer one is errTooLarge with its
// first limit bytes (keep) or none, whatever the Content-Length claims
// and however the bytes arrive.
func FuzzReadFrom(f *testing.F) {
	f.Add(uint32(0), uint32(10), int64(-1), uint16(1), true)
	f.Add(uint32(600), uint32(600), int64(600), uint16(7), false)
	f.Add(uint32(601), uint32(600), int64(10), uint16(4096), true)
	f.Add(uint32(3<<20), uint32(4<<20), int64(16<<20), uint16(65535), false)
	f.Add(uint32(5<<20), uint32(3<<20), int64(-1), uint16(1000), true)
	f.Fuzz(func(t *testing.T, size, limit uint32, hint int64, step uint16, keep bool) {
		size, limit = size%(6<<20), limit%(5<<20)+1
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(i*7 + i>>9)
		}
		for _, pooled := range []bool{false, true} {
			rb := new(respBuf)
			if pooled {
				rb.b = make([]byte, 0, maxPooled)
			}
			err := rb.readFrom(&stepReader{b: body, step: int(step) + 1}, int64(limit), hint, keep)
			switch {
			case size <= limit:
				if err != nil || string(rb.b) != string(body) {
					t.Fatalf("size %d, limit %d: %d bytes back, err %v", size, limit, len(rb.b), err)
				}
			case !errors.Is(err, errTooLarge):
				t.Fatalf("size %d, limit %d: err %v, want errTooLarge", size, limit, err)
			case keep && string(rb.b) != string(body[:limit]):
				t.Fatalf("size %d, limit %d: kept %d bytes, want the first %d", size, limit, len(rb.b), limit)
			case !keep && len(rb.b) != 0:
				t.Fatalf("size %d, limit %d: %d bytes kept", size, limit, len(rb.b))
			}
		}
	})
}

// TestReplayableBody: which request bodies are kept for another attempt.
func TestReplayableBody(t *testing.T) {
	t.Parallel()
	mk := func(body io.Reader, length int64) *http.Request {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://circle.test/x", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = length
		return req
	}
	opaque := func(s string) io.Reader { return io.MultiReader(strings.NewReader(s)) } // no GetBody
	for _, tc := range []struct {
		name    string
		req     *http.Request
		kept    string // the body each copy reads, "" when none is kept
		oneShot bool
		fails   bool
	}{
		{"no body", mk(nil, 0), "", false, false},
		{"GetBody", mk(strings.NewReader("abc"), 3), "abc", false, false},
		{"known length", mk(opaque(`{"a":1}`), 7), `{"a":1}`, false, false},
		{"1 MiB", mk(opaque(strings.Repeat("x", maxReplayBody)), maxReplayBody), strings.Repeat("x", maxReplayBody), false, false},
		{"unknown length", mk(opaque(`{"a":1}`), 0), "", true, false},
		{"over 1 MiB", mk(opaque(strings.Repeat("x", maxReplayBody+1)), maxReplayBody+1), "", true, false},
		{"longer than its ContentLength", mk(opaque("0123456789"), 4), "", false, true},
	} {
		get, err := replayableBody(tc.req)
		if (err != nil) != tc.fails {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if got := oneShot(tc.req, get); got != tc.oneShot && !tc.fails {
			t.Errorf("%s: oneShot = %t", tc.name, got)
		}
		if tc.kept == "" {
			if get != nil {
				t.Errorf("%s: a copy is made", tc.name)
			}
			continue
		}
		for range 2 {
			rc, err := get()
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(rc); string(b) != tc.kept {
				t.Errorf("%s: a copy reads %.20q…", tc.name, b)
			}
		}
	}
}

// A pooled buffer larger than a read's limit (an Auth API read, 64 KiB,
// after a large Member API body) keeps its capacity for the next read:
// the limit bounds what is read, not the buffer the pool keeps.
func TestReadFromKeepsThePooledCapacity(t *testing.T) {
	for _, body := range []string{"", `{"a":1}`} {
		rb := &respBuf{b: make([]byte, 0, 1<<20)}
		if err := rb.readFrom(strings.NewReader(body), 100, -1, false); err != nil {
			t.Fatal(err)
		}
		if string(rb.b) != body || cap(rb.b) != 1<<20 {
			t.Errorf("%q: read %q with capacity %d; want the body and 1 MiB", body, rb.b, cap(rb.b))
		}
	}
	rb := &respBuf{b: make([]byte, 0, 1<<20)}
	if err := rb.readFrom(strings.NewReader(strings.Repeat("x", 101)), 100, -1, true); !errors.Is(err, errTooLarge) {
		t.Fatalf("101 bytes over a limit of 100: %v", err)
	}
	if len(rb.b) != 100 || cap(rb.b) != 1<<20 {
		t.Errorf("over the limit: kept %d bytes with capacity %d; want 100 and 1 MiB", len(rb.b), cap(rb.b))
	}
}
