package circle

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckTokens(t *testing.T) {
	t.Parallel()
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl-_"
	for _, check := range []struct {
		name string
		fn   func(string) error
		what string
	}{{"checkAppToken", checkAppToken, "app token"}, {"checkBearer", checkBearer, "access token"}} {
		for _, ok := range []string{jwt, "opaque+/=~!token", "x"} {
			if err := check.fn(ok); err != nil {
				t.Errorf("%s(valid token) = %v", check.name, err)
			}
		}
		for _, tc := range []struct{ tok, want string }{
			{"", "is empty"},
			{jwt + "\n", "white space (0x0a) at its end: a token is printable ASCII only; trim it"},
			{" " + jwt, "white space (0x20) at its start"},
			{jwt[:10] + " " + jwt[10:], "white space (0x20) at byte 11 of"},
			{jwt[:10] + "\t" + jwt[10:], "white space (0x09)"},
			{jwt[:10] + "\x00" + jwt[10:], "a control character (0x00) at byte 11"},
			{jwt[:10] + "\r\nX-Evil: 1" + jwt[10:], "white space (0x0d)"},
			{jwt[:10] + "\x7f" + jwt[10:], "a control character (0x7f)"},
			{jwt[:10] + "é" + jwt[10:], "a byte that is not ASCII at byte 11"},
			{jwt[:10] + "\xff" + jwt[10:], "a byte that is not ASCII"},
			{jwt[:10] + "\u2028" + jwt[10:], "a byte that is not ASCII"},
		} {
			err := check.fn(tc.tok)
			if err == nil {
				t.Errorf("%s(%q) = nil, want an error", check.name, tc.tok)
				continue
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "circle: "+check.what+" ") || !strings.Contains(msg, tc.want) {
				t.Errorf("%s(%q) = %q, want it to name the %s and say %q", check.name, tc.tok, msg, check.what, tc.want)
			}
			if tc.tok != "" && (strings.Contains(msg, jwt[:10]) || strings.Contains(msg, jwt[10:20])) {
				t.Errorf("%s error shows the token: %q", check.name, msg)
			}
			if !errors.Is(err, errMalformedToken) {
				t.Errorf("%s(%q) error does not match errMalformedToken", check.name, tc.tok)
			}
		}
	}
}
