package circle_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
	"github.com/circlekit/headless-go/gen/authv1"
)

// revokeCalls counts the revoke calls srv received, by operation.
func revokeCalls(srv *circletest.Server) (access, refresh int) {
	for _, r := range srv.Requests() {
		switch r.OperationID {
		case "revokeAccessToken":
			access++
		case "revokeRefreshToken":
			refresh++
		}
	}
	return access, refresh
}

// TestRevokeRetriesTransientFailures: a sign-out survives a blip. With
// one 503 on each revoke call, Revoke retries each (revoking is
// idempotent) and succeeds, and Circle no longer accepts the tokens.
func TestRevokeRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	srv := circletest.Start(t)
	srv.AddMember(circletest.Member{Email: "ada@example.com"})
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()),
		circle.WithRetryBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ts := auth.TokenSource(circle.ByEmail("ada@example.com"))
	tok, err := ts.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	srv.InjectFault("revokeAccessToken", circletest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	srv.InjectFault("revokeRefreshToken", circletest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	if err := ts.Revoke(t.Context()); err != nil {
		t.Fatalf("Revoke after one 503 on each call: %v", err)
	}
	access, refresh := revokeCalls(srv)
	t.Logf("one 503 on each revoke call: Revoke succeeded after %d access and %d refresh revoke calls", access, refresh)
	if access != 2 || refresh != 2 {
		t.Errorf("revoke calls: %d access, %d refresh; want 2 each", access, refresh)
	}
	// Circle withdrew both: the refresh token refreshes nothing.
	_, err = auth.RefreshAccessTokenWithResponse(t.Context(), authv1.RefreshTokenBody{RefreshToken: tok.RefreshToken})
	if err == nil {
		t.Error("the revoked refresh token still refreshes")
	}
}

// TestRevokeRetriesWithinTheContext: revoke calls that keep failing are
// retried only while the caller's context lasts.
func TestRevokeRetriesWithinTheContext(t *testing.T) {
	t.Parallel()
	srv := circletest.Start(t)
	srv.AddMember(circletest.Member{Email: "ada@example.com"})
	auth, err := circle.NewAuthClient(srv.AppToken(), circle.WithBaseURL(srv.URL()), circle.WithMaxRetries(50),
		circle.WithRetryBackoff(100*time.Millisecond, 100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ts := auth.TokenSource(circle.ByEmail("ada@example.com"))
	if _, err := ts.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.InjectFault("revokeAccessToken", circletest.Fault{Status: http.StatusServiceUnavailable})
	srv.InjectFault("revokeRefreshToken", circletest.Fault{Status: http.StatusServiceUnavailable})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = ts.Revoke(ctx)
	took := time.Since(start)
	if err == nil {
		t.Fatal("Revoke succeeded against a Circle that answers 503")
	}
	if took > 3*time.Second {
		t.Errorf("Revoke took %v with a context of 500 ms", took)
	}
	access, refresh := revokeCalls(srv)
	t.Logf("revoke calls answered 503 for ever, a context of 500 ms: Revoke failed after %v and %d revoke calls", took.Round(time.Millisecond), access+refresh)
	if access+refresh < 2 || access+refresh > 12 {
		t.Errorf("%d access and %d refresh revoke calls in 500 ms at 100 ms apart", access, refresh)
	}
}
