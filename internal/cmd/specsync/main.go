// Command specsync follows Circle's published documents.
//
//	specsync sync   download Circle's current documents into openapi/upstream/
//	                and say whether they differ from openapi/upstream.lock
//	specsync diff   show what changed between the locked and the downloaded
//	                documents, breaking changes first
//	specsync lock   record the downloaded documents in openapi/upstream.lock
//	                (after reconciling the specs and the errata with them)
//
// The lock holds only URLs and sha256 sums; no copy of Circle's documents is
// committed. "The locked copy" that diff compares against is therefore a
// local file whose sha256 equals the lock's, looked for in CIRCLE_UPSTREAM_DIR
// (CI points it at ../shared/upstream/circle) and then in
// openapi/upstream/locked/, where sync and lock keep every download that
// matches the lock. diff fails, saying so, when neither has it.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/circlekit/headless-go/internal/conformance"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

const usage = `usage: specsync sync|diff|lock

  sync   download Circle's current documents into openapi/upstream/ and
         compare their sha256 with openapi/upstream.lock
  diff   show what changed between the locked and the downloaded documents,
         breaking changes first (the locked copy is looked for in
         $CIRCLE_UPSTREAM_DIR, then in openapi/upstream/locked/)
  lock   write the sha256 of the downloaded documents into openapi/upstream.lock
`

// lockedDir is where copies matching the lock are kept, under the download folder.
const lockedDir = "locked"

// downloadTimeout bounds each download.
const downloadTimeout = 60 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "specsync:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) != 1 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("want exactly one command")
	}
	root, err := conformance.FindRoot()
	if err != nil {
		return err
	}
	lockPath := filepath.Join(root, conformance.LockFile)
	lock, err := conformance.ReadLock(lockPath)
	if err != nil {
		return err
	}
	dir := filepath.Join(root, conformance.DefaultUpstreamDir)
	switch args[0] {
	case "sync":
		return syncDocs(ctx, os.Stdout, lock, dir)
	case "diff":
		return diffDocs(os.Stdout, lock, dir)
	case "lock":
		return lockDocs(os.Stdout, lock, lockPath, dir)
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// syncDocs downloads every locked document and reports whether it changed.
func syncDocs(ctx context.Context, w io.Writer, lock *conformance.Lock, dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, lockedDir), 0o755); err != nil {
		return err
	}
	client := &http.Client{Timeout: downloadTimeout}
	changed := 0
	for _, d := range lock.Documents {
		data, err := download(ctx, client, d.URL)
		if err != nil {
			return err
		}
		if _, err := openapi3.NewLoader().LoadFromData(data); err != nil {
			return fmt.Errorf("%s: downloaded %s is not an OpenAPI document: %w", d.API, d.URL, err)
		}
		dst := filepath.Join(dir, d.File)
		// Keep the previous download when it is the locked copy, so that
		// diff can compare against it.
		if old, err := os.ReadFile(dst); err == nil && sum(old) == d.SHA256 {
			if err := writeFile(filepath.Join(dir, lockedDir, d.File), old); err != nil {
				return err
			}
		}
		if err := writeFile(dst, data); err != nil {
			return err
		}
		s := sum(data)
		if s == d.SHA256 {
			if err := writeFile(filepath.Join(dir, lockedDir, d.File), data); err != nil {
				return err
			}
			fmt.Fprintf(w, "%-7s %-26s unchanged   sha256 %s\n", d.API, d.File, s[:12])
			continue
		}
		changed++
		fmt.Fprintf(w, "%-7s %-26s CHANGED     sha256 %s, locked %s\n", d.API, d.File, s[:12], d.SHA256[:12])
	}
	fmt.Fprintf(w, "downloaded into %s\n", rel(dir))
	if changed == 0 {
		fmt.Fprintln(w, "Circle's documents are the ones in openapi/upstream.lock.")
		return nil
	}
	fmt.Fprintf(w, `Circle changed %d document(s) since openapi/upstream.lock. Next:
  make spec-diff                      see what changed, breaking changes first
  edit openapi/*/v1/openapi.yaml and openapi/errata.yaml to match
  make generate && make conformance   regenerate and check against the new documents
  go run ./internal/cmd/specsync lock record the new documents in the lock
`, changed)
	return nil
}

// download fetches a URL, turning transport failures into one clear line.
func download(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "headless-go-specsync")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot download %s (offline, or Circle unreachable?): %w", url, unwrapURLError(err))
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot download %s: HTTP %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot download %s: %w", url, unwrapURLError(err))
	}
	return data, nil
}

