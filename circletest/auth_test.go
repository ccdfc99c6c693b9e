package circletest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	authTokenPath      = "/api/v1/headless/auth_token"
	refreshPath        = "/api/v1/headless/access_token/refresh"
	revokeAccessPath   = "/api/v1/headless/access_token/revoke"
	revokeRefreshPath  = "/api/v1/headless/refresh_token/revoke"
	memberListingPath  = "/api/headless/v1/spaces"
	start              = "2030-01-02T03:04:05Z"
	accessTTL, refresh = time.Hour, 30 * 24 * time.Hour
)

func TestMintByEachIdentity(t *testing.T) {
	t0, _ := time.Parse(time.RFC3339, start)
	s := Start(t, WithStartTime(t0), WithCommunityID(77))
	ada := s.AddMember(Member{Email: "Ada@Example.com", SSOUserID: "sso-ada"})
	bob := s.AddMember(Member{ID: 500, Email: "bob@example.com"})
	if ada.ID != 1 || bob.ID != 500 {
		t.Fatalf("ids %d, %d", ada.ID, bob.ID)
	}
	if cy := s.AddMember(Member{}); cy.ID != 501 {
		t.Fatalf("next id %d, want 501", cy.ID)
	}

	seen := map[string]bool{}
	for _, tc := range []struct {
		identity map[string]any
		want     int64
	}{
		{map[string]any{"email": "ada@example.COM"}, ada.ID},
		{map[string]any{"sso_user_id": "sso-ada"}, ada.ID},
		{map[string]any{"community_member_id": 500}, bob.ID},
		{map[string]any{"email": "bob@example.com"}, bob.ID},
	} {
		p := mint(t, s, tc.identity)
		if p.CommunityMemberID != tc.want || p.CommunityID != 77 {
			t.Errorf("%v: member %d community %d", tc.identity, p.CommunityMemberID, p.CommunityID)
		}
		if p.AccessTokenExpiresAt != "2030-01-02T04:04:05Z" || p.RefreshTokenExpiresAt != "2030-02-01T03:04:05Z" {
			t.Errorf("expiries %s, %s", p.AccessTokenExpiresAt, p.RefreshTokenExpiresAt)
		}
		if seen[p.AccessToken] || seen[p.RefreshToken] || p.AccessToken == p.RefreshToken {
			t.Error("a token was issued twice")
		}
		seen[p.AccessToken], seen[p.RefreshToken] = true, true
		if len(p.RefreshToken) < 32 {
			t.Errorf("refresh token %q is short", p.RefreshToken)
		}
		checkJWT(t, p.AccessToken, tc.want, t0.Add(accessTTL))
		if rec := lastRequest(t, s); rec.OperationID != "createMemberToken" || rec.MemberID != tc.want || rec.Status != 200 || rec.ResponseError != nil {
			t.Errorf("recorded %+v", rec)
		}
	}
}

// checkJWT checks that tok is a JWT whose claims name member and expire
// at exp.
func checkJWT(t *testing.T, tok string, member int64, exp time.Time) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWT", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Exp      int64  `json:"exp"`
		Member   int64  `json:"community_member_id"`
		JTI      string `json:"jti"`
		Issued   int64  `json:"iat"`
		Commmity int64  `json:"community_id"`
	}
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Exp != exp.Unix() || claims.Member != member || claims.JTI == "" {
		t.Errorf("claims %+v", claims)
	}
}

func TestMintFailures(t *testing.T) {
	s := Start(t)
	s.AddMember(Member{Email: "ada@example.com"})
	app := s.AppToken()
	for _, tc := range []struct {
		name   string
		token  string
		body   any
		status int
	}{
		{"no app token", "", map[string]any{"email": "ada@example.com"}, 401},
		{"wrong app token", "nope", map[string]any{"email": "ada@example.com"}, 401},
		{"unknown email", app, map[string]any{"email": "eve@example.com"}, 404},
		{"unknown id", app, map[string]any{"community_member_id": 99}, 404},
		{"unknown sso id", app, map[string]any{"sso_user_id": "x"}, 404},
		{"two identities", app, map[string]any{"email": "ada@example.com", "community_member_id": 1}, 422},
		{"no identity", app, map[string]any{}, 422},
		{"unknown field", app, map[string]any{"name": "Ada"}, 422},
		{"id not a number", app, map[string]any{"community_member_id": "1"}, 422},
		{"not JSON", app, []byte("email=ada"), 422},
		{"no body", app, nil, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := call(t, s, "POST", authTokenPath, tc.token, tc.body)
			wantError(t, status, body, tc.status)
			rec := lastRequest(t, s)
			if rec.Status != tc.status || rec.ResponseError != nil {
				t.Errorf("recorded %+v", rec)
			}
			if (tc.status == 422) != (rec.ValidationError != nil) {
				t.Errorf("validation error %v for status %d", rec.ValidationError, tc.status)
			}
		})
	}

	s.SetCommunityEligible(false)
	for _, path := range []string{authTokenPath, revokeAccessPath, revokeRefreshPath} {
		status, _, body := call(t, s, "POST", path, app, map[string]any{"email": "ada@example.com"})
		wantError(t, status, body, http.StatusForbidden)
	}
	status, _, body := call(t, s, "PATCH", refreshPath, app, map[string]any{"refresh_token": "x"})
	wantError(t, status, body, http.StatusForbidden)
	s.SetCommunityEligible(true)
	mint(t, s, map[string]any{"email": "ada@example.com"})
}

