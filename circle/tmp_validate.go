package circle

import "errors"

// Temporary until validate.go lands.
func checkAppToken(tok string) error {
	if tok == "" {
		return errors.New("circle: empty app token")
	}
	return checkPrintable(tok, "app token")
}

func checkBearer(tok string) error { return checkPrintable(tok, "access token") }

func checkPrintable(tok, what string) error {
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return errors.New("circle: the " + what + " holds a character a header cannot carry")
		}
	}
	return nil
}

func (id Identity) validate() error {
	if !id.valid() {
		return errors.New("circle: invalid member identity " + id.String())
	}
	return nil
}
