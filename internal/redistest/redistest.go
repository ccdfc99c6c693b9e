// Package redistest runs a real redis-server for the tests of this module:
// one per call of [Start], on a free loopback port, with persistence off,
// in a temporary folder, stopped when the test ends.
//
// When redis-server is not installed, [Start] skips the test with one line
// naming the Debian package to install (redis-server); under CI=true it
// fails the test instead, so that CI never passes without running them.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Package is the Debian package that provides redis-server.
const Package = "redis-server"

// Server is a redis-server process started by [Start]. Its methods are
// safe for concurrent use.
type Server struct {
	bin    string
	dir    string
	ownDir bool
	port   int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	frozen bool
}

// ErrMissing is the error of [Find] and [New] when redis-server is not
// installed. Its message names the Debian package to install.
var ErrMissing = errors.New("redistest: redis-server not found; install the Debian package " + Package + " (apt-get install " + Package + ")")

// Required reports whether a missing redis-server must fail the tests
// rather than skip them: under CI=true.
func Required() bool { return os.Getenv("CI") == "true" }

// Find returns nil if redis-server is installed, else [ErrMissing].
func Find() error {
	_, err := lookPath()
	return err
}

// Start starts a redis-server for t and stops it when t ends. It skips t
// with one line naming the package to install when redis-server is
// missing, or fails it under CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	if err := Find(); err != nil {
		if Required() {
			t.Fatalf("%v (CI=true: the Redis tests must run)", err)
		}
		t.Skip(err)
	}
	s, err := startIn(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// New starts a redis-server in a new temporary folder, for a TestMain or
// an example. Close it when done. It returns [ErrMissing] when
// redis-server is not installed.
func New() (*Server, error) {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, err
	}
	s, err := startIn(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	s.ownDir = true
	return s, nil
}

// Close stops the server and removes the folder [New] made for it.
func (s *Server) Close() {
	s.Stop()
	if s.ownDir {
		_ = os.RemoveAll(s.dir)
	}
}

func startIn(dir string) (*Server, error) {
	bin, err := lookPath()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir}
	var last error
	for range 5 { // a free port may be taken between choosing and binding it
		if s.port, err = freePort(); err != nil {
			return nil, fmt.Errorf("redistest: %w", err)
		}
		if last = s.start(); last == nil {
			return s, nil
		}
	}
	return nil, fmt.Errorf("redistest: %w", last)
}

// lookPath finds redis-server on PATH or where Debian installs it.
func lookPath() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/sbin/redis-server", "/usr/local/bin/redis-server"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrMissing
}

func freePort() (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

// Addr returns the server's address, such as "127.0.0.1:41234".
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// start runs redis-server on s.port and waits until it answers PING.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, //nolint:noctx // the process lives until Stop, not for a context
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", filepath.Join(s.dir, "redis.log"),
	)
	cmd.Dir = s.dir
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for ping(s.Addr(), 200*time.Millisecond) != nil {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited at start on port %d: %s", s.port, s.logTail())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server did not answer PING within 10 s: %s", s.logTail())
		}
	}
	s.mu.Lock()
	s.cmd, s.exited, s.frozen = cmd, exited, false
	s.mu.Unlock()
	return nil
}

// ping sends PING in the RESP protocol and expects +PONG.
func ping(addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected answer to PING: %q", strings.TrimSpace(line))
	}
	return nil
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Stop kills the server (its data is lost: persistence is off) and waits
// for it to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd, s.exited, s.frozen = nil, nil, false
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT) // a frozen server cannot exit
	_ = cmd.Process.Kill()
	<-exited
}

// Restart starts a stopped server again on the same port, empty. It stops
// a running one first.
func (s *Server) Restart() error {
	s.Stop()
	var err error
	for range 50 { // the port may be briefly unavailable after a kill
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// Freeze stops the server process with SIGSTOP: connections stay open and
// new ones are accepted by the kernel, but nothing is answered, as on a
// paused host.
func (s *Server) Freeze() error { return s.signal(syscall.SIGSTOP, true) }

// Thaw resumes a server frozen by [Server.Freeze] with SIGCONT.
func (s *Server) Thaw() error { return s.signal(syscall.SIGCONT, false) }

func (s *Server) signal(sig syscall.Signal, frozen bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return errors.New("redistest: the server is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		return err
	}
	s.frozen = frozen
	return nil
}

// Pid returns the process id of the running server, or 0.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
