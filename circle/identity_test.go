package circle

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestIdentityValidate(t *testing.T) {
	t.Parallel()
	for _, id := range []Identity{
		ByEmail("ada@example.com"),
		ByEmail("ada.lovelace+circle@sub.example.co.uk"),
		ByEmail("zoë@exämple.de"),
		ByEmail("a@b"),
		ByEmail(strings.Repeat("a", 64) + "@" + strings.Repeat("b", 255)),
		ByCommunityMemberID(1),
		ByCommunityMemberID(1<<63 - 1),
		BySSOUserID("u-7"),
		BySSOUserID("auth0|5f7c8ec7c33c6c004bbafe82"),
		BySSOUserID("Ada Lovelace"),
		BySSOUserID(strings.Repeat("x", 256)),
	} {
		if err := id.Validate(); err != nil || !id.valid() {
			t.Errorf("%v: Validate = %v, want nil", id, err)
		}
	}
	long := strings.Repeat("a", 400) + "@example.com"
	for _, tc := range []struct {
		id   Identity
		want string
	}{
		{Identity{}, "circle: no member identity"},
		{ByEmail(""), "circle: ByEmail: the email address is empty"},
		{ByEmail("ada"), `circle: ByEmail: "ada" has no @`},
		{ByEmail("@example.com"), "has nothing before the @"},
		{ByEmail("ada@"), "has nothing after the @"},
		{ByEmail("ada@b@example.com"), "has more than one @"},
		{ByEmail("ada @example.com"), "holds white space (U+0020)"},
		{ByEmail("ada\n@example.com"), "holds a control character (U+000A)"},
		{ByEmail("ada@example.com\r\nBcc: x@y"), "holds a control character (U+000D)"},
		{ByEmail("ada\x00@example.com"), "holds a control character (U+0000)"},
		{ByEmail("ada\u00a0@example.com"), "holds white space (U+00A0)"},
		{ByEmail("ada\u200b@example.com"), "holds white space (U+200B)"},
		{ByEmail("ada\u2028@example.com"), "holds white space (U+2028)"},
		{ByEmail("ada\xff@example.com"), "is not valid UTF-8"},
		{ByEmail(long), "is 412 bytes long, over the 320 of an email address"},
		{ByCommunityMemberID(0), "circle: ByCommunityMemberID: 0 is not a member id"},
		{ByCommunityMemberID(-42), "circle: ByCommunityMemberID: -42 is not a member id"},
		{BySSOUserID(""), "circle: BySSOUserID: the id is empty"},
		{BySSOUserID("  \t"), "is only white space"},
		{BySSOUserID("u-7\n"), "holds a control character (U+000A)"},
		{BySSOUserID("u\x1b[31m-7"), "holds a control character (U+001B)"},
		{BySSOUserID("u\u2028-7"), "holds a control character (U+2028)"},
		{BySSOUserID("u-\xc3"), "is not valid UTF-8"},
		{BySSOUserID(strings.Repeat("x", 257)), "is 257 bytes long, over the 256 allowed"},
	} {
		err := tc.id.Validate()
		if err == nil || tc.id.valid() {
			t.Errorf("Validate(%.40q) = nil, want an error", tc.id.String())
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%.40q) = %q, want it to say %q", tc.id.String(), err, tc.want)
		}
		if len(err.Error()) > 160 {
			t.Errorf("Validate(%.40q) error is %d bytes long: %q", tc.id.String(), len(err.Error()), err)
		}
	}
	// A long value is quoted by its start only, and stays valid UTF-8.
	msg := ByEmail(strings.Repeat("é", 300)).Validate().Error()
	if !strings.Contains(msg, `"`+strings.Repeat("é", 16)+`"…`) || !utf8.ValidString(msg) {
		t.Errorf("long value quoted as %q", msg)
	}
}

// TestEmailIdentitiesCompareAsCircleDoes: the spellings two sign-in forms
// send for one person are one identity, with one key.
func TestEmailIdentitiesCompareAsCircleDoes(t *testing.T) {
	t.Parallel()
	want := ByEmail("ada@example.com")
	for _, v := range []string{"Ada@Example.com", " ada@example.com", "ADA@EXAMPLE.COM\t", "\u200bAda@example.COM\n", "\ufeffada@example.com"} {
		if id := ByEmail(v); id != want || id.String() != "email:ada@example.com" || id.Validate() != nil {
			t.Errorf("ByEmail(%q) = %v (%v), want %v", v, id, id.Validate(), want)
		}
		if id, err := ParseIdentity("email:" + v); err != nil || id != want {
			t.Errorf("ParseIdentity(%q) = %v, %v; want %v", "email:"+v, id, err, want)
		}
	}
	// Inside an address, white space is still refused; other kinds are
	// compared as given.
	if ByEmail("ada @example.com").Validate() == nil {
		t.Error("white space inside an address was accepted")
	}
	if BySSOUserID("U-7") == BySSOUserID("u-7") {
		t.Error("SSO user ids were case-folded")
	}
	if body := ByEmail(" Ada@Example.com ").body(); body.Email == nil || *body.Email != "ada@example.com" {
		t.Errorf("the mint sends %v, want ada@example.com", body.Email)
	}
}

