// Command leanbin checks what importing package circle costs a user's
// program. It builds two programs that do the same thing (mint a member
// token, then list the member's bookmarks): sdk, on headless-go, and raw, on
// net/http and encoding/json alone. It then asserts that
//
//   - sdk's dependencies include none of kin-openapi, a YAML module, a JSON
//     Schema engine, golang.org/x/text or gorilla/mux (`go list -deps`);
//   - sdk's stripped binary (-trimpath -ldflags='-s -w') is at most
//     -max-ratio times raw's;
//   - sdk's package initialisation allocates fewer than -max-init-bytes
//     (the sum of the GODEBUG=inittrace=1 lines of a run);
//
// running both programs against a fake Circle (package circletest) to
// measure the last and to check that they work. It prints every figure and
// exits non-zero when a limit is exceeded. `make size` runs it.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/circlekit/headless-go/circletest"
)

const (
	sdkPkg = "github.com/circlekit/headless-go/internal/cmd/leanbin/sdk"
	rawPkg = "github.com/circlekit/headless-go/internal/cmd/leanbin/raw"
)

func main() {
	maxRatio := flag.Float64("max-ratio", 1.12, "largest allowed size of the sdk binary over the raw one")
	maxInit := flag.Int64("max-init-bytes", 256<<10, "sdk's start-up must allocate fewer bytes than this")
	runs := flag.Int("runs", 5, "runs of each program; the largest start-up allocation counts")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	err := check(ctx, os.Stdout, *maxRatio, *maxInit, *runs)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "leanbin:", err)
		os.Exit(1)
	}
}

// forbidden reports why a non-standard package may not be linked into a
// program that imports circle, or "" when it may.
func forbidden(pkg string) string {
	switch {
	case strings.HasPrefix(pkg, "github.com/getkin/kin-openapi"):
		return "kin-openapi"
	case strings.Contains(strings.ToLower(pkg), "yaml"):
		return "a YAML module"
	case strings.Contains(strings.ToLower(pkg), "jsonschema"):
		return "a JSON Schema engine"
	case pkg == "golang.org/x/text" || strings.HasPrefix(pkg, "golang.org/x/text/"):
		return "golang.org/x/text"
	case strings.HasPrefix(pkg, "github.com/gorilla/mux"):
		return "gorilla/mux"
	}
	return ""
}

