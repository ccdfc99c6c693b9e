package contract

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/circlekit/headless-go/circle"
	"github.com/circlekit/headless-go/circletest"
)

// variant is one way of calling an operation.
type variant struct {
	name string
	// minimal sends only required parameters and body properties;
	// otherwise every one the spec declares is sent.
	minimal bool
}

var variants = []variant{{"full", false}, {"minimal", true}}

// TestOperations calls every operation of both specs, as the specs list
// them when the test runs, through the generated clients wired by package
// circle against circletest, once with every parameter and body property
// and once with only the required ones. Each call must succeed with a 2xx
// status the spec declares; the request must have reached circletest and
// passed its validation against the spec; a declared response body must
// decode into the typed JSON<status> field and, re-encoded, still match
// the response schema. The "coverage" subtest then fails naming every
// operationId of the specs, or of the specs embedded in the generated
// packages, that was not exercised.
func TestOperations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ops := operations(t)

	var (
		mu        sync.Mutex
		started   = map[string]bool{}
		exercised = map[string]bool{}
	)
	t.Run("call", func(t *testing.T) {
		for _, o := range ops {
			t.Run(o.api+"/"+o.id, func(t *testing.T) {
				t.Parallel()
				mu.Lock()
				started[o.id] = true
				mu.Unlock()
				ok := true
				for _, v := range variants {
					ok = t.Run(v.name, func(t *testing.T) { checkOperation(t, e, o, v) }) && ok
				}
				if ok {
					mu.Lock()
					exercised[canonical(o.id)] = true
					mu.Unlock()
				}
			})
		}
	})

	t.Run("coverage", func(t *testing.T) {
		// The set to cover is read from the specs afresh, not from the
		// table, so that an operation the table failed to describe is
		// named too.
		want := map[string]string{} // canonical operationId -> API
		// (Whether the generated clients are current is make
		// check-generate's business: they no longer embed a spec.)
		for _, api := range apiNames {
			doc := specs(t)[api]
			for path, item := range doc.Paths.Map() {
				for method, op := range item.Operations() {
					id := canonical(op.OperationID)
					if id == "" {
						id = method + " " + path
					}
					want[id] = api
				}
			}
		}
		if len(want) == 0 {
			t.Fatal("the specs list no operations")
		}
		if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" && len(started) < len(ops) {
			t.Skipf("-run selected %d of %d operations; coverage needs them all", len(started), len(ops))
		}
		var missing []string
		total, done := map[string]int{}, map[string]int{}
		for id, api := range want {
			total[api]++
			if exercised[id] {
				done[api]++
			} else {
				missing = append(missing, api+"/"+id)
			}
		}
		slices.Sort(missing)
		sum := func(m map[string]int) int {
			n := 0
			for _, v := range m {
				n += v
			}
			return n
		}
		t.Logf("operations exercised: %d/%d (auth %d/%d, member %d/%d)",
			sum(done), sum(total), done["auth"], total["auth"], done["member"], total["member"])
		if len(missing) > 0 {
			t.Errorf("%d operations not exercised:\n\t%s", len(missing), strings.Join(missing, "\n\t"))
		}
	})
}

// TestResponseVariants answers every Member API operation whose 2xx answer
// has a body with two bodies of its own, synthesised independently of
// circletest: one holding only what the schema requires, and one with
// every nullable property null. Each must decode into the typed field and
// round-trip as in TestOperations.
func TestResponseVariants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, o := range operations(t) {
		if o.api != "member" {
			continue
		}
		status := o.successStatuses()[0]
		schema, _ := o.responseSchema(status)
		if schema == nil {
			continue
		}
		t.Run(o.id, func(t *testing.T) {
			t.Parallel()
			bodies := map[string]any{
				"minimal": (&synth{now: e.srv.Now()}).value(schema, true),
				"nulls":   nullify((&synth{now: e.srv.Now()}).value(schema, false), schema),
			}
			for _, name := range []string{"minimal", "nulls"} {
				t.Run(name, func(t *testing.T) {
					body := bodies[name]
					if err := schema.Value.VisitJSON(body, openapi3.VisitAsResponse()); err != nil {
						t.Fatalf("the synthesised body does not match the schema: %v", err)
					}
					b, err := json.Marshal(body)
					if err != nil {
						t.Fatal(err)
					}
					e.srv.SetResponse(o.id, status, b) // subtests of one operation run in turn
					resp, err := invoke(ctx(t), e.api, o, &synth{forRequest: true}, true, nil)
					if err != nil {
						t.Fatalf("%s: %v\nbody: %.1000s", o.goName(), err, b)
					}
					checkResponse(t, e.srv, o, resp)
				})
			}
		})
	}
}

