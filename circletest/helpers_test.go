package circletest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// tokenPair is the body of a successful createMemberToken call.
type tokenPair struct {
	AccessToken           string `json:"access_token"`
	RefreshToken          string `json:"refresh_token"`
	AccessTokenExpiresAt  string `json:"access_token_expires_at"`
	RefreshTokenExpiresAt string `json:"refresh_token_expires_at"`
	CommunityMemberID     int64  `json:"community_member_id"`
	CommunityID           int64  `json:"community_id"`
}

// call sends a request to s with a bearer token (none when token is "")
// and a JSON body (none when body is nil), and returns the status, headers
// and body.
func call(t testing.TB, s *Server, method, path, token string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				t.Fatal(err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, s, req)
}

// send sends req with s's client.
func send(t testing.TB, s *Server, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// mint mints a token pair for the member named by identity.
func mint(t testing.TB, s *Server, identity map[string]any) tokenPair {
	t.Helper()
	status, _, body := call(t, s, "POST", "/api/v1/headless/auth_token", s.AppToken(), identity)
	if status != http.StatusOK {
		t.Fatalf("createMemberToken(%v): %d %s", identity, status, body)
	}
	var p tokenPair
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// newMemberToken adds a member and returns an access token for it.
func newMemberToken(t testing.TB, s *Server) (Member, string) {
	t.Helper()
	m := s.AddMember(Member{})
	return m, mint(t, s, map[string]any{"community_member_id": m.ID}).AccessToken
}

// errorBody is Circle's error body.
type errorBody struct {
	Success      *bool          `json:"success"`
	Message      string         `json:"message"`
	ErrorDetails map[string]any `json:"error_details"`
}

// wantError checks that a response is status with Circle's error body.
func wantError(t testing.TB, gotStatus int, body []byte, status int) errorBody {
	t.Helper()
	if gotStatus != status {
		t.Fatalf("status %d, want %d; body %s", gotStatus, status, body)
	}
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	if e.Success == nil || *e.Success || e.Message == "" || e.ErrorDetails == nil {
		t.Fatalf("error body %s lacks success:false, a message or error_details", body)
	}
	return e
}

// lastRequest is the last request s recorded.
func lastRequest(t testing.TB, s *Server) Request {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request recorded")
	}
	return reqs[len(reqs)-1]
}

// loadSpec parses an inline spec.
func loadSpec(t testing.TB, yaml string) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// requestFor builds a valid request for op: path parameters, required
// query and header parameters, and a body when the operation takes one,
// all synthesised from their schemas.
func requestFor(t testing.TB, s *Server, op *operation, token string) *http.Request {
	t.Helper()
	return requestWith(t, s, op, token, nil, nil)
}

// requestWith is requestFor with the path parameters named in pathValues
// set to their values, and the synthesised JSON body passed to patch
// (when not nil) before it is sent.
func requestWith(t testing.TB, s *Server, op *operation, token string, pathValues map[string]string, patch func(body map[string]any)) *http.Request {
	t.Helper()
	g := synth{now: s.Now(), forRequest: true}
	path := op.path
	query := url.Values{}
	header := http.Header{}
	params := slices.Clone(op.route.Operation.Parameters)
	for _, p := range op.route.PathItem.Parameters {
		if op.route.Operation.Parameters.GetByInAndName(p.Value.In, p.Value.Name) == nil {
			params = append(params, p)
		}
	}
	for _, ref := range params {
		p := ref.Value
		if p.In != openapi3.ParameterInPath && !p.Required {
			continue
		}
		v := jsonValue(g.value(p.Schema, p.Name))
		if pv, ok := pathValues[p.Name]; ok && p.In == openapi3.ParameterInPath {
			v = pv
		}
		switch p.In {
		case openapi3.ParameterInPath:
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(scalar(v)))
		case openapi3.ParameterInQuery:
			switch v := v.(type) {
			case []any:
				for _, item := range v {
					query.Add(p.Name, scalar(item))
				}
			case map[string]any:
				for k, item := range v {
					query.Add(p.Name+"["+k+"]", scalar(item))
				}
			default:
				query.Add(p.Name, scalar(v))
			}
		case openapi3.ParameterInHeader:
			header.Set(p.Name, scalar(v))
		}
	}
	var body io.Reader
	if rb := op.route.Operation.RequestBody; rb != nil && rb.Value != nil {
		if _, mt := jsonContent(rb.Value.Content); mt != nil && mt.Schema != nil {
			v := jsonValue(g.value(mt.Schema, ""))
			if m, ok := v.(map[string]any); ok && patch != nil {
				patch(m)
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			body = bytes.NewReader(b)
			header.Set("Content-Type", "application/json")
		}
	}
	u := s.URL() + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(context.Background(), op.method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// scalar formats a JSON scalar for a URL.
func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// withMemberSpec replaces the embedded member spec; tests use it to run the
// Member API from any spec.
func withMemberSpec(doc *openapi3.T) Option {
	return func(c *config) { c.memberDoc = doc }
}
