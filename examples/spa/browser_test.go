package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/gen/memberv1"
)

// browser returns the path of a Chromium, or skips the test (fails it
// under CI=true, where .ci/run installs one).
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("examples/spa: no Chromium found (CI=true: .ci/run installs the chromium package)")
	}
	t.Skip("examples/spa: no Chromium found; skipping the browser test")
	return ""
}

// seen records what reached the site, with what the browser said of it.
type seen struct {
	mu   sync.Mutex
	reqs []seenRequest
}

type seenRequest struct {
	method, path, fetchSite string
	status                  int
	cors                    bool // an Access-Control-Allow-* header was answered
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *seen) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sr := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(sr, r)
		if sr.status == 0 {
			sr.status = 200
		}
		cors := false
		for k := range w.Header() {
			cors = cors || strings.HasPrefix(k, "Access-Control-Allow-")
		}
		s.mu.Lock()
		s.reqs = append(s.reqs, seenRequest{r.Method, r.URL.Path, r.Header.Get("Sec-Fetch-Site"), sr.status, cors})
		s.mu.Unlock()
	})
}

func (s *seen) from(sites ...string) []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []seenRequest
	for _, r := range s.reqs {
		for _, site := range sites {
			if r.fetchSite == site {
				out = append(out, r)
			}
		}
	}
	return out
}

// hostilePage is a page of another origin that aims credentialed fetch
// calls and form posts at the site's proxy. It writes what the browser
// let it see into #results.
const hostilePage = `<!doctype html><html><body>
<pre id="results"></pre>
<iframe name="f1"></iframe><iframe name="f2"></iframe><iframe name="f3"></iframe>
<form id="form1" method="post" action="TARGET/circle/logout" target="f1"></form>
<form id="form2" method="post" action="TARGET/circle/api/headless/v1/bookmarks" target="f2" enctype="text/plain">
  <input name='{"record_id":1,"bookmark_type":"post","x":"' value='"}'>
</form>
<form id="form3" method="post" action="TARGET/circle/api/headless/v1/bookmarks?X-CSRF=1" target="f3">
  <input name="X-CSRF" value="1"><input name="record_id" value="1"><input name="bookmark_type" value="post">
</form>
<script>
const target = "TARGET";
async function attempt(name, path, init) {
  try {
    const r = await fetch(target + path, Object.assign({credentials: "include"}, init));
    return [name, r.type === "opaque" ? "opaque" : "read " + r.status];
  } catch (e) {
    return [name, "blocked"];
  }
}
(async () => {
  const results = [];
  results.push(await attempt("feed with X-CSRF", "/circle/api/headless/v1/home", {headers: {"X-CSRF": "1"}}));
  results.push(await attempt("bookmark with X-CSRF", "/circle/api/headless/v1/bookmarks", {method: "POST", headers: {"X-CSRF": "1", "Content-Type": "application/json"}, body: '{"record_id":1,"bookmark_type":"post"}'}));
  results.push(await attempt("bookmark as text/plain", "/circle/api/headless/v1/bookmarks", {method: "POST", headers: {"Content-Type": "text/plain"}, body: '{"record_id":1,"bookmark_type":"post"}'}));
  results.push(await attempt("feed", "/circle/api/headless/v1/home", {}));
  results.push(await attempt("logout", "/circle/logout", {method: "POST"}));
  results.push(await attempt("events with X-CSRF", "/circle/events", {headers: {"X-CSRF": "1"}}));
  results.push(await attempt("events", "/circle/events", {}));
  results.push(await attempt("logout no-cors", "/circle/logout", {method: "POST", mode: "no-cors"}));
  let loaded = 0;
  for (const f of document.querySelectorAll("iframe")) {
    f.addEventListener("load", () => { if (++loaded === 3) document.getElementById("results").textContent = JSON.stringify(results); });
  }
  document.getElementById("form1").submit();
  document.getElementById("form2").submit();
  document.getElementById("form3").submit();
})();
</script></body></html>`