// canonical spells an operationId with a lower-case first letter, as the
// specs do; the specs embedded by oapi-codegen upper-case it.
func canonical(id string) string {
	if id == "" {
		return id
	}
	return strings.ToLower(id[:1]) + id[1:]
}

// checkOperation makes one call of o as v says and checks it.
func checkOperation(t *testing.T, e *env, o *specOp, v variant) {
	c := ctx(t)
	g := &synth{forRequest: true, now: e.srv.Now()}

	var client any = e.api
	var known map[string]any
	if o.api == "auth" {
		// The Auth API acts on state: name a member circletest knows and
		// send tokens it issued.
		client = e.auth.ClientWithResponses
		n := memberSeq.Add(1)
		m := e.srv.AddMember(circletest.Member{
			Email:     fmt.Sprintf("auth-%d@example.com", n),
			SSOUserID: fmt.Sprintf("auth-sso-%d", n),
		})
		tok, err := e.auth.TokenSource(circle.ByCommunityMemberID(m.ID)).Token(c)
		if err != nil {
			t.Fatalf("minting a pair for the call: %v", err)
		}
		known = map[string]any{
			"community_member_id": m.ID,
			"email":               m.Email,
			"sso_user_id":         m.SSOUserID,
			"access_token":        tok.AccessToken,
			"refresh_token":       tok.RefreshToken,
		}
	} else {
		// The Member API acts on the community's state: name records
		// made for this call alone.
		known = e.records(t, o)
	}

	resp, err := invoke(c, client, o, g, v.minimal, known)
	if err != nil {
		t.Fatalf("%s: %v", o.goName(), err)
	}
	checkResponse(t, e.srv, o, resp)
}

// invoke calls the generated method of o on client, with arguments built
// from the method's parameter types and synthesised from the spec: path
// parameters, then *<Op>Params when o has query parameters, then the JSON
// body when it has one. Values under the keys of known replace the
// synthesised ones in the params and the body, and under pathKey plus a
// path parameter's name, that parameter. It returns the method's
// response (a pointer to the generated <Op>Response) and error.
func invoke(ctx context.Context, client any, o *specOp, g *synth, minimal bool, known map[string]any) (reflect.Value, error) {
	m := reflect.ValueOf(client).MethodByName(o.goName())
	if !m.IsValid() {
		return reflect.Value{}, fmt.Errorf("the generated client %T has no method %s for operation %s", client, o.goName(), o.id)
	}
	mt := m.Type()
	want := 1 + len(o.pathParams) + 1 // ctx, path parameters, ...RequestEditorFn
	if len(o.queryParams) > 0 {
		want++
	}
	if o.body != nil {
		want++
	}
	if !mt.IsVariadic() || mt.NumIn() != want || mt.NumOut() != 2 {
		return reflect.Value{}, fmt.Errorf("%s has signature %v; the spec (%d path parameters, query parameters: %t, body: %t) wants %d arguments ending with ...RequestEditorFn",
			o.goName(), mt, len(o.pathParams), len(o.queryParams) > 0, o.body != nil, want)
	}
	args := []reflect.Value{reflect.ValueOf(ctx)}
	for _, p := range o.pathParams {
		pv := g.value(p.Schema, false)
		if k, ok := known[pathKey+p.Name]; ok {
			pv = k
		}
		v, err := decodeInto(pv, mt.In(len(args)))
		if err != nil {
			return reflect.Value{}, fmt.Errorf("path parameter %q: %w", p.Name, err)
		}
		args = append(args, v)
	}
	if len(o.queryParams) > 0 {
		typ := mt.In(len(args))
		if typ.Kind() != reflect.Pointer || typ.Elem().Kind() != reflect.Struct {
			return reflect.Value{}, fmt.Errorf("%s: query parameters argument is %v, not a pointer to a struct", o.goName(), typ)
		}
		q := map[string]any{}
		for _, p := range o.queryParams {
			if !minimal || p.Required {
				q[p.Name] = g.value(p.Schema, minimal)
			}
		}
		v, err := decodeInto(override(q, known), typ.Elem())
		if err != nil {
			return reflect.Value{}, fmt.Errorf("query parameters: %w", err)
		}
		args = append(args, v.Addr())
	}
	if o.body != nil {
		v, err := decodeInto(override(g.value(o.body, minimal), known), mt.In(len(args)))
		if err != nil {
			return reflect.Value{}, fmt.Errorf("request body: %w", err)
		}
		args = append(args, v)
	}
	out := m.Call(args)
	err, _ := out[1].Interface().(error)
	return out[0], err
}

// decodeInto encodes the JSON value v and decodes it into a new value of
// type typ, so that the synthesised value takes the generated Go type.
func decodeInto(v any, typ reflect.Type) (reflect.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return reflect.Value{}, err
	}
	p := reflect.New(typ)
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p.Interface()); err != nil {
		return reflect.Value{}, fmt.Errorf("synthesised %s does not decode into %v: %w", b, typ, err)
	}
	return p.Elem(), nil
}

