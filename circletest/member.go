package circletest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// SetResponse makes the server answer every later call of the operation
// operationID with status and body, in place of a synthesised response.
// The call must still carry a live access token and be valid.
//
// A body of type []byte or json.RawMessage is sent as it is; any other
// non-nil body is encoded as JSON. A nil body lets the server make one:
// Circle's error body when status is not 2xx, else a body synthesised for
// that status. The body is not checked against the spec before it is sent,
// so a test can send a wrong one on purpose; [Request.ResponseError]
// records any mismatch. The registered answer overrides the community's
// state for that operation: the call changes nothing. To return to the
// server's own answer (from the state, or synthesised for an operation
// the state does not answer), register the operation's 2xx status with a
// nil body, or call [Server.ClearResponse].
//
// SetResponse panics if operationID is not an operation of the member
// spec, or if body cannot be encoded, since both are mistakes in the test.
// (The Auth API keeps its own state; use [Server.InjectFault] to make it
// fail.)
func (s *Server) SetResponse(operationID string, status int, body any) {
	s.mustMemberOperation("SetResponse", operationID)
	if status < 100 || status > 999 {
		panic(fmt.Sprintf("circletest: SetResponse(%q): status %d is not an HTTP status", operationID, status))
	}
	var b []byte
	switch v := body.(type) {
	case nil:
	case []byte:
		b = append([]byte{}, v...)
	case json.RawMessage:
		b = append([]byte{}, v...)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			panic(fmt.Sprintf("circletest: SetResponse(%q): %v", operationID, err))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responses[canonicalID(operationID)] = response{status: status, body: b}
}

// SetRecords registers the records that the list operation operationID
// pages through. Later calls answer with Circle's pagination envelope
// (page, per_page, has_next_page, count, page_count, records) holding the
// slice of records that the call's page and per_page select; the
// envelope's other fields are synthesised. records must encode as a JSON
// array; a nil or empty slice gives empty pages. The records replace what
// the community's state holds for that operation until
// [Server.ClearResponse]. A response registered with [Server.SetResponse]
// for the same operation takes precedence.
//
// SetRecords panics if operationID is not an operation of the member spec
// whose response is the pagination envelope, or if records does not encode
// as a JSON array, since both are mistakes in the test.
func (s *Server) SetRecords(operationID string, records any) {
	op := s.mustMemberOperation("SetRecords", operationID)
	if !op.envelope {
		panic(fmt.Sprintf("circletest: SetRecords(%q): the operation's response is not a paginated list", operationID))
	}
	b, err := json.Marshal(records)
	if err != nil {
		panic(fmt.Sprintf("circletest: SetRecords(%q): %v", operationID, err))
	}
	var list []any
	if string(b) != "null" {
		if err := json.Unmarshal(b, &list); err != nil {
			panic(fmt.Sprintf("circletest: SetRecords(%q): records do not encode as a JSON array", operationID))
		}
	}
	if list == nil {
		list = []any{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[canonicalID(operationID)] = list
}

// ClearResponse forgets what [Server.SetResponse] and [Server.SetRecords]
// registered for the operation operationID, so that it is answered by the
// server again: from the community's state, or synthesised. It panics if
// operationID is not an operation of the member spec.
func (s *Server) ClearResponse(operationID string) {
	s.mustMemberOperation("ClearResponse", operationID)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.responses, canonicalID(operationID))
	delete(s.records, canonicalID(operationID))
}

// mustMemberOperation returns the operation operationID of the member
// spec, or panics naming the caller.
func (s *Server) mustMemberOperation(caller, operationID string) *operation {
	if s.member != nil && s.member.ops[canonicalID(operationID)] != nil {
		return s.member.ops[canonicalID(operationID)]
	}
	panic(fmt.Sprintf("circletest: %s: no operation %q in the member spec", caller, operationID))
}

// operation returns the operation operationID of either spec, or nil.
func (s *Server) operation(operationID string) *operation {
	id := canonicalID(operationID)
	for _, a := range []*api{s.auth, s.member} {
		if a != nil && a.ops[id] != nil {
			return a.ops[id]
		}
	}
	return nil
}

// serveMember answers a call of the Member API.
func (s *Server) serveMember(r *http.Request, op *operation, params map[string]string, rec *Request) reply {
	if op.secured {
		id, rp := s.memberFor(r)
		if rp != nil {
			return *rp
		}
		rec.MemberID = id
	}
	if err := validateRequest(r, op, params); err != nil {
		rec.ValidationError = err
		return errorReply(http.StatusBadRequest, "invalid request: "+reason(err))
	}

	s.mu.Lock()
	resp, hasResp := s.responses[op.id]
	records, hasRecords := s.records[op.id]
	now := s.now
	s.mu.Unlock()

	if hasResp && resp.body == nil && resp.status == op.status {
		hasResp = false // the operation's own status: the server's own answer
	}
	if !hasResp && !hasRecords {
		if rp, ok := s.answerFromState(r, op, params, rec); ok {
			return rp
		}
	}

	status := op.status
	if hasResp {
		switch {
		case resp.body != nil:
			return reply{status: resp.status, mime: "application/json", body: resp.body, registered: true}
		case resp.status < 200 || resp.status > 299:
			return errorReply(resp.status, http.StatusText(resp.status))
		}
		status = resp.status
	}
	schema, mime := op.schema, op.mime
	if status != op.status {
		schema, mime = responseSchema(op, status)
	}
	if schema == nil {
		return reply{status: status, mime: mime} // a media type without a schema: no body
	}
	g := synth{now: now}
	body := g.value(schema, "")
	if op.envelope && schema == op.schema {
		m, _ := body.(map[string]any)
		if m != nil {
			if !hasRecords {
				records, _ = m["records"].([]any)
			}
			paginate(m, records, r, rec.Body, op)
		}
	} else {
		echoParams(body, schema, params)
	}
	rp := jsonReply(status, body)
	rp.mime = mime
	rp.registered = hasRecords // the test's records, in the server's envelope
	return rp
}

// responseSchema returns the JSON schema and media type op declares for
// status, or nil.
func responseSchema(op *operation, status int) (*openapi3.SchemaRef, string) {
	ref := op.route.Operation.Responses.Status(status)
	if ref == nil || ref.Value == nil {
		return nil, ""
	}
	mime, mt := jsonContent(ref.Value.Content)
	if mt == nil {
		return nil, ""
	}
	return mt.Schema, mime
}

// paginate fills the envelope m with the page of records selected by r's
// page and per_page parameters: query parameters, or for the operations
// that take them in their JSON body (searchCommunityMembers), body fields.
func paginate(m map[string]any, records []any, r *http.Request, body []byte, op *operation) {
	q := r.URL.Query()
	pageArg, perPageArg := q.Get("page"), q.Get("per_page")
	var b struct {
		Page    json.Number `json:"page"`
		PerPage json.Number `json:"per_page"`
	}
	if len(body) > 0 && json.Unmarshal(body, &b) == nil {
		pageArg = cmp.Or(pageArg, b.Page.String())
		perPageArg = cmp.Or(perPageArg, b.PerPage.String())
	}
	page := positive(pageArg, 1)
	perPage := positive(perPageArg, op.perPageDefault)
	total := len(records)
	pages := total / perPage
	if total%perPage != 0 {
		pages++
	}
	from := total
	if page-1 < pages {
		from = (page - 1) * perPage // no overflow: less than total
	}
	to := from + min(perPage, total-from)
	slice := records[from:to]
	if slice == nil {
		slice = []any{}
	}
	m["page"] = page
	m["per_page"] = perPage
	m["count"] = total
	m["page_count"] = pages
	m["has_next_page"] = page < pages
	m["records"] = slice
}

// positive parses s as a positive integer, or returns def.
func positive(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return def
	}
	return n
}

// echoParams copies path parameters into the top-level fields of body that
// bear their name (such as id), so that a synthesised record matches the
// one asked for.
func echoParams(body any, schema *openapi3.SchemaRef, params map[string]string) {
	m, ok := body.(map[string]any)
	if !ok || schema == nil || schema.Value == nil {
		return
	}
	props := objectProperties(schema.Value)
	for name, raw := range params {
		p := props[name]
		if _, present := m[name]; !present || p == nil || p.Value == nil {
			continue
		}
		var v any
		switch schemaType(p.Value) {
		case openapi3.TypeInteger:
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				continue
			}
			v = n
		case openapi3.TypeString:
			v = raw
		default:
			continue
		}
		if p.Value.VisitJSON(jsonValue(v), openapi3.VisitAsResponse()) == nil {
			m[name] = v
		}
	}
}

// jsonValue converts v to the form encoding/json decodes into.
func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// reason makes a validation error short enough for a response message:
// where the problem is and what it is, without the schema dump.
func reason(err error) string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		parts := make([]string, 0, len(me))
		for _, e := range me {
			parts = append(parts, reason(e))
		}
		return strings.Join(parts, "; ")
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		var where string
		switch {
		case re.Parameter != nil:
			where = fmt.Sprintf("%s parameter %q", re.Parameter.In, re.Parameter.Name)
		case re.RequestBody != nil:
			where = "request body"
		}
		what := re.Reason
		if re.Err != nil {
			if inner := reason(re.Err); inner != what {
				if what != "" {
					what += ": "
				}
				what += inner
			}
		}
		if where == "" {
			return what
		}
		return where + ": " + what
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		if p := se.JSONPointer(); len(p) > 0 {
			return fmt.Sprintf("at /%s: %s", strings.Join(p, "/"), se.Reason)
		}
		return se.Reason
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}