// initLine matches one line GODEBUG=inittrace=1 prints per initialised
// package, such as "init net/http @1.2 ms, 0.05 ms clock, 5280 bytes, 63 allocs".
var initLine = regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, [0-9.]+ ms clock, ([0-9]+) bytes, ([0-9]+) allocs$`)

// initCost is what package initialisation allocated in one run.
type initCost struct {
	packages      int
	bytes, allocs int64
	top           []pkgCost // the packages allocating the most, largest first
}

type pkgCost struct {
	pkg   string
	bytes int64
}

// parseInitTrace sums the inittrace lines of a program's standard error.
func parseInitTrace(stderr []byte) (initCost, error) {
	var c initCost
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	for sc.Scan() {
		m := initLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		b, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return c, err
		}
		a, err := strconv.ParseInt(m[3], 10, 64)
		if err != nil {
			return c, err
		}
		c.packages++
		c.bytes += b
		c.allocs += a
		c.top = append(c.top, pkgCost{m[1], b})
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	if c.packages == 0 {
		return c, errors.New("no inittrace line in the program's standard error")
	}
	slices.SortStableFunc(c.top, func(x, y pkgCost) int { return cmp.Compare(y.bytes, x.bytes) })
	c.top = c.top[:min(len(c.top), 5)]
	return c, nil
}

func check(ctx context.Context, out io.Writer, maxRatio float64, maxInit int64, runs int) error {
	var failures []string

	// 1. What sdk links.
	deps, err := goOutput(ctx, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", sdkPkg)
	if err != nil {
		return err
	}
	var nonStd []string
	linked := map[string][]string{} // reason -> packages
	var reasons []string
	for _, p := range strings.Fields(string(deps)) {
		if strings.HasPrefix(p, "github.com/circlekit/headless-go/") {
			continue
		}
		nonStd = append(nonStd, p)
		if why := forbidden(p); why != "" {
			if linked[why] == nil {
				reasons = append(reasons, why)
			}
			linked[why] = append(linked[why], p)
		}
	}
	fmt.Fprintf(out, "sdk's packages outside the standard library and this module (go list -deps): %d: %s\n", len(nonStd), strings.Join(nonStd, ", "))
	for _, why := range reasons {
		failures = append(failures, fmt.Sprintf("sdk links %s (%s)", why, strings.Join(linked[why], ", ")))
	}

	// 2. Stripped binary sizes.
	dir, err := os.MkdirTemp("", "leanbin")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bins := map[string]string{}
	sizes := map[string]int64{}
	for name, pkg := range map[string]string{"sdk": sdkPkg, "raw": rawPkg} {
		bins[name] = filepath.Join(dir, name)
		if _, err := goOutput(ctx, "build", "-trimpath", "-ldflags=-s -w", "-o", bins[name], pkg); err != nil {
			return err
		}
		fi, err := os.Stat(bins[name])
		if err != nil {
			return err
		}
		sizes[name] = fi.Size()
	}
	ratio := float64(sizes["sdk"]) / float64(sizes["raw"])
	fmt.Fprintf(out, "stripped binaries (-trimpath -ldflags='-s -w'): sdk %d bytes (%.2f MB), raw %d bytes (%.2f MB), ratio %.3fx (limit %.2fx)\n",
		sizes["sdk"], mb(sizes["sdk"]), sizes["raw"], mb(sizes["raw"]), ratio, maxRatio)
	if ratio > maxRatio {
		failures = append(failures, fmt.Sprintf("sdk's binary is %.3fx raw's, more than %.2fx", ratio, maxRatio))
	}

	// 3. Start-up allocation, from runs against a fake Circle.
	srv, err := circletest.NewServer()
	if err != nil {
		return err
	}
	defer srv.Close()
	ada := srv.AddMember(circletest.Member{Email: "ada@example.com"})
	costs := map[string]initCost{}
	walls := map[string][]time.Duration{}
	for i := 0; i < runs; i++ {
		for _, name := range []string{"raw", "sdk"} {
			c, wall, err := runOnce(ctx, bins[name], srv.URL(), srv.AppToken(), ada.Email)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if c.bytes >= costs[name].bytes {
				costs[name] = c
			}
			walls[name] = append(walls[name], wall)
		}
	}
	for _, name := range []string{"raw", "sdk"} {
		c := costs[name]
		var top []string
		for _, p := range c.top {
			top = append(top, fmt.Sprintf("%s %d", p.pkg, p.bytes))
		}
		fmt.Fprintf(out, "start-up of %s (largest of %d runs, GODEBUG=inittrace=1): %d packages, %d bytes (%.1f KB), %d allocs; most: %s\n",
			name, runs, c.packages, c.bytes, float64(c.bytes)/1024, c.allocs, strings.Join(top, ", "))
	}
	fmt.Fprintf(out, "start-up limit for sdk: fewer than %d bytes (%.0f KB)\n", maxInit, float64(maxInit)/1024)
	if costs["sdk"].bytes >= maxInit {
		failures = append(failures, fmt.Sprintf("sdk's start-up allocates %d bytes, not fewer than %d", costs["sdk"].bytes, maxInit))
	}
	fmt.Fprintf(out, "start to exit, median of %d runs (informative, noisy): sdk %s, raw %s\n",
		runs, median(walls["sdk"]).Round(10*time.Microsecond), median(walls["raw"]).Round(10*time.Microsecond))

	if len(failures) > 0 {
		return errors.New(strings.Join(failures, "; "))
	}
	fmt.Fprintln(out, "leanbin: ok")
	return nil
}

// runOnce runs a built program against the fake Circle at baseURL and
// returns what its initialisation allocated and how long it ran. The
// program must succeed and print its one line.
func runOnce(ctx context.Context, bin, baseURL, appToken, email string) (initCost, time.Duration, error) {
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(),
		"GODEBUG=inittrace=1",
		"CIRCLE_BASE_URL="+baseURL,
		"CIRCLE_APP_TOKEN="+appToken,
		"CIRCLE_MEMBER_EMAIL="+email,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return initCost{}, 0, fmt.Errorf("%w; standard error:\n%s", err, lastLines(stderr.String(), 5))
	}
	if !strings.HasPrefix(stdout.String(), "bookmarks: ") {
		return initCost{}, 0, fmt.Errorf("unexpected output %q", stdout.String())
	}
	c, err := parseInitTrace(stderr.Bytes())
	return c, wall, err
}

// goOutput runs the go command and returns its standard output.
func goOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, cmp.Or(os.Getenv("GO"), "go"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return b, nil
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