// TestTokenLifecycle follows one member's tokens through expiry, refresh
// and revocation, with the Member API as the judge of which access tokens
// work.
func TestTokenLifecycle(t *testing.T) {
	s := Start(t)
	m := s.AddMember(Member{Email: "ada@example.com"})
	app := s.AppToken()
	works := func(access string) bool {
		t.Helper()
		status, _, body := call(t, s, "GET", memberListingPath, access, nil)
		if status != 200 && status != 401 {
			t.Fatalf("%d %s", status, body)
		}
		return status == 200
	}
	refreshed := func(refreshToken string) (string, int) {
		t.Helper()
		status, _, body := call(t, s, "PATCH", refreshPath, app, map[string]any{"refresh_token": refreshToken})
		if status != 200 {
			wantError(t, status, body, status)
			return "", status
		}
		var r struct {
			AccessToken string `json:"access_token"`
			ExpiresAt   string `json:"access_token_expires_at"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.AccessToken == "" {
			t.Fatalf("%s: %v", body, err)
		}
		if want := s.Now().Add(accessTTL).Format(time.RFC3339); r.ExpiresAt != want {
			t.Errorf("refreshed token expires %s, want %s", r.ExpiresAt, want)
		}
		if rec := lastRequest(t, s); rec.MemberID != m.ID || rec.ResponseError != nil {
			t.Errorf("recorded %+v", rec)
		}
		return r.AccessToken, status
	}

	p := mint(t, s, map[string]any{"email": m.Email})
	if !works(p.AccessToken) {
		t.Fatal("fresh access token refused")
	}
	s.Advance(accessTTL - time.Second)
	if !works(p.AccessToken) {
		t.Fatal("access token refused before its expiry")
	}
	s.Advance(time.Second)
	if works(p.AccessToken) {
		t.Fatal("access token accepted at its expiry")
	}

	a2, _ := refreshed(p.RefreshToken)
	if !works(a2) || a2 == p.AccessToken {
		t.Fatal("refreshed access token refused or reused")
	}
	a3, _ := refreshed(p.RefreshToken)
	if !works(a2) || !works(a3) {
		t.Fatal("a second refresh broke the first refreshed token")
	}

	// Revoke an access token: it stops working; revoking again is 422.
	status, _, body := call(t, s, "POST", revokeAccessPath, app, map[string]any{"access_token": a3})
	if status != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("revoke access: %d %s", status, body)
	}
	if works(a3) || !works(a2) {
		t.Fatal("revocation hit the wrong token")
	}
	status, _, body = call(t, s, "POST", revokeAccessPath, app, map[string]any{"access_token": a3})
	wantError(t, status, body, http.StatusUnprocessableEntity)
	status, _, body = call(t, s, "POST", revokeAccessPath, app, map[string]any{"access_token": p.AccessToken})
	wantError(t, status, body, http.StatusUnprocessableEntity) // expired

	// The refresh token expires after 30 days.
	s.Advance(refresh - accessTTL - time.Second)
	if _, status := refreshed(p.RefreshToken); status != 200 {
		t.Fatalf("refresh before expiry: %d", status)
	}
	s.Advance(time.Second)
	if _, status := refreshed(p.RefreshToken); status != http.StatusUnauthorized {
		t.Fatalf("refresh at expiry: %d, want 401", status)
	}
	status, _, body = call(t, s, "POST", revokeRefreshPath, app, map[string]any{"refresh_token": p.RefreshToken})
	wantError(t, status, body, http.StatusUnauthorized)

	// Mint anew, revoke the refresh token: refreshing is then 404.
	p = mint(t, s, map[string]any{"community_member_id": m.ID})
	status, _, body = call(t, s, "POST", revokeRefreshPath, app, map[string]any{"refresh_token": p.RefreshToken})
	if status != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("revoke refresh: %d %s", status, body)
	}
	if _, status := refreshed(p.RefreshToken); status != http.StatusNotFound {
		t.Fatalf("refresh after revoke: %d, want 404", status)
	}
	status, _, body = call(t, s, "POST", revokeRefreshPath, app, map[string]any{"refresh_token": p.RefreshToken})
	wantError(t, status, body, http.StatusNotFound)
	if _, status := refreshed("never-issued"); status != http.StatusNotFound {
		t.Fatalf("unknown refresh token: %d, want 404", status)
	}
	if !works(p.AccessToken) {
		t.Fatal("revoking the refresh token revoked the access token")
	}

	for _, rec := range s.Requests() {
		if rec.ResponseError != nil {
			t.Errorf("%s answered %d off spec: %v", rec.OperationID, rec.Status, rec.ResponseError)
		}
	}
}

func TestTokenLifetimesAreSettable(t *testing.T) {
	s := Start(t, WithAccessTokenTTL(time.Minute), WithRefreshTokenTTL(time.Hour), WithAppToken("app-secret"))
	if s.AppToken() != "app-secret" {
		t.Fatal("app token not set")
	}
	m := s.AddMember(Member{SSOUserID: "u1"})
	p := mint(t, s, map[string]any{"sso_user_id": "u1"})
	now := s.Now()
	if p.AccessTokenExpiresAt != now.Add(time.Minute).Format(time.RFC3339) ||
		p.RefreshTokenExpiresAt != now.Add(time.Hour).Format(time.RFC3339) || p.CommunityMemberID != m.ID {
		t.Fatalf("%+v", p)
	}
	s.Advance(time.Minute)
	status, _, body := call(t, s, "GET", memberListingPath, p.AccessToken, nil)
	wantError(t, status, body, http.StatusUnauthorized)
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Option{
		WithAppToken(""), WithCommunityID(0), WithAccessTokenTTL(0),
		WithRefreshTokenTTL(-time.Second), WithStartTime(time.Time{}),
	} {
		if s, err := NewServer(o); err == nil {
			s.Close()
			t.Error("an invalid option was accepted")
		}
	}
}

func TestServersDoNotShareState(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.AppToken() == b.AppToken() || a.URL() == b.URL() {
		t.Fatal("two servers share an app token or address")
	}
	a.AddMember(Member{Email: "ada@example.com"})
	status, _, body := call(t, b, "POST", authTokenPath, b.AppToken(), map[string]any{"email": "ada@example.com"})
	wantError(t, status, body, http.StatusNotFound)
	status, _, body = call(t, b, "POST", authTokenPath, a.AppToken(), map[string]any{"email": "ada@example.com"})
	wantError(t, status, body, http.StatusUnauthorized)
}

// TestConcurrentUse runs many members' token lifecycles at once while the
// clock moves and the test reads the records, for the race detector.
func TestConcurrentUse(t *testing.T) {
	s := Start(t)
	// status sends a request from any goroutine, reporting failures with
	// t.Error.
	status := func(method, path, token string, body any) int {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(context.Background(), method, s.URL()+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		m := s.AddMember(Member{Email: fmt.Sprintf("m%d@example.com", i)})
		p := mint(t, s, map[string]any{"email": m.Email})
		wg.Go(func() {
			for range 5 {
				if got := status("GET", memberListingPath, p.AccessToken, nil); got != 200 && got != 401 {
					t.Errorf("list: %d", got)
				}
			}
			if got := status("PATCH", refreshPath, s.AppToken(), map[string]any{"refresh_token": p.RefreshToken}); got != 200 {
				t.Errorf("refresh: %d", got)
			}
			if got := status("POST", revokeRefreshPath, s.AppToken(), map[string]any{"refresh_token": p.RefreshToken}); got != 204 {
				t.Errorf("revoke: %d", got)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			s.Advance(time.Minute)
			_ = s.Requests()
			s.InjectFault("getSpace", Fault{Status: 500, Times: 1})
			s.SetResponse("getSpace", 200, map[string]any{"id": 1})
		}
	})
	wg.Wait()
	for _, rec := range s.Requests() {
		if rec.ValidationError != nil || rec.ResponseError != nil {
			t.Errorf("%+v", rec)
		}
	}
}
