package bff

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The route table is generated so that a program importing bff links no
// OpenAPI, YAML or test library: only circle's own dependencies.
func TestLinksNoSpecOrTestLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "github.com/circlekit/headless-go/bff").Output()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("go list: %v", err) // under CI the check must run, not pass unseen
		}
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"getkin/kin-openapi", "yaml", "chromedp", "headless-go/openapi", "headless-go/circletest", "santhosh-tekuri", "coder/websocket", "headless-go/realtime"} {
			if strings.Contains(dep, banned) {
				t.Errorf("bff links %s", dep)
			}
		}
	}
}
