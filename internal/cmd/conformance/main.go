// Command conformance prints the conformance report of the project's specs
// against Circle's documents: for each API the operations, the differences
// oasdiff finds and the errata entries that account for them, anything
// unmatched or stale, and how Circle's 2xx examples fare against our
// generated client and spec. It exits 1 when the specs do not conform. When
// no copy of Circle's documents is available (set CIRCLE_UPSTREAM_DIR or run
// make sync-specs) it says it skipped and exits 0, or 1 under CI=true.
//
// Usage:
//
//	go run ./internal/cmd/conformance
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/circlekit/headless-go/internal/conformance"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := conformance.FindRoot()
	if err != nil {
		return err
	}
	dir, fromEnv, err := conformance.UpstreamDir(root, conformance.APIs())
	if errors.Is(err, conformance.ErrNoUpstream) {
		if os.Getenv("CI") == "true" {
			return fmt.Errorf("CI=true, so the check may not skip: %w", err)
		}
		fmt.Fprintln(os.Stderr, "conformance: SKIPPED:", err)
		return nil
	}
	if err != nil {
		return err
	}
	rep, err := conformance.Run(context.Background(), conformance.Config{
		Root:            root,
		UpstreamDir:     dir,
		UpstreamFromEnv: fromEnv,
	})
	if err != nil {
		return err
	}
	if err := rep.Write(os.Stdout); err != nil {
		return err
	}
	if !rep.OK() {
		return errors.New("the specs differ from Circle's documents beyond the errata (see above)")
	}
	return nil
}
