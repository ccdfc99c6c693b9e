package circle_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
)

// count returns how many calls of op circletest answered with status.
func count(srv *circletest.Server, op string, status int) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.OperationID == op && r.Status == status {
			n++
		}
	}
	return n
}

// rejected reports whether the Member API refuses access (401).
func rejected(t *testing.T, srv *circletest.Server, access string) bool {
	t.Helper()
	api, err := circle.NewMemberClient(circle.StaticTokenSource(circle.Token{AccessToken: access}),
		circle.WithBaseURL(srv.URL()), circle.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.GetCurrentMemberWithResponse(t.Context())
	if err != nil && !errors.Is(err, circle.ErrUnauthorized) {
		t.Fatalf("Member API: %v", err)
	}
	return err != nil
}

// TestOneMemberOneSource: two sign-in forms' spellings of one email are
// one source, one mint and one pair; a Revoke through any identity of the
// member (here the email, in a third spelling) withdraws every pair the
// process holds for that member: the email's, the one minted by
// community member id, and the one minted by SSO user id whose source was
// dropped and collected (its pair left in the client's store).
//
// With the default store, and with a store that cannot be searched by
// member (as redisstore's): the client remembers which identities named
// the member.
func TestOneMemberOneSource(t *testing.T) {
	t.Parallel()
	t.Run("MemoryStore", func(t *testing.T) {
		t.Parallel()
		oneMemberOneSource(t)
	})
	t.Run("opaque store", func(t *testing.T) {
		t.Parallel()
		oneMemberOneSource(t, circle.WithTokenStore(opaqueStore{circle.NewMemoryStore()}))
	})
}

// opaqueStore is a TokenStore that, unlike a *MemoryStore, the client
// cannot search by member.
type opaqueStore struct{ *circle.MemoryStore }

func oneMemberOneSource(t *testing.T, opts ...circle.Option) {
	srv := circletest.Start(t)
	ada := srv.AddMember(circletest.Member{Email: "Ada@Example.com", SSOUserID: "sso-ada"})
	other := srv.AddMember(circletest.Member{Email: "bob@example.com"})
	auth, err := circle.NewAuthClient(srv.AppToken(), append([]circle.Option{circle.WithBaseURL(srv.URL()), circle.WithCacheSize(2)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	upper, lower := auth.TokenSource(circle.ByEmail("Ada@Example.com")), auth.TokenSource(circle.ByEmail(" ada@example.com\t"))
	if upper != lower || upper.Identity().String() != "email:ada@example.com" {
		t.Fatalf("two spellings of one email: sources %p and %p, identity %q", upper, lower, upper.Identity())
	}
	var wg sync.WaitGroup
	toks := make([]circle.Token, 8)
	for i := range toks {
		ts := upper
		if i%2 == 1 {
			ts = lower
		}
		wg.Go(func() {
			var err error
			if toks[i], err = ts.Token(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := count(srv, "createMemberToken", 200); n != 1 || toks[0] != toks[1] {
		t.Fatalf("two spellings of one email: %d mints, same token %v; want 1, true", n, toks[0] == toks[1])
	}

	// The member by id, and by SSO id through a source that is then
	// dropped from the cache (size 2) and collected: its pair stays in
	// the client's store only.
	byID, err := auth.TokenSource(circle.ByCommunityMemberID(ada.ID)).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ssoSource := auth.TokenSource(circle.BySSOUserID("sso-ada"))
	bySSO, err := ssoSource.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	collected := weak.Make(ssoSource)
	ssoSource = nil
	bob, err := auth.TokenSource(circle.ByEmail(other.Email)).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	auth.TokenSource(circle.ByEmail("x1@example.com"))
	auth.TokenSource(circle.ByEmail("x2@example.com"))
	for i := 0; collected.Value() != nil; i++ {
		if i == 500 {
			t.Fatal("the SSO id's source, dropped from the cache, was never collected")
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if n := count(srv, "createMemberToken", 200); n != 4 {
		t.Fatalf("%d mints, want 4 (ada by email, by id, by SSO id; bob)", n)
	}
	if byID.CommunityMemberID != ada.ID || bySSO.CommunityMemberID != ada.ID || toks[0].CommunityMemberID != ada.ID {
		t.Fatalf("member ids %d, %d, %d; want %d", toks[0].CommunityMemberID, byID.CommunityMemberID, bySSO.CommunityMemberID, ada.ID)
	}

	// Sign out through a third spelling of the email.
	if err := auth.TokenSource(circle.ByEmail("ADA@example.COM")).Revoke(ctx); err != nil {
		t.Fatal(err)
	}
	acc, ref := count(srv, "revokeAccessToken", 204), count(srv, "revokeRefreshToken", 204)
	adaMints := 0
	for _, r := range srv.Requests() {
		if r.OperationID == "createMemberToken" && r.MemberID == ada.ID {
			adaMints++
		}
	}
	t.Logf("figure: one member named 5 ways (3 spellings of an email, its id, its SSO id): %d mints; one Revoke withdrew %d access and %d refresh tokens", adaMints, acc, ref)
	if acc != 3 || ref != 3 {
		t.Errorf("Revoke withdrew %d access and %d refresh tokens, want 3 and 3 (every pair of the member)", acc, ref)
	}
	for name, tok := range map[string]circle.Token{"email": toks[0], "id": byID, "SSO id": bySSO} {
		if !rejected(t, srv, tok.AccessToken) {
			t.Errorf("the pair minted by %s is still live at Circle", name)
		}
	}
	if rejected(t, srv, bob.AccessToken) {
		t.Error("another member's pair was revoked")
	}
	// The next Token mints again, for each identity.
	ctx2, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if tok, err := auth.TokenSource(circle.ByCommunityMemberID(ada.ID)).Token(ctx2); err != nil || tok == byID {
		t.Errorf("after the revoke, by id: %v, same pair %v", err, tok == byID)
	}
}
