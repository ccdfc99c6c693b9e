package bff

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
)

// BenchmarkProxiedCall compares one Member API call (GET home, a 4 KiB
// JSON answer) made three ways against the same upstream on loopback,
// with the same member token source:
//
//   - impl=direct: the SDK's HTTP client (AuthClient.NewHTTPClient), as a
//     backend calling Circle itself;
//   - impl=bff: a client calling the bff Handler, which calls upstream;
//   - impl=reverseproxy: a client calling an httputil.ReverseProxy whose
//     Rewrite sets the member's token, as a user would write it.
//
// latency=0 shows the cost of the extra hop itself; latency=20ms gives the
// upstream a round trip nearer a real Circle's. Compare with
// `benchstat -col /impl` (see the README's "Front ends").
func BenchmarkProxiedCall(b *testing.B) {
	for _, lat := range []time.Duration{0, 20 * time.Millisecond} {
		name := "latency=0"
		if lat > 0 {
			name = "latency=" + lat.String()
		}
		b.Run(name, func(b *testing.B) { benchImpls(b, lat) })
	}
}

func benchImpls(b *testing.B, latency time.Duration) {
	body := `{"page":1,"per_page":20,"has_next_page":false,"count":20,"page_count":1,"records":[` +
		strings.TrimSuffix(strings.Repeat(`{"id":12345,"name":"A post of the community feed","body":"`+strings.Repeat("x", 120)+`"},`, 20), ",") + `]}`
	up := newHostile(b, func(w http.ResponseWriter, _ *http.Request) {
		if latency > 0 {
			time.Sleep(latency)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	})
	auth, err := circle.NewAuthClient("app-token-xyz", circle.WithBaseURL(up.URL))
	if err != nil {
		b.Fatal(err)
	}
	src := auth.TokenSource(circle.ByEmail("ada@example.com"))
	if _, err := src.Token(context.Background()); err != nil {
		b.Fatal(err)
	}
	identify := func(*http.Request) (circle.Identity, error) { return circle.ByEmail("ada@example.com"), nil }

	// direct
	direct, err := auth.NewHTTPClient(src)
	if err != nil {
		b.Fatal(err)
	}
	// bff
	h, err := New(auth, identify)
	if err != nil {
		b.Fatal(err)
	}
	bffSrv := httptest.NewServer(h)
	defer bffSrv.Close()
	// reverseproxy
	target, _ := url.Parse(up.URL)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path = strings.TrimPrefix(pr.In.URL.Path, "/circle")
			pr.Out.URL.RawPath = ""
			pr.Out.Header.Del("Cookie")
			tok, err := auth.TokenSource(circle.ByEmail("ada@example.com")).Token(pr.In.Context())
			if err == nil {
				pr.Out.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			}
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	}
	rpSrv := httptest.NewServer(rp)
	defer rpSrv.Close()
	browser := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	call := func(b *testing.B, c *http.Client, u string, hdr bool) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
			if hdr {
				req.Header.Set("X-CSRF", "1")
			}
			resp, err := c.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK || n != int64(len(body)) {
				b.Fatalf("%d, %d bytes", resp.StatusCode, n)
			}
		}
	}
	b.Run("impl=direct", func(b *testing.B) { call(b, direct, up.URL+"/api/headless/v1/home", false) })
	b.Run("impl=bff", func(b *testing.B) { call(b, browser, bffSrv.URL+"/circle/api/headless/v1/home", true) })
	b.Run("impl=reverseproxy", func(b *testing.B) { call(b, browser, rpSrv.URL+"/circle/api/headless/v1/home", true) })
}
