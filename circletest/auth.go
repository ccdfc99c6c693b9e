package circletest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

var b64 = base64.RawURLEncoding

// serveAuth answers a call of the Auth API: it checks the app token, the
// community's eligibility and the body, then mints, refreshes or revokes.
func (s *Server) serveAuth(r *http.Request, op *operation, params map[string]string, rec *Request) reply {
	if tok := bearer(r); tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.appToken)) != 1 {
		return errorReply(http.StatusUnauthorized, "the app token is missing or not valid")
	}
	s.mu.Lock()
	eligible := s.eligible
	s.mu.Unlock()
	if !eligible {
		return errorReply(http.StatusForbidden, "the community is not eligible for headless API access")
	}
	if err := validateRequest(r, op, params); err != nil {
		rec.ValidationError = err
		return errorReply(http.StatusUnprocessableEntity, "invalid request: "+reason(err))
	}
	var body struct {
		Email             *string `json:"email"`
		CommunityMemberID *int64  `json:"community_member_id"`
		SSOUserID         *string `json:"sso_user_id"`
		AccessToken       string  `json:"access_token"`
		RefreshToken      string  `json:"refresh_token"`
	}
	if err := json.NewDecoder(bytes.NewReader(rec.Body)).Decode(&body); err != nil {
		rec.ValidationError = err
		return errorReply(http.StatusUnprocessableEntity, "invalid request: the body is not a JSON object of the expected shape")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now
	switch op.id {
	case opCreateMemberToken:
		var (
			id int64
			ok bool
		)
		switch {
		case body.SSOUserID != nil:
			id, ok = s.bySSO[*body.SSOUserID]
		case body.CommunityMemberID != nil:
			_, ok = s.members[*body.CommunityMemberID]
			id = *body.CommunityMemberID
		case body.Email != nil:
			id, ok = s.byEmail[strings.ToLower(*body.Email)]
		}
		if !ok {
			return errorReply(http.StatusNotFound, "no community member matches the given identity")
		}
		rec.MemberID = id
		access, accessExp := s.mintAccess(id, now)
		refresh := randomString(32)
		refreshExp := now.Add(s.refreshTTL)
		s.refresh[refresh] = token{member: id, expires: refreshExp}
		return jsonReply(http.StatusOK, map[string]any{
			"access_token":             access,
			"refresh_token":            refresh,
			"access_token_expires_at":  accessExp.Format(time.RFC3339),
			"refresh_token_expires_at": refreshExp.Format(time.RFC3339),
			"community_member_id":      id,
			"community_id":             s.communityID,
		})

	case opRefreshAccessToken:
		t, ok := s.refresh[body.RefreshToken]
		if !ok {
			return errorReply(http.StatusNotFound, "refresh token not found")
		}
		rec.MemberID = t.member
		if !now.Before(t.expires) {
			return errorReply(http.StatusUnauthorized, "the refresh token has expired; mint a new token pair")
		}
		access, accessExp := s.mintAccess(t.member, now)
		return jsonReply(http.StatusOK, map[string]any{
			"access_token":            access,
			"access_token_expires_at": accessExp.Format(time.RFC3339),
		})

	case opRevokeAccessToken:
		// Circle answers 422 when the token to revoke is unknown or expired.
		t, ok := s.access[body.AccessToken]
		if !ok {
			return errorReply(http.StatusUnprocessableEntity, "access token not found")
		}
		rec.MemberID = t.member
		if !now.Before(t.expires) {
			return errorReply(http.StatusUnprocessableEntity, "the access token has expired")
		}
		delete(s.access, body.AccessToken)
		return reply{status: http.StatusNoContent}

	case opRevokeRefreshToken:
		t, ok := s.refresh[body.RefreshToken]
		if !ok {
			return errorReply(http.StatusNotFound, "refresh token not found")
		}
		rec.MemberID = t.member
		if !now.Before(t.expires) {
			return errorReply(http.StatusUnauthorized, "the refresh token has expired; mint a new token pair")
		}
		delete(s.refresh, body.RefreshToken)
		return reply{status: http.StatusNoContent}
	}
	return errorReply(http.StatusNotImplemented, "circletest does not implement "+op.id)
}

// mintAccess issues an access token for member, valid from now for the
// access token lifetime: a JWT signed with HS256 whose claims name the
// community and member, with exp, iat and a random jti. s.mu is held.
func (s *Server) mintAccess(member int64, now time.Time) (string, time.Time) {
	exp := now.Add(s.accessTTL)
	claims, _ := json.Marshal(map[string]any{
		"community_id":        s.communityID,
		"community_member_id": member,
		"iat":                 now.Unix(),
		"exp":                 exp.Unix(),
		"jti":                 randomString(16),
	})
	unsigned := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64.EncodeToString(claims)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(unsigned))
	tok := unsigned + "." + b64.EncodeToString(mac.Sum(nil))
	s.access[tok] = token{member: member, expires: exp}
	return tok, exp
}

// memberFor returns the member whose live access token r carries, or an
// error reply.
func (s *Server) memberFor(r *http.Request) (int64, *reply) {
	tok := bearer(r)
	if tok == "" {
		rp := errorReply(http.StatusUnauthorized, "the access token is missing")
		return 0, &rp
	}
	s.mu.Lock()
	t, ok := s.access[tok]
	now := s.now
	s.mu.Unlock()
	switch {
	case !ok:
		rp := errorReply(http.StatusUnauthorized, "the access token is not valid")
		return 0, &rp
	case !now.Before(t.expires):
		rp := errorReply(http.StatusUnauthorized, "the access token has expired")
		return 0, &rp
	}
	return t.member, nil
}

// validateRequest checks r against op's spec. Authentication is the
// caller's job.
func validateRequest(r *http.Request, op *operation, params map[string]string) error {
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      op.route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults: true,
		},
	}
	return openapi3filter.ValidateRequest(r.Context(), in)
}