// checkResponse checks the generated response resp of o, as the file
// comment of TestOperations says.
func checkResponse(t *testing.T, srv *circletest.Server, o *specOp, resp reflect.Value) {
	t.Helper()
	if resp.Kind() != reflect.Pointer || resp.IsNil() {
		t.Fatalf("%s returned no response and no error", o.goName())
	}
	r := resp.Elem()
	httpResp, _ := r.FieldByName("HTTPResponse").Interface().(*http.Response)
	if httpResp == nil {
		t.Fatal("the response has no HTTPResponse")
	}
	status := httpResp.StatusCode
	if status < 200 || status > 299 {
		t.Fatalf("status %d, want 2xx", status)
	}
	if !slices.Contains(o.successStatuses(), status) {
		t.Errorf("status %d is not one the spec declares (%v)", status, o.successStatuses())
	}

	rec := recorded(t, srv, httpResp)
	if canonical(rec.OperationID) != canonical(o.id) || rec.Method != o.method {
		t.Errorf("circletest routed %s %s to %q, want %q", rec.Method, rec.Path, rec.OperationID, o.id)
	}
	if rec.ValidationError != nil {
		t.Errorf("the request failed circletest's validation: %v\n%s %s?%s\n%s", rec.ValidationError, rec.Method, rec.Path, rec.Query, rec.Body)
	}
	if rec.ResponseError != nil {
		t.Errorf("circletest's answer does not match the spec: %v", rec.ResponseError)
	}
	if rec.Status != status {
		t.Errorf("circletest recorded status %d, the client saw %d", rec.Status, status)
	}

	body := r.FieldByName("Body").Bytes()
	schema, _ := o.responseSchema(status)
	field := r.FieldByName(fmt.Sprintf("JSON%d", status))
	if schema == nil {
		if len(body) != 0 {
			t.Errorf("the spec declares no body for %d, got %q", status, body)
		}
		if field.IsValid() && !field.IsNil() {
			t.Errorf("JSON%d is set though the spec declares no body", status)
		}
		return
	}
	if !field.IsValid() {
		t.Fatalf("%T has no field JSON%d for the body the spec declares", resp.Interface(), status)
	}
	if field.IsNil() {
		t.Fatalf("JSON%d is nil; body %.200q, Content-Type %q", status, body, httpResp.Header.Get("Content-Type"))
	}
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if err := schema.Value.VisitJSON(raw, openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
		t.Errorf("the body as received does not match the response schema: %v", err)
	}
	// Round trip: what the typed field holds must still be a valid answer.
	again, err := json.Marshal(field.Interface())
	if err != nil {
		t.Fatalf("re-encoding JSON%d: %v", status, err)
	}
	var decoded any
	if err := json.Unmarshal(again, &decoded); err != nil {
		t.Fatalf("re-encoded JSON%d is not JSON: %v", status, err)
	}
	if err := schema.Value.VisitJSON(decoded, openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
		t.Errorf("JSON%d re-encoded does not match the response schema: %v\nreceived:   %.2000s\nre-encoded: %.2000s", status, err, body, again)
	}
	if lost := lostKeys(raw, decoded, ""); len(lost) > 0 {
		t.Errorf("decoding into JSON%d (%v) lost fields: %s", status, field.Type(), strings.Join(lost, ", "))
	}
}

// lostKeys lists the object keys with a non-null value in a that b lacks,
// as JSON pointers under at. A key whose value is the zero of its JSON kind
// (false, 0, "", [], or an object of such values) may be missing from b:
// the generated types hold optional response fields as values, which read
// the same absent or zero, and leave zero values out when encoding.
func lostKeys(a, b any, at string) []string {
	var out []string
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return []string{at}
		}
		for _, k := range slices.Sorted(maps.Keys(a)) {
			if a[k] == nil {
				continue
			}
			bv, ok := bm[k]
			if !ok && jsonZero(a[k]) {
				continue
			}
			if !ok {
				out = append(out, at+"/"+k)
				continue
			}
			out = append(out, lostKeys(a[k], bv, at+"/"+k)...)
		}
	case []any:
		bs, ok := b.([]any)
		if !ok || len(bs) != len(a) {
			return []string{at}
		}
		for i := range a {
			out = append(out, lostKeys(a[i], bs[i], fmt.Sprintf("%s/%d", at, i))...)
		}
	}
	return out
}

// jsonZero reports whether v, a decoded JSON value, is the zero of its
// kind: null, false, 0, "", an empty array, or an object whose values are
// all zero (what a Go struct of zero fields encodes to before omitzero).
func jsonZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		for _, e := range v {
			if !jsonZero(e) {
				return false
			}
		}
		return true
	}
	return false
}