// unwrapURLError drops the "Get <url>:" prefix the message would repeat.
func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && strings.HasPrefix(err.Error(), "Get ") {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// diffDocs compares the locked copy of each document with the download.
func diffDocs(w io.Writer, lock *conformance.Lock, dir string) error {
	l := checker.NewDefaultLocalizer()
	var problems []string
	for _, d := range lock.Documents {
		revPath := filepath.Join(dir, d.File)
		rev, err := os.ReadFile(revPath)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: no downloaded %s: run make sync-specs first", d.API, rel(revPath)))
			continue
		}
		if sum(rev) == d.SHA256 {
			fmt.Fprintf(w, "== %s: %s is unchanged since openapi/upstream.lock (sha256 %s)\n\n", d.API, d.File, d.SHA256[:12])
			continue
		}
		basePath, tried := lockedCopy(d, dir)
		if basePath == "" {
			problems = append(problems, fmt.Sprintf(
				"%s: Circle changed %s, but no copy of the locked version (sha256 %s) is available to diff against; looked in %s. "+
					"Set %s to a folder holding it (CI: ../shared/upstream/circle).",
				d.API, d.File, d.SHA256[:12], strings.Join(tried, " and "), conformance.EnvUpstreamDir))
			continue
		}
		if err := diffOne(w, l, d, basePath, revPath); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// lockedCopy finds a file whose sha256 is the locked one.
func lockedCopy(d conformance.LockedDocument, dir string) (string, []string) {
	var candidates []string
	if env := os.Getenv(conformance.EnvUpstreamDir); env != "" {
		candidates = append(candidates, filepath.Join(env, d.File))
	}
	candidates = append(candidates, filepath.Join(dir, lockedDir, d.File))
	var tried []string
	for _, c := range candidates {
		tried = append(tried, rel(c))
		if s, err := conformance.FileSHA256(c); err == nil && s == d.SHA256 {
			return c, tried
		}
	}
	return "", tried
}

func diffOne(w io.Writer, l checker.Localizer, d conformance.LockedDocument, basePath, revPath string) error {
	base, err := load.NewSpecInfo(openapi3.NewLoader(), load.NewSource(basePath))
	if err != nil {
		return fmt.Errorf("%s: load %s: %w", d.API, basePath, err)
	}
	revision, err := load.NewSpecInfo(openapi3.NewLoader(), load.NewSource(revPath))
	if err != nil {
		return fmt.Errorf("%s: load %s: %w", d.API, revPath, err)
	}
	dr, sources, err := diff.GetWithOperationsSourcesMap(conformance.DiffConfig(), base, revision)
	if err != nil {
		return fmt.Errorf("%s: oasdiff: %w", d.API, err)
	}
	fmt.Fprintf(w, "== %s: %s (locked copy) -> %s (downloaded)\n", d.API, rel(basePath), rel(revPath))
	changes := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), dr, sources, checker.INFO)
	for _, group := range []struct {
		title string
		level checker.Level
	}{{"breaking changes", checker.ERR}, {"warnings (possibly breaking)", checker.WARN}, {"other changes the checker notes", checker.INFO}} {
		var lines []string
		for _, c := range changes {
			if c.GetLevel() == group.level {
				lines = append(lines, fmt.Sprintf("  %s %s: %s [%s]", c.GetOperation(), c.GetPath(), c.GetUncolorizedText(l), c.GetId()))
			}
		}
		fmt.Fprintf(w, "%s: %d\n", group.title, len(lines))
		for _, line := range lines {
			fmt.Fprintln(w, line)
		}
	}
	leaves, err := conformance.FlattenDiff(d.API, dr)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "all structural differences (descriptions, summaries and examples left out): %d\n", len(leaves))
	for _, leaf := range leaves {
		fmt.Fprintln(w, "  "+leaf.String())
	}
	fmt.Fprintln(w)
	return nil
}

// lockDocs records the downloaded documents' sha256 in the lock.
func lockDocs(w io.Writer, lock *conformance.Lock, lockPath, dir string) error {
	for i, d := range lock.Documents {
		path := filepath.Join(dir, d.File)
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%s: no downloaded %s: run make sync-specs first", d.API, rel(path))
		}
		s := sum(data)
		if err := writeFile(filepath.Join(dir, lockedDir, d.File), data); err != nil {
			return err
		}
		if s == d.SHA256 {
			fmt.Fprintf(w, "%-7s %-26s already locked, sha256 %s\n", d.API, d.File, s[:12])
			continue
		}
		lock.Documents[i].SHA256 = s
		fmt.Fprintf(w, "%-7s %-26s locked sha256 %s (was %s)\n", d.API, d.File, s[:12], d.SHA256[:12])
	}
	return conformance.WriteLock(lockPath, lock)
}

func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// writeFile writes through a temporary file and a rename, so that an
// interrupted sync never leaves half a document.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".specsync-*")
	if err != nil {
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// rel shortens a path relative to the working directory when it can.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return path
}
