package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/circlekit/headless-go/internal/conformance"
)

const v1 = `openapi: 3.0.3
info: {title: t, version: v1}
paths:
  /things/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  name: {type: string}
`

// TestSyncDiffLock follows a document through a change: synced while it
// matches the lock, changed by "Circle", synced again, diffed, locked.
func TestSyncDiffLock(t *testing.T) {
	t.Setenv(conformance.EnvUpstreamDir, "")
	var mu sync.Mutex
	doc := v1
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write([]byte(doc))
	}))
	defer ts.Close()

	root := t.TempDir()
	dir := filepath.Join(root, "upstream")
	lockPath := filepath.Join(root, "upstream.lock")
	lock := &conformance.Lock{Documents: []conformance.LockedDocument{
		{API: "auth", URL: ts.URL + "/swagger.yaml", File: "doc.yaml", SHA256: sum([]byte(v1))},
	}}
	ctx := context.Background()

	var out strings.Builder
	if err := syncDocs(ctx, &out, lock, dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "unchanged") {
		t.Fatalf("first sync:\n%s", out.String())
	}

	mu.Lock()
	doc = strings.Replace(v1, "schema: {type: string}}", "schema: {type: integer}}", 1)
	mu.Unlock()
	out.Reset()
	if err := syncDocs(ctx, &out, lock, dir); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "CHANGED") {
		t.Fatalf("second sync:\n%s", out.String())
	}

	out.Reset()
	if err := diffDocs(&out, lock, dir); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	breaking := strings.Index(got, "breaking changes: 1")
	all := strings.Index(got, "parameters/modified/path/id/schema/type: string -> integer")
	if breaking < 0 || all < breaking {
		t.Fatalf("diff does not list the breaking change first, then the difference:\n%s", got)
	}

	out.Reset()
	if err := lockDocs(&out, lock, lockPath, dir); err != nil {
		t.Fatal(err)
	}
	relocked, err := conformance.ReadLock(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	if relocked.Documents[0].SHA256 == sum([]byte(v1)) {
		t.Fatal("lock still holds the old sum")
	}
	out.Reset()
	if err := diffDocs(&out, relocked, dir); err != nil || !strings.Contains(out.String(), "unchanged") {
		t.Fatalf("diff after lock: %v\n%s", err, out.String())
	}
}

func TestDiffWithoutLockedCopy(t *testing.T) {
	t.Setenv(conformance.EnvUpstreamDir, "")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "doc.yaml"), []byte(v1), 0o644); err != nil {
		t.Fatal(err)
	}
	lock := &conformance.Lock{Documents: []conformance.LockedDocument{
		{API: "auth", URL: "https://example.invalid/x", File: "doc.yaml", SHA256: strings.Repeat("0", 64)},
	}}
	var out strings.Builder
	err := diffDocs(&out, lock, dir)
	if err == nil || !strings.Contains(err.Error(), "no copy of the locked version") {
		t.Fatalf("err = %v", err)
	}
}

func TestSyncOffline(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close() // nothing listens there any more
	lock := &conformance.Lock{Documents: []conformance.LockedDocument{
		{API: "auth", URL: url + "/swagger.yaml", File: "doc.yaml", SHA256: strings.Repeat("0", 64)},
	}}
	var out strings.Builder
	err := syncDocs(context.Background(), &out, lock, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "cannot download") || strings.Contains(err.Error(), "Get \"") {
		t.Fatalf("err = %v", err)
	}
}
