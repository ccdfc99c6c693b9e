package circle

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// RedirectError is the error of a call that a server answered with a
// redirect the client refused to follow. Every request of this package
// carries a credential (the app token, a member's access token, or tokens
// in its body), so the clients never send one to an origin (scheme, host
// and port) other than their base URL's: Auth API calls follow no
// redirect at all, and Member API calls follow none to another origin.
// A RedirectError is not retried.
type RedirectError struct {
	// Method and Path are those of the request that was redirected.
	Method, Path string
	// StatusCode is the status of the redirect (301, 302, 303, 307 or
	// 308), or 0 when the request was refused before it was sent.
	StatusCode int
	// Location is where the redirect pointed: its scheme, host and path,
	// without user information, query or fragment.
	Location string
}

// Error returns a one-line description such as `circle: PATCH
// /api/v1/headless/access_token/refresh: refused to follow a 307 redirect
// to https://elsewhere.example/refresh`.
func (e *RedirectError) Error() string {
	var b strings.Builder
	b.WriteString("circle: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	if e.StatusCode == 0 {
		b.WriteString(": refused to send credentials to ")
	} else {
		b.WriteString(": refused to follow a ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteString(" redirect to ")
	}
	b.WriteString(e.Location)
	return b.String()
}

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

// shown is u for an error message: no user information, query or
// fragment, which could hold secrets.
func shown(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return v.String()
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
	first := via[0]
	e := &RedirectError{Method: first.Method, Path: first.URL.Path, Location: shown(req.URL)}
	if req.Response != nil {
		e.StatusCode = req.Response.StatusCode
	}
	return e
}

// originTransport refuses any request to another origin than home: the
// last line of defence, whatever CheckRedirect a client has.
type originTransport struct {
	home origin
	next http.RoundTripper
}

// RoundTrip sends req if it is for the home origin.
func (t *originTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if originOf(req.URL) != t.home {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &RedirectError{Method: req.Method, Path: req.URL.Path, Location: shown(req.URL)}
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
	if originOf(req.URL) != d.home {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &RedirectError{Method: req.Method, Path: req.URL.Path, Location: shown(req.URL)}
	}
	resp, err := d.next.Do(req)
	if err != nil || resp == nil || resp.Request == nil || resp.Request.URL == nil {
		return resp, err
	}
	final := resp.Request.URL
	if originOf(final) != d.home || !d.sameOrigin && final.String() != req.URL.String() {
		_ = resp.Body.Close()
		return nil, &RedirectError{Method: req.Method, Path: req.URL.Path, Location: shown(final)}
	}
	return resp, nil
}
