package circletest

import (
	"encoding/json"
	"net/http"
	"testing"
)

// trickySpec exercises the parts of OpenAPI that synthesis and routing
// must handle beyond what the project's specs use today: a server with a
// base path, compositions, recursion, patterns, bounds, formats, a public
// operation, a required header, a 2XX range and empty responses.
const trickySpec = `
openapi: 3.0.3
info: {title: tricky, version: v1}
servers:
  - url: https://{host}/base/v9
    variables: {host: {default: example.com}}
security: [{bearer: []}]
paths:
  /things:
    get:
      operationId: listThings
      parameters:
        - {name: page, in: query, schema: {type: integer, minimum: 1}}
        - {name: per_page, in: query, schema: {type: integer, minimum: 1, maximum: 50, default: 5}}
        - {name: tag, in: query, required: true, schema: {type: array, items: {type: string, enum: [a, b]}}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                allOf:
                  - $ref: "#/components/schemas/Pagination"
                  - type: object
                    properties:
                      records: {type: array, items: {$ref: "#/components/schemas/Thing"}}
    post:
      operationId: createThing
      parameters:
        - {name: X-Trace, in: header, required: true, schema: {type: string, pattern: "^[a-f0-9]{8}$"}}
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Thing"}
      responses:
        "201":
          description: made
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
  /things/{thing_id}:
    parameters:
      - {name: thing_id, in: path, required: true, schema: {type: string, format: uuid}}
    get:
      operationId: getThing
      responses:
        2XX:
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
    delete:
      operationId: deleteThing
      responses:
        "204": {description: gone}
  /choice:
    get:
      operationId: getChoice
      security: []
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [value, shape]
                properties:
                  value: {oneOf: [{type: integer}, {type: string}]}
                  shape:
                    oneOf:
                      - {type: object, required: [radius], properties: {radius: {type: number, exclusiveMinimum: true, minimum: 0}}, additionalProperties: false}
                      - {type: object, required: [side], properties: {side: {type: integer, multipleOf: 5, minimum: 7, maximum: 20}}, additionalProperties: false}
                  either:
                    anyOf: [{type: string, format: date}, {type: integer}]
                  labels:
                    type: object
                    minProperties: 2
                    additionalProperties: {type: string, minLength: 3}
                  tags:
                    type: array
                    minItems: 3
                    uniqueItems: true
                    items: {type: integer, maximum: 100}
  /nothing:
    post:
      operationId: doNothing
      responses:
        "200": {description: no body}
    delete:
      operationId: deleteNothing
      responses:
        "204":
          description: a media type without a schema
          content:
            application/json: {}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Pagination:
      type: object
      properties:
        page: {type: integer, minimum: 1}
        per_page: {type: integer, minimum: 1}
        has_next_page: {type: boolean}
        count: {type: integer, minimum: 0}
        page_count: {type: integer, minimum: 0}
    Thing:
      type: object
      required: [id, name, kind]
      properties:
        id: {type: string, format: uuid, readOnly: true}
        name: {type: string, minLength: 12, maxLength: 14}
        code: {type: string, pattern: "^[A-Z]{3}-[0-9]{2,4}$"}
        kind: {type: string, enum: [big, small], nullable: true}
        email: {type: string, format: email}
        site: {type: string, format: uri}
        created_at: {type: string, format: date-time}
        secret: {type: string, writeOnly: true}
        score: {type: number, minimum: 2.5, maximum: 3}
        parent: {$ref: "#/components/schemas/Thing"}
        children: {type: array, items: {$ref: "#/components/schemas/Thing"}}
        note: {type: string, nullable: true}
        meta: {type: object, additionalProperties: true}
`

func TestTrickySpec(t *testing.T) {
	s := Start(t, withMemberSpec(loadSpec(t, trickySpec)))
	if s.member.basePath != "/base/v9" {
		t.Fatalf("base path %q", s.member.basePath)
	}
	if n := checkEveryOperation(t, s, s.member, loadSpec(t, trickySpec)); n != 7 {
		t.Errorf("%d operations checked, want 7", n)
	}

	// The public operation needs no token; the others do.
	if status, _, body := call(t, s, "GET", "/base/v9/choice", "", nil); status != 200 {
		t.Fatalf("public operation: %d %s", status, body)
	}
	status, _, body := call(t, s, "GET", "/base/v9/things?tag=a", "", nil)
	wantError(t, status, body, http.StatusUnauthorized)
	// Without the base path, nothing matches.
	status, _, body = call(t, s, "GET", "/things?tag=a", "", nil)
	wantError(t, status, body, http.StatusNotFound)

	// The per_page default comes from the spec.
	_, token := newMemberToken(t, s)
	s.SetRecords("listThings", make([]map[string]any, 12))
	status, _, body = call(t, s, "GET", "/base/v9/things?tag=b", token, nil)
	var e struct {
		PerPage   int `json:"per_page"`
		PageCount int `json:"page_count"`
		Records   []any
	}
	if err := json.Unmarshal(body, &e); status != 200 || err != nil || e.PerPage != 5 || e.PageCount != 3 || len(e.Records) != 5 {
		t.Fatalf("%d %s", status, body)
	}
	// Registered records are sent as they are: nulls do not match Thing.
	if rec := lastRequest(t, s); rec.ResponseError == nil {
		t.Error("records that break the schema were not flagged")
	}
}

func TestSpecsThatCannotBeServed(t *testing.T) {
	for name, spec := range map[string]string{
		"no operationId": `
openapi: 3.0.3
info: {title: x, version: v1}
paths:
  /a:
    get:
      responses: {"200": {description: ok}}
`,
		"no paths": `
openapi: 3.0.3
info: {title: x, version: v1}
paths: {}
`,
	} {
		if s, err := NewServer(withMemberSpec(loadSpec(t, spec))); err == nil {
			s.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFromPattern(t *testing.T) {
	for _, p := range []string{
		`^[a-z]+$`, `^\d{3}-\d{4}$`, `^(foo|bar)baz?$`, `[A-Z]{2,}`, `^\w+@\w+\.com$`,
		`^#[0-9a-fA-F]{6}$`, `^.{5}$`, `^[^0-9]+$`, `^\S+\s\S+$`, `^(?:https?)://.+$`,
	} {
		for variant := range 3 {
			if v, ok := fromPattern(p, variant); !ok {
				t.Errorf("%s: %q does not match", p, v)
			}
		}
	}
	if _, ok := fromPattern(`(?<=a)b`, 0); ok {
		t.Error("a pattern Go cannot compile was reported as handled")
	}
}