// TestInABrowser drives headless Chromium through the example: sign in,
// the feed shows the fake's posts, a bookmark goes through the proxy, a
// notification raised in the fake updates the page's count live, and
// a chat message of grace's its count of chat messages,
// pages of two other origins (another site, and the same site on another
// port) fail to reach Circle through the member's session, and signing
// out ends it.
func TestInABrowser(t *testing.T) {
	exe := browser(t)
	a, err := newApp(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var log seen
	site := httptest.NewServer(log.wrap(a))
	defer site.Close()

	// Two hostile origins: localhost is another site than 127.0.0.1; the
	// same address on another port is another origin of the same site.
	hostile := func(host string) string {
		ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		page := strings.ReplaceAll(hostilePage, "TARGET", site.URL)
		srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(page))
		})}}
		srv.Start()
		t.Cleanup(srv.Close)
		return "http://" + host + ":" + fmt.Sprint(ln.Addr().(*net.TCPAddr).Port) + "/"
	}
	crossSite, sameSite := hostile("localhost"), hostile("127.0.0.1")

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 50*time.Second)
	defer cancelT()

	memberCalls := func() (n int, ops []string) {
		for _, r := range a.fake.Requests() {
			if strings.HasPrefix(r.Path, "/api/headless/") || strings.Contains(r.OperationID, "evoke") {
				n++
				ops = append(ops, r.OperationID)
			}
		}
		return n, ops
	}

	// Sign in; the feed shows the fake's posts.
	err = chromedp.Do(ctx,
		chromedp.Navigate(site.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"),
		chromedp.Click(chromedp.ID("signin-button")),
		chromedp.WaitVisible(chromedp.CSS("#feed li.post")),
	)
	var feed string
	if err == nil {
		feed, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("feed")))
	}
	if err != nil {
		t.Fatalf("sign in and feed: %v", err)
	}
	for _, name := range []string{"Welcome to the community", "Office hours on Thursday", "Show us what you built"} {
		if !strings.Contains(feed, name) {
			t.Errorf("the feed lacks %q: %q", name, feed)
		}
	}

	// A bookmark through the proxy shows in the page and reaches Circle.
	err = chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#feed li.post:first-child button.bookmark")))
	if err == nil {
		_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("status").textContent.startsWith("Bookmarked")`, chromedp.WithPollingTimeout(15*time.Second)))
	}
	var status string
	if err == nil {
		status, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
	}
	if err != nil {
		t.Fatalf("bookmark: %v", err)
	}
	if status != "Bookmarked: Welcome to the community" {
		t.Errorf("status %q", status)
	}
	_, ops := memberCalls()
	if !strings.Contains(strings.Join(ops, " "), "createBookmark") {
		t.Errorf("Circle saw %q; want a createBookmark", ops)
	}

	// The count of new notifications follows the member's events live: a
	// notification raised in the fake shows in the page without a reload.
	tok, err := a.auth.TokenSource(circle.ByEmail("ada@example.com")).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ada := tok.CommunityMemberID
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("live").textContent === "live" && document.getElementById("notification-count").textContent === "0"`, chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		t.Fatalf("the page does not follow the events with a count of 0: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(a.fake.CableSubscriptions(ada)) < 2 { // notifications and chat rooms
		if time.Now().After(deadline) {
			t.Fatalf("the page's stream subscribed %q at the cable; want notifications and chat rooms", a.fake.CableSubscriptions(ada))
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.fake.AddNotification(ada, memberv1.Notification{ActorName: "Grace Hopper", Action: "commented on", NotifiableTitle: "Show us what you built"})
	var count, last string
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("notification-count").textContent === "1"`, chromedp.WithPollingTimeout(15*time.Second)))
	if err == nil {
		count, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("notification-count")))
	}
	if err == nil {
		last, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("last-notification")))
	}
	if err != nil {
		t.Fatalf("live notification count: %v", err)
	}
	if count != "1" || !strings.Contains(last, "Grace Hopper commented on Show us what you built") {
		t.Errorf("after a notification: count %q, last %q", count, last)
	}
	// So does the count of chat messages: grace writes in their room.
	gtok, err := a.auth.TokenSource(circle.ByEmail("grace@example.com")).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a.fake.AddChatMessage(a.room, memberv1.ChatRoomMessage{Body: "See you Thursday", Sender: memberv1.ChatMessageSender{CommunityMemberID: int(gtok.CommunityMemberID)}})
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("chat-count").textContent === "1"`, chromedp.WithPollingTimeout(15*time.Second)))
	if err == nil {
		last, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("last-message")))
	}
	if err != nil {
		t.Fatalf("live chat count: %v", err)
	}
	if !strings.Contains(last, "Grace: See you Thursday") {
		t.Errorf("after a chat message: last %q", last)
	}

	// Hostile pages, while the member is signed in.
	before, beforeOps := memberCalls()
	for _, page := range []string{crossSite, sameSite} {
		err = chromedp.Do(ctx, chromedp.Navigate(page))
		var results string
		if err == nil {
			results, err = chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById("results").textContent || null`, chromedp.WithPollingTimeout(15*time.Second)))
		}
		if err != nil {
			t.Fatalf("hostile page %s: %v", page, err)
		}
		t.Logf("%s: the browser reports %s", page, results)
		var got [][2]string
		if err := json.Unmarshal([]byte(results), &got); err != nil {
			t.Fatalf("results %q: %v", results, err)
		}
		for _, r := range got {
			want := "blocked"
			if strings.HasSuffix(r[0], "no-cors") {
				want = "opaque" // sent blind, refused by bff (counted below)
			}
			if r[1] != want {
				t.Errorf("%s: %s: the browser says %q; want %q", page, r[0], r[1], want)
			}
		}
	}
	if after, afterOps := memberCalls(); after != before {
		t.Errorf("hostile pages reached Circle: before %q, after %q", beforeOps, afterOps)
	}
	hostileReqs := log.from("cross-site", "same-site")
	if len(hostileReqs) < 6 {
		t.Errorf("only %d hostile requests reached the site; the test proves little: %+v", len(hostileReqs), hostileReqs)
	}
	t.Logf("%d hostile requests reached the site, each refused: %+v", len(hostileReqs), hostileReqs)
	for _, r := range hostileReqs {
		if r.status != http.StatusForbidden || r.cors {
			t.Errorf("hostile %s %s (%s): %d, CORS granted %v", r.method, r.path, r.fetchSite, r.status, r.cors)
		}
	}

	// Still signed in; then sign out: tokens revoked, session gone.
	err = chromedp.Do(ctx, chromedp.Navigate(site.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#feed li.post")))
	var who string
	if err == nil {
		who, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("who")))
	}
	if err == nil {
		err = chromedp.Do(ctx, chromedp.Click(chromedp.ID("signout")), chromedp.WaitVisible(chromedp.ID("email")))
	}
	var after int
	if err == nil {
		after, err = chromedp.Run(ctx, chromedp.Evaluate[int](`fetch("/circle/api/headless/v1/home", {headers: {"X-CSRF": "1"}}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	}
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	if who != "ada@example.com" {
		t.Errorf("signed in as %q after the hostile pages", who)
	}
	_, ops = memberCalls()
	if j := strings.Join(ops, " "); !strings.Contains(j, "revokeAccessToken") || !strings.Contains(j, "revokeRefreshToken") {
		t.Errorf("sign out did not revoke: %q", ops)
	}
	if after != 401 {
		t.Errorf("a proxied call after sign out: %v; want 401", after)
	}
}
