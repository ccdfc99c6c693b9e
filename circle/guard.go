package circle

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// origin is the scheme, host and port of a URL, normalised.
type origin struct{ scheme, host, port string }

func originOf(u *url.URL) origin {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	if o.port == "" {
		switch o.scheme {
		case "https":
			o.port = "443"
		case "http":
			o.port = "80"
		}
	}
	return o
}

// guard wraps the user's Doer so that no request leaves for another origin
// than base's, and so that redirects are refused (all of them, or those to
// another origin when sameOrigin is set). An *http.Client is copied (never
// modified), with a CheckRedirect and a RoundTripper of its own around the
// user's; any other Doer is checked before and after it sends, since its
// redirects cannot be seen.
func guard(d Doer, base *url.URL, sameOrigin bool) Doer {
	home := originOf(base)
	if hc, ok := d.(*http.Client); ok {
		c := *hc
		userCheck := hc.CheckRedirect
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if err := refuse(req, via, home, sameOrigin); err != nil {
				return err
			}
			if userCheck != nil {
				return userCheck(req, via)
			}
			if len(via) >= 10 {
				return errors.New("circle: stopped after 10 redirects")
			}
			return nil
		}
		rt := hc.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		c.Transport = &originTransport{home: home, next: rt}
		return &c
	}
	return &checkedDoer{home: home, next: d, sameOrigin: sameOrigin}
}

// refuse returns the error for following the redirect to req, or nil.
func refuse(req *http.Request, via []*http.Request, home origin, sameOrigin bool) error {
	if sameOrigin && originOf(req.URL) == home {
		return nil
	}
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	return newRedirectError(via[0], status, req.URL)
}

// leaving returns the error of req if it is for another origin than home,
// closing its body (as sending it would have), or nil.
func leaving(req *http.Request, home origin) error {
	if originOf(req.URL) == home {
		return nil
	}
	closeBody(req)
	return newRedirectError(req, 0, req.URL)
}

// originTransport refuses any request to another origin than home: the
// last line of defence, whatever CheckRedirect a client has.
type originTransport struct {
	home origin
	next http.RoundTripper
}

// RoundTrip sends req if it is for the home origin.
func (t *originTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := leaving(req, t.home); err != nil {
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// checkedDoer is the guard of a Doer that is not an *http.Client.
type checkedDoer struct {
	home       origin
	next       Doer
	sameOrigin bool
}

// Do sends req with the user's Doer if it is for the home origin, and
// fails if the Doer followed a redirect it should not have.
func (d *checkedDoer) Do(req *http.Request) (*http.Response, error) {
	if err := leaving(req, d.home); err != nil {
		return nil, err
	}
	resp, err := d.next.Do(req)
	if err != nil || resp == nil || resp.Request == nil || resp.Request.URL == nil {
		return resp, err
	}
	final := resp.Request.URL
	if originOf(final) != d.home || !d.sameOrigin && final.String() != req.URL.String() {
		_ = resp.Body.Close()
		return nil, newRedirectError(req, 0, final)
	}
	return resp, nil
}