func TestParseIdentity(t *testing.T) {
	t.Parallel()
	for _, id := range []Identity{ByEmail("ada@example.com"), ByEmail("a:b@c"), ByCommunityMemberID(42), BySSOUserID("u-7"), BySSOUserID("sso:x:y")} {
		got, err := ParseIdentity(id.String())
		if err != nil || got != id {
			t.Errorf("ParseIdentity(%q) = %v, %v; want %v", id.String(), got, err, id)
		}
	}
	for _, tc := range []struct{ s, want string }{
		{"", "is not email:…, community_member_id:… or sso_user_id:…"},
		{"none", "is not email:…"},
		{"ada@example.com", "is not email:…"},
		{"phone:123", `unknown kind "phone"`},
		{"Email:ada@example.com", `unknown kind "Email"`},
		{"email:", "the email address is empty"},
		{"email:ada", `"ada" has no @`},
		{"email:ada @example.com", "holds white space"},
		{"community_member_id:", "is not a decimal member id"},
		{"community_member_id:0", "0 is not a member id"},
		{"community_member_id:-1", "-1 is not a member id"},
		{"community_member_id:+42", `"+42" is not a decimal member id`},
		{"community_member_id:042", `"042" is not a decimal member id`},
		{"community_member_id:4 2", "is not a decimal member id"},
		{"community_member_id:99999999999999999999", "is not a decimal member id"},
		{"sso_user_id:", "the id is empty"},
		{"sso_user_id:u\n", "holds a control character"},
	} {
		id, err := ParseIdentity(tc.s)
		if err == nil || !id.IsZero() || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseIdentity(%q) = %v, %v; want the zero Identity and an error saying %q", tc.s, id, err, tc.want)
		}
	}
}

// FuzzParseIdentity checks that ParseIdentity is the inverse of String for
// every valid identity, and that whatever it accepts is valid and
// prints back as given.
func FuzzParseIdentity(f *testing.F) {
	f.Add(uint8(1), "ada@example.com", int64(0))
	f.Add(uint8(2), "", int64(42))
	f.Add(uint8(3), "u-7", int64(0))
	f.Add(uint8(3), "email:x@y", int64(0))
	f.Add(uint8(1), "a:b@c:d", int64(-1))
	f.Fuzz(func(t *testing.T, kind uint8, v string, n int64) {
		var id Identity
		switch kind % 4 {
		case 1:
			id = ByEmail(v)
		case 2:
			id = ByCommunityMemberID(n)
		case 3:
			id = BySSOUserID(v)
		}
		if err := id.Validate(); err == nil {
			got, err := ParseIdentity(id.String())
			if err != nil || got != id {
				t.Fatalf("ParseIdentity(%q) = %v, %v; want %v", id.String(), got, err, id)
			}
		} else if len(err.Error()) > 200 {
			t.Fatalf("error of %d bytes: %q", len(err.Error()), err)
		}
		// Whatever ParseIdentity accepts is valid and prints back as given,
		// an address as ByEmail keeps it.
		if got, err := ParseIdentity(v); err == nil {
			want := v
			if addr, ok := strings.CutPrefix(v, "email:"); ok {
				want = "email:" + canonicalEmail(addr)
			}
			if got.Validate() != nil || got.String() != want {
				t.Fatalf("ParseIdentity(%q) = %v, which prints as %q", v, got, got.String())
			}
			if again, err := ParseIdentity(got.String()); err != nil || again != got {
				t.Fatalf("ParseIdentity(%q) = %v, %v; want %v", got.String(), again, err, got)
			}
		}
		// Emails are one identity whatever their case and the white space
		// around them.
		if up := strings.ToUpper(v); canonicalEmail(up) == canonicalEmail(v) && ByEmail(" "+up+"\t") != ByEmail(v) {
			t.Fatalf("ByEmail(%q) differs from its upper-case spelling", v)
		}
	})
}
