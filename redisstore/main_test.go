package redisstore_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/circlekit/headless-go/internal/redistest"
)

// exampleRedis is the redis-server the examples use (the tests start
// their own, one each).
var exampleRedis *redistest.Server

// TestMain starts a redis-server for the examples. Without redis-server
// it prints one line naming the package to install and runs nothing, or
// fails under CI=true. A worker process (see TestWorkerProcess) starts
// none: its parent runs the Redis it uses.
func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) != "" {
		os.Exit(m.Run())
	}
	if err := redistest.Find(); err != nil {
		if redistest.Required() {
			fmt.Fprintf(os.Stderr, "FAIL: %v (CI=true: the Redis tests must run)\n", err)
			os.Exit(1)
		}
		fmt.Printf("skip: %v\n", err)
		os.Exit(0)
	}
	var err error
	if exampleRedis, err = redistest.New(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	exampleRedis.Close()
	os.Exit(code)
}
