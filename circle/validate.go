package circle

import (
	"errors"
	"fmt"
)

// errMalformedToken is matched (with errors.Is) by every error of
// checkAppToken and checkBearer: a token that can never be sent, so a
// request carrying it must fail at once and never be retried.
var errMalformedToken = errors.New("malformed token")

// malformedTokenError says why a token cannot be sent, without showing it.
type malformedTokenError struct {
	what   string // "app token", "access token"
	reason string
}

func (e *malformedTokenError) Error() string {
	return "circle: " + e.what + " " + e.reason + " (not shown: it is a secret)"
}

func (e *malformedTokenError) Unwrap() error { return errMalformedToken }

// checkAppToken reports whether tok can be the community's Headless Auth
// app token: it must be non-empty and made of printable ASCII characters
// only (no white space, no control character, nothing beyond ASCII), as a
// JWT or an opaque token always is. The error never shows the token, only
// the position and kind of the first bad byte.
func checkAppToken(tok string) error { return checkToken("app token", tok) }

// checkBearer reports whether tok, an access token Circle handed us, can
// be sent as "Authorization: Bearer <tok>", by the rule of checkAppToken.
// A token it rejects could never be sent, so a request carrying it must
// fail at once, without a retry; the error matches errMalformedToken.
func checkBearer(tok string) error { return checkToken("access token", tok) }

// checkToken checks tok by the rule of checkAppToken; what names it in the
// error.
func checkToken(what, tok string) error {
	if tok == "" {
		return &malformedTokenError{what, "is empty"}
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c > 0x20 && c < 0x7f {
			continue
		}
		var kind string
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			kind = fmt.Sprintf("white space (%#02x)", c)
		case c < 0x20 || c == 0x7f:
			kind = fmt.Sprintf("a control character (%#02x)", c)
		default:
			kind = "a byte that is not ASCII"
		}
		where := fmt.Sprintf("at byte %d of %d", i+1, len(tok))
		switch {
		case i == 0:
			where = "at its start"
		case i == len(tok)-1:
			where = "at its end"
		}
		hint := ""
		if c <= 0x20 && (i == 0 || i == len(tok)-1) {
			hint = "; trim it"
		}
		return &malformedTokenError{what, fmt.Sprintf("has %s %s: a token is printable ASCII only%s", kind, where, hint)}
	}
	return nil
}
