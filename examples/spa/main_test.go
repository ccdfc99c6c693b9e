package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/circlekit/headless-go/internal/syncbuf"
)

// TestRunServesThePage runs the command as `go run ./examples/spa` does,
// on a free port, and fetches the page at the address it prints.
func TestRunServesThePage(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncbuf.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", &out, func(string) string { return "" }) }()
	addr := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+/)`)
	deadline := time.Now().Add(20 * time.Second)
	var url string
	for url == "" && time.Now().Before(deadline) {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if url == "" {
		t.Fatalf("no address printed:\n%s", out.String())
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `<script src="/app.js">`) || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET /: %d, CSP %q\n%s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.Contains(out.String(), "embedded fake") {
		t.Errorf("output:\n%s", out.String())
	}
}
