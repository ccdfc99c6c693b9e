package redistest

import (
	"testing"
	"time"
)

func TestStartStopRestartFreeze(t *testing.T) {
	s := Start(t)
	if err := ping(s.Addr(), time.Second); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	if err := s.Freeze(); err != nil {
		t.Fatal(err)
	}
	if err := ping(s.Addr(), 300*time.Millisecond); err == nil {
		t.Fatal("a frozen server answered PING")
	}
	if err := s.Thaw(); err != nil {
		t.Fatal(err)
	}
	if err := ping(s.Addr(), time.Second); err != nil {
		t.Fatalf("PING after Thaw: %v", err)
	}
	s.Stop()
	if err := ping(s.Addr(), 300*time.Millisecond); err == nil {
		t.Fatal("a stopped server answered PING")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := ping(s.Addr(), time.Second); err != nil {
		t.Fatalf("PING after Restart: %v", err)
	}
}

func TestNewClose(t *testing.T) {
	if err := Find(); err != nil {
		if Required() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(s.Addr(), time.Second); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := ping(s.Addr(), 300*time.Millisecond); err == nil {
		t.Fatal("a closed server answered PING")
	}
}
