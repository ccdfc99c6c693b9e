package conformance

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Module is the module path that marks the repository root.
const Module = "github.com/circlekit/headless-go"

// EnvUpstreamDir names the environment variable that points at a folder
// holding Circle's documents (CI sets it to ../shared/upstream/circle).
const EnvUpstreamDir = "CIRCLE_UPSTREAM_DIR"

// DefaultUpstreamDir is where `make sync-specs` downloads Circle's
// documents, relative to the repository root. It is git-ignored.
const DefaultUpstreamDir = "openapi/upstream"

// LockFile is the path of the lock file, relative to the repository root.
const LockFile = "openapi/upstream.lock"

// ErrataFile is the path of the errata, relative to the repository root.
const ErrataFile = "openapi/errata.yaml"

// ErrNoUpstream means that no copy of Circle's documents is available:
// CIRCLE_UPSTREAM_DIR is unset and openapi/upstream/ does not hold them.
// The conformance test skips on it, except under CI=true.
var ErrNoUpstream = errors.New("no copy of Circle's documents: set " + EnvUpstreamDir +
	" to a folder holding them (CI uses ../shared/upstream/circle) or run `make sync-specs` to download them into " +
	DefaultUpstreamDir + "/")

// FindRoot returns the repository root: the nearest folder at or above the
// working directory whose go.mod declares Module.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s at or above the working directory", Module)
		}
		dir = parent
	}
}

func isRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) == 2 && fields[0] == "module" {
			return fields[1] == Module
		}
	}
	return false
}

// UpstreamDir decides which folder holds Circle's documents: the one named by
// CIRCLE_UPSTREAM_DIR (an error if it lacks a document), else
// openapi/upstream/ under root when it holds every document, else
// ErrNoUpstream. The bool reports whether the folder came from the
// environment.
func UpstreamDir(root string, apis []API) (string, bool, error) {
	if dir := os.Getenv(EnvUpstreamDir); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", true, err
		}
		for _, api := range apis {
			if _, err := os.Stat(filepath.Join(abs, api.UpstreamFile)); err != nil {
				return "", true, fmt.Errorf("%s=%s: %w", EnvUpstreamDir, dir, err)
			}
		}
		return abs, true, nil
	}
	dir := filepath.Join(root, DefaultUpstreamDir)
	for _, api := range apis {
		if _, err := os.Stat(filepath.Join(dir, api.UpstreamFile)); err != nil {
			return "", false, ErrNoUpstream
		}
	}
	return dir, false, nil
}

// Lock is openapi/upstream.lock: the Circle documents the project's specs
// were last reconciled with.
type Lock struct {
	// Documents lists one entry per upstream document.
	Documents []LockedDocument `yaml:"documents"`
}

// LockedDocument is one locked upstream document.
type LockedDocument struct {
	// API is "auth" or "member".
	API string `yaml:"api"`
	// URL is where Circle serves the document.
	URL string `yaml:"url"`
	// File is the document's file name in an upstream folder.
	File string `yaml:"file"`
	// SHA256 is the hex sha256 of the document's bytes.
	SHA256 string `yaml:"sha256"`
}

// ReadLock reads a lock file.
func ReadLock(path string) (*Lock, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var l Lock
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, d := range l.Documents {
		if d.API == "" || d.URL == "" || d.File == "" || len(d.SHA256) != 64 {
			return nil, fmt.Errorf("%s: incomplete entry %+v", path, d)
		}
		if filepath.Base(d.File) != d.File {
			return nil, fmt.Errorf("%s: file %q must be a bare file name", path, d.File)
		}
	}
	return &l, nil
}

// Document returns the locked document of an API, or nil.
func (l *Lock) Document(api string) *LockedDocument {
	for i := range l.Documents {
		if l.Documents[i].API == api {
			return &l.Documents[i]
		}
	}
	return nil
}

// lockHeader starts every lock file WriteLock writes.
const lockHeader = `# Circle's documents that the specs under openapi/ were last reconciled with.
# make sync-specs downloads each url into openapi/upstream/<file> and compares
# its sha256 with the one here; after reconciling the specs and the errata with
# a changed document, record it with: go run ./internal/cmd/specsync lock
`

// WriteLock writes a lock file with its explanatory header.
func WriteLock(path string, l *Lock) error {
	data, err := yaml.Marshal(l)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(lockHeader), data...), 0o644)
}

// FileSHA256 returns the hex sha256 of a file's bytes.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
