package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestRunAgainstFake follows the scene of the embedded fake to its end.
func TestRunAgainstFake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, env(nil)); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	last := -1
	for _, want := range []string{"embedded fake", ": 2 new notifications", "new notification from Grace", "count: 3",
		"reconnected; count read again: 4", "count: 0", "done"} {
		i := strings.Index(text, want)
		if i < 0 || i < last {
			t.Fatalf("output lacks %q after the previous line:\n%s", want, text)
		}
		last = i
	}
	if strings.Contains(text, "eyJ") {
		t.Errorf("output shows a JWT:\n%s", text)
	}
}

func TestRealCircleNeedsMemberEmail(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, env(map[string]string{"CIRCLE_APP_TOKEN": "app-token-value"}))
	if err == nil || !strings.Contains(err.Error(), "CIRCLE_MEMBER_EMAIL") {
		t.Fatalf("err = %v, want one naming CIRCLE_MEMBER_EMAIL", err)
	}
	if strings.Contains(err.Error()+out.String(), "app-token-value") {
		t.Fatal("the app token was printed")
	}
}
